-- Gateway replicas and where each reaches its peers: a replica upserts its row every heartbeat;
-- one whose heartbeat is stale is gone, and the sessions it held are cleared (gateway/replicas.ts).
create table gateway_replicas (
  id text primary key,                          -- COMMANDER_REPLICA_ID
  address text,                                 -- host:port of its replica link; null: none
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  beats bigint not null default 0               -- heartbeats so far: a clock other replicas can read
);

-- Since when the live session (agent_replica, agent_session_id) is held.
alter table clusters add column agent_connected_at timestamptz;
create index clusters_agent_replica on clusters (agent_replica) where agent_replica is not null;
