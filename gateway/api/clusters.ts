// Clusters: create (from a template version, rendered; or with SSH settings given as is), read,
// replace (whole object, optimistic lock on current_revision), delete.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import ssh2 from 'ssh2';
import { archiveNumberJson } from '../../shared/archive.js';
import { diffChanges, recordAudit } from '../../shared/audit.js';
import { CLUSTER_STATUSES } from '../../shared/cluster-status.js';
import type { Queryable } from '../../shared/db/connect.js';
import { CommanderError } from '../../shared/errors.js';
import { derivedUuid } from '../../shared/ids.js';
import type { Params } from '../../shared/params/schema.js';
import { requireLiveRegistry } from '../../shared/registries.js';
import { bindClusterRecords, type ClusterRecords, withRecords } from '../cluster-inventory.js';
import {
  checkedValues,
  generateKeyPair,
  type KeyPair,
  type RenderContext,
  renderedColumns,
  renderVersion,
  storedText,
} from '../cluster-rendering.js';
import { findVersion, type TemplateRow, type VersionRow } from '../cluster-templates.js';
import {
  ANSWERED_TEXTS,
  type ClusterColumns,
  type ClusterRow,
  cancelPendingTasks,
  findCluster,
  insertCluster,
  type ListedCluster,
  listClusters,
  queueTask,
  resourceStateResults,
  updateCluster,
} from '../clusters.js';
import type { GatewayDeps } from '../deps.js';
import { storeDesiredSet } from '../desired-state.js';
import type { Rendered } from '../render.js';
import { maskSecrets } from '../render.js';
import { RenderPool } from '../render-pool.js';
import { actorOf, typed } from '../request.js';
import { checkRevision } from '../revision.js';
import {
  archivedFields,
  archivedQuery,
  currentRevision,
  freeName,
  idParams,
  nullableTimestamp,
  responses,
  timestamp,
  uuid,
} from './schemas.js';

const MAX_TARGETS = 100;
// What Commander answers for a cluster that never chose; its Go client sends it back on PUT.
const DEFAULT_REGISTRY_MODE = 'Direct';
const MAX_PRIVATE_KEY = 16 * 1024;

// Free-form: its content is bounded where every JSON body is (gateway/input.ts: depth, text).
const values = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 1000 });
const hostname = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' });
const allowedTargets = Type.Array(
  Type.String({ format: 'allow-entry', description: 'host:port, host:*, CIDR:port, [IPv6 CIDR]:port' }),
  { maxItems: MAX_TARGETS, uniqueItems: true },
);
const registryId = Type.Union([uuid, Type.Literal(''), Type.Null()], {
  description: 'the container registry the installer pulls from ("" or null: none)',
});
const registryMode = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[A-Za-z]+$',
  description: 'how the cluster reaches its registry, as Commander names it (default "Direct")',
});

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
    name: freeName,
    cluster_template_version_id: Type.Optional(uuid),
    values: Type.Optional(values),
    registry_id: Type.Optional(registryId),
    registry_mode: Type.Optional(registryMode),
    ssh: Type.Optional(sshInput),
    allowed_targets: Type.Optional(allowedTargets),
  },
  { additionalProperties: false },
);

const clusterUpdate = Type.Object(
  {
    name: freeName,
    current_revision: currentRevision,
    cluster_template_version_id: Type.Optional(uuid),
    values: Type.Optional(values),
    registry_id: Type.Optional(registryId),
    registry_mode: Type.Optional(registryMode),
    ssh: Type.Optional(Type.Union([sshInput, Type.Null()])),
    allowed_targets: Type.Optional(allowedTargets),
  },
  { additionalProperties: false },
);

type ClusterCreate = Static<typeof clusterCreate>;
type ClusterUpdate = Static<typeof clusterUpdate>;

const stringOrNull = { type: ['string', 'null'] } as const;
const connectionHosts = {
  type: 'object',
  required: ['masters'],
  properties: {
    masters: {
      type: 'array',
      items: {
        type: 'object',
        required: ['host', 'user', 'port'],
        properties: { host: { type: 'string' }, user: { type: 'string' }, port: { type: 'integer' } },
      },
    },
  },
} as const;

