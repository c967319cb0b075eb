// Workspaces, the tenants every object belongs to: their SQL and row shape. Found or created by
// slug (first start, `token create`), created with a generated slug (the API), renamed.
import { randomInt } from 'node:crypto';
import type { Queryable } from './db/connect.js';
import { CommanderError } from './errors.js';

export interface WorkspaceRow {
  id: string;
  slug: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

/** A slug as people type it into `token create` and OIDC claims carry it. */
export const WORKSPACE_SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
export const WORKSPACE_SLUG_RULE =
  'lowercase letters, digits and dashes, up to 63, starting with a letter or digit';

const GENERATED_SLUG_LENGTH = 5;
const GENERATION_ATTEMPTS = 20;

/** Five random lowercase letters, as Commander names new workspaces. */
export function generateSlug(): string {
  let slug = '';
  for (let i = 0; i < GENERATED_SLUG_LENGTH; i++) slug += String.fromCharCode(97 + randomInt(26));
  return slug;
}

const COLUMNS = ['id', 'slug', 'name', 'created_at', 'updated_at'];

/** Finds or creates a workspace by slug (named after it when new). */
export async function ensureWorkspace(sql: Queryable, slug: string): Promise<{ id: string; slug: string }> {
  const [row] = await sql<{ id: string; slug: string }[]>`
    insert into workspaces (slug, name) values (${slug}, ${slug})
    on conflict (slug) do update set slug = excluded.slug
    returning id, slug`;
  if (!row) throw new Error(`workspace ${slug} could not be created`);
  return row;
}

/**
 * A new workspace. A slug given and taken is a NAME_TAKEN; a generated one is drawn again (26^5
 * slugs: a clash is rare, twenty in a row is a full table).
 */
export async function createWorkspace(
  sql: Queryable,
  input: { name: string; slug?: string },
): Promise<WorkspaceRow> {
  for (let attempt = 0; attempt < GENERATION_ATTEMPTS; attempt++) {
    const slug = input.slug ?? generateSlug();
    const [row] = await sql<WorkspaceRow[]>`
      insert into workspaces (slug, name) values (${slug}, ${input.name})
      on conflict (slug) do nothing
      returning ${sql(COLUMNS)}`;
    if (row) return row;
    if (input.slug !== undefined) {
      throw new CommanderError('NAME_TAKEN', `body/slug: a workspace with slug "${slug}" exists`);
    }
  }
  throw new CommanderError('CONFLICT', 'no free workspace slug was found; give one');
}

export async function listWorkspaces(sql: Queryable): Promise<WorkspaceRow[]> {
  return sql<WorkspaceRow[]>`select ${sql(COLUMNS)} from workspaces order by created_at, id`;
}

export async function findWorkspace(sql: Queryable, id: string): Promise<WorkspaceRow | undefined> {
  const [row] = await sql<WorkspaceRow[]>`select ${sql(COLUMNS)} from workspaces where id = ${id}`;
  return row;
}

/** Renames a workspace, locked; undefined when there is none. Returns the row before and after. */
export async function renameWorkspace(
  tx: Queryable,
  id: string,
  name: string,
): Promise<{ before: WorkspaceRow; after: WorkspaceRow } | undefined> {
  const [before] = await tx<WorkspaceRow[]>`
    select ${tx(COLUMNS)} from workspaces where id = ${id} for update`;
  if (!before) return undefined;
  const [after] = await tx<WorkspaceRow[]>`
    update workspaces set name = ${name}, updated_at = now() where id = ${id} returning ${tx(COLUMNS)}`;
  if (!after) throw new Error('workspace update lost');
  return { before, after };
}
