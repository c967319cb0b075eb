// A cluster's lifecycle in Deckhouse Commander's words: the values of `clusters.status`, set by
// the API (new, configuration_error, delete) and by the manager's tasks (the rest).

export const CLUSTER_STATUSES = [
  /** Created; its install task is queued (or it has no connection hosts to install with). */
  'new',
  /** Its template did not render, or rendered into something unusable: see render_errors. */
  'configuration_error',
  /** The install task runs. */
  'creating',
  /** The install failed for good. */
  'creation_failed',
  /** The infrastructure matches the desired configuration. */
  'in_sync',
  /** A change is under way, or waits (for approval, or for an operator). */
  'changing',
  /** A change failed for good. */
  'change_failed',
  /** Deletion was asked for and is under way. */
  'delete',
  /** Deletion failed for good. */
  'deletion_failed',
  /** Deleted: archived, still readable by id. */
  'deleted',
] as const;

export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** The status a failed task of each kind leaves behind. */
export const FAILED_STATUS = {
  install: 'creation_failed',
  reconcile: 'change_failed',
  delete: 'deletion_failed',
} as const satisfies Record<string, ClusterStatus>;

/** Where a change can be applied: the cluster exists, was created, and is not being deleted. */
export const CONVERGEABLE_STATUSES = [
  'in_sync',
  'changing',
  'change_failed',
] as const satisfies readonly ClusterStatus[];
