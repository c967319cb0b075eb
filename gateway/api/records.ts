// Inventory records of the caller's workspace: create, read, change, archive. Values are checked
// against the catalog's schema; `unique` fields are unique among the catalog's live records.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archiveNumberJson } from '../../shared/archive.js';
import { diffChanges, MASK, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { fieldsOf, type Params } from '../../shared/params/schema.js';
import { checkValues, RECORD_ID_KEY } from '../../shared/params/values.js';
import {
  archiveRecord,
  findRecord,
  insertRecord,
  listRecords,
  type RecordRow,
  uniqueViolations,
  updateRecordValues,
} from '../../shared/records.js';
import { archiveOnce } from '../archive-once.js';
import { type CatalogRow, findCatalog, listCatalogs, uniqueKeys } from '../catalogs.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { archivedFields, currentRevision, idParams, responses, timestamp, uuid } from './schemas.js';

// Free-form: its content is bounded where every JSON body is (gateway/input.ts: depth, text).
const values = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 1000 });

const recordSchema = {
  type: 'object',
  required: [
    'id',
    'catalog_id',
    'cluster_id',
    'values',
    'schema_matches',
    'current_revision',
    'created_at',
    'updated_at',
    'archived_at',
    'archive_number',
  ],
  properties: {
    id: uuid,
    catalog_id: uuid,
    cluster_id: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'the cluster it is bound to; null when free',
    },
    values: { type: 'object', additionalProperties: true },
    schema_matches: {
      type: 'boolean',
      description: "whether the values satisfy the catalog's schema as it is now (it may have changed since)",
    },
    current_revision: { type: 'integer' },
    created_at: timestamp,
    updated_at: timestamp,
    ...archivedFields,
  },
} as const;

function recordJson(row: RecordRow, schema: Params) {
  return {
    id: row.id,
    catalog_id: row.catalog_id,
    cluster_id: row.cluster_id,
    values: row.values,
    schema_matches: checkValues(schema, row.values).errors.length === 0,
    current_revision: row.current_revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
    archive_number: archiveNumberJson(row.archive_number),
  };
}

/** Values as the audit trail shows them: `format: password` fields masked besides the usual names. */
function auditedValues(schema: Params, given: Record<string, unknown>): Record<string, unknown> {
  const secret = new Set(
    fieldsOf(schema)
      .filter((field) => field.format === 'password')
      .map((field) => field.key),
  );
  return Object.fromEntries(
    Object.entries(given).map(([key, value]) => [key, secret.has(key) ? MASK : value]),
  );
}

/**
 * The values as the schema takes them (defaults applied, immutable ones held to `previous`), or
 * 422 naming each bad key; then 409 naming each unique key another live record holds.
 */
async function checkedValues(
  tx: Parameters<typeof uniqueViolations>[0],
  catalog: CatalogRow,
  given: Record<string, unknown>,
  previous?: RecordRow,
): Promise<Record<string, unknown>> {
  const checked = checkValues(catalog.schema, given, { previous: previous?.values });
  if (checked.errors.length > 0) {
    const details = checked.errors.map((issue) => ({
      path: `body/values/${issue.key}`,
      // A catalog cannot declare the key (catalogSchemaProblems), so it is always unknown here.
      message:
        issue.key === RECORD_ID_KEY
          ? `is reserved: templates see the record's id under "${RECORD_ID_KEY}"`
          : issue.message,
    }));
    throw new CommanderError(
      'INVALID_VALUES',
      details.map((detail) => `${detail.path} ${detail.message}`).join('; '),
      details,
    );
  }
  const duplicates = await uniqueViolations(
    tx,
    catalog.id,
    uniqueKeys(catalog.schema),
    checked.values,
    previous?.id,
  );
  if (duplicates.length > 0) {
    throw new CommanderError(
      'CONFLICT',
      duplicates.map((issue) => `${issue.path} ${issue.message}`).join('; '),
      duplicates,
    );
  }
  return checked.values;
}

