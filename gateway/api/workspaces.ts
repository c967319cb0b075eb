// Workspaces (global tokens only): list, read, create (slug generated or given), rename.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import {
  createWorkspace,
  findWorkspace,
  listWorkspaces,
  renameWorkspace,
  WORKSPACE_SLUG_PATTERN,
  type WorkspaceRow,
} from '../../shared/workspaces.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { freeName, idParams, responses, timestamp, uuid } from './schemas.js';

const slug = Type.String({
  pattern: WORKSPACE_SLUG_PATTERN,
  description: 'lowercase letters, digits and dashes, up to 63; generated (5 letters) when left out',
});

const workspaceSchema = {
  type: 'object',
  required: ['id', 'name', 'slug', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    slug: { type: 'string' },
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;

function workspaceJson(row: WorkspaceRow) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function workspaceRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  api.get(
    '/workspaces',
    {
      config: { globalRole: 'global_viewer' },
      schema: {
        tags: ['global'],
        response: responses({ 200: { type: 'array', items: workspaceSchema } }),
      },
    },
    async () => (await listWorkspaces(sql)).map(workspaceJson),
  );

  api.get(
    '/workspaces/:id',
    {
      config: { globalRole: 'global_viewer' },
      schema: { tags: ['global'], params: idParams, response: responses({ 200: workspaceSchema }) },
    },
    async (request) => {
      const row = await findWorkspace(sql, request.params.id);
      if (!row) throw new CommanderError('NOT_FOUND', `workspace ${request.params.id} not found`);
      return workspaceJson(row);
    },
  );

  api.post(
    '/workspaces',
    {
      config: { globalRole: 'global_admin' },
      schema: {
        tags: ['global'],
        body: Type.Object({ name: freeName, slug: Type.Optional(slug) }, { additionalProperties: false }),
        response: responses({ 201: workspaceSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const created = await createWorkspace(tx, request.body);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Workspace',
          auditableId: created.id,
          action: 'create',
          changes: { name: created.name, slug: created.slug },
        });
        return { row: created, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send(workspaceJson(row));
    },
  );

  api.put(
    '/workspaces/:id',
    {
      config: { globalRole: 'global_admin' },
      schema: {
        tags: ['global'],
        description: 'Renames the workspace. Its slug never changes: tokens and OIDC claims name it.',
        params: idParams,
        body: Type.Object({ name: freeName, slug: Type.Optional(slug) }, { additionalProperties: false }),
        response: responses({ 200: workspaceSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const renamed = await renameWorkspace(tx, request.params.id, request.body.name);
        if (!renamed) throw new CommanderError('NOT_FOUND', `workspace ${request.params.id} not found`);
        if (request.body.slug !== undefined && request.body.slug !== renamed.before.slug) {
          throw new CommanderError('VALIDATION_FAILED', 'body/slug cannot change');
        }
        const record = await recordAudit(tx, actor, {
          auditableType: 'Workspace',
          auditableId: renamed.after.id,
          action: 'update',
          changes: diffChanges({ name: renamed.before.name }, { name: renamed.after.name }),
        });
        return { row: renamed.after, audit: record };
      });
      api.invalidations.publish({ table: 'workspaces', id: row.id });
      deps.printAudit(audit);
      return workspaceJson(row);
    },
  );
}
