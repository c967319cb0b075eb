// The render thread (started by render-pool.ts): renders a cluster's template version, so that
// no template, however slow, holds up the gateway's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { Encryptor } from '../shared/crypto.js';
import { ManifestParser } from '../shared/manifests.js';
import { renderCluster } from './render.js';
import type { RenderOutcome, RenderRequest, RenderWorkerData } from './render-pool.js';

const port = parentPort;
if (!port) throw new Error('render-worker.js runs as a worker thread of the gateway');
const encryptor = Encryptor.fromDerived((workerData as RenderWorkerData).keys);
const parser = new ManifestParser();

port.on('message', ({ id, job }: RenderRequest) => {
  let outcome: RenderOutcome;
  try {
    outcome = { id, kind: 'rendered', rendered: renderCluster(job, parser, encryptor) };
  } catch (error) {
    outcome = {
      id,
      kind: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  const rows = outcome.kind === 'rendered' ? outcome.rendered.set?.rows : undefined;
  port.postMessage(outcome, rows ? [rows.buffer as ArrayBuffer] : []);
});
port.postMessage({ kind: 'ready' } satisfies RenderOutcome);
