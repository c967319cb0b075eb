// Liveness, readiness and metrics: what orchestrators and Prometheus poll.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isMigrated } from '../../shared/db/migrate.js';
import { errorBody } from '../../shared/errors.js';
import { bounded } from '../../shared/lifecycle.js';
import type { GatewayDeps } from '../deps.js';
import { errorSchema } from './schemas.js';

const READY_TIMEOUT_MS = 2000;

export function healthRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
  authorize: (request: FastifyRequest) => Promise<void>,
): void {
  const status = { type: 'object', properties: { status: { type: 'string' } } };
  app.get('/healthz', { schema: { response: { 200: status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { response: { 200: status, 503: errorSchema } } }, async (_request, reply) => {
    if (deps.isDraining()) return reply.status(503).send(errorBody('NOT_READY', 'shutting down'));
    let migrated: boolean | undefined;
    try {
      migrated = await bounded(isMigrated(deps.sql), READY_TIMEOUT_MS);
    } catch (error) {
      return reply
        .status(503)
        .send(errorBody('NOT_READY', `database unreachable: ${(error as Error).message}`));
    }
    if (migrated === undefined) {
      return reply
        .status(503)
        .send(errorBody('NOT_READY', `database unreachable: no answer within ${READY_TIMEOUT_MS} ms`));
    }
    if (!migrated)
      return reply.status(503).send(errorBody('NOT_READY', 'database migrations are not applied yet'));
    return { status: 'ready' };
  });

  app.get(
    '/metrics',
    {
      onRequest: authorize,
      config: { role: 'viewer', globalRole: 'global_viewer' },
      schema: { hide: true },
    },
    async (_request, reply) => {
      reply.type(deps.metrics.contentType);
      return deps.metrics.metrics();
    },
  );
}
