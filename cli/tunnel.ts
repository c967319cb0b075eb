// `commander tunnel`: a local port forward; every local connection becomes one tunnel stream,
// all of them multiplexed over one WebSocket to the gateway.
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { ConfigError } from '../shared/config.js';
import { ExitError } from '../shared/exit.js';
import { parsePin, readCaFile } from '../shared/gateway-trust.js';
import { isUuid } from '../shared/ids.js';
import { parseTarget } from '../shared/targets.js';
import { TunnelClient, TunnelClientError } from '../shared/tunnel-client.js';

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

function required(flags: Flags, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || !value.trim()) throw new ConfigError(`--${name}`, 'is required');
  return value.trim();
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(flag, `cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function runTunnel(flags: Flags): Promise<void> {
  const api = required(flags, 'api');
  const tokenFile = required(flags, 'token-file');
  const clusterId = required(flags, 'cluster');
  const target = required(flags, 'target');
  const listen = required(flags, 'listen');
  let apiUrl: URL | undefined;
  try {
    apiUrl = new URL(api);
  } catch {
    // reported below
  }
  if (!apiUrl || (apiUrl.protocol !== 'http:' && apiUrl.protocol !== 'https:'))
    throw new ConfigError('--api', `must be the gateway's http(s):// URL, got "${api}"`);
  if (!isUuid(clusterId))
    throw new ConfigError('--cluster', `must be a cluster id (a uuid), got "${clusterId}"`);
  if (!parseTarget(target)) throw new ConfigError('--target', `must be host:port, got "${target}"`);
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  if (!match?.[1] || Number(match[2]) > 65535)
    throw new ConfigError('--listen', `must be host:port, got "${listen}"`);
  const host = match[1].replace(/^\[|\]$/g, '');
  const token = readFlagFile('--token-file', tokenFile).toString('utf8').trim();
  if (!token) throw new ConfigError('--token-file', `${tokenFile} is empty`);
  // The same trust settings, flags and variables as the agent's.
  const caFile =
    (typeof flags['ca-file'] === 'string' ? flags['ca-file'] : undefined) ||
    process.env.COMMANDER_CA_FILE?.trim() ||
    undefined;
  const ca = caFile ? readCaFile(caFile) : undefined;
  const insecureSkipTlsVerify = flags['insecure-skip-tls-verify'] === true;
  const pinFlags = flags['pin-sha256'];
  const pins = [
    ...new Set(
      (Array.isArray(pinFlags)
        ? pinFlags.map(String)
        : (process.env.COMMANDER_PIN_SHA256 ?? '').split(',').filter((pin) => pin.trim())
      ).map(parsePin),
    ),
  ];
  if (pins.length > 0 && insecureSkipTlsVerify)
    throw new ConfigError('--pin-sha256', 'is checked on a verified chain: drop --insecure-skip-tls-verify');
  if (pins.length > 0 && apiUrl.protocol !== 'https:')
    throw new ConfigError('--pin-sha256', 'needs an https:// --api: a plain connection has no key to pin');

  const tunnels = new TunnelClient({ api, token, clusterId, ca, insecureSkipTlsVerify, pins });
  // Before saying "listening": a wrong token, cluster or target fails now, not at the first
  // connection. Nothing is dialed (see TunnelClient.check).
  try {
    const { agentStatus } = await tunnels.check(target);
    if (agentStatus !== undefined && agentStatus !== 'connected') {
      process.stderr.write(
        `commander: warning: the cluster's agent is ${agentStatus.replace(/_/g, ' ')}; connections are refused until it connects\n`,
      );
    }
  } catch (error) {
    tunnels.close();
    if (!(error instanceof TunnelClientError)) throw error;
    throw new ExitError(`tunnel refused: ${error.code}: ${error.message}`, 1);
  }

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
        // Closed after both ways ended: the tunnel still sends what it queued, its FIN after the
        // last byte (destroying it would reset the stream and lose that). Else it is reset, as TCP.
        socket.on('close', () => {
          if (!(socket.readableEnded && socket.writableFinished)) tunnel.destroy();
        });
      },
      (error: Error) => {
        const code = error instanceof TunnelClientError ? error.code : 'tunnel_failed';
        process.stderr.write(`tunnel refused: ${code}: ${error.message}\n`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      tunnels.close();
      reject(new ConfigError('--listen', `cannot listen on ${listen}: ${error.message}`));
    });
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
