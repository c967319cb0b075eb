-- The manager's queue: leases, retries with backoff, cancellation, and a wake-up signal.

alter table tasks drop constraint tasks_kind_check;
-- 'noop' tasks do nothing but log; they exist to measure and test the queue itself.
alter table tasks add constraint tasks_kind_check check (kind in ('install', 'reconcile', 'delete', 'noop'));

alter table tasks
  add column run_after timestamptz not null default now(),
  add column max_attempts integer not null default 5,
  add column cancel_requested boolean not null default false;

-- At most one running task per cluster, whatever the replicas race for.
create unique index tasks_one_running_per_cluster on tasks (cluster_id) where status = 'running';
create index tasks_claimable on tasks (run_after, created_at) where status = 'pending';
create index tasks_leases on tasks (lease_expires_at) where status = 'running';

create function commander_notify_task() returns trigger language plpgsql as $$
begin
  perform pg_notify('commander_tasks', new.cluster_id::text);
  return null;
end $$;

create trigger tasks_notify after insert or update of status, run_after on tasks
  for each row when (new.status = 'pending') execute function commander_notify_task();
