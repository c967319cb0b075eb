// The tunnel endpoints.
// - GET /api/v1/clusters/:id/tunnel?target=host:port upgrades to a WebSocket whose binary
//   messages are the raw bytes of one TCP connection inside the cluster (tunnel-relay.ts);
//   every check and the dial happen before the upgrade, so refusals are plain HTTP answers.
// - GET /api/v1/clusters/:id/tunnels upgrades to a multiplexed session: every stream the client
//   opens is one tunnel, with the same dial request and answer the gateway exchanges with the
//   agent (tunnel-splice.ts). Opening one costs a stream, not a connection and an HTTP upgrade.
// - Streams a peer replica opens on its replica link: a tunnel to an agent held here, which the
//   peer's caller was checked for; the cluster's allowed_targets are checked here again.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Actor, AuditWriter } from '../shared/audit.js';
import type { Sql } from '../shared/db/connect.js';
import { isDatabaseUnavailable } from '../shared/db/health.js';
import { answerCodeOf, apiCodeOf, CommanderError, errorBody, errorCatalogue } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { sessionOverWebSocket } from '../shared/mux/transports.js';
import { formatTarget, isAllowed, parseTarget } from '../shared/targets.js';
import { CLIENT_MAX_STREAMS, TUNNEL_WINDOW } from '../shared/wire/limits.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { type DialAnswer, isDialRequest } from '../shared/wire/tunnel.js';
import type { Authenticator } from './auth.js';
import type { Invalidations } from './cache.js';
import { type ClientAddress, directAddress } from './client-address.js';
import { isLinkDial } from './replica-link.js';
import { TunnelAccess } from './tunnel-access.js';
import { type TunnelBroker, TunnelError } from './tunnel-broker.js';
import { relay } from './tunnel-relay.js';
import { splice } from './tunnel-splice.js';
import { TunnelTallies } from './tunnel-tally.js';
import { answerUpgrade } from './upgrade-answer.js';

export interface TunnelEndpointOptions {
  sql: Sql;
  wss: WebSocketServer;
  broker: TunnelBroker;
  authenticate: Authenticator;
  /** Tunnels' audit rows, written in batches. */
  audit: AuditWriter;
  logger: Logger;
  invalidations: Invalidations;
  /** The caller's address for the audit trail (default: the socket's peer). */
  addressOf?: ClientAddress;
}

export class TunnelEndpoint {
  private readonly open = new Set<WebSocket>();
  private readonly sessions = new Set<Session>();
  private readonly access: TunnelAccess;
  private readonly tallies: TunnelTallies;

  constructor(private readonly options: TunnelEndpointOptions) {
    this.access = new TunnelAccess(options.sql, options.authenticate, options.logger, options.invalidations);
    this.tallies = new TunnelTallies(options.audit, options.broker);
  }

  /** Tunnels of clients of this replica open now. */
  get running(): number {
    return this.tallies.openCount;
  }

  /**
   * Draining: multiplexed clients are told (GoAway) to open their next tunnels elsewhere; the
   * tunnels running carry on. New upgrades are refused before they reach the endpoint.
   */
  drain(): void {
    for (const session of this.sessions) session.goAway();
  }

