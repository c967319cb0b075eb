// Parses and validates the environment once; every program gets its settings from here.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface EncryptionKeys {
  /** Oldest first; the last one encrypts, all of them decrypt. */
  primaryKeys: string[];
  deterministicKeys: string[];
  salt: string;
}

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** The web application's public client id for the authorization-code flow (default: the audience). */
  clientId: string;
  jwksUrl?: string;
  workspaceClaim: string;
  roleClaim: string;
  userClaim: string;
  /** The claim listing the user's groups, matched against workspace role bindings (default `groups`). */
  groupsClaim?: string;
}

export interface Config {
  databaseUrl?: string;
  dataDir: string;
  listen: { host: string; port: number };
  publicUrl: string;
  /**
   * The keys set in the environment. Without them, the data dir's keys.env is read when the
   * database is opened (loadKeysFile), under the lock that `up` holds while it writes that file.
   */
  encryption?: EncryptionKeys;
  installersFile?: string;
  logLevel: string;
  dbPoolMax: number;
  shutdownTimeoutMs: number;
  telemetryRetentionDays: number;
  replicaId: string;
  /**
   * The replica link (gateway/replica-link.ts): where this gateway listens for its peers, and the
   * host:port it advertises to them. Unset: it neither listens nor forwards to itself.
   */
  replicaLink?: { listen: { host: string; port: number }; address?: string };
  /** How often a gateway replica heartbeats its row; three missed beats and it is gone (ms). */
  replicaHeartbeatMs: number;
  /** How long a manager's claim on a task lasts without a heartbeat (ms). */
  taskLeaseMs: number;
  /** How long an install waits for the agent to dial in (ms). */
  agentWaitMs: number;
  /** The agent image the bootstrap bundle's Deployment runs. */
  agentImage: string;
  /** Where manager replicas reach the gateway to open tunnels (default: the public URL). */
  gatewayUrl: string;
  /**
   * PEM file of the CAs a manager trusts for an https:// gatewayUrl: COMMANDER_CA_FILE, else the
   * gateway's own COMMANDER_TLS_CERT_FILE, else (undefined) the system's CAs.
   */
  gatewayCaFile?: string;
  /** How often each cluster is reconciled (ms). */
  checkIntervalMs: number;
  oidc?: OidcConfig;
  /** Serve HTTPS/WSS directly with this certificate and key (PEM files); usually TLS ends at an ingress. */
  tls?: { certFile: string; keyFile: string };
  /** Whose X-Forwarded-For to believe for the client address (fastify's trustProxy). */
  trustProxy: boolean | string[];
}

