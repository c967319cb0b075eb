// What the agent must tell the gateway (status reports, telemetry), kept on disk until the
// gateway acknowledged it: replayed in order after a reconnect or a restart, numbered so the
// gateway stores each entry once. Bounded: when full, the oldest entries give way, and the
// agent logs how many.
//
// On disk, in the state directory: `outbox.jsonl` gets every entry appended, `outbox-acks` the
// number of every entry acknowledged (or dropped), so an acknowledgement costs one short append
// however long the backlog. Once acknowledged entries fill more of the log than pending ones do
// (and at least `compactBytes`), the log is rewritten with the pending ones alone: each byte
// added is rewritten about once at most. `outbox-seq` keeps the last number given out across
// such a rewrite. Only whole lines count: a line cut short by a crash is cut off on opening.
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/logger.js';

export interface OutboxEntry {
  seq: number;
  type: 'report' | 'telemetry';
  body: Record<string, unknown>;
}

export interface OutboxLimits {
  maxEntries: number;
  /** Bytes of pending entries, as stored. */
  maxBytes: number;
  /** Acknowledged bytes the log may hold before it is compacted (and only once they outweigh the rest). */
  compactBytes: number;
}

export const OUTBOX_LIMITS: OutboxLimits = {
  maxEntries: 20_000,
  maxBytes: 64 * 1024 * 1024,
  compactBytes: 1024 * 1024,
};

interface Held {
  entry: OutboxEntry;
  bytes: number;
}

