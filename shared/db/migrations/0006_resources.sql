-- Desired Kubernetes resources per cluster, their per-resource sync status as the agent reports
-- it, and the cluster's overall sync state.

alter table clusters
  add column resources_hash text,
  add column resources_sync_state text not null default 'no_data'
    check (resources_sync_state in ('configured', 'not_configured', 'no_data')),
  add column resources_sync_message text,
  add column resources_reported_at timestamptz,
  -- How often the agent reports (its sync interval): no report for three intervals is no_data.
  add column resources_report_interval_ms integer,
  -- The newest outbox entry (report or telemetry) stored: replays are applied once. Reset when a
  -- new agent key is enrolled, since a new agent numbers from 1 again.
  add column agent_seq bigint not null default 0;

create table cluster_resources (
  cluster_id uuid not null references clusters (id),
  key text not null, -- apiVersion/kind/namespace/name
  api_version text not null,
  kind text not null,
  namespace text not null,
  name text not null,
  hash text not null,
  mode text not null check (mode in ('enforced', 'create-once')),
  manifest text not null, -- canonical JSON; Secrets encrypted
  position integer not null,
  -- false once removed from the set: kept until the agent reports it pruned
  desired boolean not null default true,
  -- the revision that last changed this row
  revision integer not null,
  status text not null default 'pending'
    check (status in ('pending', 'applied', 'failed', 'pruned', 'drifted')),
  message text,
  applied_revision integer,
  status_at timestamptz,
  primary key (cluster_id, key)
);

create function commander_notify_revision() returns trigger language plpgsql as $$
begin
  perform pg_notify('commander_revision', new.id::text || ':' || new.current_revision::text);
  return null;
end $$;

create trigger clusters_revision after update of current_revision on clusters
  for each row when (new.current_revision is distinct from old.current_revision)
  execute function commander_notify_revision();
