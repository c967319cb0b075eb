// The gateway's end of one agent's control stream: length-prefixed JSON both ways
// (docs/protocol.md). Every message the gateway acts on is checked against its schema: a bad
// outbox entry is acknowledged unstored (it could never be stored); a bad pull, a message that
// is not a JSON object, or an entry without a usable seq closes the session.
import { Counter, type Registry } from 'prom-client';
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import { retryWhileUnavailable, UNAVAILABLE_RETRY_MS } from '../shared/db/health.js';
import type { Logger } from '../shared/logger.js';
import { MuxError } from '../shared/mux/frame.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import {
  type Ack,
  isOutboxEnvelope,
  isPull,
  isReport,
  isTelemetry,
  type Move,
  type Nudge,
  type Pull,
  type Telemetry,
} from '../shared/wire/control.js';
import { CONTROL_BACKLOG, MAX_AGENT_MESSAGE, MAX_GATEWAY_MESSAGE } from '../shared/wire/limits.js';
import { encodeMessage, MessageDecoder } from '../shared/wire/messages.js';
import { storeOnce, storeReport } from './agent-reports.js';
import { answerPull } from './desired-state.js';
import type { TelemetryWriter } from './telemetry.js';

export interface ControlOptions {
  sql: Sql;
  encryptor: Encryptor;
  logger: Logger;
  metrics: ControlMetrics;
  telemetry: TelemetryWriter;
}

/** Counters shared by every agent's control channel in this gateway. */
export class ControlMetrics {
  readonly pulls: Counter<'result'>;
  readonly desiredBytes: Counter;

  constructor(registry: Registry) {
    this.pulls = new Counter({
      name: 'commander_agent_pulls_total',
      help: 'Desired-state pulls answered: not_modified, or delta (only what the agent lacked)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.desiredBytes = new Counter({
      name: 'commander_agent_desired_bytes_total',
      help: 'Bytes of desired-state messages sent to agents',
      registers: [registry],
    });
  }
}

/**
 * A sample this far ahead of our clock is refused: stored, it would stay the cluster's newest
 * sample until then, hiding every real one.
 */
const MAX_SAMPLE_AHEAD_MS = 24 * 3600 * 1000;

export class ControlChannel {
  /** Pulls are answered one at a time, in the order they came; so are outbox entries stored. */
  private pulls: Promise<void> = Promise.resolve();
  private entries: Promise<void> = Promise.resolve();
  private readonly decoder = new MessageDecoder(MAX_AGENT_MESSAGE);
  /** Pulls and entries taken on and not finished yet (at most about CONTROL_BACKLOG). */
  private busy = 0;
  /**
   * Set once an outbox entry could not be stored: the entries after it are neither stored nor
   * acknowledged on this stream. Stored after a gap, a later entry would make the earlier one
   * look like a replay (storeOnce) when it comes again, and it would be lost.
   */
  private entryUnstored = false;

  constructor(
    private readonly clusterId: string,
    private readonly stream: MuxStream,
    private readonly session: Session,
    private readonly options: ControlOptions,
  ) {
    // Agent → gateway messages are small (pulls, reports in bounded parts).
    const { decoder } = this;
    stream.on('error', () => {});
    stream.pipe(decoder);
    decoder.on('error', (error) => this.violation(`bad control message: ${error.message}`));
    decoder.on('data', (message: Record<string, unknown>) => this.handle(message));
  }

  /**
   * Counts work taken on. While CONTROL_BACKLOG pieces are unfinished the decoder is paused:
   * its buffers fill, the stream stops being read, and the stream's window stops the agent.
   */
  private track(work: Promise<void>): void {
    this.busy += 1;
    if (this.busy >= CONTROL_BACKLOG) this.decoder.pause();
    const done = () => {
      this.busy -= 1;
      if (this.busy <= CONTROL_BACKLOG / 2 && this.decoder.isPaused()) this.decoder.resume();
    };
    work.then(done, done);
  }

