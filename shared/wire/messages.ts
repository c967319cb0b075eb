// Length-prefixed JSON messages on mux streams: the control stream and the tunnel stream's
// opening exchange. A 4-byte big-endian length, then that many bytes of UTF-8 JSON.
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { WireCodeOf } from '../errors.js';
import { DIAL_WAIT_MS, MAX_AGENT_MESSAGE, MAX_DIAL_MESSAGE } from './limits.js';

export class WireError extends Error {
  constructor(
    readonly code: WireCodeOf<'message'>,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

export function encodeMessage(message: object, limit = MAX_AGENT_MESSAGE): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > limit)
    throw new WireError('message_too_large', `message of ${body.length} bytes exceeds ${limit}`);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function parse(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WireError('malformed_message', 'message is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WireError('malformed_message', 'message is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Splits a byte stream into messages; a length over the limit is an error before any buffering. */
export class MessageDecoder extends Transform {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly limit = MAX_AGENT_MESSAGE) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    try {
      for (;;) {
        if (this.buffered.length < 4) break;
        const length = this.buffered.readUInt32BE(0);
        if (length > this.limit)
          throw new WireError('message_too_large', `message of ${length} bytes exceeds ${this.limit}`);
        if (this.buffered.length < 4 + length) break;
        const body = this.buffered.subarray(4, 4 + length);
        this.buffered = this.buffered.subarray(4 + length);
        this.push(parse(body));
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(
      this.buffered.length > 0 ? new WireError('unexpected_end', 'stream ended inside a message') : null,
    );
  }
}

/**
 * Reads exactly one message from the start of a byte stream and returns it with the bytes that
 * followed it (the tunnel's first payload bytes). The stream is read in paused mode and left as
 * it was found, neither flowing nor paused: the next reader may pipe it or listen for 'data'.
 */
export function readFirstMessage(
  stream: Readable,
  limit = MAX_DIAL_MESSAGE,
  timeoutMs = DIAL_WAIT_MS,
): Promise<{ message: Record<string, unknown>; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new WireError('unexpected_end', `no message within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error?: Error, result?: { message: Record<string, unknown>; rest: Buffer }) => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (error) reject(error);
      else resolve(result as { message: Record<string, unknown>; rest: Buffer });
    };
    const onReadable = () => {
      for (let chunk: Buffer | null = stream.read(); chunk !== null; chunk = stream.read()) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (buffered.length < 4) continue;
        const length = buffered.readUInt32BE(0);
        if (length > limit)
          return finish(new WireError('message_too_large', `message of ${length} bytes exceeds ${limit}`));
        if (buffered.length < 4 + length) continue;
        try {
          return finish(undefined, {
            message: parse(buffered.subarray(4, 4 + length)),
            rest: buffered.subarray(4 + length),
          });
        } catch (error) {
          return finish(error as Error);
        }
      }
    };
    const onEnd = () => finish(new WireError('unexpected_end', 'stream ended before its first message'));
    const onError = (error: Error) => finish(error);
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
