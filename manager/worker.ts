// One manager replica: single-threaded by design, it runs one task at a time. It wakes on
// NOTIFY when a task is queued, polls as a fallback, and renews its lease while a task runs.
import type { Queryable, Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';
import type { Task, TaskKind, TaskQueue } from './queue.js';

export interface TaskContext {
  task: Task;
  /**
   * Appends a line to the task's log (secrets masked), in call order. Awaiting it is optional: a
   * failed append is also reported in the process log, never left as an unhandled rejection.
   */
  log(line: string): Promise<void>;
  /** Aborted when the lease is lost or the task is cancelled: stop as soon as you can. */
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
  private current: AbortController | undefined;

  constructor(private readonly options: WorkerOptions) {}

  async start(): Promise<void> {
    const listener = await this.options.sql.listen('commander_tasks', () => this.wake?.());
    this.unlisten = listener.unlisten;
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
      try {
        task = await queue.claim(Object.keys(this.options.handlers) as TaskKind[]);
      } catch (error) {
        logger.error({ err: error }, 'claiming a task failed');
      }
      if (task) {
        try {
          await this.run(task);
        } catch (error) {
          // The outcome was not recorded (the database went away): the task keeps its lease,
          // which expires, and then it runs again here or on another replica.
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
  private async run(task: Task): Promise<void> {
    const { queue, logger } = this.options;
    const controller = new AbortController();
    this.current = controller;
    const lease: { state: 'held' | 'lost' | 'cancel' } = { state: 'held' };
    const heartbeat = setInterval(
      () => {
        queue.renew(task.id).then(
          (state) => {
            lease.state = state;
            if (state !== 'held') controller.abort(new Error(state === 'lost' ? 'lease lost' : 'cancelled'));
          },
          (error: unknown) => logger.warn({ err: error, task_id: task.id }, 'lease renewal failed'),
        );
      },
      Math.max(100, Math.floor(queue.leaseMs / 3)),
    );
    const secrets: string[] = [];
    const mask = (text: string) => this.mask(text, secrets);
    // Lines are appended in order, one write at a time; the lines that arrive while a write is in
    // flight go together in the next one (a chatty installer costs a few row updates, not one per
    // line). A failed write is reported here, so callers that do not await never leave a
    // rejection unhandled.
    let batch: string[] = [];
    let batchWritten: Promise<void> | undefined;
    let written: Promise<void> = Promise.resolve();
    const log = (line: string): Promise<void> => {
      batch.push(`${new Date().toISOString()} ${mask(line)}\n`);
      if (!batchWritten) {
        batchWritten = written.then(() => {
          const text = batch.join('');
          batch = [];
          batchWritten = undefined;
          return queue.appendLog(task.id, text);
        });
        written = batchWritten.catch((error: unknown) =>
          logger.warn({ err: error, task_id: task.id }, 'appending to the task log failed'),
        );
      }
      return batchWritten;
    };
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
        signal: controller.signal,
        replica: queue.owner,
        secret: (value) => secrets.push(value),
      });
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (error) {
      failure = { error };
    } finally {
      clearInterval(heartbeat);
      this.current = undefined;
    }
    await written;
    if (!failure) {
      if (await queue.succeed(task.id)) logger.info({ task_id: task.id, kind: task.kind }, 'task succeeded');
      return;
    }
    const { error } = failure;
    const message = mask(error instanceof Error ? error.message : String(error));
    if (lease.state === 'lost' || this.stopped) {
      logger.warn({ task_id: task.id, reason: message }, 'task abandoned; another replica takes it over');
    } else if (lease.state === 'cancel') {
      await log(`cancelled: ${message}`).catch(() => {}); // reported by log itself
      await queue.cancelled(task.id);
    } else {
      await log(`failed: ${message}`).catch(() => {}); // reported by log itself
      const onFailed = this.options.onFailed;
      const result = await queue.fail(
        task,
        message,
        !(error instanceof PermanentError),
        onFailed && ((tx) => onFailed(tx, task, message)),
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
