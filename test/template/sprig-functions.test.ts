// Sprig's functions where Go cannot be compared byte for byte: the ones that must not exist, the
// random and clock-based ones (checked for shape), and the bounds that keep a hostile template
// from exhausting the server (Go itself would try to allocate).
import { describe, expect, it } from 'vitest';
import { Template, TemplateError } from '../../shared/template/index.js';
import { OMITTED_FUNCTIONS, sprigFuncs } from '../../shared/template/sprig/index.js';

const render = (text: string, data: unknown = {}): string => Template.parse(text).execute(data);

function renderError(text: string, data: unknown = {}): TemplateError {
  try {
    render(text, data);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error(`rendered without an error: ${text}`);
}

describe('functions that must not exist', () => {
  for (const name of ['env', 'expandenv', 'getHostByName']) {
    it(`${name} is undefined, so a template using it does not parse`, () => {
      expect(sprigFuncs()).not.toHaveProperty(name);
      const error = renderError(`{{ ${name} "HOME" }}`);
      expect(error.message).toContain(`function "${name}" not defined`);
    });
  }

  it('every omitted function is absent rather than present but wrong', () => {
    const funcs = sprigFuncs();
    for (const name of OMITTED_FUNCTIONS) {
      expect(funcs, name).not.toHaveProperty(name);
      expect(renderError(`{{ ${name} }}`).message).toContain(`function "${name}" not defined`);
    }
  });
});

describe('the function table', () => {
  it('is one frozen record shared by every template, with every sprig function but the omitted', () => {
    const funcs = sprigFuncs();
    expect(Object.isFrozen(funcs)).toBe(true);
    expect(sprigFuncs()).toBe(funcs);
    // sprig 3.2.3's TxtFuncMap has 210 names; 14 are left out on purpose.
    expect(Object.keys(funcs)).toHaveLength(210 - OMITTED_FUNCTIONS.length);
  });
});

describe('random and clock-based functions', () => {
  it('uuidv4 makes distinct version 4 UUIDs', () => {
    const ids = render('{{ range until 50 }}{{ uuidv4 }} {{ end }}').trim().split(' ');
    expect(new Set(ids).size).toBe(50);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('the rand* functions draw from their alphabets', () => {
    expect(render('{{ randAlphaNum 200 }}')).toMatch(/^[A-Za-z0-9]{200}$/);
    expect(render('{{ randAlpha 200 }}')).toMatch(/^[A-Za-z]{200}$/);
    expect(render('{{ randNumeric 200 }}')).toMatch(/^[0-9]{200}$/);
    expect(render('{{ randAscii 200 }}')).toMatch(/^[\x20-\x7e]{200}$/);
    expect(render('[{{ randAlpha 0 }}{{ randAlpha -5 }}]')).toBe('[]');
    const samples = new Set(render('{{ range until 20 }}{{ randAlpha 8 }} {{ end }}').trim().split(' '));
    expect(samples.size).toBe(20);
  });

  it('randBytes is base64 of that many random bytes', () => {
    const out = render('{{ randBytes 33 }}');
    expect(out).toMatch(/^[A-Za-z0-9+/]{44}$/);
    expect(render('{{ randBytes 33 }}')).not.toBe(out);
    expect(renderError('{{ randBytes -1 }}').message).toContain('error calling randBytes');
  });

  it('randInt stays in [min, max)', () => {
    const values = render('{{ range until 200 }}{{ randInt -3 4 }} {{ end }}').trim().split(' ').map(Number);
    for (const v of values) expect(v >= -3 && v < 4, String(v)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(3);
  });

  it('shuffle permutes the runes', () => {
    const input = 'abcdefghijklmnopqrstuvwxyzé😀';
    const outputs = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const out = render('{{ shuffle . }}', input);
      expect([...out].sort().join('')).toBe([...input].sort().join(''));
      outputs.add(out);
    }
    expect(outputs.size).toBeGreaterThan(1);
  });

  it('encryptAES uses a fresh IV and decrypts back', () => {
    const a = render('{{ encryptAES "key" "message" }}');
    const b = render('{{ encryptAES "key" "message" }}');
    expect(a).not.toBe(b);
    expect(render('{{ decryptAES "key" . }}', a)).toBe('message');
    expect(
      render(
        '{{ encryptAES "a-key-longer-than-thirty-two-bytes!!" . | decryptAES "a-key-longer-than-thirty-two-bytes!!" }}',
        'x',
      ),
    ).toBe('x');
  });

  it('now is the current time in Go form, and ago counts from it', () => {
    const before = Math.floor(Date.now() / 1000);
    const out = render('{{ now }}|{{ now | unixEpoch }}|{{ typeOf now }}|{{ ago now }}');
    const [printed, epoch, type, ago] = out.split('|');
    expect(printed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
    expect(Number(epoch)).toBeGreaterThanOrEqual(before);
    expect(Number(epoch)).toBeLessThanOrEqual(before + 60);
    expect(type).toBe('time.Time');
    expect(ago).toBe('0s');
    expect(render('{{ ago (int 0) | len }}')).not.toBe('0');
    expect(render('{{ date "2006" .x }}', { x: 1.5 })).toBe(String(new Date().getUTCFullYear()));
  });
});

describe('bounded work on hostile input', () => {
  const cases: [string, string, RegExp][] = [
    ['repeat with a huge count', '{{ repeat 1000000000 "x" }}', /repeat: result larger than/],
    ['repeat of a long string', '{{ repeat 100000 (repeat 1000 "x") }}', /repeat: result larger than/],
    ['until with a huge count', '{{ until 100000000 }}', /more than 1000000 items/],
    ['untilStep over a huge range', '{{ untilStep 0 9000000000000000000 1 }}', /more than 1000000 items/],
    ['seq over a huge range', '{{ seq 1 100000000 }}', /more than 1000000 items/],
    [
      'indent of a long multi-line text',
      '{{ indent 1000000 (repeat 100 "\\n") }}',
      /indent: result larger than/,
    ],
    [
      'wrapWith with a long separator',
      '{{ wrapWith 1 (repeat 10000 "-") (repeat 10000 "x") }}',
      /wrap: result larger than/,
    ],
    [
      'replace that grows the text',
      '{{ replace "" (repeat 1000 "y") (repeat 100000 "x") }}',
      /replace: result larger than/,
    ],
    [
      'regex replace that grows the text',
      '{{ regexReplaceAll "" (repeat 100000 "x") (repeat 1000 "y") }}',
      /result larger than/,
    ],
    ['randAlpha of a huge count', '{{ randAlpha 100000000 }}', /result larger than/],
    ['splitList of a huge text', '{{ splitList "" (repeat 2000000 "x") }}', /more than 1000000 items/],
  ];
  for (const [name, template, message] of cases) {
    it(`${name} fails with a clear error before doing the work`, () => {
      const error = renderError(template);
      expect(error.message).toMatch(message);
    });
  }

  it('a catastrophic-backtracking pattern completes (matching is linear, not backtracking)', () => {
    const input = `${'a'.repeat(5000)}b`;
    expect(
      render(
        '{{ regexMatch "^(a+)+$" . }} {{ regexMatch "(a|aa)*c" . }} {{ regexFind "(a*)*b" . | len }}',
        input,
      ),
    ).toBe('false false 5001');
  });

  it('a regex whose work is beyond the budget fails instead of running on', () => {
    const error = renderError('{{ regexMatch "(?:a?){1000}(?:a?){1000}x" (repeat 200000 "a") }}');
    expect(error.message).toMatch(/too much work|instructions/);
  });

  it('nested repetition that compiles too large is refused', () => {
    const error = renderError('{{ mustRegexMatch "((a{1000}){1000}){1000}" "a" }}');
    expect(error.message).toMatch(/error calling mustRegexMatch/);
  });

  it('uniq and sortAlpha handle long lists (uniq hashes what it can)', () => {
    expect(render('{{ uniq (concat (until 200000) (until 200000)) | len }}')).toBe('200000');
    expect(
      render(
        '{{ splitList "," . | sortAlpha | first }}',
        Array.from({ length: 200000 }, (_, i) => `k${i}`).join(','),
      ),
    ).toBe('k0');
  });

  it('uniq of many distinct lists stops at its comparison budget', () => {
    const error = renderError(
      '{{ $l := list }}{{ range until 3000 }}{{ $l = append $l (list .) }}{{ end }}{{ uniq $l | len }}',
    );
    expect(error.message).toMatch(/uniq: more than \d+ comparisons/);
  });

  it('toJson of a self-containing dict fails instead of recursing forever', () => {
    const error = renderError('{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ mustToJson $d }}');
    expect(error.message).toContain('cycle');
  });
});
