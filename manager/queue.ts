// The task queue in PostgreSQL: claim with SKIP LOCKED, leases renewed by heartbeats, retries
// with backoff, and a bounded log. Every statement checks the lease, so a replica that lost
// its lease can never overwrite the work of the one that took the task over.
import type { Queryable, Sql } from '../shared/db/connect.js';

export const TASK_KINDS = ['install', 'reconcile', 'delete', 'noop'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface Task {
  id: string;
  cluster_id: string;
  kind: TaskKind;
  params: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  created_at: Date;
}

export const MAX_LOG_CHARS = 256 * 1024;

export class TaskQueue {
  constructor(
    private readonly sql: Sql,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /**
   * Takes the oldest runnable task of the given kinds: a pending one whose cluster runs nothing
   * else, or a running one whose lease expired (its replica died). Kinds this replica cannot run
   * stay queued for one that can (a newer version during a rolling upgrade).
   */
  async claim(kinds: readonly TaskKind[]): Promise<Task | undefined> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        const [task] = await this.sql<Task[]>`
          with next as (
            select t.id from tasks t
            where t.kind = any(${kinds as string[]}::text[]) and
              ((t.status = 'pending' and t.run_after <= now()
                   and not exists (select 1 from tasks r where r.cluster_id = t.cluster_id and r.status = 'running'))
               or (t.status = 'running' and t.lease_expires_at < now()))
            order by t.created_at, t.id
            for update skip locked
            limit 1
          )
          update tasks set status = 'running', lease_owner = ${this.owner},
            lease_expires_at = now() + ${this.leaseMs} * interval '1 millisecond',
            attempts = tasks.attempts + 1, started_at = coalesce(tasks.started_at, now())
          from next where tasks.id = next.id
          returning tasks.id, tasks.cluster_id, tasks.kind, tasks.params, tasks.attempts, tasks.max_attempts, tasks.created_at`;
        return task;
      } catch (error) {
        // Another replica started a task of the same cluster in the same instant: look again.
        if ((error as { code?: string }).code !== '23505') throw error;
      }
    }
    return undefined;
  }

  /** Extends the lease; false when it was lost (taken over) or cancellation was asked for. */
  async renew(taskId: string): Promise<'held' | 'lost' | 'cancel'> {
    const [row] = await this.sql<{ cancel_requested: boolean }[]>`
      update tasks set lease_expires_at = now() + ${this.leaseMs} * interval '1 millisecond'
      where id = ${taskId} and lease_owner = ${this.owner} and status = 'running'
      returning cancel_requested`;
    if (!row) return 'lost';
    return row.cancel_requested ? 'cancel' : 'held';
  }

  async appendLog(taskId: string, text: string): Promise<void> {
    // Keep the newest MAX_LOG_CHARS: the end of a log says why a task failed.
    await this.sql`update tasks set log = right(log || ${text}, ${MAX_LOG_CHARS})
      where id = ${taskId} and lease_owner = ${this.owner}`;
  }

  async succeed(taskId: string): Promise<boolean> {
    const rows = await this.sql`update tasks set status = 'succeeded', finished_at = now(), error = null,
        lease_owner = null, lease_expires_at = null
      where id = ${taskId} and lease_owner = ${this.owner} and status = 'running' returning id`;
    return rows.length > 0;
  }

  async cancelled(taskId: string): Promise<boolean> {
    const rows = await this
      .sql`update tasks set status = 'cancelled', finished_at = now(), error = 'cancelled',
        lease_owner = null, lease_expires_at = null
      where id = ${taskId} and lease_owner = ${this.owner} and status = 'running' returning id`;
    return rows.length > 0;
  }

  /**
   * A failed attempt: retried after a backoff, or failed for good after max_attempts. What
   * `onFinal` writes (the cluster's failed status) commits with the task's failure or not at all.
   */
  async fail(
    task: Task,
    message: string,
    retryable: boolean,
    onFinal?: (tx: Queryable) => Promise<void>,
  ): Promise<'retry' | 'failed' | 'lost'> {
    const final = !retryable || task.attempts >= task.max_attempts;
    const delayMs = Math.min(5 * 60_000, 1000 * 2 ** (task.attempts - 1));
    return this.sql.begin(async (tx) => {
      const rows = await tx`update tasks set
          status = ${final ? 'failed' : 'pending'},
          error = ${message.slice(0, 4000)},
          finished_at = ${final ? tx`now()` : null},
          run_after = now() + ${final ? 0 : delayMs} * interval '1 millisecond',
          lease_owner = null, lease_expires_at = null
        where id = ${task.id} and lease_owner = ${this.owner} and status = 'running' returning id`;
      if (rows.length === 0) return 'lost';
      if (!final) return 'retry';
      await onFinal?.(tx);
      return 'failed';
    });
  }

  /** When something may next become claimable (a retry's time or a lease's expiry). */
  async nextWake(): Promise<Date | undefined> {
    const [row] = await this.sql<{ at: Date | null }[]>`
      select least(
        (select min(run_after) from tasks where status = 'pending'),
        (select min(lease_expires_at) from tasks where status = 'running')) as at`;
    return row?.at ?? undefined;
  }
}
