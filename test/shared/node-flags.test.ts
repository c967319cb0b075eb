// Every way a person starts Commander passes the V8 flags of shared/node-flags.ts: they can only
// be given at start, so a launcher that forgets them runs a slower process with no other sign.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../shared/node-flags.js';
import { execForm, lastOf, parseDockerfile } from '../support/dockerfile.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('the flags every process starts with', () => {
  it('are in the shebang of the built CLI (`npx commander`, the installed `commander`)', () => {
    const shebang = readFileSync(root('dist/cli/main.js'), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });

  it('reach the process when the CLI is run by its shebang', () => {
    const script = `console.log(JSON.stringify(process.execArgv))`;
    // The same shebang line in front of a script that reports the flags it was started with.
    const shebang = readFileSync(root('dist/cli/main.js'), 'utf8').split('\n')[0] as string;
    const argv = shebang.slice(2).split(' ');
    const out = execFileSync(argv[0] as string, [...argv.slice(1), '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(NODE_FLAGS));
  });

  it('are in `npm start`', () => {
    const scripts = JSON.parse(readFileSync(root('package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} dist/cli/main.js up`);
  });

  it("are in the image's ENTRYPOINT", () => {
    const stages = parseDockerfile(readFileSync(root('Dockerfile'), 'utf8'));
    const final = stages.at(-1);
    expect(final).toBeDefined();
    const entrypoint = execForm(lastOf(final as NonNullable<typeof final>, 'ENTRYPOINT') ?? '[]');
    expect(entrypoint).toEqual(['node', ...NODE_FLAGS, '/app/dist/cli/main.js']);
  });
});
