// The command line surface: help, --version, usage errors, configuration errors and `keys generate`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseEnvFile } from '../../shared/config.js';
import { unsignedEnrollmentToken } from './agent-stack.js';
import { lines, Processes, tempDir } from './helpers.js';

const COMMANDS = [
  'up',
  'gateway',
  'manager',
  'agent',
  'tunnel',
  'migrate',
  'token create',
  'keys generate',
  'version',
];
const KEY_NAMES = [
  'COMMANDER_ENCRYPTION_PRIMARY_KEY',
  'COMMANDER_ENCRYPTION_DETERMINISTIC_KEY',
  'COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT',
];

describe('commander CLI', () => {
  const processes = new Processes();
  let dir: ReturnType<typeof tempDir>;
  // Nothing here should reach a database; if something does, it fails fast instead of hanging.
  const run = (args: string[], env: Record<string, string> = {}) =>
    processes.run(
      args,
      { COMMANDER_DATA_DIR: dir.path, DATABASE_URL: 'postgres://127.0.0.1:1/unreachable', ...env },
      20_000,
    );

  beforeAll(() => {
    dir = tempDir('commander-cli-');
  });

  afterAll(async () => {
    await processes.stopAll();
    dir?.remove();
  });

  /** Exit 2, nothing on stdout, exactly one `commander: …` line on stderr that matches. */
  const expectUsageError = (result: Awaited<ReturnType<typeof run>>, pattern: RegExp) => {
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n')).toBe(true);
    const errorLines = result.stderr.split('\n').slice(0, -1);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^commander: \S/);
    expect(errorLines[0]).toMatch(pattern);
  };

  it.each(COMMANDS)('`commander %s --help` prints its usage and exits 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const result = await run([...command.split(' '), flag]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^Usage: commander ${command}\\b`));
    }
  });

  it('without arguments (and with --help) lists every command, and each listed one answers --help', async () => {
    let listed: string[] = [];
    for (const args of [[], ['--help']]) {
      const result = await run(args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Usage: commander <command>');
      listed = lines(result.stdout.slice(result.stdout.indexOf('Commands:')))
        .slice(1)
        .filter((line) => line.startsWith('  '))
        .map((line) => line.trim().split(/\s{2,}/)[0] as string);
      expect(listed).toEqual(expect.arrayContaining(COMMANDS));
    }
    // Commands added later (the contract also names `agent` and `tunnel`) are covered too.
    for (const command of listed.filter((c) => !COMMANDS.includes(c))) {
      const result = await run([...command.split(' '), '--help']);
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain('Usage');
    }
  });

  it('rejects an unknown command with exit 2 and one line', async () => {
    expectUsageError(await run(['frobnicate']), /unknown command "frobnicate"/);
    expectUsageError(await run(['token', 'revoke']), /unknown command "token revoke"/);
  });

  it('rejects an unknown flag or a stray argument with exit 2 and one line', async () => {
    expectUsageError(await run(['gateway', '--bogus']), /--bogus/);
    expectUsageError(await run(['keys', 'generate', '--length', '12']), /--length/);
    expectUsageError(await run(['migrate', 'now']), /now/);
  });

  it.each([
    ['COMMANDER_LISTEN', 'nonsense'],
    ['DATABASE_URL', 'mysql://x'],
    ['LOG_LEVEL', 'loud'],
    ['COMMANDER_PUBLIC_URL', 'ftp://example.com'],
    ['COMMANDER_SHUTDOWN_TIMEOUT', 'soon'],
  ])('refuses %s=%s with exit 2 and one line naming the variable', async (variable, value) => {
    for (const command of [['gateway'], ['migrate']]) {
      const result = await run(command, { [variable]: value });
      expectUsageError(result, new RegExp(`^commander: ${variable}\\b`));
    }
  });

  it('refuses incomplete or too short encryption keys, naming the variable', async () => {
    const long = 'k'.repeat(40);
    expectUsageError(
      await run(['gateway'], {
        COMMANDER_ENCRYPTION_PRIMARY_KEY: long,
        COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT: long,
      }),
      /^commander: COMMANDER_ENCRYPTION_DETERMINISTIC_KEY\b/,
    );
    expectUsageError(
      await run(['gateway'], {
        COMMANDER_ENCRYPTION_PRIMARY_KEY: `${long},short`,
        COMMANDER_ENCRYPTION_DETERMINISTIC_KEY: long,
        COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT: long,
      }),
      /^commander: COMMANDER_ENCRYPTION_PRIMARY_KEY\b.*32/,
    );
  });

  it('`--version` and `version` print the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const args of [['--version'], ['version']]) {
      const result = await run(args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${pkg.version}\n`);
    }
    expectUsageError(await run(['--version', 'now']), /--version takes no arguments/);
    expectUsageError(await run(['version', '--short']), /--short/);
  });

  it('`token create` validates its flags before touching the database, naming a bad value', async () => {
    // A value that is not a role is named as such, not reported as missing.
    expectUsageError(
      await run(['token', 'create', '--workspace', 'default', '--role', 'root']),
      /^commander: --role must be viewer, operator or admin, got "root"$/,
    );
    expectUsageError(
      await run(['token', 'create', '--workspace', 'default']),
      /^commander: --role is required: viewer, operator or admin$/,
    );
    expectUsageError(
      await run(['token', 'create', '--role', 'viewer']),
      /^commander: --workspace is required/,
    );
    expectUsageError(
      await run(['token', 'create', '--workspace', 'Not A Slug', '--role', 'viewer']),
      /^commander: --workspace must be .*, got "Not A Slug"$/,
    );
    expectUsageError(
      await run(['token', 'create', '--global', '--role', 'admin']),
      /^commander: --role must be global_viewer or global_admin, got "admin"$/,
    );
    expectUsageError(
      await run(['token', 'create', '--global', '--workspace', 'default', '--role', 'global_admin']),
      /^commander: --global and --workspace exclude each other/,
    );
  });

  it('`agent` and `tunnel` refuse each bad flag with exit 2 and one line naming it', async () => {
    const cluster = '00000000-0000-4000-8000-0000000000c1';
    const url = `http://127.0.0.1:1/agent_api/${cluster}`;
    const state = join(dir.path, 'agent-state');
    const tokenFile = join(dir.path, 'agent-token');
    writeFileSync(tokenFile, unsignedEnrollmentToken(cluster));
    const missing = join(dir.path, 'missing');
    const agent = (...flags: string[]) => [
      'agent',
      '--url',
      url,
      '--state-dir',
      state,
      '--token-file',
      tokenFile,
      ...flags,
    ];
    const PIN = Buffer.alloc(32, 7).toString('base64');
    const cases: Array<[string[], RegExp]> = [
      [['agent'], /^commander: --url: is required/],
      [
        ['agent', '--url', 'http://127.0.0.1:1/agent_api/prod', '--state-dir', state],
        /^commander: --url: must end/,
      ],
      [['agent', '--url', url], /^commander: --state-dir: is required/],
      [agent('--sync-interval', 'soon'), /^commander: --sync-interval: .*"soon"/],
      [agent('--heartbeat-interval', '0'), /^commander: --heartbeat-interval: /],
      [agent('--allow', 'db'), /^commander: --allow: invalid allow entry "db"/],
      [agent('--allow'), /--allow/],
      [agent('--ca-file', missing), /^commander: --ca-file: cannot read/],
      [agent('--ca-file', tokenFile), /^commander: --ca-file: .*no PEM certificate/],
      // A pin is the base64 of 32 bytes (a SHA-256), in canonical form, nothing else.
      [
        agent('--pin-sha256', 'not-a-pin'),
        /^commander: --pin-sha256: must be the base64 SHA-256 .*"not-a-pin"/,
      ],
      [agent('--pin-sha256', Buffer.alloc(20).toString('base64')), /^commander: --pin-sha256: .*32 bytes/],
      [agent('--pin-sha256', `${PIN.slice(0, -1)}`), /^commander: --pin-sha256: /],
      [agent('--pin-sha256', PIN, '--pin-sha256', 'x'), /^commander: --pin-sha256: .*"x"/],
      [
        agent('--pin-sha256', PIN, '--insecure-skip-tls-verify'),
        /^commander: --pin-sha256: .*verified chain/,
      ],
      [agent('--pin-sha256', PIN), /^commander: --pin-sha256: needs a wss:\/\//],
      [agent('--pin-sha256'), /--pin-sha256/],
      [agent('--kubeconfig', missing), /^commander: --kubeconfig: cannot load it/],
      [agent('--platform-version-source', 'deckhouse'), /^commander: --platform-version-source: /],
      [agent('--component-namespaces', 'Kube_System'), /^commander: --component-namespaces: /],
      [['tunnel'], /^commander: --api: is required/],
    ];
    const tunnel = (flags: Record<string, string>) =>
      Object.entries({
        api: 'http://127.0.0.1:1',
        'token-file': tokenFile,
        cluster,
        target: '10.0.0.1:22',
        listen: '127.0.0.1:0',
        ...flags,
      }).flatMap(([name, value]) => [`--${name}`, value]);
    cases.push(
      [['tunnel', ...tunnel({ api: 'localhost:8080' })], /^commander: --api: /],
      [['tunnel', ...tunnel({ cluster: 'prod-1' })], /^commander: --cluster: .*uuid/],
      [['tunnel', ...tunnel({ target: '10.0.0.1' })], /^commander: --target: must be host:port/],
      [['tunnel', ...tunnel({ listen: '127.0.0.1:99999' })], /^commander: --listen: /],
      [['tunnel', ...tunnel({ 'token-file': missing })], /^commander: --token-file: cannot read/],
      [['tunnel', ...tunnel({ 'ca-file': missing })], /^commander: --ca-file: cannot read/],
      [['tunnel', ...tunnel({ 'pin-sha256': 'sha256//abc' })], /^commander: --pin-sha256: must be /],
      [['tunnel', ...tunnel({ 'pin-sha256': PIN })], /^commander: --pin-sha256: needs an https:\/\//],
    );
    for (const [args, pattern] of cases) expectUsageError(await run(args), pattern);
  });

  it('`agent --help` and `tunnel --help` document the pins, their variable and how to compute one', async () => {
    for (const command of ['agent', 'tunnel']) {
      const { stdout } = await run([command, '--help']);
      expect(stdout).toContain('--pin-sha256 <base64>');
      expect(stdout).toContain('COMMANDER_PIN_SHA256');
      expect(stdout).toContain('COMMANDER_CA_FILE');
    }
    expect((await run(['agent', '--help'])).stdout).toContain('openssl dgst -sha256 -binary');
  });

  it('`keys generate` prints three fresh NAME=value lines, different each run', async () => {
    const outputs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await run(['keys', 'generate']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      const printed = result.stdout.split('\n');
      expect(printed.pop()).toBe(''); // ends with a newline
      expect(printed).toHaveLength(3);
      const pairs = printed.map((line) => /^([A-Z_]+)=(\S+)$/.exec(line));
      expect(
        pairs.every((pair) => pair !== null),
        result.stdout,
      ).toBe(true);
      expect(pairs.map((pair) => pair?.[1])).toEqual(KEY_NAMES);
      const values = pairs.map((pair) => pair?.[2] as string);
      for (const value of values) expect(value.length).toBeGreaterThanOrEqual(32);
      expect(new Set(values).size).toBe(3);
      // What it prints is exactly what the configuration accepts.
      const config = loadConfig({ ...parseEnvFile(result.stdout), COMMANDER_DATA_DIR: dir.path });
      expect(config.encryption).toEqual({
        primaryKeys: [values[0]],
        deterministicKeys: [values[1]],
        salt: values[2],
      });
      outputs.push(...values);
    }
    expect(new Set(outputs).size).toBe(6);
  });
});
