// The manifest parser thread (started by manifest-pool.ts): turns a submitted body into the rows
// to store — parsed, validated, hashed, Secrets encrypted — so no set holds up the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { Encryptor } from '../shared/crypto.js';
import { CommanderError } from '../shared/errors.js';
import { ManifestParser } from '../shared/manifests.js';
import { prepareSet } from './desired-state.js';
import type { Job, Outcome, WorkerData } from './manifest-pool.js';

const port = parentPort;
if (!port) throw new Error('manifest-worker.js runs as a worker thread of the gateway');
const encryptor = Encryptor.fromDerived((workerData as WorkerData).keys);
const parser = new ManifestParser();

port.on('message', ({ id, body, format }: Job) => {
  let outcome: Outcome;
  try {
    const parsed = parser.parse(body, format);
    outcome =
      parsed.errors.length > 0
        ? { id, kind: 'invalid', errors: parsed.errors }
        : { id, kind: 'set', set: prepareSet(parsed.resources, encryptor) };
  } catch (error) {
    outcome =
      error instanceof CommanderError
        ? { id, kind: 'refused', code: error.code, message: error.message, details: error.details }
        : {
            id,
            kind: 'failed',
            message: error instanceof Error ? (error.stack ?? error.message) : String(error),
          };
  }
  // The rows move to the main thread without a copy.
  port.postMessage(outcome, outcome.kind === 'set' ? [outcome.set.rows.buffer as ArrayBuffer] : []);
});
port.postMessage({ kind: 'ready' } satisfies Outcome);
