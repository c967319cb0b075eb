// The engine's public API and what the Go reference cannot show (it has only sprig's functions
// and JSON data): functions with typed Go signatures, Go objects with fields and methods, reuse
// of a parsed template. The expected texts are Go's (text/template exec.go) for the same calls.
import { describe, expect, it } from 'vitest';
import { sprint } from '../../shared/template/fmt.js';
import { parseTemplate, renderTemplate, Template, TemplateError } from '../../shared/template/index.js';
import {
  type GoFunc,
  GoFuncError,
  GoInt,
  GoMap,
  type GoObject,
  type Value,
} from '../../shared/template/value.js';

const funcs: Record<string, GoFunc> = {
  double: { params: ['int'], result: 'int', call: (n: Value) => new GoInt((n as GoInt).value * 2n) },
  half: { params: ['float64'], result: 'float64', call: (x: Value) => (x as number) / 2 },
  shout: { params: ['string'], result: 'string', call: (s: Value) => `${s as string}!` },
  join: {
    params: ['string'],
    variadic: 'interface {}',
    result: 'string',
    call: (sep: Value, ...rest: Value[]) =>
      rest.map((v) => (v === null ? 'nil' : sprint(v))).join(sep as string),
  },
  fail: {
    params: [],
    result: 'string',
    canFail: true,
    call: () => {
      throw new GoFuncError('it failed');
    },
  },
  broken: {
    params: [],
    result: 'string',
    call: () => {
      throw new TypeError('a bug');
    },
  },
  nothing: { params: [], result: 'interface {}', call: () => null },
};

function render(text: string, data: unknown = {}): string {
  return Template.parse(text, { funcs }).execute(data);
}

function failure(text: string, data: unknown = {}): TemplateError {
  try {
    render(text, data);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error(`expected ${text} to fail`);
}

describe('functions with Go signatures', () => {
  it('takes untyped constants where Go does', () => {
    expect(render('{{ double 21 }} {{ double 0x10 }} {{ double 1e2 }}')).toBe('42 32 200');
    expect(render('{{ half 3 }} {{ half 1.5 }}')).toBe('1.5 0.75');
    expect(render('{{ shout "hi" }} {{ shout `raw` }}')).toBe('hi! raw!');
  });

  it('refuses constants and values of the wrong type with errors like Go', () => {
    expect(failure('{{ double 2.5 }}').reason).toBe(
      'executing "template" at <2.5>: expected integer; found 2.5',
    );
    expect(failure('{{ double "2" }}').reason).toBe(
      'executing "template" at <"2">: expected integer; found "2"',
    );
    expect(failure('{{ double .n }}', { n: 2 }).reason).toBe(
      'executing "template" at <.n>: wrong type for value; expected int; got float64',
    );
    expect(failure('{{ shout nil }}').reason).toBe(
      'executing "template" at <nil>: cannot assign nil to string',
    );
    expect(failure('{{ shout .missing }}').reason).toBe(
      'executing "template" at <.missing>: invalid value; expected string',
    );
    expect(failure('{{ shout .n }}', { n: null }).reason).toBe(
      'executing "template" at <.n>: wrong type for value; expected string; got interface {}',
    );
    expect(failure('{{ shout }}').reason).toBe(
      'executing "template" at <shout>: wrong number of args for shout: want 1 got 0',
    );
  });

  it('passes variadic arguments, and nil for an invalid value', () => {
    expect(render('{{ join "," 1 "a" .missing true }}')).toBe('1,a,nil,true');
    expect(render('{{ "x" | join "-" "y" }}')).toBe('y-x');
  });

  it('reports a function error as "error calling", and a thrown bug the same way', () => {
    const e = failure('a\n  {{ fail }}');
    expect(e.message).toBe(
      'template: template:2:6: executing "template" at <fail>: error calling fail: it failed',
    );
    expect([e.line, e.column]).toEqual([2, 6]);
    expect(failure('{{ broken }}').reason).toBe(
      'executing "template" at <broken>: error calling broken: a bug',
    );
  });

  it('treats a nil interface{} result as no value', () => {
    expect(render('{{ nothing }} {{ if nothing }}t{{ else }}f{{ end }}')).toBe('<no value> f');
  });

  it('checks function names when parsing, against the given functions only', () => {
    expect(() => Template.parse('{{ quote "x" }}', { funcs })).toThrow(/function "quote" not defined/);
  });
});

class Person implements GoObject {
  readonly goType = '*main.Person';
  readonly goKind = 'ptr';
  constructor(readonly name: string) {}
  field(name: string): Value | undefined {
    return name === 'Name' ? this.name : undefined;
  }
  method(name: string): GoFunc | undefined {
    if (name === 'Greet')
      return { params: ['string'], result: 'string', call: (s: Value) => `${s as string}, ${this.name}` };
    return undefined;
  }
  format(): string {
    return `Person(${this.name})`;
  }
}

describe('Go objects', () => {
  const data = new GoMap('interface {}', new Map<string, Value>([['p', new Person('Ann')]]));
  const run = (text: string) => Template.parse(text, { funcs }).executeValue(data);

  it('has fields and methods, and prints itself', () => {
    expect(
      run(
        '{{ .p.Name }} {{ .p.Greet "Hello" }} {{ "Hi" | .p.Greet }} {{ .p }} {{ printf "%v|%s|%T" .p .p .p }}',
      ),
    ).toBe('Ann Hello, Ann Hi, Ann Person(Ann) Person(Ann)|Person(Ann)|*main.Person');
  });

  it('refuses a missing field, and arguments to a field', () => {
    expect(() => run('{{ .p.Age }}')).toThrow(/can't evaluate field Age in type \*main.Person/);
    expect(() => run('{{ .p.Name 1 }}')).toThrow(/Name has arguments but cannot be invoked as function/);
    expect(() => run('{{ .p.Greet 1 }}')).toThrow(/expected string; found 1/);
  });
});

describe('the public API', () => {
  it('renders with renderTemplate and parses once for many executions', () => {
    expect(renderTemplate('{{ .a }}', { a: 1e6 })).toBe('1e+06');
    const t = parseTemplate('{{ define "x" }}{{ . }}{{ end }}{{ template "x" .v }}');
    expect([t.execute({ v: 'one' }), t.execute({ v: 'two' }), t.execute({})]).toEqual([
      'one',
      'two',
      '<no value>',
    ]);
    expect(t.templateNames().sort()).toEqual(['template', 'x']);
  });

  it('names the template in errors', () => {
    try {
      renderTemplate('\n{{ .a.b }}', { a: 1 }, { name: 'cluster.yaml' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TemplateError);
      expect((e as TemplateError).message).toMatch(
        /^template: cluster\.yaml:2:6: executing "cluster\.yaml" at <\.a\.b>/,
      );
    }
  });

  it('returns a well-formed string and exact bytes', () => {
    const t = parseTemplate('{{ "\\xff" }}é');
    expect(t.execute({})).toBe('\ufffdé');
    expect([...t.executeBytes({})]).toEqual([0xff, 0xc3, 0xa9]);
  });
});
