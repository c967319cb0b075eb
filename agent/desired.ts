// The desired set as the agent last received it, kept in its state directory (mode 0600; it may
// hold Secrets) so the agent keeps enforcing it while the gateway is unreachable or after a restart.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, setHash, sha256, shortHash } from '../shared/manifests.js';
import type { Desired, DesiredUpsert } from '../shared/wire/control.js';

export type DesiredEntry = DesiredUpsert;

interface Stored {
  revision: number;
  revision_hash: string | null;
  resources: DesiredEntry[];
}

export class DesiredStore {
  revision = 0;
  revisionHash: string | null = null;
  private entries = new Map<string, DesiredEntry>();
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'desired.json');
    if (!existsSync(this.file)) return;
    const stored = JSON.parse(readFileSync(this.file, 'utf8')) as Stored;
    this.revision = stored.revision;
    this.revisionHash = stored.revision_hash;
    this.entries = new Map(stored.resources.map((entry) => [entry.key, entry]));
  }

  /** Short hashes of what we hold: what a pull states. */
  heldHashes(): string[] {
    return [...this.entries.values()].map((entry) => shortHash(entry.hash));
  }

  /** The resources in the order they were given. */
  resources(): DesiredEntry[] {
    return [...this.entries.values()].sort((a, b) => a.position - b.position);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Applies a pull's answer (all its parts). Returns false, changing nothing, when the result
   * would not be exactly the announced set: a manifest that does not match its hash, or a set
   * whose hash differs (it changed while the answer was read); the caller pulls again.
   * `whole`: the answer to a pull that stated nothing held, so it replaces the set.
   */
  apply(parts: Desired[], whole: boolean): boolean {
    const last = parts.at(-1);
    if (!last || last.not_modified) return true;
    const next = whole ? new Map<string, DesiredEntry>() : new Map(this.entries);
    const removed = new Set(parts.flatMap((part) => part.removed));
    for (const [key, entry] of next) if (removed.has(shortHash(entry.hash))) next.delete(key);
    for (const upsert of parts.flatMap((part) => part.upserts)) {
      if (sha256(canonicalJson(upsert.manifest)) !== upsert.hash) return false;
      next.set(upsert.key, upsert);
    }
    const hash = next.size === 0 && last.revision_hash === null ? null : setHash([...next.values()]);
    if (hash !== last.revision_hash) return false;
    this.entries = next;
    this.revision = last.revision;
    this.revisionHash = last.revision_hash;
    this.save();
    return true;
  }

  private save(): void {
    const stored: Stored = {
      revision: this.revision,
      revision_hash: this.revisionHash,
      resources: this.resources(),
    };
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(stored), { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}
