// Reconcile: over the agent's tunnel only, bring the rendered configuration up to date in the
// bundle directory, run the installer's check on the master node and act on its verdict: nothing,
// converge (auto mode), or open a change request for a destructive change and converge once it is
// approved.
import { type Actor, type AuditPrinter, recordAudit } from '../../shared/audit.js';
import {
  type ChangeRequestRow,
  cancelOpenRequests,
  completeChangeRequest,
  requestChange,
} from '../../shared/change-requests.js';
import type { Encryptor } from '../../shared/crypto.js';
import type { Sql } from '../../shared/db/connect.js';
import { bounded } from '../../shared/lifecycle.js';
import { issueManagerToken } from '../../shared/manager-token.js';
import type { SigningKey } from '../../shared/signing-key.js';
import { openTunnel } from '../../shared/tunnel-client.js';
import { configurationFiles } from '../bundle.js';
import { type ClusterRecord, loadCluster, markApplied, pinHostKey, setStatus } from '../cluster-record.js';
import { command, type Installer, type Installers, installerFor } from '../installers.js';
import { connectSsh, type SshSession } from '../ssh.js';
import { PermanentError, type TaskContext, type TaskHandler } from '../worker.js';

export interface ReconcileDeps {
  sql: Sql;
  encryptor: Encryptor;
  signingKey: () => Promise<SigningKey>;
  installers: Installers;
  gatewayUrl: string;
  /** The CAs to verify an https:// gatewayUrl with (undefined: the system's). */
  gatewayCa?: Buffer;
  /** Prints the audit lines of change requests this replica opens. */
  printAudit: AuditPrinter;
}

/** The verdict is among the last lines the check prints; older ones are not kept. */
const KEPT_OUTPUT_LINES = 1000;

type Verdict = { status: 'InSync' | 'OutOfSync' | 'DestructiveOutOfSync'; destructive_change_id?: string };

/** The check prints JSON; its last JSON line is the verdict. */
function parseVerdict(output: string[]): Verdict {
  for (const line of [...output].reverse()) {
    try {
      const value = JSON.parse(line) as Verdict;
      if (['InSync', 'OutOfSync', 'DestructiveOutOfSync'].includes(value.status)) return value;
    } catch {
      // not the verdict line
    }
  }
  throw new Error('the check command printed no {"status": ...} line');
}

async function run(ssh: SshSession, what: string, line: string, context: TaskContext, output?: string[]) {
  await context.log(`running ${what}: ${line}`);
  await ssh.run(
    what,
    line,
    (text) => {
      output?.push(text);
      if (output && output.length > KEPT_OUTPUT_LINES) output.shift();
      void context.log(`| ${text}`);
    },
    context.signal,
  );
}

export function reconcileTask(deps: ReconcileDeps): TaskHandler {
  return async (context) => {
    const { task, log, secret, replica } = context;
    const { sql } = deps;
    const cluster = await loadCluster(sql, deps.encryptor, task.cluster_id);
    if (!cluster.ssh) throw new PermanentError('the cluster has no ssh settings to reconcile with');
    secret(cluster.ssh.privateKey);
    const { installer } = installerFor(deps.installers, cluster.values);
    // Where sshd is as seen from inside the cluster (the agent dials it), else the install address.
    const configured = cluster.values.ssh_tunnel_target;
    const target = typeof configured === 'string' ? configured : `${cluster.ssh.host}:${cluster.ssh.port}`;
    const token = await issueManagerToken(await deps.signingKey(), replica);
    secret(token);
    await log(`opening a tunnel to ${target} through the agent`);
    const sock = await openTunnel({
      api: deps.gatewayUrl,
      ca: deps.gatewayCa,
      token,
      clusterId: cluster.id,
      target,
    });
    const ssh = await connectSsh(cluster.ssh, { sock });
    try {
      // A cluster adopted without an install is first met here: trust on first use.
      if (!cluster.ssh.hostKeyFingerprint) {
        await pinHostKey(sql, cluster.id, ssh.fingerprint);
        await log(`pinned host key ${ssh.fingerprint}`);
      }
      const bundle = await uploadConfiguration(ssh, cluster, context);
      await act(ssh, installer, cluster, bundle, context, deps);
    } finally {
      ssh.close();
      // Let the SSH goodbye and both FINs through so the tunnel ends cleanly, but never wait long.
      await bounded(new Promise((resolve) => sock.once('close', resolve)), 5000);
      sock.destroy();
    }
  };
}

