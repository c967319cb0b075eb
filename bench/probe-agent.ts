// The agent as `commander agent` runs it (same config, identity, connection and tunnel code),
// plus a probe: a mux ping to the gateway every PROBE_INTERVAL_MS, one at a time, each round trip
// printed on stdout as `rtt <ms>`. Used by tunnel-hol to see the session's control latency.
import { pino } from 'pino';
import { type AgentFlags, loadAgentConfig } from '../agent/config.js';
import { AgentConnection } from '../agent/connection.js';
import { AgentIdentity } from '../agent/identity.js';
import { FileIdentityStore } from '../agent/identity-file.js';
import { serveTunnel } from '../agent/tunnel.js';
import { createLogger } from '../shared/logger.js';
import { packageVersion } from '../shared/version.js';

const PROBE_INTERVAL_MS = Number(process.env.PROBE_INTERVAL_MS ?? 20);

function flags(argv: string[]): AgentFlags {
  const out: AgentFlags = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = (argv[i] as string).replace(/^--/, '');
    const value = argv[i + 1] as string;
    if (name === 'allow') out.allow = [...((out.allow as string[] | undefined) ?? []), value];
    else out[name] = value;
  }
  return out;
}

const config = loadAgentConfig(flags(process.argv.slice(2)));
const logger = createLogger(config.logLevel, 'agent', pino.destination(2));
const identity = await AgentIdentity.open(
  new FileIdentityStore(config.stateDir, config.clusterId),
  config.clusterId,
);
const connection = new AgentConnection(config, identity, packageVersion(), logger, {
  onStream: (stream) => {
    serveTunnel(stream, { allow: config.allow, dialTimeoutMs: config.dialTimeoutMs, logger }).catch(
      (error: unknown) => logger.error({ err: error }, 'tunnel failed'),
    );
  },
  onConnected: (_control, session) => {
    let closed = false;
    session.on('close', () => {
      closed = true;
    });
    const probe = () => {
      if (closed) return;
      session.ping().then(
        (rtt) => {
          process.stdout.write(`rtt ${rtt}\n`);
          setTimeout(probe, PROBE_INTERVAL_MS);
        },
        () => {},
      );
    };
    probe();
  },
});
process.on('SIGTERM', () => {
  connection.stop();
  setTimeout(() => process.exit(0), 100);
});
await connection.run();
