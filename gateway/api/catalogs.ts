// Inventory catalogs of the caller's workspace: read as Commander's API does, plus create, change
// and archive so people and the web application can make them.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archiveNumberJson } from '../../shared/archive.js';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { Params } from '../../shared/params/schema.js';
import { archiveOnce } from '../archive-once.js';
import {
  archiveCatalog,
  type CatalogRow,
  catalogSchemaProblems,
  findCatalog,
  insertCatalog,
  listCatalogs,
  updateCatalog,
} from '../catalogs.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
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

const slug = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
  description: 'the technical name template parameters use (`catalog: <slug>`); cannot change',
});

const catalogSchema = {
  type: 'object',
  required: [
    'id',
    'slug',
    'name',
    'schema',
    'current_revision',
    'created_at',
    'updated_at',
    'archived_at',
    'archive_number',
  ],
  properties: {
    id: uuid,
    slug: { type: 'string' },
    name: { type: 'string' },
    schema: {
      type: 'array',
      items: { type: 'object', additionalProperties: true },
      description: "the records' parameters, in the input-parameter format",
    },
    current_revision: { type: 'integer' },
    created_at: timestamp,
    updated_at: timestamp,
    ...archivedFields,
  },
} as const;

function catalogJson(row: CatalogRow) {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    schema: row.schema,
    current_revision: row.current_revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
    archive_number: archiveNumberJson(row.archive_number),
  };
}

function checkSchema(schema: Params | undefined): void {
  if (schema === undefined) return;
  const problems = catalogSchemaProblems(schema);
  if (problems.length > 0) {
    throw new CommanderError(
      'VALIDATION_FAILED',
      problems.map((problem) => `${problem.path} ${problem.message}`).join('; '),
      problems,
    );
  }
}

export function catalogRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  api.get(
    '/catalogs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        querystring: archivedQuery,
        response: responses({ 200: { type: 'array', items: catalogSchema } }),
      },
    },
    async (request) =>
      (
        await listCatalogs(sql, request.principal.workspaceId, {
          withoutArchived: request.query.without_archived,
        })
      ).map(catalogJson),
  );

  api.get(
    '/catalogs/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['inventory'], params: idParams, response: responses({ 200: catalogSchema }) },
    },
    async (request) => catalogJson(await findCatalog(sql, request.principal.workspaceId, request.params.id)),
  );

  api.post(
    '/catalogs',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        body: Type.Object({ slug, name: freeName, schema: Params }, { additionalProperties: false }),
        response: responses({ 201: catalogSchema }),
      },
    },
    async (request, reply) => {
      checkSchema(request.body.schema);
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const created = await insertCatalog(tx, request.principal.workspaceId, request.body);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Catalog',
          auditableId: created.id,
          action: 'create',
          changes: { slug: created.slug, name: created.name, schema: created.schema },
        });
        return { row: created, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send(catalogJson(row));
    },
  );

  api.put(
    '/catalogs/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        description:
          "Changes the name or the records' schema. Records that no longer match keep their values and " +
          'read `schema_matches: false`. The slug cannot change.',
        params: idParams,
        body: Type.Object(
          {
            slug: Type.Optional(slug),
            name: Type.Optional(freeName),
            schema: Type.Optional(Params),
            current_revision: Type.Optional(currentRevision),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: responses({ 200: catalogSchema }),
      },
    },
    async (request) => {
      const input = request.body;
      checkSchema(input.schema);
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const before = await findCatalog(tx, request.principal.workspaceId, request.params.id, {
          lock: true,
        });
        if (before.archived_at) throw new CommanderError('CONFLICT', 'an archived catalog cannot change');
        if (input.current_revision !== undefined && input.current_revision !== before.current_revision) {
          throw new CommanderError(
            'REVISION_CONFLICT',
            `revision_conflict: the catalog is at revision ${before.current_revision}, not ${input.current_revision}`,
          );
        }
        if (input.slug !== undefined && input.slug !== before.slug) {
          throw new CommanderError(
            'VALIDATION_FAILED',
            'body/slug cannot change: templates name the catalog by it',
          );
        }
        const after = await updateCatalog(tx, before, {
          name: input.name ?? before.name,
          schema: input.schema ?? before.schema,
        });
        const record = await recordAudit(tx, actor, {
          auditableType: 'Catalog',
          auditableId: after.id,
          action: 'update',
          changes: diffChanges(
            { name: before.name, schema: before.schema },
            { name: after.name, schema: after.schema },
          ),
        });
        return { row: after, audit: record };
      });
      deps.printAudit(audit);
      return catalogJson(row);
    },
  );

  api.delete(
    '/catalogs/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        description: 'Archives the catalog; refused (409) while it has live records.',
        params: idParams,
        response: responses({ 200: catalogSchema }),
      },
    },
    async (request) => {
      const row = await archiveOnce(
        deps,
        actorOf(request),
        'Catalog',
        (tx) => findCatalog(tx, request.principal.workspaceId, request.params.id, { lock: true }),
        archiveCatalog,
      );
      return catalogJson(row);
    },
  );
}
