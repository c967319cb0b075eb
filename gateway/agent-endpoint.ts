// The agent endpoint: WebSocket upgrade at /agent_api/<cluster>, the challenge handshake,
// one multiplexed session per cluster, and the session registry (here and in PostgreSQL).
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { AGENT_REVOKED_CHANNEL } from '../shared/agent-revocation.js';
import type { Encryptor } from '../shared/crypto.js';
import type { Sql } from '../shared/db/connect.js';
import { EnrollmentError, redeemEnrollmentToken } from '../shared/enrollment.js';
import { verifyChallenge } from '../shared/identity.js';
import type { Logger } from '../shared/logger.js';
import type { MuxError } from '../shared/mux/frame.js';
import type { Session } from '../shared/mux/session.js';
import { CloseCode, sessionOverWebSocket } from '../shared/mux/transports.js';
import {
  boundHeartbeat,
  type Challenge,
  type HandshakeErrorCode,
  type Hello,
  isHello,
  PROTOCOL_VERSION,
  type Welcome,
} from '../shared/wire/handshake.js';
import { LAST_SEEN_EVERY_MS, MAX_HANDSHAKE_MESSAGE } from '../shared/wire/limits.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

import { ControlChannel, type ControlMetrics } from './control.js';
import type { TelemetryWriter } from './telemetry.js';
import { answerUpgrade } from './upgrade-answer.js';

const SESSION_CHANNEL = 'commander_agent_session';
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
  /** Handshakes in progress beyond this are refused with 503 and Retry-After. */
  maxPendingHandshakes?: number;
  /** Most agent sessions this replica holds; more are refused with 503 and Retry-After. */
  maxSessions?: number;
}

