// What a cluster made from a template version stores: its values checked against the version's
// params, every section rendered on the render thread with the dc_* variables, and the outcome
// turned into the cluster's columns (rendered texts, connection hosts, SSH settings, errors).
import type { Encryptor } from '../shared/crypto.js';
import { CommanderError } from '../shared/errors.js';
import type { Params } from '../shared/params/schema.js';
import { checkValues, type RecordReference } from '../shared/params/values.js';
import { generateSshKeyPair } from '../shared/ssh-key.js';
import type { VersionRow } from './cluster-templates.js';
import type { ClusterColumns, ClusterRow, ConnectionHosts } from './clusters.js';
import type { DcVariables, Rendered } from './render.js';
import type { RenderPool } from './render-pool.js';
import { SECTION_NAMES } from './template-sections.js';

export interface RenderContext {
  pool: RenderPool;
  encryptor: Encryptor;
  /** COMMANDER_PUBLIC_URL: its host is dc_domain. */
  publicUrl: string;
  /** dc_caBundle: base64 of the certificate agents should trust, or empty. */
  caBundle: string;
}

export interface KeyPair {
  publicKey: string;
  privateKey: string;
}

/** The key pair a cluster gets at creation (dc_sshPublicKey, dc_sshPrivateKey), OpenSSH format. */
export function generateKeyPair(clusterId: string): KeyPair {
  const pair = generateSshKeyPair(`commander-${clusterId}`);
  return { publicKey: pair.public, privateKey: pair.private };
}

/** Commander's host as agents reach it: host[:port] of the public URL. */
export function dcDomain(publicUrl: string): string {
  return new URL(publicUrl).host;
}

/**
 * The values as the version's params take them (defaults applied, empty optional values left
 * out, immutable ones held to `previous`), or 422 naming each bad key. Catalog parameters come
 * back as record references: resolving and binding them is the inventory's (not here yet), so
 * their values pass as given.
 */
export function checkedValues(
  version: VersionRow,
  values: Record<string, unknown>,
  previous?: Record<string, unknown>,
): { values: Record<string, unknown>; records: RecordReference[] } {
  const checked = checkValues(version.params as Params, values, { previous });
  if (checked.errors.length > 0) {
    const details = checked.errors.map((issue) => ({
      path: `body/values/${issue.key}`,
      message: issue.message,
    }));
    throw new CommanderError(
      'INVALID_VALUES',
      details.map((detail) => `${detail.path} ${detail.message}`).join('; '),
      details,
    );
  }
  return { values: checked.values, records: checked.records };
}

export function renderVersion(
  context: RenderContext,
  clusterId: string,
  version: VersionRow,
  values: Record<string, unknown>,
  keys: KeyPair,
): Promise<Rendered> {
  const variables: DcVariables = {
    dc_clusterUUID: clusterId,
    dc_domain: dcDomain(context.publicUrl),
    dc_caBundle: context.caBundle,
    dc_sshPublicKey: keys.publicKey,
    dc_sshPrivateKey: keys.privateKey,
  };
  const sections = Object.fromEntries(SECTION_NAMES.map((name) => [name, version[name]])) as Record<
    (typeof SECTION_NAMES)[number],
    string
  >;
  return context.pool.render({ sections, values, variables });
}

function targetOf(host: { host: string; port: number }): string {
  return host.host.includes(':') ? `[${host.host}]:${host.port}` : `${host.host}:${host.port}`;
}

/**
 * The columns a render sets. A failed render sets only its errors and the status: the cluster
 * keeps the last configuration that rendered (and its resources) until one renders again.
 * Targets the manager needs (the connection hosts) join the cluster's allowed targets.
 */
export function renderedColumns(
  encryptor: Encryptor,
  rendered: Rendered,
  previous?: Pick<
    ClusterRow,
    'allowed_targets' | 'connection_hosts' | 'ssh_host' | 'ssh_port' | 'ssh_host_key_fingerprint'
  >,
  allowedTargets?: string[],
): ClusterColumns {
  if (rendered.errors.length > 0 || !rendered.connection) {
    return { render_errors: rendered.errors, status: 'configuration_error' };
  }
  const texts = Object.fromEntries(
    Object.entries(rendered.texts).map(([field, text]) => [
      field,
      rendered.sensitive.includes(field as keyof Rendered['texts']) ? encryptor.encrypt(text) : text,
    ]),
  );
  const { masters, privateKey } = rendered.connection;
  // The master the install reached stays the first master while the hosts still list it.
  const kept = masters.find(
    (master) => master.host === previous?.ssh_host && master.port === previous?.ssh_port,
  );
  const first = kept ?? masters[0];
  const previousHosts = new Set((previous?.connection_hosts?.masters ?? []).map(targetOf));
  const explicit = (allowedTargets ?? previous?.allowed_targets ?? []).filter(
    (target) => !previousHosts.has(target),
  );
  const connection: ConnectionHosts = { masters };
  return {
    ...texts,
    render_errors: [],
    connection_hosts: connection,
    cluster_type: masters.length > 0 ? 'static' : null,
    ssh_host: first?.host ?? null,
    ssh_port: first?.port ?? null,
    ssh_user: first?.user ?? null,
    ssh_private_key: first ? encryptor.encrypt(privateKey) : null,
    // A host key is pinned per host: a new first master is met anew.
    ssh_host_key_fingerprint: kept ? (previous?.ssh_host_key_fingerprint ?? null) : null,
    allowed_targets: [...new Set([...explicit, ...masters.map(targetOf)])],
  };
}

/** A rendered text as stored: decrypted when it holds a key. */
export function storedText(encryptor: Encryptor, text: string | null): string | null {
  return text?.startsWith('enc:') ? encryptor.decrypt(text) : text;
}
