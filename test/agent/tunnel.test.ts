// The agent's end of a tunnel stream, on a real multiplexed session over loopback TCP and real
// targets: a stream the gateway gives up on while the agent dials leaves no connection behind.
import { afterEach, describe, expect, it } from 'vitest';
import { serveTunnel } from '../../agent/tunnel.js';
import { createLogger } from '../../shared/logger.js';
import type { Session } from '../../shared/mux/session.js';
import type { MuxStream } from '../../shared/mux/stream.js';
import { parseAllowList } from '../../shared/targets.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { eventually } from '../e2e/agent-stack.js';
import { sessionPair } from '../support/mux.js';
import { ECHO_TRAILER, echoServer, type TestServer } from '../support/tcp.js';

const logger = createLogger('silent', 'test');

describe('agent tunnel streams', () => {
  let gateway: Session | undefined;
  let agent: Session | undefined;
  let target: TestServer | undefined;

  afterEach(async () => {
    gateway?.close();
    agent?.close();
    await target?.close();
  });

  /** A session whose agent end serves tunnels to `allow`; returns the gateway's end. */
  const start = async (allow: string[]): Promise<Session> => {
    const pair = await sessionPair();
    agent = pair.client;
    gateway = pair.server;
    agent.on('stream', (stream: MuxStream) => {
      void serveTunnel(stream, { allow: parseAllowList(allow), dialTimeoutMs: 5_000, logger });
    });
    return gateway;
  };

  /** A tunnel through the agent that carries `payload` there and back. */
  const roundTrip = async (session: Session, to: string, payload: Buffer): Promise<Buffer> => {
    const stream = session.open();
    stream.write(encodeMessage({ type: 'dial', target: to }));
    const { message, rest } = await readFirstMessage(stream);
    expect(message).toEqual({ ok: true });
    const chunks: Buffer[] = [rest];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.end(payload);
    await ended;
    stream.destroy();
    return Buffer.concat(chunks);
  };

  it.each([
    ['an address', '127.0.0.1'],
    ['a name, looked up first', 'localhost'],
  ])('closes what it dialed for a stream reset while it dialed (%s)', async (_kind, host) => {
    target = await echoServer();
    const to = `${host}:${target.port}`;
    const session = await start([to]);
    for (let i = 0; i < 20; i++) {
      // The gateway gives up at once: its reset races the agent's dial.
      const stream = session.open();
      stream.on('error', () => {});
      stream.write(encodeMessage({ type: 'dial', target: to }));
      setImmediate(() => stream.destroy());
    }
    // A tunnel that works, dialed after all of those.
    const payload = Buffer.from('after the resets');
    expect((await roundTrip(session, to, payload)).equals(Buffer.concat([payload, ECHO_TRAILER]))).toBe(true);
    const server = target;
    await eventually(
      'every connection to the target closed',
      () => (server.sockets.size === 0 ? true : undefined),
      5_000,
    );
  });
});
