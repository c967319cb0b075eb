// One multiplexed stream: a Node Duplex with credit-based flow control. The receive window is
// handed back to the peer only as the application reads, so a paused reader bounds memory.
import { Duplex } from 'node:stream';
import { INITIAL_WINDOW, MuxError, stacklessError } from './frame.js';

/** What a stream needs from its session; keeps the two files' state apart. */
export interface StreamOwner {
  /** The stream has data (and window) or a FIN to send. */
  schedule(stream: MuxStream): void;
  sendWindowUpdate(stream: MuxStream, delta: number, flags?: number): void;
  /** Grows a stream's window from `from` towards `to` as far as the session's budget allows. */
  growWindow(from: number, to: number): number;
  sendReset(stream: MuxStream): void;
  forget(stream: MuxStream): void;
}

interface PendingWrite {
  chunk: Buffer;
  offset: number;
  callback: (error?: Error | null) => void;
}

export interface StreamOptions {
  /** Largest receive window in bytes (default: the session's streamWindow). */
  window?: number;
  /** Priority streams (control traffic) are sent before bulk streams. */
  priority?: boolean;
}

const noop = () => {};

export class MuxStream extends Duplex {
  /** Priority streams (control traffic) are sent before bulk streams. */
  priority: boolean;
  /** The largest receive window this stream may grow to. */
  readonly window: number;
  /**
   * The receive window now: credit is topped back up to it as data is read. It starts at the
   * spec's 256 KiB and doubles (up to `window`, within the session's budget) each time the
   * application has read half of it.
   */
  currentWindow = INITIAL_WINDOW;
  /** Bytes we may still send before the peer grants more. */
  sendWindow: number;
  /** True once the peer acknowledged the stream (or when the peer opened it). */
  established: boolean;
  /** Set while the stream sits in the session's send rotation. */
  scheduled = false;
  /** Set while our ACK of the peer's SYN waits to go out with the stream's first frame. */
  ackPending = false;

  private readonly writes: PendingWrite[] = [];
  private finalCallback: ((error?: Error | null) => void) | undefined;
  private finSent = false;
  private finReceived = false;
  private closedByReset = false;
  /** Bytes the peer may still send: what we granted minus what arrived. */
  private recvCredit: number;
  private readonly inbound: Buffer[] = [];
  private inboundBytes = 0;
  private wantsRead = false;
  private eofPushed = false;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    options: { window: number; sendWindow: number; priority: boolean; established: boolean },
  ) {
    // A writer may queue a whole initial window (256 KiB) before it waits: a batch's worth.
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: INITIAL_WINDOW });
    this.window = options.window;
    this.recvCredit = INITIAL_WINDOW;
    this.sendWindow = options.sendWindow;
    this.priority = options.priority;
    this.established = options.established;
  }

  // ---- sending side, driven by the session's scheduler ----

  /** True when a data frame can go out now. */
  get hasSendableData(): boolean {
    return this.writes.length > 0 && this.sendWindow > 0;
  }

  /** Takes up to maxBytes of queued data within the send window. */
  takeData(maxBytes: number): Buffer {
    const pending = this.writes[0] as PendingWrite;
    const size = Math.min(maxBytes, this.sendWindow, pending.chunk.length - pending.offset);
    const payload = pending.chunk.subarray(pending.offset, pending.offset + size);
    pending.offset += size;
    this.sendWindow -= size;
    if (pending.offset === pending.chunk.length) {
      this.writes.shift();
      pending.callback();
    }
    return payload;
  }

  /** After the last queued byte went out: the FIN, if the application ended its side. */
  get wantsFin(): boolean {
    return this.finalCallback !== undefined && !this.finSent && this.writes.length === 0;
  }

  markFinSent(): void {
    this.finSent = true;
    const callback = this.finalCallback;
    this.finalCallback = undefined;
    callback?.();
    this.maybeForget();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.queue([chunk], callback);
  }

  /**
   * What the application wrote while a write was in flight comes in at once, so the session can
   * send all of it in one transport write rather than a frame per turn.
   */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.queue(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  /** Queues chunks for the scheduler; `callback` runs once the last of them went out. */
  private queue(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.closedByReset) {
      callback(new MuxError('stream_reset', 'stream was reset'));
      return;
    }
    const filled = chunks.filter((chunk) => chunk.length > 0);
    if (filled.length === 0) {
      callback();
      return;
    }
    const last = filled.length - 1;
    filled.forEach((chunk, index) => {
      this.writes.push({ chunk, offset: 0, callback: index === last ? callback : noop });
    });
    this.owner.schedule(this);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finalCallback = callback;
    this.owner.schedule(this);
  }

  // ---- receiving side, fed by the session ----

  /** Data from the peer; false when it exceeds the window we granted (a protocol error). */
  receive(payload: Buffer): boolean {
    if (payload.length > this.recvCredit) return false;
    if (this.finReceived || this.destroyed) return true; // late data after close: drop it
    this.recvCredit -= payload.length;
    this.inbound.push(payload);
    this.inboundBytes += payload.length;
    this.deliver();
    return true;
  }

  receiveFin(): void {
    if (this.finReceived) return;
    this.finReceived = true;
    this.deliver();
  }

  receiveReset(): void {
    this.closedByReset = true;
    this.fail(stacklessError('stream_reset', 'the peer reset the stream'), true);
  }

  /** The session ended: pending writes fail; the stream is destroyed, with the reason if abnormal. */
  fail(error: MuxError, abnormal: boolean): void {
    this.finSent = true;
    this.finReceived = true;
    // Pending writes fail in _destroy, once the stream is destroyed and quiet.
    this.destroy(abnormal ? error : undefined);
  }

  override _read(): void {
    this.wantsRead = true;
    this.deliver();
  }

  private deliver(): void {
    while (this.wantsRead && this.inbound.length > 0) {
      const chunk = this.inbound.shift() as Buffer;
      this.inboundBytes -= chunk.length;
      this.wantsRead = this.push(chunk);
    }
    if (this.finReceived && this.inbound.length === 0 && !this.eofPushed) {
      this.eofPushed = true;
      this.push(null);
      this.maybeForget();
    }
    this.returnCredit();
  }

  /**
   * Tops the peer's credit back up once half the window has been read, not for every read; a
   * reader that keeps up earns a larger window.
   */
  private returnCredit(): void {
    if (this.finReceived || this.destroyed) return;
    const held = this.recvCredit + this.inboundBytes;
    if (this.currentWindow - held < this.currentWindow / 2) return;
    if (this.currentWindow < this.window) {
      this.currentWindow = this.owner.growWindow(
        this.currentWindow,
        Math.min(this.window, this.currentWindow * 2),
      );
    }
    const delta = this.currentWindow - held;
    this.recvCredit += delta;
    this.owner.sendWindowUpdate(this, delta);
  }

  private maybeForget(): void {
    if (this.finSent && this.finReceived && this.inbound.length === 0) this.owner.forget(this);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.closedByReset && !(this.finSent && this.finReceived)) {
      this.closedByReset = true;
      this.owner.sendReset(this);
    }
    for (const pending of this.writes.splice(0))
      pending.callback(error ?? new MuxError('stream_reset', 'stream destroyed'));
    this.inbound.length = 0;
    this.inboundBytes = 0;
    this.owner.forget(this);
    callback(error);
  }
}
