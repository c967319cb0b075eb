// Raw bytes to an HTTP server over a real TCP socket, for requests no client library would send
// (no body and no content type, like curl -X POST; a NUL in a header; a broken request target).
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** The status code of the first line, or 0 when the server sent nothing parseable. */
  status: number;
  /** Everything the server sent before it closed the connection. */
  text: string;
}

/** Sends `request` as is and reads until the server closes (or `timeoutMs`, then fails). */
export function rawExchange(
  port: number,
  request: string | Buffer,
  options: { timeoutMs?: number; localAddress?: string } = {},
): Promise<RawAnswer> {
  const { timeoutMs = 5_000, localAddress } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`),
      );
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : 0, text });
    });
  });
}

/** A WebSocket upgrade request for `target`, with the headers a client sends. */
export function upgradeRequest(target: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${target} HTTP/1.1`,
    'Host: gateway',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Opens a TCP connection and resolves once it is connected. */
export function openSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One exchange: sends `head` (request line and headers, without the final blank line) and `body`, reads one answer. */
export function rawRequest(url: string, head: string[], body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const parse = (final: boolean) => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0)
        return final ? reject(new Error(`no complete answer: ${JSON.stringify(text)}`)) : undefined;
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? Number.NaN);
      const bodyBytes = received.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (!final && !(bodyBytes.length >= length)) return undefined;
      socket.destroy();
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: bodyBytes.subarray(0, Number.isNaN(length) ? undefined : length).toString('utf8'),
      });
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('end', () => parse(true));
    socket.on('error', reject);
    socket.write(Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'));
    if (body) socket.write(body);
  });
}
