// One multiplexed connection: owns the transport, the send scheduler, the receive loop,
// keepalive and GoAway. Control frames always go before data, and streams take turns, so a
// busy or stalled stream never holds back the others.
import { EventEmitter } from 'node:events';
import { type MuxConfig, resolveConfig } from './config.js';
import { FrameDecoder } from './decoder.js';
import {
  encodeHeader,
  Flag,
  type FrameHeader,
  FrameType,
  GoAwayCode,
  INITIAL_WINDOW,
  MuxError,
} from './frame.js';
import { MuxStream, type StreamOptions, type StreamOwner } from './stream.js';

/** Where frames go and come from: a TCP socket, a WebSocket, an in-memory pipe. */
export interface Transport {
  /**
   * Sends whole frames (headers and payloads, in order) in one write, so the frames of one flush
   * cost one system call; false asks the session to wait for drained().
   */
  write(buffers: Buffer[]): boolean;
  /** Closes the underlying connection, saying why when the transport can. */
  close(reason?: MuxError): void;
}

export interface SessionEvents {
  stream: [MuxStream];
  close: [MuxError | undefined];
  goaway: [GoAwayCode];
  rtt: [number];
}

/**
 * A batch closes once it holds this many bytes: small frames (control, a dial and its answer)
 * share a write, and so do up to four of a bulk stream's 64 KiB data frames. Fewer, larger writes
 * wake the receiver less often: with a frame per write, a quarter of fresh gateway lifetimes
 * carried a tunnel at about 0.6× `ssh -L` where the others reached 0.8× (bench
 * tunnel-throughput); with these batches the slowest of eight ran at 0.71-0.76×. Control frames
 * still go first, and the transport's high-water mark bounds what waits behind a batch.
 */
const BATCH_BYTES = 256 * 1024;
/**
 * How long the ACK of a stream the peer opened may wait to travel with the stream's first
 * frame (a tunnel's dial answer, say) instead of costing a write and a wake-up of its own.
 */
export const ACK_DELAY_MS = 10;

interface PendingPing {
  sentAt: number;
  resolve: (rtt: number) => void;
  reject: (error: Error) => void;
}

export class Session extends EventEmitter<SessionEvents> implements StreamOwner {
  readonly config: MuxConfig;
  private readonly streams = new Map<number, MuxStream>();
  private readonly decoder: FrameDecoder;
  private nextStreamId: number;
  private readonly control: Buffer[][] = [];
  private readonly priorityReady: MuxStream[] = [];
  private readonly bulkReady: MuxStream[] = [];
  private blocked = false;
  private flushQueued = false;
  private turnFlushQueued = false;
  private unacknowledged = 0;
  private localGoAway = false;
  private remoteGoAway = false;
  private closedWith: MuxError | undefined | null = null;
  private nextPingId = 1;
  private readonly pings = new Map<number, PendingPing>();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepalivePing: number | undefined;
  /** Closes the session when the peer's pings stop (config.peerPingTimeout); re-armed by each. */
  private peerPingTimer: NodeJS.Timeout | undefined;
  private readonly delayedAcks: MuxStream[] = [];
  /** What streams' windows have grown beyond 256 KiB, together; at most config.sessionWindow. */
  private grown = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  /** The newest round-trip time measured by a ping, in ms. */
  rtt: number | undefined;

