// Queuing work for the manager from outside it (the API): tasks are rows it claims.
import type { Queryable } from './db/connect.js';

/**
 * Queues a reconcile of the cluster, or finds the one already waiting (at most one waits per
 * cluster, however many callers race); returns its id.
 */
export async function queueReconcile(tx: Queryable, clusterId: string): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    insert into tasks (cluster_id, kind) values (${clusterId}, 'reconcile')
    on conflict (cluster_id) where kind = 'reconcile' and status = 'pending'
    do update set params = tasks.params returning id`;
  if (!row) throw new Error('reconcile was not queued');
  return row.id;
}
