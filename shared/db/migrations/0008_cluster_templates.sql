-- Cluster templates and their versions; clusters made from a version (values, rendered sections,
-- a generated SSH key pair, connection hosts); Commander's cluster status words.

create table cluster_templates (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces (id),
  name text not null,
  comment text not null default '',
  -- An immutable template takes no new versions and no edits; it can only be archived.
  immutable boolean not null default false,
  current_cluster_template_version_id uuid,
  current_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  -- Told apart archived templates of one name: 1 for the first archived, 2 for the next…
  archive_number integer
);
-- An archived template frees its name.
create unique index cluster_templates_name on cluster_templates (workspace_id, name) where archived_at is null;

create table cluster_template_versions (
  id uuid primary key default gen_random_uuid(),
  cluster_template_id uuid not null references cluster_templates (id),
  version integer not null,
  name text not null,
  comment text not null default '',
  params jsonb not null default '[]',
  -- No cluster may be created from or switched to an unusable version.
  unusable boolean not null default false,
  cluster_configuration text not null default '',
  provider_specific_cluster_configuration text not null default '',
  ssh_configuration text not null default '',
  resources text not null default '',
  init_resources text not null default '',
  init_configuration text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (cluster_template_id, version)
);

alter table cluster_templates add constraint cluster_templates_current_version
  foreign key (current_cluster_template_version_id) references cluster_template_versions (id)
  deferrable initially deferred;

-- Commander's words. The manager's verdict "out of sync" (a change waiting for approval or for an
-- operator) becomes `changing`: the change is outstanding.
alter table clusters drop constraint clusters_status_check;
update clusters set status = case status
    when 'creation_error' then 'creation_failed'
    when 'change_error' then 'change_failed'
    when 'deleting' then 'delete'
    when 'deletion_error' then 'deletion_failed'
    when 'archived' then 'deleted'
    when 'out_of_sync' then 'changing'
    else status end;
alter table clusters add constraint clusters_status_check check (status in ('new', 'configuration_error',
  'creating', 'creation_failed', 'in_sync', 'changing', 'change_failed', 'delete', 'deletion_failed', 'deleted'));

alter table clusters
  add column cluster_template_version_id uuid references cluster_template_versions (id),
  add column cluster_template_version_switched_at timestamptz,
  -- Validated against the registries once they exist.
  add column registry_id uuid,
  -- True once an install succeeded.
  add column was_created boolean not null default false,
  -- `static` when the connection hosts come from the template's SSHHost documents.
  add column cluster_type text,
  -- {masters: [{host, user, port}]}, in the order the manager tries them.
  add column connection_hosts jsonb,
  -- The key pair generated for the cluster (dc_sshPublicKey, dc_sshPrivateKey), OpenSSH format.
  add column generated_ssh_public_key text,
  add column generated_ssh_private_key text, -- encrypted
  add column render_errors jsonb not null default '[]',
  -- Rendered sections. A text holding a private key is stored encrypted (enc: prefix).
  add column desired_cluster_configuration_rendered text,
  add column desired_provider_specific_cluster_configuration_rendered text,
  add column desired_resources_rendered text,
  add column init_resources_rendered text,
  add column init_configuration_rendered text,
  add column dhctl_configuration_rendered text,
  -- What the last successful install or converge ran with.
  add column applied_cluster_configuration_rendered text,
  add column applied_provider_specific_cluster_configuration_rendered text,
  add column cluster_configuration_applied_at timestamptz,
  add column archive_number integer;

update clusters c set was_created = true
  where exists (select 1 from tasks t where t.cluster_id = c.id and t.kind = 'install' and t.status = 'succeeded')
    or exists (select 1 from agents a where a.cluster_id = c.id);

create index clusters_template_version on clusters (cluster_template_version_id)
  where cluster_template_version_id is not null;
