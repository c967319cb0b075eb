// One manager replica: single-threaded by design, it runs one task at a time. It wakes on
// NOTIFY when a task is queued, polls as a fallback, and renews its lease while a task runs
// (lease.ts: when the database is away, the task stops before its lease can expire).
import type { Queryable, Sql } from '../shared/db/connect.js';
import { listenSurely } from '../shared/db/driver-defects.js';
import { retryWhileUnavailable } from '../shared/db/health.js';
import type { Logger } from '../shared/logger.js';
import { Lease } from './lease.js';
import type { Task, TaskKind, TaskQueue } from './queue.js';
import { TaskLog } from './task-log.js';

export interface TaskContext {
  task: Task;
  /**
   * Appends a line to the task's log (secrets masked), in call order. Never rejects: while the
   * database is away the line is kept and written later; a failed append is reported in the
   * process log.
   */
  log(line: string): Promise<void>;
  /**
   * Aborted when the lease is lost, cannot be renewed in time (the database is away) or the task
   * is cancelled: stop as soon as you can, and do nothing more to the cluster.
   */
  signal: AbortSignal;
  /** This replica's name. */
  replica: string;
  /** Registers a value (a key, a token) that must never appear in the task log or error. */
  secret(value: string): void;
}

export type TaskHandler = (context: TaskContext) => Promise<void>;

/** An error that retrying will not fix (bad settings, a changed host key...). */
export class PermanentError extends Error {}

export interface WorkerOptions {
  sql: Sql;
  queue: TaskQueue;
  handlers: Partial<Record<TaskKind, TaskHandler>>;
  logger: Logger;
  /** Poll this often even without a notification (ms). */
  pollMs?: number;
  /** Values that must never reach a task log. */
  secrets?: () => string[];
  /**
   * Called once a task failed for good (no retries left, or a permanent error), in the transaction
   * that records the failure: if it throws, neither is written and the task runs again.
   */
  onFailed?: (tx: Queryable, task: Task, message: string) => Promise<void>;
}

export class Worker {
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private current: Lease | undefined;

  constructor(private readonly options: WorkerOptions) {}

  async start(): Promise<void> {
    this.unlisten = await listenSurely(
      this.options.sql,
      'commander_tasks',
      () => this.wake?.(),
      // Also after the listening connection came back: tasks queued meanwhile sent no notice.
      () => this.wake?.(),
    );
    this.running = this.loop();
  }

  /** Stops claiming; a task in progress is abandoned to another replica once its lease expires. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort(new Error('manager stopping'));
    this.wake?.();
    await this.unlisten?.().catch(() => {});
    await this.running;
  }

  private async loop(): Promise<void> {
    const { queue, logger } = this.options;
    const pollMs = this.options.pollMs ?? 5000;
    while (!this.stopped) {
      let task: Task | undefined;
      // The lease a claim gives lasts at least this long from the moment it was sent (lease.ts).
      const claimedAt = performance.now();
      try {
        task = await queue.claim(Object.keys(this.options.handlers) as TaskKind[]);
      } catch (error) {
        logger.error({ err: error }, 'claiming a task failed');
      }
      if (task) {
        try {
          await this.run(task, claimedAt);
        } catch (error) {
          // The outcome was not recorded (the replica is stopping while the database is away, or
          // an unexpected error): the task keeps its lease, which expires, and then it runs again
          // here or on another replica.
          logger.error(
            { err: error, task_id: task.id, kind: task.kind },
            'recording the outcome of a task failed; it runs again once its lease expires',
          );
        }
        continue;
      }
      let next: Date | undefined;
      try {
        next = await queue.nextWake();
      } catch (error) {
        logger.warn({ err: error }, 'reading the next wake-up time failed; polling');
      }
      const until = next ? Math.max(10, Math.min(pollMs, next.getTime() - Date.now() + 5)) : pollMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, until);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Runs one task; throws only when its outcome could not be recorded. */
  private async run(task: Task, claimedAt: number): Promise<void> {
    const { queue, logger } = this.options;
    const lease = new Lease(queue, task.id, claimedAt, logger);
    this.current = lease;
    const secrets: string[] = [];
    const mask = (text: string) => this.mask(text, secrets);
    const taskLog = new TaskLog(
      (text) => queue.appendLog(task.id, text),
      (error) => logger.warn({ err: error, task_id: task.id }, 'appending to the task log failed'),
    );
    const log = (line: string) => taskLog.add(`${new Date().toISOString()} ${mask(line)}\n`);
    logger.info(
      { task_id: task.id, kind: task.kind, cluster_id: task.cluster_id, attempt: task.attempts },
      'task started',
    );
    let failure: { error: unknown } | undefined;
    try {
      const handler = this.options.handlers[task.kind];
      if (!handler) throw new PermanentError(`this manager cannot run ${task.kind} tasks`);
      await handler({
        task,
        log,
        signal: lease.signal,
        replica: queue.owner,
        secret: (value) => secrets.push(value),
      });
      if (lease.signal.aborted) throw lease.signal.reason;
    } catch (error) {
      failure = { error };
    } finally {
      lease.stop();
      this.current = undefined;
    }
    const state = lease.current;
    if (failure && (state === 'lost' || state === 'unconfirmed' || this.stopped)) {
      const reason = mask(failure.error instanceof Error ? failure.error.message : String(failure.error));
      logger.warn({ task_id: task.id, reason }, 'task abandoned; it runs again once its lease expires');
      return;
    }
    // The handler is done acting on the cluster; what is left is to record how it ended. While
    // the database is away that waits for it (as long as this replica runs): the records are
    // guarded by lease_owner, so if the lease expired meanwhile and another replica took the
    // task, they change nothing and the task runs there again.
    const keepTrying = () => !this.stopped;
    const onRetry = (error: unknown, attempt: number) => {
      if (attempt === 1)
        logger.warn({ err: error, task_id: task.id }, 'waiting for the database to record the task');
    };
    const record = <T>(work: () => Promise<T>) => retryWhileUnavailable(work, keepTrying, onRetry);
    if (!failure) {
      await taskLog.flush(keepTrying);
      if (await record(() => queue.succeed(task.id))) {
        logger.info({ task_id: task.id, kind: task.kind }, 'task succeeded');
      } else {
        logger.warn({ task_id: task.id }, 'task finished after its lease was taken over; not recorded');
      }
      return;
    }
    const { error } = failure;
    const message = mask(error instanceof Error ? error.message : String(error));
    if (state === 'cancel') {
      await log(`cancelled: ${message}`);
      await taskLog.flush(keepTrying);
      await record(() => queue.cancelled(task.id));
    } else {
      await log(`failed: ${message}`);
      await taskLog.flush(keepTrying);
      const onFailed = this.options.onFailed;
      const result = await record(() =>
        queue.fail(
          task,
          message,
          !(error instanceof PermanentError),
          onFailed && ((tx) => onFailed(tx, task, message)),
        ),
      );
      logger.warn({ task_id: task.id, kind: task.kind, result, reason: message }, 'task failed');
    }
  }

  private mask(text: string, extra: string[]): string {
    let masked = text;
    for (const secret of [...(this.options.secrets?.() ?? []), ...extra]) {
      // Output reaches the log a line at a time, so a secret of several lines (a PEM key that an
      // installer prints) never appears whole: each of its lines is masked as well.
      const parts = secret.includes('\n')
        ? [secret, ...secret.split('\n').map((line) => line.trim())]
        : [secret];
      for (const part of parts) {
        if (part.length >= 8) masked = masked.split(part).join('[FILTERED]');
      }
    }
    return masked;
  }
}
