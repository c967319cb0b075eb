// The agent endpoint: admission of WebSocket upgrades at /agent_api/<cluster>, one multiplexed
// session per cluster, and the session registry (here and in PostgreSQL).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { AGENT_REVOKED_CHANNEL } from '../shared/agent-revocation.js';
import type { Encryptor } from '../shared/crypto.js';
import type { Sql } from '../shared/db/connect.js';
import { listenSurely } from '../shared/db/driver-defects.js';
import type { Logger } from '../shared/logger.js';
import type { MuxError } from '../shared/mux/frame.js';
import type { Session } from '../shared/mux/session.js';
import { CloseCode, sessionOverWebSocket } from '../shared/mux/transports.js';
import { boundHeartbeat, type HandshakeError, type Hello, type Welcome } from '../shared/wire/handshake.js';
import { AGENT_ADMISSION, DROP_TERMINATE_MS, LAST_SEEN_EVERY_MS } from '../shared/wire/limits.js';
import {
  acceptHello,
  checkHello,
  HandshakeRefused,
  HelloRoom,
  SESSION_CHANNEL,
  sendChallenge,
} from './agent-handshake.js';
import { type ClientAddress, directAddress } from './client-address.js';
import { ControlChannel, type ControlMetrics } from './control.js';
import { RetrySchedule } from './retry-schedule.js';
import type { TelemetryWriter } from './telemetry.js';
import { answerUpgrade } from './upgrade-answer.js';

/** Sent by a trigger when a cluster's current_revision changes (migration 0006). */
const REVISION_CHANNEL = 'commander_revision';

export interface AgentSession {
  clusterId: string;
  sessionId: string;
  session: Session;
  ws: WebSocket;
  agentVersion: string;
  connectedAt: Date;
  /** Set once the agent opened its control stream. */
  control?: ControlChannel;
}

export interface AgentEndpointOptions {
  sql: Sql;
  encryptor: Encryptor;
  controlMetrics: ControlMetrics;
  telemetry: TelemetryWriter;
  wss: WebSocketServer;
  logger: Logger;
  replicaId: string;
  /** The agent's address as recorded (default: the socket's peer). */
  addressOf?: ClientAddress;
  /** How often last_seen_at is refreshed and unrecorded disconnects written again. */
  lastSeenEveryMs?: number;
}

/** What an agent told to move is given to spread its reconnect over (ms). */
export const MOVE_WITHIN_MS = 2_000;

export class AgentEndpoint {
  private readonly sessions = new Map<string, AgentSession>();
  /** Sessions told to move (draining), kept until their tunnels end. */
  private readonly moving = new Set<AgentSession>();
  private readonly helloRoom = new HelloRoom(AGENT_ADMISSION.maxAwaitingHello);
  /** Hellos whose signature verified, in their database transaction now. */
  private verifying = 0;
  private readonly retrySchedule = new RetrySchedule(AGENT_ADMISSION.retryAfterS);
  /** Disconnects the database has not recorded yet (session id → cluster id), retried. */
  private readonly unrecorded = new Map<string, string>();
  private lastSeenTimer: NodeJS.Timeout;
  private unlisten: Array<() => Promise<void>> = [];
  private stopping = false;

  constructor(private readonly options: AgentEndpointOptions) {
    this.lastSeenTimer = setInterval(
      () => void this.touchLastSeen(),
      options.lastSeenEveryMs ?? LAST_SEEN_EVERY_MS,
    );
    this.lastSeenTimer.unref();
  }

