// Sprig's dictionary functions (dict.go), with imdario/mergo's merge rules for merge and
// mergeOverwrite. Maps are shared, not copied, exactly as Go's are: set and merge change their
// first argument.
import { GoMap, GoSlice, isGoObject, type Value } from '../value.js';
import { strval } from './conversion.js';
import { empty } from './defaults.js';
import { checkItems, def, dictArg, fail, ifaces, str, strings } from './go.js';
import { sortStrings } from './strings.js';

const MAX_MERGE_DEPTH = 1000;

class MergeError extends Error {}

/** mergo's deepMerge for two map[string]interface{} (the only shape sprig passes it). */
function deepMerge(dst: GoMap, src: GoMap, overwrite: boolean, depth: number): void {
  if (depth > MAX_MERGE_DEPTH) fail('merge: nesting too deep');
  for (const [key, srcEl] of src.entries) {
    const dstHas = dst.entries.has(key);
    const dstEl = dst.entries.get(key);
    if (srcEl === null || srcEl === undefined) {
      if (overwrite) dst.entries.set(key, null);
      continue;
    }
    const dstEmpty = !dstHas || empty(dstEl);
    if (srcEl instanceof GoMap || srcEl instanceof GoSlice) {
      if (srcEl instanceof GoMap && dstEl instanceof GoMap) deepMerge(dstEl, srcEl, overwrite, depth + 1);
      // mergo refuses a map merged into a pointer (such as a *semver.Version) unless overwriting.
      if (srcEl instanceof GoMap && isGoObject(dstEl) && dstEl.goKind === 'ptr' && !overwrite) {
        throw new MergeError('src and dst must be of same type');
      }
      if (srcEl instanceof GoSlice && overwrite) dst.entries.set(key, srcEl);
      if (!dstEmpty) continue;
    } else if (typeof srcEl === 'object' && !(srcEl instanceof GoMap) && 'goType' in srcEl) {
      // A struct or pointer merged into a map value: reflect refuses to set the unaddressable map
      // (a panic in Go, so merge and mergeOverwrite fail too).
      if (dstEl instanceof GoMap && overwrite) fail('reflect: reflect.Value.Set using unaddressable value');
    }
    if (overwrite || dstEmpty) dst.entries.set(key, srcEl);
  }
}

function merge(dst: GoMap, srcs: Value[], overwrite: boolean): GoMap {
  for (const src of srcs) deepMerge(dst, dictArg(src), overwrite, 0);
  return dst;
}

function dig(ps: Value[]): Value {
  if (ps.length < 3) fail('dig needs at least three arguments');
  let dict = ps[ps.length - 1];
  const def = ps[ps.length - 2] ?? null;
  const keys = ps
    .slice(0, -2)
    .map((k) =>
      typeof k === 'string'
        ? k
        : fail(`interface conversion: interface {} is ${k === null ? 'nil' : 'not'}, not string`),
    );
  for (let i = 0; ; i++) {
    if (!(dict instanceof GoMap) || dict.elem !== 'interface {}') {
      return fail('interface conversion: interface {} is not map[string]interface {}');
    }
    const key = keys[i] ?? '';
    if (!dict.entries.has(key)) return def;
    const step = dict.entries.get(key) ?? null;
    if (i === keys.length - 1) return step;
    dict = step;
  }
}

const sortedKeys = (d: GoMap): string[] => sortStrings([...d.entries.keys()]);
const newDict = (): GoMap => new GoMap('interface {}', new Map());

export function dictFuncs() {
  const mergeFunc = (overwrite: boolean, must: boolean) =>
    def(
      ['map[string]interface {}'],
      'interface {}',
      (d, ...srcs) => {
        try {
          return merge(dictArg(d), srcs, overwrite);
        } catch (e) {
          if (!(e instanceof MergeError)) throw e;
          return must ? fail(e.message) : '';
        }
      },
      must ? { variadic: 'map[string]interface {}', canFail: true } : { variadic: 'map[string]interface {}' },
    );
  return {
    dict: def(
      [],
      'map[string]interface {}',
      (...vs) => {
        const d = newDict();
        for (let i = 0; i < vs.length; i += 2)
          d.entries.set(strval(vs[i] ?? null), i + 1 < vs.length ? (vs[i + 1] ?? null) : '');
        return d;
      },
      { variadic: 'interface {}' },
    ),
    get: def(['map[string]interface {}', 'string'], 'interface {}', (d, k) => {
      const m = dictArg(d);
      return m.entries.has(str(k)) ? (m.entries.get(str(k)) ?? null) : '';
    }),
    set: def(['map[string]interface {}', 'string', 'interface {}'], 'map[string]interface {}', (d, k, v) => {
      if (d === null) fail('assignment to entry in nil map');
      const m = dictArg(d);
      m.entries.set(str(k), v);
      checkItems(m.entries.size, 'set');
      return m;
    }),
    unset: def(['map[string]interface {}', 'string'], 'map[string]interface {}', (d, k) => {
      const m = dictArg(d);
      m.entries.delete(str(k));
      return m;
    }),
    hasKey: def(['map[string]interface {}', 'string'], 'bool', (d, k) => dictArg(d).entries.has(str(k))),
    pluck: def(
      ['string'],
      '[]interface {}',
      (k, ...ds) => {
        const out: Value[] = [];
        for (const d of ds) {
          const m = dictArg(d);
          if (m.entries.has(str(k))) out.push(m.entries.get(str(k)) ?? null);
        }
        return ifaces(out);
      },
      { variadic: 'map[string]interface {}' },
    ),
    keys: def([], '[]string', (...ds) => strings(ds.flatMap((d) => sortedKeys(dictArg(d)))), {
      variadic: 'map[string]interface {}',
    }),
    values: def(['map[string]interface {}'], '[]interface {}', (d) => {
      const m = dictArg(d);
      return ifaces(sortedKeys(m).map((k) => m.entries.get(k) ?? null));
    }),
    pick: def(
      ['map[string]interface {}'],
      'map[string]interface {}',
      (d, ...ks) => {
        const m = dictArg(d);
        const out = newDict();
        for (const k of ks) if (m.entries.has(str(k))) out.entries.set(str(k), m.entries.get(str(k)) ?? null);
        return out;
      },
      { variadic: 'string' },
    ),
    omit: def(
      ['map[string]interface {}'],
      'map[string]interface {}',
      (d, ...ks) => {
        const drop = new Set(ks.map(str));
        const out = newDict();
        for (const [k, v] of dictArg(d).entries) if (!drop.has(k)) out.entries.set(k, v);
        return out;
      },
      { variadic: 'string' },
    ),
    merge: mergeFunc(false, false),
    mustMerge: mergeFunc(false, true),
    mergeOverwrite: mergeFunc(true, false),
    mustMergeOverwrite: mergeFunc(true, true),
    dig: def([], 'interface {}', (...ps) => dig(ps), { variadic: 'interface {}', canFail: true }),
  };
}
