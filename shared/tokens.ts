// API tokens: random, shown once, stored only as a sha256 hash.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db/connect.js';
import type { GlobalRole, Role } from './roles.js';

export function generateToken(): string {
  return `cmdr_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface TokenRow {
  id: string;
  /** Null for a global token. */
  workspace_id: string | null;
  name: string;
  role: Role | GlobalRole;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A workspace token (workspace id and a workspace role) or a global one (null and a global role). */
export async function createToken(
  sql: Queryable,
  workspaceId: string | null,
  name: string,
  role: Role | GlobalRole,
): Promise<{ token: string; row: TokenRow }> {
  const token = generateToken();
  const [row] = await sql<TokenRow[]>`
    insert into api_tokens (workspace_id, name, role, token_hash)
    values (${workspaceId}, ${name}, ${role}, ${hashToken(token)})
    returning id, workspace_id, name, role, created_at, last_used_at, revoked_at`;
  if (!row) throw new Error('token was not stored');
  return { token, row };
}
