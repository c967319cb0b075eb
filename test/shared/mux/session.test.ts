import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  encodeHeader,
  Flag,
  FrameType,
  HEADER_LENGTH,
  INITIAL_WINDOW,
  MuxError,
} from '../../../shared/mux/frame.js';
import { Session } from '../../../shared/mux/session.js';
import type { MuxStream } from '../../../shared/mux/stream.js';
import { sessionOverSocket } from '../../../shared/mux/transports.js';
import { readAll, sessionPair, socketPair, writeRandom } from '../../support/mux.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function pair(config = {}, serverConfig = config) {
  const sessions = await sessionPair(
    { keepaliveInterval: 0, ...config },
    { keepaliveInterval: 0, ...serverConfig },
  );
  cleanups.push(() => {
    sessions.client.close();
    sessions.server.close();
  });
  return sessions;
}

function nextStream(session: Session): Promise<MuxStream> {
  return once(session, 'stream').then(([stream]) => stream as MuxStream);
}

/** Two sessions joined in memory; every transport write of each side is recorded. */
function recordedPair() {
  const writes: { client: Buffer[]; server: Buffer[] } = { client: [], server: [] };
  const sessions: { client?: Session; server?: Session } = {};
  const side = (name: 'client' | 'server', peer: 'client' | 'server') =>
    new Session(
      {
        write(buffers) {
          const bytes = Buffer.concat(buffers);
          writes[name].push(bytes);
          setImmediate(() => sessions[peer]?.receive(bytes));
          return true;
        },
        close() {},
      },
      name === 'client',
      { keepaliveInterval: 0 },
    );
  sessions.client = side('client', 'server');
  sessions.server = side('server', 'client');
  const { client, server } = sessions as Required<typeof sessions>;
  cleanups.push(() => {
    client.close();
    server.close();
  });
  return { client, server, writes };
}

/** The frames in one write: [type, flags, stream id] each. */
function framesOf(bytes: Buffer): Array<[number, number, number]> {
  const frames: Array<[number, number, number]> = [];
  for (let at = 0; at < bytes.length; ) {
    const type = bytes[at + 1] as number;
    const length = bytes.readUInt32BE(at + 8);
    frames.push([type, bytes.readUInt16BE(at + 2), bytes.readUInt32BE(at + 4)]);
    at += HEADER_LENGTH + (type === FrameType.Data ? length : 0);
  }
  return frames;
}

/** Bytes a stream holds that its reader has not taken. */
function held(stream: MuxStream): number {
  return stream.readableLength + (stream as unknown as { inboundBytes: number }).inboundBytes;
}

/**
 * Resolves once the peer has sent every byte this stream granted it: the window is full, so
 * what the stream holds now is all a writer that never stops can make it hold.
 */
function windowFilled(stream: MuxStream): Promise<void> {
  return vi.waitFor(() => expect((stream as unknown as { recvCredit: number }).recvCredit).toBe(0), {
    timeout: 20_000,
    interval: 10,
  });
}

/** Waits until neither session holds a stream any more. */
function allForgotten(...sessions: Session[]): Promise<void> {
  return vi.waitFor(
    () => expect(sessions.map((session) => session.streamCount)).toEqual(sessions.map(() => 0)),
    { timeout: 10_000, interval: 5 },
  );
}

/** Writes 64 KiB chunks whenever the stream takes them, until it closes. */
function keepWriting(stream: MuxStream): void {
  const chunk = Buffer.alloc(64 * 1024, 2);
  stream.on('error', () => {});
  const pump = () => {
    while (!stream.destroyed && stream.write(chunk)) {}
  };
  stream.on('drain', pump);
  pump();
}

/** Reads `bytes` from the stream, then stops reading. */
function readThenPause(stream: MuxStream, bytes: number): Promise<void> {
  let read = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read < bytes) return;
      stream.off('data', onData);
      stream.pause();
      resolve();
    };
    stream.on('data', onData);
  });
}

