// The engines that stand alone (STYLE.md) import nothing from the programs, and the ones the
// web application also runs import nothing from Node either.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((match) => (match[1] ?? match[2]) as string);
}

const modules = [
  { dir: 'shared/template', packages: [] as string[], browser: true },
  { dir: 'shared/params', packages: ['@sinclair/typebox'], browser: true },
];

describe.each(modules)('$dir', ({ dir, packages, browser }) => {
  test('imports only from itself and the packages it names', () => {
    const files = sources(dir);
    expect(files.length).toBeGreaterThan(0);
    const outside: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) {
          const target = relative(join(root, dir), resolve(join(root, file, '..'), specifier));
          if (target.startsWith('..')) outside.push(`${file} → ${specifier}`);
        } else if (specifier.startsWith('node:') ? browser : !packages.some((p) => specifier.startsWith(p))) {
          outside.push(`${file} → ${specifier}`);
        }
      }
    }
    expect(outside).toEqual([]);
  });
});
