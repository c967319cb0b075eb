// Opens tunnels through the gateway and returns each as a Duplex: usable as ssh2's `sock`,
// piped to a local socket by `commander tunnel`, or read and written directly. openTunnel()
// makes one WebSocket per tunnel; a TunnelClient carries all its tunnels as streams of one
// multiplexed WebSocket, so opening one costs no connection and no HTTP upgrade.
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { answerCodeOf, isWireCode, type WireCodeOf } from './errors.js';
import { gatewayTls } from './gateway-trust.js';
import type { Session } from './mux/session.js';
import type { MuxStream } from './mux/stream.js';
import { sessionOverWebSocket, zeroMask } from './mux/transports.js';
import { type AllowEntry, isAllowed, parseAllowEntry, parseTarget } from './targets.js';
import {
  CLIENT_ANSWER_WAIT_MS,
  MAX_WS_MESSAGE,
  TUNNEL_CLIENT_CHUNK,
  TUNNEL_HIGH_WATER,
  TUNNEL_LOW_WATER,
  TUNNEL_WINDOW,
} from './wire/limits.js';
import { encodeMessage, readFirstMessage } from './wire/messages.js';
import { type DialRequest, isDialAnswer } from './wire/tunnel.js';

export type TunnelClientErrorCode = WireCodeOf<'client'>;

export class TunnelClientError extends Error {
  constructor(
    readonly code: TunnelClientErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TunnelClientError';
  }
}

export interface TunnelRequest {
  /** The gateway's base URL: http(s)://host:port */
  api: string;
  token: string;
  clusterId: string;
  target: string;
  /** How the gateway's certificate is verified (shared/gateway-trust.ts); verification is on by default. */
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  pins?: readonly string[];
}

/** A cluster as the API returns it is a few KiB; more is not a cluster. */
const MAX_CLUSTER_BYTES = 1024 * 1024;
const CHECK_TIMEOUT_MS = 15_000;

/** What check() learnt: the cluster's agent may be away (then every tunnel waits for it). */
export interface TunnelCheck {
  agentStatus: string | undefined;
}

