// Queues a reconcile for every installed cluster once per check interval. Any number of
// replicas may run it: the one-pending-reconcile index keeps the queue free of duplicates.
import { CONVERGEABLE_STATUSES } from '../shared/cluster-status.js';
import type { Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';

export function scheduleReconciles(sql: Sql, logger: Logger, intervalMs: number): () => void {
  const tick = async () => {
    const queued = await sql`insert into tasks (cluster_id, kind)
      select c.id, 'reconcile' from clusters c
      where c.archived_at is null and c.ssh_host is not null
        and c.status = any(${[...CONVERGEABLE_STATUSES]})
        and not exists (select 1 from tasks t where t.cluster_id = c.id and t.kind in ('reconcile', 'install', 'delete')
          and (t.status in ('pending', 'running') or t.created_at > now() - ${intervalMs} * interval '1 millisecond'))
      on conflict do nothing
      returning cluster_id`;
    if (queued.length > 0) logger.info({ clusters: queued.length }, 'reconciles queued');
  };
  const timer = setInterval(
    () => tick().catch((error: unknown) => logger.warn({ err: error }, 'scheduling failed')),
    Math.min(intervalMs, 60_000),
  );
  timer.unref();
  return () => clearInterval(timer);
}
