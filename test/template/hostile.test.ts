// Hostile templates and values: whatever the input, our engine returns output within its bounds
// or a TemplateError, never a crash (a JS stack overflow escaping) or an endless run.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../shared/template/exec.js';
import { Template, TemplateError } from '../../shared/template/index.js';
import { MAX_PARSE_DEPTH } from '../../shared/template/parse.js';

/** The output, or the TemplateError; anything else thrown fails the test. */
function attempt(
  text: string,
  values: unknown = {},
  limits?: Parameters<typeof Template.parse>[1],
): string | TemplateError {
  try {
    return Template.parse(text, limits).execute(values);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
}

function expectError(result: string | TemplateError, pattern: RegExp): void {
  expect(result).toBeInstanceOf(TemplateError);
  expect((result as TemplateError).message).toMatch(pattern);
}

describe('hostile templates', () => {
  it('refuses parentheses nested deeper than the parse bound, accepts them below it', () => {
    const n = 100_000;
    expectError(attempt(`{{${'('.repeat(n)}1${')'.repeat(n)}}}`), /nesting deeper than/);
    const ok = MAX_PARSE_DEPTH - 10;
    expect(attempt(`{{${'('.repeat(ok)}1${')'.repeat(ok)}}}`)).toBe('1');
  });

  it('refuses actions nested deeper than the parse bound', () => {
    expectError(attempt(`${'{{ if 1 }}'.repeat(5000)}x${'{{ end }}'.repeat(5000)}`), /nesting deeper than/);
    expectError(
      attempt(`${'{{ range .l }}'.repeat(20_000)}`, { l: [1] }),
      /nesting deeper than|unexpected EOF/,
    );
  });

  it('stops a template that calls itself forever', () => {
    expectError(
      attempt('{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}'),
      /maximum template depth/,
    );
  });

  it('stops deep recursion through nested actions without a stack overflow escaping', () => {
    const text =
      '{{ define "a" }}{{ if 1 }}{{ with 1 }}{{ range $.l }}{{ template "a" $ }}{{ end }}{{ end }}{{ end }}{{ end }}{{ template "a" . }}';
    expectError(attempt(text, { l: [1] }), /maximum template depth|too deep/);
  });

  it('stops nested ranges that would run a billion iterations', () => {
    const l = Array.from({ length: 1000 }, (_, i) => i);
    const text = '{{ range .l }}{{ range $.l }}{{ range $.l }}{{ end }}{{ end }}{{ end }}';
    expectError(attempt(text, { l }), new RegExp(`exceeded ${DEFAULT_LIMITS.maxSteps} steps`));
  });

  it('stops output that doubles itself past the output bound', () => {
    let text = '{{ define "a0" }}xxxxxxxxxxxxxxxxxxxx{{ end }}';
    for (let i = 1; i < 10; i++)
      text += `{{ define "a${i}" }}${`{{ template "a${i - 1}" }}`.repeat(10)}{{ end }}`;
    expectError(attempt(`${text}{{ template "a9" }}`), /output exceeds/);
    // The bound is an option; a smaller one stops sooner.
    expectError(
      attempt(`${text}{{ template "a3" }}`, {}, { limits: { maxOutput: 1000 } }),
      /output exceeds 1000/,
    );
  });

  it('renders a 1 MB template', () => {
    const text = 'x'.repeat(512 * 1024) + '{{ .a }}\n'.repeat(50_000);
    const out = attempt(text, { a: 1 });
    expect(typeof out).toBe('string');
    expect((out as string).length).toBe(512 * 1024 + 2 * 50_000);
    expect((out as string).endsWith('1\n1\n')).toBe(true);
  });

  it('prints values nested 10000 deep or fails cleanly', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const out = attempt('{{ . }}', { d: deep });
    if (typeof out === 'string') expect(/^map\[d:\[+1\]+\]$/.test(out)).toBe(true);
    else expect(out).toBeInstanceOf(TemplateError);
  });

  it('formats with a huge width only up to fmt bound', () => {
    // Go stops reading a width once it is past 10^6 before a digit: 10^7 still passes.
    expect((attempt('{{ printf "%10000000d" 1 }}') as string).length).toBe(10_000_000);
    expect(attempt('{{ printf "%100000000d" 1 }}')).toBe('%!(NOVERB)%!(EXTRA int=1)');
  });

  it('handles many variables', () => {
    expect(attempt(`${'{{ $x := 1 }}'.repeat(20_000)}{{ $x }}`)).toBe('1');
  });

  it('refuses unterminated constructs of every kind', () => {
    for (const text of [
      '{{',
      '{{ "',
      '{{ `',
      "{{ '",
      '{{/*',
      '{{ (',
      '{{ if 1 }}',
      '{{ define "x" }}',
      '{{ .a.',
    ]) {
      expect(attempt(text), text).toBeInstanceOf(TemplateError);
    }
  });
});
