// The gateway's manifest parser threads: a bounded queue in front of one worker thread that turns
// request bodies into sets to store (manifest-worker.ts). Parsing tens of MiB takes seconds; here
// they are taken away from the event loop, and a body that takes too long costs a thread
// restart and a 413, not the gateway.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DerivedKeys, Encryptor } from '../shared/crypto.js';
import { CommanderError, type ErrorCode } from '../shared/errors.js';
import type { DocumentError } from '../shared/manifests.js';
import type { PreparedSet } from './desired-state.js';

export interface ParserLimits {
  /** Worker threads. One leaves a core to the event loop on small machines. */
  threads: number;
  /** Bodies waiting for a thread; more are refused with 503 BUSY. */
  queue: number;
  /** One body may take this long; then its thread is replaced and the PUT refused with 413. */
  timeoutMs: number;
  /**
   * Heap of one thread: a backstop only. The set's own limits (RESOURCE_LIMITS) keep a thread
   * well below it: 32 MiB of YAML needs about 300 MiB at most.
   */
  heapMiB: number;
}

/** Documented in docs/resources.md. */
export const PARSER_LIMITS: ParserLimits = { threads: 1, queue: 4, timeoutMs: 60_000, heapMiB: 1024 };

export type BodyFormat = 'yaml' | 'json';

/** Main thread → worker. */
export interface Job {
  id: number;
  body: Uint8Array;
  format: BodyFormat;
}

/** Worker → main thread: `ready` once, when it can take jobs; then one answer per job. */
export type Outcome =
  | { kind: 'ready' }
  | { id: number; kind: 'set'; set: PreparedSet }
  | { id: number; kind: 'invalid'; errors: DocumentError[] }
  | { id: number; kind: 'refused'; code: ErrorCode; message: string; details: unknown }
  | { id: number; kind: 'failed'; message: string };

export interface WorkerData {
  keys: DerivedKeys;
}

/** What a body became: a set to store, or the per-document reasons it cannot be. */
export type Parsed = { set: PreparedSet } | { errors: DocumentError[] };

interface Pending {
  job: Job;
  resolve: (parsed: Parsed) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  running?: Pending & { timer: NodeJS.Timeout };
}

// Beside this module: manifest-worker.js when compiled. Under the test runner this module is the
// .ts source, and so is the worker (test/support/ts-worker-loader.mjs teaches Node to load it).
const WORKER_URL = new URL(`./manifest-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class ManifestPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly encryptor: Encryptor,
    private readonly limits: ParserLimits = PARSER_LIMITS,
    private readonly onFailure: (message: string) => void = () => {},
  ) {}

  /** Parses, validates, hashes and encrypts `body` on a worker thread; the body moves there. */
  parse(body: Uint8Array, format: BodyFormat): Promise<Parsed> {
    if (this.closed) return Promise.reject(new CommanderError('NOT_READY', 'the gateway is shutting down'));
    if (this.queue.length >= this.limits.queue) {
      return Promise.reject(
        new CommanderError(
          'BUSY',
          `${this.queue.length} sets are waiting to be parsed; retry in a few seconds`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, body, format }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread; the gateway calls this once its requests are done. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new CommanderError('NOT_READY', 'the gateway is shutting down'));
    }
    await Promise.all(this.threads.map((thread) => this.retire(thread, 'the gateway is shutting down')));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const idle = this.threads.find((t) => t.ready && !t.running);
      if (!idle) {
        // A thread still starting up takes the job once it is ready.
        if (this.threads.length < this.limits.threads && this.threads.every((t) => t.ready)) this.spawn();
        return;
      }
      const pending = this.queue.shift() as Pending;
      const timer = setTimeout(() => {
        void this.retire(
          idle,
          `parsing the set took longer than ${this.limits.timeoutMs / 1000} s; split it into smaller sets`,
          'PAYLOAD_TOO_LARGE',
        );
      }, this.limits.timeoutMs);
      idle.running = { ...pending, timer };
      const { body } = pending.job;
      // The body moves to the thread without a copy when it owns its memory (large bodies do).
      const owned =
        body.buffer instanceof ArrayBuffer &&
        body.byteOffset === 0 &&
        body.byteLength === body.buffer.byteLength;
      const job = owned ? pending.job : { ...pending.job, body: new Uint8Array(body) };
      idle.worker.postMessage(job, [job.body.buffer as ArrayBuffer]);
    }
  }

  private spawn(): void {
    const worker = new Worker(WORKER_URL, {
      workerData: { keys: this.encryptor.derived } satisfies WorkerData,
      resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMiB },
    });
    const thread: Thread = { worker, ready: false };
    worker.on('message', (outcome: Outcome) => {
      if (outcome.kind === 'ready') {
        thread.ready = true;
        this.dispatch();
      } else {
        this.finish(thread, outcome);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (!outOfMemory) this.onFailure(`manifest parser thread failed: ${error.stack ?? error.message}`);
      void this.retire(
        thread,
        outOfMemory
          ? `parsing the set needed more than ${this.limits.heapMiB} MiB; split it into smaller sets`
          : 'the manifest parser failed; see the gateway log',
        outOfMemory ? 'PAYLOAD_TOO_LARGE' : 'INTERNAL',
      );
    });
    worker.on('exit', () => {
      void this.retire(thread, 'the manifest parser stopped; see the gateway log', 'INTERNAL');
    });
    this.threads.push(thread);
  }

  private finish(thread: Thread, outcome: Exclude<Outcome, { kind: 'ready' }>): void {
    const running = thread.running;
    if (!running || running.job.id !== outcome.id) return;
    clearTimeout(running.timer);
    thread.running = undefined;
    switch (outcome.kind) {
      case 'set':
        running.resolve({ set: outcome.set });
        break;
      case 'invalid':
        running.resolve({ errors: outcome.errors });
        break;
      case 'refused':
        running.reject(new CommanderError(outcome.code, outcome.message, outcome.details));
        break;
      case 'failed':
        this.onFailure(`manifest parser failed: ${outcome.message}`);
        running.reject(new CommanderError('INTERNAL', 'the manifest parser failed; see the gateway log'));
        break;
    }
    this.dispatch();
  }

  /** Takes a thread out of service, failing its job with `message`; a new thread takes the queue. */
  private async retire(thread: Thread, message: string, code: ErrorCode = 'NOT_READY'): Promise<void> {
    const index = this.threads.indexOf(thread);
    if (index === -1) return;
    this.threads.splice(index, 1);
    const running = thread.running;
    thread.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      running.reject(new CommanderError(code, message));
    }
    thread.worker.removeAllListeners('exit');
    await thread.worker.terminate();
    if (this.closed) return;
    if (!thread.ready) {
      // It never started (a broken install?): starting another would fail the same way, forever.
      for (const pending of this.queue.splice(0)) {
        pending.reject(
          new CommanderError('INTERNAL', 'the manifest parser could not start; see the gateway log'),
        );
      }
      return;
    }
    this.dispatch();
  }
}
