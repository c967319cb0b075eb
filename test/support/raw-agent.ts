// A hand-made agent for gateway tests: the real handshake (an Ed25519 key, a signed challenge,
// an enrollment token) and a real multiplexed session over a real WebSocket, with the control
// stream and tunnel streams in the test's hands, so a test can send any message it likes.
import WebSocket from 'ws';
import { type AgentKeyPair, generateAgentKey, signChallenge } from '../../shared/identity.js';
import type { Session } from '../../shared/mux/session.js';
import type { MuxStream } from '../../shared/mux/stream.js';
import { sessionOverWebSocket, zeroMask } from '../../shared/mux/transports.js';
import { encodeMessage, MessageDecoder } from '../../shared/wire/messages.js';

export interface HandshakeReply {
  /** The gateway's answer to the hello: welcome or error. */
  reply: Record<string, any>;
  ws: WebSocket;
  nonce: string;
}

export interface RawAgentOptions {
  key?: AgentKeyPair;
  enrollmentToken?: string;
  heartbeatMs?: number;
  /** Source address of the connection (any 127.x.y.z on Linux loopback). */
  localAddress?: string;
  /** Changes the hello before it is sent (given the challenge's nonce). */
  hello?: (hello: Record<string, unknown>, nonce: string) => Record<string, unknown>;
}

export function agentUrl(gatewayUrl: string, clusterId: string): string {
  return `${gatewayUrl.replace(/^http/, 'ws')}/agent_api/${clusterId}`;
}

export function helloFor(
  key: AgentKeyPair,
  clusterId: string,
  nonce: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'hello',
    protocol: 1,
    cluster_id: clusterId,
    public_key: Buffer.from(key.publicKey).toString('base64'),
    signature: signChallenge(key, clusterId, nonce),
    agent_version: 'raw-agent',
    heartbeat_interval: 10_000,
    ...extra,
  };
}

/**
 * Opens the agent WebSocket and answers the challenge. Resolves with the gateway's reply; after a
 * welcome the caller owns the socket (mux frames follow), which must be taken over at once.
 */
export function handshake(
  gatewayUrl: string,
  clusterId: string,
  options: RawAgentOptions & { onWelcome?: (ws: WebSocket) => void } = {},
): Promise<HandshakeReply> {
  const key = options.key ?? generateAgentKey();
  const ws = new WebSocket(agentUrl(gatewayUrl, clusterId), {
    perMessageDeflate: false,
    generateMask: zeroMask,
    maxPayload: 1024 * 1024,
    localAddress: options.localAddress,
  });
  return new Promise((resolve, reject) => {
    let nonce = '';
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('the handshake did not finish within 15 s'));
    }, 15_000);
    const finish = (error?: Error, reply?: Record<string, any>) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (error) reject(error);
      else resolve({ reply: reply as Record<string, any>, ws, nonce });
    };
    ws.on('unexpected-response', (_request, response) => {
      finish(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.on('error', (error) => finish(error));
    ws.on('close', (code) => finish(new Error(`closed (${code}) during the handshake`)));
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Record<string, any>;
      if (!nonce) {
        nonce = String(message.nonce);
        const extra = options.enrollmentToken ? { enrollment_token: options.enrollmentToken } : {};
        let hello = helloFor(key, clusterId, nonce, {
          heartbeat_interval: options.heartbeatMs ?? 10_000,
          ...extra,
        });
        if (options.hello) hello = options.hello(hello, nonce);
        ws.send(Buffer.from(JSON.stringify(hello)), { binary: true });
        return;
      }
      ws.removeAllListeners('close');
      ws.removeAllListeners('error');
      ws.on('error', () => {});
      if (message.type === 'welcome') options.onWelcome?.(ws);
      finish(undefined, message);
    };
    ws.on('message', onMessage);
  });
}

export interface RawAgent {
  key: AgentKeyPair;
  ws: WebSocket;
  session: Session;
  control: MuxStream;
  /** Every message the gateway sent on the control stream, in order. */
  received: Record<string, any>[];
  /** Sends one length-prefixed message on the control stream. */
  send(message: object): void;
  /** Resolves with the first received message (old or new) that matches. */
  waitFor(match: (message: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Resolves when the session closed (the gateway dropped it, or close() was called). */
  closed: Promise<void>;
  close(): void;
}

/**
 * An enrolled, connected agent: handshake, session, control stream (with a status message, as
 * the real agent sends). Tunnel streams the gateway opens go to `onTunnel`, or are reset.
 */
export async function connectRawAgent(
  gatewayUrl: string,
  clusterId: string,
  options: RawAgentOptions & { onTunnel?: (stream: MuxStream) => void } = {},
): Promise<RawAgent> {
  const key = options.key ?? generateAgentKey();
  const heartbeat = options.heartbeatMs ?? 10_000;
  let session: Session | undefined;
  const { reply, ws } = await handshake(gatewayUrl, clusterId, {
    ...options,
    key,
    onWelcome: (socket) => {
      // Frames may follow the welcome in the same read: the session takes over at once.
      session = sessionOverWebSocket(socket, true, {
        keepaliveInterval: heartbeat,
        keepaliveTimeout: heartbeat,
      });
    },
  });
  if (reply.type !== 'welcome' || !session) {
    ws.terminate();
    throw new Error(`the gateway refused the agent: ${JSON.stringify(reply)}`);
  }
  const live = session;
  live.on('stream', (stream) => {
    if (options.onTunnel) options.onTunnel(stream);
    else stream.destroy();
  });
  const control = live.open({ priority: true });
  control.on('error', () => {});
  const received: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  const decoder = new MessageDecoder(4 * 1024 * 1024);
  decoder.on('error', () => control.destroy());
  decoder.on('data', (message: Record<string, any>) => {
    received.push(message);
    for (const waiter of waiters) waiter();
  });
  control.pipe(decoder);
  const send = (message: object) => control.write(encodeMessage(message, 4 * 1024 * 1024));
  send({ type: 'status', agent_version: 'raw-agent', allow: [] });
  const closed = new Promise<void>((resolve) => live.on('close', () => resolve()));
  return {
    key,
    ws,
    session: live,
    control,
    received,
    send,
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(check as () => void);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check as () => void);
          reject(
            new Error(`no matching control message within ${timeoutMs} ms; got ${JSON.stringify(received)}`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check as () => void);
      });
    },
    closed,
    close() {
      live.close();
      ws.terminate();
    },
  };
}
