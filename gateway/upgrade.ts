// Routes WebSocket upgrades on the gateway's server: agents at /agent_api/<cluster>, tunnels
// at /api/v1/clusters/<id>/tunnel (one per WebSocket) and /tunnels (multiplexed). One `ws`
// server, binary only, no compression, bounded messages.
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import { AuditWriter } from '../shared/audit.js';
import { parseUuid } from '../shared/ids.js';
import { AGENT_ADMISSION, MAX_WS_MESSAGE } from '../shared/wire/limits.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { Authenticator } from './auth.js';
import { clientAddress } from './client-address.js';
import { ControlMetrics } from './control.js';
import type { GatewayDeps } from './deps.js';
import { LINK_KEY_PURPOSE } from './replica-link.js';
import { LinkListener, ReplicaLinks } from './replica-peers.js';
import { ReplicaRegistry } from './replicas.js';
import { TelemetryWriter } from './telemetry.js';
import { TunnelBroker } from './tunnel-broker.js';
import { TunnelEndpoint } from './tunnel-endpoint.js';
import { answerUpgrade } from './upgrade-answer.js';

/** RFC 3986: a path of segments of pchars, a query of pchars, "/" and "?". */
const PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+$/;
const QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

/**
 * The path and query of a request target in origin-form (`/path?query`) or absolute-form
 * (`http://host/path?query`); undefined for anything else (`*`, a broken URL, a bad escape).
 */
export function parseRequestTarget(raw: string): { pathname: string; query: URLSearchParams } | undefined {
  let pathAndQuery = raw;
  if (!raw.startsWith('/')) {
    const authority = /^https?:\/\/[^/?#]*/i.exec(raw);
    if (!authority || !URL.canParse(raw)) return undefined;
    pathAndQuery = raw.slice(authority[0].length) || '/';
  }
  const mark = pathAndQuery.indexOf('?');
  const pathname = mark < 0 ? pathAndQuery : pathAndQuery.slice(0, mark);
  const query = mark < 0 ? '' : pathAndQuery.slice(mark + 1);
  if (!PATH.test(pathname) || !QUERY.test(query)) return undefined;
  return { pathname, query: new URLSearchParams(query) };
}

declare module 'fastify' {
  interface FastifyInstance {
    agents: AgentEndpoint;
  }
}

/** What the WebSocket side needs from the gateway's composition root. */
export type WebSocketDeps = Pick<
  GatewayDeps,
  | 'sql'
  | 'encryptor'
  | 'logger'
  | 'metrics'
  | 'printAudit'
  | 'replicaId'
  | 'replicaLink'
  | 'replicaHeartbeatMs'
  | 'drainMs'
  | 'isDraining'
  | 'telemetryRetentionDays'
  | 'trustProxy'
>;

export async function attachWebSockets(
  app: FastifyInstance,
  deps: WebSocketDeps,
  authenticate: Authenticator,
) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE,
    clientTracking: false,
  });
  const addressOf = clientAddress(deps.trustProxy);
  const telemetry = new TelemetryWriter(deps.sql, deps.logger, deps.telemetryRetentionDays ?? 30);
  void telemetry.start();
  const replicaId = deps.replicaId ?? `${hostname()}-${process.pid}`;
  const agents = new AgentEndpoint({
    telemetry,
    sql: deps.sql,
    encryptor: deps.encryptor,
    controlMetrics: new ControlMetrics(deps.metrics),
    wss,
    logger: deps.logger,
    replicaId,
    addressOf,
  });
  await agents.start();
  const registry = new ReplicaRegistry({
    sql: deps.sql,
    logger: deps.logger,
    replicaId,
    heartbeatMs: deps.replicaHeartbeatMs ?? 5_000,
    onReinstated: () => agents.reinstate(),
  });
  const linkKeys = deps.encryptor.macKeys(LINK_KEY_PURPOSE);
  const links = new ReplicaLinks(linkKeys, replicaId, deps.logger);
  const broker = new TunnelBroker(agents, deps.metrics, { replicaId, registry, links });
  const tunnelAudit = new AuditWriter(deps.sql, deps.printAudit, deps.logger);
  const tunnelEndpoint = new TunnelEndpoint({
    sql: deps.sql,
    wss,
    broker,
    authenticate,
    audit: tunnelAudit,
    logger: deps.logger,
    invalidations: app.invalidations,
    addressOf,
  });
  app.decorate('agents', agents);
  let listener: LinkListener | undefined;
  let linkAddress: string | null = null;
  if (deps.replicaLink) {
    const { listen, address } = deps.replicaLink;
    listener = new LinkListener(linkKeys, deps.logger, (stream, peer) => {
      tunnelEndpoint.servePeerStream(stream, peer).catch((error: unknown) => {
        deps.logger.error({ err: error, peer }, 'forwarded tunnel failed');
        stream.destroy();
      });
    });
    const port = await listener.listen(listen.host, listen.port);
    linkAddress = address ?? `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
    deps.logger.info({ address: linkAddress }, 'replica link listening');
  }
  await registry.start(linkAddress);

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    // Nothing may throw out of this handler: an exception here would end the process.
    try {
      route(request, socket, head);
    } catch (error) {
      deps.logger.error({ err: error }, 'upgrade failed');
      answerUpgrade(socket, 500);
    }
  });
  const route = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (deps.isDraining())
      return answerUpgrade(socket, 503, { 'Retry-After': String(AGENT_ADMISSION.drainingRetryAfterS) });
    const target = parseRequestTarget(request.url ?? '');
    if (!target) return answerUpgrade(socket, 400);
    const { pathname, query } = target;
    const agent = /^\/agent_api\/([^/]+)\/?$/.exec(pathname)?.[1];
    const tunnel = /^\/api\/v1\/clusters\/([^/]+)\/tunnel\/?$/.exec(pathname)?.[1];
    const tunnels = /^\/api\/v1\/clusters\/([^/]+)\/tunnels\/?$/.exec(pathname)?.[1];
    // A cluster id in either case names the same cluster; from here on it is in canonical form.
    // A tunnel caller is authenticated before a bad id is answered, as on every API route.
    const canonical = (raw: string) => parseUuid(raw) ?? raw;
    if (agent && parseUuid(agent)) {
      agents.handleUpgrade(request, socket, head, canonical(agent));
    } else if (tunnel) {
      tunnelEndpoint.handleUpgrade(request, socket, head, canonical(tunnel), query.get('target'));
    } else if (tunnels) {
      tunnelEndpoint.handleSessionUpgrade(request, socket, head, canonical(tunnels));
    } else {
      answerUpgrade(socket, 404);
    }
  };
  // Before the HTTP server waits for its connections: WebSockets would keep it open forever.
  // Draining first: agents are told to move, and running tunnels get until the deadline.
  app.addHook('preClose', async () => {
    const deadline = Date.now() + (deps.drainMs ?? 0);
    listener?.stopAccepting();
    tunnelEndpoint.drain();
    await agents.drain(deadline);
    while (tunnelEndpoint.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    tunnelEndpoint.stop();
    listener?.close();
    links.close();
    await agents.stop();
    await registry.stop();
    await Promise.all([telemetry.stop(), tunnelAudit.stop()]);
  });
}
