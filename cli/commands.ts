// The command table: each command's help and what it runs.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { writeFileAtomically } from '../shared/atomic-file.js';
import { recordAudit, stdoutAuditPrinter } from '../shared/audit.js';
import { type Config, loadConfig } from '../shared/config.js';
import { generateKeys } from '../shared/crypto.js';
import { SETUP_LOCK } from '../shared/db/migrate.js';
import { type Database, formatKeys, openDatabase } from '../shared/db/open.js';
import { onShutdown } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { GLOBAL_ROLES, type GlobalRole, ROLES, type Role } from '../shared/roles.js';
import { createToken } from '../shared/tokens.js';
import { packageVersion } from '../shared/version.js';
import { ensureWorkspace, WORKSPACE_SLUG_PATTERN, WORKSPACE_SLUG_RULE } from '../shared/workspaces.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  /** Names of the positional arguments the command requires, in order (none by default). */
  arguments?: string[];
  run(
    values: Record<string, string | boolean | (string | boolean)[] | undefined>,
    positionals: string[],
  ): Promise<void>;
}

export class UsageError extends Error {}

const ENVIRONMENT_HELP = `
Environment (see README.md for defaults):
  DATABASE_URL                  postgres://...; unset: embedded PostgreSQL under COMMANDER_DATA_DIR
  COMMANDER_DATA_DIR            default ./.commander
  COMMANDER_LISTEN              gateway host:port, default 127.0.0.1:8080
  COMMANDER_PUBLIC_URL          URL agents and tunnel clients use to reach the gateway
  COMMANDER_ENCRYPTION_PRIMARY_KEY, COMMANDER_ENCRYPTION_DETERMINISTIC_KEY, COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT
  COMMANDER_INSTALLERS          the manager's installers file
  COMMANDER_DB_POOL_MAX, COMMANDER_SHUTDOWN_TIMEOUT, COMMANDER_REPLICA_ID, COMMANDER_TRUST_PROXY
  COMMANDER_REPLICA_LISTEN, COMMANDER_REPLICA_ADDRESS, COMMANDER_REPLICA_HEARTBEAT_SECONDS (gateway replica link)
  COMMANDER_OIDC_ISSUER, COMMANDER_OIDC_AUDIENCE, COMMANDER_OIDC_CLIENT_ID (web sign-in), COMMANDER_OIDC_JWKS_URL,
  COMMANDER_OIDC_*_CLAIM
  LOG_LEVEL                     pino level, default info`;

function setup(name: string, logToStderr = false): { config: Config; logger: Logger } {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, name, logToStderr ? pino.destination(2) : undefined);
  return { config, logger };
}

/** Starts the given programs on one database and stops them all on SIGTERM/SIGINT. */
async function serve(name: string, programs: { gateway: boolean; manager: boolean }, generateKeys: boolean) {
  const { config, logger } = setup(name);
  const applicationName = `commander-${name}-${config.replicaId}`.slice(0, 63);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  let stopping = false;
  const starting = (async () => {
    const db = await openDatabase(config, logger, {
      applicationName,
      keys: generateKeys ? 'generate' : 'required',
      owner: {
        // The embedded database died and cannot come back where this process's pool expects it.
        onLost(error) {
          logger.fatal({ err: error }, 'embedded PostgreSQL is gone; exiting');
          process.exit(1);
        },
      },
    });
    stops.push(() => db.close());
    if (generateKeys && !stopping) await bootstrapAdmin(config, logger, db);
    // Imported here so that small commands do not load the server code.
    if (programs.gateway && !stopping) {
      const { startGateway } = await import('../gateway/main.js');
      stops.push((await startGateway(config, logger, db, applicationName)).stop);
    }
    if (programs.manager && !stopping) {
      const { startManager } = await import('../manager/main.js');
      stops.push((await startManager(config, logger, db)).stop);
    }
  })();
  // Registered before anything starts, so a signal during start-up still stops what did start.
  onShutdown(logger, async () => {
    stopping = true;
    await starting.catch(() => {});
    await stopAll();
  });
  try {
    await starting;
  } catch (error) {
    // The start-up error is the one to report; a failed clean-up is only logged.
    await stopAll().catch((stopError: unknown) =>
      logger.warn({ err: stopError }, 'stopping after a failed start failed'),
    );
    throw error;
  }
}

/**
 * First start on a database that never had an admin token: the `default` workspace and an admin
 * token in a 0600 file. Decided under the setup lock, and the file is in place before the token
 * commits, so a crash in between leaves no token that nobody has.
 */
async function bootstrapAdmin(config: Config, logger: Logger, db: Database): Promise<void> {
  const path = join(config.dataDir, 'admin-token');
  const created = await db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SETUP_LOCK})`;
    const [existing] = await tx`select 1 from api_tokens where role = 'admin' limit 1`;
    if (existing) return false;
    // With keys given in the environment nothing else has made the data directory yet.
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const workspace = await ensureWorkspace(tx, 'default');
    const { token } = await createToken(tx, workspace.id, 'admin', 'admin');
    writeFileAtomically(path, `${token}\n`, { mode: 0o600 });
    return true;
  });
  if (created)
    logger.info({ path }, 'created workspace "default" and an admin token; the token is in this file');
}

export const commands: Command[] = [
  {
    name: 'up',
    summary: 'gateway + manager in one process (what `npm start` runs)',
    usage: `commander up\n\nRuns the gateway and a manager in one process. With DATABASE_URL unset it starts an embedded
