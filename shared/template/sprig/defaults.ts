// Sprig's defaults and flow functions (defaults.go, `fail`): emptiness as Go's zero value,
// default/coalesce/ternary, and deepCopy.
import { GoComplex, GoInt, GoMap, GoSlice, type Value } from '../value.js';
import { bool, def, fail, str } from './go.js';

/** sprig's empty: the zero value of its type (structs never are; nil always is). */
export function empty(v: Value): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v.length === 0;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v === 0;
  if (v instanceof GoSlice) return v.items.length === 0;
  if (v instanceof GoMap) return v.entries.size === 0;
  if (v instanceof GoInt) return v.value === 0n;
  if (v instanceof GoComplex) return v.re === 0 && v.im === 0;
  return false;
}

const MAX_COPY_DEPTH = 10_000;

/** copystructure.Copy for template values: fresh maps and slices all the way down. */
function deepCopy(v: Value, depth = 0): Value {
  if (depth > MAX_COPY_DEPTH) fail('deepCopy: nesting too deep');
  if (v instanceof GoSlice)
    return new GoSlice(
      v.elem,
      v.items.map((i) => deepCopy(i, depth + 1)),
    );
  if (v instanceof GoMap) {
    const entries = new Map<string, Value>();
    for (const [k, x] of v.entries) entries.set(k, deepCopy(x, depth + 1));
    return new GoMap(v.elem, entries);
  }
  return v;
}

// copystructure cannot copy nil (it asks reflect for the type of the zero Value).
const copyable = (v: Value): Value =>
  v === null || v === undefined ? fail('reflect: call of reflect.Value.Type on zero Value') : v;

export function defaultFuncs() {
  return {
    default: def(
      ['interface {}'],
      'interface {}',
      (d, ...given) => (given.length === 0 || empty(given[0]) ? d : (given[0] ?? null)),
      {
        variadic: 'interface {}',
      },
    ),
    empty: def(['interface {}'], 'bool', (v) => empty(v)),
    coalesce: def([], 'interface {}', (...vs) => vs.find((v) => !empty(v)) ?? null, {
      variadic: 'interface {}',
    }),
    all: def([], 'bool', (...vs) => vs.every((v) => !empty(v)), { variadic: 'interface {}' }),
    any: def([], 'bool', (...vs) => vs.some((v) => !empty(v)), { variadic: 'interface {}' }),
    ternary: def(['interface {}', 'interface {}', 'bool'], 'interface {}', (t, f, c) => (bool(c) ? t : f)),
    deepCopy: def(['interface {}'], 'interface {}', (v) => deepCopy(copyable(v))),
    mustDeepCopy: def(['interface {}'], 'interface {}', (v) => deepCopy(copyable(v)), { canFail: true }),
    fail: def(['string'], 'string', (msg) => fail(str(msg)), { canFail: true }),
  };
}
