// What the agent must tell the gateway (status reports, telemetry), kept on disk until the
// gateway acknowledged it: replayed in order after a reconnect or a restart, numbered so the
// gateway stores each entry once. Bounded: when full, the oldest entries give way, and the
// agent logs how many.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/logger.js';

export interface OutboxEntry {
  seq: number;
  type: 'report' | 'telemetry';
  body: Record<string, unknown>;
}

export const OUTBOX_LIMITS = { maxEntries: 20_000, maxBytes: 64 * 1024 * 1024 };

export class Outbox {
  private entries: OutboxEntry[] = [];
  private bytes = 0;
  private lastSeq = 0;
  private readonly file: string;
  private readonly seqFile: string;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
    private readonly limits = OUTBOX_LIMITS,
  ) {
    this.file = join(stateDir, 'outbox.jsonl');
    this.seqFile = join(stateDir, 'outbox-seq');
    if (existsSync(this.seqFile)) this.lastSeq = Number(readFileSync(this.seqFile, 'utf8')) || 0;
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as OutboxEntry;
          this.entries.push(entry);
          this.bytes += line.length + 1;
          this.lastSeq = Math.max(this.lastSeq, entry.seq);
        } catch {
          // a line cut short by a crash mid-write: everything before it is intact
        }
      }
    }
  }

  /** Adds an entry (durably) and returns it with its sequence number. */
  add(type: OutboxEntry['type'], body: Record<string, unknown>): OutboxEntry {
    const entry = { seq: this.lastSeq + 1, type, body };
    const line = `${JSON.stringify(entry)}\n`;
    this.lastSeq = entry.seq;
    writeFileSync(this.seqFile, String(this.lastSeq), { mode: 0o600 });
    this.entries.push(entry);
    this.bytes += line.length;
    appendFileSync(this.file, line, { mode: 0o600 });
    if (this.entries.length > this.limits.maxEntries || this.bytes > this.limits.maxBytes) this.shed();
    return entry;
  }

  /** Everything not yet acknowledged, oldest first. */
  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  /** The gateway stored this entry (acknowledgements may come out of order). */
  ack(seq: number): void {
    const index = this.entries.findIndex((entry) => entry.seq === seq);
    if (index === -1) return;
    this.entries.splice(index, 1);
    this.rewrite();
  }

  private shed(): void {
    let dropped = 0;
    while (
      this.entries.length > 1 &&
      (this.entries.length > this.limits.maxEntries || this.bytes > this.limits.maxBytes)
    ) {
      const entry = this.entries.shift() as OutboxEntry;
      this.bytes -= JSON.stringify(entry).length + 1;
      dropped += 1;
    }
    this.logger.warn({ dropped }, 'outbox full: the oldest unsent entries were dropped');
    this.rewrite();
  }

  private rewrite(): void {
    const text = this.entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
    this.bytes = text.length;
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}
