// Cluster templates and their versions in PostgreSQL: the rows, and every statement that reads
// or writes them. A version a live cluster uses keeps its content; templates are archived, never
// deleted.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Queryable } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import { SECTION_NAMES, type SectionName } from './template-sections.js';

export interface TemplateRow {
  id: string;
  workspace_id: string;
  name: string;
  comment: string;
  immutable: boolean;
  current_cluster_template_version_id: string | null;
  current_revision: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
}

export type VersionSections = Record<SectionName, string>;

export interface VersionRow extends VersionSections {
  id: string;
  cluster_template_id: string;
  version: number;
  name: string;
  comment: string;
  params: unknown[];
  unusable: boolean;
  created_at: Date;
  updated_at: Date;
}

/** What a request gives for a version: everything but the numbering. */
export interface VersionInput extends Partial<VersionSections> {
  name?: string;
  comment?: string;
  params?: unknown[];
  unusable?: boolean;
}

export interface TemplateInput {
  name: string;
  comment?: string;
  immutable?: boolean;
}

/** A version's metadata: what a template listing carries of each version. */
export const VERSION_SUMMARY_COLUMNS = [
  'id',
  'cluster_template_id',
  'version',
  'name',
  'comment',
  'unusable',
  'created_at',
  'updated_at',
] as const;

export type VersionSummary = Pick<VersionRow, (typeof VERSION_SUMMARY_COLUMNS)[number]>;

/** What changed in a section, for the audit trail: a digest, not 256 KiB of template. */
export function sectionDigest(text: string): string {
  return text === ''
    ? ''
    : `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)} (${Buffer.byteLength(text)} bytes)`;
}

