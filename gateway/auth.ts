// Who is calling: an API token (X-Auth-Token or Bearer) or, when configured, an OIDC JWT.

import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { OidcConfig } from '../shared/config.js';
import type { Sql } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import { hashToken, ROLES, type Role } from '../shared/tokens.js';
import { type Invalidations, LookupCache } from './cache.js';
import { textProblem } from './input.js';

export interface Principal {
  workspaceId: string;
  workspaceSlug: string;
  role: Role;
  userType: 'ApiToken' | 'User' | 'System';
  /** Manager replicas act on clusters of every workspace (tunnels only). */
  allWorkspaces?: boolean;
  userName: string;
  tokenId?: string;
}

/** Works on fastify requests and on raw upgrade requests alike: it only reads headers. */
export type Authenticator = (request: { headers: IncomingHttpHeaders }) => Promise<Principal>;

const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_CREDENTIAL_LENGTH = 8192;
/** Workspace and user claims are looked up and audited: text PostgreSQL can store, bounded. */
const MAX_CLAIM_LENGTH = 256;

export function credentialOf(request: { headers: IncomingHttpHeaders }): string | undefined {
  const header = request.headers['x-auth-token'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authorization = request.headers.authorization;
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

interface TokenEntry {
  principal: Principal;
  lastUsed: number;
}

/**
 * Callers found are remembered until their token, its workspace or the LISTEN connection changes
 * (see cache.ts); unknown credentials are always looked up, so a new token works at once.
 */
export function createAuthenticator(
  sql: Sql,
  invalidations: Invalidations,
  oidc?: OidcConfig,
): Authenticator {
  const tokens = new LookupCache<TokenEntry>();
  const workspaces = new LookupCache<string>();
  invalidations.subscribe((change) => {
    if (change?.table === 'clusters') return;
    tokens.clear();
    workspaces.clear();
  });
  const verifyJwt = oidc ? createJwtVerifier(sql, oidc, workspaces) : undefined;
  const lookupToken = async (hash: string): Promise<TokenEntry> => {
    const [row] = await sql<
      {
        id: string;
        name: string;
        role: Role;
        revoked_at: Date | null;
        last_used_at: Date | null;
        workspace_id: string;
        slug: string;
      }[]
    >`select t.id, t.name, t.role, t.revoked_at, t.last_used_at, w.id as workspace_id, w.slug
      from api_tokens t join workspaces w on w.id = t.workspace_id
      where t.token_hash = ${hash}`;
    if (!row || row.revoked_at) throw new CommanderError('UNAUTHORIZED');
    const principal: Principal = {
      workspaceId: row.workspace_id,
      workspaceSlug: row.slug,
      role: row.role,
      userType: 'ApiToken',
      userName: row.name,
      tokenId: row.id,
    };
    return { principal, lastUsed: row.last_used_at?.getTime() ?? 0 };
  };
  return async (request) => {
    const credential = credentialOf(request);
    if (!credential || credential.length > MAX_CREDENTIAL_LENGTH) throw new CommanderError('UNAUTHORIZED');
    if (verifyJwt && credential.split('.').length === 3) return verifyJwt(credential);
    const hash = hashToken(credential);
    let entry = tokens.get(hash);
    if (!entry) {
      entry = await lookupToken(hash);
      tokens.set(hash, entry);
    }
    if (Date.now() - entry.lastUsed > LAST_USED_RESOLUTION_MS) {
      entry.lastUsed = Date.now();
      // Not awaited: the request need not wait for bookkeeping.
      sql`update api_tokens set last_used_at = now() where id = ${entry.principal.tokenId ?? null}`.catch(
        () => {},
      );
    }
    return entry.principal;
  };
}

function createJwtVerifier(
  sql: Sql,
  oidc: OidcConfig,
  workspaces: LookupCache<string>,
): (jwt: string) => Promise<Principal> {
  let keys: JWTVerifyGetKey | undefined;
  const keySet = async () => {
    if (keys) return keys;
    let jwksUrl = oidc.jwksUrl;
    if (!jwksUrl) {
      const discovery = await fetch(`${oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      if (!discovery.ok) throw new Error(`OIDC discovery failed: HTTP ${discovery.status}`);
      jwksUrl = ((await discovery.json()) as { jwks_uri?: string }).jwks_uri;
      if (!jwksUrl) throw new Error('OIDC discovery document has no jwks_uri');
    }
    keys = createRemoteJWKSet(new URL(jwksUrl));
    return keys;
  };
  return async (jwt) => {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(jwt, await keySet(), {
        issuer: oidc.issuer,
        audience: oidc.audience,
      }));
    } catch (error) {
      throw new CommanderError('UNAUTHORIZED', `invalid token: ${(error as Error).message}`);
    }
    const slug = claims[oidc.workspaceClaim];
    const role = claims[oidc.roleClaim];
    if (typeof slug !== 'string' || !ROLES.includes(role as Role)) {
      throw new CommanderError(
        'UNAUTHORIZED',
        `token lacks the ${oidc.workspaceClaim} or ${oidc.roleClaim} claim`,
      );
    }
    checkClaim(oidc.workspaceClaim, slug);
    let workspaceId = workspaces.get(slug);
    if (!workspaceId) {
      const [workspace] = await sql<{ id: string }[]>`select id from workspaces where slug = ${slug}`;
      if (!workspace) throw new CommanderError('UNAUTHORIZED', `unknown workspace ${slug}`);
      workspaceId = workspace.id;
      workspaces.set(slug, workspaceId);
    }
    const user = claims[oidc.userClaim] ?? claims.sub;
    if (typeof user === 'string')
      checkClaim(claims[oidc.userClaim] === undefined ? 'sub' : oidc.userClaim, user);
    return {
      workspaceId,
      workspaceSlug: slug,
      role: role as Role,
      userType: 'User',
      userName: typeof user === 'string' ? user : 'unknown',
    };
  };
}

function checkClaim(name: string, value: string): void {
  const problem =
    value.length > MAX_CLAIM_LENGTH ? `must be at most ${MAX_CLAIM_LENGTH} characters` : textProblem(value);
  if (problem) throw new CommanderError('UNAUTHORIZED', `the token's ${name} claim ${problem}`);
}
