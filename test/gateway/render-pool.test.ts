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
/** About eight million iterations: seconds of work, far beyond a 100 ms bound. */
const slow = '{{ range .n }}{{ range $.n }}{{ range $.n }}{{ end }}{{ end }}{{ end }}';

describe('the render thread', () => {
  it('renders and answers the prepared set', async () => {
    const pool = new RenderPool(await Encryptor.create(testKeys()));
    try {
      const rendered = await pool.render(job(configMap, { name: 'cm' }));
      expect(rendered.errors).toEqual([]);
      expect(rendered.texts.desired_resources_rendered).toContain('url: "https://commander.example.com"');
      expect(rendered.set?.resources).toMatchObject([
        { kind: 'ConfigMap', name: 'cm', namespace: 'default' },
      ]);
    } finally {
      await pool.close();
    }
  });

  it('fails a render that runs too long with a render error, and renders the next one', async () => {
    const pool = new RenderPool(await Encryptor.create(testKeys()), { ...RENDER_LIMITS, timeoutMs: 100 });
    try {
      // The thread is up first, so the bound measures the render alone.
      await pool.render(job(configMap, { name: 'warm' }));
      const n = Array.from({ length: 200 }, (_, i) => i);
      const [timedOut, next] = await Promise.all([
        pool.render(job(slow, { n })),
        pool.render(job(configMap, { name: 'after' })),
      ]);
      expect(timedOut.errors).toEqual([
        { section: null, line: null, column: null, message: 'rendering took longer than 0.1 s' },
      ]);
      expect(next.errors).toEqual([]);
      expect(next.set?.resources[0]?.name).toBe('after');
    } finally {
      await pool.close();
    }
  });

  it('refuses more waiting renders than its queue holds with BUSY, and everything once closed', async () => {
    const pool = new RenderPool(await Encryptor.create(testKeys()), { ...RENDER_LIMITS, queue: 2 });
    const n = Array.from({ length: 60 }, (_, i) => i);
    const accepted = [pool.render(job(slow, { n })), pool.render(job(slow, { n }))];
    const refused = await pool.render(job(configMap, { name: 'x' })).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CommanderError);
    expect((refused as CommanderError).code).toBe('BUSY');
    await Promise.all(accepted);
    await pool.close();
    const closed = await pool.render(job(configMap, { name: 'x' })).catch((error: unknown) => error);
    expect((closed as CommanderError).code).toBe('NOT_READY');
  });
});
