// The API's answers as the web application reads them (the fields it shows).
export interface Telemetry {
  time: string;
  cpus: number;
  memory_bytes: number;
  nodes: number;
  storage_bytes: number;
  kubernetes_version: string;
  platform_version: string;
  components?: { name: string; ready: boolean }[];
}

export interface Cluster {
  id: string;
  name: string;
  status: string;
  agent_status: string;
  values: Record<string, unknown>;
  current_revision: number;
  cluster_template_version_id: string | null;
  registry_id: string | null;
  is_locked: boolean;
  resources_sync_state: string;
  resources_sync_message: string | null;
  last_seen_at: string | null;
  agent_version: string | null;
  connection_hosts: { masters: { host: string; user: string; port: number }[] };
  render_errors: { section: string | null; line: number | null; column: number | null; message: string }[];
  cluster_agent_data: { source: string; data: Record<string, unknown> }[];
  resources_state_results?: {
    api_version: string;
    kind: string;
    namespace: string;
    name: string;
    status: string;
    errors: string[];
  }[];
  archived_at: string | null;
  [rendered: string]: unknown;
}

export interface Task {
  id: string;
  cluster_id: string;
  kind: string;
  status: string;
  attempts: number;
  log: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ChangeRequest {
  id: string;
  cluster_id: string;
  status: string;
  destructive_change_id: string | null;
  approved_at: string | null;
  approved_by: string | null;
  created_at: string;
}

export interface VersionSummary {
  id: string;
  cluster_template_id: string;
  version: string;
  name: string;
  comment: string;
  unusable: boolean;
}

export interface Version extends VersionSummary {
  params: Param[];
  [section: string]: unknown;
}

export interface Template {
  id: string;
  name: string;
  comment: string;
  current_cluster_template_version_id: string | null;
  current_revision: number;
  immutable: boolean;
  cluster_template_versions: VersionSummary[];
  archived_at: string | null;
}

export type Param = { header: string } | ParamField;
export interface ParamField {
  key: string;
  type?: 'string' | 'number' | 'boolean';
  title: string;
  description?: string;
  default?: unknown;
  optional?: boolean;
  immutable?: boolean;
  enum?: (string | number | boolean)[];
  format?: string;
  span?: number;
  catalog?: string;
  minItems?: number;
  maxItems?: number;
  identifier?: boolean;
}

export interface Catalog {
  id: string;
  slug: string;
  name: string;
  schema: Param[];
  archived_at: string | null;
}

export interface InventoryRecord {
  id: string;
  catalog_id: string;
  cluster_id: string | null;
  values: Record<string, unknown>;
  schema_matches: boolean;
  archived_at: string | null;
}

export interface Registry {
  id: string;
  name: string;
  images_repo: string;
  scheme: string;
  dev_branch: string | null;
  auth_set: boolean;
  archived_at?: string | null;
}

export interface Token {
  id: string;
  name: string;
  role: string;
  token?: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditRecord {
  id: number;
  auditable_type: string;
  auditable_id: string;
  action: string;
  user_type: string | null;
  user_name: string | null;
  audited_changes: Record<string, unknown>;
  created_at: string;
}

/** A tunnel that ended, as GET /clusters/:id/tunnels/history answers. */
export interface TunnelRecord {
  id: number;
  user_type: string | null;
  user_name: string | null;
  target: string;
  opened_at: string;
  closed_at: string;
  end: string;
  bytes_to_target: number;
  bytes_from_target: number;
}

export interface Workspace {
  id: string;
  name: string;
  slug: string;
}