  /** Ends every tunnel and queues its audit row at once: the gateway is going away. */
  stop(): void {
    for (const ws of this.open) ws.close(1001, 'gateway shutting down');
    this.open.clear();
    for (const session of this.sessions) session.close();
    this.sessions.clear();
    this.tallies.finishAll('gateway_stopped');
  }

  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    clusterId: string,
    rawTarget: string | null,
  ): void {
    this.prepare(request, clusterId, rawTarget)
      .then(
        ({ actor, target, tunnel }) => {
          // The client may have gone while the agent dialed; ws would then never call back.
          let upgraded = false;
          const abandon = () => {
            if (upgraded) return;
            tunnel.stream.destroy();
            this.tallies.start(actor, clusterId, target).finish('client_gone');
          };
          if (socket.destroyed) return abandon();
          socket.once('close', abandon);
          this.options.wss.handleUpgrade(request, socket, head, (ws) => {
            upgraded = true;
            socket.off('close', abandon);
            relay(ws, tunnel, this.tallies.start(actor, clusterId, target), this.open);
          });
        },
        (error: unknown) => this.refuseUpgrade(socket, error),
      )
      .catch((error: unknown) => this.failed(socket, error));
  }

  /** A multiplexed client: the caller is checked now, and again (from memory) for every stream. */
  handleSessionUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, clusterId: string): void {
    this.access
      .authorize(request, clusterId)
      .then(
        () => {
          if (socket.destroyed) return;
          this.options.wss.handleUpgrade(request, socket, head, (ws) => {
            const session = sessionOverWebSocket(ws, false, {
              streamWindow: TUNNEL_WINDOW.gateway,
              maxStreams: CLIENT_MAX_STREAMS,
            });
            this.sessions.add(session);
            session.on('close', () => this.sessions.delete(session));
            session.on('stream', (stream) => {
              this.serveStream(stream, request, clusterId).catch((error: unknown) => {
                this.options.logger.error({ err: error }, 'tunnel stream failed');
                stream.destroy();
              });
            });
          });
        },
        (error: unknown) => this.refuseUpgrade(socket, error),
      )
      .catch((error: unknown) => this.failed(socket, error));
  }

  /**
   * A tunnel a peer replica forwards: the peer authenticated its caller and proved the link key;
   * this replica holds the agent, checks the cluster's allowed_targets like for its own callers,
   * and answers like an agent does. The peer audits the tunnel.
   */
  async servePeerStream(stream: MuxStream, peer: string): Promise<void> {
    stream.on('error', () => {});
    let message: Record<string, unknown>;
    let early: Buffer;
    try {
      ({ message, rest: early } = await readFirstMessage(stream));
    } catch {
      stream.destroy();
      return;
    }
    const refuse = (code: DialAnswer & { ok: false }, log = true) => {
      if (log)
        this.options.logger.debug(
          { peer, code: code.code, reason: code.message },
          'forwarded tunnel refused',
        );
      stream.end(encodeMessage(code));
    };
    if (!isLinkDial(message)) {
      return refuse({
        ok: false,
        code: 'dial_failed',
        message: `bad dial request: ${isLinkDial.problem(message)}`,
      });
    }
    const target = parseTarget(message.target);
    if (!target) return refuse({ ok: false, code: 'dial_failed', message: 'target must be host:port' });
    const cluster = await this.access.cluster(message.cluster_id);
    if (!cluster || !isAllowed(cluster.allowedTargets, target)) {
      return refuse({
        ok: false,
        code: 'target_not_allowed',
        message: `${formatTarget(target)} is not in the cluster's allowed_targets`,
      });
    }
    let tunnel: Awaited<ReturnType<TunnelBroker['dial']>>;
    try {
      tunnel = await this.options.broker.dial(message.cluster_id, target, true);
    } catch (error) {
      if (!(error instanceof TunnelError)) throw error;
      return refuse({ ok: false, code: error.code, message: error.message });
    }
    if (stream.destroyed) {
      tunnel.stream.destroy();
      return;
    }
    const answer: DialAnswer = { ok: true };
    stream.write(encodeMessage(answer));
    // Counted and audited by the peer, whose client this is.
    splice(stream, early, tunnel, { toTarget: 0, fromTarget: 0, finish: () => {} });
  }

  /** A refusal before the upgrade, as HTTP: the status and code from the catalogue. */
  private refuseUpgrade(socket: Duplex, error: unknown): void {
    if (error instanceof CommanderError) {
      const json = JSON.stringify(errorBody(error.code, error.message));
      answerUpgrade(socket, error.status, {}, { reason: error.code, json });
    } else {
      this.failed(socket, error);
    }
  }

  /**
   * Ours, not the caller's: logged, and answered 500 if the socket still can be; 503 UNAVAILABLE
   * when the database is away (a restart or failover), as the API answers then.
   */
  private failed(socket: Duplex, error: unknown): void {
    if (isDatabaseUnavailable(error)) {
      this.options.logger.warn({ err: error }, 'tunnel refused: the database is unreachable');
      const json = JSON.stringify(errorBody('UNAVAILABLE', errorCatalogue.UNAVAILABLE.message));
      answerUpgrade(socket, 503, { 'Retry-After': '1' }, { reason: 'UNAVAILABLE', json });
      return;
    }
    this.options.logger.error({ err: error }, 'tunnel upgrade failed');
    const json = JSON.stringify(errorBody('INTERNAL', 'internal error'));
    answerUpgrade(socket, 500, {}, { reason: 'INTERNAL', json });
  }

  /** One tunnel of a multiplexed client: its dial request, our answer, then bytes both ways. */
  private async serveStream(stream: MuxStream, request: IncomingMessage, clusterId: string): Promise<void> {
    stream.on('error', () => {});
    let dial: Record<string, unknown>;
    let early: Buffer;
    try {
      ({ message: dial, rest: early } = await readFirstMessage(stream));
    } catch {
      stream.destroy();
      return;
    }
    let opened: Awaited<ReturnType<TunnelEndpoint['prepare']>>;
    try {
      opened = await this.prepare(request, clusterId, isDialRequest(dial) ? dial.target : null);
    } catch (error) {
      if (!(error instanceof CommanderError)) throw error;
      // A bad dial request (VALIDATION_FAILED) is answered as the agent answers one.
      const answer: DialAnswer = {
        ok: false,
        code: answerCodeOf(error.code) ?? 'dial_failed',
        message: error.message,
      };
      stream.end(encodeMessage(answer));
      return;
    }
    const { actor, target, tunnel } = opened;
    if (stream.destroyed) {
      tunnel.stream.destroy();
      this.tallies.start(actor, clusterId, target).finish('client_gone');
      return;
    }
    const answer: DialAnswer = { ok: true };
    stream.write(encodeMessage(answer));
    splice(stream, early, tunnel, this.tallies.start(actor, clusterId, target));
  }

  /** Every check and the agent's dial; a refusal is audited and thrown as a CommanderError. */
  private async prepare(request: IncomingMessage, clusterId: string, rawTarget: string | null) {
    const { principal, cluster } = await this.access.authorize(request, clusterId);
    const target = rawTarget ? parseTarget(rawTarget) : undefined;
    if (!target) throw new CommanderError('VALIDATION_FAILED', 'target must be host:port');
    const actor: Actor = {
      userType: principal.userType,
      userName: principal.userName,
      remoteAddress: (this.options.addressOf ?? directAddress)(request),
      requestUuid: randomUUID(),
      workspaceId: cluster.workspaceId,
      workspaceSlug: principal.allWorkspaces ? null : principal.workspaceSlug,
    };
    const started = Date.now();
    try {
      if (!isAllowed(cluster.allowedTargets, target)) {
        throw new TunnelError(
          'target_not_allowed',
          `${formatTarget(target)} is not in the cluster's allowed_targets`,
        );
      }
      return { actor, target, tunnel: await this.options.broker.dial(clusterId, target) };
    } catch (error) {
      if (!(error instanceof TunnelError)) throw error;
      this.tallies.refused(actor, clusterId, target, error.code, started);
      // The code travels as the code (upper case over HTTP, lower case in a stream's answer):
      // the message says what happened, without repeating it.
      throw new CommanderError(apiCodeOf(error.code), error.message);
    }
  }
}
