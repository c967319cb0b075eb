// Reassembles frames from transport chunks split or coalesced at arbitrary points.
// Payloads inside one chunk are sliced, not copied; nothing past the payload limit is buffered.
import { type FrameHeader, FrameType, HEADER_LENGTH, MuxError, PROTOCOL_VERSION } from './frame.js';

const EMPTY = Buffer.alloc(0);

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: FrameHeader | undefined;

  /** @param maxPayload the largest data payload accepted; a bigger one is a protocol error. */
  constructor(private readonly maxPayload: number) {}

  /** Feeds one chunk; calls onFrame for every complete frame. Throws MuxError on a violation. */
  push(chunk: Buffer, onFrame: (header: FrameHeader, payload: Buffer) => void): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (!this.header) {
        if (this.buffered < HEADER_LENGTH) return;
        this.header = this.parseHeader(this.take(HEADER_LENGTH));
      }
      const header = this.header;
      if (header.type !== FrameType.Data) {
        this.header = undefined;
        onFrame(header, EMPTY);
        continue;
      }
      if (this.buffered < header.length) return;
      this.header = undefined;
      onFrame(header, header.length === 0 ? EMPTY : this.take(header.length));
    }
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private parseHeader(bytes: Buffer): FrameHeader {
    if (bytes[0] !== PROTOCOL_VERSION)
      throw new MuxError('protocol_error', `unsupported version ${bytes[0]}`);
    const type = bytes[1] as FrameType;
    if (type > FrameType.GoAway) throw new MuxError('protocol_error', `unknown frame type ${type}`);
    const header = {
      type,
      flags: bytes.readUInt16BE(2),
      streamId: bytes.readUInt32BE(4),
      length: bytes.readUInt32BE(8),
    };
    if (type === FrameType.Data && header.length > this.maxPayload) {
      throw new MuxError(
        'protocol_error',
        `data frame of ${header.length} bytes exceeds the ${this.maxPayload} limit`,
      );
    }
    return header;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[0] as Buffer;
      const wanted = Math.min(n - copied, chunk.length);
      chunk.copy(out, copied, 0, wanted);
      copied += wanted;
      if (wanted === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(wanted);
    }
    return out;
  }
}
