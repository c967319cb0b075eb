// The agent's end of the control stream: pulls the desired set on connect, when nudged and on a
// timer, receiving only what changed; hands every new set to whoever applies it.
import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger.js';
import { RESOURCE_LIMITS } from '../shared/manifests.js';
import type { MuxStream } from '../shared/mux/stream.js';
import {
  checkDesired,
  checkNudge,
  type Desired,
  MAX_CONTROL_MESSAGE,
  type Pull,
} from '../shared/wire/control.js';
import { encodeMessage, MessageDecoder } from '../shared/wire/messages.js';
import type { DesiredStore } from './desired.js';

/** A pull that gets no complete answer within this long is given up and tried again. */
const PULL_TIMEOUT_MS = 60_000;

export interface SyncEvents {
  /** The desired set changed (or was confirmed after a connect). */
  desired: [];
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

  constructor(
    private readonly store: DesiredStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** A new session's control stream: read the gateway's messages and pull at once. */
  attach(control: MuxStream): void {
    this.control = control;
    this.abandonPull();
    const decoder = new MessageDecoder(MAX_CONTROL_MESSAGE);
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
    this.control.write(encodeMessage(message));
  }

  private handle(message: Record<string, unknown>): void {
    if (message.type === 'nudge') {
      if (checkNudge(message)) this.logger.warn({ message }, 'bad nudge ignored');
      else if (message.revision !== this.store.revision) this.pull();
      return;
    }
    if (message.type === 'desired') {
      const problem = checkDesired(message);
      if (problem) {
        this.logger.warn({ problem }, 'bad desired-state message; reconnecting');
        this.control?.destroy();
        return;
      }
      this.receive(message as unknown as Desired);
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
    if (this.store.revisionHash !== before || before === null) {
      this.logger.info({ revision: this.store.revision, resources: this.store.size }, 'desired set received');
    }
    this.emit('desired');
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
