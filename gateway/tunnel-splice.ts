// One tunnel of a multiplexed client: its stream spliced to the agent's. Stream flow control gives
// back-pressure, a FIN ends one direction, and anything abnormal resets both.
import type { MuxStream } from '../shared/mux/stream.js';
import type { OpenTunnel } from './tunnel-broker.js';
import { agentFailure, type Tally, type TunnelEnd } from './tunnel-tally.js';

export function splice(client: MuxStream, early: Buffer, tunnel: OpenTunnel, tally: Tally): void {
  const agent = tunnel.stream;
  let finished = false;
  const finish = (how: TunnelEnd) => {
    if (finished) return;
    finished = true;
    client.destroy();
    agent.destroy();
    tally.finish(how);
  };
  // Done once each side ended and got our FIN (destroying earlier would reset).
  const maybeDone = () => {
    if (client.readableEnded && agent.readableEnded && client.writableFinished && agent.writableFinished)
      finish('closed');
  };
  const closed = (stream: MuxStream, end: TunnelEnd) => () => {
    if (stream.readableEnded && stream.writableFinished) maybeDone();
    else finish(end);
  };
  if (early.length > 0) {
    tally.toTarget += early.length;
    agent.write(early);
  }
  if (tunnel.rest.length > 0) {
    tally.fromTarget += tunnel.rest.length;
    client.write(tunnel.rest);
  }
  client.on('data', (chunk: Buffer) => {
    tally.toTarget += chunk.length;
  });
  agent.on('data', (chunk: Buffer) => {
    tally.fromTarget += chunk.length;
  });
  client.pipe(agent);
  agent.pipe(client);
  for (const stream of [client, agent]) {
    stream.on('end', maybeDone);
    stream.on('finish', maybeDone);
  }
  client.on('error', () => finish('client_closed'));
  client.on('close', closed(client, 'client_closed'));
  agent.on('error', (error: Error) => finish(agentFailure(error)));
  // The agent's session ended without a typed reason (dropped, replaced, revoked).
  agent.on('close', closed(agent, 'agent_closed'));
}
