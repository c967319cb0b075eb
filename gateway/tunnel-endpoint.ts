// The tunnel endpoints.
// - GET /api/v1/clusters/:id/tunnel?target=host:port upgrades to a WebSocket whose binary
//   messages are the raw bytes of one TCP connection inside the cluster. An empty binary message
//   ends that direction (a TCP FIN); errors before the upgrade are HTTP.
// - GET /api/v1/clusters/:id/tunnels upgrades to a multiplexed session: every stream the client
//   opens is one tunnel, with the same dial request and answer the gateway exchanges with the
//   agent. Opening one costs a stream, not a connection and an HTTP upgrade.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Actor, AuditWriter } from '../shared/audit.js';
import type { Sql } from '../shared/db/connect.js';
import { CommanderError, type ErrorCode, errorBody } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { verifyManagerToken } from '../shared/manager-token.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { sessionOverWebSocket } from '../shared/mux/transports.js';
import { type VerificationKeyLoader, verificationKeyLoader } from '../shared/signing-key.js';
import {
  type AllowEntry,
  formatTarget,
  isAllowed,
  parseAllowList,
  parseTarget,
  type Target,
} from '../shared/targets.js';
import { roleAllows } from '../shared/tokens.js';
import {
  CLIENT_MAX_STREAMS,
  TUNNEL_HIGH_WATER,
  TUNNEL_LOW_WATER,
  TUNNEL_WINDOW,
} from '../shared/wire/limits.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { type Authenticator, credentialOf, type Principal } from './auth.js';
import { type Invalidations, LookupCache } from './cache.js';
import { type OpenTunnel, type TunnelBroker, TunnelError } from './tunnel-broker.js';
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
  trustProxy?: boolean | string[];
}

const HTTP_CODE: Record<TunnelError['code'], ErrorCode> = {
  target_not_allowed: 'TARGET_NOT_ALLOWED',
  agent_offline: 'AGENT_OFFLINE',
  dial_failed: 'DIAL_FAILED',
  dial_timeout: 'DIAL_TIMEOUT',
};

function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  answerUpgrade(socket, status, {}, { reason: code, json: JSON.stringify(errorBody(code, message)) });
}

interface ClusterAccess {
  workspaceId: string;
  allowedTargets: AllowEntry[];
}

/** What one tunnel carried; finish() records it once (metrics, then the audit row). */
interface Tally {
  toTarget: number;
  fromTarget: number;
  finish(end: string): void;
}

/** A refusal as a multiplexed client's stream answer: the tunnel codes, lowercase. */
const ANSWER_CODE: Partial<Record<ErrorCode, string>> = {
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  VALIDATION_FAILED: 'dial_failed',
  TARGET_NOT_ALLOWED: 'target_not_allowed',
  AGENT_OFFLINE: 'agent_offline',
  DIAL_FAILED: 'dial_failed',
  DIAL_TIMEOUT: 'dial_timeout',
};

export class TunnelEndpoint {
  private readonly open = new Set<WebSocket>();
  private readonly sessions = new Set<Session>();
  /** Tunnels open now, each finished (and audited) once. */
  private readonly tallies = new Set<Tally>();
  private readonly clusters = new LookupCache<ClusterAccess>();
  private readonly managerKeys: VerificationKeyLoader;

  constructor(private readonly options: TunnelEndpointOptions) {
    this.managerKeys = verificationKeyLoader(options.sql);
    options.invalidations.subscribe((change) => {
      if (!change) this.clusters.clear();
      else if (change.table === 'clusters') this.clusters.delete(change.id);
    });
  }

