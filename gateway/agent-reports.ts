// What agents report through their outbox, stored once each (by sequence number): resource
// statuses and the cluster's resulting sync state.
import type { Queryable, Sql } from '../shared/db/connect.js';
import type { Report } from '../shared/wire/control.js';

/**
 * Runs `store` for an outbox entry unless an entry with this or a later sequence number was
 * stored already (a replay after a reconnect). Returns false for a replay.
 */
export async function storeOnce(
  sql: Sql,
  clusterId: string,
  seq: number,
  store: (tx: Queryable) => Promise<void>,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ agent_seq: string }[]>`
      select agent_seq from clusters where id = ${clusterId} for update`;
    if (!row || Number(row.agent_seq) >= seq) return false;
    await store(tx);
    await tx`update clusters set agent_seq = ${seq} where id = ${clusterId}`;
    return true;
  });
}

export async function storeReport(tx: Queryable, clusterId: string, report: Report): Promise<void> {
  if (report.resources.length > 0) {
    // A key may appear twice (drifted, then applied again): the last word counts.
    const latest = new Map(report.resources.map((r) => [r.key, r]));
    const rows = [...latest.values()].map((r) => ({
      key: r.key,
      status: r.status,
      message: r.message,
      applied_revision: r.applied_revision,
    }));
    // A resource back in the set since it was pruned is not "pruned": that report is stale.
    await tx`update cluster_resources c set status = r.status, message = r.message,
        applied_revision = coalesce(r.applied_revision::int, c.applied_revision), status_at = now()
      from jsonb_to_recordset(${tx.json(rows as never)}) as r(key text, status text, message text, applied_revision int)
      where c.cluster_id = ${clusterId} and c.key = r.key and not (c.desired and r.status = 'pruned')`;
  }
  const [counts] = await tx<{ failed: number; unsettled: number; unpruned: number }[]>`
    select count(*) filter (where desired and status = 'failed')::int as failed,
      count(*) filter (where desired and (status in ('pending', 'drifted')
        or (status = 'applied' and coalesce(applied_revision, 0) < revision)))::int as unsettled,
      count(*) filter (where not desired and status <> 'pruned')::int as unpruned
    from cluster_resources where cluster_id = ${clusterId}`;
  const problems = [
    counts?.failed ? `${counts.failed} failed` : '',
    counts?.unsettled ? `${counts.unsettled} not applied yet` : '',
    counts?.unpruned ? `${counts.unpruned} not pruned yet` : '',
  ].filter(Boolean);
  const message = report.problem ?? (problems.length > 0 ? problems.join(', ') : null);
  await tx`update clusters set resources_sync_state = ${message ? 'not_configured' : 'configured'},
      resources_sync_message = ${message}, resources_reported_at = now(),
      resources_report_interval_ms = ${report.interval_ms}
    where id = ${clusterId}`;
}