/** The bundle directory, with the configuration rendered now (a change re-rendered it). */
async function uploadConfiguration(
  ssh: SshSession,
  cluster: ClusterRecord,
  context: TaskContext,
): Promise<string> {
  let home = '';
  await ssh.run('reading $HOME', 'printf %s "$HOME"', (line) => {
    home += line;
  });
  const directory = `${home || '/tmp'}/.commander/bundle-${cluster.id}`;
  const files = configurationFiles(cluster.configuration);
  if (files.length > 0) {
    await ssh.run(
      'creating the bundle directory',
      `mkdir -p "${home || '/tmp'}/.commander"`,
      (line) => void context.log(`| ${line}`),
    );
    await ssh.upload(directory, files);
    await context.log(`uploaded ${files.map((f) => f.name).join(', ')} to ${directory}`);
  }
  return directory;
}

async function act(
  ssh: SshSession,
  installer: Installer,
  cluster: ClusterRecord,
  bundle: string,
  context: TaskContext,
  deps: ReconcileDeps,
): Promise<void> {
  const { sql } = deps;
  const clusterId = cluster.id;
  const output: string[] = [];
  await run(ssh, 'check', command(installer.check, bundle), context, output);
  const verdict = parseVerdict(output);
  await context.log(
    `check: ${verdict.status}${verdict.destructive_change_id ? ` (${verdict.destructive_change_id})` : ''}`,
  );
  if (verdict.status === 'DestructiveOutOfSync') {
    const request = await openChangeRequest(cluster.id, verdict.destructive_change_id ?? null, context, deps);
    if (request.status !== 'approved') {
      // A change that waits for approval is outstanding: `changing`.
      await setStatus(sql, clusterId, 'changing');
      await context.log(
        `destructive change ${verdict.destructive_change_id ?? '(unnamed)'} waits for approval: ` +
          `POST /api/v1/cluster_change_requests/${request.id}/approve`,
      );
      return;
    }
    await context.log(`change request ${request.id} is approved (by ${request.approved_by}): converging`);
    await setStatus(sql, clusterId, 'changing');
    await run(ssh, 'converge', command(installer.converge, bundle), context);
    await sql.begin(async (tx) => {
      await completeChangeRequest(tx, request.id);
      await markApplied(tx, cluster, 'in_sync');
    });
    return;
  }
  // No destructive change is reported: a request still open for one is moot.
  const cancelled = await cancelOpenRequests(sql, clusterId);
  for (const request of cancelled) {
    await context.log(`change request ${request.id} cancelled: the check no longer reports its change`);
  }
  if (verdict.status === 'InSync') {
    await markApplied(sql, cluster, 'in_sync');
    return;
  }
  if (cluster.values.auto_converge === false) {
    await setStatus(sql, clusterId, 'changing');
    await context.log('auto_converge is off: leaving the change for an operator');
    return;
  }
  await setStatus(sql, clusterId, 'changing');
  await run(ssh, 'converge', command(installer.converge, bundle), context);
  await markApplied(sql, cluster, 'in_sync');
}

/** The open request for the reported change; a new one is audited as this replica's doing. */
async function openChangeRequest(
  clusterId: string,
  destructiveChangeId: string | null,
  context: TaskContext,
  deps: ReconcileDeps,
): Promise<ChangeRequestRow> {
  const { request, audit } = await deps.sql.begin(async (tx) => {
    const opened = await requestChange(tx, clusterId, destructiveChangeId);
    if (!opened.created) return { request: opened.request, audit: undefined };
    const [workspace] = await tx<{ id: string; slug: string }[]>`
      select w.id, w.slug from clusters c join workspaces w on w.id = c.workspace_id where c.id = ${clusterId}`;
    const actor: Actor = {
      userType: 'System',
      userName: `manager ${context.replica}`,
      remoteAddress: null,
      requestUuid: context.task.id,
      workspaceId: workspace?.id ?? null,
      workspaceSlug: workspace?.slug ?? null,
    };
    const record = await recordAudit(tx, actor, {
      auditableType: 'ClusterChangeRequest',
      auditableId: opened.request.id,
      action: 'create',
      changes: {
        cluster_id: clusterId,
        destructive_change_id: destructiveChangeId,
        ...(opened.cancelled.length > 0 ? { replaces: opened.cancelled.map((old) => old.id) } : {}),
      },
    });
    return { request: opened.request, audit: record };
  });
  if (audit) deps.printAudit(audit);
  return request;
}
