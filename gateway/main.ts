// The gateway's composition root: builds the HTTP server on an open database and serves it.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { stdoutAuditPrinter } from '../shared/audit.js';
import type { Config } from '../shared/config.js';
import type { Database } from '../shared/db/open.js';
import { bounded } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import { createMetrics } from './metrics.js';
import { buildServer } from './server.js';

export interface Gateway {
  app: FastifyInstance;
  url: string;
  /** Readiness goes 503, then in-flight requests finish (bounded) and the server closes. */
  stop(): Promise<void>;
}

export async function startGateway(
  config: Config,
  logger: Logger,
  db: Database,
  applicationName: string,
): Promise<Gateway> {
  if (!db.encryptor) throw new Error('the gateway needs encryption keys');
  let draining = false;
  const certificate = config.tls ? readFileSync(config.tls.certFile) : undefined;
  const app = await buildServer({
    sql: db.sql,
    encryptor: db.encryptor,
    logger,
    metrics: createMetrics(db.sql, applicationName, config.dbPoolMax),
    printAudit: stdoutAuditPrinter(),
    publicUrl: config.publicUrl,
    caBundle: certificate?.toString('base64') ?? '',
    oidc: config.oidc,
    isDraining: () => draining,
    trustProxy: config.trustProxy,
    telemetryRetentionDays: config.telemetryRetentionDays,
    replicaId: config.replicaId,
    replicaLink: config.replicaLink,
    replicaHeartbeatMs: config.replicaHeartbeatMs,
    // What is left of the shutdown timeout afterwards closes the HTTP server.
    drainMs: Math.max(0, config.shutdownTimeoutMs - 1000),
    https: config.tls ? { cert: certificate as Buffer, key: readFileSync(config.tls.keyFile) } : undefined,
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const url = `${config.tls ? 'https' : 'http'}://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${port}`;
  logger.info({ url, public_url: config.publicUrl }, 'gateway listening');
  return {
    app,
    url,
    async stop() {
      draining = true;
      // Keep-alive connections that finish their last request while we wait must close too.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
      try {
        const closed = await bounded(
          app.close().then(() => true),
          config.shutdownTimeoutMs,
        );
        if (!closed) {
          logger.warn(
            { timeout_ms: config.shutdownTimeoutMs },
            'requests still running at the shutdown deadline; closing them',
          );
          app.server.closeAllConnections();
        }
      } finally {
        clearInterval(reaper);
      }
    },
  };
}
