-- Workspaces, API tokens, clusters, tasks, audit records and the encryption key checks.

create table workspaces (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique,
  created_at timestamptz not null default now()
);

create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  name text not null,
  role text not null check (role in ('viewer', 'operator', 'admin')),
  -- sha256 of the token; the token itself is shown once and never stored.
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_tokens_workspace on api_tokens (workspace_id);

create table clusters (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  name text not null,
  values jsonb not null default '{}',
  status text not null default 'new' check (status in ('new', 'creating', 'in_sync', 'out_of_sync', 'changing',
    'creation_error', 'change_error', 'deleting', 'deletion_error', 'archived')),
  agent_status text not null default 'never_connected'
    check (agent_status in ('never_connected', 'connected', 'disconnected')),
  current_revision integer not null default 0,
  ssh_host text,
  ssh_port integer,
  ssh_user text,
  ssh_private_key text, -- encrypted
  ssh_host_key_fingerprint text,
  allowed_targets text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz
);
-- An archived cluster frees its name.
create unique index clusters_name on clusters (workspace_id, name) where archived_at is null;

create table tasks (
  id uuid primary key default gen_random_uuid(),
  cluster_id uuid not null references clusters (id),
  kind text not null check (kind in ('install', 'reconcile', 'delete')),
  status text not null default 'pending'
    check (status in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  params jsonb not null default '{}',
  attempts integer not null default 0,
  log text not null default '',
  error text,
  lease_owner text,
  lease_expires_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index tasks_cluster on tasks (cluster_id, created_at);
create index tasks_pending on tasks (created_at) where status = 'pending';

create table audit_records (
  id bigint generated always as identity primary key,
  workspace_id uuid references workspaces (id),
  auditable_type text not null,
  auditable_id text not null,
  action text not null,
  user_type text,
  user_name text,
  remote_address text,
  request_uuid text,
  workspace_slug text,
  audited_changes jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index audit_records_workspace on audit_records (workspace_id, id desc);
create index audit_records_auditable on audit_records (auditable_id, id desc);

-- One row per encryption key that has written data: every start proves the configured keys open it.
create table encryption_key_checks (
  key_id text primary key,
  mode text not null check (mode in ('random', 'deterministic')),
  check_value text not null,
  created_at timestamptz not null default now()
);
