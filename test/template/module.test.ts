// The template engine is self-contained and runs in a browser: shared/template imports only its
// own files, and no Node-only API (node: modules, Buffer, process).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../shared/template/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('shared/template', () => {
  const files = sources(root);

  it('has sources to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => [relative(root, f), f]))(
    '%s imports only shared/template and no Node API',
    (_name, file) => {
      const text = readFileSync(file as string, 'utf8');
      for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^\.\.?\//);
        const target = resolve(dirname(file as string), spec as string);
        expect(target.startsWith(root), `${file} imports ${spec} from outside shared/template`).toBe(true);
      }
      expect(text).not.toMatch(/\bimport\(/);
      expect(text).not.toMatch(/\bBuffer\b|\bprocess\.|\brequire\(/);
    },
  );
});
