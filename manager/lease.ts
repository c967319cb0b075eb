// A running task's lease as this replica knows it: renewed by heartbeats, and ended (its signal
// aborted) when it is lost, when cancellation is asked for, or when it can no longer be confirmed.
import type { Logger } from '../shared/logger.js';
import type { TaskQueue } from './queue.js';

export type LeaseState = 'held' | 'lost' | 'cancel' | 'unconfirmed';

/**
 * The rule that keeps a task from running twice at once when the database goes away:
 *
 * A claim or renewal that succeeded set `lease_expires_at` to the database's now() + leaseMs, and
 * the database ran it after we sent it; so the lease lasts at least until the moment we sent it
 * plus leaseMs, on our own monotonic clock. Another replica may take the task over only after
 * that. If no renewal succeeded by then minus a margin (a quarter of the lease), the handler is
 * told to stop (the signal aborts with state `unconfirmed`), so it stops acting on the task
 * before anyone else can start it. The task is then abandoned like a lost lease: it runs again,
 * here or elsewhere, once its lease expired. Renewals that fail quickly (a refused connection)
 * and renewals that hang (an address nobody answers) end the same way: by the timer, not by
 * the renewal's answer.
 */
export const LEASE_STOP_MARGIN = 1 / 4;

export class Lease {
  private state: LeaseState = 'held';
  private readonly controller = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;
  private watchdog: NodeJS.Timeout | undefined;

  /** `confirmedAt`: performance.now() when the claim that gave us the task was sent. */
  constructor(
    private readonly queue: TaskQueue,
    private readonly taskId: string,
    confirmedAt: number,
    private readonly logger: Logger,
  ) {
    this.confirmed(confirmedAt);
    this.heartbeat = setInterval(() => this.renew(), Math.max(100, Math.floor(queue.leaseMs / 3)));
  }

  /** Aborted once the task must stop: lease lost, cancelled, unconfirmed, or the replica stopping. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get current(): LeaseState {
    return this.state;
  }

  /** Ends the lease's work here (the replica stops): heartbeats end, the handler is told to stop. */
  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  /** The task is over (or abandoned): no more heartbeats. */
  stop(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.watchdog);
  }

  private renew(): void {
    const sentAt = performance.now();
    this.queue.renew(this.taskId).then(
      (state) => {
        if (this.state !== 'held') return; // decided already; a late answer changes nothing
        if (state === 'held') return this.confirmed(sentAt);
        this.end(state, state === 'lost' ? 'lease lost' : 'cancelled');
      },
      (error: unknown) => this.logger.warn({ err: error, task_id: this.taskId }, 'lease renewal failed'),
    );
  }

  private confirmed(sentAt: number): void {
    const leaseMs = this.queue.leaseMs;
    const stopAt = sentAt + leaseMs - leaseMs * LEASE_STOP_MARGIN;
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => {
        if (this.state !== 'held') return;
        this.logger.warn(
          { task_id: this.taskId, lease_ms: leaseMs },
          'lease not renewed in time (database unreachable); stopping the task before it can expire',
        );
        this.end('unconfirmed', 'lease could not be renewed: the database is unreachable');
      },
      Math.max(0, stopAt - performance.now()),
    );
  }

  private end(state: Exclude<LeaseState, 'held'>, reason: string): void {
    this.state = state;
    // A cancelled task keeps its lease while the handler winds down and the cancellation is
    // recorded; a lost or unconfirmed one is no longer ours to extend.
    if (state !== 'cancel') this.stop();
    this.controller.abort(new Error(reason));
  }
}
