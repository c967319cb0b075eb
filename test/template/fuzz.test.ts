// Random templates from a small grammar of Go template pieces, rendered by Go's engine and by
// ours: the same bytes, or both fail. This is what finds the edge cases nobody writes by hand.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoTemplateReference, goTemplateMissing } from '../../bench/go-template.js';
import { Template, TemplateError } from '../../shared/template/index.js';

const missing = goTemplateMissing();
if (missing && process.env.CI) throw new Error(`the Go reference is required in CI: ${missing}`);

const VALUES = [
  {
    a: 1,
    b: { c: 'x', d: [1, 2.5, null] },
    l: ['p', 'q', null],
    m: { k: 1.5, z: null, e: '' },
    s: 'héllo',
    n: null,
    t: true,
    f: 0.1,
    big: 1e21,
    i: 1e6,
  },
  { a: 0, b: {}, l: [], m: { k: 'str' }, s: '', t: false, f: -0.5, big: 123456789, i: 7 },
  {
    a: 'text',
    b: { c: [{ x: 1 }, { x: 2 }], d: { e: { f: 'deep' } } },
    l: [[1], { y: 2 }],
    s: '<&"\'>',
    t: 'yes',
  },
];

const field = fc.constantFrom(
  '.',
  '.a',
  '.b',
  '.b.c',
  '.b.d',
  '.l',
  '.m',
  '.m.k',
  '.m.z',
  '.s',
  '.n',
  '.t',
  '.f',
  '.big',
  '.i',
  '.missing',
  '.missing.x',
  '.n.x',
  '.s.x',
  '$',
  '$.a',
);
const constant = fc.constantFrom(
  '0',
  '1',
  '-3',
  '2.5',
  '1e6',
  '0x1F',
  "'a'",
  '1.0',
  '"s"',
  '""',
  '"é"',
  '"a b"',
  'true',
  'false',
  'nil',
  '3i',
  '"%v"',
  '"\\xff"',
);
const fmt = fc.constantFrom(
  '"%v"',
  '"%d"',
  '"%s"',
  '"%q"',
  '"%5.2f"',
  '"%x"',
  '"%T"',
  '"%v %v"',
  '"[%-4v]"',
  '"%+v"',
  '"%#v"',
  '"%e"',
  '"%g"',
  '"%t"',
  '"%c"',
  '"%%"',
  '"%"',
  '"%[2]v"',
  '"%*d"',
);

const expr: fc.Memo<string> = fc.memo((depth) => {
  const leaf = fc.oneof(field, constant);
  if (depth <= 1) return leaf;
  const sub = expr(depth - 1);
  const paren = sub.map((e) => `(${e})`);
  const arg = fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: paren });
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('len', 'not', 'html', 'js', 'urlquery', 'print', 'println'), arg)
        .map(([f, a]) => `${f} ${a}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('index', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'print'), arg, arg)
        .map(([f, a, b]) => `${f} ${a} ${b}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fmt, fc.array(arg, { maxLength: 3 }))
        .map(([f, args]) => ['printf', f, ...args].join(' ')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          arg,
          fc.constantFrom('print', 'printf "%v"', 'len', 'html', 'not', 'and 1', 'or 0', 'eq 1', 'index .l'),
        )
        .map(([a, f]) => `${a} | ${f}`),
    },
    { weight: 1, arbitrary: paren.map((p) => `${p}.x`) },
  );
});

const open = fc.constantFrom('{{', '{{ ', '{{- ');
const close = fc.constantFrom('}}', ' }}', ' -}}');
const text = fc.constantFrom('', 'a', ' ', '\n', 'x y\n', ' é ', '\t', '  \n  ');

const body: fc.Memo<string> = fc.memo((depth) => {
  const action = fc.tuple(open, expr(3), close).map(([o, e, c]) => `${o}${e}${c}`);
  const declare = fc.tuple(fc.constantFrom('$x', '$y'), expr(2)).map(([v, e]) => `{{ ${v} := ${e} }}`);
  const useVar = fc.constantFrom('{{ $x }}', '{{ $y }}', '{{ $x = 1 }}', '{{ $x.a }}');
  const simple = fc.oneof(
    { weight: 3, arbitrary: text },
    { weight: 5, arbitrary: action },
    { weight: 1, arbitrary: declare },
    { weight: 1, arbitrary: useVar },
  );
  if (depth <= 1) return fc.array(simple, { maxLength: 4 }).map((parts) => parts.join(''));
  const inner = body(depth - 1);
  const control = fc.oneof(
    fc
      .tuple(expr(2), inner, fc.option(inner))
      .map(([e, a, b]) => `{{ if ${e} }}${a}${b === null ? '' : `{{ else }}${b}`}{{ end }}`),
    fc
      .tuple(expr(2), expr(2), inner, inner)
      .map(([e1, e2, a, b]) => `{{ if ${e1} }}${a}{{ else if ${e2} }}${b}{{ end }}`),
    fc
      .tuple(expr(2), inner, fc.option(inner))
      .map(([e, a, b]) => `{{ with ${e} }}${a}${b === null ? '' : `{{ else }}${b}`}{{ end }}`),
    fc
      .tuple(fc.constantFrom('', '$v := ', '$i, $v := ', '$x = '), expr(2), inner, fc.option(inner))
      .map(([decl, e, a, b]) => `{{ range ${decl}${e} }}${a}${b === null ? '' : `{{ else }}${b}`}{{ end }}`),
    fc
      .tuple(expr(2), inner)
      .map(([e, a]) => `{{ range .l }}${a}{{ if ${e} }}{{ break }}{{ end }}{{ continue }}{{ end }}`),
    fc.tuple(inner, expr(2)).map(([a, e]) => `{{ define "t" }}${a}{{ end }}{{ template "t" ${e} }}`),
    fc.tuple(expr(2), inner).map(([e, a]) => `{{ block "b" ${e} }}${a}{{ end }}`),
  );
  return fc
    .array(fc.oneof({ weight: 2, arbitrary: simple }, { weight: 1, arbitrary: control }), { maxLength: 4 })
    .map((p) => p.join(''));
});

function ours(template: string, values: unknown): { output?: Buffer; error?: string } {
  try {
    return { output: Buffer.from(Template.parse(template).executeBytes(values)) };
  } catch (e) {
    if (e instanceof TemplateError) return { error: e.message };
    throw e;
  }
}

describe.skipIf(missing !== undefined)(`random templates against Go${missing ? ` (${missing})` : ''}`, () => {
  let ref: GoTemplateReference;
  beforeAll(async () => {
    ref = await GoTemplateReference.start();
  });
  afterAll(() => ref?.close());

  it('render the same bytes or fail in both engines', async () => {
    let rendered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(body(3), fc.constantFrom(...VALUES), async (template, values) => {
        const go = await ref.render(template, values);
        const mine = ours(template, JSON.parse(JSON.stringify(values)));
        runs++;
        if (go.error === undefined) rendered++;
        if (go.error !== undefined) {
          expect(
            mine.error,
            `Go fails with ${go.error}; ours printed ${mine.output?.toString()}`,
          ).toBeDefined();
        } else {
          expect(mine.error, `Go printed ${JSON.stringify(go.output?.toString())}`).toBeUndefined();
          expect(mine.output?.toString('latin1')).toBe(go.output?.toString('latin1'));
        }
      }),
      { numRuns: Number(process.env.TEMPLATE_FUZZ_RUNS ?? 300) },
    );
    // Not a vacuous property: most random templates render rather than fail.
    expect(rendered / runs).toBeGreaterThan(0.25);
  });
});
