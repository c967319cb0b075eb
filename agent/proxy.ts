// HTTP CONNECT proxies for the agent's outbound connection: HTTPS_PROXY / HTTP_PROXY / NO_PROXY,
// as curl and Go read them. TLS to the gateway runs inside the tunnel the proxy opens.
import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

type Env = Record<string, string | undefined>;

function variable(env: Env, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

/** The proxy to use for the gateway URL, or undefined for a direct connection. */
export function proxyFor(target: URL, env: Env = process.env): URL | undefined {
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const raw = secure ? variable(env, 'HTTPS_PROXY') : variable(env, 'HTTP_PROXY');
  if (!raw) return undefined;
  const noProxy = (variable(env, 'NO_PROXY') ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (secure ? '443' : '80');
  const bypass = noProxy.some((entry) => {
    if (entry === '*') return true;
    const [name, entryPort] = entry.split(':');
    if (entryPort && entryPort !== port) return false;
    const domain = (name ?? '').replace(/^\*?\./, '');
    return host === domain || host.endsWith(`.${domain}`);
  });
  if (bypass) return undefined;
  return new URL(raw.includes('://') ? raw : `http://${raw}`);
}

/** An http.Agent whose connections go through `proxy` with CONNECT (then TLS when `tls` is set). */
export class ConnectProxyAgent extends Agent {
  constructor(
    private readonly proxy: URL,
    private readonly tls: ConnectionOptions | undefined,
    options: AgentOptions = {},
  ) {
    super({ ...options, keepAlive: false });
    if (tls) (this as unknown as { protocol: string }).protocol = 'https:';
  }

  override createConnection(
    options: ClientRequestArgs & { servername?: string },
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? (this.tls ? 443 : 80));
    const socket = netConnect(Number(this.proxy.port || 80), this.proxy.hostname);
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const auth = this.proxy.username
      ? `Proxy-Authorization: Basic ${Buffer.from(
          `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`,
        ).toString('base64')}\r\n`
      : '';
    const fail = (error: Error) => {
      socket.destroy();
      callback?.(error, socket);
    };
    socket.once('error', fail);
    socket.once('connect', () =>
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`),
    );
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16 * 1024) fail(new Error('proxy answered with an oversized header'));
        return;
      }
      socket.off('data', onData);
      socket.off('error', fail);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (status !== '200')
        return fail(
          new Error(`proxy ${this.proxy.host} refused CONNECT ${authority}: HTTP ${status ?? '?'}`),
        );
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      callback?.(
        null,
        this.tls
          ? tlsConnect({ ...this.tls, socket: socket as Socket, servername: options.servername ?? host })
          : socket,
      );
    };
    socket.on('data', onData);
    return undefined;
  }
}
