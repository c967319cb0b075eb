// The agent's settings: flags first, then the environment equivalents (CONTRACT.md).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../shared/config.js';
import { parsePin, readCaFile } from '../shared/gateway-trust.js';
import { parseUuid } from '../shared/ids.js';
import { type AllowEntry, parseAllowList } from '../shared/targets.js';

export interface AgentConfig {
  /** ws(s)://…/agent_api/<cluster> */
  url: URL;
  clusterId: string;
  tokenFile?: string;
  stateDir: string;
  /** Where the agent keeps its key inside a cluster; undefined: in the state directory. */
  identitySecret?: { namespace: string; name: string };
  allow: AllowEntry[];
  allowText: string[];
  kubeconfig?: string;
  /** The PEM certificates of --ca-file, read once at start. */
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** --pin-sha256: the gateway's verified chain must hold one of these public keys. */
  pins: string[];
  syncIntervalMs: number;
  telemetryIntervalMs: number;
  /** deployment/<namespace>/<name> whose first container's image tag is the platform version. */
  platformVersionSource: { namespace: string; name: string };
  /** Namespaces whose Deployments, DaemonSets and StatefulSets are reported as components. */
  componentNamespaces: string[];
  heartbeatIntervalMs: number;
  dialTimeoutMs: number;
  logLevel: string;
}

export type AgentFlags = Record<string, string | boolean | (string | boolean)[] | undefined>;

type Env = Record<string, string | undefined>;

function text(flags: AgentFlags, flag: string, env: Env, variable: string): string | undefined {
  const value = flags[flag];
  if (typeof value === 'string' && value.trim()) return value.trim();
  const fromEnv = env[variable]?.trim();
  return fromEnv ? fromEnv : undefined;
}

/** A repeatable flag, else its variable's comma-separated entries. */
function list(flags: AgentFlags, flag: string, env: Env, variable: string): string[] {
  const value = flags[flag];
  if (Array.isArray(value)) return value.map(String);
  return (env[variable] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function seconds(flags: AgentFlags, flag: string, fallback: number, min: number, max: number): number {
  const raw = flags[flag];
  if (raw === undefined) return fallback * 1000;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `--${flag}`,
      `must be a number of seconds from ${min} to ${max}, got "${String(raw)}"`,
    );
  }
  return Math.round(value * 1000);
}

