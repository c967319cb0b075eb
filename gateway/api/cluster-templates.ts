// Cluster templates and their versions: create, read, update, archive; a version a live cluster
// uses cannot change (a new version is a new row).
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archiveNumberJson } from '../../shared/archive.js';
import { type AuditRecord, diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { Params, paramsProblems } from '../../shared/params/schema.js';
import { archiveOnce } from '../archive-once.js';
import {
  archiveTemplate,
  auditedVersion,
  clustersUsing,
  contentChanges,
  findTemplate,
  findVersion,
  insertTemplate,
  insertVersion,
  listTemplates,
  type TemplateRow,
  templateVersions,
  updateTemplate,
  updateVersion,
  type VersionRow,
  type VersionSummary,
  versionSummaries,
} from '../cluster-templates.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { checkRevision } from '../revision.js';
import { SECTION_NAMES, TEMPLATE_LIMITS } from '../template-sections.js';
import {
  archivedFields,
  archivedQuery,
  currentRevision,
  freeName,
  idParams,
  responses,
  timestamp,
  uuid,
} from './schemas.js';

const comment = Type.String({ maxLength: TEMPLATE_LIMITS.commentChars });
const section = Type.String({ maxLength: TEMPLATE_LIMITS.sectionChars });

const versionInput = Type.Object(
  {
    name: Type.Optional(freeName),
    comment: Type.Optional(comment),
    params: Type.Optional(Params),
    unusable: Type.Optional(
      Type.Boolean({ description: 'no cluster may be created from or switched to an unusable version' }),
    ),
    ...Object.fromEntries(SECTION_NAMES.map((name) => [name, Type.Optional(section)])),
  },
  { additionalProperties: false },
);
type VersionBody = Static<typeof versionInput> & Partial<Record<(typeof SECTION_NAMES)[number], string>>;

const templateCreate = Type.Object(
  {
    name: freeName,
    comment: Type.Optional(comment),
    immutable: Type.Optional(Type.Boolean()),
    cluster_template_versions: Type.Optional(
      Type.Array(versionInput, {
        maxItems: TEMPLATE_LIMITS.versionsPerRequest,
        description: 'versions to create with the template, in order; the last becomes the current one',
      }),
    ),
  },
  { additionalProperties: false },
);

const templateUpdate = Type.Object(
  {
    name: freeName,
    comment: Type.Optional(comment),
    immutable: Type.Optional(Type.Boolean()),
    current_cluster_template_version_id: Type.Optional(uuid),
    current_revision: currentRevision,
  },
  { additionalProperties: false },
);

const versionSummarySchema = {
  type: 'object',
  required: [
    'id',
    'cluster_template_id',
    'version',
    'name',
    'comment',
    'unusable',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: uuid,
    cluster_template_id: uuid,
    version: { type: 'string', description: 'the version number, as a string (as Commander answers)' },
    name: { type: 'string' },
    comment: { type: 'string' },
    unusable: { type: 'boolean' },
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;

const versionSchema = {
  type: 'object',
  required: [...versionSummarySchema.required, 'params', ...SECTION_NAMES],
  properties: {
    ...versionSummarySchema.properties,
    params: { type: 'array', items: { type: 'object', additionalProperties: true } },
    ...Object.fromEntries(SECTION_NAMES.map((name) => [name, { type: 'string' }])),
  },
} as const;

function templateSchema(versions: object) {
  return {
    type: 'object',
    required: [
      'id',
      'name',
      'comment',
      'current_cluster_template_version_id',
      'current_revision',
      'immutable',
      'cluster_template_versions',
      'created_at',
      'updated_at',
      'archived_at',
      'archive_number',
    ],
    properties: {
      id: uuid,
      name: { type: 'string' },
      comment: { type: 'string' },
      current_cluster_template_version_id: { type: ['string', 'null'], format: 'uuid' },
      current_revision: { type: 'integer' },
      immutable: { type: 'boolean' },
      cluster_template_versions: { type: 'array', items: versions },
      created_at: timestamp,
      updated_at: timestamp,
      ...archivedFields,
    },
  } as const;
}

/** One template with every version in full. */
const templateResponse = templateSchema(versionSchema);
/** In lists, versions carry their metadata only: GET the template or its versions for the content. */
const templateListItem = templateSchema(versionSummarySchema);

function templateJson(row: TemplateRow, versions: Array<VersionRow | VersionSummary>) {
  const { workspace_id: _workspace, ...template } = row;
  return {
    ...template,
    archive_number: archiveNumberJson(row.archive_number),
    cluster_template_versions: versions.map(versionJson),
  };
}

/** A version as answered: its number as a string, since Commander's clients decode it as one. */
function versionJson<T extends { version: number }>(version: T): Omit<T, 'version'> & { version: string } {
  return { ...version, version: String(version.version) };
}

/** The params rules a JSON Schema cannot say (duplicate keys, defaults of the wrong type…). */
function checkParams(version: VersionBody, path: string): void {
  const problems = paramsProblems((version.params ?? []) as Params).map((problem) => ({
    path: `${path}/${problem.path}`,
    message: problem.message,
  }));
  if (problems.length > 0) {
    throw new CommanderError(
      'VALIDATION_FAILED',
      problems.map((problem) => `${problem.path} ${problem.message}`).join('; '),
      problems,
    );
  }
}

/** What the audit trail records of a template. */
function auditedTemplate(row: Pick<TemplateRow, 'name' | 'comment' | 'immutable'>) {
  return { name: row.name, comment: row.comment, immutable: row.immutable };
}

export function clusterTemplateRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;
  const bodyLimit = TEMPLATE_LIMITS.bodyBytes;

  const fullTemplate = async (row: TemplateRow) => templateJson(row, await templateVersions(sql, row.id));

  api.get(
    '/cluster_templates',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['cluster templates'],
        description:
          "The workspace's templates, archived ones too unless without_archived=true. Versions carry " +
          'their metadata only here.',
        querystring: archivedQuery,
        response: responses({ 200: { type: 'array', items: templateListItem } }),
      },
    },
    async (request) => {
      const rows = await listTemplates(
        sql,
        request.principal.workspaceId,
        request.query.without_archived === true,
      );
      const versions = await versionSummaries(
        sql,
        rows.map((row) => row.id),
      );
      return rows.map((row) => templateJson(row, versions.get(row.id) ?? []));
    },
  );

  api.post(
    '/cluster_templates',
    {
      bodyLimit,
      config: { role: 'operator' },
      schema: {
        tags: ['cluster templates'],
        body: templateCreate,
        response: responses({ 201: templateResponse }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const input = request.body;
      for (const [index, version] of (input.cluster_template_versions ?? []).entries()) {
        checkParams(version as VersionBody, `body/cluster_template_versions/${index}`);
      }
      const [template, records] = await sql.begin(async (tx) => {
        let row = await insertTemplate(tx, request.principal.workspaceId, input);
        const audits: AuditRecord[] = [
          await recordAudit(tx, actor, {
            auditableType: 'ClusterTemplate',
            auditableId: row.id,
            action: 'create',
            changes: auditedTemplate(row),
          }),
        ];
        for (const version of input.cluster_template_versions ?? []) {
          const created = await insertVersion(tx, row, version as VersionBody);
          row = created.template;
          audits.push(
            await recordAudit(tx, actor, {
              auditableType: 'ClusterTemplateVersion',
              auditableId: created.version.id,
              action: 'create',
              changes: {
                cluster_template_id: row.id,
                version: created.version.version,
                ...auditedVersion(created.version),
              },
            }),
          );
        }
        return [row, audits] as const;
      });
      deps.printAudit(...records);
      return reply.status(201).send(await fullTemplate(template));
    },
  );

  api.get(
    '/cluster_templates/:id',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['cluster templates'],
        params: idParams,
        querystring: archivedQuery,
        response: responses({ 200: templateResponse }),
      },
    },
    async (request) => {
      const row = await findTemplate(sql, request.principal.workspaceId, request.params.id);
      if (row.archived_at && request.query.without_archived) {
        throw new CommanderError('NOT_FOUND', `cluster template ${row.id} is archived`);
      }
      return fullTemplate(row);
    },
  );

  api.put(
    '/cluster_templates/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['cluster templates'],
        description:
          'Replaces the name, comment and immutable flag, and may point current_cluster_template_version_id ' +
          'at another of its versions. Carries the current_revision read; a stale one answers 409.',
        params: idParams,
        body: templateUpdate,
        response: responses({ 200: templateResponse }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const input = request.body;
      const [template, record] = await sql.begin(async (tx) => {
        const before = await findTemplate(tx, request.principal.workspaceId, request.params.id, true);
        checkRevision('cluster template', before.current_revision, input.current_revision);
        if (before.archived_at)
          throw new CommanderError('CONFLICT', 'an archived cluster template cannot change');
        if (before.immutable) throw new CommanderError('CONFLICT', 'the cluster template is immutable');
        const current = input.current_cluster_template_version_id;
        if (current !== undefined) {
          const [own] = await tx`select 1 from cluster_template_versions
            where id = ${current} and cluster_template_id = ${before.id}`;
          if (!own) {
            const message = `is not a version of cluster template ${before.id}`;
            throw new CommanderError(
              'VALIDATION_FAILED',
              `body/current_cluster_template_version_id ${message}`,
              [{ path: 'body/current_cluster_template_version_id', message }],
            );
          }
        }
        const after = await updateTemplate(tx, before, input);
        const audit = await recordAudit(tx, actor, {
          auditableType: 'ClusterTemplate',
          auditableId: before.id,
          action: 'update',
          changes: diffChanges(
            {
              ...auditedTemplate(before),
              current_cluster_template_version_id: before.current_cluster_template_version_id,
            },
            {
              ...auditedTemplate(after),
              current_cluster_template_version_id: after.current_cluster_template_version_id,
            },
          ),
        });
        return [after, audit] as const;
      });
      deps.printAudit(record);
      return fullTemplate(template);
    },
  );

  api.delete(
    '/cluster_templates/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['cluster templates'],
        description:
          'Archives the template: it leaves lists called with without_archived=true, takes no new clusters ' +
          'and frees its name. Clusters made from its versions keep them.',
        params: idParams,
        response: responses({ 200: templateResponse }),
      },
    },
    async (request) => {
      const template = await archiveOnce(
        deps,
        actorOf(request),
        'ClusterTemplate',
        (tx) => findTemplate(tx, request.principal.workspaceId, request.params.id, true),
        archiveTemplate,
        (after) => ({ archived_at: [null, after.archived_at], archive_number: [null, after.archive_number] }),
      );
      return fullTemplate(template);
    },
  );

  api.get(
    '/cluster_templates/:id/versions',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['cluster templates'],
        description: "The template's versions in full, oldest first.",
        params: idParams,
        response: responses({ 200: { type: 'array', items: versionSchema } }),
      },
    },
    async (request) => {
      const template = await findTemplate(sql, request.principal.workspaceId, request.params.id);
      return (await templateVersions(sql, template.id)).map(versionJson);
    },
  );

  api.post(
    '/cluster_templates/:id/versions',
    {
      bodyLimit,
      config: { role: 'operator' },
      schema: {
        tags: ['cluster templates'],
        description: "A new version: it gets the next number and becomes the template's current version.",
        params: idParams,
        body: versionInput,
        response: responses({ 201: versionSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      checkParams(request.body as VersionBody, 'body');
      const [version, record] = await sql.begin(async (tx) => {
        const template = await findTemplate(tx, request.principal.workspaceId, request.params.id, true);
        if (template.archived_at) {
          throw new CommanderError('CONFLICT', 'an archived cluster template takes no new versions');
        }
        if (template.immutable) throw new CommanderError('CONFLICT', 'the cluster template is immutable');
        const created = await insertVersion(tx, template, request.body as VersionBody);
        const audit = await recordAudit(tx, actor, {
          auditableType: 'ClusterTemplateVersion',
          auditableId: created.version.id,
          action: 'create',
          changes: {
            cluster_template_id: template.id,
            version: created.version.version,
            ...auditedVersion(created.version),
          },
        });
        return [created.version, audit] as const;
      });
      deps.printAudit(record);
      return reply.status(201).send(versionJson(version));
    },
  );

  api.get(
    '/cluster_template_versions/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['cluster templates'], params: idParams, response: responses({ 200: versionSchema }) },
    },
    async (request) =>
      versionJson((await findVersion(sql, request.principal.workspaceId, request.params.id)).version),
  );

  api.put(
    '/cluster_template_versions/:id',
    {
      bodyLimit,
      config: { role: 'operator' },
      schema: {
        tags: ['cluster templates'],
        description:
          'Replaces the version. Its params and sections may change only while no live cluster uses it ' +
          '(409 VERSION_IN_USE: make a new version instead); name, comment and unusable may always change.',
        params: idParams,
        body: versionInput,
        response: responses({ 200: versionSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const input = request.body as VersionBody;
      checkParams(input, 'body');
      const [version, record] = await sql.begin(async (tx) => {
        const { version: before, template } = await findVersion(
          tx,
          request.principal.workspaceId,
          request.params.id,
          true,
        );
        if (template.archived_at) throw new CommanderError('CONFLICT', 'the cluster template is archived');
        if (template.immutable) throw new CommanderError('CONFLICT', 'the cluster template is immutable');
        if (contentChanges(before, input)) {
          const users = await clustersUsing(tx, before.id);
          if (users > 0) {
            throw new CommanderError(
              'VERSION_IN_USE',
              `${users} cluster${users === 1 ? ' uses' : 's use'} version ${before.version}: its params and ` +
                'sections cannot change; POST a new version to the template instead',
            );
          }
        }
        const after = await updateVersion(tx, before, input);
        const audit = await recordAudit(tx, actor, {
          auditableType: 'ClusterTemplateVersion',
          auditableId: before.id,
          action: 'update',
          changes: diffChanges(auditedVersion(before), auditedVersion(after)),
        });
        return [after, audit] as const;
      });
      deps.printAudit(record);
      return versionJson(version);
    },
  );
}
