// A session over a real WebSocket pair on loopback: what ws carries and how.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Session } from '../../../shared/mux/session.js';
import type { MuxStream } from '../../../shared/mux/stream.js';
import { sessionOverWebSocket, zeroMask } from '../../../shared/mux/transports.js';
import { readAll, writeRandom } from '../../support/mux.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Sessions over a real WebSocket; the sizes of the messages the server received are recorded. */
async function webSocketPair() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection');
  const clientWs = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {
    perMessageDeflate: false,
    generateMask: zeroMask,
  });
  await once(clientWs, 'open');
  const [serverWs] = (await accepted) as [WebSocket];
  const received: number[] = [];
  serverWs.on('message', (data: Buffer) => received.push(data.length));
  const client = sessionOverWebSocket(clientWs, true, { keepaliveInterval: 0 });
  const server = sessionOverWebSocket(serverWs, false, { keepaliveInterval: 0 });
  cleanups.push(() => {
    client.close();
    server.close();
    wss.close();
  });
  return { client, server, received };
}

function nextStream(session: Session): Promise<MuxStream> {
  return once(session, 'stream').then(([stream]) => stream as MuxStream);
}

describe('mux session over a WebSocket', () => {
  it('carries 32 MiB each way on one stream intact, with bulk payloads sent uncopied', async () => {
    const { client, server, received } = await webSocketPair();
    const accepted = nextStream(server);
    const stream = client.open({ window: 4 * MiB });
    const up = writeRandom(stream, 32 * MiB);
    const peer = await accepted;
    const down = writeRandom(peer, 32 * MiB);
    const [sentUp, gotUp, sentDown, gotDown] = await Promise.all([up, readAll(peer), down, readAll(stream)]);
    expect(gotUp).toEqual({ bytes: 32 * MiB, sha256: sentUp });
    expect(gotDown).toEqual({ bytes: 32 * MiB, sha256: sentDown });
    // Every 64 KiB payload travelled as a message of its own: no copy joined it to its header.
    expect(received.filter((length) => length === 64 * 1024)).toHaveLength(512);
    expect(received.every((length) => length === 64 * 1024 || length < 1024)).toBe(true);
  });
});
