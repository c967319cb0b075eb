// The signed-in person's tokens: in session storage only (gone with the tab), never in a URL.
// A global token may hold one workspace token per workspace it opened. An OIDC sign-in's token
// is kept the same way as a workspace token.
const CURRENT = 'commander.token';
const GLOBAL = 'commander.global';
const WORKSPACES = 'commander.workspaces';
/** A sign-in with OIDC under way (oidc.ts): its state and PKCE verifier, until the issuer answers. */
export const OIDC_PENDING = 'commander.oidc';

/**
 * The header a credential travels in: an OIDC JWT (three dot-separated parts, as the gateway
 * tells them apart) as `Authorization: Bearer`, an API token as `X-Auth-Token`.
 */
export function authHeaders(token: string | null): Record<string, string> {
  if (!token) return {};
  return token.split('.').length === 3 ? { authorization: `Bearer ${token}` } : { 'x-auth-token': token };
}

export interface WorkspaceToken {
  id: string;
  name: string;
  token: string;
}

export const session = {
  token: (): string | null => sessionStorage.getItem(CURRENT),
  globalToken: (): string | null => sessionStorage.getItem(GLOBAL),
  signIn(token: string, global: boolean): void {
    sessionStorage.setItem(CURRENT, token);
    if (global) sessionStorage.setItem(GLOBAL, token);
  },
  workspaces(): WorkspaceToken[] {
    try {
      return JSON.parse(sessionStorage.getItem(WORKSPACES) ?? '[]') as WorkspaceToken[];
    } catch {
      return [];
    }
  },
  openWorkspace(entry: WorkspaceToken): void {
    const others = session.workspaces().filter((w) => w.id !== entry.id);
    sessionStorage.setItem(WORKSPACES, JSON.stringify([...others, entry]));
    sessionStorage.setItem(CURRENT, entry.token);
  },
  useToken(token: string): void {
    sessionStorage.setItem(CURRENT, token);
  },
  signOut(): void {
    for (const key of [CURRENT, GLOBAL, WORKSPACES, OIDC_PENDING]) sessionStorage.removeItem(key);
  },
};