export const KEY_VARIABLES = {
  primary: 'COMMANDER_ENCRYPTION_PRIMARY_KEY',
  deterministic: 'COMMANDER_ENCRYPTION_DETERMINISTIC_KEY',
  salt: 'COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_KEY_LENGTH = 32;

type Env = Record<string, string | undefined>;

/** The keys as the environment carries them: the three variables, lists comma separated. */
export function keysEnvironment(keys: EncryptionKeys): Record<string, string> {
  return {
    [KEY_VARIABLES.primary]: keys.primaryKeys.join(','),
    [KEY_VARIABLES.deterministic]: keys.deterministicKeys.join(','),
    [KEY_VARIABLES.salt]: keys.salt,
  };
}

export function keysFilePath(dataDir: string): string {
  return join(dataDir, 'keys.env');
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(nonEmpty(env, 'COMMANDER_DATA_DIR') ?? './.commander');
  const listen = parseListen(nonEmpty(env, 'COMMANDER_LISTEN') ?? '127.0.0.1:8080');
  const tls = loadTls(env);
  const publicUrl = parseUrl(
    'COMMANDER_PUBLIC_URL',
    nonEmpty(env, 'COMMANDER_PUBLIC_URL') ??
      `${tls ? 'https' : 'http'}://${formatHost(listen.host)}:${listen.port}`,
  );
  const databaseUrl = nonEmpty(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const logLevel = nonEmpty(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    databaseUrl,
    dataDir,
    listen,
    publicUrl,
    encryption: loadKeys(env),
    installersFile: nonEmpty(env, 'COMMANDER_INSTALLERS'),
    logLevel,
    dbPoolMax: parseInteger(env, 'COMMANDER_DB_POOL_MAX', 10, 1, 1000),
    shutdownTimeoutMs: parseInteger(env, 'COMMANDER_SHUTDOWN_TIMEOUT', 10, 1, 3600) * 1000,
    telemetryRetentionDays: parseInteger(env, 'COMMANDER_TELEMETRY_RETENTION_DAYS', 30, 1, 3650),
    replicaId: nonEmpty(env, 'COMMANDER_REPLICA_ID') ?? `${hostname()}-${process.pid}`,
    replicaLink: loadReplicaLink(env),
    replicaHeartbeatMs: parseInteger(env, 'COMMANDER_REPLICA_HEARTBEAT_SECONDS', 5, 1, 300) * 1000,
    taskLeaseMs: parseInteger(env, 'COMMANDER_TASK_LEASE_SECONDS', 30, 1, 3600) * 1000,
    agentWaitMs: parseInteger(env, 'COMMANDER_AGENT_WAIT_SECONDS', 600, 1, 86_400) * 1000,
    agentImage: nonEmpty(env, 'COMMANDER_AGENT_IMAGE') ?? 'ghcr.io/commander/commander:latest',
    gatewayUrl: parseUrl('COMMANDER_GATEWAY_URL', nonEmpty(env, 'COMMANDER_GATEWAY_URL') ?? publicUrl),
    gatewayCaFile: existingFile(env, 'COMMANDER_CA_FILE') ?? tls?.certFile,
    checkIntervalMs: parseInteger(env, 'COMMANDER_CHECK_INTERVAL_SECONDS', 600, 10, 86_400) * 1000,
    oidc: loadOidc(env),
    tls,
    trustProxy: parseTrustProxy(nonEmpty(env, 'COMMANDER_TRUST_PROXY')),
  };
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function parseInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** `true`, or a comma-separated list of proxy addresses/CIDRs; unset trusts nobody. */
function parseTrustProxy(raw: string | undefined): boolean | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError('COMMANDER_TRUST_PROXY', `must be true, false or addresses/CIDRs, got "${raw}"`);
  }
  return entries;
}

function parseListen(raw: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65535) {
    throw new ConfigError('COMMANDER_LISTEN', `must be host:port, got "${raw}"`);
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/**
 * COMMANDER_REPLICA_LISTEN (host:port) turns the replica link on; COMMANDER_REPLICA_ADDRESS is
 * what peers dial, by default the listen address (which then must not be a wildcard).
 */
function loadReplicaLink(env: Env): Config['replicaLink'] {
  const rawListen = nonEmpty(env, 'COMMANDER_REPLICA_LISTEN');
  const rawAddress = nonEmpty(env, 'COMMANDER_REPLICA_ADDRESS');
  if (!rawListen) {
    if (rawAddress) throw new ConfigError('COMMANDER_REPLICA_ADDRESS', 'needs COMMANDER_REPLICA_LISTEN');
    return undefined;
  }
  let listen: { host: string; port: number };
  try {
    listen = parseListen(rawListen);
  } catch {
    throw new ConfigError('COMMANDER_REPLICA_LISTEN', `must be host:port, got "${rawListen}"`);
  }
  if (rawAddress) {
    let advertised: { host: string; port: number };
    try {
      advertised = parseListen(rawAddress);
    } catch {
      throw new ConfigError('COMMANDER_REPLICA_ADDRESS', `must be host:port, got "${rawAddress}"`);
    }
    if (advertised.port === 0)
      throw new ConfigError('COMMANDER_REPLICA_ADDRESS', 'needs a port other than 0');
    return { listen, address: `${formatHost(advertised.host)}:${advertised.port}` };
  }
  if (['0.0.0.0', '::'].includes(listen.host)) {
    throw new ConfigError(
      'COMMANDER_REPLICA_ADDRESS',
      'is required when COMMANDER_REPLICA_LISTEN listens on every address (peers need one to dial)',
    );
  }
  // Unset: the listen address with the port actually bound (port 0 picks a free one).
  return { listen };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function parseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http:// or https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http:// or https:// URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** Keys from the environment: all three variables, or none. */
function loadKeys(env: Env): EncryptionKeys | undefined {
  const names = Object.values(KEY_VARIABLES);
  if (names.every((name) => nonEmpty(env, name) === undefined)) return undefined;
  return parseKeys(env, 'the environment');
}

/** The keys `up` wrote into the data dir, if it did; the source names the file for messages. */
export function loadKeysFile(dataDir: string): { keys: EncryptionKeys; source: string } | undefined {
  const file = keysFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(KEY_VARIABLES.primary, `cannot read ${file}: ${(error as Error).message}`);
  }
  return { keys: parseKeys(parseEnvFile(text), file), source: file };
}

function parseKeys(env: Env, source: string): EncryptionKeys {
  const list = (name: string) => {
    const raw = nonEmpty(env, name);
    if (raw === undefined) throw new ConfigError(name, `is not set (in ${source}) but the other keys are`);
    const keys = raw.split(',').map((key) => key.trim());
    for (const key of keys) {
      if (key.length < MIN_KEY_LENGTH) {
        throw new ConfigError(name, `every key must be at least ${MIN_KEY_LENGTH} characters (in ${source})`);
      }
    }
    return keys;
  };
  const primaryKeys = list(KEY_VARIABLES.primary);
  const deterministicKeys = list(KEY_VARIABLES.deterministic);
  const [salt, ...extra] = list(KEY_VARIABLES.salt);
  if (salt === undefined || extra.length > 0) {
    throw new ConfigError(KEY_VARIABLES.salt, `must be exactly one value (in ${source})`);
  }
  return { primaryKeys, deterministicKeys, salt };
}

export function parseEnvFile(text: string): Env {
  const env: Env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) env[match[1]] = match[2]?.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

function existingFile(env: Env, name: string): string | undefined {
  const file = nonEmpty(env, name);
  if (file !== undefined && !existsSync(file)) throw new ConfigError(name, `${file} does not exist`);
  return file;
}

function loadTls(env: Env): Config['tls'] {
  const certFile = nonEmpty(env, 'COMMANDER_TLS_CERT_FILE');
  const keyFile = nonEmpty(env, 'COMMANDER_TLS_KEY_FILE');
  if (!certFile && !keyFile) return undefined;
  if (!certFile) throw new ConfigError('COMMANDER_TLS_CERT_FILE', 'is required with COMMANDER_TLS_KEY_FILE');
  if (!keyFile) throw new ConfigError('COMMANDER_TLS_KEY_FILE', 'is required with COMMANDER_TLS_CERT_FILE');
  for (const [name, file] of [
    ['COMMANDER_TLS_CERT_FILE', certFile],
    ['COMMANDER_TLS_KEY_FILE', keyFile],
  ] as const) {
    if (!existsSync(file)) throw new ConfigError(name, `${file} does not exist`);
  }
  return { certFile, keyFile };
}

function loadOidc(env: Env): OidcConfig | undefined {
  const issuer = nonEmpty(env, 'COMMANDER_OIDC_ISSUER');
  if (issuer === undefined) return undefined;
  parseUrl('COMMANDER_OIDC_ISSUER', issuer);
  const audience = nonEmpty(env, 'COMMANDER_OIDC_AUDIENCE');
  if (audience === undefined)
    throw new ConfigError('COMMANDER_OIDC_AUDIENCE', 'is required with COMMANDER_OIDC_ISSUER');
  const jwksUrl = nonEmpty(env, 'COMMANDER_OIDC_JWKS_URL');
  if (jwksUrl !== undefined) parseUrl('COMMANDER_OIDC_JWKS_URL', jwksUrl);
  const clientId = nonEmpty(env, 'COMMANDER_OIDC_CLIENT_ID') ?? audience;
  // Sent in the browser's authorization URL and token request: printable, bounded.
  if (clientId.length > 256 || !/^[\x21-\x7e]+$/.test(clientId))
    throw new ConfigError(
      'COMMANDER_OIDC_CLIENT_ID',
      'must be 1 to 256 printable ASCII characters, no spaces',
    );
  return {
    issuer,
    audience,
    clientId,
    jwksUrl,
    workspaceClaim: nonEmpty(env, 'COMMANDER_OIDC_WORKSPACE_CLAIM') ?? 'commander_workspace',
    roleClaim: nonEmpty(env, 'COMMANDER_OIDC_ROLE_CLAIM') ?? 'commander_role',
    userClaim: nonEmpty(env, 'COMMANDER_OIDC_USER_CLAIM') ?? 'email',
    groupsClaim: nonEmpty(env, 'COMMANDER_OIDC_GROUPS_CLAIM') ?? 'groups',
  };
}
