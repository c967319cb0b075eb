-- Commander's model, second half: container registries, inventory catalogs and records (a record
-- bound to at most one cluster), cluster change requests (approving a destructive change), and
-- the global side: tokens without a workspace, workspace names, workspace role bindings.

-- Global tokens have no workspace and a global role; workspace tokens keep theirs.
alter table api_tokens alter column workspace_id drop not null;
alter table api_tokens drop constraint api_tokens_role_check;
alter table api_tokens add constraint api_tokens_role_check check (
  (workspace_id is not null and role in ('viewer', 'operator', 'admin'))
  or (workspace_id is null and role in ('global_viewer', 'global_admin')));

alter table workspaces
  add column name text,
  add column updated_at timestamptz not null default now();
update workspaces set name = slug;
alter table workspaces alter column name set not null;

-- An OIDC user or group given a role in one workspace.
create table workspace_role_bindings (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  role text not null check (role in ('viewer', 'operator', 'admin')),
  subject_kind text not null check (subject_kind in ('user', 'group')),
  subject_name text not null,
  current_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  -- Tells apart archived rows of one natural key: 1 for the first archived, 2 for the next…
  archive_number integer
);
create unique index workspace_role_bindings_subject on workspace_role_bindings
  (workspace_id, subject_kind, subject_name) where archived_at is null;

-- Gateways remember who an OIDC user is; a changed binding must reach every replica. Unlike
-- commander_notify_invalidate this fires on insert too, when there is no old row.
create function commander_notify_invalidate_row() returns trigger language plpgsql as $$
begin
  perform pg_notify('commander_invalidate', tg_table_name || ':' || coalesce(new.id, old.id)::text);
  return null;
end $$;
create trigger workspace_role_bindings_invalidate after insert or update or delete
  on workspace_role_bindings for each row execute function commander_notify_invalidate_row();

create table registries (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  name text not null,
  images_repo text not null,
  scheme text not null check (scheme in ('https', 'http')),
  dev_branch text,
  auth text, -- encrypted: base64 of user:password
  current_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  archive_number integer
);
create unique index registries_name on registries (workspace_id, name) where archived_at is null;

-- Present already when the templates migration added it ahead of the registries.
alter table clusters add column if not exists registry_id uuid;
alter table clusters add constraint clusters_registry foreign key (registry_id) references registries (id);

create table catalogs (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  slug text not null,
  name text not null,
  schema jsonb not null default '[]', -- the records' parameters, in the input-parameter format
  current_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  archive_number integer
);
create unique index catalogs_slug on catalogs (workspace_id, slug) where archived_at is null;

create table records (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  catalog_id uuid not null references catalogs (id),
  -- The one cluster the record is bound to; null when free. Binding is a conditional update of
  -- this column, so two clusters racing for a record cannot both get it.
  cluster_id uuid references clusters (id),
  values jsonb not null default '{}',
  current_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  archive_number integer,
  constraint records_archived_free check (archived_at is null or cluster_id is null)
);
create index records_catalog on records (catalog_id, created_at) where archived_at is null;
create index records_cluster on records (cluster_id) where cluster_id is not null;

-- A destructive change the check reported, waiting for (or given) approval.
create table cluster_change_requests (
  id uuid primary key default gen_random_uuid(),
  cluster_id uuid not null references clusters (id),
  status text not null default 'pending'
    check (status in ('pending', 'approved', 'completed', 'cancelled')),
  destructive_change_id text,
  approved_at timestamptz,
  approved_by text,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- At most one open request per cluster: the newest verdict replaces an older pending one.
create unique index cluster_change_requests_open on cluster_change_requests (cluster_id)
  where status in ('pending', 'approved');
create index cluster_change_requests_cluster on cluster_change_requests (cluster_id, created_at);

-- Approval moved from a task's parameters to change requests.
alter table clusters drop column pending_destructive_change_id;
