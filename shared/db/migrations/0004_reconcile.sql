-- Reconcile: the destructive change waiting for approval, and at most one queued reconcile
-- per cluster however many replicas schedule them.

alter table clusters add column pending_destructive_change_id text;

create unique index tasks_one_pending_reconcile on tasks (cluster_id) where kind = 'reconcile' and status = 'pending';
