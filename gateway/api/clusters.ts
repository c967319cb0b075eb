// Clusters: create (with an install task when SSH settings are given), read, update, delete.
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import ssh2 from 'ssh2';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CommanderError } from '../../shared/errors.js';
import type { GatewayDeps } from '../deps.js';
import { actorOf, typed } from '../request.js';
import { idParams, nullableTimestamp, responses, timestamp, uuid } from './schemas.js';

export const CLUSTER_STATUSES = [
  'new',
  'creating',
  'in_sync',
  'out_of_sync',
  'changing',
  'creation_error',
  'change_error',
  'deleting',
  'deletion_error',
  'archived',
] as const;

const MAX_TARGETS = 100;
const MAX_PRIVATE_KEY = 16 * 1024;

const name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
// Free-form: its content is bounded where every JSON body is (gateway/input.ts: depth, text).
const values = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 1000 });
const hostname = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' });
const allowedTargets = Type.Array(
  Type.String({ format: 'allow-entry', description: 'host:port, host:*, CIDR:port, [IPv6 CIDR]:port' }),
  { maxItems: MAX_TARGETS, uniqueItems: true },
);

const sshInput = Type.Object(
  {
    host: hostname,
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 22 })),
    user: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    private_key: Type.String({ minLength: 1, maxLength: MAX_PRIVATE_KEY }),
  },
  { additionalProperties: false },
);

const clusterCreate = Type.Object(
  {
    name,
    values: Type.Optional(values),
    ssh: Type.Optional(sshInput),
    allowed_targets: Type.Optional(allowedTargets),
  },
  { additionalProperties: false },
);

const clusterUpdate = Type.Object(
  {
    name: Type.Optional(name),
    values: Type.Optional(values),
    ssh: Type.Optional(Type.Union([sshInput, Type.Null()])),
    allowed_targets: Type.Optional(allowedTargets),
  },
  { additionalProperties: false, minProperties: 1 },
);

type ClusterUpdate = Static<typeof clusterUpdate>;

const clusterSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'values',
    'status',
    'agent_status',
    'current_revision',
    'created_at',
    'updated_at',
    'archived_at',
  ],
  properties: {
    id: uuid,
    name: { type: 'string' },
    values: { type: 'object', additionalProperties: true },
    status: { type: 'string', enum: CLUSTER_STATUSES },
    agent_status: { type: 'string', enum: ['never_connected', 'connected', 'disconnected'] },
    current_revision: { type: 'integer' },
    ssh: {
      type: ['object', 'null'],
      properties: {
        host: { type: 'string' },
        port: { type: 'integer' },
        user: { type: 'string' },
        host_key_fingerprint: { type: ['string', 'null'] },
      },
    },
    allowed_targets: { type: 'array', items: { type: 'string' } },
    last_seen_at: nullableTimestamp,
    agent_version: { type: ['string', 'null'] },
    agent_gateway_replica: {
      type: ['string', 'null'],
      description: 'the gateway replica holding the live session',
    },
    infrastructure_status: {
      type: 'string',
      enum: CLUSTER_STATUSES,
      description:
        "the manager's last verdict on the infrastructure; `status` also counts the resources' sync",
    },
    resources_sync_state: {
      type: 'string',
      enum: ['configured', 'not_configured', 'no_data'],
      description: 'no_data: no report from the agent for three of its sync intervals',
    },
    resources_sync_message: { type: ['string', 'null'] },
    resources_reported_at: nullableTimestamp,
    created_at: timestamp,
    updated_at: timestamp,
    archived_at: nullableTimestamp,
  },
} as const;

