// A cluster's desired Kubernetes resources: PUT the whole set (YAML or JSON), GET it with the
// status the agent reported for each resource. Bodies are parsed on a worker thread.
import type { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { RESOURCE_LIMITS } from '../../shared/manifests.js';
import type { GatewayDeps } from '../deps.js';
import { storeDesiredSet } from '../desired-state.js';
import { type BodyFormat, ManifestPool, PARSER_LIMITS } from '../manifest-pool.js';
import { actorOf } from '../request.js';
import { readBody } from '../request-body.js';
import { idParams, nullableTimestamp, responses } from './schemas.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
const JSON_TYPE = 'application/json';

const SetQuery = Type.Object(
  {
    allow_empty: Type.Optional(
      Type.Boolean({
        description:
          'Store a set with no resources (the agent then prunes everything it applied). Without it, ' +
          'a body with no manifests is refused, so that an empty or mistyped file empties nothing.',
      }),
    ),
  },
  { additionalProperties: false },
);

const StoredSet = Type.Object({
  revision: Type.Integer(),
  revision_hash: Type.String(),
  changed: Type.Boolean(),
  added: Type.Integer(),
  updated: Type.Integer(),
  removed: Type.Integer(),
});

const Resource = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  namespace: Type.String({ description: 'empty for cluster-scoped kinds' }),
  name: Type.String(),
  hash: Type.String({ description: 'sha256 of the canonical JSON of the manifest' }),
  mode: Type.Union([Type.Literal('enforced'), Type.Literal('create-once')]),
  desired: Type.Boolean({ description: 'false once removed from the set, until the agent pruned it' }),
  status: Type.Union(['pending', 'applied', 'failed', 'pruned', 'drifted'].map((s) => Type.Literal(s))),
  message: Type.Union([Type.String(), Type.Null()]),
  applied_revision: Type.Union([Type.Integer(), Type.Null()]),
  revision: Type.Optional(Type.Integer({ description: 'the revision that last changed this resource' })),
  status_at: Type.Optional(Type.Unsafe<string | null>(nullableTimestamp)),
});

const ResourceList = Type.Object({
  revision: Type.Integer(),
  revision_hash: Type.Union([Type.String(), Type.Null()]),
  resources: Type.Array(Resource),
});

interface ResourceRow {
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  hash: string;
  mode: 'enforced' | 'create-once';
  desired: boolean;
  status: 'pending' | 'applied' | 'failed' | 'pruned' | 'drifted';
  message: string | null;
  applied_revision: number | null;
  revision: number;
  status_at: Date | null;
}

function formatOf(request: FastifyRequest): BodyFormat {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return YAML_TYPES.includes(type) ? 'yaml' : 'json';
}

const NO_BODY = new Uint8Array(0);