  /** Listens for sessions taken over elsewhere and for revocations, from any replica. */
  async start(): Promise<void> {
    const { sql, logger } = this.options;
    const onSession = await listenSurely(sql, SESSION_CHANNEL, (payload) => {
      const taken = parseSessionNotice(payload);
      if (!taken) return logger.warn({ payload: payload.slice(0, 200) }, 'bad session notification ignored');
      const local = this.sessions.get(taken.cluster_id);
      if (local && local.sessionId !== taken.session_id) void this.dropIfReplaced(local);
    });
    const onRevoked = await listenSurely(
      sql,
      AGENT_REVOKED_CHANNEL,
      (clusterId) => this.dropRevokedAgent(clusterId),
      // Also each time the listening connection is back after the database went away: a key
      // revoked meanwhile sent a notice nobody heard.
      () => void this.dropRevoked(),
    );
    // A new desired revision stored through any replica: nudge the agent if it is ours.
    const onRevision = await listenSurely(sql, REVISION_CHANNEL, (payload) => {
      const [clusterId, text] = payload.split(':');
      const revision = Number(text);
      const local = clusterId ? this.sessions.get(clusterId) : undefined;
      if (local && Number.isSafeInteger(revision)) local.control?.nudge(revision);
    });
    this.unlisten = [onSession, onRevoked, onRevision];
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(clusterId: string): AgentSession | undefined {
    return this.sessions.get(clusterId);
  }

  /**
   * Admits an upgrade unless this replica is stopping or full (503 with Retry-After). Only
   * hellos being verified count against the handshake limit: a connection that has said
   * nothing waits in the hello room, which never refuses (it drops its oldest instead).
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, clusterId: string): void {
    const { maxVerifying, maxSessions } = AGENT_ADMISSION;
    if (this.stopping || this.verifying >= maxVerifying || this.sessions.size >= maxSessions) {
      // Shed load: the agent comes back when this replica can take it (plus its own jitter).
      const retryAfter = this.retrySchedule.retryAfter(this.verifying);
      answerUpgrade(socket, 503, { 'Retry-After': String(retryAfter) });
      return;
    }
    const remoteAddress = (this.options.addressOf ?? directAddress)(request);
    this.options.wss.handleUpgrade(request, socket, head, (ws) => {
      // ws reports a bad frame as an 'error' and then closes; without a listener the error
      // would be thrown out of the socket's event handler and end the process.
      ws.on('error', () => {});
      this.handshake(ws, clusterId, remoteAddress).catch((error: unknown) =>
        this.refuse(ws, clusterId, error),
      );
    });
  }

  private async handshake(ws: WebSocket, clusterId: string, remoteAddress: string | null): Promise<void> {
    const nonce = sendChallenge(ws);
    const hello = await this.helloRoom.hello(ws);
    checkHello(hello, clusterId, nonce);
    this.verifying += 1;
    const started = performance.now();
    let sessionId: string;
    try {
      sessionId = await acceptHello(this.options.sql, clusterId, hello, this.options.replicaId);
    } finally {
      this.verifying -= 1;
      this.retrySchedule.record(performance.now() - started);
    }
    if (ws.readyState !== ws.OPEN || this.stopping) {
      // It went away while we recorded it: record that too.
      await this.recordDisconnect(clusterId, sessionId);
      return;
    }
    const heartbeat = boundHeartbeat(hello.heartbeat_interval);
    const welcome: Welcome = { type: 'welcome', session_id: sessionId, heartbeat_interval: heartbeat };
    ws.send(Buffer.from(JSON.stringify(welcome)));
    this.register(ws, clusterId, sessionId, hello, heartbeat, remoteAddress);
  }

  /** Answers a failed handshake with its code, closes, and terminates a moment later. */
  private refuse(ws: WebSocket, clusterId: string, error: unknown): void {
    const { logger } = this.options;
    let refused: HandshakeRefused;
    if (error instanceof HandshakeRefused) {
      refused = error;
    } else {
      // Ours (the database, say), not the agent's: the details stay in our log.
      logger.error({ err: error, cluster_id: clusterId }, 'agent handshake failed');
      refused = new HandshakeRefused('bad_handshake', 'the gateway could not check the hello; try again');
    }
    logger[refused.claimed ? 'warn' : 'debug'](
      { cluster_id: clusterId, code: refused.code, reason: refused.message },
      'agent refused',
    );
    if (ws.readyState === ws.OPEN) {
      const answer: HandshakeError = {
        type: 'error',
        code: refused.code,
        message: refused.message.slice(0, 1000),
      };
      ws.send(Buffer.from(JSON.stringify(answer)));
      ws.close(refused.code === 'revoked' ? CloseCode.revoked : CloseCode.unauthorized, refused.code);
    }
    setTimeout(() => ws.terminate(), DROP_TERMINATE_MS).unref();
  }

  private register(
    ws: WebSocket,
    clusterId: string,
    sessionId: string,
    hello: Hello,
    heartbeat: number,
    remoteAddress: string | null,
  ) {
    const { logger } = this.options;
    // The agent pings every heartbeat and notices a dead gateway by the missing answer; the
    // gateway only answers, and notices a dead agent by its missing pings. With 1,000 idle
    // agents that halves the gateway's CPU (2.3-3.5 % of a core, from 4.2-6.0 % when it pinged
    // too): a timer that is re-armed by each ping never fires while the agent lives.
    const pingTimeout = 2 * heartbeat;
    const session = sessionOverWebSocket(ws, false, {
      keepaliveInterval: 0,
      peerPingTimeout: pingTimeout,
    });
    const entry: AgentSession = {
      clusterId,
      sessionId,
      session,
      ws,
      agentVersion: hello.agent_version,
      connectedAt: new Date(),
    };
    const previous = this.sessions.get(clusterId);
    this.sessions.set(clusterId, entry);
    if (previous) this.drop(previous, CloseCode.replaced, 'replaced by a newer connection');
    logger.info(
      {
        cluster_id: clusterId,
        session_id: sessionId,
        agent_version: hello.agent_version,
        remote_address: remoteAddress,
        ping_timeout_ms: pingTimeout,
      },
      'agent connected',
    );
    let controlSeen = false;
    session.on('stream', (stream) => {
      // The agent opens exactly one stream, the control stream; anything else is refused.
      if (controlSeen) return stream.destroy();
      controlSeen = true;
      stream.priority = true;
      const { sql, encryptor, logger: log, controlMetrics: metrics, telemetry } = this.options;
      entry.control = new ControlChannel(clusterId, stream, session, {
        sql,
        encryptor,
        logger: log,
        metrics,
        telemetry,
      });
    });
    session.on('close', (reason?: MuxError) => {
      if (this.sessions.get(clusterId) === entry) this.sessions.delete(clusterId);
      logger.info(
        { cluster_id: clusterId, session_id: sessionId, reason: reason?.code ?? 'closed' },
        'agent disconnected',
      );
      void this.recordDisconnect(clusterId, sessionId);
    });
  }

  /** Drops the sessions of this replica whose agent key is revoked. */
  /** Closes the agent's session here, and its moving one (still carrying tunnels) too. */
  private dropRevokedAgent(clusterId: string): void {
    const local = this.sessions.get(clusterId);
    if (local) this.drop(local, CloseCode.revoked, 'the agent key was revoked');
    for (const entry of this.moving)
      if (entry.clusterId === clusterId) this.drop(entry, CloseCode.revoked, 'the agent key was revoked');
  }

  private async dropRevoked(): Promise<void> {
    const ids = [...new Set([...this.sessions.keys(), ...[...this.moving].map((entry) => entry.clusterId)])];
    if (ids.length === 0) return;
    try {
      const rows = await this.options.sql<{ cluster_id: string }[]>`
        select cluster_id from agents where cluster_id = any(${ids}::uuid[]) and revoked_at is not null`;
      for (const { cluster_id } of rows) this.dropRevokedAgent(cluster_id);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not check for agent keys revoked while unlistened');
    }
  }

  /**
   * Drops the session if another is the cluster's newest. A notification may name an older
   * session: one accepted just before ours, whose notification arrived after ours registered
   * (an agent that reconnected at once). Only the cluster's row says which one is the newest.
   */
  private async dropIfReplaced(local: AgentSession): Promise<void> {
    try {
      const [row] = await this.options.sql<{ agent_session_id: string | null }[]>`
        select agent_session_id from clusters where id = ${local.clusterId}`;
      if (row?.agent_session_id === local.sessionId || this.sessions.get(local.clusterId) !== local) return;
      this.drop(local, CloseCode.replaced, 'replaced by a newer connection');
    } catch (error) {
      // Kept: if it was replaced, its agent is gone and its pings stop.
      this.options.logger.warn(
        { err: error, cluster_id: local.clusterId },
        'could not check whether a session was replaced',
      );
    }
  }

  /** Closes a session with a typed close code (and a GoAway first, so the agent knows why). */
  private drop(entry: AgentSession, code: number, reason: string): void {
    if (this.sessions.get(entry.clusterId) === entry) this.sessions.delete(entry.clusterId);
    this.moving.delete(entry);
    entry.session.goAway();
    this.close(entry, code, reason);
  }

  /** Closes the WebSocket once what was queued went out; terminates it if the agent does not answer. */
  private close(entry: AgentSession, code: number, reason: string): void {
    // The GoAway is flushed in a microtask; close after it went out.
    setImmediate(() => entry.ws.close(code, reason));
    setTimeout(() => entry.ws.terminate(), DROP_TERMINATE_MS).unref();
  }

  /**
   * Marks the session's cluster disconnected (unless a newer session took it over). If the
   * database is away the disconnect is kept and written on the next refresh, so a cluster never
   * stays "connected" because one write failed.
   */
  private async recordDisconnect(clusterId: string, sessionId: string): Promise<void> {
    this.unrecorded.set(sessionId, clusterId);
    try {
      await this.options
        .sql`update clusters set agent_status = 'disconnected', last_seen_at = now(), agent_replica = null,
          agent_connected_at = null
        where id = ${clusterId} and agent_session_id = ${sessionId}`;
      this.unrecorded.delete(sessionId);
    } catch (error) {
      this.options.logger.error(
        { err: error, cluster_id: clusterId, session_id: sessionId },
        'could not record the disconnect; trying again later',
      );
    }
  }

  /** Refreshes last_seen_at of the live sessions, and writes the disconnects still unrecorded. */
  private async touchLastSeen(): Promise<void> {
    for (const [sessionId, clusterId] of this.unrecorded) await this.recordDisconnect(clusterId, sessionId);
    const ids = [...this.sessions.keys()];
    if (ids.length === 0) return;
    try {
      await this.options.sql`update clusters set last_seen_at = now() where id = any(${ids}::uuid[])`;
    } catch (error) {
      // Written again on the next refresh; until then last_seen_at is older than it should be.
      this.options.logger.warn({ err: error, clusters: ids.length }, 'could not refresh last_seen_at');
    }
  }

  /**
   * Writes this replica's sessions back after a peer counted it gone and cleared them (a long
   * pause, the database away): only where no newer session took the cluster over meanwhile.
   */
  async reinstate(): Promise<void> {
    const live = [...this.sessions.values()];
    if (live.length === 0) return;
    await this.options
      .sql`update clusters set agent_status = 'connected', agent_replica = ${this.options.replicaId}
      where agent_session_id = any(${live.map((e) => e.sessionId)}::uuid[]) and agent_replica is null`;
  }

  /**
   * Draining: refuses new agents, tells every agent to move (a `move` message with a hint, then
   * the mux GoAway: no new tunnels on this session), and closes each session once the tunnels on
   * it have ended, or when `deadline` (epoch ms) passes. The agents reconnect elsewhere meanwhile,
   * while their running tunnels finish here.
   */
  async drain(deadline: number): Promise<void> {
    this.stopping = true;
    this.helloRoom.clear();
    for (const entry of [...this.sessions.values()]) {
      this.sessions.delete(entry.clusterId);
      this.moving.add(entry);
      entry.control?.move(MOVE_WITHIN_MS);
      entry.session.goAway();
      entry.session.on('close', () => this.moving.delete(entry));
    }
    const tunnels = (entry: AgentSession) => entry.session.streamCount - (entry.control ? 1 : 0);
    while (this.moving.size > 0 && Date.now() < deadline) {
      for (const entry of [...this.moving]) {
        if (tunnels(entry) > 0) continue;
        this.moving.delete(entry);
        this.close(entry, CloseCode.goingAway, 'gateway draining');
      }
      if (this.moving.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Closes every session (agents reconnect to another replica) and stops listening. */
  async stop(): Promise<void> {
    const { sql, logger, replicaId } = this.options;
    this.stopping = true;
    clearInterval(this.lastSeenTimer);
    this.helloRoom.clear();
    for (const unlisten of this.unlisten) {
      await unlisten().catch((error: unknown) => logger.warn({ err: error }, 'could not stop listening'));
    }
    const entries = [...this.sessions.values(), ...this.moving];
    this.moving.clear();
    for (const entry of entries) this.drop(entry, CloseCode.goingAway, 'gateway shutting down');
    if (entries.length > 0) {
      await sql`update clusters set agent_status = 'disconnected', agent_replica = null, last_seen_at = now()
        where id = any(${entries.map((e) => e.clusterId)}::uuid[]) and agent_replica = ${replicaId}`.catch(
        (error: unknown) =>
          // Another replica's session takes the row over; until an agent comes back it says connected.
          logger.error(
            { err: error, clusters: entries.length },
            'could not record the disconnects at shutdown',
          ),
      );
    }
  }
}

/** A session notification's payload, or undefined when it is not one. */
function parseSessionNotice(payload: string): { cluster_id: string; session_id: string } | undefined {
  try {
    const value = JSON.parse(payload) as { cluster_id?: unknown; session_id?: unknown };
    if (typeof value?.cluster_id === 'string' && typeof value.session_id === 'string')
      return { cluster_id: value.cluster_id, session_id: value.session_id };
  } catch {
    // not JSON
  }
  return undefined;
}