const clusterProperties = {
  id: uuid,
  name: { type: 'string' },
  values: { type: 'object', additionalProperties: true },
  status: {
    type: 'string',
    enum: CLUSTER_STATUSES,
    description: "the infrastructure's lifecycle; the resources' state is resources_sync_state",
  },
  agent_status: { type: 'string', enum: ['never_connected', 'connected', 'disconnected'] },
  current_revision: { type: 'integer' },
  cluster_template_version_id: { type: ['string', 'null'], format: 'uuid' },
  cluster_template_version_switched_at: nullableTimestamp,
  registry_id: { type: ['string', 'null'], format: 'uuid' },
  registry_mode: { type: 'string' },
  was_created: { type: 'boolean', description: 'false until an install succeeded' },
  is_locked: { type: 'boolean', description: 'a task runs for the cluster' },
  cluster_type: { ...stringOrNull, description: '"static" when its hosts come from SSHHost documents' },
  connection_hosts: connectionHosts,
  ssh_public_key: {
    ...stringOrNull,
    description: 'the public half of the key pair generated for the cluster (dc_sshPublicKey)',
  },
  render_errors: {
    type: 'array',
    items: {
      type: 'object',
      required: ['section', 'line', 'column', 'message'],
      properties: {
        section: stringOrNull,
        line: { type: ['integer', 'null'] },
        column: { type: ['integer', 'null'] },
        message: { type: 'string' },
      },
    },
  },
  ...Object.fromEntries(ANSWERED_TEXTS.map((field) => [field, stringOrNull])),
  cluster_configuration_applied_at: nullableTimestamp,
  ssh: {
    type: ['object', 'null'],
    properties: {
      host: { type: 'string' },
      port: { type: 'integer' },
      user: { type: 'string' },
      host_key_fingerprint: stringOrNull,
    },
  },
  allowed_targets: { type: 'array', items: { type: 'string' } },
  last_seen_at: nullableTimestamp,
  agent_version: stringOrNull,
  agent_gateway_replica: { ...stringOrNull, description: 'the gateway replica holding the live session' },
  resources_sync_state: {
    type: 'string',
    enum: ['configured', 'not_configured', 'no_data'],
    description: 'no_data: no report from the agent for three of its sync intervals',
  },
  resources_sync_message: stringOrNull,
  resources_reported_at: nullableTimestamp,
  cluster_agent_data: {
    type: 'array',
    description: 'the agent\'s newest telemetry, as one item of source "overview"',
    items: {
      type: 'object',
      properties: {
        id: uuid,
        cluster_id: uuid,
        source: { type: 'string' },
        data: { type: 'object', additionalProperties: true },
        created_at: timestamp,
        updated_at: timestamp,
        archived_at: nullableTimestamp,
        archive_number: { type: ['string', 'null'] },
      },
    },
  },
  resources_checked_at: nullableTimestamp,
  resources_state_results: {
    type: 'array',
    description:
      'one cluster only: each desired resource as the agent last reported it, errors when it failed',
    items: {
      type: 'object',
      properties: {
        api_version: { type: 'string' },
        kind: { type: 'string' },
        namespace: { type: 'string' },
        name: { type: 'string' },
        status: { type: 'string' },
        errors: { type: 'array', items: { type: 'string' } },
      },
    },
  },
  created_at: timestamp,
  updated_at: timestamp,
  ...archivedFields,
} as const;

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
  properties: clusterProperties,
} as const;

/** The text of a rendered field as answered: decrypted, the cluster's private keys masked. */
function answeredTexts(row: ClusterRow, deps: GatewayDeps): Record<string, string | null> {
  const keys = [row.generated_ssh_private_key, row.ssh_private_key]
    .filter((key): key is string => key !== null)
    .map((key) => deps.encryptor.decrypt(key));
  return Object.fromEntries(
    ANSWERED_TEXTS.map((field) => {
      const text = storedText(deps.encryptor, row[field]);
      return [field, text === null ? null : maskSecrets(text, keys)];
    }),
  );
}

/** The agent's report is stale after three of its intervals. */
function syncState(row: ListedCluster): string {
  if (!row.resources_reported_at || !row.resources_report_interval_ms) return 'no_data';
  const age = Date.now() - row.resources_reported_at.getTime();
  return age > 3 * row.resources_report_interval_ms ? 'no_data' : row.resources_sync_state;
}

/** Where the manager connects: the rendered hosts, or the SSH settings given as is. */
function connectionHostsOf(row: ListedCluster) {
  if (row.connection_hosts) return row.connection_hosts;
  return {
    masters:
      row.ssh_host && row.ssh_user
        ? [{ host: row.ssh_host, user: row.ssh_user, port: row.ssh_port ?? 22 }]
        : [],
  };
}