/** The identity Secret's name when none is given inside a pod. */
export const DEFAULT_IDENTITY_SECRET = 'commander-agent-identity';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace of the pod this process runs in, or undefined outside Kubernetes. */
export function podNamespace(env: Env = process.env): string | undefined {
  if (!env.KUBERNETES_SERVICE_HOST || !existsSync(SERVICE_ACCOUNT_NAMESPACE)) return undefined;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * --identity-secret: `<namespace>/<name>`, or `<name>` in the pod's namespace. Unset inside a pod:
 * DEFAULT_IDENTITY_SECRET in the pod's namespace; unset elsewhere: the key stays in the state dir.
 */
export function parseIdentitySecret(
  raw: string | undefined,
  inPod: string | undefined,
): { namespace: string; name: string } | undefined {
  if (raw === undefined) return inPod ? { namespace: inPod, name: DEFAULT_IDENTITY_SECRET } : undefined;
  const [first, second, ...rest] = raw.split('/');
  const namespace = second === undefined ? inPod : first;
  const name = second === undefined ? first : second;
  const badNamespace = second !== undefined && !DNS_LABEL.test(first ?? '');
  if (rest.length > 0 || !name || !DNS_SUBDOMAIN.test(name) || badNamespace)
    throw new ConfigError('--identity-secret', `must be <namespace>/<name> or <name>, got "${raw}"`);
  if (!namespace)
    throw new ConfigError(
      '--identity-secret',
      `"${raw}" names no namespace, and this is not a pod: use <namespace>/<name>`,
    );
  return { namespace, name };
}

export function loadAgentConfig(
  flags: AgentFlags,
  env: Env = process.env,
  inPod: string | undefined = podNamespace(env),
): AgentConfig {
  const rawUrl = text(flags, 'url', env, 'COMMANDER_URL');
  if (!rawUrl)
    throw new ConfigError('--url', 'is required (or COMMANDER_URL): <gateway>/agent_api/<cluster id>');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ConfigError('--url', `is not a URL: "${rawUrl}"`);
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[url.protocol];
  if (!scheme) throw new ConfigError('--url', 'must be http(s):// or ws(s)://');
  url.protocol = scheme;
  const clusterId = parseUuid(/\/agent_api\/([^/]+)\/?$/.exec(url.pathname)?.[1] ?? '');
  if (!clusterId) throw new ConfigError('--url', 'must end with /agent_api/<cluster uuid>');

  const allowText = list(flags, 'allow', env, 'COMMANDER_AGENT_ALLOW');
  let allow: AllowEntry[];
  try {
    allow = parseAllowList(allowText);
  } catch (error) {
    throw new ConfigError('--allow', (error as Error).message);
  }
  const stateDir = text(flags, 'state-dir', env, 'COMMANDER_AGENT_STATE_DIR');
  if (!stateDir) throw new ConfigError('--state-dir', 'is required (or COMMANDER_AGENT_STATE_DIR)');
  const tokenFile = text(flags, 'token-file', env, 'COMMANDER_AGENT_TOKEN_FILE');
  const source =
    text(flags, 'platform-version-source', env, 'COMMANDER_PLATFORM_VERSION_SOURCE') ??
    'deployment/d8-system/deckhouse';
  const sourceMatch = /^deployment\/([a-z0-9-]{1,63})\/([a-z0-9.-]{1,253})$/.exec(source);
  if (!sourceMatch?.[1] || !sourceMatch[2]) {
    throw new ConfigError(
      '--platform-version-source',
      `must be deployment/<namespace>/<name>, got "${source}"`,
    );
  }
  const namespaces = (
    text(flags, 'component-namespaces', env, 'COMMANDER_COMPONENT_NAMESPACES') ?? 'd8-system,kube-system'
  )
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const badNamespace = namespaces.find((ns) => !DNS_LABEL.test(ns));
  if (badNamespace)
    throw new ConfigError('--component-namespaces', `"${badNamespace}" is not a namespace name`);
  const caFile = text(flags, 'ca-file', env, 'COMMANDER_CA_FILE');
  const insecureSkipTlsVerify = flags['insecure-skip-tls-verify'] === true;
  const pins = [...new Set(list(flags, 'pin-sha256', env, 'COMMANDER_PIN_SHA256').map(parsePin))];
  if (pins.length > 0 && insecureSkipTlsVerify)
    throw new ConfigError('--pin-sha256', 'is checked on a verified chain: drop --insecure-skip-tls-verify');
  if (pins.length > 0 && url.protocol !== 'wss:')
    throw new ConfigError(
      '--pin-sha256',
      'needs a wss:// or https:// --url: a plain connection has no key to pin',
    );
  return {
    url,
    clusterId,
    tokenFile: tokenFile ? resolve(tokenFile) : undefined,
    stateDir: resolve(stateDir),
    identitySecret: parseIdentitySecret(
      text(flags, 'identity-secret', env, 'COMMANDER_AGENT_IDENTITY_SECRET'),
      inPod,
    ),
    allow,
    allowText,
    kubeconfig: text(flags, 'kubeconfig', env, 'KUBECONFIG'),
    ca: caFile ? readCaFile(caFile) : undefined,
    insecureSkipTlsVerify,
    pins,
    syncIntervalMs: seconds(flags, 'sync-interval', 60, 1, 86_400),
    telemetryIntervalMs: seconds(flags, 'telemetry-interval', 30, 0.2, 86_400),
    platformVersionSource: { namespace: sourceMatch[1], name: sourceMatch[2] },
    componentNamespaces: namespaces,
    heartbeatIntervalMs: seconds(flags, 'heartbeat-interval', 10, 0.2, 60),
    // The gateway waits 30 s for the agent's answer; a dial must give up before that.
    dialTimeoutMs: seconds(flags, 'dial-timeout', 10, 0.1, 25),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
}
