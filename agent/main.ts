// The agent's composition root: reads its config once, loads its key, and connects.
import { readFileSync } from 'node:fs';
import { onShutdown } from '../shared/lifecycle.js';
import { createLogger } from '../shared/logger.js';
import { type AgentFlags, loadAgentConfig } from './config.js';
import { AgentConnection } from './connection.js';
import { DesiredStore } from './desired.js';
import { AgentIdentity } from './identity.js';
import { Syncer } from './sync.js';
import { serveTunnel } from './tunnel.js';

/** The package version, found from the source tree and from dist/ alike. */
export function agentVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'commander') return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}

export async function runAgent(flags: AgentFlags): Promise<void> {
  const config = loadAgentConfig(flags);
  const logger = createLogger(config.logLevel, 'agent');
  const identity = AgentIdentity.load(config.stateDir, config.clusterId);
  const version = agentVersion();
  logger.info(
    {
      cluster_id: config.clusterId,
      url: config.url.origin,
      allow: config.allowText,
      public_key: identity.publicKey,
    },
    'agent starting',
  );
  const desired = new DesiredStore(config.stateDir);
  const syncer = new Syncer(desired, config.syncIntervalMs, logger);
  const connection = new AgentConnection(config, identity, version, logger, {
    onConnected: (control) => syncer.attach(control),
    onStream: (stream) => {
      serveTunnel(stream, { allow: config.allow, dialTimeoutMs: config.dialTimeoutMs, logger }).catch(
        (error: unknown) => logger.error({ err: error }, 'tunnel failed'),
      );
    },
  });
  onShutdown(logger, () => {
    syncer.stop();
    return connection.stop();
  });
  await connection.run();
}
