// Many agents that pull their desired set, in one process (for sync-fanout).
//   node dist/bench/sync-load.js <gateway url> <admin token> <count> <concurrency>
// 1. Prepares <count> clusters (bench/load-agents.ts) and prints `clusters <JSON array of ids>`.
// 2. On `connect [<n>]` (stdin) connects the next <n> agents (default: all the rest). Each one does on its control stream what
//    agent/sync.ts does: `pull` on connect and on a `nudge` for a revision it does not hold, one
//    pull at a time (one more after it when asked meanwhile), and applies the `desired` parts as
//    agent/desired.ts does: drops what `removed` names, checks every upsert's manifest against its
//    hash, checks the resulting set against `revision_hash` (shared/manifests.ts setHash), and on a
//    mismatch pulls the whole set. Lighter than DesiredStore: it keeps key → hash only (no
//    manifests, no desired.json), so 1,000 agents fit in one process.
// 3. Prints `held <index> <revision> <held at> <nudged at> <bytes>` whenever an agent comes to hold
//    a new set: wall-clock ms (performance.timeOrigin + now, comparable with the bench process),
//    the nudge that led to it (0 when none), and the control-stream bytes received for that pull.
//    Prints `mismatch <index>` when a set did not match its hash.
import { canonicalJson, setHash, sha256, shortHash } from '../shared/manifests.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { type Desired, isDesired, isNudge, type Pull } from '../shared/wire/control.js';
import { MAX_GATEWAY_MESSAGE } from '../shared/wire/limits.js';
import { encodeMessage, MessageDecoder } from '../shared/wire/messages.js';
import { commands, connectAll, type Planned, prepare, wallMs } from './load-agents.js';

const [api, token, countText, concurrencyText] = process.argv.slice(2) as [string, string, string, string];

class LoadSyncer {
  private revision = 0;
  private revisionHash: string | null = null;
  /** key → full resource hash: what the agent holds. */
  private held = new Map<string, string>();
  private nextPullId = 1;
  private inFlight: { id: number; parts: Desired[]; full: boolean; bytesBefore: number } | undefined;
  private pullAgain = false;
  private nudgedAt = 0;
  private bytes = 0;

  constructor(
    private readonly agent: Planned,
    private readonly control: MuxStream,
  ) {
    const decoder = new MessageDecoder(MAX_GATEWAY_MESSAGE);
    control.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
    });
    control.pipe(decoder);
    decoder.on('error', (error) => {
      process.stderr.write(`sync-load: ${agent.clusterId}: ${error.message}\n`);
      control.destroy(error);
    });
    decoder.on('data', (message: Record<string, unknown>) => this.handle(message));
    this.pull();
  }

  private pull(full = false): void {
    if (this.control.destroyed) return;
    if (this.inFlight) {
      this.pullAgain = true;
      return;
    }
    const pull: Pull = {
      type: 'pull',
      pull_id: this.nextPullId++,
      revision_hash: full ? null : this.revisionHash,
      hashes: full ? [] : [...this.held.values()].map(shortHash),
    };
    this.inFlight = { id: pull.pull_id, parts: [], full, bytesBefore: this.bytes };
    this.control.write(encodeMessage(pull));
  }

  private handle(message: Record<string, unknown>): void {
    if (message.type === 'nudge' && isNudge(message)) {
      if (message.revision !== this.revision) {
        this.nudgedAt ||= wallMs();
        this.pull();
      }
    } else if (message.type === 'desired') {
      const problem = isDesired.problem(message);
      if (!problem) this.receive(message as Desired);
      else {
        process.stderr.write(`sync-load: ${this.agent.clusterId}: bad desired message: ${problem}\n`);
        this.control.destroy();
      }
    }
  }

  private receive(part: Desired): void {
    const pull = this.inFlight;
    if (!pull || part.pull_id !== pull.id) return;
    pull.parts.push(part);
    if (!part.final) return;
    this.inFlight = undefined;
    const before = this.revisionHash;
    if (!this.apply(pull.parts, pull.full)) {
      process.stdout.write(`mismatch ${this.agent.index}\n`);
      this.pull(true);
      return;
    }
    if (this.revisionHash !== before) {
      process.stdout.write(
        `held ${this.agent.index} ${this.revision} ${wallMs().toFixed(3)} ${this.nudgedAt.toFixed(3)} ${this.bytes - pull.bytesBefore}\n`,
      );
      this.nudgedAt = 0;
    }
    if (this.pullAgain) {
      this.pullAgain = false;
      this.pull();
    }
  }

  /** As DesiredStore.apply: all parts or nothing, checked against the announced set hash. */
  private apply(parts: Desired[], whole: boolean): boolean {
    const last = parts.at(-1);
    if (!last || last.not_modified) return true;
    const next = whole ? new Map<string, string>() : new Map(this.held);
    const removed = new Set(parts.flatMap((part) => part.removed));
    for (const [key, hash] of next) if (removed.has(shortHash(hash))) next.delete(key);
    for (const upsert of parts.flatMap((part) => part.upserts)) {
      if (sha256(canonicalJson(upsert.manifest)) !== upsert.hash) return false;
      next.set(upsert.key, upsert.hash);
    }
    const hash =
      next.size === 0 && last.revision_hash === null
        ? null
        : setHash([...next].map(([key, resourceHash]) => ({ key, hash: resourceHash })));
    if (hash !== last.revision_hash) return false;
    this.held = next;
    this.revision = last.revision;
    this.revisionHash = last.revision_hash;
    return true;
  }
}

const planned = await prepare(api, token, Number(countText));
process.stdout.write(`clusters ${JSON.stringify(planned.map((agent) => agent.clusterId))}\n`);
const next = commands();
for (let connected = 0; connected < planned.length; ) {
  const count = Number((await next('connect')).split(' ')[1] ?? planned.length);
  const batch = planned.slice(connected, connected + count);
  connected += batch.length;
  await connectAll(api, batch, Number(concurrencyText), (control, agent) => new LoadSyncer(agent, control));
}