  /** Writes one message; resolves when the stream can take more. */
  async send(message: object): Promise<void> {
    if (this.stream.destroyed) return;
    const encoded = encodeMessage(message, MAX_GATEWAY_MESSAGE);
    if ((message as { type?: string }).type === 'desired')
      this.options.metrics.desiredBytes.inc(encoded.length);
    if (!this.stream.write(encoded)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }

  /** The desired set changed (through any replica). */
  nudge(revision: number): void {
    const nudge: Nudge = { type: 'nudge', revision };
    this.send(nudge).catch((error: unknown) => this.unsent(error, 'nudge'));
  }

  /** This replica drains: the agent should connect again elsewhere within `withinMs`. */
  move(withinMs: number): void {
    const move: Move = { type: 'move', reason: 'gateway draining', reconnect_within_ms: withinMs };
    this.send(move).catch((error: unknown) => this.unsent(error, 'move'));
  }

  /** Resolves once the stream can take more; never rejects. */
  private ack(seq: number): Promise<void> {
    const ack: Ack = { type: 'ack', seq };
    // Unacknowledged, the entry comes again after the agent's next reconnect.
    return this.send(ack).catch((error: unknown) => this.unsent(error, 'ack'));
  }

  private unsent(error: unknown, what: string): void {
    this.options.logger.warn({ err: error, cluster_id: this.clusterId }, `could not send a ${what}`);
  }

  private handle(message: Record<string, unknown>): void {
    switch (message.type) {
      case 'heartbeat':
      case 'status':
        // Liveness is the mux's pings, and nothing here uses the agent's status.
        break;
      case 'pull':
        if (isPull(message)) this.queuePull(message);
        else this.violation(`bad pull: ${isPull.problem(message)}`);
        break;
      case 'report':
        if (isReport(message)) {
          const report = message;
          this.storeEntry(report.seq, (tx) => storeReport(tx, this.clusterId, report));
        } else {
          this.refuseEntry(message, isReport.problem(message));
        }
        break;
      case 'telemetry':
        if (!isTelemetry(message)) this.refuseEntry(message, isTelemetry.problem(message));
        else if (Date.parse(message.sample.time) > Date.now() + MAX_SAMPLE_AHEAD_MS)
          this.refuseEntry(message, 'sample.time is more than a day ahead of the gateway');
        else this.storeSample(message);
        break;
      default:
        this.options.logger.debug(
          { cluster_id: this.clusterId, type: String(message.type) },
          'control message ignored',
        );
    }
  }

  private queuePull(pull: Pull): void {
    this.pulls = this.pulls.then(() =>
      this.answer(pull).catch((error: unknown) => {
        this.options.logger.error({ err: error, cluster_id: this.clusterId }, 'could not answer a pull');
      }),
    );
    this.track(this.pulls);
  }

  private storeSample({ seq, sample }: Telemetry): void {
    const stored = new Promise<void>((resolve) => {
      let delay: number = UNAVAILABLE_RETRY_MS.first;
      const attempt = () =>
        this.options.telemetry.add(this.clusterId, sample, (outcome) => {
          if (outcome === 'stored' || outcome === 'refused') return void this.ack(seq).then(resolve);
          // The database is away: try again while the session lasts (the stream's backlog bounds
          // how many wait). Unacknowledged, a sample stays in the agent's outbox and comes again
          // after a reconnect; a write that failed for another reason waits for that.
          if (outcome === 'failed' || this.stream.destroyed) return resolve();
          setTimeout(attempt, delay);
          delay = Math.min(delay * 2, UNAVAILABLE_RETRY_MS.max);
        });
      attempt();
    });
    this.track(stored);
  }

  /**
   * An outbox entry whose body breaks its schema can never be stored: acknowledged, so the agent
   * drops it instead of replaying it forever, and logged. Without a usable seq it is a violation.
   */
  private refuseEntry(message: Record<string, unknown>, problem: string | undefined): void {
    if (!isOutboxEnvelope(message)) {
      this.violation(`bad ${String(message.type)}: ${problem}`);
      return;
    }
    this.options.logger.warn(
      { cluster_id: this.clusterId, type: message.type, seq: message.seq, problem },
      'agent entry refused',
    );
    this.track(this.ack(message.seq));
  }

  /**
   * Stores an outbox entry once and acknowledges it (a replay is acknowledged unstored). While the
   * database is away the entry waits for it, and the entries after it wait behind it, in order.
   */
  private storeEntry(seq: number, store: (tx: Queryable) => Promise<void>): void {
    this.entries = this.entries.then(async () => {
      if (this.entryUnstored) return;
      try {
        await retryWhileUnavailable(
          () => storeOnce(this.options.sql, this.clusterId, seq, store),
          () => !this.stream.destroyed,
          (error, attempt) => {
            if (attempt === 1)
              this.options.logger.warn(
                { err: error, cluster_id: this.clusterId, seq },
                'agent report waits for the database',
              );
          },
        );
      } catch (error) {
        // Not acknowledged: the agent sends it, and what came after it, again after its next
        // reconnect, which closing the session brings about (if it is not closed already).
        this.entryUnstored = true;
        this.options.logger.error(
          { err: error, cluster_id: this.clusterId, seq },
          'could not store an agent report; closing the session so that the agent sends it again',
        );
        if (!this.stream.destroyed)
          this.session.close(new MuxError('internal_error', 'could not store a report'));
        return;
      }
      await this.ack(seq);
    });
    this.track(this.entries);
  }

  private async answer(pull: Pull): Promise<void> {
    const { sql, encryptor, logger } = this.options;
    const started = performance.now();
    const sent = await answerPull(sql, encryptor, this.clusterId, pull, (part) => this.send(part));
    this.options.metrics.pulls.inc({ result: sent.notModified ? 'not_modified' : 'delta' });
    logger.debug(
      { cluster_id: this.clusterId, ...sent, ms: Math.round(performance.now() - started) },
      'pull answered',
    );
  }

  private violation(reason: string): void {
    this.options.logger.warn({ cluster_id: this.clusterId, reason }, 'closing the agent session');
    this.session.close(new MuxError('protocol_error', reason));
  }
}
