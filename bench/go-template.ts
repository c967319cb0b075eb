// Drives the reference renderer (bench/go-template/main.go: Go's text/template with sprig) as one
// long-lived process, for the differential tests and the template-render benchmark.
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface GoRender {
  /** The bytes Go printed, when it succeeded. */
  output?: Buffer;
  /** Go's error message, when parsing or executing failed. */
  error?: string;
  /** Wall time of all iterations inside the Go process. */
  nanos: number;
}

const GOPATH = '/usr/share/gocode';
const SPRIG = join(GOPATH, 'src/github.com/Masterminds/sprig');

/** Why the reference cannot be built here, or undefined when it can. */
export function goTemplateMissing(): string | undefined {
  if (!existsSync(SPRIG)) {
    return `Go's sprig is not installed (${SPRIG}); apt-get install golang-go golang-github-masterminds-sprig-dev`;
  }
  return undefined;
}

function sourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From bench/ (vitest runs sources) or dist/bench/ (the compiled benchmark).
  for (const dir of [join(here, 'go-template'), join(here, '../../bench/go-template')]) {
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error(`bench/go-template/main.go not found from ${here}`);
}

async function build(): Promise<string> {
  const missing = goTemplateMissing();
  if (missing) throw new Error(missing);
  const dir = sourceDir();
  const hash = createHash('sha256')
    .update(readFileSync(join(dir, 'main.go')))
    .digest('hex')
    .slice(0, 16);
  const binary = join(tmpdir(), `commander-go-template-${hash}`);
  if (existsSync(binary)) return binary;
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH,
    GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'commander-go-cache'),
    GOFLAGS: '',
  };
  const partial = `${binary}.${process.pid}`;
  await promisify(execFile)('go', ['build', '-o', partial, '.'], { cwd: dir, env });
  const { rename } = await import('node:fs/promises');
  await rename(partial, binary);
  return binary;
}

export class GoTemplateReference {
  private readonly waiting = new Map<number, (answer: GoRender) => void>();
  private next = 0;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const answer = JSON.parse(line) as {
        id: number;
        output: string | null;
        error: string | null;
        nanos: number;
      };
      const resolve = this.waiting.get(answer.id);
      if (!resolve) return;
      this.waiting.delete(answer.id);
      resolve({
        output: answer.error === null ? Buffer.from(answer.output ?? '', 'base64') : undefined,
        error: answer.error ?? undefined,
        nanos: answer.nanos,
      });
    });
    child.on('exit', () => {
      for (const resolve of this.waiting.values()) resolve({ error: 'reference renderer exited', nanos: 0 });
      this.waiting.clear();
    });
  }

  /** Builds (once per machine, cached in the temp directory) and starts the reference. */
  static async start(): Promise<GoTemplateReference> {
    const binary = await build();
    return new GoTemplateReference(spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  /** Renders `template` with `.` = `values` (JSON), `iterations` times (the last output is kept). */
  render(template: string, values: unknown, iterations = 1): Promise<GoRender> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ id, template, values, iterations })}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
