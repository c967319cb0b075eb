// API tokens: random, shown once, stored only as a sha256 hash.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db/connect.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function generateToken(): string {
  return `cmdr_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface TokenRow {
  id: string;
  workspace_id: string;
  name: string;
  role: Role;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Finds or creates a workspace by slug. */
export async function ensureWorkspace(sql: Queryable, slug: string): Promise<{ id: string; slug: string }> {
  const [row] = await sql<{ id: string; slug: string }[]>`
    insert into workspaces (slug) values (${slug})
    on conflict (slug) do update set slug = excluded.slug
    returning id, slug`;
  if (!row) throw new Error(`workspace ${slug} could not be created`);
  return row;
}

export async function createToken(
  sql: Queryable,
  workspaceId: string,
  name: string,
  role: Role,
): Promise<{ token: string; row: TokenRow }> {
  const token = generateToken();
  const [row] = await sql<TokenRow[]>`
    insert into api_tokens (workspace_id, name, role, token_hash)
    values (${workspaceId}, ${name}, ${role}, ${hashToken(token)})
    returning id, workspace_id, name, role, created_at, last_used_at, revoked_at`;
  if (!row) throw new Error('token was not stored');
  return { token, row };
}
