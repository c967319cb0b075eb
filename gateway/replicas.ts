// The gateway replicas table (migration 0010): this replica's heartbeat and link address, who
// holds an agent's session, and the clean-up of sessions held by replicas that are gone.
import type { Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';

/** Heartbeats a replica may miss before the others count it gone. */
export const STALE_BEATS = 3;

export interface Holder {
  replicaId: string;
  /** host:port of its replica link; null when it has none. */
  address: string | null;
}

export interface ReplicaRegistryOptions {
  sql: Sql;
  logger: Logger;
  replicaId: string;
  heartbeatMs: number;
  /**
   * Called when this replica's row had to be inserted again (it was counted gone, say after a
   * long pause): its sessions were cleared by a peer and must be written back.
   */
  onReinstated?: () => Promise<void>;
}

export class ReplicaRegistry {
  private timer: NodeJS.Timeout | undefined;
  private address: string | null = null;
  private beating: Promise<void> = Promise.resolve();
  private first = true;

  constructor(private readonly options: ReplicaRegistryOptions) {}

  private get staleSeconds(): number {
    return (STALE_BEATS * this.options.heartbeatMs) / 1000;
  }

  /** Registers this replica (with its link address, if any) and heartbeats from now on. */
  async start(address: string | null): Promise<void> {
    this.address = address;
    await this.beat();
    this.timer = setInterval(() => {
      this.beating = this.beat();
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  /**
   * One heartbeat: the row's time and count, then the sessions of replicas that stopped beating
   * are cleared, so nothing is forwarded to them and the clusters say disconnected until their
   * agents come back through another replica.
   */
  private async beat(): Promise<void> {
    const { sql, logger, replicaId } = this.options;
    try {
      // xmax is 0 on a row this statement inserted: a fresh start, or one after being counted gone.
      const [row] = await sql<{ inserted: boolean }[]>`
        insert into gateway_replicas (id, address) values (${replicaId}, ${this.address})
        on conflict (id) do update set address = excluded.address, heartbeat_at = now(),
          beats = gateway_replicas.beats + 1
        returning (xmax = 0) as inserted`;
      if (row?.inserted && !this.first) {
        logger.warn('this replica had been counted gone; writing its sessions back');
        await this.options.onReinstated?.();
      }
      this.first = false;
      const gone = await sql<{ id: string }[]>`
        delete from gateway_replicas where heartbeat_at < now() - make_interval(secs => ${this.staleSeconds})
        returning id`;
      if (gone.length > 0) {
        const ids = gone.map((r) => r.id);
        const cleared = await sql`
          update clusters set agent_status = 'disconnected', agent_replica = null, last_seen_at = now()
          where agent_replica = any(${ids}::text[])`;
        logger.warn({ replicas: ids, sessions: cleared.count }, 'replicas gone; cleared their sessions');
      }
    } catch (error) {
      logger.warn({ err: error }, 'replica heartbeat failed; trying again at the next one');
    }
  }

  /**
   * The live replica holding the cluster's agent session, or undefined when none does: no
   * session, or its replica stopped beating.
   */
  async holder(clusterId: string): Promise<Holder | undefined> {
    const [row] = await this.options.sql<{ id: string; address: string | null }[]>`
      select r.id, r.address from clusters c join gateway_replicas r on r.id = c.agent_replica
      where c.id = ${clusterId} and c.agent_status = 'connected'
        and r.heartbeat_at > now() - make_interval(secs => ${this.staleSeconds})`;
    return row ? { replicaId: row.id, address: row.address } : undefined;
  }

  /** Stops beating and removes this replica's row (it has let its sessions go). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    const { sql, logger, replicaId } = this.options;
    await sql`delete from gateway_replicas where id = ${replicaId}`.catch((error: unknown) =>
      logger.warn({ err: error }, 'could not remove this replica from gateway_replicas'),
    );
  }
}