PostgreSQL under COMMANDER_DATA_DIR. On an empty database it generates encryption keys into
COMMANDER_DATA_DIR/keys.env (when none are set); on a database that never had an admin token, it
creates one (workspace "default") into COMMANDER_DATA_DIR/admin-token.${ENVIRONMENT_HELP}`,
    options: {},
    run: () => serve('up', { gateway: true, manager: true }, true),
  },
  {
    name: 'gateway',
    summary: 'the gateway alone (REST API, agent endpoint, tunnel broker)',
    usage: `commander gateway\n\nServes the API on COMMANDER_LISTEN. Needs the encryption keys.${ENVIRONMENT_HELP}`,
    options: {},
    run: () => serve('gateway', { gateway: true, manager: false }, false),
  },
  {
    name: 'manager',
    summary: 'one cluster manager replica',
    usage: `commander manager\n\nRuns one manager replica: one task at a time.${ENVIRONMENT_HELP}`,
    options: {},
    run: () => serve('manager', { gateway: false, manager: true }, false),
  },
  {
    name: 'agent',
    summary: 'the agent: dials the gateway, carries tunnels to allowed targets',
    usage: `commander agent --url <gateway>/agent_api/<cluster id> --token-file <file> --state-dir <dir> \\
  --allow <host:port> [--allow ...] [--kubeconfig <file>] [--ca-file <file>] [--insecure-skip-tls-verify]
  [--pin-sha256 <base64> ...] [--sync-interval <s>] [--telemetry-interval <s>] [--heartbeat-interval <s>]
  [--dial-timeout <s>] [--platform-version-source deployment/<ns>/<name>] [--component-namespaces <ns,...>]
  [--identity-secret <namespace>/<name>]

Environment equivalents: COMMANDER_URL, COMMANDER_AGENT_TOKEN_FILE, COMMANDER_AGENT_STATE_DIR,
COMMANDER_AGENT_ALLOW (comma separated), KUBECONFIG, COMMANDER_CA_FILE, COMMANDER_PIN_SHA256 (comma
separated), COMMANDER_AGENT_IDENTITY_SECRET; HTTPS_PROXY, HTTP_PROXY, NO_PROXY.
--allow entries are host:port, host:* or CIDR:port; nothing else can be dialed (deny by default).
wss:// verifies the gateway's certificate against the system's CAs, or only those of --ca-file.
--pin-sha256 pins a public key on top of that: the verified chain (leaf, intermediates or root)
must hold a key with this base64 SHA-256 of its DER SubjectPublicKeyInfo, or the connection is
refused and tried again with backoff. Repeat it to accept the old and the new key in a rotation:
  openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | openssl base64