export function tunnelUrl(api: string, clusterId: string, target?: string): string {
  const path = `/api/v1/clusters/${encodeURIComponent(clusterId)}/${target === undefined ? 'tunnels' : 'tunnel'}`;
  const url = new URL(`${api.replace(/\/+$/, '')}${path}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (target !== undefined) url.searchParams.set('target', target);
  return url.toString();
}

/** Resolves once the agent has connected to the target; rejects with a typed TunnelClientError. */
export async function openTunnel(request: TunnelRequest): Promise<Duplex> {
  return connect(
    tunnelUrl(request.api, request.clusterId, request.target),
    request,
    (ws) => new WebSocketByteStream(ws),
  );
}

/**
 * Tunnels to one cluster as streams of one multiplexed WebSocket (`…/tunnels`), opened on first
 * use and again after it ends. Each stream starts with the same dial request and answer the
 * gateway exchanges with the agent (docs/protocol.md).
 */
export class TunnelClient {
  private session: Promise<Session> | undefined;

  constructor(private readonly request: Omit<TunnelRequest, 'target'>) {}

  /** Resolves once the agent has connected to the target; rejects with a typed TunnelClientError. */
  async open(target: string): Promise<Duplex> {
    const session = await this.connect();
    let stream: MuxStream;
    try {
      stream = session.open({ window: TUNNEL_WINDOW.client });
    } catch (error) {
      throw new TunnelClientError('tunnel_failed', (error as Error).message);
    }
    const dial: DialRequest = { type: 'dial', target };
    stream.write(encodeMessage(dial));
    let answer: Awaited<ReturnType<typeof readFirstMessage>>;
    try {
      answer = await readFirstMessage(stream, undefined, CLIENT_ANSWER_WAIT_MS);
    } catch (error) {
      stream.destroy();
      throw new TunnelClientError('tunnel_failed', `no answer from the gateway: ${(error as Error).message}`);
    }
    const { message, rest } = answer;
    if (!isDialAnswer(message)) {
      stream.destroy();
      throw new TunnelClientError(
        'tunnel_failed',
        `bad answer from the gateway: ${isDialAnswer.problem(message)}`,
      );
    }
    if (!message.ok) {
      stream.destroy();
      throw new TunnelClientError(
        isWireCode('answer', message.code) ? message.code : 'tunnel_failed',
        message.message,
      );
    }
    if (rest.length > 0) stream.unshift(rest);
    return stream;
  }

  /**
   * Whether tunnels to `target` can open, short of dialing it: the session comes up (the token,
   * its role and the cluster are checked at the upgrade) and the cluster's `allowed_targets`,
   * read through the API, name the target. Dialing to find out would open, and audit, a
   * connection to the target that nobody asked for; the agent's own `--allow` is therefore
   * known only at the first tunnel. Rejects with the TunnelClientError a tunnel would meet.
   */
  async check(target: string): Promise<TunnelCheck> {
    const parsed = parseTarget(target);
    if (!parsed) throw new TunnelClientError('dial_failed', `target must be host:port, got "${target}"`);
    await this.connect();
    const { api, clusterId } = this.request;
    const cluster = await getJson(
      `${api.replace(/\/+$/, '')}/api/v1/clusters/${encodeURIComponent(clusterId)}`,
      this.request,
    );
    const listed = cluster.allowed_targets;
    // A gateway that does not show the list decides at the first tunnel.
    if (Array.isArray(listed)) {
      const entries = listed
        .map((entry) => (typeof entry === 'string' ? parseAllowEntry(entry) : undefined))
        .filter((entry): entry is AllowEntry => entry !== undefined);
      if (!isAllowed(entries, parsed))
        throw new TunnelClientError(
          'target_not_allowed',
          `${target} is not in the cluster's allowed_targets`,
        );
    }
    return { agentStatus: typeof cluster.agent_status === 'string' ? cluster.agent_status : undefined };
  }

  /** Ends the session and every tunnel on it. */
  close(): void {
    this.session?.then(
      (session) => session.close(),
      () => {},
    );
    this.session = undefined;
  }

  private connect(): Promise<Session> {
    if (this.session) return this.session;
    const { api, clusterId } = this.request;
    const pending = connect(tunnelUrl(api, clusterId), this.request, (ws) => {
      const session = sessionOverWebSocket(ws, true, { streamWindow: TUNNEL_WINDOW.client });
      session.on('close', () => {
        if (this.session === pending) this.session = undefined;
      });
      // A draining gateway takes no new tunnels on this session: the next one opens a new session
      // (through the load balancer, to another replica) while the running ones finish here.
      session.on('goaway', () => {
        if (this.session === pending) this.session = undefined;
      });
      return session;
    });
    pending.catch(() => {
      if (this.session === pending) this.session = undefined;
    });
    this.session = pending;
    return pending;
  }
}

/**
 * An open WebSocket to the gateway, handed to `take` in the 'open' event itself: messages that
 * came in the same socket read as the 101 answer are emitted on the next tick, before any promise
 * continuation, so a reader attached after an await would lose them (a tunnel's first bytes).
 * A refusal becomes a typed TunnelClientError.
 */
function connect<T>(
  url: string,
  request: Omit<TunnelRequest, 'target'>,
  take: (ws: WebSocket) => T,
): Promise<T> {
  const ws = new WebSocket(url, {
    headers: { 'x-auth-token': request.token },
    perMessageDeflate: false,
    generateMask: zeroMask,
    maxPayload: MAX_WS_MESSAGE,
    ...gatewayTls(request),
  });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req: ClientRequest, response: IncomingMessage) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        if (body.length < 64 * 1024) body += chunk.toString();
      });
      response.on('end', () => {
        reject(refusalOf(response.statusCode, body));
        ws.terminate();
      });
    });
    // After an HTTP refusal the typed error above wins: the promise is settled by then.
    ws.on('error', (error) => reject(new TunnelClientError('tunnel_failed', error.message)));
    ws.once('open', () => resolve(take(ws)));
  });
}