/** One cluster as answered on its own: with the rendered texts and per-resource results. */
async function fullClusterJson(row: ClusterRow, deps: GatewayDeps) {
  return {
    ...clusterJson(row),
    ...answeredTexts(row, deps),
    resources_state_results: await resourceStateResults(deps.sql, row.id),
  };
}

/**
 * The agent's telemetry as Commander's clients read it: source "overview" (with the firing alerts
 * Commander's scripts iterate, always a list) and "upmeter" (each component a probe, available 1 or 0).
 */
function agentData(row: ListedCluster) {
  if (!row.telemetry || !row.telemetry_at) return [];
  const item = (source: string, data: Record<string, unknown>) => ({
    id: derivedUuid(`${row.id}/${source}`),
    cluster_id: row.id,
    source,
    data,
    created_at: row.telemetry_at,
    updated_at: row.telemetry_at,
    archived_at: null,
    archive_number: null,
  });
  const components = Array.isArray(row.telemetry.components)
    ? (row.telemetry.components as { name: string; ready: boolean }[])
    : [];
  return [
    item('overview', { ...row.telemetry, warnings: { firing_alerts: [] } }),
    item('upmeter', {
      rows: [
        {
          group: 'components',
          probes: components.map(({ name, ready }) => ({ probe: name, availability: ready ? 1 : 0 })),
        },
      ],
    }),
  ];
}

/** A cluster as lists answer it; one cluster answered on its own adds its texts. */
function clusterJson(row: ListedCluster) {
  const sync = syncState(row);
  return {
    id: row.id,
    name: row.name,
    values: row.values,
    status: row.status,
    agent_status: row.agent_status,
    current_revision: row.current_revision,
    cluster_template_version_id: row.cluster_template_version_id,
    cluster_template_version_switched_at: row.cluster_template_version_switched_at,
    registry_id: row.registry_id,
    registry_mode: row.registry_mode,
    was_created: row.was_created,
    is_locked: row.is_locked || row.status === 'delete',
    cluster_type: row.cluster_type,
    connection_hosts: connectionHostsOf(row),
    ssh_public_key: row.generated_ssh_public_key,
    render_errors: row.render_errors,
    cluster_configuration_applied_at: row.cluster_configuration_applied_at,
    resources_sync_state: sync,
    resources_sync_message:
      sync === 'no_data' && row.resources_reported_at
        ? 'no report from the agent for three sync intervals'
        : row.resources_sync_message,
    resources_reported_at: row.resources_reported_at,
    cluster_agent_data: agentData(row),
    resources_checked_at: row.resources_reported_at,
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
    archive_number: archiveNumberJson(row.archive_number),
  };
}

/** What the audit trail records of a cluster's settings; the private key is masked there. */
function auditedFields(input: Partial<ClusterUpdate>) {
  const { current_revision: _revision, ...fields } = input;
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The private key must be one SSH can use; the schema can only bound its size. */
function checkPrivateKey(input: { ssh?: ClusterCreate['ssh'] | null }): void {
  if (!input.ssh) return;
  const parsed = ssh2.utils.parseKey(input.ssh.private_key);
  if (parsed instanceof Error) {
    throw new CommanderError(
      'VALIDATION_FAILED',
      `body/ssh/private_key is not a usable private key: ${parsed.message}`,
    );
  }
}

function fieldError(path: string, message: string): CommanderError {
  return new CommanderError('VALIDATION_FAILED', `${path} ${message}`, [{ path, message }]);
}

/**
 * The version a cluster is made from or switched to. Another workspace's version is as unknown
 * as a missing one; an unusable one, or one of an archived template, takes no new clusters.
 */
async function versionFor(
  sql: Queryable,
  workspaceId: string,
  id: string,
  current: string | null,
): Promise<{ version: VersionRow; template: TemplateRow }> {
  const path = 'body/cluster_template_version_id';
  let found: { version: VersionRow; template: TemplateRow };
  try {
    found = await findVersion(sql, workspaceId, id);
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'NOT_FOUND') {
      throw fieldError(path, `names no cluster template version (${id})`);
    }
    throw error;
  }
  // The version a cluster already has stays usable for it.
  if (id !== current) {
    if (found.version.unusable)
      throw fieldError(path, `names version ${found.version.version}, marked unusable`);
    if (found.template.archived_at) throw fieldError(path, 'names a version of an archived template');
  }
  return found;
}

