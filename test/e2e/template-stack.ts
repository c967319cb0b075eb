// The stack for clusters made from templates, end to end: a real gateway (and, when asked, a
// manager) or `commander up` (both in one process), a real sshd in a network namespace standing
// for the cluster's master, the Kubernetes API double the agent applies to, and an installers
// file whose install starts a real agent.
import { spawnSync } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../shared/net.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { type KubeApi, startKubeApi } from '../support/kube-api.js';
import { createNetns, haveNetns, type NetNs } from '../support/netns.js';
import { CLI, waitForStatus } from '../support/process.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';
import { Processes, tempDir } from './helpers.js';

export const templateStackRunnable = haveSshd() && haveNetns();

/** ModuleConfig is a custom resource: the double serves it once its definition exists. */
export const moduleConfigCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'moduleconfigs.deckhouse.io' },
  spec: {
    group: 'deckhouse.io',
    scope: 'Cluster',
    names: { plural: 'moduleconfigs', singular: 'moduleconfig', kind: 'ModuleConfig' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

export interface TemplateStack {
  processes: Processes;
  ns: NetNs;
  /** With `up`, only once startMaster started it. */
  sshd: TestSshd;
  /** Where the master's sshd listens (or will), for a template's values. */
  master: { port: number; user: string };
  kube: KubeApi;
  db: TestDatabase;
  dir: { path: string; remove(): void };
  env: Record<string, string>;
  gateway: string;
  token: string;
  /** Where the installer keeps the configuration it applied, beside the bundle. */
  applied: string;
  /** The master trusts a cluster's generated key pair (its dc_sshPublicKey). */
  authorize(publicKey: string): void;
  startManager(id: string): Promise<void>;
  /**
   * With `up`: the master's sshd starts, trusting publicKey from its first connection. Until
   * then an install meets a closed port, an ordinary failure the task queue retries, where an
   * sshd that did not trust the cluster's key yet would fail it for good.
   */
  startMaster(publicKey: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `check` is the installer's check command; by default it compares the bundle's configuration
 * (uploaded again before each check) with the one applied, and converge takes the new one.
 * `up` runs `commander up` instead of `commander gateway`, and leaves the master down until
 * startMaster: the manager is there from the start and takes an install as soon as it is queued.
 */
export async function startTemplateStack(
  prefix: string,
  options: { check?: string; up?: boolean } = {},
): Promise<TemplateStack> {
  if (!templateStackRunnable) {
    throw new Error('sshd (openssh-server) and root with iproute2 (ip netns) are required in CI');
  }
  const processes = new Processes();
  const dir = tempDir(prefix);
  const ns = createNetns();
  // The master: an sshd inside the namespace, at the namespace's own address only. Nothing
  // else listens there, so a port free on the host is free in the namespace.
  const sshPort = await freePort();
  const startMaster = (authorizedKeys: string[] = []) =>
    startSshd({ listen: ns.nsAddress, port: sshPort, prefix: ns.exec, authorizedKeys });
  let sshd = options.up ? undefined : await startMaster();
  const master = () => {
    if (!sshd) throw new Error('the master is not started yet (startMaster)');
    return sshd;
  };
  // The cluster's Kubernetes API, where the namespace can reach it.
  const kube = await startKubeApi({ host: ns.hostAddress });
  kube.put(moduleConfigCrd);
  const kubeconfig = kube.writeKubeconfig(dir.path);
  const db = await freshDatabase();
  const applied = '{bundle}/applied-cluster-configuration.yaml';
  const install = `set -a; . {bundle}/agent.env; set +a; cp {bundle}/cluster-configuration.yaml ${applied}; setsid nohup ${process.execPath} ${CLI} agent --state-dir {bundle}/state --kubeconfig ${kubeconfig} --sync-interval 1 --telemetry-interval 1 --heartbeat-interval 1 > {bundle}/agent.log 2>&1 < /dev/null & echo installer started`;
  const check =
    options.check ??
    `if cmp -s {bundle}/cluster-configuration.yaml ${applied}; then echo '{"status": "InSync"}'; else echo '{"status": "OutOfSync"}'; fi`;
  const installers = join(dir.path, 'installers.yaml');
  writeFileSync(
    installers,
    [
      'default_version: "1.0"',
      'installers:',
      '  "1.0":',
      `    install: ${JSON.stringify(install)}`,
      `    check: ${JSON.stringify(check)}`,
      `    converge: ${JSON.stringify(`cp {bundle}/cluster-configuration.yaml ${applied} && echo converged`)}`,
      `    destroy: ${JSON.stringify('pkill -f "agent --state-dir {bundle}/state"; rm -rf {bundle}; echo destroyed')}`,
    ].join('\n'),
  );
  // The gateway listens on the host's end of the pair: the agent in the namespace dials it.
  const port = await freePort();
  const gateway = `http://${ns.hostAddress}:${port}`;
  const env = {
    DATABASE_URL: db.url,
    ...keysEnv(testKeys()),
    COMMANDER_PUBLIC_URL: gateway,
    COMMANDER_INSTALLERS: installers,
    COMMANDER_AGENT_WAIT_SECONDS: '30',
  };
  const listen = { COMMANDER_LISTEN: `${ns.hostAddress}:${port}` };
  if (options.up) {
    // `up` keeps the admin token it creates on a new database in its data directory.
    const up = processes.start(['up'], { ...env, ...listen, COMMANDER_DATA_DIR: dir.path });
    await up.waitFor(/"msg":"manager ready"/, 45_000);
  } else {
    processes.start(['gateway'], { ...env, ...listen });
  }
  await waitForStatus(`${gateway}/readyz`, 200, 45_000);
  const token = (
    await processes.run(['token', 'create', '--workspace', 'fleet', '--role', 'operator'], env)
  ).stdout.trim();
  return {
    processes,
    ns,
    get sshd() {
      return master();
    },
    master: { port: sshPort, user: userInfo().username },
    kube,
    db,
    dir,
    env,
    gateway,
    token,
    applied,
    authorize(publicKey) {
      appendFileSync(join(master().dir, 'authorized_keys'), `${publicKey}\n`);
    },
    async startManager(id) {
      const manager = processes.start(['manager'], { ...env, COMMANDER_REPLICA_ID: id });
      await manager.waitFor(/"msg":"manager ready"/, 30_000);
    },
    async startMaster(publicKey) {
      if (sshd) throw new Error('the master is already running');
      sshd = await startMaster([publicKey]);
    },
    async stop() {
      await processes.stopAll();
      // The agents the installs started (setsid, so no process of ours is their parent), unless a
      // delete's destroy stopped them already.
      await stopInstalledAgents(kubeconfig);
      await sshd?.stop();
      await kube.close();
      ns.remove();
      await db.drop();
      dir.remove();
    },
  };
}

/**
 * Stops the agents started for this stack (their command line names its kubeconfig) and removes
 * their bundles from the master's home, which is this machine's.
 */
async function stopInstalledAgents(kubeconfig: string): Promise<void> {
  const pattern = `agent --state-dir .* --kubeconfig ${kubeconfig} `;
  const listed = spawnSync('pgrep', ['-af', pattern], { encoding: 'utf8' }).stdout;
  const bundles = [...listed.matchAll(/--state-dir (\S+)\/state /g)].map((match) => match[1] as string);
  spawnSync('pkill', ['-f', pattern]);
  for (let waited = 0; spawnSync('pgrep', ['-f', pattern]).status === 0; waited += 100) {
    if (waited >= 10_000) {
      spawnSync('pkill', ['-KILL', '-f', pattern]);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const bundle of bundles) {
    if (/\/\.commander\/bundle-[0-9a-f-]+$/.test(bundle)) rmSync(bundle, { recursive: true, force: true });
  }
}
