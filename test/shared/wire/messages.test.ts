import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeMessage, readFirstMessage } from '../../../shared/wire/messages.js';

describe('readFirstMessage', () => {
  it('returns the message and the bytes after it, and leaves the rest for a data listener', async () => {
    const stream = new PassThrough();
    const message = encodeMessage({ type: 'dial', target: 'db:5432' });
    // Split inside the length prefix, and the first payload bytes in the same chunk as the end.
    stream.write(message.subarray(0, 2));
    setImmediate(() => stream.write(Buffer.concat([message.subarray(2), Buffer.from('early')])));
    const { message: read, rest } = await readFirstMessage(stream);
    expect(read).toEqual({ type: 'dial', target: 'db:5432' });
    expect(rest.toString()).toBe('early');
    // Not paused: whoever reads next may simply listen.
    const next = new Promise<string>((resolve) =>
      stream.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    stream.write('later');
    expect(await next).toBe('later');
  });

  it('refuses a length above the limit before buffering it, and a stream that ends first', async () => {
    const large = new PassThrough();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024);
    large.write(header);
    await expect(readFirstMessage(large, 16 * 1024)).rejects.toMatchObject({ code: 'message_too_large' });
    const short = new PassThrough();
    short.end(encodeMessage({ ok: true }).subarray(0, 6));
    await expect(readFirstMessage(short)).rejects.toMatchObject({ code: 'unexpected_end' });
  });
});
