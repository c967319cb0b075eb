// Prometheus metrics of one gateway: HTTP requests and the database pool.
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Sql } from '../shared/db/connect.js';

export function createMetrics(sql: Sql, applicationName: string, poolMax: number): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'commander_db_pool_max',
    help: 'Connections the pool may open',
    registers: [registry],
  }).set(poolMax);
  new Gauge({
    name: 'commander_db_pool_connections',
    help: 'Connections this process holds open, by state (active, idle, ...)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await sql<{ state: string | null; count: number }[]>`
        select coalesce(state, 'unknown') as state, count(*)::int as count from pg_stat_activity
        where application_name = ${applicationName} group by 1`;
      for (const row of rows) this.set({ state: row.state ?? 'unknown' }, row.count);
    },
  });
  return registry;
}

export function instrumentRequests(app: FastifyInstance, registry: Registry): void {
  const labelNames = ['method', 'route', 'status_code'];
  const requests = new Counter({
    name: 'commander_http_requests_total',
    help: 'HTTP requests',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'commander_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
}