describe('mux session', () => {
  // A larger window travels as the SYN's window update (a tunnel's 4 MiB); the ACK still waits.
  it.each([
    ['the initial window', undefined],
    ['a larger window', 4 * MiB],
  ])(
    'sends what one turn produced in one write: a SYN with its first data, an ACK with the answer (%s)',
    async (_name, window) => {
      const { client, server, writes } = recordedPair();
      server.on('stream', (stream: MuxStream) => {
        // Answers one event loop turn later, as a tunnel's dial does.
        stream.once('data', () => setImmediate(() => stream.write('ok')));
      });
      const stream = client.open({ window });
      stream.write('dial');
      const [answer] = await once(stream, 'data');
      expect(answer.toString()).toBe('ok');
      expect(writes.client.map(framesOf)).toEqual([
        [
          [FrameType.WindowUpdate, Flag.SYN, 1],
          [FrameType.Data, 0, 1],
        ],
      ]);
      // The ACK waited for the stream's first frame instead of costing a write of its own.
      expect(writes.server.map(framesOf)).toEqual([
        [
          [FrameType.WindowUpdate, Flag.ACK, 1],
          [FrameType.Data, 0, 1],
        ],
      ]);
      expect(stream.established).toBe(true);
    },
  );

  it('sends what a writer queued at once in one write: four 64 KiB frames with the SYN, every callback called', async () => {
    const { client, server, writes } = recordedPair();
    const received = new Promise<{ bytes: number; sha256: string }>((resolve) =>
      server.on('stream', (remote: MuxStream) => readAll(remote).then(resolve)),
    );
    const stream = client.open();
    const chunks = [0, 1, 2, 3].map((index) => Buffer.alloc(64 * 1024, index));
    const called: number[] = [];
    // Corked, the four writes (and an empty one) reach the stream together, as a pipe's do
    // when its source outpaced the session.
    stream.cork();
    for (const [index, chunk] of chunks.entries()) stream.write(chunk, () => called.push(index));
    stream.write(Buffer.alloc(0), () => called.push(4));
    stream.uncork();
    stream.end();
    const all = Buffer.concat(chunks);
    expect(await received).toEqual({
      bytes: all.length,
      sha256: createHash('sha256').update(all).digest('hex'),
    });
    expect(called.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(writes.client.map(framesOf)[0]).toEqual([
      [FrameType.WindowUpdate, Flag.SYN, 1],
      [FrameType.Data, 0, 1],
      [FrameType.Data, 0, 1],
      [FrameType.Data, 0, 1],
      [FrameType.Data, 0, 1],
    ]);
  });

  it('acknowledges a stream that sends nothing: the ACK waits for a first frame, then goes alone', async () => {
    const { client, server, writes } = recordedPair();
    // When the SYN arrives, the ACK is held back (to travel with the stream's first frame), and
    // nothing has been written yet.
    const arrived = new Promise<[boolean, number]>((resolve) => {
      server.on('stream', (remote: MuxStream) => resolve([remote.ackPending, writes.server.length]));
    });
    const stream = client.open();
    expect(await arrived).toEqual([true, 0]);
    expect(stream.established).toBe(false);
    await vi.waitFor(() => expect(stream.established).toBe(true), { timeout: 5_000, interval: 1 });
    expect(writes.server.map(framesOf)).toEqual([[[FrameType.WindowUpdate, Flag.ACK, 1]]]);
  });

  it('carries 64 MiB each way on one stream intact', async () => {
    const { client, server } = await pair();
    const accepted = nextStream(server);
    const stream = client.open();
    const remote = await accepted;
    const [up, down, sentUp, sentDown] = await Promise.all([
      readAll(remote),
      readAll(stream),
      writeRandom(stream, 64 * MiB),
      writeRandom(remote, 64 * MiB),
    ]);
    expect(up).toEqual({ bytes: 64 * MiB, sha256: sentUp });
    expect(down).toEqual({ bytes: 64 * MiB, sha256: sentDown });
  });

  it('keeps 100 concurrent streams apart', async () => {
    const { client, server } = await pair();
    server.on('stream', (stream) => stream.pipe(stream)); // echo
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const stream = client.open();
        const [echoed, sent] = await Promise.all([
          readAll(stream),
          writeRandom(stream, 256 * 1024 + i * 997, 16 * 1024),
        ]);
        return echoed.sha256 === sent && echoed.bytes === 256 * 1024 + i * 997;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    await allForgotten(client, server);
  });

  it('half-closes each direction on its own', async () => {
    const { client, server } = await pair();
    const accepted = nextStream(server);
    const stream = client.open();
    stream.end(Buffer.from('request'));
    const remote = await accepted;
    const request = await readAll(remote);
    expect(request.bytes).toBe(7);
    // the client's side is ended, the server can still answer
    remote.end(Buffer.from('answer after FIN'));
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await finished(stream);
    expect(Buffer.concat(chunks).toString()).toBe('answer after FIN');
    expect(client.streamCount).toBe(0);
  });

  it('resets a stream on destroy and tells the other side with a typed error', async () => {
    const { client, server } = await pair();
    const accepted = nextStream(server);
    const stream = client.open();
    stream.write('x');
    const remote = await accepted;
    const failed = once(remote, 'error');
    stream.destroy();
    const [error] = await failed;
    expect(error).toBeInstanceOf(MuxError);
    expect((error as MuxError).code).toBe('stream_reset');
    await allForgotten(client, server);
  });

  it('bounds memory of a paused reader to its window while another stream runs at full speed', async () => {
    const { client, server } = await pair();
    const streams: MuxStream[] = [];
    server.on('stream', (s) => streams.push(s));
    const paused = client.open();
    const busy = client.open();
    // the paused stream's reader never reads; its writer keeps trying
    let offered = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = () => {
      while (offered < 32 * MiB && paused.write(chunk)) offered += chunk.length;
    };
    paused.on('drain', pump);
    pump();
    await vi.waitFor(() => expect(streams).toHaveLength(2));
    const [remotePaused, remoteBusy] = streams as [MuxStream, MuxStream];
    remotePaused.pause();
    const [received, sent] = await Promise.all([readAll(remoteBusy), writeRandom(busy, 64 * MiB)]);
    expect(received.sha256).toBe(sent);
    // The paused stream's writer used every byte of its window: it is stalled by flow control.
    await windowFilled(remotePaused);
    // the receiver holds at most the window plus one readable buffer
    expect(
      remotePaused.readableLength + (remotePaused as unknown as { inboundBytes: number }).inboundBytes,
    ).toBeLessThanOrEqual(INITIAL_WINDOW + 64 * 1024);
    // the sender stopped: it holds at most its writable buffer (an initial window), not 32 MiB
    expect(paused.writableLength).toBeLessThanOrEqual(INITIAL_WINDOW);
    expect(offered).toBeLessThan(2 * MiB);
  });

  it("grows a bulk stream's window to its maximum as the reader keeps up, and no further", async () => {
    const { client, server } = await pair();
    const accepted = nextStream(server);
    const bulk = client.open({ window: 4 * MiB });
    const remote = await accepted;
    keepWriting(remote);
    await readThenPause(bulk, 8 * MiB);
    expect(bulk.currentWindow).toBe(4 * MiB);
    await windowFilled(bulk);
    // the acceptor keeps writing, but a paused reader holds no more than the window
    expect(held(bulk)).toBeGreaterThan(2 * MiB);
    expect(held(bulk)).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
  });

  it("shares the session's budget among busy streams, and frees it as they close", async () => {
    const sessionWindow = 2 * MiB;
    const { client, server } = await pair({ sessionWindow });
    const remotes: MuxStream[] = [];
    server.on('stream', (s: MuxStream) => remotes.push(s));
    const streams = Array.from({ length: 8 }, () => client.open({ window: 4 * MiB }));
    await vi.waitFor(() => expect(remotes).toHaveLength(8));
    for (const remote of remotes) keepWriting(remote);
    await Promise.all(streams.map((stream) => readThenPause(stream, 4 * MiB)));
    await Promise.all(streams.map(windowFilled));
    // eight 4 MiB windows would hold 32 MiB; together they hold their first 256 KiB each plus
    // the session's budget
    const windows = streams.reduce((sum, stream) => sum + stream.currentWindow, 0);
    expect(windows).toBe(8 * INITIAL_WINDOW + sessionWindow);
    const total = streams.reduce((sum, stream) => sum + held(stream), 0);
    expect(total).toBeLessThanOrEqual(windows + 8 * 64 * 1024);
    for (const stream of streams) stream.destroy();

    // closed streams gave their share back: a new stream grows again
    const accepted = nextStream(server);
    const bulk = client.open({ window: 4 * MiB });
    keepWriting(await accepted);
    await readThenPause(bulk, 8 * MiB);
    expect(bulk.currentWindow).toBe(INITIAL_WINDOW + sessionWindow);
  });

  it('frees stream ids: 2,000 streams opened and closed leave nothing behind', async () => {
    const { client, server } = await pair();
    server.on('stream', (s) => {
      s.resume();
      s.end();
    });
    for (let batch = 0; batch < 20; batch += 1) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const s = client.open();
          s.end('bye');
          s.resume();
          await once(s, 'close');
        }),
      );
    }
    await allForgotten(client, server);
  });

  it('limits streams waiting for an acknowledgement (backlog)', async () => {
    const silent = new Session({ write: () => true, close: () => {} }, true, {
      acceptBacklog: 8,
      keepaliveInterval: 0,
    });
    for (let i = 0; i < 8; i += 1) silent.open();
    expect(() => silent.open()).toThrow(expect.objectContaining({ code: 'backlog_full' }));
    silent.close();
  });

  it('refuses streams beyond maxStreams with a reset', async () => {
    const { client, server } = await pair({}, { maxStreams: 2 });
    server.on('stream', () => {});
    client.open();
    client.open();
    const third = client.open();
    const [error] = await once(third, 'error');
    expect((error as MuxError).code).toBe('stream_reset');
  });

  it('measures round trips and answers pings while a stream is saturated', async () => {
    const { client, server } = await pair();
    server.on('stream', (s) => s.resume());
    const bulk = client.open();
    const writing = writeRandom(bulk, 128 * MiB);
    const rtts: number[] = [];
    for (let i = 0; i < 20; i += 1) rtts.push(await client.ping());
    await writing;
    expect(rtts.every((rtt) => rtt >= 0)).toBe(true);
    expect(client.rtt).toBe(rtts.at(-1));
  });

  it('stops new streams after GoAway but lets open ones finish', async () => {
    const { client, server } = await pair();
    const accepted = nextStream(server);
    const open = client.open();
    open.write('before');
    const remote = await accepted;
    server.goAway();
    await once(client, 'goaway');
    expect(() => client.open()).toThrow(expect.objectContaining({ code: 'remote_go_away' }));
    open.end(' and after');
    expect((await readAll(remote)).bytes).toBe('before and after'.length);
  });

  it('notices a dead peer at the first unanswered ping', async () => {
    // The peer's process hangs: its socket stays open, reads, and never answers.
    const [socket, peer] = await socketPair();
    const client = sessionOverSocket(socket, true, { keepaliveInterval: 100, keepaliveTimeout: 100 });
    cleanups.push(() => peer.destroy());
    const received: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => received.push(chunk));
    const peerClosed = once(peer, 'close');
    let reason: MuxError | undefined;
    client.once('close', (why) => {
      reason = why;
    });
    // Well before the default timeout of 10 s: the configured one is what counts.
    await vi.waitFor(() => expect(client.closed).toBe(true), { timeout: 5_000, interval: 10 });
    expect(reason?.code).toBe('keepalive_timeout');
    await peerClosed;
    // One ping went unanswered for the timeout, and that was enough: no second one was sent.
    expect(framesOf(Buffer.concat(received))).toEqual([[FrameType.Ping, Flag.SYN, 0]]);
  });

  it('a side that leaves pinging to its peer answers, never pings, and closes once the pings stop', async () => {
    const timeout = 500;
    const [peer, socket] = await socketPair();
    const server = sessionOverSocket(socket, false, { keepaliveInterval: 0, peerPingTimeout: timeout });
    cleanups.push(() => peer.destroy());
    const received: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = once(server, 'close');
    const answers = () => framesOf(Buffer.concat(received));
    // Pings, each once the last was answered and a tenth of the timeout later, for twice as long
    // as the timeout: the session stays up.
    const started = performance.now();
    let pings = 0;
    while (performance.now() - started < 2 * timeout) {
      pings += 1;
      peer.write(encodeHeader(FrameType.Ping, Flag.SYN, 0, pings));
      await vi.waitFor(() => expect(answers()).toHaveLength(pings), { timeout: 5_000, interval: 1 });
      await new Promise((resolve) => setTimeout(resolve, timeout / 10));
    }
    expect(server.closed).toBe(false);
    const [reason] = await closed;
    expect((reason as MuxError).code).toBe('keepalive_timeout');
    // An answer to each ping, and not one ping of its own.
    expect(answers()).toEqual(Array.from({ length: pings }, () => [FrameType.Ping, Flag.ACK, 0]));
  });

  it('fails every open stream with the reason when the connection drops', async () => {
    const { client, server, sockets } = await pair();
    server.on('stream', () => {});
    const stream = client.open();
    stream.write('x');
    const failed = once(stream, 'error');
    // Dropped, not closed: the peer's end resets the connection.
    sockets[1]?.resetAndDestroy();
    const [error] = await failed;
    expect(error).toBeInstanceOf(MuxError);
    expect(client.closed).toBe(true);
  });
});
