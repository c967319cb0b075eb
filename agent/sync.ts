// The agent's end of the control stream: pulls the desired set on connect, when nudged and on a
// timer, receiving only what changed; hands every new set to whoever applies it.
import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger.js';
import { RESOURCE_LIMITS } from '../shared/manifests.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { type Desired, isAck, isDesired, isNudge, type Pull } from '../shared/wire/control.js';
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
}

export class Syncer extends EventEmitter<SyncEvents> {
  private control: MuxStream | undefined;
  private nextPullId = 1;
  private inFlight:
    | { id: number; parts: Desired[]; upserts: number; full: boolean; timer: NodeJS.Timeout }
    | undefined;
  private pullAgain = false;
  private mismatches = 0;
  private timer: NodeJS.Timeout | undefined;
  private received = false;

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

  /** Queues an entry in the outbox and sends it now if connected. */
  send(type: OutboxEntry['type'], body: Record<string, unknown>): void {
    const entry = this.outbox.add(type, body);
    if (this.connected) this.write({ type, seq: entry.seq, ...body });
  }

  private write(message: object): void {
    this.control?.write(encodeMessage(message));
  }

  /** A new session's control stream: read the gateway's messages and pull at once. */
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
    for (const entry of this.outbox.pending())
      this.write({ type: entry.type, seq: entry.seq, ...entry.body });
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
    this.inFlight = { id, parts: [], upserts: 0, full, timer };
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
    pull.parts.push(part);
    pull.upserts += part.upserts.length;
    if (pull.upserts > RESOURCE_LIMITS.maxResources) {
      this.logger.warn(
        { upserts: pull.upserts },
        'the gateway sent more resources than a set may hold; reconnecting',
      );
      this.control?.destroy();
      return;
    }
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