/** An HTTP refusal as a typed error: the code and message of its `{"error": …}` body. */
function refusalOf(status: number | undefined, body: string): TunnelClientError {
  let code: TunnelClientErrorCode = 'tunnel_failed';
  let message = `gateway answered HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const sent = typeof parsed.error?.code === 'string' ? parsed.error.code : '';
    code = answerCodeOf(sent) ?? code;
    if (typeof parsed.error?.message === 'string' && parsed.error.message) message = parsed.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new TunnelClientError(code, message, status);
}

/** GET of one JSON object from the API, with the request's token and TLS settings. */
function getJson(url: string, request: Omit<TunnelRequest, 'target'>): Promise<Record<string, unknown>> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const options = {
      headers: { 'x-auth-token': request.token, accept: 'application/json' },
      timeout: CHECK_TIMEOUT_MS,
      // No TLS session reuse: a resumed session skips the pin check (gatewayTls).
      ...(secure ? { ...gatewayTls(request), agent: false } : {}),
    };
    const req = (secure ? httpsRequest : httpRequest)(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_CLUSTER_BYTES) req.destroy(new Error('the answer is too large'));
      });
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(refusalOf(response.statusCode, body));
        try {
          const value = JSON.parse(body) as unknown;
          if (value === null || typeof value !== 'object' || Array.isArray(value))
            throw new Error('not an object');
          resolve(value as Record<string, unknown>);
        } catch {
          reject(new TunnelClientError('tunnel_failed', `${url} did not answer with a cluster`));
        }
      });
      response.on('error', (error) => reject(new TunnelClientError('tunnel_failed', error.message)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)));
    req.on('error', (error) => reject(new TunnelClientError('tunnel_failed', error.message)));
    req.end();
  });
}

/** The tunnel's bytes as a Duplex; an empty binary message is the end of one direction. */
class WebSocketByteStream extends Duplex {
  private remoteEnded = false;
  private waiting: ((error?: Error | null) => void) | undefined;

  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: true, readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 1024 * 1024 });
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) {
        this.remoteEnded = true;
        this.push(null);
        return;
      }
      if (!this.push(data)) ws.pause();
    });
    ws.on('close', (code, reason) => {
      if (this.destroyed) return;
      if (!this.remoteEnded && code !== 1000) {
        this.destroy(
          new TunnelClientError(
            'tunnel_failed',
            `tunnel closed: ${code} ${reason.toString() || 'connection lost'}`,
          ),
        );
      } else {
        if (!this.remoteEnded) this.push(null);
        // The gateway closes right after the last bytes and the end, and ws handles everything one
        // socket read brought (the close frame too) even after pause(). So with a slower reader
        // bytes still wait in our read buffer here: destroying now would drop them, and 'end'
        // would never come (a piped socket would hang, never ended). Destroy once all was read.
        if (this.readableEnded) this.destroy();
        else this.once('end', () => this.destroy());
      }
    });
    ws.on('error', (error) => this.destroy(new TunnelClientError('tunnel_failed', error.message)));
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // An empty message would mean end of data: an empty write sends nothing.
    if (chunk.length === 0) {
      callback();
      return;
    }
    // Keep the socket busy: take the next chunk at once unless a lot is still unsent. Messages
    // stay below the gateway's message limit.
    for (let offset = 0; offset < chunk.length; offset += TUNNEL_CLIENT_CHUNK) {
      this.ws.send(chunk.subarray(offset, offset + TUNNEL_CLIENT_CHUNK), { binary: true }, (error) => {
        const waiting = this.waiting;
        if (waiting && (error || this.ws.bufferedAmount < TUNNEL_LOW_WATER)) {
          this.waiting = undefined;
          waiting(error);
        }
      });
    }
    if (this.ws.bufferedAmount < TUNNEL_HIGH_WATER) callback();
    else this.waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ws.send(Buffer.alloc(0), { binary: true }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      // A clean close only after both directions ended; otherwise drop the connection at once,
      // as a TCP reset would, so the gateway stops the tunnel without waiting for a handshake.
      if (!error && this.remoteEnded && this.writableFinished) this.ws.close(1000);
      else this.ws.terminate();
    }
    callback(error);
  }
}
