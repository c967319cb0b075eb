// `commander template render` as a real process (the built dist/cli/main.js): the exact bytes on
// stdout, compared with Go's engine; errors as one line naming the line and column.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoTemplateReference, goTemplateMissing } from '../../bench/go-template.js';
import { CLI } from '../support/process.js';

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function render(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'template', 'render', ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

const missing = goTemplateMissing();
if (missing && process.env.CI) throw new Error(`the Go reference is required in CI: ${missing}`);

let dir: string;
let n = 0;
function file(content: string | Buffer, ext = 'tpl'): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  dir = mkdtempSync(join(tmpdir(), 'template-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clusterTemplate = `apiVersion: deckhouse.io/v1
kind: ClusterConfiguration
clusterType: {{ .type }}
kubernetesVersion: "{{ .k8s }}"
podSubnetCIDR: {{ .pods | printf "%q" }}
{{- range $i, $h := .hosts }}
host{{ $i }}: {{ $h.name }} {{ $h.ip }}
{{- end }}
replicas: {{ .replicas }}
ratio: {{ .ratio }}
{{ with .missing }}{{ . }}{{ else }}none{{ end }}
`;
const clusterValues = {
  type: 'Static',
  k8s: '1.29',
  pods: '10.111.0.0/16',
  hosts: [
    { name: 'm-0', ip: '10.0.0.1' },
    { name: 'w-0', ip: '10.0.0.2' },
  ],
  replicas: 3,
  ratio: 1e6,
};

describe.skipIf(missing !== undefined)(
  `template render compared with Go${missing ? ` (${missing})` : ''}`,
  () => {
    let ref: GoTemplateReference;
    beforeAll(async () => {
      ref = await GoTemplateReference.start();
    });
    afterAll(() => ref?.close());

    it('prints exactly what Go prints for a cluster template', async () => {
      const go = await ref.render(clusterTemplate, clusterValues);
      expect(go.error).toBeUndefined();
      const run = await render([
        file(clusterTemplate),
        '--values',
        file(JSON.stringify(clusterValues), 'json'),
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.equals(go.output as Buffer)).toBe(true);
    });

    it('renders with {} when --values is absent', async () => {
      const template = '[{{ . }}] {{ .x }} {{ len . }}';
      const go = await ref.render(template, {});
      const run = await render([file(template)]);
      expect(run.code).toBe(0);
      expect(run.stdout.toString('latin1')).toBe(go.output?.toString('latin1'));
    });

    it('writes bytes that are not UTF-8 as Go does', async () => {
      const template = '{{ "\\xff\\xfe" }}|{{ printf "%q" "\\xe2\\x82" }}|{{ "\\xe2\\x82\\xac" }}';
      const go = await ref.render(template, {});
      const run = await render([file(template)]);
      expect(run.code).toBe(0);
      expect(run.stdout.equals(go.output as Buffer)).toBe(true);
    });

    it('reads the values as Go decodes JSON (big numbers, unicode escapes)', async () => {
      const json = '{"big": 12345678901234567890, "e": 1E400, "u": "\\u00e9\\ud83d\\ude00"}';
      const template = '{{ .big }} {{ .u }}';
      const run = await render([file(template), '--values', file(json, 'json')]);
      // Go rejects 1E400 (beyond float64); so does the CLI.
      expect(run.code).not.toBe(0);
      const ok = await render([file(template), '--values', file(json.replace('1E400', '1E300'), 'json')]);
      const go = await ref.render(template, JSON.parse(json.replace('1E400', '1E300')));
      expect(ok.code).toBe(0);
      expect(ok.stdout.equals(go.output as Buffer)).toBe(true);
    });

    it('fails where Go fails, with one line naming the line and column', async () => {
      const template = 'line one\nline two {{ .a.b }}\n';
      const go = await ref.render(template, { a: 'x' });
      expect(go.error).toMatch(/template:2:14:/);
      const path = file(template);
      const run = await render([path, '--values', file('{"a": "x"}', 'json')]);
      expect(run.code).toBe(1);
      expect(run.stdout.length).toBe(0);
      const lines = run.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      // Go's column is 0-based in bytes; ours is 1-based.
      expect(lines[0]).toMatch(new RegExp(`^commander: ${path}:2:15: executing "template" at <\\.a\\.b>: `));
    });
  },
);

describe('template render', () => {
  it('reports a parse error on one line with its line and column', async () => {
    const path = file('ok\n\n  {{ if }}\n');
    const run = await render([path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`commander: ${path}:3:9: missing value for if\n`);
  });

  it('keeps a multi-line message on one line', async () => {
    const path = file('{{ range .s }}{{ end }}');
    const run = await render([path, '--values', file('{"s": "a\\nb"}', 'json')]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(run.stderr).toContain("range can't iterate over a\\nb");
  });

  it('prints its usage with --help', async () => {
    const run = await render(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(
      /^Usage: commander template render <file> \[--values <json-file>\]/,
    );
  });

  it('refuses a bad flag, a missing file argument and extra arguments with one line', async () => {
    for (const args of [
      [file('x'), '--valuez', 'v.json'],
      [],
      [file('x'), file('y')],
      [file('x'), '--values'],
    ]) {
      const run = await render(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n').filter(Boolean), args.join(' ')).toHaveLength(1);
      expect(run.stdout.length).toBe(0);
    }
  });

  it('refuses values that are not a JSON object, and unreadable files', async () => {
    for (const json of ['[1, 2]', 'null', '"s"', '{"a": ', '']) {
      const run = await render([file('x'), '--values', file(json, 'json')]);
      expect(run.code, json).toBe(1);
      expect(run.stderr, json).toMatch(
        /^commander: values file .* (must hold a JSON object|is not valid JSON)/,
      );
    }
    const run = await render([join(dir, 'absent.tpl')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^commander: cannot read template .*absent\.tpl/);
  });

  it('refuses a template over 1 MiB and values over 4 MiB', async () => {
    const big = await render([file('x'.repeat(1024 * 1024 + 1))]);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/larger than 1048576 bytes/);
    const values = await render([
      file('x'),
      '--values',
      file(`{"a": "${'x'.repeat(4 * 1024 * 1024)}"}`, 'json'),
    ]);
    expect(values.code).toBe(1);
    expect(values.stderr).toMatch(/larger than 4194304 bytes/);
  });

  it('copies text bytes that are not UTF-8 unchanged', async () => {
    const bytes = Buffer.from([0x61, 0xff, 0x0a, 0xc3, 0x28, 0x7b, 0x7b, 0x31, 0x7d, 0x7d, 0xe2, 0x82]);
    const run = await render([file(bytes)]);
    expect(run.code).toBe(0);
    expect([...run.stdout]).toEqual([0x61, 0xff, 0x0a, 0xc3, 0x28, 0x31, 0xe2, 0x82]);
  });
});
