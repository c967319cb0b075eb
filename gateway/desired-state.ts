// A cluster's desired resources in PostgreSQL: storing a new set (content-addressed, so the same
// set makes no new revision) and answering an agent's pull with only what it lacks.
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import { type DesiredResource, setHash, shortHash } from '../shared/manifests.js';
import { DESIRED_PART_BYTES, type Desired, type DesiredUpsert, type Pull } from '../shared/wire/control.js';

export interface StoreResult {
  revision: number;
  revisionHash: string;
  changed: boolean;
  added: number;
  updated: number;
  removed: number;
}

/** A resource as its row holds it: the manifest in canonical JSON, encrypted if sensitive. */
export type StoredResource = Omit<DesiredResource, 'canonical' | 'sensitive'> & { manifest: string };

/** A validated set ready to store; made off the event loop (gateway/manifest-worker.ts). */
export interface PreparedSet {
  resources: StoredResource[];
  revisionHash: string;
}

const INSERT_BATCH = 500;

/**
 * Secrets are encrypted at rest, and so is any manifest that carries one inside (a template, a
 * look-alike kind of another group); everything else stays readable for people with the
 * database. List wrappers never get here: their items were unpacked.
 */
export function prepareSet(resources: DesiredResource[], encryptor: Encryptor): PreparedSet {
  return {
    resources: resources.map(({ canonical, sensitive, ...resource }) => ({
      ...resource,
      manifest: sensitive ? encryptor.encrypt(canonical) : canonical,
    })),
    revisionHash: setHash(resources),
  };
}

function loadedManifest(encryptor: Encryptor, stored: string): Record<string, unknown> {
  return JSON.parse(stored.startsWith('enc:') ? encryptor.decrypt(stored) : stored) as Record<
    string,
    unknown
  >;
}

/**
 * Replaces the desired set of a cluster whose row the caller holds locked (`for update`). A set
 * equal to the stored one changes nothing: no new revision, no nudge, no agent traffic.
 */
export async function storeDesiredSet(
  tx: Queryable,
  cluster: { id: string; current_revision: number; resources_hash: string | null },
  set: PreparedSet,
): Promise<StoreResult> {
  const { resources, revisionHash } = set;
  if (cluster.resources_hash === revisionHash) {
    return {
      revision: cluster.current_revision,
      revisionHash,
      changed: false,
      added: 0,
      updated: 0,
      removed: 0,
    };
  }
  const revision = cluster.current_revision + 1;
  const before = new Map(
    (
      await tx<{ key: string; hash: string; desired: boolean; position: number }[]>`
        select key, hash, desired, position from cluster_resources where cluster_id = ${cluster.id}`
    ).map((row) => [row.key, row]),
  );
  let added = 0;
  let updated = 0;
  // Only what changed is written: a one-resource change in a large set costs one row.
  const changed = resources
    .map((resource, position) => ({ resource, position }))
    .filter(({ resource, position }) => {
      const previous = before.get(resource.key);
      if (!previous?.desired) added += 1;
      else if (previous.hash !== resource.hash) updated += 1;
      else return previous.position !== position;
      return true;
    });
  for (let start = 0; start < changed.length; start += INSERT_BATCH) {
    const rows = changed.slice(start, start + INSERT_BATCH).map(({ resource, position }) => ({
      cluster_id: cluster.id,
      key: resource.key,
      api_version: resource.apiVersion,
      kind: resource.kind,
      namespace: resource.namespace,
      name: resource.name,
      hash: resource.hash,
      mode: resource.mode,
      manifest: resource.manifest,
      position,
      desired: true,
      revision,
      status: 'pending',
    }));
    // An unchanged resource keeps its status and revision; a changed or returning one is pending.
    await tx`insert into cluster_resources ${tx(rows)}
      on conflict (cluster_id, key) do update set
        hash = excluded.hash, mode = excluded.mode, manifest = excluded.manifest,
        position = excluded.position, api_version = excluded.api_version, kind = excluded.kind,
        namespace = excluded.namespace, name = excluded.name, desired = true,
        revision = case when cluster_resources.desired and cluster_resources.hash = excluded.hash
          then cluster_resources.revision else excluded.revision end,
        status = case when cluster_resources.desired and cluster_resources.hash = excluded.hash
          then cluster_resources.status else 'pending' end,
        message = case when cluster_resources.desired and cluster_resources.hash = excluded.hash
          then cluster_resources.message else null end`;
  }
  const keys = resources.map((resource) => resource.key);
  const removedRows = await tx`update cluster_resources
    set desired = false, status = 'pending', message = null, revision = ${revision}
    where cluster_id = ${cluster.id} and desired and key <> all(${keys}::text[])
    returning key`;
  // The trigger on current_revision tells every gateway replica to nudge the agent.
  // Not configured until the agent reports this revision applied.
  await tx`update clusters set current_revision = ${revision}, resources_hash = ${revisionHash}, updated_at = now(),
      resources_sync_state = case when resources_reported_at is null then 'no_data' else 'not_configured' end,
      resources_sync_message = ${`revision ${revision} not applied yet`}
    where id = ${cluster.id}`;
  return { revision, revisionHash, changed: true, added, updated, removed: removedRows.length };
}

