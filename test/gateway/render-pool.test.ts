// The render thread on its own: it renders off the event loop, a template that runs too long
// costs its cluster a render error and the thread a restart, and a full queue is refused.
import { describe, expect, it } from 'vitest';
import type { RenderJob } from '../../gateway/render.js';
import { RENDER_LIMITS, RenderPool } from '../../gateway/render-pool.js';
import { Encryptor } from '../../shared/crypto.js';
import { CommanderError } from '../../shared/errors.js';
import { testKeys } from '../support/keys.js';

const variables = {
  dc_clusterUUID: '00000000-0000-4000-8000-000000000001',
  dc_domain: 'commander.example.com',
  dc_caBundle: '',
  dc_sshPublicKey: 'ssh-ed25519 AAAA test',
  dc_sshPrivateKey: '',
};

function job(resources: string, values: Record<string, unknown> = {}): RenderJob {
  return {
    sections: {
      cluster_configuration: '',
      provider_specific_cluster_configuration: '',
      ssh_configuration: '',
      resources,
      init_resources: '',
      init_configuration: '',
    },
    values,
    variables,
  };
}

const configMap =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .name }}\n  namespace: default\ndata:\n  url: "https://{{ .dc_domain }}"\n';
/**
 * Two thousand hashes of a mebibyte: seconds of work for few evaluation steps (a function's result
 * costs steps by its size, and a hash is short), so the time bound, not the step bound, stops it.
 */
const slow = '{{ range .a }}{{ sha256sum $.big }}{{ end }}';
const slowValues = {
  a: Array.from({ length: 2000 }, (_, i) => i),
  big: 'x'.repeat(1 << 20),
};

// One pool for the whole story: each thread start loads the engine, and under the test runner
// compiles its TypeScript, which takes seconds.
describe('the render thread', () => {
  it('queues, renders, bounds a render in time, and refuses work when full or closed', async () => {
    const pool = new RenderPool(await Encryptor.create(testKeys()), {
      ...RENDER_LIMITS,
      queue: 2,
      timeoutMs: 500,
    });
    try {
      // While the thread starts, two renders wait; a third is refused at once.
      const waiting = [
        pool.render(job(configMap, { name: 'first' })),
        pool.render(job(configMap, { name: 'second' })),
      ];
      const refused = await pool.render(job(configMap, { name: 'third' })).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(CommanderError);
      expect((refused as CommanderError).code).toBe('BUSY');
      const [first, second] = await Promise.all(waiting);
      expect(first?.errors).toEqual([]);
      expect(first?.texts.desired_resources_rendered).toContain('url: "https://commander.example.com"');
      expect(first?.set?.resources).toMatchObject([
        { kind: 'ConfigMap', name: 'first', namespace: 'default' },
      ]);
      expect(second?.set?.resources[0]?.name).toBe('second');

      // Too long: a render error for that cluster; the next render gets a new thread.
      const [timedOut, next] = await Promise.all([
        pool.render(job(slow, slowValues)),
        pool.render(job(configMap, { name: 'after' })),
      ]);
      expect(timedOut.errors).toEqual([
        { section: null, line: null, column: null, message: 'rendering took longer than 0.5 s' },
      ]);
      expect(next.errors).toEqual([]);
      expect(next.set?.resources[0]?.name).toBe('after');
    } finally {
      await pool.close();
    }
    const closed = await pool.render(job(configMap, { name: 'x' })).catch((error: unknown) => error);
    expect((closed as CommanderError).code).toBe('NOT_READY');
  }, 240_000);
});
