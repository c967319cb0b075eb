// docs/templates.md's walkthrough, run as written against `commander up` (test/support/walkthrough.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  docBlocks,
  startWalkthrough,
  type Walkthrough,
  walkthroughRunnable,
} from '../support/walkthrough.js';

describe.skipIf(!walkthroughRunnable && !process.env.CI)('docs/templates.md, run as written', () => {
  let walkthrough: Walkthrough;

  beforeAll(async () => {
    walkthrough = await startWalkthrough('commander-templates-doc-');
  }, 120_000);
  afterAll(() => walkthrough?.stop());

  it('creates a template and a cluster from it, watches it, changes it and deletes it', async () => {
    const blocks = docBlocks('templates.md', 'Walkthrough');
    expect(blocks).toHaveLength(3);
    const run = await walkthrough.run(blocks);
    expect(run.status, run.trace).toBe(0);
    const [created, watched, changed] = run.outputs as [string, string, string];

    const id = /^\{"id":"([0-9a-f-]{36})"/.exec(created)?.[1] as string;
    expect(id, created).toBeDefined();
    expect(created).toContain('"status":"new"');
    expect(created).toContain(
      '"connection_hosts":{"masters":[{"host":"192.0.2.10","user":"ubuntu","port":22}]}',
    );
    expect(created).toContain('"render_errors":[]');
    expect(created).toContain(`commanderUrl: \\"https://127.0.0.1:8080/agent_api/${id}\\"`);
    expect(created).toContain('podSubnetCIDR: 10.111.0.0/16');
    expect(created).toContain('"kind":"ModuleConfig","namespace":"","name":"commander-agent"');

    // No installers in the quick start: the install fails at once, and says why.
    expect(watched).toContain('"status":"creation_failed"');
    expect(watched).toContain('"kind":"install"');
    expect(watched).toMatch(/"error":"[^"]*installers/);

    expect(changed).toContain('podSubnetCIDR: 10.222.0.0/16');
    // curl -s prints the JSON without a newline: the status code follows it on the same line.
    expect(changed).toMatch(/\}409\n/);
    expect(changed).toContain('"status":"delete"');
    const revisions = [...changed.matchAll(/"current_revision":(\d+)/g)].map((m) => Number(m[1]));
    expect(revisions).toHaveLength(1);
    expect(revisions[0]).toBeGreaterThan(Number(/"current_revision":(\d+)/.exec(created)?.[1]));
  }, 180_000);
});
