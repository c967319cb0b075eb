-- Telemetry samples the agents send: a time series per cluster (kept for the retention period,
-- enforced by the gateway) and the newest sample on the cluster itself.

create table telemetry_samples (
  cluster_id uuid not null references clusters (id),
  time timestamptz not null,
  cpus double precision not null,
  memory_bytes bigint not null,
  nodes integer not null,
  storage_bytes bigint not null,
  kubernetes_version text not null,
  platform_version text not null,
  components jsonb not null,
  -- a sample replayed from the agent's outbox has the same time: stored once
  primary key (cluster_id, time)
);
create index telemetry_samples_time on telemetry_samples (time);

alter table clusters
  add column telemetry jsonb,
  add column telemetry_at timestamptz;
