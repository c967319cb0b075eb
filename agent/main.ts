// The agent's composition root: reads its config once, loads its key, and connects.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../shared/config.js';
import { onShutdown } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { packageVersion } from '../shared/version.js';
import { REPORT_PART_RESOURCES } from '../shared/wire/control.js';
import { Backoff } from './backoff.js';
import { type AgentConfig, type AgentFlags, loadAgentConfig } from './config.js';
import { AgentConnection } from './connection.js';
import { DesiredStore } from './desired.js';
import { AgentIdentity } from './identity.js';
import { FileIdentityStore } from './identity-file.js';
import { SecretIdentityStore } from './identity-secret.js';
import { Kube, KubeError } from './kube.js';
import { Outbox } from './outbox.js';
import { Reconciler, type ResourceStatus, type SyncProblem } from './reconciler.js';
import { Syncer } from './sync.js';
import { collectTelemetry } from './telemetry.js';
import { serveTunnel } from './tunnel.js';

export async function runAgent(flags: AgentFlags): Promise<void> {
  const config = loadAgentConfig(flags);
  const logger = createLogger(config.logLevel, 'agent');
  const kube = loadKube(config);
  const identity = await openIdentity(config, kube, logger);
  // Before anything else: a token file holding an API error, or no way to enroll, ends it here.
  identity.enrollmentToken(config.tokenFile);
  const version = packageVersion();
  logger.info(
    {
      cluster_id: config.clusterId,
      url: config.url.origin,
      allow: config.allowText,
      public_key: identity.publicKey,
      identity: identity.where,
    },
    'agent starting',
  );
  const desired = new DesiredStore(config.stateDir);
  const outbox = new Outbox(config.stateDir, logger);
  const syncer = new Syncer(desired, outbox, config.syncIntervalMs, logger);
  if (!kube) logger.info('no Kubernetes API configured: desired resources are kept but not applied');
  const reconciler = kube ? startClusterWork(kube, config, desired, syncer, logger) : undefined;
  const connection = new AgentConnection(config, identity, version, logger, {
    onConnected: (control) => syncer.attach(control),
    onStream: (stream) => {
      serveTunnel(stream, { allow: config.allow, dialTimeoutMs: config.dialTimeoutMs, logger }).catch(
        (error: unknown) => logger.error({ err: error }, 'tunnel failed'),
      );
    },
  });
  syncer.on('move', (withinMs) => connection.move(withinMs));
  const stop = () => {
    syncer.stop();
    reconciler?.stop();
    return connection.stop();
  };
  onShutdown(logger, stop);
  try {
    await connection.run();
  } catch (error) {
    // Refused for good: the caller prints why and exits with the refusal's code.
    await stop();
    throw error;
  }
}

/**
 * The agent's key: in its Secret inside a cluster (waiting out an unreachable Kubernetes API, as
 * there is nothing to connect with until it answers), else in the state directory.
 */
async function openIdentity(config: AgentConfig, kube: Kube | undefined, logger: Logger) {
  const file = new FileIdentityStore(config.stateDir, config.clusterId);
  if (!config.identitySecret) return AgentIdentity.open(file, config.clusterId);
  if (!kube) {
    throw new ConfigError(
      '--identity-secret',
      "needs a Kubernetes API: --kubeconfig, KUBECONFIG, ~/.kube/config or the pod's service account",
    );
  }
  const store = new SecretIdentityStore(kube, config.identitySecret, config.clusterId, logger, file);
  const backoff = new Backoff();
  for (;;) {
    try {
      return await AgentIdentity.open(store, config.clusterId);
    } catch (error) {
      if (!(error instanceof KubeError && error.transient)) throw error;
      const delay = backoff.next();
      logger.warn(
        { identity: store.where, reason: error.message, delay_ms: Math.round(delay) },
        'cannot read the identity Secret; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Where the agent finds its Kubernetes API; without one it only carries tunnels. */
function kubeconfigFound(config: AgentConfig): boolean {
  return Boolean(
    config.kubeconfig ||
      process.env.KUBERNETES_SERVICE_HOST ||
      existsSync(join(process.env.HOME ?? '/', '.kube', 'config')),
  );
}

/** The Kubernetes API, when one is configured; one that cannot be loaded is a configuration error. */
function loadKube(config: AgentConfig): Kube | undefined {
  if (!kubeconfigFound(config)) return undefined;
  try {
    return Kube.load(config.kubeconfig);
  } catch (error) {
    throw new ConfigError('--kubeconfig', `cannot load it: ${(error as Error).message}`);
  }
}

/** Applies desired resources, reports their status and sends telemetry. */
function startClusterWork(
  kube: Kube,
  config: AgentConfig,
  desired: DesiredStore,
  syncer: Syncer,
  logger: Logger,
) {
  let problem: SyncProblem | undefined;
  const report = (resources: ResourceStatus[], full: boolean) => {
    // Parts of bounded size; an empty report still tells the gateway the agent is alive and well.
    for (let start = 0; start === 0 || start < resources.length; start += REPORT_PART_RESOURCES) {
      syncer.send('report', {
        full,
        revision: desired.revision,
        problem: problem?.message ?? null,
        interval_ms: config.syncIntervalMs,
        resources: resources.slice(start, start + REPORT_PART_RESOURCES),
      });
    }
  };
  const reconciler = new Reconciler(kube, desired, {
    clusterId: config.clusterId,
    installation: config.url.origin,
    stateDir: config.stateDir,
    intervalMs: config.syncIntervalMs,
    logger,
    report: (changes, outcome) => {
      const changed = outcome?.message !== problem?.message;
      problem = outcome;
      if (problem && changed) logger.warn({ problem: problem.message }, 'cannot sync');
      // Offline, an empty report says nothing the full report after the reconnect will not.
      if (changes.length > 0 || changed || syncer.connected) report(changes, false);
    },
  });
  syncer.on('desired', () => void reconciler.trigger('desired'));
  syncer.on('connected', () => report(reconciler.statuses(), true));
  reconciler.start();
  const telemetry = setInterval(() => {
    collectTelemetry(kube, config).then(
      (sample) => syncer.send('telemetry', { sample }),
      (error: unknown) => logger.warn({ err: error }, 'could not collect telemetry'),
    );
  }, config.telemetryIntervalMs);
  return {
    stop() {
      clearInterval(telemetry);
      reconciler.stop();
    },
  };
}
