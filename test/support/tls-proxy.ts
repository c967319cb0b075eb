// A TLS-terminating reverse proxy, as an ingress is: ends TLS with its own certificate and
// forwards requests and WebSocket upgrades as plain HTTP to one upstream, with X-Forwarded-*.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

export interface TlsProxy {
  port: number;
  /** `METHOD path` of every request and upgrade it forwarded, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** The headers to send upstream: the client's, minus hop-by-hop ones, plus who the client was. */
function forwarded(request: IncomingMessage, upgrade: boolean): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    // A client's own X-Forwarded-* is not believed: the proxy says who the client is.
    if (lower.startsWith('x-forwarded-')) continue;
    if (!upgrade && (lower === 'connection' || lower === 'keep-alive')) continue;
    headers.push([name, raw[i + 1] as string]);
  }
  headers.push(
    ['X-Forwarded-For', request.socket.remoteAddress ?? ''],
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Host', request.headers.host ?? ''],
  );
  return headers;
}

/**
 * `upstream` is host:port of the plain HTTP server behind it; `localAddress` is the address the
 * proxy connects from (e.g. 127.0.0.2, so the upstream can tell the proxy from its clients).
 */
export async function startTlsProxy(options: {
  cert: Buffer;
  key: Buffer;
  upstream: { host: string; port: number };
  localAddress?: string;
  port?: number;
}): Promise<TlsProxy> {
  const requests: string[] = [];
  const open = new Set<Duplex>();
  const track = (socket: Duplex) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const { upstream, localAddress } = options;
  const server = createServer({ cert: options.cert, key: options.key }, (request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of forwarded(request, false)) {
      const lower = name.toLowerCase();
      headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}, ${value}`;
    }
    const out = httpRequest(
      {
        host: upstream.host,
        port: upstream.port,
        localAddress,
        method: request.method,
        path: request.url,
        headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    out.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(out);
  });
  server.on('connection', track);
  server.on('upgrade', (request: IncomingMessage, client: Duplex, head: Buffer) => {
    requests.push(`${request.method} ${request.url}`);
    client.on('error', () => {});
    const socket = connect({ host: upstream.host, port: upstream.port, localAddress }, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (const [name, value] of forwarded(request, true)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      // The upstream's answer (101 or a refusal) and everything after it go back verbatim.
      socket.pipe(client);
      client.pipe(socket);
    });
    track(socket);
    socket.on('error', () => client.destroy());
    client.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    port: address.port,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
