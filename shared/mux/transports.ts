// Binds a session to a real connection: a stream socket (TCP, a pipe) or a WebSocket.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { MuxConfig } from './config.js';
import { MuxError } from './frame.js';
import { Session } from './session.js';

/** A session over a byte stream; a batch of frames goes out in one writev, never copied. */
export function sessionOverSocket(socket: Duplex, client: boolean, config?: Partial<MuxConfig>): Session {
  const session = new Session(
    {
      write(buffers) {
        socket.cork();
        let ok = true;
        for (const buffer of buffers) ok = socket.write(buffer);
        socket.uncork();
        return ok;
      },
      close: () => socket.destroy(),
    },
    client,
    config,
  );
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('drain', () => session.drained());
  socket.on('error', (error) => session.transportClosed(error));
  socket.on('close', () => session.transportClosed());
  return session;
}

/**
 * A client's masking key of zeros, which lets `ws` skip masking (a copy and an XOR of every
 * byte). Masking protects proxies from scripts in browsers; our clients are not browsers and
 * carry their own bytes.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** WebSocket close codes for the session's typed reasons (4000-4999 is for applications). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 4001,
  keepaliveTimeout: 4002,
  unauthorized: 4003,
  revoked: 4004,
  replaced: 4005,
  overloaded: 4008,
  internal: 4011,
} as const;

const CLOSE_CODES: Partial<Record<MuxError['code'], number>> = {
  protocol_error: CloseCode.protocolError,
  keepalive_timeout: CloseCode.keepaliveTimeout,
  remote_go_away: CloseCode.goingAway,
};

/** Buffers from this size on are sent as they are rather than copied into a shared message. */
const COPY_LIMIT = 1024;

export interface WebSocketTransportOptions {
  /** Bytes handed to the socket but not yet written before the session waits (default 256 KiB). */
  highWaterMark?: number;
}

/**
 * A session over a WebSocket: binary messages only; a message may hold any part of a frame, and
 * the session sends each batch of frames as one message.
 * Back-pressure comes from ws's send callbacks, which fire once bytes reach the socket.
 */
export function sessionOverWebSocket(
  ws: WebSocket,
  client: boolean,
  config?: Partial<MuxConfig>,
  options: WebSocketTransportOptions = {},
): Session {
  // Small enough that a control frame never waits behind much bulk data already handed to ws.
  const high = options.highWaterMark ?? 256 * 1024;
  const low = high / 4;
  let inflight = 0;
  let waiting = false;
  const send = (data: Buffer) => {
    inflight += data.length;
    ws.send(data, { binary: true }, () => {
      inflight -= data.length;
      if (waiting && inflight <= low) {
        waiting = false;
        session.drained();
      }
    });
  };
  /** Sends the small buffers gathered so far as one message, and empties the list. */
  const sendJoined = (small: Buffer[]) => {
    if (small.length === 0) return;
    send(small.length === 1 ? (small[0] as Buffer) : Buffer.concat(small));
    small.length = 0;
  };
  const session = new Session(
    {
      write(buffers) {
        // Bulk payloads go as messages of their own, never copied; the small frames between
        // them (headers, control) are joined. All messages of the batch leave in one write: ws
        // keeps its socket in `_socket` (no public getter), and corking it holds the writes.
        const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
        socket?.cork();
        const small: Buffer[] = [];
        for (const buffer of buffers) {
          if (buffer.length < COPY_LIMIT) {
            small.push(buffer);
            continue;
          }
          sendJoined(small);
          send(buffer);
        }
        sendJoined(small);
        socket?.uncork();
        if (inflight < high) return true;
        waiting = true;
        return false;
      },
      close(reason) {
        if (ws.readyState === ws.CLOSED) return;
        const code = (reason && CLOSE_CODES[reason.code]) ?? (reason ? CloseCode.internal : CloseCode.normal);
        ws.close(code, reason?.message.slice(0, 120));
        // A dead peer never finishes the closing handshake.
        setTimeout(() => ws.terminate(), 2000).unref();
      },
    },
    client,
    config,
  );
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      session.close(new MuxError('protocol_error', 'text message on a binary-only connection'));
      return;
    }
    session.receive(data);
  });
  ws.on('error', (error) => session.transportClosed(error));
  ws.on('close', () => session.transportClosed());
  return session;
}