export class Outbox {
  /** Pending entries by number; a Map keeps them in the order they were added. */
  private readonly held = new Map<number, Held>();
  private heldBytes = 0;
  private logBytes = 0;
  private lastSeq = 0;
  private readonly file: string;
  private readonly acksFile: string;
  private readonly seqFile: string;
  private readonly limits: OutboxLimits;
  private log: number;
  private acks: number;
  private closed = false;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
    limits: Partial<OutboxLimits> = {},
  ) {
    this.limits = { ...OUTBOX_LIMITS, ...limits };
    this.file = join(stateDir, 'outbox.jsonl');
    this.acksFile = join(stateDir, 'outbox-acks');
    this.seqFile = join(stateDir, 'outbox-seq');
    // A compaction that did not finish: the log it was replacing is still whole.
    rmSync(`${this.file}.tmp`, { force: true });
    rmSync(`${this.seqFile}.tmp`, { force: true });
    if (existsSync(this.seqFile)) this.lastSeq = seqOf(readFileSync(this.seqFile, 'utf8').trim()) ?? 0;
    const acked = new Set<number>();
    for (const line of wholeLines(this.acksFile)) {
      const seq = seqOf(line);
      if (seq === undefined) continue;
      acked.add(seq);
      this.lastSeq = Math.max(this.lastSeq, seq);
    }
    for (const line of wholeLines(this.file)) {
      const bytes = Buffer.byteLength(line) + 1;
      this.logBytes += bytes;
      const entry = entryOf(line);
      if (!entry) continue;
      this.lastSeq = Math.max(this.lastSeq, entry.seq);
      if (acked.has(entry.seq) || this.held.has(entry.seq)) continue;
      this.held.set(entry.seq, { entry, bytes });
      this.heldBytes += bytes;
    }
    this.log = openSync(this.file, 'a', 0o600);
    this.acks = openSync(this.acksFile, 'a', 0o600);
    this.compactIfWorthIt();
  }

  /** Adds an entry (durably) and returns it with its sequence number. */
  add(type: OutboxEntry['type'], body: Record<string, unknown>): OutboxEntry {
    const entry = { seq: this.lastSeq + 1, type, body };
    const line = `${JSON.stringify(entry)}\n`;
    const bytes = Buffer.byteLength(line);
    append(this.log, line, this.logBytes);
    this.logBytes += bytes;
    this.lastSeq = entry.seq;
    this.held.set(entry.seq, { entry, bytes });
    this.heldBytes += bytes;
    if (this.held.size > this.limits.maxEntries || this.heldBytes > this.limits.maxBytes) this.shed();
    return entry;
  }

  /** Everything not yet acknowledged, oldest first. */
  pending(): OutboxEntry[] {
    return Array.from(this.held.values(), (held) => held.entry);
  }

  /**
   * Pending entries numbered above `seq`, oldest first. The iteration is live: entries added
   * meanwhile come too, acknowledged ones are skipped.
   */
  *pendingAfter(seq: number): Generator<OutboxEntry> {
    for (const held of this.held.values()) if (held.entry.seq > seq) yield held.entry;
  }

  /** The gateway stored this entry (acknowledgements may come out of order). */
  ack(seq: number): void {
    const held = this.held.get(seq);
    if (!held) return;
    this.forget([seq]);
  }

  /** Closes the files (once); the outbox is not used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.log);
    closeSync(this.acks);
  }

  private shed(): void {
    const dropped: number[] = [];
    let bytes = this.heldBytes;
    for (const [seq, held] of this.held) {
      const count = this.held.size - dropped.length;
      if (count <= 1 || (count <= this.limits.maxEntries && bytes <= this.limits.maxBytes)) break;
      dropped.push(seq);
      bytes -= held.bytes;
    }
    this.logger.warn({ dropped: dropped.length }, 'outbox full: the oldest unsent entries were dropped');
    this.forget(dropped);
  }

  /** Records these entries as gone (acknowledged or dropped), then compacts if that pays. */
  private forget(seqs: number[]): void {
    if (seqs.length === 0) return;
    append(this.acks, `${seqs.join('\n')}\n`);
    for (const seq of seqs) {
      const held = this.held.get(seq);
      if (!held) continue;
      this.held.delete(seq);
      this.heldBytes -= held.bytes;
    }
    this.compactIfWorthIt();
  }

  private compactIfWorthIt(): void {
    const dead = this.logBytes - this.heldBytes;
    if (dead >= this.limits.compactBytes && dead > this.heldBytes) this.compact();
  }

  /**
   * Rewrites the log with the pending entries alone. Crash-safe at every step: the last number
   * is saved first, the new log replaces the old one whole (rename), and only then are the
   * acknowledgements, which now name entries no longer in the log, emptied.
   */
  private compact(): void {
    replaceFile(this.seqFile, `${this.lastSeq}\n`);
    let text = '';
    let bytes = 0;
    for (const held of this.held.values()) {
      const line = `${JSON.stringify(held.entry)}\n`;
      held.bytes = Buffer.byteLength(line);
      bytes += held.bytes;
      text += line;
    }
    replaceFile(this.file, text);
    closeSync(this.log);
    this.log = openSync(this.file, 'a', 0o600);
    this.logBytes = bytes;
    this.heldBytes = bytes;
    ftruncateSync(this.acks, 0);
  }
}

/** Appends all of `text`; on failure cuts the file back to `size` (when known) so no torn line stays. */
function append(fd: number, text: string, size?: number): void {
  try {
    writeSync(fd, text);
  } catch (error) {
    if (size !== undefined) ftruncateSync(fd, size);
    throw error;
  }
}

/** Writes a file whole, synced, then renames it over `path`. */
function replaceFile(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The file's complete lines (without their newlines); a torn last line is cut off the file. */
function wholeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const bytes = readFileSync(path);
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) truncateSync(path, end);
  if (end === 0) return [];
  return bytes.toString('utf8', 0, end - 1).split('\n');
}

function seqOf(text: string): number | undefined {
  const seq = Number(text);
  return /^\d{1,16}$/.test(text) && Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

/** An entry as stored, or undefined for a line that is not one (it is skipped). */
function entryOf(line: string): OutboxEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const entry = value as Partial<OutboxEntry> | null;
  if (
    entry === null ||
    typeof entry !== 'object' ||
    !Number.isSafeInteger(entry.seq) ||
    (entry.seq as number) < 1 ||
    (entry.type !== 'report' && entry.type !== 'telemetry') ||
    entry.body === null ||
    typeof entry.body !== 'object' ||
    Array.isArray(entry.body)
  ) {
    return undefined;
  }
  return entry as OutboxEntry;
}