export function recordRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  /** The catalog a body names, locked for the record write. */
  const bodyCatalog = async (tx: Parameters<typeof findCatalog>[0], workspaceId: string, id: string) => {
    let catalog: CatalogRow;
    try {
      catalog = await findCatalog(tx, workspaceId, id, { lock: true });
    } catch (error) {
      if (error instanceof CommanderError && error.code === 'NOT_FOUND') {
        throw new CommanderError(
          'VALIDATION_FAILED',
          `body/catalog_id names no catalog of this workspace (${id})`,
        );
      }
      throw error;
    }
    if (catalog.archived_at) {
      throw new CommanderError('VALIDATION_FAILED', `body/catalog_id names an archived catalog (${id})`);
    }
    return catalog;
  };

  api.get(
    '/records',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        querystring: Type.Object(
          {
            catalog_id: Type.Optional(uuid),
            cluster_id: Type.Optional(uuid),
            without_archived: Type.Optional(Type.Boolean({ default: false })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: recordSchema } }),
      },
    },
    async (request) => {
      const { workspaceId } = request.principal;
      const [rows, catalogs] = await Promise.all([
        listRecords(sql, workspaceId, {
          catalogId: request.query.catalog_id,
          clusterId: request.query.cluster_id,
          withoutArchived: request.query.without_archived,
        }),
        listCatalogs(sql, workspaceId),
      ]);
      const schemas = new Map(catalogs.map((catalog) => [catalog.id, catalog.schema]));
      return rows.map((row) => recordJson(row, schemas.get(row.catalog_id) ?? []));
    },
  );

  api.get(
    '/records/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['inventory'], params: idParams, response: responses({ 200: recordSchema }) },
    },
    async (request) => {
      const { workspaceId } = request.principal;
      const row = await findRecord(sql, workspaceId, request.params.id);
      const catalog = await findCatalog(sql, workspaceId, row.catalog_id);
      return recordJson(row, catalog.schema);
    },
  );

  api.post(
    '/records',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        body: Type.Object({ catalog_id: uuid, values }, { additionalProperties: false }),
        response: responses({ 201: recordSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { workspaceId } = request.principal;
      const { row, catalog, audit } = await sql.begin(async (tx) => {
        const found = await bodyCatalog(tx, workspaceId, request.body.catalog_id);
        const checked = await checkedValues(tx, found, request.body.values);
        const created = await insertRecord(tx, { workspaceId, catalogId: found.id, values: checked });
        const record = await recordAudit(tx, actor, {
          auditableType: 'Record',
          auditableId: created.id,
          action: 'create',
          changes: { catalog_id: found.id, values: auditedValues(found.schema, created.values) },
        });
        return { row: created, catalog: found, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send(recordJson(row, catalog.schema));
    },
  );

  api.put(
    '/records/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        description:
          'Replaces the values. A bound cluster sees the new values when it is next changed (re-rendered).',
        params: idParams,
        body: Type.Object(
          { values, catalog_id: Type.Optional(uuid), current_revision: Type.Optional(currentRevision) },
          { additionalProperties: false },
        ),
        response: responses({ 200: recordSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { workspaceId } = request.principal;
      const input = request.body;
      const { row, catalog, audit } = await sql.begin(async (tx) => {
        const before = await findRecord(tx, workspaceId, request.params.id, { lock: true });
        if (before.archived_at) throw new CommanderError('CONFLICT', 'an archived record cannot change');
        if (input.current_revision !== undefined && input.current_revision !== before.current_revision) {
          throw new CommanderError(
            'REVISION_CONFLICT',
            `revision_conflict: the record is at revision ${before.current_revision}, not ${input.current_revision}`,
          );
        }
        if (input.catalog_id !== undefined && input.catalog_id !== before.catalog_id) {
          throw new CommanderError('VALIDATION_FAILED', 'body/catalog_id cannot change');
        }
        const found = await findCatalog(tx, workspaceId, before.catalog_id, { lock: true });
        const checked = await checkedValues(tx, found, input.values, before);
        const after = await updateRecordValues(tx, before, checked);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Record',
          auditableId: after.id,
          action: 'update',
          changes: diffChanges(
            { values: auditedValues(found.schema, before.values) },
            { values: auditedValues(found.schema, after.values) },
          ),
        });
        return { row: after, catalog: found, audit: record };
      });
      deps.printAudit(audit);
      return recordJson(row, catalog.schema);
    },
  );

  api.delete(
    '/records/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inventory'],
        description: 'Archives the record; refused (409) while a cluster is bound to it.',
        params: idParams,
        response: responses({ 200: recordSchema }),
      },
    },
    async (request) => {
      const { workspaceId } = request.principal;
      const row = await archiveOnce(
        deps,
        actorOf(request),
        'Record',
        (tx) => findRecord(tx, workspaceId, request.params.id, { lock: true }),
        archiveRecord,
      );
      const catalog = await findCatalog(sql, workspaceId, row.catalog_id);
      return recordJson(row, catalog.schema);
    },
  );
}
