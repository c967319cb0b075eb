// Sprig's reflection functions and reflect.DeepEqual (which uniq, has and without also use): type
// names come from the engine's fmt, so `typeOf` prints exactly what `printf "%T"` does.
import { kindName, typeName } from '../fmt.js';
import { GoInt, GoMap, GoSlice, type Value } from '../value.js';
import { def, str } from './go.js';

/** reflect.DeepEqual over template values (types must match exactly: 1 is not int64 1). */
export function deepEqual(a: Value, b: Value): boolean {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn;
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof GoInt) return b instanceof GoInt && a.type === b.type && a.value === b.value;
  if (a instanceof GoSlice) {
    if (!(b instanceof GoSlice) || a.elem !== b.elem || a.items.length !== b.items.length) return false;
    return a.items.every((x, i) => deepEqual(x, b.items[i]));
  }
  if (a instanceof GoMap) {
    if (!(b instanceof GoMap) || a.elem !== b.elem || a.entries.size !== b.entries.size) return false;
    for (const [k, x] of a.entries) {
      if (!b.entries.has(k) || !deepEqual(x, b.entries.get(k))) return false;
    }
    return true;
  }
  if (b instanceof GoInt || b instanceof GoSlice || b instanceof GoMap) return false;
  return a.goType === b.goType && a.format() === b.format();
}

const typeOf = (v: Value): string => typeName(v ?? null);
const kindOf = (v: Value): string => kindName(v ?? null);

export function reflectFuncs() {
  return {
    typeOf: def(['interface {}'], 'string', (v) => typeOf(v)),
    typeIs: def(['string', 'interface {}'], 'bool', (t, v) => str(t) === typeOf(v)),
    typeIsLike: def(['string', 'interface {}'], 'bool', (t, v) => {
      const name = typeOf(v);
      return str(t) === name || `*${str(t)}` === name;
    }),
    kindOf: def(['interface {}'], 'string', (v) => kindOf(v)),
    kindIs: def(['string', 'interface {}'], 'bool', (t, v) => str(t) === kindOf(v)),
    deepEqual: def(['interface {}', 'interface {}'], 'bool', (a, b) => deepEqual(a, b)),
  };
}