interface ClusterRow {
  id: string;
  name: string;
  values: Record<string, unknown>;
  status: string;
  agent_status: string;
  current_revision: number;
  ssh_host: string | null;
  ssh_port: number | null;
  ssh_user: string | null;
  ssh_host_key_fingerprint: string | null;
  allowed_targets: string[];
  last_seen_at: Date | null;
  agent_version: string | null;
  agent_replica: string | null;
  resources_sync_state: string;
  resources_sync_message: string | null;
  resources_reported_at: Date | null;
  resources_report_interval_ms: number | null;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

/** The agent's report is stale after three of its intervals. */
function syncState(row: ClusterRow): string {
  if (!row.resources_reported_at || !row.resources_report_interval_ms) return 'no_data';
  const age = Date.now() - row.resources_reported_at.getTime();
  return age > 3 * row.resources_report_interval_ms ? 'no_data' : row.resources_sync_state;
}

function clusterJson(row: ClusterRow) {
  const sync = syncState(row);
  return {
    id: row.id,
    name: row.name,
    values: row.values,
    // In sync means the infrastructure and the desired resources alike.
    status: row.status === 'in_sync' && sync === 'not_configured' ? 'out_of_sync' : row.status,
    infrastructure_status: row.status,
    resources_sync_state: sync,
    resources_sync_message:
      sync === 'no_data' && row.resources_reported_at
        ? 'no report from the agent for three sync intervals'
        : row.resources_sync_message,
    resources_reported_at: row.resources_reported_at,
    agent_status: row.agent_status,
    current_revision: row.current_revision,
    ssh: row.ssh_host
      ? {
          host: row.ssh_host,
          port: row.ssh_port,
          user: row.ssh_user,
          host_key_fingerprint: row.ssh_host_key_fingerprint,
        }
      : null,
    allowed_targets: row.allowed_targets,
    last_seen_at: row.last_seen_at,
    agent_version: row.agent_version,
    agent_gateway_replica: row.agent_status === 'connected' ? row.agent_replica : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
  };
}

/** What the audit trail records of a cluster: its settings, the private key masked. */
function auditedFields(input: ClusterUpdate) {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

/** The private key must be one SSH can use; the schema can only bound its size. */
function checkPrivateKey(input: ClusterUpdate): void {
  if (!input.ssh) return;
  const parsed = ssh2.utils.parseKey(input.ssh.private_key);
  if (parsed instanceof Error) {
    throw new CommanderError(
      'VALIDATION_FAILED',
      `body/ssh/private_key is not a usable private key: ${parsed.message}`,
    );
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export function clusterRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql, encryptor } = deps;
  const clusterResponse = clusterSchema;

  const findCluster = async (workspaceId: string, id: string): Promise<ClusterRow> => {
    const [row] = await sql<
      ClusterRow[]
    >`select * from clusters where id = ${id} and workspace_id = ${workspaceId}`;
    if (!row) throw new CommanderError('NOT_FOUND', `cluster ${id} not found`);
    return row;
  };

  api.post(
    '/clusters',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        body: clusterCreate,
        response: responses({ 201: clusterResponse }),
      },
    },
    async (request, reply) => {
      const input = request.body;
      checkPrivateKey(input);
      const actor = actorOf(request);
      const ssh = input.ssh;
      let audit: Awaited<ReturnType<typeof recordAudit>>;
      let row: ClusterRow;
      try {
        [row, audit] = await sql.begin(async (tx) => {
          const [created] = await tx<ClusterRow[]>`
            insert into clusters (workspace_id, name, values, ssh_host, ssh_port, ssh_user, ssh_private_key, allowed_targets)
            values (${actor.workspaceId}, ${input.name}, ${tx.json((input.values ?? {}) as never)}, ${ssh?.host ?? null},
              ${ssh ? (ssh.port ?? 22) : null}, ${ssh?.user ?? null}, ${ssh ? encryptor.encrypt(ssh.private_key) : null},
              ${input.allowed_targets ?? []})
            returning *`;
          if (!created) throw new Error('cluster was not stored');
          if (ssh) await tx`insert into tasks (cluster_id, kind) values (${created.id}, 'install')`;
          const record = await recordAudit(tx, actor, {
            auditableType: 'Cluster',
            auditableId: created.id,
            action: 'create',
            changes: auditedFields(input),
          });
          return [created, record] as const;
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new CommanderError('NAME_TAKEN', `a cluster named "${input.name}" exists`);
        throw error;
      }
      deps.printAudit(audit);
      return reply.status(201).send(clusterJson(row));
    },
  );

  api.get(
    '/clusters',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['clusters'],
        querystring: Type.Object(
          { include_archived: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: clusterResponse } }),
      },
    },
    async (request) => {
      const rows = await sql<ClusterRow[]>`
        select * from clusters where workspace_id = ${request.principal.workspaceId}
          ${request.query.include_archived ? sql`` : sql`and archived_at is null`}
        order by created_at, id`;
      return rows.map(clusterJson);
    },
  );

  api.get(
    '/clusters/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['clusters'], params: idParams, response: responses({ 200: clusterResponse }) },
    },
    async (request) => clusterJson(await findCluster(request.principal.workspaceId, request.params.id)),
  );

  api.put(
    '/clusters/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        params: idParams,
        body: clusterUpdate,
        response: responses({ 200: clusterResponse }),
      },
    },
    async (request) => {
      const input = request.body;
      checkPrivateKey(input);
      const actor = actorOf(request);
      let result: readonly [ClusterRow, Awaited<ReturnType<typeof recordAudit>>];
      try {
        result = await sql.begin(async (tx) => {
          const [before] = await tx<ClusterRow[]>`
            select * from clusters where id = ${request.params.id} and workspace_id = ${actor.workspaceId} for update`;
          if (!before) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
          if (before.archived_at)
            throw new CommanderError('CONFLICT', 'an archived cluster cannot be changed');
          const ssh = input.ssh;
          const sshColumns =
            ssh === undefined
              ? {}
              : {
                  ssh_host: ssh?.host ?? null,
                  ssh_port: ssh ? (ssh.port ?? 22) : null,
                  ssh_user: ssh?.user ?? null,
                  ssh_private_key: ssh ? encryptor.encrypt(ssh.private_key) : null,
                  ssh_host_key_fingerprint:
                    ssh?.host === before.ssh_host ? before.ssh_host_key_fingerprint : null,
                };
          const columns = {
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.values === undefined ? {} : { values: tx.json(input.values as never) }),
            ...(input.allowed_targets === undefined ? {} : { allowed_targets: input.allowed_targets }),
            ...sshColumns,
          };
          const [after] = await tx<ClusterRow[]>`
            update clusters set ${tx(columns)}, updated_at = now() where id = ${before.id} returning *`;
          if (!after) throw new Error('cluster update lost');
          const previous = clusterJson(before);
          const changes = diffChanges(
            {
              name: previous.name,
              values: previous.values,
              allowed_targets: previous.allowed_targets,
              ssh: previous.ssh,
            },
            auditedFields(input),
          );
          const record = await recordAudit(tx, actor, {
            auditableType: 'Cluster',
            auditableId: before.id,
            action: 'update',
            changes,
          });
          return [after, record] as const;
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new CommanderError('NAME_TAKEN', `a cluster named "${input.name}" exists`);
        throw error;
      }
      api.invalidations.publish({ table: 'clusters', id: result[0].id });
      deps.printAudit(result[1]);
      return clusterJson(result[0]);
    },
  );

  api.delete(
    '/clusters/:id',
    {
      config: { role: 'operator' },
      schema: { tags: ['clusters'], params: idParams, response: responses({ 200: clusterResponse }) },
    },
    async (request) => {
      const actor = actorOf(request);
      const [row, audit] = await sql.begin(async (tx) => {
        const [before] = await tx<ClusterRow[]>`
          select * from clusters where id = ${request.params.id} and workspace_id = ${actor.workspaceId} for update`;
        if (!before) throw new CommanderError('NOT_FOUND', `cluster ${request.params.id} not found`);
        // Deleting twice is not an error: the first deletion is already under way or done.
        if (before.status === 'deleting' || before.archived_at) return [before, undefined] as const;
        await tx`update tasks set status = 'cancelled', finished_at = now()
          where cluster_id = ${before.id} and status = 'pending'`;
        await tx`insert into tasks (cluster_id, kind) values (${before.id}, 'delete')`;
        const [after] = await tx<ClusterRow[]>`
          update clusters set status = 'deleting', updated_at = now() where id = ${before.id} returning *`;
        if (!after) throw new Error('cluster update lost');
        const record = await recordAudit(tx, actor, {
          auditableType: 'Cluster',
          auditableId: before.id,
          action: 'destroy',
          changes: { status: [before.status, 'deleting'] },
        });
        return [after, record] as const;
      });
      if (audit) deps.printAudit(audit);
      return clusterJson(row);
    },
  );
}
