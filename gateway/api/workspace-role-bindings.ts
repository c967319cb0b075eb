// Workspace role bindings (global tokens only): give an OIDC user or group a role in a workspace.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archiveNumberJson } from '../../shared/archive.js';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { ROLES, type Role } from '../../shared/roles.js';
import { findWorkspace } from '../../shared/workspaces.js';
import { archiveOnce } from '../archive-once.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import {
  archiveBinding,
  type BindingRow,
  findBinding,
  insertBinding,
  listBindings,
  SUBJECT_KINDS,
  type SubjectKind,
  updateBinding,
} from '../workspace-role-bindings.js';
import { archivedFields, currentRevision, idParams, responses, timestamp, uuid } from './schemas.js';

const role = Type.Unsafe<Role>(Type.String({ enum: [...ROLES], description: 'a workspace role' }));
const subjectKind = Type.Unsafe<SubjectKind>(Type.String({ enum: [...SUBJECT_KINDS] }));
const subjectName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\p{Cc}]+$',
  description: "the user's name as the OIDC user claim carries it, or a group in the groups claim",
});

const bindingSchema = {
  type: 'object',
  required: [
    'id',
    'workspace_id',
    'role',
    'subject_kind',
    'subject_name',
    'current_revision',
    'created_at',
    'updated_at',
    'archived_at',
    'archive_number',
  ],
  properties: {
    id: uuid,
    workspace_id: uuid,
    role: { type: 'string', enum: ROLES },
    subject_kind: { type: 'string', enum: SUBJECT_KINDS },
    subject_name: { type: 'string' },
    current_revision: { type: 'integer' },
    created_at: timestamp,
    updated_at: timestamp,
    ...archivedFields,
  },
} as const;

function bindingJson(row: BindingRow) {
  return {
    id: row.id,
    workspace_id: row.workspace_id,
    role: row.role,
    subject_kind: row.subject_kind,
    subject_name: row.subject_name,
    current_revision: row.current_revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
    archive_number: archiveNumberJson(row.archive_number),
  };
}

const audited = (row: BindingRow) => ({
  workspace_id: row.workspace_id,
  role: row.role,
  subject_kind: row.subject_kind,
  subject_name: row.subject_name,
});

export function workspaceRoleBindingRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;
  // Every process forgets the OIDC roles it remembered (the table's trigger tells the others).
  const forget = (row: BindingRow) =>
    api.invalidations.publish({ table: 'workspace_role_bindings', id: row.id });

  api.get(
    '/workspace_role_bindings',
    {
      config: { globalRole: 'global_viewer' },
      schema: {
        tags: ['global'],
        querystring: Type.Object(
          {
            workspace_id: Type.Optional(uuid),
            without_archived: Type.Optional(Type.Boolean({ default: false })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: bindingSchema } }),
      },
    },
    async (request) =>
      (
        await listBindings(sql, {
          workspaceId: request.query.workspace_id,
          withoutArchived: request.query.without_archived,
        })
      ).map(bindingJson),
  );

  api.get(
    '/workspace_role_bindings/:id',
    {
      config: { globalRole: 'global_viewer' },
      schema: { tags: ['global'], params: idParams, response: responses({ 200: bindingSchema }) },
    },
    async (request) => bindingJson(await findBinding(sql, request.params.id)),
  );

  api.post(
    '/workspace_role_bindings',
    {
      config: { globalRole: 'global_admin' },
      schema: {
        tags: ['global'],
        body: Type.Object(
          { workspace_id: uuid, role, subject_kind: subjectKind, subject_name: subjectName },
          { additionalProperties: false },
        ),
        response: responses({ 201: bindingSchema }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        if (!(await findWorkspace(tx, request.body.workspace_id))) {
          throw new CommanderError(
            'VALIDATION_FAILED',
            `body/workspace_id names no workspace (${request.body.workspace_id})`,
          );
        }
        const created = await insertBinding(tx, request.body);
        const record = await recordAudit(tx, actor, {
          auditableType: 'WorkspaceRoleBinding',
          auditableId: created.id,
          action: 'create',
          changes: audited(created),
        });
        return { row: created, audit: record };
      });
      forget(row);
      deps.printAudit(audit);
      return reply.status(201).send(bindingJson(row));
    },
  );

  api.put(
    '/workspace_role_bindings/:id',
    {
      config: { globalRole: 'global_admin' },
      schema: {
        tags: ['global'],
        description: 'Changes the role or the subject. The workspace cannot change: bind in the other one.',
        params: idParams,
        body: Type.Object(
          {
            workspace_id: Type.Optional(uuid),
            role: Type.Optional(role),
            subject_kind: Type.Optional(subjectKind),
            subject_name: Type.Optional(subjectName),
            current_revision: Type.Optional(currentRevision),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: responses({ 200: bindingSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const input = request.body;
      const { row, audit } = await sql.begin(async (tx) => {
        const before = await findBinding(tx, request.params.id, { lock: true });
        if (before.archived_at) throw new CommanderError('CONFLICT', 'an archived binding cannot change');
        if (input.current_revision !== undefined && input.current_revision !== before.current_revision) {
          throw new CommanderError(
            'REVISION_CONFLICT',
            `revision_conflict: the binding is at revision ${before.current_revision}, not ${input.current_revision}`,
          );
        }
        if (input.workspace_id !== undefined && input.workspace_id !== before.workspace_id) {
          throw new CommanderError('VALIDATION_FAILED', 'body/workspace_id cannot change');
        }
        const after = await updateBinding(tx, before, {
          role: input.role,
          subject_kind: input.subject_kind,
          subject_name: input.subject_name,
        });
        const record = await recordAudit(tx, actor, {
          auditableType: 'WorkspaceRoleBinding',
          auditableId: after.id,
          action: 'update',
          changes: diffChanges(audited(before), audited(after)),
        });
        return { row: after, audit: record };
      });
      forget(row);
      deps.printAudit(audit);
      return bindingJson(row);
    },
  );

  api.delete(
    '/workspace_role_bindings/:id',
    {
      config: { globalRole: 'global_admin' },
      schema: {
        tags: ['global'],
        description: 'Archives the binding: the subject loses the role at once; the row stays.',
        params: idParams,
        response: responses({ 200: bindingSchema }),
      },
    },
    async (request) => {
      const row = await archiveOnce(
        deps,
        actorOf(request),
        'WorkspaceRoleBinding',
        (tx) => findBinding(tx, request.params.id, { lock: true }),
        archiveBinding,
      );
      forget(row);
      return bindingJson(row);
    },
  );
}
