// The agent's end of the control stream: pulls the desired set on connect, when nudged and on a
// timer, receiving only what changed; hands every new set to whoever applies it.
import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger.js';
import { RESOURCE_LIMITS } from '../shared/manifests.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { type Desired, isAck, isDesired, isMove, isNudge, type Pull } from '../shared/wire/control.js';
import { MAX_GATEWAY_MESSAGE } from '../shared/wire/limits.js';
import { encodeMessage, MessageDecoder } from '../shared/wire/messages.js';
import type { DesiredStore } from './desired.js';
import type { Outbox, OutboxEntry } from './outbox.js';

/** A pull that gets no complete answer within this long is given up and tried again. */
const PULL_TIMEOUT_MS = 60_000;

export interface SyncEvents {
  /** The desired set changed, or was received for the first time since the agent started. */
  desired: [];
  /** A new session's control stream is up. */
  connected: [];
  /** The gateway drains: connect again (elsewhere) within this many ms. */
  move: [number];
}

export class Syncer extends EventEmitter<SyncEvents> {
  private control: MuxStream | undefined;
  private nextPullId = 1;
  private inFlight:
    | {
        id: number;
        parts: Desired[];
        upserts: number;
        removed: number;
        /** How many hashes the pull stated. */
        stated: number;
        full: boolean;
        timer: NodeJS.Timeout;
      }
    | undefined;
  private pullAgain = false;
  private mismatches = 0;
  private timer: NodeJS.Timeout | undefined;
  private received = false;
  /** The last outbox entry written on the current control stream, and where to go on from. */
  private sentSeq = 0;
  private cursor: Iterator<OutboxEntry> | undefined;

  constructor(
    private readonly store: DesiredStore,
    private readonly outbox: Outbox,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    super();
  }

  get connected(): boolean {
    return this.control !== undefined && !this.control.destroyed;
  }

  /** Queues an entry in the outbox and sends it now if connected and the stream takes it. */
  send(type: OutboxEntry['type'], body: Record<string, unknown>): void {
    this.outbox.add(type, body);
    this.flushOutbox();
  }

  private write(message: object): void {
    this.control?.write(encodeMessage(message));
  }

  /**
   * Writes outbox entries not yet written on this control stream, in order, while the stream
   * takes them; the rest follow on 'drain'. Without this, a backlog or a gateway that stops
   * reading would pile everything up in memory a second time.
   */
  private flushOutbox(): void {
    const control = this.control;
    if (!control || control.destroyed) return;
    while (!control.writableNeedDrain) {
      this.cursor ??= this.outbox.pendingAfter(this.sentSeq);
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        return;
      }
      const entry = next.value;
      this.write({ type: entry.type, seq: entry.seq, ...entry.body });
      this.sentSeq = entry.seq;
    }
  }

  /**
   * A new session's control stream: read the gateway's messages and pull at once. Destroying
   * the control stream ends the session (agent/connection.ts), and the agent reconnects.
   */
  attach(control: MuxStream): void {
    this.control = control;
    this.abandonPull();
    const decoder = new MessageDecoder(MAX_GATEWAY_MESSAGE);
    control.pipe(decoder);
    decoder.on('error', (error) => {
      this.logger.warn({ err: error }, 'bad message from the gateway; reconnecting');
      control.destroy(error);
    });
    decoder.on('data', (message: Record<string, unknown>) => this.handle(message));
    control.on('close', () => {
      if (this.control === control) this.control = undefined;
      this.abandonPull();
    });
    // What the gateway has not acknowledged yet, in order; it ignores what it stored already.
    this.sentSeq = 0;
    this.cursor = undefined;
    control.on('drain', () => {
      if (this.control === control) this.flushOutbox();
    });
    this.flushOutbox();
    this.emit('connected');
    this.pull();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.pull(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.abandonPull();
  }

  /** Sends a pull unless one is under way (then one more follows it). */
  pull(full = false): void {
    if (!this.control || this.control.destroyed) return;
    if (this.inFlight) {
      this.pullAgain = true;
      return;
    }
    const id = this.nextPullId++;
    const message: Pull = {
      type: 'pull',
      pull_id: id,
      revision_hash: full ? null : this.store.revisionHash,
      hashes: full ? [] : this.store.heldHashes(),
    };
    const timer = setTimeout(() => {
      this.logger.warn({ pull_id: id }, 'no answer to a pull in time; pulling again');
      this.inFlight = undefined;
      this.pull();
    }, PULL_TIMEOUT_MS);
    this.inFlight = { id, parts: [], upserts: 0, removed: 0, stated: message.hashes.length, full, timer };
    this.write(message);
  }

  private handle(message: Record<string, unknown>): void {
    if (message.type === 'nudge') {
      if (!isNudge(message)) this.logger.warn({ problem: isNudge.problem(message) }, 'bad nudge ignored');
      else if (message.revision !== this.store.revision) this.pull();
      return;
    }
    if (message.type === 'ack') {
      if (isAck(message)) this.outbox.ack(message.seq);
      return;
    }
    if (message.type === 'move') {
      if (!isMove(message)) this.logger.warn({ problem: isMove.problem(message) }, 'bad move ignored');
      else this.emit('move', message.reconnect_within_ms);
      return;
    }
    if (message.type === 'desired') {
      if (!isDesired(message)) {
        this.logger.warn({ problem: isDesired.problem(message) }, 'bad desired-state message; reconnecting');
        this.control?.destroy();
        return;
      }
      this.receive(message);
    }
  }

  private receive(part: Desired): void {
    const pull = this.inFlight;
    if (!pull || part.pull_id !== pull.id) return; // an answer to a pull we gave up
    // Parts are held until the last one: each must bring something, and all of them no more
    // than a set may hold and than the pull stated, or a gateway could fill our memory.
    const problem =
      !part.final && part.upserts.length === 0
        ? 'a part that is not the last brought no resources'
        : pull.upserts + part.upserts.length > RESOURCE_LIMITS.maxResources
          ? 'more resources than a set may hold'
          : pull.removed + part.removed.length > pull.stated
            ? 'more resources removed than the pull stated'
            : undefined;
    if (problem) {
      this.logger.warn({ pull_id: pull.id, problem }, 'bad answer to a pull; reconnecting');
      this.control?.destroy();
      return;
    }
    pull.parts.push(part);
    pull.upserts += part.upserts.length;
    pull.removed += part.removed.length;
    if (!part.final) return;
    clearTimeout(pull.timer);
    this.inFlight = undefined;
    const before = this.store.revisionHash;
    if (!this.store.apply(pull.parts, pull.full)) {
      // The set changed while it was read, or what we hold is not what we think: pull it whole.
      // What we hold stays in force meanwhile (it is never dropped before a good set arrives).
      this.mismatches += 1;
      this.logger.warn(
        { revision: part.revision, mismatches: this.mismatches },
        'desired set did not match its hash; pulling it whole',
      );
      if (this.mismatches <= 3) this.pull(true);
      return;
    }
    this.mismatches = 0;
    if (this.store.revisionHash !== before || !this.received) {
      this.received = true;
      this.logger.info({ revision: this.store.revision, resources: this.store.size }, 'desired set received');
      this.emit('desired');
    }
    if (this.pullAgain) {
      this.pullAgain = false;
      this.pull();
    }
  }

  private abandonPull(): void {
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
    this.pullAgain = false;
  }
}
