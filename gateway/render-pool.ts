// The gateway's render thread: a bounded queue in front of one worker thread that renders
// clusters' templates (render-worker.ts). A template that runs too long costs a thread restart
// and a render error on its cluster, not the gateway.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DerivedKeys, Encryptor } from '../shared/crypto.js';
import { CommanderError } from '../shared/errors.js';
import type { Rendered, RenderJob } from './render.js';
import { TEMPLATE_LIMITS } from './template-sections.js';

export interface RenderLimits {
  /** Renders waiting for the thread; more are refused with 503 BUSY. */
  queue: number;
  /** One render may take this long; then the thread is replaced and the render fails. */
  timeoutMs: number;
  /** Heap of the thread: a backstop, the engine bounds what a template prints. */
  heapMiB: number;
}

export const RENDER_LIMITS: RenderLimits = {
  queue: 16,
  timeoutMs: TEMPLATE_LIMITS.renderTimeoutMs,
  heapMiB: 512,
};

export interface RenderWorkerData {
  keys: DerivedKeys;
}

/** Main thread → worker. */
export interface RenderRequest {
  id: number;
  job: RenderJob;
}

/** Worker → main thread: `ready` once, then one answer per request. */
export type RenderOutcome =
  | { kind: 'ready' }
  | { id: number; kind: 'rendered'; rendered: Rendered }
  | { id: number; kind: 'failed'; message: string };

interface Pending {
  request: RenderRequest;
  resolve: (rendered: Rendered) => void;
  reject: (error: Error) => void;
}

// Beside this module: render-worker.js when compiled, the .ts source under the test runner
// (test/support/ts-worker-loader.mjs teaches Node to load it).
const WORKER_URL = new URL(`./render-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class RenderPool {
  private worker: Worker | undefined;
  private ready = false;
  private running: (Pending & { timer: NodeJS.Timeout }) | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly encryptor: Encryptor,
    private readonly limits: RenderLimits = RENDER_LIMITS,
    private readonly onFailure: (message: string) => void = () => {},
  ) {}

  render(job: RenderJob): Promise<Rendered> {
    if (this.closed) return Promise.reject(new CommanderError('NOT_READY', 'the gateway is shutting down'));
    if (this.queue.length >= this.limits.queue) {
      return Promise.reject(
        new CommanderError(
          'BUSY',
          `${this.queue.length} clusters are waiting to be rendered; retry in a few seconds`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, job }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new CommanderError('NOT_READY', 'the gateway is shutting down'));
    }
    if (this.running) {
      clearTimeout(this.running.timer);
      this.running.reject(new CommanderError('NOT_READY', 'the gateway is shutting down'));
      this.running = undefined;
    }
    const worker = this.worker;
    this.worker = undefined;
    worker?.removeAllListeners('exit');
    await worker?.terminate();
  }

  private dispatch(): void {
    if (this.running || this.queue.length === 0 || this.closed) return;
    if (!this.worker) {
      this.spawn();
      return;
    }
    if (!this.ready) return;
    const pending = this.queue.shift() as Pending;
    const timer = setTimeout(() => {
      // The render's own failure: its cluster gets a render error; the next render gets a new thread.
      const running = this.running;
      this.running = undefined;
      running?.resolve(timedOut(this.limits.timeoutMs));
      void this.restart();
    }, this.limits.timeoutMs);
    this.running = { ...pending, timer };
    this.worker.postMessage(pending.request);
  }

  private spawn(): void {
    const worker = new Worker(WORKER_URL, {
      workerData: { keys: this.encryptor.derived } satisfies RenderWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMiB },
    });
    this.worker = worker;
    this.ready = false;
    worker.on('message', (outcome: RenderOutcome) => {
      if (outcome.kind === 'ready') {
        this.ready = true;
        this.dispatch();
        return;
      }
      const running = this.running;
      if (!running || running.request.id !== outcome.id) return;
      clearTimeout(running.timer);
      this.running = undefined;
      if (outcome.kind === 'rendered') running.resolve(outcome.rendered);
      else {
        this.onFailure(`render failed: ${outcome.message}`);
        running.reject(new CommanderError('INTERNAL', 'rendering failed; see the gateway log'));
      }
      this.dispatch();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (!outOfMemory) this.onFailure(`render thread failed: ${error.stack ?? error.message}`);
      const running = this.running;
      this.running = undefined;
      if (running) {
        clearTimeout(running.timer);
        if (outOfMemory) running.resolve(outOfMemoryError(this.limits.heapMiB));
        else running.reject(new CommanderError('INTERNAL', 'rendering failed; see the gateway log'));
      }
      void this.restart();
    });
    worker.on('exit', () => {
      void this.restart();
    });
  }

  private async restart(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const wasReady = this.ready;
    this.worker = undefined;
    this.ready = false;
    worker.removeAllListeners('exit');
    await worker.terminate();
    if (this.closed) return;
    if (!wasReady) {
      // It never started (a broken install?): another would fail the same way, forever.
      for (const pending of this.queue.splice(0)) {
        pending.reject(
          new CommanderError('INTERNAL', 'the render thread could not start; see the gateway log'),
        );
      }
      return;
    }
    this.dispatch();
  }
}

function failedRender(message: string): Rendered {
  return {
    texts: {} as Rendered['texts'],
    sensitive: [],
    errors: [{ section: null, line: null, column: null, message }],
  };
}

function timedOut(ms: number): Rendered {
  return failedRender(`rendering took longer than ${ms / 1000} s`);
}

function outOfMemoryError(heapMiB: number): Rendered {
  return failedRender(`rendering needed more than ${heapMiB} MiB`);
}
