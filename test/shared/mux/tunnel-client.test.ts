// The tunnel client's byte stream over a plain ws server standing in for the gateway's tunnel
// endpoint: binary messages are bytes, an empty one ends that direction, then a clean close.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { openTunnel } from '../../../shared/tunnel-client.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function fakeGateway(): Promise<{ wss: WebSocketServer; api: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  cleanups.push(() => wss.close());
  return { wss, api: `http://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

describe('tunnel client', () => {
  it('keeps the bytes the gateway sends with its 101 answer (a target that speaks first)', async () => {
    const { wss, api } = await fakeGateway();
    const banner = Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n');
    // Sent in the same tick as the 101 answer, as the relay sends the agent's early bytes: the
    // client reads both in one socket read, and ws emits the message on the next tick.
    wss.on('connection', (ws) => ws.send(banner, { binary: true }));
    for (let i = 0; i < 20; i++) {
      const tunnel = await openTunnel({ api, token: 't', clusterId: 'c', target: 'h:1' });
      const [first] = (await once(tunnel, 'data')) as [Buffer];
      expect(first.toString('latin1')).toBe(banner.toString('latin1'));
      tunnel.destroy();
    }
  });

  it('hands over every byte and the end even when the gateway closed before they were read', async () => {
    const { wss, api } = await fakeGateway();
    const payload = Buffer.alloc(512 * 1024, 7);
    const serverClosed = new Promise<void>((resolve) => {
      wss.on('connection', (ws) => {
        ws.on('message', (data: Buffer) => {
          // The client's end: both directions are done, the gateway closes at once.
          if (data.length > 0) return;
          for (let offset = 0; offset < payload.length; offset += 64 * 1024) {
            ws.send(payload.subarray(offset, offset + 64 * 1024), { binary: true });
          }
          ws.send(Buffer.alloc(0), { binary: true });
          ws.close(1000);
        });
        ws.on('close', () => resolve());
      });
    });
    const tunnel = await openTunnel({ api, token: 't', clusterId: 'c', target: 'h:1' });
    cleanups.push(() => tunnel.destroy());
    // The tunnel's own WebSocket: the scenario needs its close handled before anything is read.
    const ws = (tunnel as unknown as { ws: WebSocket }).ws;
    const clientClosed = once(ws, 'close');
    tunnel.end();
    await serverClosed;
    await clientClosed;
    // The WebSocket is closed now, on both ends; only then does the application get round to reading.
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    const chunks: Buffer[] = [];
    let ended = false;
    tunnel.on('data', (chunk: Buffer) => chunks.push(chunk));
    tunnel.on('end', () => {
      ended = true;
    });
    await finished(tunnel, { writable: false }).catch(() => {});
    expect(Buffer.concat(chunks).length).toBe(payload.length);
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(ended).toBe(true);
  });
});
