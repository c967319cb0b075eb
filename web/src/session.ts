// The signed-in person's tokens: in session storage only (gone with the tab), never in a URL.
// A global token may hold one workspace token per workspace it opened.
const CURRENT = 'commander.token';
const GLOBAL = 'commander.global';
const WORKSPACES = 'commander.workspaces';

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
    for (const key of [CURRENT, GLOBAL, WORKSPACES]) sessionStorage.removeItem(key);
  },
};
