// Client side of the bench targets (targets.ts): push N bytes into the sink, pull N bytes from
// the source, ping-pong one byte with the echo server. Works on a TCP port or any Duplex.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const CHUNK = Buffer.alloc(1024 * 1024);
for (let i = 0; i < CHUNK.length; i += 4) CHUNK.writeUInt32LE((i * 2654435761) >>> 0, i);

export const MB = 1_000_000;

function header(length: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(length));
  return buffer;
}

export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Writes `length` bytes as fast as the stream takes them; resolves when written or stopped. */
export function pump(stream: Duplex, length: number, stopped: () => boolean = () => false): Promise<void> {
  let remaining = length;
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    const go = () => {
      while (remaining > 0 && !stopped()) {
        const n = Math.min(remaining, CHUNK.length);
        remaining -= n;
        if (!stream.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          stream.once('drain', go);
          return;
        }
      }
      stream.off('error', reject);
      resolve();
    };
    go();
  });
}

/** Pushes `length` bytes into the sink at `port`; resolves with ms until the sink has them all. */
export async function pushToSink(port: number, length: number): Promise<number> {
  const started = performance.now();
  const socket = await tcpConnect(port);
  const acked = new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the sink acknowledged')));
  });
  acked.catch(() => {});
  socket.write(header(length));
  await pump(socket, length);
  await acked;
  const ms = performance.now() - started;
  socket.destroy();
  return ms;
}

/** Pulls `length` bytes from the source at `port`; resolves with ms until all arrived. */
export async function pullFromSource(port: number, length: number): Promise<number> {
  const started = performance.now();
  const socket = await tcpConnect(port);
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= length) resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed after ${received} of ${length} bytes`)));
    socket.write(header(length));
  });
  const ms = performance.now() - started;
  socket.destroy();
  return ms;
}

/** `streams` concurrent pushes of `each` bytes; resolves with MB/s of all bytes over the wall time. */
export async function pushThroughput(port: number, streams: number, each: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => pushToSink(port, each)));
  return (streams * each) / MB / ((performance.now() - started) / 1000);
}

export async function pullThroughput(port: number, streams: number, each: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => pullFromSource(port, each)));
  return (streams * each) / MB / ((performance.now() - started) / 1000);
}

/**
 * One-byte round trips with an echo server over `stream`, one at a time; resolves with the
 * round-trip times in ms (sorted). Stops after `count` or `maxMs`, whichever comes first.
 */
export function pingPong(stream: Duplex, count: number, maxMs = Number.POSITIVE_INFINITY): Promise<number[]> {
  const times: number[] = [];
  const byte = Buffer.from([0x2a]);
  const deadline = performance.now() + maxMs;
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const send = () => {
      sentAt = performance.now();
      stream.write(byte);
    };
    const onData = (chunk: Buffer) => {
      // One byte out, one byte back: a chunk never holds more than the answer to the last one.
      if (chunk.length !== 1) return finish(new Error(`echo answered ${chunk.length} bytes`));
      const now = performance.now();
      times.push(now - sentAt);
      if (times.length >= count || now > deadline) return finish();
      send();
    };
    const finish = (error?: Error) => {
      stream.off('data', onData);
      stream.off('error', finish);
      if (error) reject(error);
      else resolve(times.sort((a, b) => a - b));
    };
    stream.on('data', onData);
    stream.once('error', finish);
    send();
  });
}
