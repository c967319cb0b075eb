// Two ends of a multiplexed session over a real loopback TCP connection.
import { createHash } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { MuxConfig } from '../../shared/mux/config.js';
import type { Session } from '../../shared/mux/session.js';
import { sessionOverSocket } from '../../shared/mux/transports.js';

export async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const serverSide = await accepted;
  server.close();
  client.setNoDelay(true);
  serverSide.setNoDelay(true);
  return [client, serverSide];
}

export async function sessionPair(
  config: Partial<MuxConfig> = {},
  serverConfig: Partial<MuxConfig> = config,
): Promise<{ client: Session; server: Session; sockets: Socket[] }> {
  const [a, b] = await socketPair();
  return {
    client: sessionOverSocket(a, true, config),
    server: sessionOverSocket(b, false, serverConfig),
    sockets: [a, b],
  };
}

/** Writes `total` pseudo-random bytes in chunks; resolves with their sha256. */
export async function writeRandom(stream: Writable, total: number, chunkSize = 64 * 1024): Promise<string> {
  const hash = createHash('sha256');
  const block = Buffer.alloc(chunkSize);
  let seed = 1;
  for (let sent = 0; sent < total; ) {
    const size = Math.min(chunkSize, total - sent);
    for (let i = 0; i < size; i += 4) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      block.writeUInt32LE(seed, i >= size - 3 ? size - 4 : i);
    }
    const chunk = Buffer.from(block.subarray(0, size));
    hash.update(chunk);
    sent += size;
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  return hash.digest('hex');
}

/** Reads a stream to its end; resolves with the byte count and sha256. */
export function readAll(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    stream.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.on('error', reject);
  });
}
