// Inventory catalogs, their SQL and row shape: a slug that template parameters name
// (`catalog: <slug>`) and the schema its records' values follow, in the input-parameter format.
import { nextArchiveNumber } from '../shared/archive.js';
import type { Queryable } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import { fieldsOf, isField, type Params, paramsProblems } from '../shared/params/schema.js';
import { RECORD_ID_KEY } from '../shared/params/values.js';

export interface CatalogRow {
  id: string;
  workspace_id: string;
  slug: string;
  name: string;
  schema: Params;
  current_revision: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
}

export interface SchemaProblem {
  path: string;
  message: string;
}

/**
 * The rules of a record schema beyond its JSON Schema: those of any parameter list, no catalog
 * parameters (a record's values are plain; records do not take records), and no field named
 * RECORD_ID_KEY (a template sees the record's id under it).
 */
export function catalogSchemaProblems(schema: Params, root = 'body/schema'): SchemaProblem[] {
  const problems = paramsProblems(schema).map((problem) => ({
    path: problem.path.replace(/^params/, root),
    message: problem.message,
  }));
  schema.forEach((param, index) => {
    if (isField(param) && param.catalog !== undefined) {
      problems.push({
        path: `${root}/${index}/catalog`,
        message: 'is not allowed: a record cannot take records',
      });
    }
    if (isField(param) && param.key === RECORD_ID_KEY) {
      problems.push({
        path: `${root}/${index}/key`,
        message: `"${RECORD_ID_KEY}" is reserved: templates see the record's id under it`,
      });
    }
  });
  return problems;
}

/** The keys whose values must be unique among a catalog's live records. */
export function uniqueKeys(schema: Params): string[] {
  return fieldsOf(schema)
    .filter((field) => field.unique)
    .map((field) => field.key);
}

/** The live catalog a unique index found already holding the slug or the name; else undefined. */
function takenError(error: unknown, input: { slug?: string; name: string }): CommanderError | undefined {
  const failure = error as { code?: string; constraint_name?: string };
  if (failure.code !== '23505') return undefined;
  return failure.constraint_name === 'catalogs_name'
    ? new CommanderError('NAME_TAKEN', `body/name: a catalog named "${input.name}" exists`)
    : new CommanderError('NAME_TAKEN', `body/slug: a catalog with slug "${input.slug}" exists`);
}

export async function listCatalogs(
  sql: Queryable,
  workspaceId: string,
  options: { withoutArchived?: boolean } = {},
): Promise<CatalogRow[]> {
  return sql<CatalogRow[]>`
    select * from catalogs where workspace_id = ${workspaceId}
      ${options.withoutArchived ? sql`and archived_at is null` : sql``}
    order by created_at, id`;
}

/**
 * Another workspace's catalog is not found, like a missing one. `lock` serialises the catalog's
 * record writes (uniqueness is checked under it) with changes to its schema.
 */
export async function findCatalog(
  sql: Queryable,
  workspaceId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<CatalogRow> {
  const [row] = await sql<CatalogRow[]>`
    select * from catalogs where id = ${id} and workspace_id = ${workspaceId}
      ${options.lock ? sql`for update` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `catalog ${id} not found`);
  return row;
}

export async function insertCatalog(
  tx: Queryable,
  workspaceId: string,
  input: { slug: string; name: string; schema: Params },
): Promise<CatalogRow> {
  try {
    const [row] = await tx<CatalogRow[]>`
      insert into catalogs (workspace_id, slug, name, schema)
      values (${workspaceId}, ${input.slug}, ${input.name}, ${tx.json(input.schema as never)})
      returning *`;
    if (!row) throw new Error('catalog was not stored');
    return row;
  } catch (error) {
    throw takenError(error, input) ?? error;
  }
}

/**
 * Replaces the name and schema of a locked, live catalog. A field newly marked unique must
 * already be unique among the live records: otherwise 409 naming the key.
 */
export async function updateCatalog(
  tx: Queryable,
  before: CatalogRow,
  input: { name: string; schema: Params },
): Promise<CatalogRow> {
  const added = uniqueKeys(input.schema).filter((key) => !uniqueKeys(before.schema).includes(key));
  for (const key of added) {
    const [duplicate] = await tx<{ n: number }[]>`
      select count(*)::int as n from records
      where catalog_id = ${before.id} and archived_at is null and values ? ${key}
      group by values -> ${key} having count(*) > 1 limit 1`;
    if (duplicate) {
      throw new CommanderError(
        'CONFLICT',
        `body/schema: "${key}" cannot become unique: ${duplicate.n} live records share a value`,
      );
    }
  }
  try {
    const [row] = await tx<CatalogRow[]>`
      update catalogs set name = ${input.name}, schema = ${tx.json(input.schema as never)},
        current_revision = current_revision + 1, updated_at = now()
      where id = ${before.id} returning *`;
    if (!row) throw new Error('catalog update lost');
    return row;
  } catch (error) {
    throw takenError(error, input) ?? error;
  }
}

/** Archives a locked catalog that has no live records left. */
export async function archiveCatalog(tx: Queryable, row: CatalogRow): Promise<CatalogRow> {
  const [live] = await tx<{ n: number }[]>`
    select count(*)::int as n from records where catalog_id = ${row.id} and archived_at is null`;
  if (live && live.n > 0) {
    throw new CommanderError('CONFLICT', `the catalog has ${live.n} live records; archive them first`);
  }
  const number = await nextArchiveNumber(tx, 'catalogs', { workspace_id: row.workspace_id, slug: row.slug });
  const [after] = await tx<CatalogRow[]>`
    update catalogs set archived_at = now(), archive_number = ${number},
      current_revision = current_revision + 1, updated_at = now()
    where id = ${row.id} returning *`;
  if (!after) throw new Error('catalog archive lost');
  return after;
}
