// Makes the cluster match the desired set and keeps it matching: server-side apply in a safe
// order, pruning only what this agent created, drift repair on a timer, and a status per
// resource. It works from the set kept on disk, so it goes on while the gateway is unreachable.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../shared/logger.js';
import { CLUSTER_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../shared/manifests.js';
import type { DesiredEntry, DesiredStore } from './desired.js';
import { type Kube, KubeError, type ObjectRef } from './kube.js';

export type ResourceState = 'applied' | 'failed' | 'pruned' | 'pending' | 'drifted';

export interface ResourceStatus {
  key: string;
  status: ResourceState;
  message: string | null;
  applied_revision: number | null;
}

/** The cluster-wide outcome of a pass: ok, or why nothing could be synced. */
export interface SyncProblem {
  message: string;
}

interface AppliedEntry extends ResourceStatus {
  ref: ObjectRef;
  hash: string;
  /** Namespaces and CRDs are pruned last, after what may live in them. */
  tier: number;
}

export const OWNERSHIP = { namespace: 'kube-system', name: 'commander-ownership' };
const CRD_WAIT_MS = 30_000;
const MAX_MESSAGE = 1000;

function tierOf(kind: string): number {
  if (kind === 'Namespace') return 0;
  if (kind === 'CustomResourceDefinition') return 1;
  return 2;
}

function refOf(manifest: DesiredEntry['manifest']): ObjectRef {
  const metadata = manifest.metadata as { name: string; namespace?: string };
  return {
    apiVersion: manifest.apiVersion as string,
    kind: manifest.kind as string,
    metadata: { name: metadata.name, ...(metadata.namespace ? { namespace: metadata.namespace } : {}) },
  };
}

/** True when every field of `desired` has the same value in `live` (other fields are not ours). */
export function covers(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((item, i) => covers(item, live[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(desired).every(([key, value]) =>
      covers(value, (live as Record<string, unknown>)[key]),
    );
  }
  // Numbers may come back as strings (quantities) and the other way round.
  return (
    desired === live || (desired !== undefined && live !== undefined && String(desired) === String(live))
  );
}

/** What a live object must match: Secrets' stringData is stored by the API server as data. */
function comparable(manifest: Record<string, unknown>): Record<string, unknown> {
  if (manifest.kind !== 'Secret' || manifest.apiVersion !== 'v1' || !manifest.stringData) return manifest;
  const { stringData, ...rest } = manifest as {
    stringData: Record<string, string>;
    data?: Record<string, string>;
  };
  const data = { ...rest.data };
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value).toString('base64');
  return { ...rest, data };
}

function truncate(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

export class Reconciler {
  private applied = new Map<string, AppliedEntry>();
  private readonly file: string;
  private running: Promise<void> | undefined;
  private again: 'desired' | 'drift' | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly store: DesiredStore,
    private readonly options: {
      clusterId: string;
      installation: string;
      stateDir: string;
      intervalMs: number;
      logger: Logger;
      /** Status changes of resources, and the pass's outcome (problem undefined when fine). */
      report: (changes: ResourceStatus[], problem: SyncProblem | undefined) => void;
    },
  ) {
    this.file = join(options.stateDir, 'applied.json');
    if (existsSync(this.file)) {
      const entries = JSON.parse(readFileSync(this.file, 'utf8')) as AppliedEntry[];
      this.applied = new Map(entries.map((entry) => [entry.key, entry]));
    }
  }

  start(): void {
    this.timer = setInterval(() => this.trigger('drift'), this.options.intervalMs);
    this.timer.unref();
    this.trigger('drift');
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every status this agent knows: what a full report after a reconnect carries. */
  statuses(): ResourceStatus[] {
    return [...this.applied.values()].map(({ key, status, message, applied_revision }) => ({
      key,
      status,
      message,
      applied_revision,
    }));
  }

  /** Runs a pass now, or right after the one under way. */
  trigger(reason: 'desired' | 'drift'): Promise<void> {
    if (this.running) {
      this.again = this.again === 'drift' || reason === 'drift' ? 'drift' : 'desired';
      return this.running;
    }
    this.running = this.pass(reason)
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'sync pass failed'))
      .finally(() => {
        this.running = undefined;
        const next = this.again;
        this.again = undefined;
        if (next) void this.trigger(next);
      });
    return this.running;
  }

  private async pass(reason: 'desired' | 'drift'): Promise<void> {
    const changes: ResourceStatus[] = [];
    const problem = await this.sync(reason, changes).catch((error: unknown) => ({
      message: error instanceof KubeError ? `Kubernetes API: ${error.message}` : String(error),
    }));
    this.save();
    this.options.report(changes, problem);
  }

  /** One pass; returns a problem that stopped it, after recording what it did until then. */
  private async sync(
    reason: 'desired' | 'drift',
    changes: ResourceStatus[],
  ): Promise<SyncProblem | undefined> {
    // Before any set arrived there is nothing to enforce, and nothing may be pruned.
    if (this.store.revisionHash === null) return undefined;
    const refused = await this.checkOwnership();
    if (refused) return refused;
    const desired = this.store.resources();
    const ordered = [...desired].sort(
      (a, b) => tierOf(String(a.manifest.kind)) - tierOf(String(b.manifest.kind)),
    );
    const record = (entry: DesiredEntry, status: ResourceState, message: string | null) => {
      const previous = this.applied.get(entry.key);
      const next: AppliedEntry = {
        key: entry.key,
        ref: refOf(entry.manifest),
        hash: status === 'applied' ? entry.hash : (previous?.hash ?? ''),
        tier: tierOf(String(entry.manifest.kind)),
        status,
        message: message === null ? null : truncate(message),
        applied_revision: status === 'applied' ? this.store.revision : (previous?.applied_revision ?? null),
      };
      this.applied.set(entry.key, next);
      if (
        previous?.status !== next.status ||
        previous.message !== next.message ||
        previous.applied_revision !== next.applied_revision
      ) {
        changes.push({
          key: next.key,
          status: next.status,
          message: next.message,
          applied_revision: next.applied_revision,
        });
      }
    };
    let crdsPending: string[] = [];
    for (const entry of ordered) {
      if (crdsPending.length > 0 && tierOf(String(entry.manifest.kind)) === 2) {
        await this.waitForCrds(crdsPending);
        crdsPending = [];
      }
      const outcome = await this.reconcileOne(entry, reason);
      if (outcome === 'unchanged') continue;
      if (outcome.drifted) record(entry, 'drifted', 'changed or deleted in the cluster; applying again');
      record(
        entry,
        outcome.status,
        outcome.drifted && outcome.status === 'applied'
          ? `applied again at ${new Date().toISOString()}: it had drifted`
          : outcome.message,
      );
      if (entry.manifest.kind === 'CustomResourceDefinition' && outcome.status === 'applied') {
        crdsPending.push(refOf(entry.manifest).metadata.name);
      }
    }
    await this.prune(new Set(desired.map((entry) => entry.key)), changes);
    return undefined;
  }

  private async reconcileOne(
    entry: DesiredEntry,
    reason: 'desired' | 'drift',
  ): Promise<'unchanged' | { status: ResourceState; message: string | null; drifted?: boolean }> {
    const previous = this.applied.get(entry.key);
    const current = previous?.status === 'applied' && previous.hash === entry.hash;
    if (entry.mode === 'create-once') {
      // Created when missing, never overwritten: only its existence is checked.
      if (current && reason === 'desired') return 'unchanged';
      const live = await this.kube.read(refOf(entry.manifest));
      if (live) return current ? 'unchanged' : { status: 'applied', message: null };
      return this.applyOne(entry, Boolean(previous?.status === 'applied'));
    }
    if (current && reason === 'desired') return 'unchanged';
    if (current) {
      const live = await this.kube.read(refOf(entry.manifest));
      if (live && covers(comparable(this.withOwnership(entry.manifest)), live)) return 'unchanged';
      return this.applyOne(entry, true);
    }
    return this.applyOne(entry, false);
  }

  private async applyOne(entry: DesiredEntry, drifted: boolean) {
    try {
      await this.kube.apply(this.withOwnership(entry.manifest) as KubernetesObject);
      return { status: 'applied' as const, message: null, drifted };
    } catch (error) {
      if (error instanceof KubeError && error.status === 0) throw error; // unreachable: stop the pass
      return { status: 'failed' as const, message: (error as Error).message, drifted };
    }
  }

  /** Our label and annotation on every object we manage: what pruning checks before deleting. */
  private withOwnership(manifest: DesiredEntry['manifest']): Record<string, unknown> {
    const metadata = manifest.metadata as Record<string, unknown> & {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    return {
      ...manifest,
      metadata: {
        ...metadata,
        labels: { ...metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        annotations: { ...metadata.annotations, [CLUSTER_ANNOTATION]: this.options.clusterId },
      },
    };
  }

  private async waitForCrds(names: string[]): Promise<void> {
    const deadline = Date.now() + CRD_WAIT_MS;
    for (const name of names) {
      while (!(await this.kube.crdEstablished(name))) {
        if (Date.now() > deadline) {
          this.options.logger.warn({ crd: name }, 'CRD not established in time; applying the rest anyway');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Deletes what we applied and is no longer desired, objects in namespaces before namespaces. */
  private async prune(desired: Set<string>, changes: ResourceStatus[]): Promise<void> {
    const gone = [...this.applied.values()]
      .filter((entry) => !desired.has(entry.key) && entry.status !== 'pruned')
      .sort((a, b) => b.tier - a.tier);
    for (const entry of gone) {
      let message: string | null = null;
      const live = await this.kube.read(entry.ref);
      const ours =
        live?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE &&
        live.metadata?.annotations?.[CLUSTER_ANNOTATION] === this.options.clusterId;
      if (live && ours) await this.kube.remove(entry.ref);
      else if (live)
        message = 'left in place: it no longer carries our managed-by label and cluster annotation';
      this.applied.set(entry.key, { ...entry, status: 'pruned', message });
      changes.push({ key: entry.key, status: 'pruned', message, applied_revision: entry.applied_revision });
    }
    // Forget pruned entries once reported: the report below carries their last status.
    for (const entry of gone) this.applied.delete(entry.key);
  }

  /** The ConfigMap naming the Commander cluster that owns this Kubernetes cluster. */
  private async checkOwnership(): Promise<SyncProblem | undefined> {
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', metadata: OWNERSHIP };
    const live = await this.kube.read(ref);
    const owner = (live as { data?: Record<string, string> } | undefined)?.data;
    if (owner && owner['cluster-uuid'] !== this.options.clusterId) {
      return {
        message:
          `this Kubernetes cluster is managed by another Commander (${owner.installation ?? 'unknown installation'}, ` +
          `cluster ${owner['cluster-uuid'] ?? 'unknown'}; ConfigMap ${OWNERSHIP.namespace}/${OWNERSHIP.name}): ` +
          'refusing to sync; remove that ConfigMap if that installation is gone',
      };
    }
    if (!owner) {
      await this.kube.apply({
        ...ref,
        metadata: { ...OWNERSHIP, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
        data: { 'cluster-uuid': this.options.clusterId, installation: this.options.installation },
      } as KubernetesObject);
    }
    return undefined;
  }

  private save(): void {
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify([...this.applied.values()]), { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}
