// Telemetry from every agent of this gateway, written in batches (one insert for many samples),
// each sample once however often it is replayed, and pruned after the retention period.

import type { Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';
import type { TelemetrySample } from '../shared/wire/control.js';

interface Pending {
  clusterId: string;
  sample: TelemetrySample;
  stored: (ok: boolean) => void;
}

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

  /** Queues a sample; `stored` says whether it reached the database (then it is acknowledged). */
  add(clusterId: string, sample: TelemetrySample, stored: (ok: boolean) => void): void {
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
    const rows = batch.map(({ clusterId, sample }) => ({
      cluster_id: clusterId,
      time: sample.time,
      cpus: sample.cpus,
      memory_bytes: Math.round(sample.memory_bytes),
      nodes: Math.round(sample.nodes),
      storage_bytes: Math.round(sample.storage_bytes),
      kubernetes_version: sample.kubernetes_version,
      platform_version: sample.platform_version,
      components: sample.components,
    }));
    const newest = new Map<string, TelemetrySample>();
    for (const { clusterId, sample } of batch) {
      const known = newest.get(clusterId);
      if (!known || Date.parse(known.time) < Date.parse(sample.time)) newest.set(clusterId, sample);
    }
    try {
      await this.sql.begin(async (tx) => {
        await tx`insert into telemetry_samples
          select * from jsonb_to_recordset(${tx.json(rows as never)}) as r(cluster_id uuid, time timestamptz,
            cpus double precision, memory_bytes bigint, nodes int, storage_bytes bigint,
            kubernetes_version text, platform_version text, components jsonb)
          where exists (select 1 from clusters c where c.id = r.cluster_id)
          on conflict (cluster_id, time) do nothing`;
        const latest = [...newest].map(([id, sample]) => ({
          id,
          time: sample.time,
          sample: JSON.stringify(sample),
        }));
        await tx`update clusters c set telemetry = r.sample, telemetry_at = r.time
          from jsonb_to_recordset(${tx.json(latest as never)}) as r(id uuid, time timestamptz, sample jsonb)
          where c.id = r.id and (c.telemetry_at is null or c.telemetry_at < r.time)`;
      });
    } catch (error) {
      this.logger.error({ err: error, samples: batch.length }, 'could not store telemetry');
      for (const entry of batch) entry.stored(false);
      return;
    }
    for (const entry of batch) entry.stored(true);
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
