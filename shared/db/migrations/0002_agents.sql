-- Agents: one enrolled Ed25519 key per cluster, single-use enrollment tokens, the gateway's
-- JWT signing key, and where each agent's live session is.

create table agents (
  cluster_id uuid primary key references clusters (id),
  public_key text not null, -- base64 Ed25519 public key
  enrolled_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table agent_enrollment_tokens (
  jti uuid primary key,
  cluster_id uuid not null references clusters (id),
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index agent_enrollment_tokens_cluster on agent_enrollment_tokens (cluster_id);

create table gateway_signing_keys (
  id text primary key,
  private_jwk text not null, -- encrypted
  public_jwk jsonb not null,
  created_at timestamptz not null default now()
);

alter table clusters
  add column last_seen_at timestamptz,
  add column agent_version text,
  add column agent_replica text,      -- the gateway replica holding the live session
  add column agent_session_id uuid;   -- that session; a newer one replaces it