/** Answers a pull: `send` gets one or more bounded `desired` parts, the last with `final`. */
export async function answerPull(
  sql: Sql,
  encryptor: Encryptor,
  clusterId: string,
  pull: Pull,
  send: (part: Desired) => Promise<void>,
): Promise<{ notModified: boolean; upserts: number; removed: number }> {
  const [cluster] = await sql<{ current_revision: number; resources_hash: string | null }[]>`
    select current_revision, resources_hash from clusters where id = ${clusterId}`;
  const revision = cluster?.current_revision ?? 0;
  const revisionHash = cluster?.resources_hash ?? null;
  const base = { type: 'desired' as const, pull_id: pull.pull_id, revision, revision_hash: revisionHash };
  if (pull.revision_hash !== null && pull.revision_hash === revisionHash) {
    await send({ ...base, not_modified: true, upserts: [], removed: [], final: true });
    return { notModified: true, upserts: 0, removed: 0 };
  }
  const held = new Set(pull.hashes);
  const current = new Set<string>();
  // Hashes first: only the manifests the agent lacks are read (and decrypted) at all.
  const rows = await sql<{ key: string; hash: string }[]>`
    select key, hash from cluster_resources
    where cluster_id = ${clusterId} and desired order by position`;
  const missing = rows.filter((row) => {
    current.add(shortHash(row.hash));
    return !held.has(shortHash(row.hash));
  });
  const removed = pull.hashes.filter((hash) => !current.has(hash));
  let part: DesiredUpsert[] = [];
  let partBytes = 0;
  let first = true;
  const flush = async (final: boolean) => {
    await send({ ...base, not_modified: false, upserts: part, removed: first ? removed : [], final });
    first = false;
    part = [];
    partBytes = 0;
  };
  for (let start = 0; start < missing.length; start += INSERT_BATCH) {
    const batch = missing.slice(start, start + INSERT_BATCH);
    // Read again with the manifest: a set stored in between may have changed a row, so each
    // upsert carries the hash of its own manifest; the agent checks the whole set's hash and
    // pulls again when it does not match (docs/protocol.md).
    const stored = await sql<(Omit<DesiredUpsert, 'manifest'> & { manifest: string })[]>`
      select key, hash, mode, position, manifest from cluster_resources
      where cluster_id = ${clusterId} and desired and key = any(${batch.map((row) => row.key)}::text[])
      order by position`;
    for (const row of stored) {
      if (part.length > 0 && partBytes + row.manifest.length > DESIRED_PART_BYTES) await flush(false);
      part.push({ ...row, manifest: loadedManifest(encryptor, row.manifest) });
      partBytes += row.manifest.length;
    }
  }
  await flush(true);
  return { notModified: false, upserts: missing.length, removed: removed.length };
}
