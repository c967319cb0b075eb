import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../../shared/mux/decoder.js';
import {
  encodeHeader,
  Flag,
  type FrameHeader,
  FrameType,
  HEADER_LENGTH,
  MuxError,
} from '../../../shared/mux/frame.js';
import { Session } from '../../../shared/mux/session.js';

const LIMIT = 64 * 1024;

/** Splits bytes at the given (sorted, deduplicated) points. */
function split(bytes: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

const frameArb = fc.oneof(
  fc.record({
    type: fc.constant(FrameType.Data),
    flags: fc.integer({ min: 0, max: 15 }),
    streamId: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    payload: fc.uint8Array({ maxLength: 2048 }),
  }),
  fc.record({
    type: fc.constantFrom(FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway),
    flags: fc.integer({ min: 0, max: 15 }),
    streamId: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    value: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
);

describe('frame decoder', () => {
  it('reassembles any sequence of frames split or coalesced at arbitrary points', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, points) => {
          const wire = Buffer.concat(
            frames.map((f) =>
              'payload' in f
                ? Buffer.concat([
                    encodeHeader(f.type, f.flags, f.streamId, f.payload.length),
                    Buffer.from(f.payload),
                  ])
                : encodeHeader(f.type, f.flags, f.streamId, f.value),
            ),
          );
          const decoded: Array<[FrameHeader, Buffer]> = [];
          const decoder = new FrameDecoder(LIMIT);
          for (const chunk of split(wire, points))
            decoder.push(chunk, (h, p) => decoded.push([h, Buffer.from(p)]));
          expect(decoded).toHaveLength(frames.length);
          decoded.forEach(([header, payload], i) => {
            const f = frames[i] as (typeof frames)[number];
            expect(header.type).toBe(f.type);
            expect(header.flags).toBe(f.flags);
            expect(header.streamId).toBe(f.streamId);
            if ('payload' in f) expect(payload.equals(Buffer.from(f.payload))).toBe(true);
            else expect(header.length).toBe(f.value);
          });
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never crashes on random bytes: it decodes or throws a typed protocol error, buffering within the limit', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (bytes, points) => {
          const decoder = new FrameDecoder(LIMIT);
          try {
            for (const chunk of split(Buffer.from(bytes), points)) {
              decoder.push(chunk, () => {});
              // held bytes never exceed one frame header plus the largest payload allowed
              expect(decoder.pendingBytes).toBeLessThanOrEqual(HEADER_LENGTH + LIMIT);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(MuxError);
            expect((error as MuxError).code).toBe('protocol_error');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses an oversized data frame from its header, before buffering its payload', () => {
    const decoder = new FrameDecoder(LIMIT);
    expect(() => decoder.push(encodeHeader(FrameType.Data, 0, 1, LIMIT + 1), () => {})).toThrow(/exceeds/);
  });

  it('closes a session with a typed reason on any protocol violation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 512 }), (bytes) => {
        let closedWith: MuxError | undefined;
        let transportClosed = false;
        const session = new Session({ write: () => true, close: () => (transportClosed = true) }, false, {
          keepaliveInterval: 0,
        });
        session.on('stream', (stream) => stream.on('error', () => {}));
        session.on('close', (reason) => (closedWith = reason));
        session.receive(Buffer.from(bytes));
        if (session.closed) {
          expect(closedWith).toBeInstanceOf(MuxError);
          expect(['protocol_error', 'remote_go_away']).toContain(closedWith?.code);
          expect(transportClosed).toBe(true);
        }
        session.close();
      }),
      { numRuns: 500 },
    );
  });

  it('treats data beyond the granted window as a protocol violation', () => {
    let reason: MuxError | undefined;
    const session = new Session({ write: () => true, close: () => {} }, false, { keepaliveInterval: 0 });
    session.on('stream', (stream) => stream.on('error', () => {}));
    session.on('close', (r) => (reason = r));
    session.receive(encodeHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0));
    const tooMuch = 256 * 1024 + 1;
    session.receive(Buffer.concat([encodeHeader(FrameType.Data, 0, 1, tooMuch), Buffer.alloc(tooMuch)]));
    expect(reason?.code).toBe('protocol_error');
  });
});
