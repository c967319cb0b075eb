// The manifest parser threads on their own: they answer, they stop when the pool closes, and a
// body that takes too long costs a thread restart and a 413, never the process.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManifestPool, PARSER_LIMITS } from '../../gateway/manifest-pool.js';
import { Encryptor } from '../../shared/crypto.js';
import { CommanderError } from '../../shared/errors.js';
import { testKeys } from '../support/keys.js';

/** Threads of this process, as the kernel counts them. */
const threads = () => readdirSync('/proc/self/task').length;

const small = () =>
  Buffer.from(
    JSON.stringify([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' } }]),
  );

/** About `mib` MiB of YAML ConfigMaps, far more than a few milliseconds of work. */
function large(mib: number): Buffer {
  const data = Array.from({ length: 500 }, (_, j) => `  k${j}: value\n`).join('');
  const documents: string[] = [];
  for (let i = 0, size = 0; size < mib * 1024 * 1024; i++) {
    documents.push(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}, namespace: x}\ndata:\n${data}`);
    size += data.length + 64;
  }
  return Buffer.from(documents.join('---\n'));
}

async function refusal(promise: Promise<unknown>): Promise<CommanderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CommanderError);
  return error as CommanderError;
}

describe('the manifest parser threads', () => {
  it('start on the first body and stop when the pool closes', async () => {
    const pool = new ManifestPool(await Encryptor.create(testKeys()));
    const before = threads();
    const parsed = await pool.parse(small(), 'json');
    expect('set' in parsed && parsed.set.resources.map((r) => r.key)).toEqual(['v1/ConfigMap/x/a']);
    expect(threads()).toBeGreaterThan(before);
    await pool.close();
    expect(threads()).toBe(before);
    expect((await refusal(pool.parse(small(), 'json'))).code).toBe('NOT_READY');
  });

  it('refuse a body that takes too long with 413, and answer the next on a new thread', async () => {
    const pool = new ManifestPool(await Encryptor.create(testKeys()), { ...PARSER_LIMITS, timeoutMs: 50 });
    try {
      const slow = await refusal(pool.parse(large(8), 'yaml'));
      expect(slow.code).toBe('PAYLOAD_TOO_LARGE');
      expect(slow.message).toMatch(/longer than/);
      expect('set' in (await pool.parse(small(), 'json'))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('keep a bounded queue: beyond it, a body is refused with BUSY at once', async () => {
    const pool = new ManifestPool(await Encryptor.create(testKeys()), { ...PARSER_LIMITS, queue: 1 });
    try {
      expect('set' in (await pool.parse(small(), 'json'))).toBe(true); // the thread is up and idle
      const running = pool.parse(large(2), 'yaml');
      const queued = pool.parse(large(2), 'yaml');
      expect((await refusal(pool.parse(small(), 'json'))).code).toBe('BUSY');
      expect('set' in (await running)).toBe(true);
      expect('set' in (await queued)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