  /** Ends every tunnel and queues its audit row at once: the gateway is going away. */
  stop(): void {
    for (const ws of this.open) ws.close(1001, 'gateway shutting down');
    this.open.clear();
    for (const session of this.sessions) session.close();
    this.sessions.clear();
    for (const tally of this.tallies) tally.finish('gateway_stopped');
  }

  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    clusterId: string,
    rawTarget: string | null,
  ): void {
    this.prepare(request, clusterId, rawTarget).then(
      ({ actor, target, tunnel }) => {
        // The client may have gone while the agent dialed; ws would then never call back.
        let upgraded = false;
        const abandon = () => {
          if (upgraded) return;
          tunnel.stream.destroy();
          this.tally(actor, clusterId, target).finish('client_gone');
        };
        if (socket.destroyed) return abandon();
        socket.once('close', abandon);
        this.options.wss.handleUpgrade(request, socket, head, (ws) => {
          upgraded = true;
          socket.off('close', abandon);
          this.relay(ws, tunnel, this.tally(actor, clusterId, target));
        });
      },
      (error: unknown) => this.refuseUpgrade(socket, error),
    );
  }

  /** A multiplexed client: the caller is checked now, and again (from memory) for every stream. */
  handleSessionUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, clusterId: string): void {
    this.authorize(request, clusterId).then(
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
    );
  }

  private refuseUpgrade(socket: Duplex, error: unknown): void {
    if (error instanceof CommanderError) {
      refuse(socket, error.status, error.code, error.message);
    } else {
      this.options.logger.error({ err: error }, 'tunnel upgrade failed');
      refuse(socket, 500, 'INTERNAL', 'internal error');
    }
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
    const rawTarget = dial.type === 'dial' && typeof dial.target === 'string' ? dial.target : null;
    let opened: Awaited<ReturnType<TunnelEndpoint['prepare']>>;
    try {
      opened = await this.prepare(request, clusterId, rawTarget);
    } catch (error) {
      if (!(error instanceof CommanderError)) throw error;
      stream.end(
        encodeMessage({
          ok: false,
          code: ANSWER_CODE[error.code] ?? 'tunnel_failed',
          message: error.message,
        }),
      );
      return;
    }
    const { actor, target, tunnel } = opened;
    if (stream.destroyed) {
      tunnel.stream.destroy();
      this.tally(actor, clusterId, target).finish('client_gone');
      return;
    }
    stream.write(encodeMessage({ ok: true }));
    this.splice(stream, early, tunnel, this.tally(actor, clusterId, target));
  }

  /** A manager replica (with its short-lived token) or an API caller. */
  private async caller(request: IncomingMessage): Promise<Principal> {
    const credential = credentialOf(request);
    const replica = credential ? await verifyManagerToken(this.managerKeys, credential) : undefined;
    if (replica) {
      return {
        workspaceId: '',
        workspaceSlug: '',
        role: 'admin',
        userType: 'System',
        userName: `manager ${replica}`,
        allWorkspaces: true,
      };
    }
    return this.options.authenticate(request);
  }

  /** Who owns the cluster and where it may be tunnelled to; remembered until the row changes. */
  private async clusterAccess(clusterId: string): Promise<ClusterAccess | undefined> {
    const known = this.clusters.get(clusterId);
    if (known) return known;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(clusterId)) return undefined;
    const [row] = await this.options.sql<{ workspace_id: string; allowed_targets: string[] }[]>`
      select workspace_id, allowed_targets from clusters where id = ${clusterId}`;
    if (!row) return undefined;
    const access = { workspaceId: row.workspace_id, allowedTargets: parseAllowList(row.allowed_targets) };
    this.clusters.set(clusterId, access);
    return access;
  }

  /** Every check and the dial happen before the upgrade, so refusals are plain HTTP errors. */
  /** The caller may open tunnels to this cluster; refusals are CommanderErrors. */
  private async authorize(request: IncomingMessage, clusterId: string) {
    // Opening a tunnel is on people's critical path (an ssh login, a kubectl call): the caller
    // and the cluster usually come from memory, and otherwise are looked up at once.
    const [principal, cluster] = await Promise.all([this.caller(request), this.clusterAccess(clusterId)]);
    if (!roleAllows(principal.role, 'operator')) {
      throw new CommanderError(
        'FORBIDDEN',
        `opening tunnels needs the operator role; your token is ${principal.role}`,
      );
    }
    // Another workspace's cluster answers exactly like a missing one.
    if (!cluster || (cluster.workspaceId !== principal.workspaceId && !principal.allWorkspaces)) {
      throw new CommanderError('NOT_FOUND', `cluster ${clusterId} not found`);
    }
    return { principal, cluster };
  }

  /** Every check and the agent's dial; a refusal is audited and thrown as a CommanderError. */
  private async prepare(request: IncomingMessage, clusterId: string, rawTarget: string | null) {
    const { principal, cluster } = await this.authorize(request, clusterId);
    const target = rawTarget ? parseTarget(rawTarget) : undefined;
    if (!target) throw new CommanderError('VALIDATION_FAILED', 'target must be host:port');
    const actor: Actor = {
      userType: principal.userType,
      userName: principal.userName,
      remoteAddress: request.socket.remoteAddress ?? null,
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
      this.audit(actor, clusterId, target, {
        end: error.code,
        bytes_to_target: 0,
        bytes_from_target: 0,
        started,
      });
      // The message starts with the tunnel's own lowercase code, which clients map back.
      throw new CommanderError(HTTP_CODE[error.code], `${error.code}: ${error.message}`);
    }
  }

  /** Counts an open tunnel's bytes; finish() records it once: metrics, then its audit row. */
  private tally(actor: Actor, clusterId: string, target: Target): Tally {
    const { broker } = this.options;
    const started = Date.now();
    broker.active.inc();
    const tally: Tally = {
      toTarget: 0,
      fromTarget: 0,
      finish: (end) => {
        if (!this.tallies.delete(tally)) return;
        broker.active.dec();
        broker.bytes.inc({ direction: 'to_target' }, tally.toTarget);
        broker.bytes.inc({ direction: 'from_target' }, tally.fromTarget);
        const outcome = {
          end,
          bytes_to_target: tally.toTarget,
          bytes_from_target: tally.fromTarget,
          started,
        };
        this.audit(actor, clusterId, target, outcome);
      },
    };
    this.tallies.add(tally);
    return tally;
  }

  private relay(ws: WebSocket, tunnel: OpenTunnel, tally: Tally): void {
    const { stream } = tunnel;
    this.open.add(ws);
    let finished = false;

    const finish = (how: string) => {
      if (finished) return;
      finished = true;
      this.open.delete(ws);
      stream.destroy();
      clearInterval(probe);
      // Read again, or a paused socket would never see the client's closing handshake.
      ws.resume();
      if (ws.readyState === ws.OPEN) ws.close(how === 'closed' ? 1000 : 4011, how);
      tally.finish(how);
    };

    // client → target
    let clientEnded = false;
    let targetEnded = false;
    // Done when both sides ended and our FIN to the target went out (destroying earlier resets).
    const maybeDone = () => {
      if (clientEnded && targetEnded && stream.writableFinished) finish('closed');
    };
    stream.on('finish', maybeDone);
    // While reading is paused (the target is slow) a client that left cannot be seen by reading;
    // a ping written to its closed socket fails and closes the WebSocket instead.
    let probe: NodeJS.Timeout | undefined;
    const pause = () => {
      ws.pause();
      probe ??= setInterval(() => ws.ping(), 1000);
    };
    const resume = () => {
      clearInterval(probe);
      probe = undefined;
      ws.resume();
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (finished) return;
      const chunk = data as Buffer;
      if (!isBinary) return finish('protocol_error');
      if (chunk.length === 0) {
        clientEnded = true;
        stream.end();
        return maybeDone();
      }
      tally.toTarget += chunk.length;
      if (!stream.write(chunk)) pause();
    });
    stream.on('drain', resume);

    // target → client
    const send = (chunk: Buffer) => {
      tally.fromTarget += chunk.length;
      ws.send(chunk, { binary: true }, () => {
        if (stream.isPaused() && ws.bufferedAmount < TUNNEL_LOW_WATER) stream.resume();
      });
      if (ws.bufferedAmount > TUNNEL_HIGH_WATER) stream.pause();
    };
    if (tunnel.rest.length > 0) send(tunnel.rest);
    stream.on('data', send);
    stream.on('end', () => {
      targetEnded = true;
      ws.send(Buffer.alloc(0), { binary: true });
      maybeDone();
    });
    stream.on('error', (error: Error & { code?: string }) => finish(error.code ?? 'agent_error'));
    // The agent's session ended without a typed reason (dropped, replaced, revoked).
    stream.on('close', () => finish(clientEnded && targetEnded ? 'closed' : 'agent_closed'));
    stream.resume();
    ws.on('close', () => finish(clientEnded && targetEnded ? 'closed' : 'client_closed'));
    ws.on('error', () => finish('client_error'));
  }

  /**
   * Bytes both ways between a multiplexed client's stream and the agent's. Stream flow control
   * gives back-pressure, a FIN ends one direction, and anything abnormal resets both.
   */
  private splice(client: MuxStream, early: Buffer, tunnel: OpenTunnel, tally: Tally): void {
    const agent = tunnel.stream;
    let finished = false;
    const finish = (how: string) => {
      if (finished) return;
      finished = true;
      client.destroy();
      agent.destroy();
      tally.finish(how);
    };
    // Done once each side ended and got our FIN (destroying earlier would reset).
    const maybeDone = () => {
      if (client.readableEnded && agent.readableEnded && client.writableFinished && agent.writableFinished)
        finish('closed');
    };
    const closed = (stream: MuxStream, end: string) => () => {
      if (stream.readableEnded && stream.writableFinished) maybeDone();
      else finish(end);
    };
    if (early.length > 0) {
      tally.toTarget += early.length;
      agent.write(early);
    }
    if (tunnel.rest.length > 0) {
      tally.fromTarget += tunnel.rest.length;
      client.write(tunnel.rest);
    }
    client.on('data', (chunk: Buffer) => {
      tally.toTarget += chunk.length;
    });
    agent.on('data', (chunk: Buffer) => {
      tally.fromTarget += chunk.length;
    });
    client.pipe(agent);
    agent.pipe(client);
    for (const stream of [client, agent]) {
      stream.on('end', maybeDone);
      stream.on('finish', maybeDone);
    }
    client.on('error', () => finish('client_closed'));
    client.on('close', closed(client, 'client_closed'));
    agent.on('error', (error: Error & { code?: string }) => finish(error.code ?? 'agent_error'));
    // The agent's session ended without a typed reason (dropped, replaced, revoked).
    agent.on('close', closed(agent, 'agent_closed'));
  }

  private audit(
    actor: Actor,
    clusterId: string,
    target: Target,
    outcome: { end: string; bytes_to_target: number; bytes_from_target: number; started: number },
  ): void {
    this.options.audit.add(actor, {
      auditableType: 'Tunnel',
      auditableId: actor.requestUuid ?? randomUUID(),
      action: 'tunnel',
      changes: {
        cluster_id: clusterId,
        target: formatTarget(target),
        end: outcome.end,
        bytes_to_target: outcome.bytes_to_target,
        bytes_from_target: outcome.bytes_from_target,
        duration_ms: Date.now() - outcome.started,
      },
    });
  }
}
