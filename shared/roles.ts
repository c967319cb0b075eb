// The fixed roles a caller can hold and what each allows: workspace roles (a workspace token, an
// OIDC user bound to a workspace) and global roles (a token with no workspace).

/** Workspace roles, weakest first: each allows what the ones before it allow. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Global roles, weakest first. A global caller never reaches a workspace's objects. */
export const GLOBAL_ROLES = ['global_viewer', 'global_admin'] as const;
export type GlobalRole = (typeof GLOBAL_ROLES)[number];

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function globalRoleAllows(role: GlobalRole, needed: GlobalRole): boolean {
  return GLOBAL_ROLES.indexOf(role) >= GLOBAL_ROLES.indexOf(needed);
}

export function isRole(value: unknown): value is Role {
  return ROLES.includes(value as Role);
}

export function isGlobalRole(value: unknown): value is GlobalRole {
  return GLOBAL_ROLES.includes(value as GlobalRole);
}

/** What `GET /global_roles` answers: each global role and the resources it may read or change. */
export const GLOBAL_ROLE_PERMISSIONS: Record<GlobalRole, { description: string; permissions: string[] }> = {
  global_viewer: {
    description: 'reads workspaces, global roles, workspace role bindings and the global audit trail',
    permissions: ['workspaces:read', 'global_roles:read', 'workspace_role_bindings:read', 'audit:read'],
  },
  global_admin: {
    description: 'also creates and renames workspaces and manages workspace role bindings',
    permissions: [
      'workspaces:read',
      'workspaces:write',
      'global_roles:read',
      'workspace_role_bindings:read',
      'workspace_role_bindings:write',
      'audit:read',
    ],
  },
};
