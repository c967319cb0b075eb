// `commander tunnel`: a local port forward; every local connection becomes one tunnel stream,
// all of them multiplexed over one WebSocket to the gateway.
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { ConfigError } from '../shared/config.js';
import { TunnelClient, TunnelClientError } from '../shared/tunnel-client.js';

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

function required(flags: Flags, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || !value.trim()) throw new ConfigError(`--${name}`, 'is required');
  return value.trim();
}

export async function runTunnel(flags: Flags): Promise<void> {
  const api = required(flags, 'api');
  const tokenFile = required(flags, 'token-file');
  const clusterId = required(flags, 'cluster');
  const target = required(flags, 'target');
  const listen = required(flags, 'listen');
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  if (!match?.[1] || Number(match[2]) > 65535)
    throw new ConfigError('--listen', `must be host:port, got "${listen}"`);
  const host = match[1].replace(/^\[|\]$/g, '');
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (error) {
    throw new ConfigError('--token-file', `cannot read ${tokenFile}: ${(error as Error).message}`);
  }
  if (!token) throw new ConfigError('--token-file', `${tokenFile} is empty`);
  const caFile = typeof flags['ca-file'] === 'string' ? flags['ca-file'] : undefined;
  const ca = caFile ? readFileSync(caFile) : undefined;
  const insecureSkipTlsVerify = flags['insecure-skip-tls-verify'] === true;

  const tunnels = new TunnelClient({ api, token, clusterId, ca, insecureSkipTlsVerify });
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    tunnels.open(target).then(
      (tunnel) => {
        if (socket.destroyed) return tunnel.destroy();
        socket.pipe(tunnel);
        tunnel.pipe(socket);
        tunnel.on('error', (error) => {
          process.stderr.write(`tunnel error: ${error.message}\n`);
          // Reset, as the far end's failure would reset a direct TCP connection.
          socket.resetAndDestroy();
        });
        socket.on('error', () => tunnel.destroy());
        socket.on('close', () => tunnel.destroy());
      },
      (error: Error) => {
        const code = error instanceof TunnelClientError ? error.code : 'tunnel_failed';
        process.stderr.write(`tunnel refused: ${code}: ${error.message}\n`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new ConfigError('--listen', `cannot listen on ${listen}: ${error.message}`)),
    );
    server.listen(Number(match[2]), host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(match[2]);
  process.stdout.write(`listening on ${host.includes(':') ? `[${host}]` : host}:${port}\n`);
  const stop = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
    tunnels.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
