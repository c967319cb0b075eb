// The tunnel endpoint: GET /api/v1/clusters/:id/tunnel?target=host:port upgrades to a
// WebSocket whose binary messages are the raw bytes of one TCP connection inside the cluster.
// An empty binary message ends that direction (a TCP FIN); errors before the upgrade are HTTP.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { type Actor, type AuditPrinter, recordAudit } from '../shared/audit.js';
import type { Sql } from '../shared/db/connect.js';
import { CommanderError, type ErrorCode, errorBody } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { verifyManagerToken } from '../shared/manager-token.js';
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
import { type Authenticator, credentialOf, type Principal } from './auth.js';
import { type Invalidations, LookupCache } from './cache.js';
import { type OpenTunnel, type TunnelBroker, TunnelError } from './tunnel-broker.js';

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

export interface TunnelEndpointOptions {
  sql: Sql;
  wss: WebSocketServer;
  broker: TunnelBroker;
  authenticate: Authenticator;
  printAudit: AuditPrinter;
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
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nConnection: close\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

interface ClusterAccess {
  workspaceId: string;
  allowedTargets: AllowEntry[];
}

export class TunnelEndpoint {
  private readonly open = new Set<WebSocket>();
  private readonly clusters = new LookupCache<ClusterAccess>();
  private readonly managerKeys: VerificationKeyLoader;

  constructor(private readonly options: TunnelEndpointOptions) {
    this.managerKeys = verificationKeyLoader(options.sql);
    options.invalidations.subscribe((change) => {
      if (!change) this.clusters.clear();
      else if (change.table === 'clusters') this.clusters.delete(change.id);
    });
  }

  /** Ends every tunnel: the gateway is going away. */
  stop(): void {
    for (const ws of this.open) ws.close(1001, 'gateway shutting down');
    this.open.clear();
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
          const outcome = {
            end: 'client_gone',
            bytes_to_target: 0,
            bytes_from_target: 0,
            started: Date.now(),
          };
          this.audit(actor, clusterId, target, outcome).catch(() => {});
        };
        if (socket.destroyed) return abandon();
        socket.once('close', abandon);
        this.options.wss.handleUpgrade(request, socket, head, (ws) => {
          upgraded = true;
          socket.off('close', abandon);
          this.relay(ws, tunnel, actor, clusterId, target);
        });
      },
      (error: unknown) => {
        if (error instanceof CommanderError) return refuse(socket, error.status, error.code, error.message);
        this.options.logger.error({ err: error }, 'tunnel upgrade failed');
        refuse(socket, 500, 'INTERNAL', 'internal error');
      },
    );
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
  private async prepare(request: IncomingMessage, clusterId: string, rawTarget: string | null) {
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
    const target = rawTarget ? parseTarget(rawTarget) : undefined;
    if (!target) throw new CommanderError('VALIDATION_FAILED', 'querystring/target must be host:port');
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
      await this.audit(actor, clusterId, target, {
        end: error.code,
        bytes_to_target: 0,
        bytes_from_target: 0,
        started,
      });
      // The message starts with the tunnel's own lowercase code, which clients map back.
      throw new CommanderError(HTTP_CODE[error.code], `${error.code}: ${error.message}`);
    }
  }

  private relay(ws: WebSocket, tunnel: OpenTunnel, actor: Actor, clusterId: string, target: Target): void {
    const { broker } = this.options;
    const { stream } = tunnel;
    const started = Date.now();
    this.open.add(ws);
    let toTarget = 0;
    let fromTarget = 0;
    let end = 'closed';
    let finished = false;
    broker.active.inc();

    const finish = (how: string) => {
      if (finished) return;
      finished = true;
      end = how;
      this.open.delete(ws);
      broker.active.dec();
      broker.bytes.inc({ direction: 'to_target' }, toTarget);
      broker.bytes.inc({ direction: 'from_target' }, fromTarget);
      stream.destroy();
      clearInterval(probe);
      // Read again, or a paused socket would never see the client's closing handshake.
      ws.resume();
      if (ws.readyState === ws.OPEN) ws.close(how === 'closed' ? 1000 : 4011, how);
      this.audit(actor, clusterId, target, {
        end,
        bytes_to_target: toTarget,
        bytes_from_target: fromTarget,
        started,
      }).catch((error: unknown) => this.options.logger.error({ err: error }, 'tunnel audit failed'));
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
      toTarget += chunk.length;
      if (!stream.write(chunk)) pause();
    });
    stream.on('drain', resume);

    // target → client
    const send = (chunk: Buffer) => {
      fromTarget += chunk.length;
      ws.send(chunk, { binary: true }, () => {
        if (stream.isPaused() && ws.bufferedAmount < LOW_WATER) stream.resume();
      });
      if (ws.bufferedAmount > HIGH_WATER) stream.pause();
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

  private async audit(
    actor: Actor,
    clusterId: string,
    target: Target,
    outcome: { end: string; bytes_to_target: number; bytes_from_target: number; started: number },
  ): Promise<void> {
    const record = await recordAudit(this.options.sql, actor, {
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
    this.options.printAudit(record);
  }
}
