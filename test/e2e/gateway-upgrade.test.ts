// Upgrade requests nobody well-behaved sends, against a real gateway process over raw TCP:
// malformed request targets, unknown paths, bad WebSocket headers. Each is answered with a
// 4xx on its socket, and the process keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { rawExchange, upgradeRequest } from '../support/raw-http.js';
import { type GatewayProcess, Processes, startGatewayProcess } from './helpers.js';

describe('gateway upgrade routing', () => {
  const processes = new Processes();
  let db: TestDatabase;
  let gateway: GatewayProcess;
  let port: number;

  beforeAll(async () => {
    db = await freshDatabase();
    gateway = await startGatewayProcess(processes, { DATABASE_URL: db.url, ...keysEnv(testKeys()) });
    port = Number(new URL(gateway.url).port);
  });

  afterAll(async () => {
    await processes.stopAll(5_000);
    await db?.drop();
  });

  const alive = async () => {
    expect(gateway.command.child.exitCode, gateway.command.stderr()).toBeNull();
    const health = await fetch(`${gateway.url}/healthz`);
    expect(health.status).toBe(200);
  };

  it('answers 400 to a request target that is not a URL, and keeps running', async () => {
    const targets = [
      'http://[',
      'http://[::1',
      '//%zz',
      '/agent_api/%zz',
      '/api/v1/clusters/x/tunnel?target=%zz',
      '/agent_api/x#fragment',
      'http://a:99999/agent_api/x',
      'http://user@/agent_api/x',
      '*',
      'agent_api/x',
    ];
    for (const target of targets) {
      const answer = await rawExchange(port, upgradeRequest(target));
      expect({ target, status: answer.status }, answer.text).toEqual({ target, status: 400 });
    }
    await alive();
  });

  it('routes only the path of an origin-form or absolute-form target', async () => {
    // Origin-form: an empty first segment is a path like any other, and routes nowhere.
    const relative = await rawExchange(port, upgradeRequest('//agent_api/agent_api/x'));
    expect(relative.status, relative.text).toBe(404);
    const unknown = await rawExchange(port, upgradeRequest('/nowhere'));
    expect(unknown.status, unknown.text).toBe(404);
    // An agent path with a cluster that is not a UUID: nothing to shake hands for.
    const notUuid = await rawExchange(port, upgradeRequest('/agent_api/not-a-uuid'));
    expect(notUuid.status, notUuid.text).toBe(404);
    // Absolute-form is valid HTTP/1.1; its path is routed: the tunnel endpoint wants a caller.
    const absolute = await rawExchange(
      port,
      upgradeRequest('http://gateway/api/v1/clusters/x/tunnel?target=a%3A1'),
    );
    expect(absolute.status, absolute.text).toBe(401);
    await alive();
  });

  it('answers 400 to upgrade headers ws cannot accept, on every WebSocket path', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    // The tunnel paths check the caller first (401); the agent path has no caller to check.
    const paths = { [`/agent_api/${id}`]: 400, [`/api/v1/clusters/${id}/tunnels`]: 401 };
    for (const [path, status] of Object.entries(paths)) {
      const noKey = await rawExchange(
        port,
        upgradeRequest(path).replace(/Sec-WebSocket-Key: .*\r\n/, 'Sec-WebSocket-Key: short\r\n'),
      );
      expect({ path, status: noKey.status }, noKey.text).toEqual({ path, status });
      const badVersion = await rawExchange(
        port,
        upgradeRequest(path).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99'),
      );
      expect({ path, status: badVersion.status }, badVersion.text).toEqual({ path, status });
    }
    await alive();
  });

  it('survives frames ws refuses while an agent handshake waits for its hello', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const frames = {
      // Clients must mask their frames (RFC 6455 5.1).
      unmasked: Buffer.from([0x82, 0x01, 0x00]),
      'reserved opcode': Buffer.from([0x83, 0x80, 0, 0, 0, 0]),
      'reserved bits': Buffer.from([0xf2, 0x80, 0, 0, 0, 0]),
      'a payload over the limit': Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
    };
    for (const [what, frame] of Object.entries(frames)) {
      const answer = await rawExchange(
        port,
        Buffer.concat([Buffer.from(upgradeRequest(`/agent_api/${id}`)), frame]),
      );
      expect({ what, status: answer.status }).toEqual({ what, status: 101 });
      await alive();
    }
  });
});
