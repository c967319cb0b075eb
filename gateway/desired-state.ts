// A cluster's desired resources in PostgreSQL: storing a new set (content-addressed, so the same
// set makes no new revision) and answering an agent's pull with only what it lacks.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import { type DesiredResource, setHash, shortHash } from '../shared/manifests.js';
import type { Desired, DesiredUpsert, Pull } from '../shared/wire/control.js';
import { DESIRED_PART_BYTES } from '../shared/wire/limits.js';

export interface StoreResult {
  revision: number;
  revisionHash: string;
  changed: boolean;
  added: number;
  updated: number;
  removed: number;
}

/** A resource of a prepared set, without its manifest (which is in PreparedSet.rows). */
export type StoredResource = Omit<DesiredResource, 'canonical' | 'sensitive'>;

/**
 * A validated set ready to store, made off the event loop (gateway/manifest-worker.ts). The
 * manifests travel as bytes, never as strings: the event loop copies them into the database
 * connection and neither encodes them nor keeps 30 MiB of strings for its garbage collector.
 */
export interface PreparedSet {
  /** In set order. */
  resources: StoredResource[];
  /** One line of COPY text per resource (INCOMING_COLUMNS, manifest encrypted if sensitive). */
  rows: Uint8Array;
  /** Where each resource's line ends in `rows`. */
  rowEnds: number[];
  revisionHash: string;
}

/** Manifests read per query when answering a pull. */
const READ_BATCH = 500;
const INCOMING_COLUMNS = 'key, api_version, kind, namespace, name, hash, mode, manifest, position';
/** Pieces in which the rows go to the database: each is one copy on the event loop. */
const COPY_PIECE_BYTES = 256 * 1024;

/** COPY's text format: backslash, tab, newline and carriage return are escaped. */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/**
 * Secrets are encrypted at rest, and so is any manifest that carries one inside (a template, a
 * look-alike kind of another group); everything else stays readable for people with the
 * database. List wrappers never get here: their items were unpacked.
 */
export function prepareSet(resources: DesiredResource[], encryptor: Encryptor): PreparedSet {
  const lines = resources.map(
    (resource, position) =>
      `${[
        resource.key,
        resource.apiVersion,
        resource.kind,
        resource.namespace,
        resource.name,
        resource.hash,
        resource.mode,
        resource.sensitive ? encryptor.encrypt(resource.canonical) : resource.canonical,
        String(position),
      ]
        .map(copyText)
        .join('\t')}\n`,
  );
  const rowEnds: number[] = [];
  let end = 0;
  for (const line of lines) {
    end += Buffer.byteLength(line);
    rowEnds.push(end);
  }
  // Its own memory, not a slice of Node's pool, so that it can move to another thread.
  const rows = Buffer.allocUnsafeSlow(end);
  let offset = 0;
  for (const line of lines) offset += rows.write(line, offset);
  return {
    resources: resources.map(({ canonical: _canonical, sensitive: _sensitive, ...resource }) => resource),
    rows,
    rowEnds,
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
  const changed: number[] = [];
  resources.forEach((resource, position) => {
    const previous = before.get(resource.key);
    if (!previous?.desired) added += 1;
    else if (previous.hash !== resource.hash) updated += 1;
    else if (previous.position === position) return;
    changed.push(position);
  });
  if (changed.length > 0) {
    // The changed rows go in with COPY, straight from the bytes the parser thread made, then
    // join the stored set in one statement.
    await tx`create temporary table incoming_resources (key text, api_version text, kind text,
      namespace text, name text, hash text, mode text, manifest text, position integer)`;
    const copy = await tx.unsafe(`copy incoming_resources (${INCOMING_COLUMNS}) from stdin`).writable();
    await pipeline(Readable.from(paced(pieces(set, changed))), copy);
    // An unchanged resource keeps its status and revision; a changed or returning one is pending.
    await tx`insert into cluster_resources (cluster_id, ${tx.unsafe(INCOMING_COLUMNS)}, desired, revision, status)
      select ${cluster.id}, ${tx.unsafe(INCOMING_COLUMNS)}, true, ${revision}, 'pending' from incoming_resources
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
    // Dropped here, not at commit: one transaction may store the sets of several clusters.
    await tx`drop table incoming_resources`;
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

/**
 * One piece per turn of the event loop. The socket to the database takes pieces as fast as they
 * come; without the turns, 30 MiB would go out in one block that no other request shares.
 */
async function* paced(source: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const piece of source) {
    yield piece;
    await nextTurn();
  }
}

/** The COPY lines of the `changed` resources (ascending positions), in pieces of about COPY_PIECE_BYTES. */
function* pieces(set: PreparedSet, changed: number[]): Generator<Uint8Array> {
  const start = (position: number) => (position === 0 ? 0 : (set.rowEnds[position - 1] as number));
  let i = 0;
  while (i < changed.length) {
    // A run of consecutive positions is one range of bytes.
    let j = i;
    while (j + 1 < changed.length && changed[j + 1] === (changed[j] as number) + 1) j += 1;
    const end = set.rowEnds[changed[j] as number] as number;
    for (let offset = start(changed[i] as number); offset < end; offset += COPY_PIECE_BYTES) {
      yield set.rows.subarray(offset, Math.min(end, offset + COPY_PIECE_BYTES));
    }
    i = j + 1;
  }
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
  for (let start = 0; start < missing.length; start += READ_BATCH) {
    const batch = missing.slice(start, start + READ_BATCH);
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
