// Every case in test/template/cases/ rendered by Go's own text/template with sprig (the
// reference, bench/go-template) and by ours: the bytes must be identical, and when Go fails ours
// must fail with a TemplateError (and the other way round).
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoTemplateReference, goTemplateMissing } from '../../bench/go-template.js';
import { Template, TemplateError } from '../../shared/template/index.js';
import type { TemplateCase } from './cases/case.js';

const casesDir = fileURLToPath(new URL('./cases/', import.meta.url));
const files = readdirSync(casesDir)
  .filter((f) => f.endsWith('.ts') && f !== 'case.ts')
  .sort();
const corpus = await Promise.all(
  files.map(async (file) => {
    const module = (await import(`./cases/${file}`)) as { cases: TemplateCase[] };
    return { file, cases: module.cases };
  }),
);

const missing = goTemplateMissing();
if (missing && process.env.CI) throw new Error(`the Go reference is required in CI: ${missing}`);

/** Renders with our engine: the output bytes, or the TemplateError. */
function ours(c: TemplateCase): { output?: Buffer; error?: TemplateError } {
  // The values as the reference receives them: through JSON text.
  const values: unknown = JSON.parse(JSON.stringify(c.values ?? {}));
  try {
    return { output: Buffer.from(Template.parse(c.template).executeBytes(values)) };
  } catch (e) {
    if (e instanceof TemplateError) return { error: e };
    throw e;
  }
}

describe('the corpus', () => {
  it('has at least 300 cases, each with a unique name in its file', () => {
    let total = 0;
    for (const { file, cases } of corpus) {
      const names = cases.map((c) => c.name);
      expect(new Set(names).size, `duplicate case names in ${file}`).toBe(names.length);
      total += cases.length;
    }
    expect(total).toBeGreaterThanOrEqual(300);
  });
});

for (const { file, cases } of corpus) {
  describe.skipIf(missing !== undefined)(
    `${file} against Go's text/template${missing ? ` (${missing})` : ''}`,
    () => {
      let ref: GoTemplateReference;
      beforeAll(async () => {
        ref = await GoTemplateReference.start();
      });
      afterAll(() => ref?.close());

      for (const c of cases) {
        it(c.name, async () => {
          const go = await ref.render(c.template, c.values ?? {});
          const mine = ours(c);
          if (go.error !== undefined) {
            expect(mine.output?.toString('utf8'), `Go fails with: ${go.error}`).toBeUndefined();
            expect(mine.error?.message).toMatch(/^template: [^:]*:\d+:\d+: /);
            expect(mine.error?.line).toBeGreaterThanOrEqual(1);
            expect(mine.error?.column).toBeGreaterThanOrEqual(1);
          } else {
            expect(
              mine.error?.message,
              `Go prints ${JSON.stringify(go.output?.toString('utf8'))}`,
            ).toBeUndefined();
            // Compared as text first for a readable diff, then as bytes for invalid UTF-8.
            expect(mine.output?.toString('latin1')).toBe(go.output?.toString('latin1'));
          }
        });
      }
    },
  );
}