/** Stores the rendered resources as the cluster's desired set (the agent's sync delivers them). */
async function storeRenderedResources(
  tx: Queryable,
  row: ClusterRow,
  rendered: Rendered,
  revisionBefore: number,
): Promise<boolean> {
  const set = rendered.set;
  if (!set) return false;
  // A cluster that never had resources keeps none for an empty section.
  if (set.resources.length === 0 && row.resources_hash === null) return false;
  const stored = await storeDesiredSet(
    tx,
    { id: row.id, current_revision: revisionBefore, resources_hash: row.resources_hash },
    set,
  );
  return stored.changed;
}

export function clusterRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql, encryptor } = deps;
  const pool = new RenderPool(encryptor, undefined, (message) => deps.logger.error(message));
  app.addHook('onClose', () => pool.close());
  const context: RenderContext = {
    pool,
    encryptor,
    publicUrl: deps.publicUrl,
    caBundle: deps.caBundle ?? '',
  };

  api.post(
    '/clusters',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        description:
          'From a template version: {name, cluster_template_version_id, values, registry_id?}; the values are ' +
          "checked against the version's params (422), every section is rendered, and the install is queued " +
          'when the SSH section names hosts. Without a version: {name, values?, ssh?, allowed_targets?}.',
        body: clusterCreate,
        response: responses({ 201: clusterSchema }),
      },
    },
    async (request, reply) => {
      const input = request.body;
      const actor = actorOf(request);
      const { workspaceId } = request.principal;
      checkPrivateKey(input);
      let columns: ClusterColumns = {};
      let rendered: Rendered | undefined;
      let records: ClusterRecords | undefined;
      const id = randomUUID();
      if (input.cluster_template_version_id !== undefined) {
        if (input.ssh) {
          throw fieldError(
            'body/ssh',
            'is not taken with a template version: its SSH section gives the hosts',
          );
        }
        const { version } = await versionFor(sql, workspaceId, input.cluster_template_version_id, null);
        const checked = checkedValues(version, input.values ?? {});
        records = {
          workspaceId,
          clusterId: id,
          params: version.params as Params,
          references: checked.records,
        };
        const values = await withRecords(sql, records, checked.values);
        const keys = generateKeyPair(id);
        rendered = await renderVersion(context, id, version, values, keys);
        columns = {
          values,
          cluster_template_version_id: version.id,
          cluster_template_version_switched_at: new Date(),
          generated_ssh_public_key: keys.publicKey,
          generated_ssh_private_key: encryptor.encrypt(keys.privateKey),
          ...renderedColumns(encryptor, rendered, undefined, input.allowed_targets),
        };
      } else {
        const ssh = input.ssh;
        columns = {
          values: input.values ?? {},
          ssh_host: ssh?.host ?? null,
          ssh_port: ssh ? (ssh.port ?? 22) : null,
          ssh_user: ssh?.user ?? null,
          ssh_private_key: ssh ? encryptor.encrypt(ssh.private_key) : null,
          allowed_targets: input.allowed_targets ?? [],
        };
      }
      const [row, audit, recordAudits] = await sql.begin(async (tx) => {
        if (input.registry_id) await requireLiveRegistry(tx, workspaceId, input.registry_id);
        let created = await insertCluster(tx, {
          ...columns,
          id,
          workspace_id: workspaceId,
          name: input.name,
          registry_id: input.registry_id || null,
          registry_mode: input.registry_mode ?? DEFAULT_REGISTRY_MODE,
          values: tx.json((columns.values ?? {}) as never),
          ...(columns.connection_hosts
            ? { connection_hosts: tx.json(columns.connection_hosts as never) }
            : {}),
          ...(columns.render_errors ? { render_errors: tx.json(columns.render_errors as never) } : {}),
        });
        const recordAudits = records ? await bindClusterRecords(tx, actor, records, created.values) : [];
        if (rendered && (await storeRenderedResources(tx, created, rendered, created.current_revision))) {
          created = await findCluster(tx, workspaceId, created.id);
        }
        if (created.ssh_host && created.status === 'new') await queueTask(tx, created.id, 'install');
        const record = await recordAudit(tx, actor, {
          auditableType: 'Cluster',
          auditableId: created.id,
          action: 'create',
          changes: {
            ...auditedFields(input),
            status: created.status,
            ...(created.render_errors.length > 0 ? { render_errors: created.render_errors } : {}),
          },
        });
        return [created, record, recordAudits] as const;
      });
      deps.printAudit(audit, ...recordAudits);
      return reply.status(201).send(await fullClusterJson(row, deps));
    },
  );

  api.get(
    '/clusters',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['clusters'],
        description:
          "The workspace's clusters, deleted ones too unless without_archived=true. The rendered texts " +
          '(*_rendered) are left out here: GET the cluster for them.',
        querystring: Type.Object(
          {
            ...archivedQuery.properties,
            include_archived: Type.Optional(
              Type.Boolean({ description: 'the older form: false leaves deleted clusters out' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: clusterSchema } }),
      },
    },
    async (request) => {
      const { without_archived: without, include_archived: include } = request.query;
      const rows = await listClusters(
        sql,
        request.principal.workspaceId,
        without === true || include === false,
      );
      return rows.map(clusterJson);
    },
  );

  api.get(
    '/clusters/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['clusters'], params: idParams, response: responses({ 200: clusterSchema }) },
    },
    async (request) =>
      fullClusterJson(await findCluster(sql, request.principal.workspaceId, request.params.id), deps),
  );

  api.put(
    '/clusters/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        description:
          'Replaces the cluster: name, cluster_template_version_id (required once the cluster has one), ' +
          'values (absent: none), registry_id (absent: none), with the current_revision read (stale: 409). ' +
          'New values or another version re-render the cluster and start a change. ssh and allowed_targets ' +
          'stay as they are when absent.',
        params: idParams,
        body: clusterUpdate,
        response: responses({ 200: clusterSchema }),
      },
    },
    async (request) => {
      const input = request.body;
      const actor = actorOf(request);
      const { workspaceId } = request.principal;
      checkPrivateKey(input);
      const current = await findCluster(sql, workspaceId, request.params.id);
      // Before rendering: a stale or impossible request costs nothing.
      checkRevision('cluster', current.current_revision, input.current_revision);
      if (current.archived_at || current.status === 'delete') {
        throw new CommanderError(
          'CONFLICT',
          `the cluster is ${current.archived_at ? 'deleted' : 'being deleted'}`,
        );
      }
      const versionId = input.cluster_template_version_id;
      if (current.cluster_template_version_id && versionId === undefined) {
        throw fieldError(
          'body/cluster_template_version_id',
          'is required: the cluster is made from a template version (PUT replaces the whole cluster)',
        );
      }
      if (versionId !== undefined && input.ssh) {
        throw fieldError('body/ssh', 'is not taken with a template version: its SSH section gives the hosts');
      }
      const newValues = input.values ?? {};
      let rendered: Rendered | undefined;
      let renderColumns: ClusterColumns = {};
      let keys: KeyPair | undefined;
      let records: ClusterRecords | undefined;
      if (versionId !== undefined) {
        const { version } = await versionFor(
          sql,
          workspaceId,
          versionId,
          current.cluster_template_version_id,
        );
        const given = checkedValues(version, newValues, current.values);
        records = {
          workspaceId,
          clusterId: current.id,
          params: version.params as Params,
          references: given.records,
        };
        const checked = await withRecords(sql, records, given.values);
        keys = current.generated_ssh_private_key
          ? {
              publicKey: current.generated_ssh_public_key ?? '',
              privateKey: encryptor.decrypt(current.generated_ssh_private_key),
            }
          : generateKeyPair(current.id);
        rendered = await renderVersion(context, current.id, version, checked, keys);
        renderColumns = {
          values: checked,
          ...renderedColumns(encryptor, rendered, current, input.allowed_targets),
        };
      }
      const [row, audit, recordAudits] = await sql.begin(async (tx) => {
        const before = await findCluster(tx, workspaceId, request.params.id, true);
        checkRevision('cluster', before.current_revision, input.current_revision);
        if (input.registry_id) await requireLiveRegistry(tx, workspaceId, input.registry_id);
        const recordAudits =
          records && renderColumns.values
            ? await bindClusterRecords(tx, actor, records, renderColumns.values as Record<string, unknown>)
            : [];
        const switched = versionId !== undefined && versionId !== before.cluster_template_version_id;
        // jsonb keeps its own key order: values are compared as values.
        const changed = switched || !isDeepStrictEqual(renderColumns.values ?? newValues, before.values);
        const columns: ClusterColumns = {
          name: input.name,
          registry_id: input.registry_id || null,
          registry_mode: input.registry_mode ?? DEFAULT_REGISTRY_MODE,
          ...(input.allowed_targets === undefined ? {} : { allowed_targets: input.allowed_targets }),
        };
        if (rendered) {
          Object.assign(columns, renderColumns, {
            values: tx.json((renderColumns.values ?? {}) as never),
            render_errors: tx.json((renderColumns.render_errors ?? []) as never),
            cluster_template_version_id: versionId,
            ...(switched ? { cluster_template_version_switched_at: new Date() } : {}),
            ...(keys && !before.generated_ssh_private_key
              ? {
                  generated_ssh_public_key: keys.publicKey,
                  generated_ssh_private_key: encryptor.encrypt(keys.privateKey),
                }
              : {}),
          });
          if (renderColumns.connection_hosts) {
            columns.connection_hosts = tx.json(renderColumns.connection_hosts as never);
          }
        } else {
          columns.values = tx.json(newValues as never);
          const ssh = input.ssh;
          if (ssh !== undefined) {
            Object.assign(columns, {
              ssh_host: ssh?.host ?? null,
              ssh_port: ssh ? (ssh.port ?? 22) : null,
              ssh_user: ssh?.user ?? null,
              ssh_private_key: ssh ? encryptor.encrypt(ssh.private_key) : null,
              ssh_host_key_fingerprint:
                ssh?.host === before.ssh_host ? before.ssh_host_key_fingerprint : null,
            });
          }
        }
        const failed = rendered !== undefined && rendered.errors.length > 0;
        if (rendered && !failed) {
          // What this configuration leads to: a change once the cluster exists, else an install.
          if (before.was_created) {
            if (changed || before.status === 'configuration_error') columns.status = 'changing';
          } else if (['new', 'configuration_error', 'creation_failed'].includes(before.status)) {
            columns.status = 'new';
          }
        }
        // The revision moves on once: with the resources when they changed, else here.
        const resourcesChanged =
          rendered && !failed
            ? await storeRenderedResources(tx, before, rendered, before.current_revision)
            : false;
        let after = await updateCluster(tx, before.id, columns, !resourcesChanged);
        if (failed) {
          await cancelPendingTasks(tx, before.id);
        } else if (columns.status === 'changing') {
          await queueTask(tx, after.id, 'reconcile');
        } else if (columns.status === 'new' && after.ssh_host) {
          await queueTask(tx, after.id, 'install');
        }
        if (resourcesChanged) after = await findCluster(tx, workspaceId, after.id);
        const record = await recordAudit(tx, actor, {
          auditableType: 'Cluster',
          auditableId: before.id,
          action: 'update',
          changes: {
            ...diffChanges(
              {
                name: before.name,
                values: before.values,
                cluster_template_version_id: before.cluster_template_version_id,
                registry_id: before.registry_id,
                allowed_targets: before.allowed_targets,
                status: before.status,
                ssh: before.ssh_host
                  ? { host: before.ssh_host, port: before.ssh_port, user: before.ssh_user }
                  : null,
              },
              {
                ...auditedFields(input),
                ...(rendered ? { values: after.values, allowed_targets: after.allowed_targets } : {}),
                registry_id: after.registry_id,
                status: after.status,
              },
            ),
            current_revision: [before.current_revision, after.current_revision],
            ...(failed ? { render_errors: after.render_errors } : {}),
          },
        });
        return [after, record, recordAudits] as const;
      });
      api.invalidations.publish({ table: 'clusters', id: row.id });
      deps.printAudit(audit, ...recordAudits);
      return fullClusterJson(row, deps);
    },
  );

  api.delete(
    '/clusters/:id',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['clusters'],
        description:
          'Starts deletion: status "delete" and a delete task; once it ran the cluster reads "deleted" with ' +
          'archived_at set.',
        params: idParams,
        response: responses({ 200: clusterSchema }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { workspaceId } = request.principal;
      const [row, audit] = await sql.begin(async (tx) => {
        const before = await findCluster(tx, workspaceId, request.params.id, true);
        // Deleting twice is not an error: the first deletion is already under way or done.
        if (before.status === 'delete' || before.archived_at) return [before, undefined] as const;
        await cancelPendingTasks(tx, before.id, ['install', 'reconcile', 'delete', 'noop']);
        await tx`insert into tasks (cluster_id, kind) values (${before.id}, 'delete')`;
        const after = await updateCluster(tx, before.id, { status: 'delete' });
        const record = await recordAudit(tx, actor, {
          auditableType: 'Cluster',
          auditableId: before.id,
          action: 'destroy',
          changes: { status: [before.status, 'delete'] },
        });
        return [after, record] as const;
      });
      if (audit) deps.printAudit(audit);
      return fullClusterJson(row, deps);
    },
  );
}
