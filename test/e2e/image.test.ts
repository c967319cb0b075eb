// What the Dockerfile's image would hold, assembled from the Dockerfile itself (no container
// engine runs here): every stage's COPY list and RUN commands as written, each stage cached by
// its inputs, except that the build stage's full `npm ci` is the checkout's own node_modules
// (the same lockfile). Its compiler then sees only what the stage copies; the deps stage runs
// `npm ci --omit=dev`; the last stage is a clean directory outside the checkout. From it, as the
// image's ENTRYPOINT would: gateway, manager and agent answer --help, and `migrate` then a real
// `gateway` on PostgreSQL answer /healthz and /readyz.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net.js';
import { NODE_FLAGS } from '../../shared/node-flags.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import {
  cachedStage,
  execForm,
  lastOf,
  parseCopy,
  parseDockerfile,
  type RunStandIn,
  runStage,
  type Stage,
} from '../support/dockerfile.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { type RunningCommand, startCommand, waitForStatus } from '../support/process.js';

const CONTEXT = fileURLToPath(new URL('../../', import.meta.url));
const stages = parseDockerfile(readFileSync(join(CONTEXT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1) as Stage;
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage ${name}`);
  return found;
};
/** The stage that compiles: the one whose RUN calls tsc. */
const build = stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args)));
/** A full `npm ci` (dev dependencies too) gives what the checkout's node_modules holds. */
const standIn: RunStandIn = (command, cwd) => {
  if (!/^npm ci\b/.test(command) || /--omit[= ]dev/.test(command)) return false;
  symlinkSync(join(CONTEXT, 'node_modules'), join(cwd, 'node_modules'));
  return true;
};

describe('the image the Dockerfile describes', () => {
  let root: string;
  let app: string;
  let cli: string;
  let db: TestDatabase | undefined;
  const running: RunningCommand[] = [];

  beforeAll(() => {
    // Modules must resolve inside the copy, as in the image, not from a node_modules above it.
    for (const above of ['/node_modules', join(tmpdir(), 'node_modules')])
      expect(existsSync(above), `${above} would leak modules into the copy`).toBe(false);
    const assembled: Record<string, string> = {};
    const fromStage = (name: string, path: string): string => {
      assembled[name] ??= cachedStage(stage(name), CONTEXT, fromStage, standIn);
      return join(assembled[name] as string, path);
    };
    root = mkdtempSync(join(tmpdir(), 'commander-image-'));
    runStage(final, CONTEXT, root, fromStage);
    app = join(root, lastOf(final, 'WORKDIR') ?? '/');
    const entrypoint = execForm(lastOf(final, 'ENTRYPOINT') ?? '[]');
    // node, the flags every process starts with (which startCommand gives too), the CLI.
    expect(entrypoint.slice(0, -1)).toEqual(['node', ...NODE_FLAGS]);
    cli = join(root, entrypoint.at(-1) as string);
  }, 10 * 60_000);

  afterAll(async () => {
    for (const command of running) await command.stop('SIGKILL');
    await db?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** `commander <args>` as the image's ENTRYPOINT runs it, with its ENV, in its WORKDIR. */
  const run = (args: string[], env: Record<string, string> = {}) => {
    const imageEnv = Object.fromEntries(
      final.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args.split('=') as [string, string]),
    );
    const command = startCommand(args, { ...imageEnv, ...env }, [], { cli, cwd: app });
    running.push(command);
    return command;
  };

  it('compiles in its build stage from what that stage copies, and copies the result', () => {
    expect(build, 'a stage that runs tsc').toBeDefined();
    const copies = final.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
    expect(copies.some((copy) => copy.from === build?.name)).toBe(true);
    // beforeAll ran the compiler on the stage's copies alone: a missing source failed it there.
    expect(existsSync(join(app, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(app, 'dist', 'gateway', 'manifest-worker.js'))).toBe(true);
  });

  it('holds the compiled programs, the migrations and the production dependencies only', () => {
    // What `npm ci --omit=dev` installs: every package of the lockfile but those only dev needs.
    const lock = JSON.parse(readFileSync(join(CONTEXT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const topLevel = Object.entries(lock.packages).filter(([path]) =>
      /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path),
    );
    for (const [path, entry] of topLevel) {
      if (entry.dev) expect(existsSync(join(app, path)), `${path} is for development`).toBe(false);
      else if (!entry.optional) expect(existsSync(join(app, path)), path).toBe(true);
    }
    for (const name of ['typescript', 'vitest', '@biomejs/biome', 'aws-cdk-lib'])
      expect(existsSync(join(app, 'node_modules', name)), name).toBe(false);
    expect(existsSync(join(app, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(
      readdirSync(join(app, 'shared', 'db', 'migrations')).filter((f) => f.endsWith('.sql')).length,
    ).toBeGreaterThan(5);
    // No sources, tests or tooling of the checkout.
    for (const absent of ['test', 'agent', 'gateway', 'tsconfig.json', 'Dockerfile', 'charts'])
      expect(existsSync(join(app, absent)), absent).toBe(false);
    // An unprivileged user, by number (a pod's runAsNonRoot can check it).
    const user = lastOf(final, 'USER') ?? '';
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });

  it('gateway, manager and agent answer --help', async () => {
    for (const command of ['gateway', 'manager', 'agent']) {
      const help = run([command, '--help']);
      expect(await help.exited, help.stderr()).toBe(0);
      expect(help.stdout()).toMatch(new RegExp(`^Usage: commander ${command}`));
    }
  });

  it('migrates a database, then a gateway answers /healthz and /readyz and stops cleanly', async () => {
    db = await freshDatabase({ migrated: false });
    const env = {
      DATABASE_URL: db.url,
      ...keysEnv(testKeys()),
      COMMANDER_DATA_DIR: join(root, 'tmp', 'commander'),
    };
    const migrate = run(['migrate'], env);
    expect(await migrate.exited, migrate.stdout() + migrate.stderr()).toBe(0);
    expect(migrate.stdout()).toMatch(/database is up to date/);
    const port = await freePort();
    const gateway = run(['gateway'], { ...env, COMMANDER_LISTEN: `127.0.0.1:${port}` });
    const url = `http://127.0.0.1:${port}`;
    await Promise.race([
      waitForStatus(`${url}/readyz`, 200, 45_000),
      gateway.exited.then((code) => {
        throw new Error(`gateway exited with ${code}:\n${gateway.stdout()}\n${gateway.stderr()}`);
      }),
    ]);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await gateway.stop('SIGTERM')).toBe(0);
  });
});