/** A version as the audit trail records it. */
export function auditedVersion(version: VersionInput | VersionRow): Record<string, unknown> {
  const sections = Object.fromEntries(
    SECTION_NAMES.map((name) => [name, sectionDigest(version[name] ?? '')]),
  );
  return {
    name: version.name,
    comment: version.comment ?? '',
    params: version.params ?? [],
    unusable: version.unusable ?? false,
    ...sections,
  };
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export function nameTaken(error: unknown, name: string): unknown {
  return isUniqueViolation(error)
    ? new CommanderError('NAME_TAKEN', `a cluster template named "${name}" exists`)
    : error;
}

export async function listTemplates(
  sql: Queryable,
  workspaceId: string,
  withoutArchived: boolean,
): Promise<TemplateRow[]> {
  return sql<TemplateRow[]>`select * from cluster_templates where workspace_id = ${workspaceId}
    ${withoutArchived ? sql`and archived_at is null` : sql``} order by created_at, id`;
}

/** The template in the caller's workspace; `lock` holds its row for the transaction. */
export async function findTemplate(
  sql: Queryable,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<TemplateRow> {
  const [row] = await sql<TemplateRow[]>`select * from cluster_templates
    where id = ${id} and workspace_id = ${workspaceId} ${lock ? sql`for update` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `cluster template ${id} not found`);
  return row;
}

/** Every version's metadata for these templates, oldest first. */
export async function versionSummaries(
  sql: Queryable,
  templateIds: string[],
): Promise<Map<string, VersionSummary[]>> {
  const byTemplate = new Map<string, VersionSummary[]>(templateIds.map((id) => [id, []]));
  if (templateIds.length === 0) return byTemplate;
  const rows = await sql<VersionSummary[]>`select ${sql(VERSION_SUMMARY_COLUMNS as unknown as string[])}
    from cluster_template_versions where cluster_template_id = any(${templateIds}::uuid[])
    order by cluster_template_id, version`;
  for (const row of rows) byTemplate.get(row.cluster_template_id)?.push(row);
  return byTemplate;
}

export async function templateVersions(sql: Queryable, templateId: string): Promise<VersionRow[]> {
  return sql<VersionRow[]>`select * from cluster_template_versions
    where cluster_template_id = ${templateId} order by version`;
}

/** The version and its template, both in the caller's workspace. */
export async function findVersion(
  sql: Queryable,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<{ version: VersionRow; template: TemplateRow }> {
  const [version] = await sql<VersionRow[]>`select v.* from cluster_template_versions v
    join cluster_templates t on t.id = v.cluster_template_id
    where v.id = ${id} and t.workspace_id = ${workspaceId} ${lock ? sql`for update of v` : sql``}`;
  if (!version) throw new CommanderError('NOT_FOUND', `cluster template version ${id} not found`);
  const template = await findTemplate(sql, workspaceId, version.cluster_template_id);
  return { version, template };
}

export async function insertTemplate(
  tx: Queryable,
  workspaceId: string,
  input: TemplateInput,
): Promise<TemplateRow> {
  try {
    const [row] = await tx<
      TemplateRow[]
    >`insert into cluster_templates (workspace_id, name, comment, immutable)
      values (${workspaceId}, ${input.name}, ${input.comment ?? ''}, ${input.immutable ?? false}) returning *`;
    if (!row) throw new Error('cluster template was not stored');
    return row;
  } catch (error) {
    throw nameTaken(error, input.name);
  }
}

/**
 * Adds the next version of a template whose row the caller holds locked; it becomes the
 * template's current version, and the template's revision moves on.
 */
export async function insertVersion(
  tx: Queryable,
  template: TemplateRow,
  input: VersionInput,
): Promise<{ version: VersionRow; template: TemplateRow }> {
  const [next] = await tx<{ n: number }[]>`select coalesce(max(version), 0)::int + 1 as n
    from cluster_template_versions where cluster_template_id = ${template.id}`;
  const number = next?.n ?? 1;
  const sections = Object.fromEntries(SECTION_NAMES.map((name) => [name, input[name] ?? '']));
  const [version] = await tx<VersionRow[]>`insert into cluster_template_versions ${tx({
    cluster_template_id: template.id,
    version: number,
    name: input.name ?? `v${number}`,
    comment: input.comment ?? '',
    params: tx.json((input.params ?? []) as never),
    unusable: input.unusable ?? false,
    ...sections,
  } as never)} returning *`;
  if (!version) throw new Error('cluster template version was not stored');
  const [after] = await tx<TemplateRow[]>`update cluster_templates
    set current_cluster_template_version_id = ${version.id}, current_revision = current_revision + 1,
      updated_at = now()
    where id = ${template.id} returning *`;
  if (!after) throw new Error('cluster template update lost');
  return { version, template: after };
}

export async function updateTemplate(
  tx: Queryable,
  template: TemplateRow,
  input: TemplateInput & { current_cluster_template_version_id?: string },
): Promise<TemplateRow> {
  try {
    const [row] = await tx<TemplateRow[]>`update cluster_templates set name = ${input.name},
        comment = ${input.comment ?? ''}, immutable = ${input.immutable ?? template.immutable},
        current_cluster_template_version_id = ${
          input.current_cluster_template_version_id ?? template.current_cluster_template_version_id
        },
        current_revision = current_revision + 1, updated_at = now()
      where id = ${template.id} returning *`;
    if (!row) throw new Error('cluster template update lost');
    return row;
  } catch (error) {
    throw nameTaken(error, input.name);
  }
}

/** Archives a template; its number tells it apart from archived templates of the same name. */
export async function archiveTemplate(tx: Queryable, template: TemplateRow): Promise<TemplateRow> {
  const [row] = await tx<TemplateRow[]>`update cluster_templates set archived_at = now(), updated_at = now(),
      current_revision = current_revision + 1,
      archive_number = (select coalesce(max(archive_number), 0) + 1 from cluster_templates
        where workspace_id = ${template.workspace_id} and name = ${template.name} and archived_at is not null)
    where id = ${template.id} returning *`;
  if (!row) throw new Error('cluster template update lost');
  return row;
}

export async function updateVersion(
  tx: Queryable,
  version: VersionRow,
  input: VersionInput,
): Promise<VersionRow> {
  const sections = Object.fromEntries(SECTION_NAMES.map((name) => [name, input[name] ?? '']));
  const [row] = await tx<VersionRow[]>`update cluster_template_versions set ${tx({
    name: input.name ?? version.name,
    comment: input.comment ?? '',
    params: tx.json((input.params ?? []) as never),
    unusable: input.unusable ?? false,
    ...sections,
  } as never)}, updated_at = now() where id = ${version.id} returning *`;
  if (!row) throw new Error('cluster template version update lost');
  await tx`update cluster_templates set current_revision = current_revision + 1, updated_at = now()
    where id = ${version.cluster_template_id}`;
  return row;
}

/** True when the content (params or a section) of `input` differs from the stored version. */
export function contentChanges(version: VersionRow, input: VersionInput): boolean {
  // jsonb keeps its own key order: compared as values, not as text.
  if (!isDeepStrictEqual(version.params, input.params ?? [])) return true;
  return SECTION_NAMES.some((name) => version[name] !== (input[name] ?? ''));
}

/** How many live clusters use the version. */
export async function clustersUsing(tx: Queryable, versionId: string): Promise<number> {
  const [row] = await tx<{ n: number }[]>`select count(*)::int as n from clusters
    where cluster_template_version_id = ${versionId} and archived_at is null`;
  return row?.n ?? 0;
}
