// What a Dockerfile's stages would put in an image, assembled without a container engine (none
// runs here): its instructions are read from the file itself, COPY copies from the build context
// or from another stage's directory, RUN runs with `sh -c` in the stage's directory, unless the
// caller stands in for it (an `npm ci` whose result the checkout already holds, say).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { digestOf } from './helm.js';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

/** The stages of a Dockerfile (continuation lines joined, comments dropped, build ARGs put in). */
export function parseDockerfile(text: string): Stage[] {
  const lines: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim().startsWith('#') || !line.trim())) return;
    if (!pending) start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(whole);
    if (match)
      lines.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] as string, line: start });
  });
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of lines) {
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = instruction.args.split('=');
      args[name as string] = value;
      continue;
    }
    if (instruction.keyword === 'FROM') {
      const expanded = instruction.args.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      const [base, as, name] = expanded.split(/\s+/);
      stages.push({
        name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length),
        base: base as string,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
    stage.instructions.push(instruction);
  }
  return stages;
}

/** A COPY's flags, sources and destination (shell or JSON form). */
export function parseCopy(args: string): Copy {
  let rest = args.trim();
  let from: string | undefined;
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!flag) break;
    if (flag[1] === 'from') from = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1) as string };
}

/** The JSON (exec) form of ENTRYPOINT or CMD. */
export function execForm(args: string): string[] {
  const value = JSON.parse(args) as unknown;
  if (!Array.isArray(value) || !value.every((word) => typeof word === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return value;
}

/** The stage's last value of a keyword (WORKDIR, USER, ENTRYPOINT…), before instruction `upTo`. */
export function lastOf(stage: Stage, keyword: string, upTo = stage.instructions.length): string | undefined {
  return stage.instructions
    .slice(0, upTo)
    .filter((i) => i.keyword === keyword)
    .at(-1)?.args;
}

function workdir(stage: Stage, upTo: number): string {
  return lastOf(stage, 'WORKDIR', upTo) ?? '/';
}

/** A path inside the stage's filesystem, absolute, from one that may be relative to WORKDIR. */
function inStage(stage: Stage, upTo: number, path: string): string {
  return posix.resolve(workdir(stage, upTo), path);
}

/** Copies like COPY: a directory's contents into the destination, a file to it or into it. */
function copyInto(source: string, target: string, targetIsDir: boolean): void {
  if (statSync(source).isDirectory()) {
    mkdirSync(target, { recursive: true });
    // Hard links where they can be (one filesystem): the same bytes, without the time to copy.
    const linked = spawnSync('cp', ['-al', `${source}/.`, target], { stdio: 'ignore' });
    if (linked.status !== 0) cpSync(source, target, { recursive: true });
    return;
  }
  const file = targetIsDir ? join(target, source.split('/').at(-1) as string) : target;
  mkdirSync(dirname(file), { recursive: true });
  cpSync(source, file);
}

export interface StageRun {
  /** The directory standing for the stage's `/`. */
  root: string;
}

/** Stands in for a RUN: returns true when it did what the command would (in `cwd`). */
export type RunStandIn = (command: string, cwd: string) => boolean;

/**
 * Runs a stage's COPY and RUN instructions into `root`. `fromStage` gives the host path of a
 * path of another stage. RUN commands run with `sh -c` in the stage's WORKDIR.
 */
export function runStage(
  stage: Stage,
  context: string,
  root: string,
  fromStage: (name: string, path: string) => string,
  standIn: RunStandIn = () => false,
): void {
  stage.instructions.forEach((instruction, index) => {
    if (instruction.keyword === 'WORKDIR')
      mkdirSync(join(root, inStage(stage, index + 1, '.')), { recursive: true });
    if (instruction.keyword === 'COPY') {
      const copy = parseCopy(instruction.args);
      const dest = join(root, inStage(stage, index, copy.dest));
      const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
      for (const source of copy.sources) {
        const from = copy.from ? fromStage(copy.from, source) : join(context, source);
        if (!existsSync(from))
          throw new Error(`line ${instruction.line}: COPY source ${source} does not exist (${from})`);
        copyInto(from, dest, intoDir);
      }
    }
    if (instruction.keyword === 'RUN') {
      const cwd = join(root, inStage(stage, index, '.'));
      if (standIn(instruction.args, cwd)) return;
      execFileSync('sh', ['-c', instruction.args], {
        cwd,
        stdio: 'pipe',
        timeout: 10 * 60_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: root,
          // The npm cache of whoever runs this, so a run needs the registry only once.
          npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
        },
      });
    }
  });
}

/** Every file under `path` (itself, when it is a file), sorted. */
function filesOf(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesOf(join(path, name)));
}

/**
 * runStage into a cache directory keyed by the stage's instructions and the content of every
 * file it copies from the context; a later call with the same inputs reuses it.
 */
export function cachedStage(
  stage: Stage,
  context: string,
  fromStage: (name: string, path: string) => string,
  standIn?: RunStandIn,
): string {
  const inputs: Array<string | Buffer> = [
    stage.base,
    ...stage.instructions.map((i) => `${i.keyword} ${i.args}`),
  ];
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY')) {
    const copy = parseCopy(instruction.args);
    if (copy.from) throw new Error(`a cached stage copies from the context only: ${instruction.args}`);
    for (const source of copy.sources) {
      for (const file of filesOf(join(context, source)))
        inputs.push(relative(context, file), readFileSync(file));
    }
  }
  const dir = join(tmpdir(), 'commander-image-stages', `${stage.name}-${digestOf(...inputs)}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const staged = `${dir}.${process.pid}.tmp`;
  rmSync(staged, { recursive: true, force: true });
  mkdirSync(staged, { recursive: true });
  runStage(stage, context, staged, fromStage, standIn);
  execFileSync('touch', [join(staged, '.complete')]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staged, dir);
  // Older caches of this stage (other inputs) go: the deps stage alone is some 180 MB.
  const cache = dirname(dir);
  for (const name of readdirSync(cache)) {
    if (name.startsWith(`${stage.name}-`) && !name.endsWith('.tmp') && join(cache, name) !== dir)
      rmSync(join(cache, name), { recursive: true, force: true });
  }
  return dir;
}
