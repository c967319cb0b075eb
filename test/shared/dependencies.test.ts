// The locked dependency tree installs cleanly on the Node version the project supports: `npm ci`
// must not warn that a package needs a newer Node (EBADENGINE).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the locked dependencies', () => {
  it('`npm ci` reports no package whose engines exclude this Node', async () => {
    // --dry-run checks the lock file against this Node without touching node_modules.
    const { stdout, stderr } = await promisify(execFile)(
      'npm',
      ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'],
      { cwd: root, env: { ...process.env, npm_config_loglevel: 'warn' } },
    );
    expect(stdout + stderr).not.toContain('EBADENGINE');
    expect(stdout + stderr).toMatch(/up to date|added|changed/);
  });
});