class HandshakeRefused extends Error {
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class AgentEndpoint {
  private readonly sessions = new Map<string, AgentSession>();
  private pendingHandshakes = 0;
  private lastSeenTimer: NodeJS.Timeout;
  private unlisten: Array<() => Promise<void>> = [];
  private stopping = false;

  constructor(private readonly options: AgentEndpointOptions) {
    this.lastSeenTimer = setInterval(() => this.touchLastSeen(), LAST_SEEN_EVERY_MS);
    this.lastSeenTimer.unref();
  }

  /** Listens for sessions taken over elsewhere and for revocations, from any replica. */
  async start(): Promise<void> {
    const { sql } = this.options;
    const onSession = await sql.listen(SESSION_CHANNEL, (payload) => {
      const { cluster_id, session_id } = JSON.parse(payload) as { cluster_id: string; session_id: string };
      const local = this.sessions.get(cluster_id);
      if (local && local.sessionId !== session_id)
        this.drop(local, CloseCode.replaced, 'replaced by a newer connection');
    });
    const onRevoked = await sql.listen(AGENT_REVOKED_CHANNEL, (clusterId) => {
      const local = this.sessions.get(clusterId);
      if (local) this.drop(local, CloseCode.revoked, 'the agent key was revoked');
    });
    // A new desired revision stored through any replica: nudge the agent if it is ours.
    const onRevision = await sql.listen(REVISION_CHANNEL, (payload) => {
      const [clusterId, revision] = payload.split(':');
      const local = clusterId ? this.sessions.get(clusterId) : undefined;
      local?.control?.nudge(Number(revision));
    });
    this.unlisten = [onSession.unlisten, onRevoked.unlisten, onRevision.unlisten];
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(clusterId: string): AgentSession | undefined {
    return this.sessions.get(clusterId);
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, clusterId: string): void {
    const { maxPendingHandshakes = 512, maxSessions = 20_000 } = this.options;
    if (
      this.stopping ||
      this.pendingHandshakes >= maxPendingHandshakes ||
      this.sessions.size >= maxSessions
    ) {
      // Shed load: the agent waits this long (with jitter) before it tries again.
      const retryAfter = 5 + Math.floor(Math.random() * 25);
      answerUpgrade(socket, 503, { 'Retry-After': String(retryAfter) });
      return;
    }
    this.pendingHandshakes += 1;
    let counted = true;
    const release = () => {
      if (counted) this.pendingHandshakes -= 1;
      counted = false;
    };
    // ws never calls back for an upgrade it rejects or a socket already gone.
    socket.once('close', release);
    this.options.wss.handleUpgrade(request, socket, head, (ws) => {
      this.handshake(ws, clusterId, request.socket.remoteAddress ?? null)
        .catch((error: unknown) => {
          const refused =
            error instanceof HandshakeRefused ? error : new HandshakeRefused('bad_handshake', String(error));
          this.options.logger.warn(
            { cluster_id: clusterId, code: refused.code, reason: refused.message },
            'agent refused',
          );
          if (ws.readyState === ws.OPEN) {
            ws.send(
              Buffer.from(JSON.stringify({ type: 'error', code: refused.code, message: refused.message })),
            );
            ws.close(refused.code === 'revoked' ? CloseCode.revoked : CloseCode.unauthorized, refused.code);
          }
          setTimeout(() => ws.terminate(), 1000).unref();
        })
        .finally(release);
    });
  }

  private async handshake(ws: WebSocket, clusterId: string, remoteAddress: string | null): Promise<void> {
    const nonce = randomBytes(32).toString('base64');
    const challenge: Challenge = { type: 'challenge', protocol: PROTOCOL_VERSION, nonce };
    ws.send(Buffer.from(JSON.stringify(challenge)));
    const hello = await this.readHello(ws);
    if (hello.cluster_id !== clusterId)
      throw new HandshakeRefused('unauthorized', 'hello is for another cluster');
    if (!verifyChallenge(hello.public_key, hello.signature, clusterId, nonce)) {
      throw new HandshakeRefused('unauthorized', 'signature does not match the challenge');
    }
    const { sql } = this.options;
    const sessionId = randomUUID();
    await sql.begin(async (tx) => {
      const [cluster] =
        await tx`select id from clusters where id = ${clusterId} and archived_at is null for update`;
      if (!cluster) throw new HandshakeRefused('unknown_cluster', 'no such cluster');
      if (hello.enrollment_token) {
        try {
          await redeemEnrollmentToken(tx, hello.enrollment_token, clusterId);
        } catch (error) {
          if (error instanceof EnrollmentError) throw new HandshakeRefused('unauthorized', error.message);
          throw error;
        }
        await tx`insert into agents (cluster_id, public_key) values (${clusterId}, ${hello.public_key})
          on conflict (cluster_id) do update set public_key = excluded.public_key, enrolled_at = now(), revoked_at = null`;
        // A newly enrolled agent numbers its reports from 1 again.
        await tx`update clusters set agent_seq = 0 where id = ${clusterId}`;
      } else {
        const [agent] = await tx<{ public_key: string; revoked_at: Date | null }[]>`
          select public_key, revoked_at from agents where cluster_id = ${clusterId}`;
        if (!agent || agent.public_key !== hello.public_key) {
          throw new HandshakeRefused('unauthorized', 'this key is not enrolled for the cluster');
        }
        if (agent.revoked_at)
          throw new HandshakeRefused('revoked', 'this agent key was revoked; enroll again');
      }
      await tx`update clusters set agent_status = 'connected', last_seen_at = now(), agent_version = ${hello.agent_version},
          agent_replica = ${this.options.replicaId}, agent_session_id = ${sessionId}
        where id = ${clusterId}`;
      await tx`select pg_notify(${SESSION_CHANNEL}, ${JSON.stringify({ cluster_id: clusterId, session_id: sessionId })})`;
    });
    if (ws.readyState !== ws.OPEN || this.stopping) {
      // It went away while we recorded it: record that too.
      await sql`update clusters set agent_status = 'disconnected', agent_replica = null
        where id = ${clusterId} and agent_session_id = ${sessionId}`;
      return;
    }
    const heartbeat = boundHeartbeat(hello.heartbeat_interval);
    const welcome: Welcome = { type: 'welcome', session_id: sessionId, heartbeat_interval: heartbeat };
    ws.send(Buffer.from(JSON.stringify(welcome)));
    this.register(ws, clusterId, sessionId, hello, heartbeat, remoteAddress);
  }

  private readHello(ws: WebSocket): Promise<Hello> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new HandshakeRefused('bad_handshake', 'no hello in time')),
        HANDSHAKE_TIMEOUT_MS,
      );
      const done = (error?: Error, hello?: Hello) => {
        clearTimeout(timer);
        ws.off('message', onMessage);
        ws.off('close', onClose);
        if (error) reject(error);
        else resolve(hello as Hello);
      };
      const onMessage = (data: RawData, isBinary: boolean) => {
        const bytes = data as Buffer;
        if (!isBinary || bytes.length > MAX_HANDSHAKE_MESSAGE)
          return done(new HandshakeRefused('bad_handshake', 'bad hello message'));
        let message: unknown;
        try {
          message = JSON.parse(bytes.toString('utf8'));
        } catch {
          return done(new HandshakeRefused('bad_handshake', 'hello is not JSON'));
        }
        const problem = isHello.problem(message);
        if (problem) return done(new HandshakeRefused('bad_handshake', `bad hello: ${problem}`));
        const hello = message as Hello;
        if (hello.protocol !== PROTOCOL_VERSION) {
          const unsupported = `unsupported protocol ${hello.protocol}; this gateway speaks ${PROTOCOL_VERSION}`;
          return done(new HandshakeRefused('bad_handshake', unsupported));
        }
        done(undefined, hello);
      };
      const onClose = () => done(new HandshakeRefused('bad_handshake', 'closed during the handshake'));
      ws.on('message', onMessage);
      ws.on('close', onClose);
    });
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
    const session = sessionOverWebSocket(ws, false, {
      keepaliveInterval: 0,
      peerPingTimeout: 2 * heartbeat,
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
      this.options
        .sql`update clusters set agent_status = 'disconnected', last_seen_at = now(), agent_replica = null
        where id = ${clusterId} and agent_session_id = ${sessionId}`.catch((error: unknown) =>
        logger.error({ err: error, cluster_id: clusterId }, 'could not record the disconnect'),
      );
    });
  }

  /** Closes a session with a typed close code (and a GoAway first, so the agent knows why). */
  private drop(entry: AgentSession, code: number, reason: string): void {
    if (this.sessions.get(entry.clusterId) === entry) this.sessions.delete(entry.clusterId);
    entry.session.goAway();
    // The GoAway is flushed in a microtask; close after it went out.
    setImmediate(() => entry.ws.close(code, reason));
    setTimeout(() => entry.ws.terminate(), 1000).unref();
  }

  private touchLastSeen(): void {
    const ids = [...this.sessions.keys()];
    if (ids.length === 0) return;
    this.options.sql`update clusters set last_seen_at = now() where id = any(${ids}::uuid[])`.catch(() => {});
  }

  /** Closes every session (agents reconnect to another replica) and stops listening. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.lastSeenTimer);
    for (const unlisten of this.unlisten) await unlisten().catch(() => {});
    const entries = [...this.sessions.values()];
    for (const entry of entries) this.drop(entry, CloseCode.goingAway, 'gateway shutting down');
    if (entries.length > 0) {
      await this.options
        .sql`update clusters set agent_status = 'disconnected', agent_replica = null, last_seen_at = now()
        where id = any(${entries.map((e) => e.clusterId)}::uuid[]) and agent_replica = ${this.options.replicaId}`.catch(
        () => {},
      );
    }
  }
}
