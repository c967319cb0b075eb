// Bodies of PUT …/resources are read whole before they are parsed; how many are read at once is
// bounded, so the memory they take is too, however many an operator sends at the same time.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARSER_LIMITS } from '../../gateway/manifest-pool.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { openSocket } from '../support/raw-http.js';

describe('uploads of desired sets', () => {
  let gw: TestGateway;
  let operator: string;
  let path: string;
  let port: number;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    const created = await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'shop' } });
    path = `/api/v1/clusters/${created.body.id}/resources`;
    port = Number(new URL(gw.url).port);
  });

  afterAll(async () => {
    await gw?.close();
  });

  /** Starts a 1 MiB upload and sends only its first bytes. */
  async function startUpload(): Promise<Socket> {
    const socket = await openSocket(port);
    socket.on('error', () => {});
    socket.write(
      [
        `PUT ${path} HTTP/1.1`,
        'Host: gateway',
        `X-Auth-Token: ${operator}`,
        'Content-Type: application/json',
        `Content-Length: ${1024 * 1024}`,
        '',
        '[',
      ].join('\r\n'),
    );
    return socket;
  }

  it('refuses an upload with 503 BUSY and Retry-After while the bound is taken, and takes it again after', async () => {
    const stalled: Socket[] = [];
    const put = () =>
      gw.request('PUT', path, {
        token: operator,
        body: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'shop' } }],
      });
    try {
      // Each stalled upload takes a place once the gateway has begun reading it.
      for (let i = 0; i < PARSER_LIMITS.queue; i++) stalled.push(await startUpload());
      await expect.poll(async () => (await put()).status).toBe(503);
      const busy = await put();
      expect(busy.status).toBe(503);
      expect(busy.body.error.code).toBe('BUSY');
      expect(busy.headers['retry-after']).toBe('5');
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    // The places are given back when the uploads end, even unfinished.
    await expect.poll(async () => (await put()).status).toBe(200);
  });
});
