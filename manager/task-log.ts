// A running task's log on its way to the task's row: lines in call order, the ones that arrive
// while a write is in flight batched into the next, and kept while the database is away.
import { isDatabaseUnavailable, retryWhileUnavailable } from '../shared/db/health.js';
import { MAX_LOG_CHARS } from './queue.js';

export class TaskLog {
  /** Lines not written yet: new ones, and those of writes that failed while the database was away. */
  private pending = '';
  private next: Promise<void> | undefined;
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (text: string) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queues a line. Resolves once it was written, or kept for the next write because the database
   * is away; never rejects (a failed write is reported through onError), so callers that do not
   * await never leave a rejection unhandled, and a task does not fail because of its log.
   */
  add(line: string): Promise<void> {
    this.pending = keep(this.pending + line);
    if (!this.next) {
      this.next = this.written.then(() => this.writePending());
      this.written = this.next;
    }
    return this.next;
  }

  /**
   * Writes every kept line, waiting for the database while `keepTrying` says so: the task's
   * outcome is recorded after its log, so the log is whole when a task is seen finished.
   */
  async flush(keepTrying: () => boolean): Promise<void> {
    await this.written;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    await retryWhileUnavailable(() => this.write(text), keepTrying);
  }

  private async writePending(): Promise<void> {
    this.next = undefined;
    const text = this.pending;
    this.pending = '';
    try {
      await this.write(text);
    } catch (error) {
      // Kept in front of the lines that came meanwhile, for the next write.
      if (isDatabaseUnavailable(error)) this.pending = keep(text + this.pending);
      this.onError(error);
    }
  }
}

/** The row keeps the newest MAX_LOG_CHARS (queue.ts); what waits is bounded the same way. */
function keep(text: string): string {
  return text.length > MAX_LOG_CHARS ? text.slice(-MAX_LOG_CHARS) : text;
}
