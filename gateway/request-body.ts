// Large request bodies as one buffer, filled as the chunks arrive: fastify's own reader joins
// the chunks at the end, one copy of the whole body (30 MiB) in a single turn of the event loop.
import type { Readable } from 'node:stream';
import { errorCodes, type FastifyRequest } from 'fastify';

/** Smallest buffer for a body without Content-Length (chunked); it doubles as needed. */
const CHUNKED_START = 64 * 1024;

/**
 * Reads the body of `request` from `payload`, at most `limit` bytes. A body of known length
 * lands in a buffer of exactly that length, which owns its memory (so it can move to a worker
 * thread without a copy). Errors are fastify's, so they answer as its own reader's do.
 */
export function readBody(request: FastifyRequest, payload: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = request.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > limit) {
      reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    let body = Buffer.allocUnsafeSlow(length ?? CHUNKED_START);
    let received = 0;
    const stop = (error?: Error) => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      if (error) reject(error);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > limit) return stop(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      if (received + bytes.length > body.length) {
        if (length !== undefined) return stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        const grown = Buffer.allocUnsafeSlow(
          Math.min(limit, Math.max(body.length * 2, received + bytes.length)),
        );
        body.copy(grown, 0, 0, received);
        body = grown;
      }
      bytes.copy(body, received);
      received += bytes.length;
    };
    const onEnd = () => {
      stop();
      if (length !== undefined && received !== length) {
        reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      } else {
        resolve(received === body.length ? body : body.subarray(0, received));
      }
    };
    const onError = (error: Error & { statusCode?: number }) => {
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      stop(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}