  /**
   * @param client true on the side that dialled: it opens odd stream ids (the agent), the
   * other side even ones (the gateway).
   */
  constructor(
    private readonly transport: Transport,
    readonly client: boolean,
    config: Partial<MuxConfig> = {},
  ) {
    super();
    this.config = resolveConfig(config);
    this.decoder = new FrameDecoder(this.config.maxStreamWindow);
    this.nextStreamId = client ? 1 : 2;
    if (this.config.keepaliveInterval > 0) this.startKeepalive();
    const silence = this.config.peerPingTimeout;
    if (silence > 0) {
      this.peerPingTimer = setTimeout(
        () => this.close(new MuxError('keepalive_timeout', `no ping from the peer within ${silence} ms`)),
        silence,
      ).unref();
    }
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Opens a stream; data may be written at once, before the peer acknowledges it. */
  open(options: StreamOptions = {}): MuxStream {
    if (this.closedWith !== null)
      throw this.closedWith ?? new MuxError('session_closed', 'session is closed');
    if (this.localGoAway || this.remoteGoAway) throw new MuxError('remote_go_away', 'session is going away');
    if (this.unacknowledged >= this.config.acceptBacklog) {
      throw new MuxError(
        'backlog_full',
        `${this.unacknowledged} streams already wait for the peer's acknowledgement`,
      );
    }
    if (this.streams.size >= this.config.maxStreams)
      throw new MuxError('too_many_streams', 'too many open streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const window = this.windowFor(options.window);
    const stream = new MuxStream(id, this, {
      window,
      sendWindow: INITIAL_WINDOW,
      priority: options.priority ?? false,
      established: false,
    });
    this.streams.set(id, stream);
    this.unacknowledged += 1;
    this.sendControl(FrameType.WindowUpdate, Flag.SYN, id, 0);
    return stream;
  }

  /** Measures the round trip to the peer. */
  ping(): Promise<number> {
    if (this.closedWith !== null)
      return Promise.reject(this.closedWith ?? new MuxError('session_closed', 'closed'));
    const id = this.nextPingId++ >>> 0;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { sentAt: performance.now(), resolve, reject });
      this.sendControl(FrameType.Ping, Flag.SYN, 0, id);
    });
  }

  /** Tells the peer no new streams will be accepted; existing streams carry on. */
  goAway(code: GoAwayCode = GoAwayCode.Normal): void {
    if (this.localGoAway || this.closedWith !== null) return;
    this.localGoAway = true;
    this.sendControl(FrameType.GoAway, 0, 0, code);
  }

  /** Closes the session: every stream fails with the reason, the transport is closed. */
  close(reason?: MuxError): void {
    if (this.closedWith !== null) return;
    if (reason?.code === 'protocol_error') {
      // Best effort: let the peer know why before the connection goes.
      this.transport.write([encodeHeader(FrameType.GoAway, 0, 0, GoAwayCode.ProtocolError)]);
    }
    this.closedWith = reason;
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.peerPingTimer);
    clearTimeout(this.ackTimer);
    this.delayedAcks.length = 0;
    const error = reason ?? new MuxError('session_closed', 'session closed');
    for (const stream of [...this.streams.values()]) stream.fail(error, reason !== undefined);
    this.streams.clear();
    for (const ping of this.pings.values()) ping.reject(error);
    this.pings.clear();
    this.control.length = 0;
    this.transport.close(reason);
    this.emit('close', reason);
  }

  // ---- transport events ----

  /** Feeds bytes that arrived from the transport. */
  receive(chunk: Buffer): void {
    if (this.closedWith !== null) return;
    try {
      this.decoder.push(chunk, (header, payload) => this.handleFrame(header, payload));
    } catch (error) {
      // A MuxError is the peer's fault; anything else is ours and must not be blamed on it.
      this.close(error instanceof MuxError ? error : new MuxError('internal_error', String(error)));
    }
  }

  /** The transport can take more frames. */
  drained(): void {
    this.blocked = false;
    this.flush();
  }

  /** The transport closed or failed underneath us. */
  transportClosed(error?: Error): void {
    this.close(error ? new MuxError('transport_error', error.message) : undefined);
  }

  // ---- StreamOwner ----

  schedule(stream: MuxStream): void {
    if (stream.wantsFin) {
      this.sendAck(stream);
      stream.markFinSent();
      this.sendControl(FrameType.WindowUpdate, Flag.FIN, stream.id, 0);
      return;
    }
    if (!stream.scheduled && stream.hasSendableData) {
      this.sendAck(stream);
      stream.scheduled = true;
      (stream.priority ? this.priorityReady : this.bulkReady).push(stream);
      this.flushSoon();
    }
  }

  sendWindowUpdate(stream: MuxStream, delta: number, flags = 0): void {
    this.sendAck(stream);
    this.sendControl(FrameType.WindowUpdate, flags, stream.id, delta);
    // Credit gates the peer's sending: it leaves as soon as data would, not at the turn's end.
    this.flushSoon();
  }

  sendReset(stream: MuxStream): void {
    stream.ackPending = false; // the reset answers the SYN
    if (this.closedWith === null) this.sendControl(FrameType.WindowUpdate, Flag.RST, stream.id, 0);
  }

  growWindow(from: number, to: number): number {
    const growth = Math.max(0, Math.min(to - from, this.config.sessionWindow - this.grown));
    this.grown += growth;
    return from + growth;
  }

  forget(stream: MuxStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.grown -= stream.currentWindow - INITIAL_WINDOW;
    if (!stream.established) {
      stream.established = true;
      this.unacknowledged -= 1;
    }
  }

  // ---- receiving ----

  private handleFrame(header: FrameHeader, payload: Buffer): void {
    switch (header.type) {
      case FrameType.Data:
      case FrameType.WindowUpdate:
        this.handleStreamFrame(header, payload);
        return;
      case FrameType.Ping:
        this.handlePing(header);
        return;
      case FrameType.GoAway:
        this.remoteGoAway = true;
        this.emit('goaway', header.length as GoAwayCode);
        if (header.length !== GoAwayCode.Normal) {
          this.close(new MuxError('remote_go_away', `peer went away with code ${header.length}`));
        }
        return;
    }
  }

  private handleStreamFrame(header: FrameHeader, payload: Buffer): void {
    const { flags, streamId } = header;
    if (streamId === 0) throw new MuxError('protocol_error', 'stream frame on stream 0');
    let stream = this.streams.get(streamId);
    if (flags & Flag.SYN) {
      if (stream) throw new MuxError('protocol_error', `SYN for stream ${streamId}, which is open`);
      if ((streamId % 2 === 1) === this.client)
        throw new MuxError('protocol_error', `peer used our stream id ${streamId}`);
      stream = this.accept(streamId);
      if (!stream) return;
    }
    if (!stream) return; // a frame for a stream that already closed: drop it
    if (flags & Flag.ACK && !stream.established) {
      stream.established = true;
      this.unacknowledged -= 1;
    }
    if (header.type === FrameType.WindowUpdate) {
      if (header.length > 0) {
        stream.sendWindow += header.length;
        if (stream.sendWindow > 0xffffffff) throw new MuxError('protocol_error', 'send window overflow');
        this.schedule(stream);
      }
    } else if (payload.length > 0 && !stream.receive(payload)) {
      throw new MuxError('protocol_error', `stream ${streamId} sent more than its window`);
    }
    if (flags & Flag.FIN) stream.receiveFin();
    if (flags & Flag.RST) {
      this.forget(stream);
      stream.receiveReset();
    }
  }

  private accept(id: number): MuxStream | undefined {
    if (this.localGoAway || this.streams.size >= this.config.maxStreams) {
      this.sendControl(FrameType.WindowUpdate, Flag.RST, id, 0);
      return undefined;
    }
    const window = this.config.streamWindow;
    const stream = new MuxStream(id, this, {
      window,
      sendWindow: INITIAL_WINDOW,
      priority: false,
      established: true,
    });
    this.streams.set(id, stream);
    // The ACK waits (briefly) for the stream's first frame, so both go out in one write.
    stream.ackPending = true;
    this.delayedAcks.push(stream);
    this.ackTimer ??= setTimeout(() => this.sendDelayedAcks(), ACK_DELAY_MS).unref();
    this.emit('stream', stream);
    return stream;
  }

  /** The ACK of a stream the peer opened; its window grows later, as it is read. */
  private sendAck(stream: MuxStream): void {
    if (!stream.ackPending) return;
    stream.ackPending = false;
    this.sendControl(FrameType.WindowUpdate, Flag.ACK, stream.id, 0);
  }

  private sendDelayedAcks(): void {
    this.ackTimer = undefined;
    for (const stream of this.delayedAcks.splice(0)) this.sendAck(stream);
  }

  private handlePing(header: FrameHeader): void {
    if (header.flags & Flag.SYN) {
      this.peerPingTimer?.refresh();
      this.sendControl(FrameType.Ping, Flag.ACK, 0, header.length);
      return;
    }
    const ping = this.pings.get(header.length);
    if (!ping) return;
    this.pings.delete(header.length);
    this.rtt = performance.now() - ping.sentAt;
    this.emit('rtt', this.rtt);
    ping.resolve(this.rtt);
  }

  // ---- sending ----

  private sendControl(type: FrameType, flags: number, streamId: number, value: number): void {
    this.control.push([encodeHeader(type, flags, streamId, value)]);
    this.flushThisTurn();
  }

  /** Data goes out once the current callback and its promise chains are done: a bulk stream keeps the pipe full. */
  private flushSoon(): void {
    if (this.flushQueued || this.blocked) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /**
   * Control frames wait for the end of this event loop turn and leave with whatever else it
   * produced: a reset with the next stream's SYN and dial, say, in one write instead of two.
   */
  private flushThisTurn(): void {
    if (this.turnFlushQueued || this.blocked) return;
    this.turnFlushQueued = true;
    setImmediate(() => {
      this.turnFlushQueued = false;
      this.flush();
    });
  }

  /**
   * Writes until the transport pushes back: control frames first, then priority, then bulk;
   * what is ready goes out in batches, one transport write each.
   */
  private flush(): void {
    while (!this.blocked && this.closedWith === null) {
      const batch: Buffer[] = [];
      let bytes = 0;
      while (bytes < BATCH_BYTES) {
        const frame = this.control.shift() ?? this.nextDataFrame();
        if (!frame) break;
        for (const part of frame) {
          batch.push(part);
          bytes += part.length;
        }
      }
      if (batch.length === 0) return;
      this.blocked = !this.transport.write(batch);
    }
  }

  private nextDataFrame(): Buffer[] | undefined {
    const queue = this.priorityReady.length > 0 ? this.priorityReady : this.bulkReady;
    const stream = queue.shift();
    if (!stream) return undefined;
    stream.scheduled = false;
    if (stream.destroyed || !stream.hasSendableData) return this.nextDataFrame();
    const payload = stream.takeData(this.config.maxFrameSize);
    const frame = [encodeHeader(FrameType.Data, 0, stream.id, payload.length), payload];
    // Round robin: back to the end of the line if it has more.
    this.schedule(stream);
    return frame;
  }

  private windowFor(requested: number | undefined): number {
    const window = requested ?? this.config.streamWindow;
    if (!Number.isInteger(window) || window < INITIAL_WINDOW || window > this.config.maxStreamWindow) {
      throw new RangeError(`stream window must be from ${INITIAL_WINDOW} to ${this.config.maxStreamWindow}`);
    }
    return window;
  }

  private startKeepalive(): void {
    this.keepaliveTimer = setInterval(
      () => {
        if (this.keepalivePing !== undefined && this.pings.has(this.keepalivePing)) {
          const sentAt = this.pings.get(this.keepalivePing)?.sentAt ?? 0;
          // Timers may fire a little early; 5 % slack keeps detection within one extra tick at most.
          if (performance.now() - sentAt >= this.config.keepaliveTimeout * 0.95) {
            this.close(
              new MuxError(
                'keepalive_timeout',
                `no answer to a ping within ${this.config.keepaliveTimeout} ms`,
              ),
            );
          }
          return;
        }
        const id = this.nextPingId;
        this.keepalivePing = id;
        this.ping().catch(() => {});
      },
      Math.min(this.config.keepaliveInterval, this.config.keepaliveTimeout),
    );
    this.keepaliveTimer.unref();
  }
}
