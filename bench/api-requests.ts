// API request latency and throughput: GET /api/v1/clusters/:id through auth, validation and
// PostgreSQL, against a bare Node HTTP server answering the same JSON (the floor), same run.
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { buildServer } from '../gateway/server.js';
import { Encryptor, generateKeys } from '../shared/crypto.js';
import { connect } from '../shared/db/connect.js';
import { migrate } from '../shared/db/migrate.js';
import { createLogger } from '../shared/logger.js';
import { createToken } from '../shared/tokens.js';
import { ensureWorkspace } from '../shared/workspaces.js';
import { percentile, report } from './report.js';

const DURATION_MS = 3000;
const CONCURRENCY = 16;

export async function run(databaseUrl: string): Promise<void> {
  const sql = connect(databaseUrl, { max: 10 });
  await migrate(sql);
  const ws = await ensureWorkspace(sql, 'bench');
  const { token } = await createToken(sql, ws.id, 'bench', 'admin');
  const [cluster] =
    await sql`insert into clusters (workspace_id, name) values (${ws.id}, ${`bench-${Date.now()}`})
    returning id`;
  const app = await buildServer({
    sql,
    encryptor: await Encryptor.create(generateKeys()),
    logger: createLogger('silent', 'bench'),
    metrics: new Registry(),
    printAudit: () => {},
    publicUrl: 'http://127.0.0.1',
    isDraining: () => false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const path = `/api/v1/clusters/${cluster?.id}`;
  const body = JSON.stringify((await app.inject({ url: path, headers: { 'x-auth-token': token } })).json());
  const bare = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));

  const ours = await load((app.server.address() as AddressInfo).port, path, token);
  const floor = await load((bare.address() as AddressInfo).port, path, token);
  report({
    bench: 'api-requests',
    metric: 'requests_per_second',
    value: ours.rps,
    unit: 'req/s',
    baseline: floor.rps,
  });
  report({ bench: 'api-requests', metric: 'latency_p50', value: ours.p50, unit: 'ms', baseline: floor.p50 });
  report({ bench: 'api-requests', metric: 'latency_p99', value: ours.p99, unit: 'ms', baseline: floor.p99 });
  await app.close();
  bare.close();
  await sql`delete from clusters where id = ${cluster?.id}`;
  await sql.end();
}

async function load(port: number, path: string, token: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  const deadline = Date.now() + DURATION_MS;
  const worker = async () => {
    while (Date.now() < deadline) {
      const start = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ port, path, agent, headers: { 'x-auth-token': token } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / (DURATION_MS / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
