// What the gateway remembers between requests (callers, clusters' tunnel rules), and how it
// forgets: every replica LISTENs for the invalidations that triggers on those tables send, and
// drops everything when that connection was lost (a notification may have been missed then).
// A time limit bounds staleness even if notifications stopped without the connection noticing.
import type { Sql } from '../shared/db/connect.js';
import { listenSurely } from '../shared/db/driver-defects.js';

const CHANNEL = 'commander_invalidate';

export type Table = 'api_tokens' | 'workspaces' | 'clusters' | 'workspace_role_bindings';
/** A row that changed, or undefined when everything must be forgotten. */
export type Invalidation = { table: Table; id: string } | undefined;

export class LookupCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    // Maps keep insertion order: the first key is the oldest.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

export class Invalidations {
  private readonly subscribers = new Set<(change: Invalidation) => void>();
  private unlisten?: () => Promise<void>;

  async start(sql: Sql): Promise<void> {
    this.unlisten = await listenSurely(
      sql,
      CHANNEL,
      (payload) => {
        const [table, id] = payload.split(':') as [Table, string];
        this.publish({ table, id });
      },
      // Called again after every reconnect of the listening connection.
      () => this.publish(undefined),
    );
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => {});
  }

  subscribe(subscriber: (change: Invalidation) => void): void {
    this.subscribers.add(subscriber);
  }

  unsubscribe(subscriber: (change: Invalidation) => void): void {
    this.subscribers.delete(subscriber);
  }

  /** Also called by this process right after its own writes, before the notification arrives. */
  publish(change: Invalidation): void {
    for (const subscriber of this.subscribers) subscriber(change);
  }
}