The token file holds the single-use enrollment token; it is needed only until the agent's own key
is enrolled. The key is kept in the state dir, or in a Kubernetes Secret: the one --identity-secret
names (<name> alone: in the pod's namespace), and inside a pod by default commander-agent-identity
in the pod's namespace, so that a replaced pod comes back as the same agent.`,
    options: {
      url: { type: 'string' },
      'token-file': { type: 'string' },
      'state-dir': { type: 'string' },
      allow: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'ca-file': { type: 'string' },
      'insecure-skip-tls-verify': { type: 'boolean' },
      'pin-sha256': { type: 'string', multiple: true },
      'sync-interval': { type: 'string' },
      'telemetry-interval': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'dial-timeout': { type: 'string' },
      'platform-version-source': { type: 'string' },
      'component-namespaces': { type: 'string' },
      'identity-secret': { type: 'string' },
    },
    async run(values) {
      const { runAgent } = await import('../agent/main.js');
      await runAgent(values);
    },
  },
  {
    name: 'tunnel',
    summary: "a local port forward through a cluster's agent",
    usage: `commander tunnel --api <gateway url> --token-file <file> --cluster <id> --target <host:port> \\
  --listen 127.0.0.1:<port> [--ca-file <file>] [--insecure-skip-tls-verify] [--pin-sha256 <base64> ...]

Checks the token (an operator's), the cluster and that the cluster's allowed_targets name the
target, then prints "listening on 127.0.0.1:<port>"; a refusal is one line and exit code 1. Nothing
is dialed before a local connection comes: every one becomes one tunnel stream to the target inside
the cluster, which the agent's own --allow list may still refuse. Ctrl-C or SIGTERM closes it.
An https:// --api is verified as the agent verifies wss://: --ca-file (or COMMANDER_CA_FILE) and
--pin-sha256 (or COMMANDER_PIN_SHA256, comma separated) mean what they mean there.`,
    options: {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      cluster: { type: 'string' },
      target: { type: 'string' },
      listen: { type: 'string' },
      'ca-file': { type: 'string' },
      'insecure-skip-tls-verify': { type: 'boolean' },
      'pin-sha256': { type: 'string', multiple: true },
    },
    async run(values) {
      const { runTunnel } = await import('./tunnel.js');
      await runTunnel(values);
    },
  },
  {
    name: 'template render',
    summary: 'renders a template file as Go text/template with sprig, as clusters are rendered',
    usage: `commander template render <file> [--values <json-file>]

Renders <file> as one Go text/template with the sprig functions, "." being the JSON object in
<json-file> ({} when absent), and prints exactly the output on stdout. An error is one line on
stderr naming the line and column (exit code 1). Limits: a 1 MiB template, 4 MiB of values.`,
    options: { values: { type: 'string' } },
    arguments: ['file'],
    async run(values, positionals) {
      const { runTemplateRender } = await import('./template.js');
      await runTemplateRender(positionals[0] as string, values.values);
    },
  },
  {
    name: 'migrate',
    summary: 'applies database migrations, then exits',
    usage: `commander migrate\n\nApplies the missing migrations under an advisory lock and exits.${ENVIRONMENT_HELP}`,
    options: {},
    async run() {
      const { config, logger } = setup('migrate');
      const db = await openDatabase(config, logger, {
        applicationName: 'commander-migrate',
        keys: 'optional',
        poolMax: 2,
      });
      await db.close();
      logger.info('database is up to date');
    },
  },
  {
    name: 'token create',
    summary: 'creates an API token in the database and prints it',
    usage: `commander token create --workspace SLUG --role admin|operator|viewer [--name NAME]
commander token create --global --role global_admin|global_viewer [--name NAME]

Creates the workspace if it does not exist, then a token, and prints only the token on stdout.
A --global token belongs to no workspace: it manages workspaces and workspace role bindings and
cannot reach any workspace's objects.${ENVIRONMENT_HELP}`,
    options: {
      workspace: { type: 'string' },
      global: { type: 'boolean' },
      role: { type: 'string' },
      name: { type: 'string' },
    },
    async run(values) {
      const workspace = values.workspace;
      const global = values.global === true;
      const role = values.role;
      const allowed: readonly string[] = global ? GLOBAL_ROLES : ROLES;
      const roles = `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;
      if (global && workspace !== undefined) {
        throw new UsageError('--global and --workspace exclude each other: a global token has no workspace');
      }
      if (!global) {
        if (typeof workspace !== 'string')
          throw new UsageError(`--workspace is required (or --global): ${WORKSPACE_SLUG_RULE}`);
        if (!new RegExp(WORKSPACE_SLUG_PATTERN).test(workspace))
          throw new UsageError(`--workspace must be ${WORKSPACE_SLUG_RULE}, got "${workspace}"`);
      }
      if (typeof role !== 'string') throw new UsageError(`--role is required: ${roles}`);
      if (!allowed.includes(role)) throw new UsageError(`--role must be ${roles}, got "${role}"`);
      const name = typeof values.name === 'string' ? values.name : `${role} token`;
      if (name.length < 1 || name.length > 100) throw new UsageError('--name must be 1 to 100 characters');
      const { config, logger } = setup('token', true);
      const db = await openDatabase(config, logger, {
        applicationName: 'commander-token',
        keys: 'optional',
        poolMax: 2,
      });
      try {
        const { token, audit } = await db.sql.begin(async (tx) => {
          const ws = global ? undefined : await ensureWorkspace(tx, workspace as string);
          const created = await createToken(tx, ws?.id ?? null, name, role as Role | GlobalRole);
          const record = await recordAudit(
            tx,
            {
              userType: 'System',
              userName: 'commander token create',
              remoteAddress: null,
              requestUuid: randomUUID(),
              workspaceId: ws?.id ?? null,
              workspaceSlug: ws?.slug ?? null,
            },
            {
              auditableType: 'AuthToken',
              auditableId: created.row.id,
              action: 'create',
              changes: { name, role, ...(global ? { global: true } : {}) },
            },
          );
          return { token: created.token, audit: record };
        });
        // stdout carries only the token, so the audit line goes to stderr here.
        stdoutAuditPrinter((line) => process.stderr.write(line))(audit);
        process.stdout.write(`${token}\n`);
      } finally {
        await db.close();
      }
    },
  },
  {
    name: 'version',
    summary: 'prints the version (also `commander --version`)',
    usage: 'commander version\n\nPrints the version of this Commander.',
    options: {},
    async run() {
      process.stdout.write(`${packageVersion()}\n`);
    },
  },
  {
    name: 'keys generate',
    summary: 'prints a fresh set of encryption keys as NAME=value lines',
    usage: `commander keys generate\n\nPrints new encryption keys. Keep them safe: without them the data cannot be read.
To rotate, append a new key after the old ones (comma separated): the newest encrypts, all decrypt.`,
    options: {},
    async run() {
      process.stdout.write(formatKeys(generateKeys()));
    },
  },
];