export function resourceRoutes(api: FastifyInstance, deps: GatewayDeps): void {
  // A scope of their own: these routes read their bodies as bytes, for the parser thread.
  api.register(async (scope) => {
    const pool = new ManifestPool(deps.encryptor, undefined, (message) => deps.logger.error(message));
    scope.addHook('onClose', () => pool.close());
    scope.removeAllContentTypeParsers();
    // A body is read whole before it waits for the parser, so uploads in progress are bounded like
    // the parser's queue: memory for bodies stays at a few times the body limit, whoever uploads.
    let uploading = 0;
    scope.addContentTypeParser(
      [...YAML_TYPES, JSON_TYPE],
      async (request: FastifyRequest, payload: Readable) => {
        if (uploading >= PARSER_LIMITS.queue) {
          throw new CommanderError('BUSY', `${uploading} sets are being uploaded; retry in a few seconds`);
        }
        uploading += 1;
        try {
          return await readBody(request, payload, RESOURCE_LIMITS.maxBodyBytes);
        } finally {
          uploading -= 1;
        }
      },
    );
    scope.addContentTypeParser('*', (request, _payload, done) => {
      const type = request.headers['content-type'];
      done(
        new CommanderError(
          'UNSUPPORTED_MEDIA_TYPE',
          `${type ? `content type ${type} is not read here` : 'the body has no content type'}; ` +
            'send multi-document YAML as application/yaml or a JSON array as application/json',
        ),
        undefined,
      );
    });
    const routes = scope.withTypeProvider<TypeBoxTypeProvider>();

    routes.put(
      '/clusters/:id/resources',
      {
        config: { role: 'operator' },
        schema: {
          tags: ['resources'],
          description:
            'Replaces the desired set: multi-document YAML (application/yaml) or a JSON array of manifests ' +
            '(application/json); List wrappers are unpacked into their items. Any invalid manifest rejects ' +
            'the whole set with a per-document error list (error.details). The same set again makes no new ' +
            'revision. A body with no manifests needs ?allow_empty=true.',
          params: idParams,
          querystring: SetQuery,
          response: responses({ 200: StoredSet }),
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const clusterId = request.params.id;
        const { workspaceId } = request.principal;
        // Before the parsing: a set for a cluster the caller cannot change costs nothing.
        await findCluster(deps, clusterId, workspaceId);
        const body = (request.body as Buffer | undefined) ?? NO_BODY;
        const parsed = await pool.parse(body, formatOf(request));
        if ('errors' in parsed) {
          const { errors } = parsed;
          throw new CommanderError(
            'INVALID_MANIFESTS',
            `${errors.length} invalid manifest${errors.length === 1 ? '' : 's'}; nothing was stored: ` +
              errors
                .slice(0, 3)
                .map(
                  (e) =>
                    `document ${e.document}${e.item === undefined ? '' : ` item ${e.item}`}: ${e.message}`,
                )
                .join('; '),
            errors,
          );
        }
        const { set } = parsed;
        if (set.resources.length === 0 && !request.query.allow_empty) {
          const message =
            'the body holds no manifests; to remove every resource from the cluster on purpose, ' +
            'PUT an empty set with ?allow_empty=true';
          throw new CommanderError('VALIDATION_FAILED', message, [{ path: 'body', message }]);
        }
        const [result, audit] = await deps.sql.begin(async (tx) => {
          const [cluster] = await tx<
            {
              id: string;
              archived_at: Date | null;
              current_revision: number;
              resources_hash: string | null;
            }[]
          >`select id, archived_at, current_revision, resources_hash from clusters
            where id = ${clusterId} and workspace_id = ${workspaceId} for update`;
          if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${clusterId} not found`);
          if (cluster.archived_at) throw new CommanderError('CONFLICT', 'the cluster is archived');
          const stored = await storeDesiredSet(tx, cluster, set);
          if (!stored.changed) return [stored, undefined] as const;
          const record = await recordAudit(tx, actor, {
            auditableType: 'Cluster',
            auditableId: cluster.id,
            action: 'update_resources',
            changes: {
              current_revision: [cluster.current_revision, stored.revision],
              resources: set.resources.length,
              added: stored.added,
              updated: stored.updated,
              removed: stored.removed,
            },
          });
          return [stored, record] as const;
        });
        if (audit) deps.printAudit(audit);
        return {
          revision: result.revision,
          revision_hash: result.revisionHash,
          changed: result.changed,
          added: result.added,
          updated: result.updated,
          removed: result.removed,
        };
      },
    );

    routes.get(
      '/clusters/:id/resources',
      {
        config: { role: 'viewer' },
        schema: { tags: ['resources'], params: idParams, response: responses({ 200: ResourceList }) },
      },
      async (request) => {
        const [cluster] = await deps.sql<{ current_revision: number; resources_hash: string | null }[]>`
          select current_revision, resources_hash from clusters
          where id = ${request.params.id} and workspace_id = ${request.principal.workspaceId}`;
        if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        const rows = await deps.sql<ResourceRow[]>`
          select api_version, kind, namespace, name, hash, mode, desired, status, message, applied_revision,
            revision, status_at
          from cluster_resources where cluster_id = ${request.params.id}
          order by desired desc, position`;
        return {
          revision: cluster.current_revision,
          revision_hash: cluster.resources_hash,
          resources: rows.map(({ api_version, status_at, ...row }) => ({
            apiVersion: api_version,
            ...row,
            status_at: status_at?.toISOString() ?? null,
          })),
        };
      },
    );
  });
}

/** The cluster as the caller may change it: in their workspace and not archived. */
async function findCluster(deps: GatewayDeps, id: string, workspaceId: string): Promise<void> {
  const [cluster] = await deps.sql<{ archived_at: Date | null }[]>`
    select archived_at from clusters where id = ${id} and workspace_id = ${workspaceId}`;
  if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${id} not found`);
  if (cluster.archived_at) throw new CommanderError('CONFLICT', 'the cluster is archived');
}
