// Workspace role bindings, their SQL and row shape: an OIDC user or group given a workspace role.
// The global API manages them; the OIDC sign-in reads them (auth.ts).
import { nextArchiveNumber } from '../shared/archive.js';
import type { Queryable } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import type { Role } from '../shared/roles.js';

export const SUBJECT_KINDS = ['user', 'group'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export interface BindingRow {
  id: string;
  workspace_id: string;
  role: Role;
  subject_kind: SubjectKind;
  subject_name: string;
  current_revision: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
}

export interface BindingInput {
  workspace_id: string;
  role: Role;
  subject_kind: SubjectKind;
  subject_name: string;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function subjectTaken(input: Pick<BindingInput, 'subject_kind' | 'subject_name'>): CommanderError {
  return new CommanderError(
    'NAME_TAKEN',
    `body/subject_name: ${input.subject_kind} "${input.subject_name}" is bound in this workspace already; change that binding's role instead`,
  );
}

export async function listBindings(
  sql: Queryable,
  filter: { workspaceId?: string; withoutArchived?: boolean },
): Promise<BindingRow[]> {
  return sql<BindingRow[]>`
    select * from workspace_role_bindings where true
      ${filter.workspaceId ? sql`and workspace_id = ${filter.workspaceId}` : sql``}
      ${filter.withoutArchived ? sql`and archived_at is null` : sql``}
    order by created_at, id`;
}

export async function findBinding(
  sql: Queryable,
  id: string,
  options: { lock?: boolean } = {},
): Promise<BindingRow> {
  const [row] = await sql<BindingRow[]>`
    select * from workspace_role_bindings where id = ${id} ${options.lock ? sql`for update` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `workspace role binding ${id} not found`);
  return row;
}

export async function insertBinding(tx: Queryable, input: BindingInput): Promise<BindingRow> {
  try {
    const [row] = await tx<BindingRow[]>`
      insert into workspace_role_bindings (workspace_id, role, subject_kind, subject_name)
      values (${input.workspace_id}, ${input.role}, ${input.subject_kind}, ${input.subject_name})
      returning *`;
    if (!row) throw new Error('binding was not stored');
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw subjectTaken(input);
    throw error;
  }
}

/** Replaces the role and subject of a locked, live binding; its revision moves on. */
export async function updateBinding(
  tx: Queryable,
  before: BindingRow,
  changes: Partial<Pick<BindingInput, 'role' | 'subject_kind' | 'subject_name'>>,
): Promise<BindingRow> {
  const next = {
    role: changes.role ?? before.role,
    subject_kind: changes.subject_kind ?? before.subject_kind,
    subject_name: changes.subject_name ?? before.subject_name,
  };
  try {
    const [row] = await tx<BindingRow[]>`
      update workspace_role_bindings
      set role = ${next.role}, subject_kind = ${next.subject_kind}, subject_name = ${next.subject_name},
        current_revision = current_revision + 1, updated_at = now()
      where id = ${before.id} returning *`;
    if (!row) throw new Error('binding update lost');
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw subjectTaken(next);
    throw error;
  }
}

export async function archiveBinding(tx: Queryable, row: BindingRow): Promise<BindingRow> {
  const number = await nextArchiveNumber(tx, 'workspace_role_bindings', {
    workspace_id: row.workspace_id,
    subject_kind: row.subject_kind,
    subject_name: row.subject_name,
  });
  const [after] = await tx<BindingRow[]>`
    update workspace_role_bindings
    set archived_at = now(), archive_number = ${number}, current_revision = current_revision + 1, updated_at = now()
    where id = ${row.id} returning *`;
  if (!after) throw new Error('binding archive lost');
  return after;
}

/** The roles live bindings give a user (by name) or any of its groups in one workspace. */
export async function boundRoles(
  sql: Queryable,
  workspaceId: string,
  user: string | undefined,
  groups: string[],
): Promise<Role[]> {
  const rows = await sql<{ role: Role }[]>`
    select role from workspace_role_bindings
    where workspace_id = ${workspaceId} and archived_at is null
      and ((subject_kind = 'user' and subject_name = ${user ?? null})
        or (subject_kind = 'group' and subject_name = any(${groups}::text[])))`;
  return rows.map((row) => row.role);
}
