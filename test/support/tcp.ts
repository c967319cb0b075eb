// TCP pieces for tunnel tests: targets (echo, sink, firehose), bulk transfers with checksums,
// and the resident memory of a process.
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

export interface TestServer {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /**
   * How many connections were made to the server before this call, once they have all been
   * accepted: a connection of our own joins the back of the listening socket's queue, so when the
   * server has it, it has every earlier one. A count that a slow runner cannot take too early.
   * (That probe is not counted in `accepted`.)
   */
  acceptedBefore(): Promise<number>;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

function serve(handler: (socket: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  /** The client port of every connection, in the order they were accepted. */
  const arrivals: number[] = [];
  /** Positions in `arrivals` that were acceptedBefore()'s probes. */
  const probes = new Set<number>();
  const arrived = new EventEmitter();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    arrivals.push(socket.remotePort ?? 0);
    arrived.emit('connection');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    handler(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        get accepted() {
          return arrivals.length - probes.size;
        },
        async acceptedBefore() {
          const from = arrivals.length;
          const probe = await connectTo(port);
          const probePort = probe.localPort;
          const position = () => arrivals.indexOf(probePort ?? -1, from);
          while (position() === -1) await new Promise((resolve) => arrived.once('connection', resolve));
          probes.add(position());
          probe.destroy();
          return arrivals.slice(0, position()).filter((_, i) => !probes.has(i)).length;
        },
        sockets,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Echoes every byte back; when the client ends its side, writes "bye" and ends too. */
/** Writes text into a tunnel, ends it, and resolves with everything read back until its end. */
export async function roundTrip(
  tunnel: NodeJS.ReadWriteStream & { destroy(): void },
  text: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  tunnel.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => tunnel.on('end', resolve));
  tunnel.end(text);
  await ended;
  tunnel.destroy();
  return Buffer.concat(chunks).toString();
}

export const ECHO_TRAILER = Buffer.from('bye');
export function echoServer(): Promise<TestServer> {
  return serve((socket) => {
    socket.pipe(socket, { end: false });
    socket.on('end', () => socket.end(ECHO_TRAILER));
  });
}

/**
 * Ends its side at once, then reads slowly (about `bytesPerSecond`) until the peer ends;
 * `received` holds what each connection got in the end.
 */
export async function earlyEnderServer(
  bytesPerSecond: number,
): Promise<TestServer & { received: Promise<Received>[] }> {
  const received: Promise<Received>[] = [];
  const server = await serve((socket) => {
    socket.end();
    received.push(readAll(socket));
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      setTimeout(() => socket.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
  });
  return Object.assign(server, { received });
}

/** Accepts connections and never reads from them. */
export function sinkServer(): Promise<TestServer> {
  return serve((socket) => socket.pause());
}

/** Reads slowly: about `bytesPerSecond`, so a faster sender is held back by back-pressure. */
export function slowReaderServer(bytesPerSecond: number): Promise<TestServer> {
  return serve((socket) => {
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      setTimeout(() => socket.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
  });
}

/** Sends data as fast as the connection takes it, until the connection goes. */
export function firehoseServer(): Promise<TestServer> {
  const block = randomBytes(256 * 1024);
  return serve((socket) => {
    const pump = () => {
      while (!socket.destroyed && socket.write(block)) {
        // keep writing until the socket asks us to wait
      }
    };
    socket.on('drain', pump);
    socket.resume();
    pump();
  });
}

/** A TCP connection to 127.0.0.1:port, once connected. */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('the connection closed while writing'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * Writes `total` bytes in 1 MiB chunks (each chunk distinct), honouring back-pressure, then
 * ends the socket unless told not to. Every byte written goes into `hash`.
 */
export async function writeBulk(
  socket: Socket,
  total: number,
  hash: Hash,
  options: { end?: boolean; chunkSize?: number; onProgress?: (sent: number) => void } = {},
): Promise<void> {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const base = randomBytes(chunkSize);
  let sent = 0;
  let index = 0;
  while (sent < total) {
    if (socket.destroyed) throw new Error(`the connection closed after ${sent} of ${total} bytes`);
    const size = Math.min(chunkSize, total - sent);
    const chunk = Buffer.from(base.subarray(0, size));
    if (size >= 8) chunk.writeUInt32BE(index, 0);
    if (size >= 8) chunk.writeUInt32BE(index ^ 0x5a5a5a5a, size - 4);
    index += 1;
    hash.update(chunk);
    sent += size;
    const ok = socket.write(chunk);
    options.onProgress?.(sent);
    if (!ok) await drained(socket);
  }
  if (options.end !== false) socket.end();
}

export interface Received {
  bytes: number;
  sha256: string;
  /** True when the peer ended its side cleanly ('end'), false when the connection just closed. */
  ended: boolean;
  error?: Error;
}

/** Reads everything until the connection closes, hashing it. */
export function readAll(socket: Socket): Promise<Received> {
  const hash = createHash('sha256');
  let bytes = 0;
  let ended = false;
  let error: Error | undefined;
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('close', () => resolve({ bytes, sha256: hash.digest('hex'), ended, error }));
  });
}

export interface EchoResult {
  sent: number;
  received: Received;
  /** sha256 of what the echo target should send back: the bytes sent, then "bye". */
  expectedSha256: string;
  ms: number;
}

/** Sends `total` bytes to an echo target through `port`, ends, and reads everything back. */
export async function echoThrough(port: number, total: number): Promise<EchoResult> {
  const started = Date.now();
  const socket = await connectTo(port);
  const reading = readAll(socket);
  const hash = createHash('sha256');
  try {
    await writeBulk(socket, total, hash);
  } catch (error) {
    socket.destroy();
    const received = await reading;
    throw new Error(`${(error as Error).message}; received ${received.bytes} bytes`);
  }
  const received = await reading;
  socket.destroy();
  hash.update(ECHO_TRAILER);
  return { sent: total, received, expectedSha256: hash.digest('hex'), ms: Date.now() - started };
}

/** Sends one given payload to an echo target through `port` and returns what came back. */
export async function echoPayload(port: number, payload: Buffer): Promise<Buffer> {
  const socket = await connectTo(port);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    let ended = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (ended) resolve(Buffer.concat(chunks));
      else reject(new Error(`closed without an end after ${Buffer.concat(chunks).length} bytes`));
    });
  });
  socket.end(payload);
  return done;
}

/** Resident memory of a process in MB, from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** Samples the RSS of some processes every `everyMs` until stopped; keeps the peak of each. */
export function watchRss(pids: Record<string, number>, everyMs = 100) {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      try {
        peak[name] = Math.max(peak[name] ?? 0, rssMb(pid));
      } catch {
        // the process is gone; its last sample stays
      }
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peak,
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
