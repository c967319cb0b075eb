// Live events for browsers: this replica LISTENs on the channel the database's triggers notify
// (shared/db/migrations/0013_events.sql) and hands each change to the streams of its workspace.
// Any replica hears every change, so a browser may be served by any of them.
import type { Sql } from '../shared/db/connect.js';
import { listenSurely } from '../shared/db/driver-defects.js';

const CHANNEL = 'commander_events';

/** What a browser is told: which row of which kind changed; it reads the row through the API. */
export interface LiveEvent {
  type: 'cluster' | 'task' | 'change_request' | 'record' | 'reconnected';
  id?: string;
  cluster_id?: string | null;
}

type Subscriber = (event: LiveEvent) => void;

export const EVENT_LIMITS = {
  /** Streams one replica keeps open; more are refused with 503 so a flood cannot exhaust it. */
  streams: 5_000,
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs: 20_000,
} as const;

export class LiveEvents {
  private readonly byWorkspace = new Map<string, Set<Subscriber>>();
  private count = 0;
  private unlisten?: () => Promise<void>;

  async start(sql: Sql): Promise<void> {
    this.unlisten = await listenSurely(
      sql,
      CHANNEL,
      (payload) => {
        let parsed: { w?: string; t?: LiveEvent['type']; id?: string; c?: string | null };
        try {
          parsed = JSON.parse(payload);
        } catch {
          return;
        }
        if (!parsed.w || !parsed.t) return;
        this.publish(parsed.w, { type: parsed.t, id: parsed.id, cluster_id: parsed.c ?? null });
      },
      // After a reconnect notifications may have been missed: every browser fetches afresh.
      () => {
        for (const workspace of this.byWorkspace.keys()) this.publish(workspace, { type: 'reconnected' });
      },
    );
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => {});
  }

  get streams(): number {
    return this.count;
  }

  /** Returns the unsubscribe function, or undefined when this replica holds its limit already. */
  subscribe(workspaceId: string, subscriber: Subscriber): (() => void) | undefined {
    if (this.count >= EVENT_LIMITS.streams) return undefined;
    let set = this.byWorkspace.get(workspaceId);
    if (!set) {
      set = new Set();
      this.byWorkspace.set(workspaceId, set);
    }
    set.add(subscriber);
    this.count++;
    return () => {
      if (!set.delete(subscriber)) return;
      this.count--;
      if (set.size === 0) this.byWorkspace.delete(workspaceId);
    };
  }

  private publish(workspaceId: string, event: LiveEvent): void {
    for (const subscriber of this.byWorkspace.get(workspaceId) ?? []) subscriber(event);
  }
}
