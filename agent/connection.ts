// The agent's one outbound connection: dial (through a proxy when configured), answer the
// gateway's challenge, run the multiplexed session, and reconnect with jittered backoff, until
// stopped or refused for good (agent/refusal.ts).
import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { gatewayTls } from '../shared/gateway-trust.js';
import { signChallenge } from '../shared/identity.js';
import type { Logger } from '../shared/logger.js';
import { INITIAL_WINDOW, MuxError } from '../shared/mux/frame.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { CloseCode, sessionOverWebSocket, zeroMask } from '../shared/mux/transports.js';
import {
  type Hello,
  isChallenge,
  isWelcome,
  PROTOCOL_VERSION,
  type Welcome,
} from '../shared/wire/handshake.js';
import {
  AGENT_HANDSHAKE_TIMEOUT_MS,
  AGENT_UPGRADE_TIMEOUT_MS,
  MAX_HANDSHAKE_MESSAGE,
  MAX_WS_MESSAGE,
  TUNNEL_WINDOW,
} from '../shared/wire/limits.js';
import { encodeMessage } from '../shared/wire/messages.js';
import { Backoff } from './backoff.js';
import type { AgentConfig } from './config.js';
import type { AgentIdentity } from './identity.js';
import { ConnectProxyAgent, proxyFor } from './proxy.js';
import { AgentGaveUp, permanentRefusal, quoted } from './refusal.js';

export interface ConnectionEvents {
  /** A tunnel stream the gateway opened. */
  onStream(stream: MuxStream): void;
  /** The control stream of a new session. */
  onConnected?(control: MuxStream, session: Session): void;
}

