// The gateway's end of one agent's control stream: length-prefixed JSON both ways
// (docs/protocol.md). Every message is checked; a bad one closes the session with a typed reason.
import { Counter, type Registry } from 'prom-client';
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';
import { MuxError } from '../shared/mux/frame.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import {
  isPull,
  isReport,
  isTelemetry,
  type Pull,
  type Report,
  type Telemetry,
} from '../shared/wire/control.js';
import { MAX_AGENT_MESSAGE, MAX_GATEWAY_MESSAGE } from '../shared/wire/limits.js';
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

/** The messages an agent may send besides heartbeats and its status, each with its check. */
const CHECKS: Record<string, (message: Record<string, unknown>) => string | undefined> = {
  pull: isPull.problem,
  report: isReport.problem,
  telemetry: isTelemetry.problem,
};

export class ControlChannel {
  /** Pulls are answered one at a time, in the order they came; so are outbox entries stored. */
  private pulls: Promise<void> = Promise.resolve();
  private entries: Promise<void> = Promise.resolve();

  constructor(
    private readonly clusterId: string,
    private readonly stream: MuxStream,
    private readonly session: Session,
    private readonly options: ControlOptions,
  ) {
    // Agent → gateway messages are small (pulls, reports in bounded parts).
    const decoder = new MessageDecoder(MAX_AGENT_MESSAGE);
    stream.on('error', () => {});
    stream.pipe(decoder);
    decoder.on('error', (error) => this.violation(`bad control message: ${error.message}`));
    decoder.on('data', (message: Record<string, unknown>) => this.handle(message));
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
    this.send({ type: 'nudge', revision }).catch(() => {});
  }

  private handle(message: Record<string, unknown>): void {
    const type = String(message.type);
    if (type === 'heartbeat' || type === 'status') return;
    const check = CHECKS[type];
    if (!check) {
      this.options.logger.debug({ cluster_id: this.clusterId, type }, 'control message ignored');
      return;
    }
    const problem = check(message);
    if (problem) {
      this.violation(`bad ${type}: ${problem}`);
      return;
    }
    if (type === 'pull') {
      const pull = message as unknown as Pull;
      this.pulls = this.pulls.then(() =>
        this.answer(pull).catch((error: unknown) => {
          this.options.logger.error({ err: error, cluster_id: this.clusterId }, 'could not answer a pull');
        }),
      );
    } else if (type === 'report') {
      const report = message as unknown as Report;
      this.storeEntry(report.seq, (tx) => storeReport(tx, this.clusterId, report));
    } else {
      const { seq, sample } = message as unknown as Telemetry;
      this.options.telemetry.add(this.clusterId, sample, (ok) => {
        // Unstored samples stay in the agent's outbox and come again after a reconnect.
        if (ok) this.send({ type: 'ack', seq }).catch(() => {});
      });
    }
  }

  /** Stores an outbox entry once and acknowledges it (a replay is acknowledged unstored). */
  private storeEntry(seq: number, store: (tx: Queryable) => Promise<void>): void {
    this.entries = this.entries.then(async () => {
      try {
        await storeOnce(this.options.sql, this.clusterId, seq, store);
        await this.send({ type: 'ack', seq });
      } catch (error) {
        // Not acknowledged: the agent sends it again after its next reconnect.
        this.options.logger.error(
          { err: error, cluster_id: this.clusterId, seq },
          'could not store an agent report',
        );
      }
    });
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
