// The README's quick start and its agent-and-tunnel example, typed line by line into a real bash
// as a newcomer would: inside a network namespace of its own, so `localhost:8080` and the target
// `127.0.0.1:22` (a real sshd) are the README's own addresses. `npm start` and `npx commander`
// run the built CLI (the test's working directory is not a checkout); nothing else is changed.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../shared/node-flags.js';
import { createNetns, haveNetns, type NetNs } from '../support/netns.js';
import { CLI } from '../support/process.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const runnable = haveSshd() && haveNetns();

/** The lines of the first fenced block after the heading, and of the ones after it in that section. */
function blocks(heading: string): string[][] {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) =>
    (match[1] as string).split('\n').filter((line) => line.trim() !== ''),
  );
}

/** A bash the test types into; each line's output and exit code come back when it is done. */
class Terminal {
  private readonly child: ChildProcess;
  private output = '';
  private waiters = new Set<() => void>();
  private count = 0;

  constructor(prefix: string[], cwd: string, preamble: string) {
    const [command = 'bash', ...argv] = [...prefix, 'bash', '--noprofile', '--norc'];
    const env = { ...process.env, LOG_LEVEL: 'info' } as Record<string, string | undefined>;
    delete env.DATABASE_URL;
    // Its own process group, so that closing it ends what it started in the background too.
    this.child = spawn(command, argv, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const waiter of this.waiters) waiter();
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.child.stdin?.write(`${preamble}\n`);
  }

  all(): string {
    return this.output;
  }

  /** Waits until everything printed so far matches. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.output)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; the terminal shows:\n${this.output}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Types a line that keeps running (a server in the foreground). */
  start(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Types one line; resolves with what it printed and its exit code. */
  async type(line: string): Promise<{ output: string; code: number }> {
    this.count += 1;
    const marker = `__typed_${this.count}__`;
    const from = this.output.length;
    this.child.stdin?.write(`${line}\necho "${marker} $?"\n`);
    const pattern = new RegExp(`${marker} (\\d+)\\n`);
    await this.waitFor(pattern);
    const match = pattern.exec(this.output) as RegExpExecArray;
    return { output: this.output.slice(from, match.index), code: Number(match[1]) };
  }

  /** Ends the shell and everything it started (SIGTERM, as Ctrl-C and closing a terminal do). */
  async close(): Promise<void> {
    const group = -(this.child.pid as number);
    const alive = () => {
      try {
        process.kill(group, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (alive()) process.kill(group, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (alive()) process.kill(group, 'SIGKILL');
  }
}

describe.skipIf(!runnable && !process.env.CI)('the README, run as written', () => {
  let ns: NetNs;
  let sshd: TestSshd;
  let dir: string;
  let server: Terminal;
  let user: Terminal;

  beforeAll(async () => {
    if (!runnable)
      throw new Error('sshd (openssh-server) and root with iproute2 (ip netns) are required in CI');
    ns = createNetns();
    sshd = await startSshd({ port: 22, listen: '127.0.0.1', prefix: ns.exec });
    dir = mkdtempSync(join(tmpdir(), 'commander-readme-'));
    chmodSync(dir, 0o755);
    // What `npm ci` left behind in a checkout: `npm start` and `npx commander` run the built CLI.
    const preamble = [
      `npm() { case "$1" in ci) ;; start) node ${NODE_FLAGS.join(' ')} ${CLI} up ;; *) command npm "$@" ;; esac; }`,
      `npx() { if [ "$1" = commander ]; then shift; node ${NODE_FLAGS.join(' ')} ${CLI} "$@"; else command npx "$@"; fi; }`,
    ].join('\n');
    server = new Terminal(ns.exec, dir, preamble);
    user = new Terminal(ns.exec, dir, preamble);
  });

  afterAll(async () => {
    await user?.close();
    await server?.close();
    await sshd?.stop();
    ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('quick start: the server comes up, and the second shell creates, lists and audits', async () => {
    const [start, second, tokenCreate] = blocks('Quick start') as [string[], string[], string[]];
    expect(start).toEqual(['npm ci && npm start']);
    server.start(start[0] as string);
    await server.waitFor(/gateway listening/);

    const printed: string[] = [];
    for (const line of second) {
      const { output, code } = await user.type(line);
      expect(code, `${line}\n${output}`).toBe(0);
      printed.push(output);
    }
    const [, , created, list, audit] = printed as [string, string, string, string, string];
    expect(JSON.parse(created)).toMatchObject({ name: 'prod-1', values: { platform_version: '1.0' } });
    expect((JSON.parse(list) as { name: string }[]).map((c) => c.name)).toContain('prod-1');
    const actions = (JSON.parse(audit) as { auditable_type: string; action: string }[]).map(
      (r) => `${r.auditable_type} ${r.action}`,
    );
    expect(actions).toEqual(expect.arrayContaining(['Cluster create', 'AuthToken create']));

    expect(tokenCreate).toHaveLength(1);
    const token = await user.type(tokenCreate[0] as string);
    expect(token.code, token.output).toBe(0);
    // The terminal shows stderr too (the log and the audit line); the token is the last line.
    const printedToken = token.output.trim().split('\n').pop() as string;
    expect(printedToken).toMatch(/^cmdr_\S{20,}$/);
    // The server's log names the token files, never a token.
    expect(server.all()).toContain('admin-token');
    expect(server.all()).not.toContain(printedToken);
    expect(server.all()).not.toContain(readFileSync(join(dir, '.commander', 'admin-token'), 'utf8').trim());
  });

  it('an agent and a tunnel: ssh reaches the sshd inside the "cluster", and no secret lands in the work tree', async () => {
    const [lines] = blocks('An agent and a tunnel') as [string[]];
    const ssh = lines.pop() as string;
    expect(ssh).toBe('ssh -p 2222 you@127.0.0.1');
    for (const line of lines) {
      const { output, code } = await user.type(line);
      expect(code, `${line}\n${output}`).toBe(0);
      // A person waits for what they started in the background before going on.
      if (line.startsWith('npx commander agent')) {
        const connected = await user.type(
          'for i in $(seq 300); do curl -s localhost:8080/api/v1/clusters/$C -H "X-Auth-Token: $TOKEN" | grep -q \'"agent_status":"connected"\' && break; sleep 0.2; done; [ "$i" -lt 300 ]',
        );
        expect(connected.code, `the agent did not connect; the terminal shows:\n${user.all()}`).toBe(0);
      }
    }
    await user.waitFor(/listening on 127\.0\.0\.1:2222/);
    // The README's `you` is the sshd's user, with its key; -n keeps ssh off the stdin this test types into.
    const login = ssh.replace(
      'ssh ',
      `ssh -n -i ${sshd.privateKeyFile} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null `,
    );
    const result = await user.type(
      `${login.replace('you@', `${sshd.user}@`)} echo tunnelled-through-the-agent`,
    );
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('tunnelled-through-the-agent');
    // Only the data dir holds secrets; the examples put nothing else into the work tree.
    expect(readdirSync(dir)).toEqual(['.commander']);
  }, 120_000);
});

describe("the README's links", () => {
  it('names every document in docs/, and every file it links to exists', () => {
    const root = new URL('../../', import.meta.url);
    const linked = [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z]+:/.test(target));
    for (const target of linked) expect(existsSync(new URL(target, root)), target).toBe(true);
    const docs = readdirSync(new URL('docs/', root)).filter((file) => file.endsWith('.md'));
    expect(docs.length).toBeGreaterThanOrEqual(8);
    for (const doc of docs) expect(linked, doc).toContain(`docs/${doc}`);
  });
});