class Refused extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class AgentConnection {
  private readonly backoff = new Backoff();
  private stopped = false;
  private current: { ws: WebSocket; session?: Session } | undefined;
  private wake: (() => void) | undefined;
  /** Set by a `move`: the session ends for us now (its tunnels carry on) and we dial again. */
  private leave: (() => void) | undefined;
  /** The move's hint: dial again after a random delay of up to this long, not after a backoff. */
  private moveWithinMs: number | undefined;
  /** Sessions of gateways that told us to move, open until their tunnels end and they close. */
  private readonly lingering = new Set<{ ws: WebSocket; session: Session }>();
  /**
   * An enrollment token the gateway refused, and that refusal. The next hello tries the key
   * alone: another agent sharing this identity (a second pod, its Secret) may have enrolled it
   * with that very token. Refused again, the first refusal is the one that ends it.
   */
  private refusedToken: { token: string; refusal: AgentGaveUp } | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly identity: AgentIdentity,
    private readonly version: string,
    private readonly logger: Logger,
    private readonly events: ConnectionEvents,
  ) {}

  /** Connects and stays connected until stop(); rejects with AgentGaveUp on a permanent refusal. */
  async run(): Promise<void> {
    while (!this.stopped) {
      let retryAfter: number | undefined;
      try {
        await this.connectOnce();
      } catch (error) {
        if (error instanceof AgentGaveUp) {
          this.stopped = true;
          throw error;
        }
        retryAfter = error instanceof Refused ? error.retryAfterMs : undefined;
        if (!this.stopped)
          this.logger.warn({ reason: (error as Error).message }, 'connection to the gateway failed');
      }
      if (this.stopped) break;
      const moveWithin = this.moveWithinMs;
      this.moveWithinMs = undefined;
      const delay = moveWithin === undefined ? this.backoff.next(retryAfter) : Math.random() * moveWithin;
      this.logger.info({ delay_ms: Math.round(delay) }, 'reconnecting');
      await this.sleep(delay);
    }
  }

  /** Waits out a backoff delay, cut short by stop(). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /**
   * The gateway drains: connect again (through the load balancer, elsewhere) within `withinMs`,
   * spread at random so that its agents do not all arrive at once. The current session stays
   * open for the tunnels running on it; the gateway closes it once they end.
   */
  move(withinMs: number): void {
    if (this.stopped || !this.leave) return;
    this.moveWithinMs = withinMs;
    this.logger.info({ within_ms: withinMs }, 'the gateway asked this agent to move');
    this.leave();
  }

  /** Says GoAway, closes the connection cleanly (bounded), and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const old of this.lingering) {
      old.session.goAway();
      old.ws.terminate();
    }
    this.lingering.clear();
    if (!this.current) return;
    const { ws, session } = this.current;
    session?.goAway();
    // Let the GoAway go out (it is flushed in a microtask) before the close.
    await new Promise((resolve) => setImmediate(resolve));
    if (ws.readyState === WebSocket.OPEN) {
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close(CloseCode.goingAway, 'agent stopping');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 500))]);
    }
    ws.terminate();
  }

  /** One connection, from dial to close. Resolves when a working session ends. */
  private connectOnce(): Promise<void> {
    const { url } = this.config;
    const tls = gatewayTls(this.config);
    const proxy = proxyFor(url);
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      generateMask: zeroMask,
      maxPayload: MAX_WS_MESSAGE,
      handshakeTimeout: AGENT_UPGRADE_TIMEOUT_MS,
      ...tls,
      agent: proxy ? new ConnectProxyAgent(proxy, url.protocol === 'wss:' ? tls : undefined) : undefined,
      headers: { 'user-agent': `commander-agent/${this.version}` },
    });
    this.current = { ws };
    return new Promise((resolve, reject) => {
      let established = false;
      ws.on('unexpected-response', (_request: ClientRequest, response: IncomingMessage) => {
        const retryAfter = Number(response.headers['retry-after']);
        reject(
          new Refused(
            `gateway answered HTTP ${response.statusCode}`,
            Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
          ),
        );
        ws.terminate();
      });
      ws.on('error', (error) => {
        if (!established) reject(error);
      });
      ws.on('close', (code, reason) => {
        if (!established) reject(new Error(`closed during the handshake: ${code} ${reason.toString()}`));
      });
      ws.once('open', () => {
        let session: Promise<void> | undefined;
        // The session must take over the socket in the same tick as the welcome, or a frame
        // arriving right behind it would be lost.
        const onWelcome = (welcome: Welcome) => {
          established = true;
          this.backoff.reset();
          session = this.runSession(ws, welcome);
        };
        this.handshake(ws, onWelcome).then(
          () => session?.then(resolve, resolve),
          (error: Error) => {
            reject(error);
            ws.terminate();
          },
        );
      });
    });
  }

  private handshake(ws: WebSocket, onWelcome: (welcome: Welcome) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('handshake timed out')), AGENT_HANDSHAKE_TIMEOUT_MS);
      let enrolling: string | undefined;
      let helloSent = false;
      const onMessage = (data: Buffer, isBinary: boolean) => {
        let message: Record<string, unknown>;
        try {
          if (!isBinary || data.length > MAX_HANDSHAKE_MESSAGE) throw new Error('bad handshake message');
          message = JSON.parse(data.toString('utf8'));
          if (message === null || typeof message !== 'object') throw new Error('bad handshake message');
        } catch (error) {
          return finish(error as Error);
        }
        if (!helloSent && message.type === 'challenge') {
          const problem = isChallenge.problem(message);
          if (problem) return finish(new Error(`bad challenge: ${problem}`));
          try {
            enrolling = this.identity.enrollmentToken(this.config.tokenFile);
          } catch (error) {
            return finish(error as Error);
          }
          if (enrolling !== undefined && enrolling === this.refusedToken?.token) enrolling = undefined;
          const hello: Hello = {
            type: 'hello',
            protocol: PROTOCOL_VERSION,
            cluster_id: this.config.clusterId,
            public_key: this.identity.publicKey,
            signature: signChallenge(this.identity.key, this.config.clusterId, message.nonce as string),
            agent_version: this.version,
            heartbeat_interval: this.config.heartbeatIntervalMs,
            ...(enrolling ? { enrollment_token: enrolling } : {}),
          };
          helloSent = true;
          ws.send(Buffer.from(JSON.stringify(hello)));
        } else if (helloSent && message.type === 'welcome') {
          const problem = isWelcome.problem(message);
          if (problem) return finish(new Error(`bad welcome: ${problem}`));
          const spent = enrolling ?? this.refusedToken?.token;
          if (enrolling) this.logger.info('enrolled this agent key with the gateway');
          else if (spent) this.logger.info('this agent key was enrolled already, by an agent sharing it');
          this.refusedToken = undefined;
          if (spent) {
            this.identity
              .markEnrolled(spent)
              .catch((error: unknown) =>
                this.logger.warn(
                  { where: this.identity.where, reason: (error as Error).message },
                  'could not record the spent enrollment token',
                ),
              );
          }
          finish();
          onWelcome(message as unknown as Welcome);
        } else if (message.type === 'error') {
          const context = {
            clusterId: this.config.clusterId,
            tokenFile: this.config.tokenFile,
            enrolling: enrolling !== undefined,
          };
          const refusal = permanentRefusal(message.code, message.message, context);
          const said = `gateway refused the agent: ${quoted(message.code)}: ${quoted(message.message)}`;
          if (refusal?.reason === 'enrollment_refused' && enrolling) {
            this.refusedToken = { token: enrolling, refusal };
            return finish(new Refused(`${said}; trying this agent's key alone`));
          }
          const first = this.refusedToken?.refusal;
          if (first && refusal?.reason === 'not_enrolled') return finish(first);
          finish(refusal ?? new Refused(said));
        } else {
          finish(new Error('unexpected handshake message'));
        }
      };
      const finish = (error?: Error) => {
        clearTimeout(timer);
        ws.off('message', onMessage);
        if (error) reject(error);
        else resolve();
      };
      ws.on('message', onMessage);
    });
  }

  private runSession(ws: WebSocket, welcome: Welcome): Promise<void> {
    const heartbeat = welcome.heartbeat_interval;
    const session = sessionOverWebSocket(ws, true, {
      keepaliveInterval: heartbeat,
      keepaliveTimeout: heartbeat,
      streamWindow: TUNNEL_WINDOW.agent,
    });
    if (this.current) this.current.session = session;
    this.logger.info({ session_id: welcome.session_id, heartbeat_ms: heartbeat }, 'connected to the gateway');
    const control = session.open({ priority: true, window: INITIAL_WINDOW });
    // Without its control stream a session carries no heartbeats, pulls or reports: when the
    // stream ends (a bad message, a reset), so does the session, and the agent reconnects.
    control.on('error', () => {});
    control.on('close', () => session.close(new MuxError('protocol_error', 'the control stream ended')));
    control.write(
      encodeMessage({ type: 'status', agent_version: this.version, allow: this.config.allowText }),
    );
    const heartbeats = setInterval(() => {
      // A gateway that does not read the stream gets no pile of heartbeats from us.
      if (!control.writableNeedDrain)
        control.write(encodeMessage({ type: 'heartbeat', time: new Date().toISOString() }));
    }, heartbeat);
    session.on('stream', (stream) => this.events.onStream(stream));
    this.events.onConnected?.(control, session);
    return new Promise((resolve) => {
      const lingering = { ws, session };
      this.leave = () => {
        this.leave = undefined;
        clearInterval(heartbeats);
        this.lingering.add(lingering);
        resolve();
      };
      session.on('close', (reason) => {
        clearInterval(heartbeats);
        this.leave = undefined;
        this.lingering.delete(lingering);
        this.logger.warn({ reason: reason?.code ?? 'closed' }, 'disconnected from the gateway');
        resolve();
      });
      ws.on('close', (code, why) => {
        // The reconnect is then refused as revoked, and the agent stops (exit 6).
        if (code === CloseCode.revoked)
          this.logger.error({ reason: why.toString() }, 'the gateway revoked this agent; enroll it again');
      });
    });
  }
}
