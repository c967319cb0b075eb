// Container registries of the caller's workspace: create, read, change, archive. The credentials
// go in and never come out: answers say only whether they are set.
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archiveNumberJson } from '../../shared/archive.js';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import {
  archiveRegistry,
  authProblem,
  DEV_BRANCH_PATTERN,
  findRegistry,
  IMAGES_REPO_PATTERN,
  insertRegistry,
  listRegistries,
  MAX_AUTH_LENGTH,
  REGISTRY_SCHEMES,
  type RegistryRow,
  type RegistryScheme,
  updateRegistry,
} from '../../shared/registries.js';
import { archiveOnce } from '../archive-once.js';
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

const imagesRepo = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: IMAGES_REPO_PATTERN,
  description: 'host[:port][/path], e.g. registry.deckhouse.io/deckhouse/ee',
});
const scheme = Type.Unsafe<RegistryScheme>(
  Type.String({ enum: [...REGISTRY_SCHEMES], description: 'https when left out at creation' }),
);
const devBranch = Type.Union([Type.String({ maxLength: 255, pattern: DEV_BRANCH_PATTERN }), Type.Null()]);
const auth = Type.String({
  minLength: 1,
  maxLength: MAX_AUTH_LENGTH,
  description: "base64 of user:password (a dockercfg's auths.<host>.auth); write-only",
});

const registryCreate = Type.Object(
  {
    name: freeName,
    images_repo: imagesRepo,
    scheme: Type.Optional(scheme),
    dev_branch: Type.Optional(devBranch),
    auth: Type.Optional(Type.Union([auth, Type.Null()])),
  },
  { additionalProperties: false },
);

const registryUpdate = Type.Object(
  {
    name: Type.Optional(freeName),
    images_repo: Type.Optional(imagesRepo),
    scheme: Type.Optional(scheme),
    dev_branch: Type.Optional(devBranch),
    auth: Type.Optional(
      Type.Union([auth, Type.Null()], { description: 'left out: kept; null: removed; a value: replaced' }),
    ),
    current_revision: Type.Optional(currentRevision),
  },
  { additionalProperties: false, minProperties: 1 },
);

const registrySchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'images_repo',
    'scheme',
    'dev_branch',
    'auth_set',
    'current_revision',
    'created_at',
    'updated_at',
    'archived_at',
    'archive_number',
  ],
  properties: {
    id: uuid,
    name: { type: 'string' },
    images_repo: { type: 'string' },
    scheme: { type: 'string', enum: REGISTRY_SCHEMES },
    dev_branch: { type: ['string', 'null'] },
    auth_set: { type: 'boolean', description: 'whether credentials are stored; they are never answered' },
    current_revision: { type: 'integer' },
    created_at: timestamp,
    updated_at: timestamp,
    ...archivedFields,
  },
} as const;

function registryJson(row: RegistryRow) {
  return {
    id: row.id,
    name: row.name,
    images_repo: row.images_repo,
    scheme: row.scheme,
    dev_branch: row.dev_branch,
    auth_set: row.auth !== null,
    current_revision: row.current_revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
    archive_number: archiveNumberJson(row.archive_number),
  };
}

/** What the audit trail shows: the visible fields, and whether credentials are set (masked). */
function audited(row: RegistryRow) {
  return {
    name: row.name,
    images_repo: row.images_repo,
    scheme: row.scheme,
    dev_branch: row.dev_branch,
  };
}

function checkAuth(input: { auth?: string | null }): void {
  if (typeof input.auth !== 'string') return;
  const problem = authProblem(input.auth);
  if (problem) throw new CommanderError('VALIDATION_FAILED', `body/auth ${problem}`);
}

type RegistryCreate = Static<typeof registryCreate>;

export function registryRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql, encryptor } = deps;

  api.get(
    '/registries',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['registries'],
        querystring: archivedQuery,
        response: responses({ 200: { type: 'array', items: registrySchema } }),
      },
    },
    async (request) =>
      (
        await listRegistries(sql, request.principal.workspaceId, {
          withoutArchived: request.query.without_archived,
        })
      ).map(registryJson),
  );

  api.get(
    '/registries/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['registries'], params: idParams, response: responses({ 200: registrySchema }) },
    },
    async (request) =>
      registryJson(await findRegistry(sql, request.principal.workspaceId, request.params.id)),
  );

  api.post(
    '/registries',
    {
      config: { role: 'operator' },
      schema: { tags: ['registries'], body: registryCreate, response: responses({ 201: registrySchema }) },
    },
    async (request, reply) => {
      const input: RegistryCreate = request.body;
      checkAuth(input);
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const created = await insertRegistry(tx, encryptor, request.principal.workspaceId, {
          name: input.name,
          images_repo: input.images_repo,
          scheme: input.scheme ?? 'https',
          dev_branch: input.dev_branch ?? null,
          auth: input.auth ?? null,
        });
        const record = await recordAudit(tx, actor, {
          auditableType: 'Registry',
          auditableId: created.id,
          action: 'create',
          changes: { ...audited(created), ...(created.auth ? { auth: true } : {}) },
        });
        return { row: created, audit: record };
      });
      deps.printAudit(audit);
      return reply.status(201).send(registryJson(row));
    },
  );

  api.put(
    '/registries/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['registries'],
        description: 'Fields left out keep their value; `auth` left out keeps the stored credentials.',
        params: idParams,
        body: registryUpdate,
        response: responses({ 200: registrySchema }),
      },
    },
    async (request) => {
      const input = request.body;
      checkAuth(input);
      const actor = actorOf(request);
      const { row, audit } = await sql.begin(async (tx) => {
        const before = await findRegistry(tx, request.principal.workspaceId, request.params.id, {
          lock: true,
        });
        if (before.archived_at) throw new CommanderError('CONFLICT', 'an archived registry cannot change');
        if (input.current_revision !== undefined && input.current_revision !== before.current_revision) {
          throw new CommanderError(
            'REVISION_CONFLICT',
            `revision_conflict: the registry is at revision ${before.current_revision}, not ${input.current_revision}`,
          );
        }
        const after = await updateRegistry(tx, encryptor, before, {
          name: input.name ?? before.name,
          images_repo: input.images_repo ?? before.images_repo,
          scheme: input.scheme ?? before.scheme,
          dev_branch: input.dev_branch === undefined ? before.dev_branch : input.dev_branch,
          auth: input.auth,
        });
        const changes = diffChanges(audited(before), audited(after));
        // Only that the credentials changed; the mask hides even that they were set or removed.
        if (input.auth !== undefined) changes.auth = true;
        const record = await recordAudit(tx, actor, {
          auditableType: 'Registry',
          auditableId: after.id,
          action: 'update',
          changes,
        });
        return { row: after, audit: record };
      });
      deps.printAudit(audit);
      return registryJson(row);
    },
  );

  api.delete(
    '/registries/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['registries'],
        description: 'Archives the registry; refused (409) while a live cluster uses it.',
        params: idParams,
        response: responses({ 200: registrySchema }),
      },
    },
    async (request) => {
      const row = await archiveOnce(
        deps,
        actorOf(request),
        'Registry',
        (tx) => findRegistry(tx, request.principal.workspaceId, request.params.id, { lock: true }),
        archiveRegistry,
      );
      return registryJson(row);
    },
  );
}
