// One tunnel over its own WebSocket: binary messages carry the TCP bytes, an empty one ends a
// direction (a FIN), and each side's buffer gives back-pressure to the other.
import type { RawData, WebSocket } from 'ws';
import { TUNNEL_HIGH_WATER, TUNNEL_LOW_WATER } from '../shared/wire/limits.js';
import type { OpenTunnel } from './tunnel-broker.js';
import { agentFailure, type Tally, type TunnelEnd } from './tunnel-tally.js';

/** Carries bytes between the client's WebSocket and the agent's stream; `live` holds it while open. */
export function relay(ws: WebSocket, tunnel: OpenTunnel, tally: Tally, live: Set<WebSocket>): void {
  const { stream } = tunnel;
  live.add(ws);
  let finished = false;

  const finish = (how: TunnelEnd) => {
    if (finished) return;
    finished = true;
    live.delete(ws);
    stream.destroy();
    clearInterval(probe);
    // Read again, or a paused socket would never see the client's closing handshake.
    ws.resume();
    if (ws.readyState === ws.OPEN) ws.close(how === 'closed' ? 1000 : 4011, how);
    tally.finish(how);
  };

  // client → target
  let clientEnded = false;
  let targetEnded = false;
  // Done when both sides ended and our FIN to the target went out (destroying earlier resets).
  const maybeDone = () => {
    if (clientEnded && targetEnded && stream.writableFinished) finish('closed');
  };
  stream.on('finish', maybeDone);
  // While reading is paused (the target is slow) a client that left cannot be seen by reading;
  // a ping written to its closed socket fails and closes the WebSocket instead.
  let probe: NodeJS.Timeout | undefined;
  const pause = () => {
    ws.pause();
    probe ??= setInterval(() => ws.ping(), 1000);
  };
  const resume = () => {
    clearInterval(probe);
    probe = undefined;
    ws.resume();
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (finished) return;
    const chunk = data as Buffer;
    if (!isBinary) return finish('protocol_error');
    if (chunk.length === 0) {
      clientEnded = true;
      stream.end();
      return maybeDone();
    }
    tally.toTarget += chunk.length;
    if (!stream.write(chunk)) pause();
  });
  stream.on('drain', resume);

  // target → client
  const send = (chunk: Buffer) => {
    tally.fromTarget += chunk.length;
    ws.send(chunk, { binary: true }, () => {
      if (stream.isPaused() && ws.bufferedAmount < TUNNEL_LOW_WATER) stream.resume();
    });
    if (ws.bufferedAmount > TUNNEL_HIGH_WATER) stream.pause();
  };
  if (tunnel.rest.length > 0) send(tunnel.rest);
  stream.on('data', send);
  stream.on('end', () => {
    targetEnded = true;
    ws.send(Buffer.alloc(0), { binary: true });
    maybeDone();
  });
  stream.on('error', (error: Error) => finish(agentFailure(error)));
  // The agent's session ended without a typed reason (dropped, replaced, revoked).
  stream.on('close', () => finish(clientEnded && targetEnded ? 'closed' : 'agent_closed'));
  stream.resume();
  ws.on('close', () => finish(clientEnded && targetEnded ? 'closed' : 'client_closed'));
  ws.on('error', () => finish('client_error'));
}
