// A cluster's desired Kubernetes resources: PUT the whole set (YAML or JSON), GET it with the
// status the agent reported for each resource.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import { parseDocuments, RESOURCE_LIMITS, validateSet } from '../../shared/manifests.js';
import type { GatewayDeps } from '../deps.js';
import { storeDesiredSet } from '../desired-state.js';
import { actorOf } from '../request.js';
import { idParams, nullableTimestamp, responses } from './schemas.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

const resourceSchema = {
  type: 'object',
  required: [
    'apiVersion',
    'kind',
    'namespace',
    'name',
    'hash',
    'mode',
    'desired',
    'status',
    'message',
    'applied_revision',
  ],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    namespace: { type: 'string', description: 'empty for cluster-scoped kinds' },
    name: { type: 'string' },
    hash: { type: 'string', description: 'sha256 of the canonical JSON of the manifest' },
    mode: { type: 'string', enum: ['enforced', 'create-once'] },
    desired: { type: 'boolean', description: 'false once removed from the set, until the agent pruned it' },
    status: { type: 'string', enum: ['pending', 'applied', 'failed', 'pruned', 'drifted'] },
    message: { type: ['string', 'null'] },
    applied_revision: { type: ['integer', 'null'] },
    revision: { type: 'integer', description: 'the revision that last changed this resource' },
    status_at: nullableTimestamp,
  },
} as const;

interface ResourceRow {
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  hash: string;
  mode: string;
  desired: boolean;
  status: string;
  message: string | null;
  applied_revision: number | null;
  revision: number;
  status_at: Date | null;
}

function mediaType(request: FastifyRequest): 'yaml' | 'json' {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return YAML_TYPES.includes(type) ? 'yaml' : 'json';
}

export function resourceRoutes(api: FastifyInstance, deps: GatewayDeps): void {
  const { sql, encryptor } = deps;

  api.put<{ Params: { id: string }; Body: unknown }>(
    '/clusters/:id/resources',
    {
      config: { role: 'operator' },
      bodyLimit: RESOURCE_LIMITS.maxBodyBytes,
      schema: {
        tags: ['resources'],
        description:
          'Replaces the desired set: multi-document YAML (application/yaml) or a JSON array of manifests. ' +
          'Any invalid manifest rejects the whole set with a per-document error list (error.details). ' +
          'The same set again makes no new revision.',
        params: idParams,
        response: responses({
          200: {
            type: 'object',
            required: ['revision', 'revision_hash', 'changed'],
            properties: {
              revision: { type: 'integer' },
              revision_hash: { type: 'string' },
              changed: { type: 'boolean' },
              added: { type: 'integer' },
              updated: { type: 'integer' },
              removed: { type: 'integer' },
            },
          },
        }),
      },
    },
    async (request) => {
      const parsed = parseDocuments(request.body, mediaType(request));
      const validated = validateSet(parsed.documents);
      const errors = [...parsed.errors, ...validated.errors].sort((a, b) => a.document - b.document);
      if (errors.length > 0) {
        throw new CommanderError(
          'INVALID_MANIFESTS',
          `${errors.length} invalid manifest${errors.length === 1 ? '' : 's'}; nothing was stored: ` +
            errors
              .slice(0, 3)
              .map((e) => `document ${e.document}: ${e.message}`)
              .join('; '),
          errors,
        );
      }
      const actor = actorOf(request);
      const [result, audit] = await sql.begin(async (tx) => {
        const [cluster] = await tx<
          { id: string; archived_at: Date | null; current_revision: number; resources_hash: string | null }[]
        >`select id, archived_at, current_revision, resources_hash from clusters
          where id = ${request.params.id} and workspace_id = ${actor.workspaceId} for update`;
        if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        if (cluster.archived_at) throw new CommanderError('CONFLICT', 'the cluster is archived');
        const stored = await storeDesiredSet(tx, encryptor, cluster, validated.resources);
        if (!stored.changed) return [stored, undefined] as const;
        const record = await recordAudit(tx, actor, {
          auditableType: 'Cluster',
          auditableId: cluster.id,
          action: 'update_resources',
          changes: {
            current_revision: [cluster.current_revision, stored.revision],
            resources: validated.resources.length,
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

  api.get<{ Params: { id: string } }>(
    '/clusters/:id/resources',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['resources'],
        params: idParams,
        response: responses({
          200: {
            type: 'object',
            required: ['revision', 'revision_hash', 'resources'],
            properties: {
              revision: { type: 'integer' },
              revision_hash: { type: ['string', 'null'] },
              resources: { type: 'array', items: resourceSchema },
            },
          },
        }),
      },
    },
    async (request) => {
      const [cluster] = await sql<{ current_revision: number; resources_hash: string | null }[]>`
        select current_revision, resources_hash from clusters
        where id = ${request.params.id} and workspace_id = ${request.principal.workspaceId}`;
      if (!cluster) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
      const rows = await sql<ResourceRow[]>`
        select api_version, kind, namespace, name, hash, mode, desired, status, message, applied_revision,
          revision, status_at
        from cluster_resources where cluster_id = ${request.params.id}
        order by desired desc, position`;
      return {
        revision: cluster.current_revision,
        revision_hash: cluster.resources_hash,
        resources: rows.map(({ api_version, ...row }) => ({ apiVersion: api_version, ...row })),
      };
    },
  );
}
