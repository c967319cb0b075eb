// Install: SSH straight to the first master that answers (the connection hosts in order), upload
// the bootstrap bundle (with the rendered configuration of a cluster made from a template), run
// the installer for the cluster's platform version, and wait until the agent it started dials in.
import type { Encryptor } from '../../shared/crypto.js';
import type { Sql } from '../../shared/db/connect.js';
import { issueEnrollmentToken } from '../../shared/enrollment.js';
import { dockerCfg, installerRegistry } from '../../shared/registries.js';
import type { SigningKey } from '../../shared/signing-key.js';
import { configurationFiles, renderBundle } from '../bundle.js';
import { chooseFirstMaster, loadCluster, markApplied, setStatus } from '../cluster-record.js';
import { command, type Installers, installerFor } from '../installers.js';
import { connectSsh, type SshSession, type SshTarget } from '../ssh.js';
import { PermanentError, type TaskHandler } from '../worker.js';

export interface InstallDeps {
  sql: Sql;
  encryptor: Encryptor;
  signingKey: () => Promise<SigningKey>;
  installers: Installers;
  publicUrl: string;
  agentImage: string;
  /** How long to wait for the agent to connect after the installer ran (ms). */
  agentWaitMs: number;
}

export function installTask(deps: InstallDeps): TaskHandler {
  return async ({ task, log, signal, secret }) => {
    const { sql } = deps;
    const cluster = await loadCluster(sql, deps.encryptor, task.cluster_id);
    if (cluster.hosts.length === 0)
      throw new PermanentError('the cluster has no ssh settings to install with');
    for (const host of cluster.hosts) secret(host.privateKey);
    const { version, installer } = installerFor(deps.installers, cluster.values);
    await setStatus(sql, cluster.id, 'creating');
    const startedAt = new Date();
    const { ssh, master } = await connectFirst(cluster.hosts, (line) => log(line), version);
    try {
      if (master !== cluster.ssh || !master.hostKeyFingerprint) {
        await chooseFirstMaster(sql, cluster.id, master, ssh.fingerprint);
        if (!master.hostKeyFingerprint) await log(`pinned host key ${ssh.fingerprint}`);
      }
      let home = '';
      await ssh.run('reading $HOME', 'printf %s "$HOME"', (line) => {
        home += line;
      });
      const directory = `${home || '/tmp'}/.commander/bundle-${cluster.id}`;
      await ssh.run(
        'creating the bundle directory',
        `mkdir -p "${home || '/tmp'}/.commander"`,
        (line) => void log(`| ${line}`),
      );
      const token = await issueEnrollmentToken(
        sql,
        await deps.signingKey(),
        deps.publicUrl,
        cluster.id,
        24 * 3600,
      );
      secret(token.token);
      const registry = await installerRegistry(sql, deps.encryptor, cluster.id);
      if (registry?.auth) {
        secret(registry.auth);
        secret(dockerCfg(registry.imagesRepo, registry.auth));
      }
      const files = renderBundle({
        clusterId: cluster.id,
        agentUrl: `${deps.publicUrl}/agent_api/${cluster.id}`,
        enrollmentToken: token.token,
        allow: cluster.allowedTargets,
        directory,
        image: deps.agentImage,
        registry,
      });
      files.push(...configurationFiles(cluster.configuration));
      await ssh.upload(directory, files);
      await log(`uploaded ${files.map((f) => f.name).join(', ')} to ${directory}`);
      const run = command(installer.install, directory);
      await log(`running: ${run}`);
      await ssh.run('installer', run, (line) => void log(`| ${line}`), signal);
    } finally {
      ssh.close();
    }
    await log('waiting for the agent to connect');
    const deadline = Date.now() + deps.agentWaitMs;
    for (;;) {
      const [row] = await sql`select agent_status, last_seen_at from clusters where id = ${cluster.id}`;
      if (row?.agent_status === 'connected' && row.last_seen_at >= startedAt) break;
      if (signal.aborted) throw signal.reason;
      if (Date.now() > deadline)
        throw new Error(`the agent did not connect within ${deps.agentWaitMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await log('agent connected');
    await markApplied(sql, cluster, 'in_sync', { created: true });
  };
}

/**
 * Commander tries the masters in order; the first that answers becomes the first master. A host
 * that refuses the key or shows a changed host key fails the install: the next one would not
 * be the node the operator meant.
 */
async function connectFirst(
  hosts: SshTarget[],
  log: (line: string) => Promise<void>,
  version: string,
): Promise<{ ssh: SshSession; master: SshTarget }> {
  let last: unknown;
  for (const master of hosts) {
    await log(`connecting to ${master.user}@${master.host}:${master.port} (platform version ${version})`);
    try {
      return { ssh: await connectSsh(master), master };
    } catch (error) {
      if (error instanceof PermanentError || hosts.length === 1) throw error;
      await log(`${(error as Error).message}; trying the next master`);
      last = error;
    }
  }
  throw last;
}
