// Who is calling (an API token by X-Auth-Token or Bearer, or, when configured, an OIDC JWT) and
// whether that caller may use a route: the one place access is decided, deny by default.

import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { OidcConfig } from '../shared/config.js';
import type { Sql } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import {
  type GlobalRole,
  globalRoleAllows,
  isGlobalRole,
  isRole,
  ROLES,
  type Role,
  roleAllows,
} from '../shared/roles.js';
import { hashToken } from '../shared/tokens.js';
import { type Invalidations, LookupCache } from './cache.js';
import { textProblem } from './input.js';
import { boundRoles } from './workspace-role-bindings.js';

/** A caller inside one workspace: a workspace token, an OIDC user, a manager replica. */
export interface Principal {
  scope: 'workspace';
  workspaceId: string;
  workspaceSlug: string;
  role: Role;
  userType: 'AuthToken' | 'User' | 'System';
  /** Manager replicas act on clusters of every workspace (tunnels only). */
  allWorkspaces?: boolean;
  userName: string;
  tokenId?: string;
}

/** A caller outside every workspace: a global token. */
export interface GlobalPrincipal {
  scope: 'global';
  role: GlobalRole;
  userType: 'AuthToken';
  userName: string;
  tokenId: string;
}

export type Caller = Principal | GlobalPrincipal;

/** Works on fastify requests and on raw upgrade requests alike: it only reads headers. */
export type Authenticator = (request: { headers: IncomingHttpHeaders }) => Promise<Caller>;

/** Who may call a route: the least workspace role, the least global role, or both. */
export interface RouteAccess {
  role?: Role;
  globalRole?: GlobalRole;
}

/**
 * Deny by default: a route that names no role refuses everyone. A workspace route refuses global
 * callers and a global route refuses workspace callers, with 403 either way: which kind of token
 * a route takes is public (the OpenAPI document says it), so refusing says nothing secret.
 */
export function authorize(caller: Caller, access: RouteAccess): void {
  if (caller.scope === 'global') {
    if (!access.globalRole) {
      throw new CommanderError(
        'FORBIDDEN',
        access.role
          ? "a global token cannot reach a workspace's objects; use a token of that workspace"
          : 'this route takes no caller',
      );
    }
    if (!globalRoleAllows(caller.role, access.globalRole)) {
      throw new CommanderError(
        'FORBIDDEN',
        `this needs the ${access.globalRole} role; your token is ${caller.role}`,
      );
    }
    return;
  }
  if (!access.role) {
    throw new CommanderError(
      'FORBIDDEN',
      access.globalRole
        ? `this needs a global token (${access.globalRole}); a workspace's caller cannot use it`
        : 'this route takes no caller',
    );
  }
  if (!roleAllows(caller.role, access.role)) {
    throw new CommanderError('FORBIDDEN', `this needs the ${access.role} role; your token is ${caller.role}`);
  }
}

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
  principal: Caller;
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
  const bindings = new LookupCache<Role | null>();
  invalidations.subscribe((change) => {
    if (change?.table === 'clusters') return;
    tokens.clear();
    workspaces.clear();
    bindings.clear();
  });
  const verifyJwt = oidc ? createJwtVerifier(sql, oidc, workspaces, bindings) : undefined;
  const lookupToken = async (hash: string): Promise<TokenEntry> => {
    const [row] = await sql<
      {
        id: string;
        name: string;
        role: string;
        revoked_at: Date | null;
        last_used_at: Date | null;
        workspace_id: string | null;
        slug: string | null;
      }[]
    >`select t.id, t.name, t.role, t.revoked_at, t.last_used_at, w.id as workspace_id, w.slug
      from api_tokens t left join workspaces w on w.id = t.workspace_id
      where t.token_hash = ${hash}`;
    if (!row || row.revoked_at) throw new CommanderError('UNAUTHORIZED');
    const lastUsed = row.last_used_at?.getTime() ?? 0;
    if (row.workspace_id === null) {
      // The table's check pairs a missing workspace with a global role; refuse anything else.
      if (!isGlobalRole(row.role)) throw new CommanderError('UNAUTHORIZED');
      const principal: GlobalPrincipal = {
        scope: 'global',
        role: row.role,
        userType: 'AuthToken',
        userName: row.name,
        tokenId: row.id,
      };
      return { principal, lastUsed };
    }
    if (!isRole(row.role)) throw new CommanderError('UNAUTHORIZED');
    const principal: Principal = {
      scope: 'workspace',
      workspaceId: row.workspace_id,
      workspaceSlug: row.slug as string,
      role: row.role,
      userType: 'AuthToken',
      userName: row.name,
      tokenId: row.id,
    };
    return { principal, lastUsed };
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

/** Groups named in a JWT that are matched against role bindings; more are ignored. */
const MAX_GROUPS = 100;

/**
 * An OIDC user's role in the workspace its token names: the role claim, or the strongest role
 * that a workspace role binding gives the user or one of the groups in its groups claim —
 * whichever is stronger.
 */
function createJwtVerifier(
  sql: Sql,
  oidc: OidcConfig,
  workspaces: LookupCache<string>,
  bindings: LookupCache<Role | null>,
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
  const groupsClaim = oidc.groupsClaim ?? 'groups';
  const boundRole = async (workspaceId: string, user: string | undefined, groups: string[]) => {
    const key = JSON.stringify([workspaceId, user ?? null, groups]);
    const known = bindings.get(key);
    if (known !== undefined) return known;
    const role = strongest(await boundRoles(sql, workspaceId, user, groups));
    bindings.set(key, role);
    return role;
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
    const claimedRole = claims[oidc.roleClaim];
    if (typeof slug !== 'string') {
      throw new CommanderError('UNAUTHORIZED', `token lacks the ${oidc.workspaceClaim} claim`);
    }
    if (claimedRole !== undefined && !isRole(claimedRole)) {
      throw new CommanderError(
        'UNAUTHORIZED',
        `the token's ${oidc.roleClaim} claim must be ${ROLES.join(', ')} when present`,
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
    const groupClaim = claims[groupsClaim];
    const groups = Array.isArray(groupClaim)
      ? groupClaim
          .filter((group): group is string => typeof group === 'string')
          .slice(0, MAX_GROUPS)
          .sort()
      : [];
    for (const group of groups) checkClaim(groupsClaim, group);
    const bound = await boundRole(workspaceId, typeof user === 'string' ? user : undefined, groups);
    const role = strongest([claimedRole as Role | undefined, bound ?? undefined]);
    if (!role) {
      throw new CommanderError(
        'UNAUTHORIZED',
        `no role in workspace ${slug}: the token has no ${oidc.roleClaim} claim and no workspace role binding names its user or groups`,
      );
    }
    return {
      scope: 'workspace',
      workspaceId,
      workspaceSlug: slug,
      role,
      userType: 'User',
      userName: typeof user === 'string' ? user : 'unknown',
    };
  };
}

function strongest(roles: (Role | undefined)[]): Role | null {
  let best: Role | null = null;
  for (const role of roles) if (role && (!best || roleAllows(role, best))) best = role;
  return best;
}

function checkClaim(name: string, value: string): void {
  const problem =
    value.length > MAX_CLAIM_LENGTH ? `must be at most ${MAX_CLAIM_LENGTH} characters` : textProblem(value);
  if (problem) throw new CommanderError('UNAUTHORIZED', `the token's ${name} claim ${problem}`);
}
