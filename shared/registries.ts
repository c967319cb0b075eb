// Container registries, their SQL and row shape: where a cluster's platform images come from.
// The credentials (`auth`, base64 of `user:password` as a dockercfg holds it) are encrypted at
// rest, decrypted only for the installer's bundle, and never answered or audited.
import { nextArchiveNumber } from './archive.js';
import type { Encryptor } from './crypto.js';
import type { Queryable } from './db/connect.js';
import { CommanderError } from './errors.js';

export const REGISTRY_SCHEMES = ['https', 'http'] as const;
export type RegistryScheme = (typeof REGISTRY_SCHEMES)[number];

/** `host[:port][/path…]`, as `docker pull` takes a repository without its image name. */
export const IMAGES_REPO_PATTERN =
  '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$';
export const DEV_BRANCH_PATTERN = '^[A-Za-z0-9._/-]*$';
export const MAX_AUTH_LENGTH = 4096;

export interface RegistryRow {
  id: string;
  workspace_id: string;
  name: string;
  images_repo: string;
  scheme: RegistryScheme;
  dev_branch: string | null;
  /** Ciphertext, or null for a registry that needs no credentials. */
  auth: string | null;
  current_revision: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
}

export interface RegistryInput {
  name: string;
  images_repo: string;
  scheme: RegistryScheme;
  dev_branch: string | null;
  /** Plain base64 `user:password`; null for none. */
  auth: string | null;
}

/** What the installer gets: the credentials in the clear. */
export interface InstallerRegistry {
  imagesRepo: string;
  scheme: RegistryScheme;
  devBranch: string | null;
  auth: string | null;
}

/**
 * Why `auth` is unusable, or undefined: it must be base64 (a dockercfg's `auths.<host>.auth`) of
 * `user:password`, the user not empty. The message never quotes the value.
 */
export function authProblem(auth: string): string | undefined {
  if (auth.length > MAX_AUTH_LENGTH) return `must be at most ${MAX_AUTH_LENGTH} characters`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(auth) || auth.length % 4 !== 0) return 'must be base64 of user:password';
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return 'must be base64 of user:password (no user or no colon found)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return 'must not hold control characters once decoded';
  return undefined;
}

/** The registry host a dockercfg is keyed by: images_repo up to its first slash. */
export function registryHost(imagesRepo: string): string {
  return imagesRepo.split('/')[0] as string;
}

/** A docker config JSON, base64 as Deckhouse's `registryDockerCfg` takes it. */
export function dockerCfg(imagesRepo: string, auth: string | null): string {
  const auths = auth ? { [registryHost(imagesRepo)]: { auth } } : {};
  return Buffer.from(JSON.stringify({ auths })).toString('base64');
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function nameTaken(name: string): CommanderError {
  return new CommanderError('NAME_TAKEN', `body/name: a registry named "${name}" exists`);
}

export async function listRegistries(
  sql: Queryable,
  workspaceId: string,
  options: { withoutArchived?: boolean } = {},
): Promise<RegistryRow[]> {
  return sql<RegistryRow[]>`
    select * from registries where workspace_id = ${workspaceId}
      ${options.withoutArchived ? sql`and archived_at is null` : sql``}
    order by created_at, id`;
}

/** Another workspace's registry is not found, like a missing one. */
export async function findRegistry(
  sql: Queryable,
  workspaceId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<RegistryRow> {
  const [row] = await sql<RegistryRow[]>`
    select * from registries where id = ${id} and workspace_id = ${workspaceId}
      ${options.lock ? sql`for update` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `registry ${id} not found`);
  return row;
}

export async function insertRegistry(
  tx: Queryable,
  encryptor: Encryptor,
  workspaceId: string,
  input: RegistryInput,
): Promise<RegistryRow> {
  try {
    const [row] = await tx<RegistryRow[]>`
      insert into registries (workspace_id, name, images_repo, scheme, dev_branch, auth)
      values (${workspaceId}, ${input.name}, ${input.images_repo}, ${input.scheme}, ${input.dev_branch},
        ${input.auth === null ? null : encryptor.encrypt(input.auth)})
      returning *`;
    if (!row) throw new Error('registry was not stored');
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
}

/** Replaces the fields of a locked, live registry; `auth` undefined keeps the stored one. */
export async function updateRegistry(
  tx: Queryable,
  encryptor: Encryptor,
  before: RegistryRow,
  input: Omit<RegistryInput, 'auth'> & { auth?: string | null },
): Promise<RegistryRow> {
  const auth =
    input.auth === undefined ? before.auth : input.auth === null ? null : encryptor.encrypt(input.auth);
  try {
    const [row] = await tx<RegistryRow[]>`
      update registries set name = ${input.name}, images_repo = ${input.images_repo}, scheme = ${input.scheme},
        dev_branch = ${input.dev_branch}, auth = ${auth}, current_revision = current_revision + 1, updated_at = now()
      where id = ${before.id} returning *`;
    if (!row) throw new Error('registry update lost');
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
}

/** Archives a locked registry that no live cluster uses. */
export async function archiveRegistry(tx: Queryable, row: RegistryRow): Promise<RegistryRow> {
  const users = await tx<{ id: string; name: string }[]>`
    select id, name from clusters where registry_id = ${row.id} and archived_at is null order by name limit 5`;
  if (users.length > 0) {
    throw new CommanderError(
      'CONFLICT',
      `the registry is used by live clusters (${users.map((c) => c.name).join(', ')}); move or delete them first`,
    );
  }
  const number = await nextArchiveNumber(tx, 'registries', {
    workspace_id: row.workspace_id,
    name: row.name,
  });
  const [after] = await tx<RegistryRow[]>`
    update registries set archived_at = now(), archive_number = ${number},
      current_revision = current_revision + 1, updated_at = now()
    where id = ${row.id} returning *`;
  if (!after) throw new Error('registry archive lost');
  return after;
}

/**
 * What a cluster's `registry_id` must name: a live registry of the cluster's workspace. Locked in
 * share mode until the caller commits, so it cannot be archived from under the cluster.
 */
export async function requireLiveRegistry(
  tx: Queryable,
  workspaceId: string,
  id: string,
  field = 'body/registry_id',
): Promise<RegistryRow> {
  const [row] = await tx<RegistryRow[]>`
    select * from registries where id = ${id} and workspace_id = ${workspaceId} and archived_at is null
    for share`;
  if (!row)
    throw new CommanderError('VALIDATION_FAILED', `${field} names no live registry of this workspace`);
  return row;
}

/** The registry a cluster's installer uses, credentials decrypted; undefined when it has none. */
export async function installerRegistry(
  sql: Queryable,
  encryptor: Encryptor,
  clusterId: string,
): Promise<InstallerRegistry | undefined> {
  const [row] = await sql<RegistryRow[]>`
    select r.* from clusters c join registries r on r.id = c.registry_id where c.id = ${clusterId}`;
  if (!row) return undefined;
  return {
    imagesRepo: row.images_repo,
    scheme: row.scheme,
    devBranch: row.dev_branch,
    auth: row.auth === null ? null : encryptor.decrypt(row.auth),
  };
}
