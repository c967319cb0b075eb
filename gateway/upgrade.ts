// Routes WebSocket upgrades on the gateway's server: agents at /agent_api/<cluster>, tunnels
// at /api/v1/clusters/<id>/tunnel (one per WebSocket) and /tunnels (multiplexed). One `ws`
// server, binary only, no compression, bounded messages.
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import { AuditWriter } from '../shared/audit.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { Authenticator } from './auth.js';
import { ControlMetrics } from './control.js';
import type { GatewayDeps } from './deps.js';
import { TelemetryWriter } from './telemetry.js';
import { TunnelBroker } from './tunnel-broker.js';
import { TunnelEndpoint } from './tunnel-endpoint.js';

/** The largest WebSocket message accepted; mux frames and tunnel chunks are split below it. */
export const MAX_WS_MESSAGE = 1024 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    agents: AgentEndpoint;
  }
}

export async function attachWebSockets(app: FastifyInstance, deps: GatewayDeps, authenticate: Authenticator) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE,
    clientTracking: false,
  });
  const telemetry = new TelemetryWriter(deps.sql, deps.logger, deps.telemetryRetentionDays ?? 30);
  void telemetry.start();
  const agents = new AgentEndpoint({
    telemetry,
    sql: deps.sql,
    encryptor: deps.encryptor,
    controlMetrics: new ControlMetrics(deps.metrics),
    wss,
    logger: deps.logger,
    replicaId: deps.replicaId ?? `${hostname()}-${process.pid}`,
  });
  await agents.start();
  const broker = new TunnelBroker(agents, deps.metrics);
  const tunnelAudit = new AuditWriter(deps.sql, deps.printAudit, deps.logger);
  const tunnelEndpoint = new TunnelEndpoint({
    sql: deps.sql,
    wss,
    broker,
    authenticate,
    audit: tunnelAudit,
    logger: deps.logger,
    invalidations: app.invalidations,
  });
  app.decorate('agents', agents);

  app.server.on('upgrade', (request, socket, head) => {
    socket.on('error', () => {});
    const url = new URL(request.url ?? '/', 'http://gateway');
    const agent = /^\/agent_api\/([^/]+)\/?$/.exec(url.pathname);
    const tunnel = /^\/api\/v1\/clusters\/([^/]+)\/tunnel\/?$/.exec(url.pathname);
    const tunnels = /^\/api\/v1\/clusters\/([^/]+)\/tunnels\/?$/.exec(url.pathname);
    if (deps.isDraining()) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
    } else if (agent?.[1]) {
      agents.handleUpgrade(request, socket, head, agent[1]);
    } else if (tunnel?.[1]) {
      tunnelEndpoint.handleUpgrade(request, socket, head, tunnel[1], url.searchParams.get('target'));
    } else if (tunnels?.[1]) {
      tunnelEndpoint.handleSessionUpgrade(request, socket, head, tunnels[1]);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });
  // Before the HTTP server waits for its connections: WebSockets would keep it open forever.
  app.addHook('preClose', async () => {
    tunnelEndpoint.stop();
    await agents.stop();
    await Promise.all([telemetry.stop(), tunnelAudit.stop()]);
  });
}
