// Cluster change requests, their SQL and row shape: a destructive change the installer's check
// reported (DestructiveOutOfSync), which the manager applies only once someone approved it.
// pending → approved (by a person, through the API) → completed (converged); an open request
// whose change the check no longer reports is cancelled.
import type { Queryable } from './db/connect.js';
import { CommanderError } from './errors.js';

export const CHANGE_REQUEST_STATUSES = ['pending', 'approved', 'completed', 'cancelled'] as const;
export type ChangeRequestStatus = (typeof CHANGE_REQUEST_STATUSES)[number];

export interface ChangeRequestRow {
  id: string;
  cluster_id: string;
  status: ChangeRequestStatus;
  /** What the check called the change; null when it named none. */
  destructive_change_id: string | null;
  approved_at: Date | null;
  approved_by: string | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The cluster a request belongs to, as approving needs it. */
export interface ChangeRequestCluster {
  cluster_status: string;
  cluster_archived_at: Date | null;
  cluster_ssh_host: string | null;
  workspace_slug: string;
}

const MAX_LIST = 500;

/** A workspace's requests, newest first; another workspace's are never seen. */
export async function listChangeRequests(
  sql: Queryable,
  workspaceId: string,
  filter: { clusterId?: string; status?: ChangeRequestStatus } = {},
): Promise<ChangeRequestRow[]> {
  return sql<ChangeRequestRow[]>`
    select r.* from cluster_change_requests r join clusters c on c.id = r.cluster_id
    where c.workspace_id = ${workspaceId}
      ${filter.clusterId ? sql`and r.cluster_id = ${filter.clusterId}` : sql``}
      ${filter.status ? sql`and r.status = ${filter.status}` : sql``}
    order by r.created_at desc, r.id limit ${MAX_LIST}`;
}

/**
 * A request with what approving needs of its cluster. `lock` takes the cluster's row and then the
 * request's, in the order the manager takes them (requestChange), so the two cannot deadlock.
 */
export async function findChangeRequest(
  sql: Queryable,
  workspaceId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ChangeRequestRow & ChangeRequestCluster> {
  if (options.lock) {
    await sql`select c.id from clusters c join cluster_change_requests r on r.cluster_id = c.id
      where r.id = ${id} and c.workspace_id = ${workspaceId} for update of c`;
  }
  const [row] = await sql<(ChangeRequestRow & ChangeRequestCluster)[]>`
    select r.*, c.status as cluster_status, c.archived_at as cluster_archived_at, c.ssh_host as cluster_ssh_host,
      w.slug as workspace_slug
    from cluster_change_requests r join clusters c on c.id = r.cluster_id join workspaces w on w.id = c.workspace_id
    where r.id = ${id} and c.workspace_id = ${workspaceId}
    ${options.lock ? sql`for update of r` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `cluster change request ${id} not found`);
  return row;
}

/** Marks a locked pending request approved by `who`. */
export async function approveChangeRequest(
  tx: Queryable,
  id: string,
  who: string,
): Promise<ChangeRequestRow> {
  const [row] = await tx<ChangeRequestRow[]>`
    update cluster_change_requests set status = 'approved', approved_at = now(), approved_by = ${who}, updated_at = now()
    where id = ${id} and status = 'pending' returning *`;
  if (!row) throw new Error('change request approval lost');
  return row;
}

/**
 * The open request for the destructive change the check reports now: the one already open for
 * that change, or a new pending one (an open request for another change is cancelled: the check
 * no longer reports it). `created` tells the caller to audit it.
 */
export async function requestChange(
  tx: Queryable,
  clusterId: string,
  destructiveChangeId: string | null,
): Promise<{ request: ChangeRequestRow; created: boolean; cancelled: ChangeRequestRow[] }> {
  // The cluster's row serialises the manager replicas that act on one cluster's verdicts.
  await tx`select 1 from clusters where id = ${clusterId} for update`;
  const [open] = await tx<ChangeRequestRow[]>`
    select * from cluster_change_requests where cluster_id = ${clusterId} and status in ('pending', 'approved')`;
  if (open && open.destructive_change_id === destructiveChangeId) {
    return { request: open, created: false, cancelled: [] };
  }
  const cancelled = open ? await cancelOpenRequests(tx, clusterId) : [];
  const [request] = await tx<ChangeRequestRow[]>`
    insert into cluster_change_requests (cluster_id, destructive_change_id)
    values (${clusterId}, ${destructiveChangeId}) returning *`;
  if (!request) throw new Error('change request was not stored');
  return { request, created: true, cancelled };
}

/** The change was applied: the approved request is done. */
export async function completeChangeRequest(tx: Queryable, id: string): Promise<void> {
  await tx`update cluster_change_requests set status = 'completed', completed_at = now(), updated_at = now()
    where id = ${id} and status = 'approved'`;
}

/** The check reports no destructive change any more: open requests are cancelled. */
export async function cancelOpenRequests(tx: Queryable, clusterId: string): Promise<ChangeRequestRow[]> {
  return tx<ChangeRequestRow[]>`
    update cluster_change_requests set status = 'cancelled', updated_at = now()
    where cluster_id = ${clusterId} and status in ('pending', 'approved') returning *`;
}
