// Telemetry from every agent of this gateway, written in batches (one insert for many samples),
// each sample once however often it is replayed, and pruned after the retention period. A row
// the database refuses fails only itself: the batch is halved until it is alone.

import type { Sql } from '../shared/db/connect.js';
import { isDatabaseUnavailable } from '../shared/db/health.js';
import type { Logger } from '../shared/logger.js';
import type { TelemetrySample } from '../shared/wire/control.js';

/**
 * `stored`; `refused`: the database will never take this sample (acknowledge it all the same,
 * or the agent replays it forever); `unavailable`: the database is away, try again soon;
 * `failed`: not now, for another reason (the agent replays it after its next reconnect).
 */
export type StoreOutcome = 'stored' | 'refused' | 'unavailable' | 'failed';

interface Pending {
  clusterId: string;
  sample: TelemetrySample;
  stored: (outcome: StoreOutcome) => void;
}

/** SQLSTATE classes of errors that writing the same row again would repeat. */
const REFUSED = /^(22|23|54)/;

const FLUSH_MS = 100;
const BATCH = 1000;
const RETENTION_CHECK_MS = 60 * 60 * 1000;

export class TelemetryWriter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private retention: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {}

  /** Prunes old samples now (resolved when done) and every hour; every replica does, harmlessly. */
  start(): Promise<void> {
    this.retention = setInterval(() => void this.prune(), RETENTION_CHECK_MS);
    this.retention.unref();
    return this.prune();
  }

  async stop(): Promise<void> {
    clearInterval(this.retention);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Queues a sample; `stored` says what became of it (then it is acknowledged, unless failed). */
  add(clusterId: string, sample: TelemetrySample, stored: (outcome: StoreOutcome) => void): void {
    this.pending.push({ clusterId, sample, stored });
    if (this.pending.length >= BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Pending[]): Promise<void> {
    const outcome = await this.insert(batch);
    if (outcome === 'refused' && batch.length > 1) {
      // One row the database refuses fails the statement: halve the batch until that row is
      // alone, so no other cluster's samples wait for it.
      const middle = Math.ceil(batch.length / 2);
      await this.write(batch.slice(0, middle));
      await this.write(batch.slice(middle));
      return;
    }
    for (const entry of batch) entry.stored(outcome);
  }

  private async insert(batch: Pending[]): Promise<StoreOutcome> {
    // The sample's known fields only: what the agent sent beyond them is not ours to keep.
    const samples = batch.map(({ clusterId, sample }) => ({
      cluster_id: clusterId,
      time: sample.time,
      cpus: sample.cpus,
      memory_bytes: sample.memory_bytes,
      nodes: sample.nodes,
      storage_bytes: sample.storage_bytes,
      kubernetes_version: sample.kubernetes_version,
      platform_version: sample.platform_version,
      components: sample.components.map(({ name, ready }) => ({ name, ready })),
    }));
    const newest = new Map<string, (typeof samples)[number]>();
    for (const row of samples) {
      const known = newest.get(row.cluster_id);
      if (!known || Date.parse(known.time) < Date.parse(row.time)) newest.set(row.cluster_id, row);
    }
    try {
      await this.sql.begin(async (tx) => {
        await tx`insert into telemetry_samples
          select * from jsonb_to_recordset(${tx.json(samples as never)}) as r(cluster_id uuid, time timestamptz,
            cpus double precision, memory_bytes bigint, nodes int, storage_bytes bigint,
            kubernetes_version text, platform_version text, components jsonb)
          where exists (select 1 from clusters c where c.id = r.cluster_id)
          on conflict (cluster_id, time) do nothing`;
        // The sample as an object: a JSON string here would be stored as a jsonb string.
        const latest = [...newest.values()].map(({ cluster_id, ...sample }) => ({
          id: cluster_id,
          time: sample.time,
          sample,
        }));
        await tx`update clusters c set telemetry = r.sample, telemetry_at = r.time
          from jsonb_to_recordset(${tx.json(latest as never)}) as r(id uuid, time timestamptz, sample jsonb)
          where c.id = r.id and (c.telemetry_at is null or c.telemetry_at < r.time)`;
      });
      return 'stored';
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? '');
      if (REFUSED.test(code)) {
        if (batch.length === 1) {
          this.logger.warn(
            { err: error, cluster_id: batch[0]?.clusterId, time: batch[0]?.sample.time },
            'telemetry sample refused by the database; acknowledged unstored',
          );
        }
        return 'refused';
      }
      if (isDatabaseUnavailable(error)) {
        this.logger.warn(
          { err: error, samples: batch.length },
          'could not store telemetry: database unreachable',
        );
        return 'unavailable';
      }
      this.logger.error({ err: error, samples: batch.length }, 'could not store telemetry');
      return 'failed';
    }
  }

  private async prune(): Promise<void> {
    try {
      const deleted = await this.sql`delete from telemetry_samples
        where time < now() - make_interval(days => ${this.retentionDays})`;
      if (deleted.count > 0) this.logger.info({ deleted: deleted.count }, 'old telemetry samples deleted');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not prune telemetry');
    }
  }
}
