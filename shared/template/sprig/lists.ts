// Sprig's list functions (list.go). Each takes any slice (of any element type) and returns a
// new []interface{}; the must* variants return Go's error where the others panic, and both stop
// the template.
import { kindName } from '../fmt.js';
import { GoSlice, type Value } from '../value.js';
import { toInt64 } from './conversion.js';
import { empty } from './defaults.js';
import { checkItems, def, fail, ifaces, int } from './go.js';
import { deepEqual } from './reflect.js';

/** The slice a list function works on, or Go's failure for anything else (nil panics in Go). */
function slice(v: Value, what: (kind: string) => string): GoSlice {
  if (v instanceof GoSlice) return v;
  if (v === null || v === undefined) fail('runtime error: invalid memory address or nil pointer dereference');
  return fail(what(kindName(v)));
}

const inList = (haystack: Value[], needle: Value): boolean => haystack.some((h) => deepEqual(needle, h));

function chunk(size: number, list: GoSlice): GoSlice {
  const l = list.items.length;
  if (size <= 0) fail('runtime error: makeslice: len out of range');
  const chunks: GoSlice[] = [];
  for (let i = 0; i < l; i += size) chunks.push(ifaces(list.items.slice(i, i + size)));
  return new GoSlice('[]interface {}', chunks);
}

export function listFuncs() {
  // Both names of a pair fail the template; only the message differs (error vs panic).
  const pair = (
    params: string[],
    result: string,
    call: (...args: Value[]) => Value,
    variadic?: string,
  ): [ReturnType<typeof def>, ReturnType<typeof def>] => [
    def(params, result, call, variadic ? { variadic } : {}),
    def(params, result, call, variadic ? { variadic, canFail: true } : { canFail: true }),
  ];
  const [push, mustPush] = pair(['interface {}', 'interface {}'], '[]interface {}', (l, v) => {
    const items = slice(l, (k) => `Cannot push on type ${k}`).items;
    checkItems(items.length + 1, 'append');
    return ifaces([...items, v]);
  });
  const [prepend, mustPrepend] = pair(['interface {}', 'interface {}'], '[]interface {}', (l, v) => {
    const items = slice(l, (k) => `Cannot prepend on type ${k}`).items;
    checkItems(items.length + 1, 'prepend');
    return ifaces([v, ...items]);
  });
  const [chunkF, mustChunk] = pair(['int', 'interface {}'], '[][]interface {}', (n, l) =>
    chunk(
      int(n),
      slice(l, (k) => `Cannot chunk type ${k}`),
    ),
  );
  const [last, mustLast] = pair(['interface {}'], 'interface {}', (l) => {
    const items = slice(l, (k) => `Cannot find last on type ${k}`).items;
    return items.length === 0 ? null : (items[items.length - 1] ?? null);
  });
  const [first, mustFirst] = pair(['interface {}'], 'interface {}', (l) => {
    const items = slice(l, (k) => `Cannot find first on type ${k}`).items;
    return items.length === 0 ? null : (items[0] ?? null);
  });
  const [rest, mustRest] = pair(['interface {}'], '[]interface {}', (l) =>
    ifaces(slice(l, (k) => `Cannot find rest on type ${k}`).items.slice(1)),
  );
  const [initial, mustInitial] = pair(['interface {}'], '[]interface {}', (l) =>
    ifaces(slice(l, (k) => `Cannot find initial on type ${k}`).items.slice(0, -1)),
  );
  const [reverse, mustReverse] = pair(['interface {}'], '[]interface {}', (l) =>
    ifaces([...slice(l, (k) => `Cannot find reverse on type ${k}`).items].reverse()),
  );
  const [compact, mustCompact] = pair(['interface {}'], '[]interface {}', (l) =>
    ifaces(slice(l, (k) => `Cannot compact on type ${k}`).items.filter((i) => !empty(i))),
  );
  const [uniq, mustUniq] = pair(['interface {}'], '[]interface {}', (l) => {
    const dest: Value[] = [];
    for (const item of slice(l, (k) => `Cannot find uniq on type ${k}`).items) {
      if (!inList(dest, item)) dest.push(item);
    }
    return ifaces(dest);
  });
  const [without, mustWithout] = pair(
    ['interface {}'],
    '[]interface {}',
    (l, ...omit) =>
      ifaces(slice(l, (k) => `Cannot find without on type ${k}`).items.filter((i) => !inList(omit, i))),
    'interface {}',
  );
  const [has, mustHas] = pair(['interface {}', 'interface {}'], 'bool', (needle, haystack) => {
    if (haystack === null) return false;
    return inList(slice(haystack, (k) => `Cannot find has on type ${k}`).items, needle);
  });
  const [sliceF, mustSlice] = pair(
    ['interface {}'],
    'interface {}',
    (l, ...indices) => {
      const list = slice(l, (k) => `list should be type of slice or array but ${k}`);
      const len = list.items.length;
      if (len === 0) return null;
      const start = indices.length > 0 ? Number(toInt64(indices[0])) : 0;
      const end = indices.length < 2 ? len : Number(toInt64(indices[1]));
      if (start < 0 || end < start || end > len) fail('reflect.Value.Slice: slice index out of bounds');
      return new GoSlice(list.elem, list.items.slice(start, end));
    },
    'interface {}',
  );
  return {
    list: def([], '[]interface {}', (...vs) => ifaces(vs), { variadic: 'interface {}' }),
    tuple: def([], '[]interface {}', (...vs) => ifaces(vs), { variadic: 'interface {}' }),
    append: push,
    push,
    mustAppend: mustPush,
    mustPush,
    prepend,
    mustPrepend,
    first,
    mustFirst,
    rest,
    mustRest,
    last,
    mustLast,
    initial,
    mustInitial,
    reverse,
    mustReverse,
    uniq,
    mustUniq,
    without,
    mustWithout,
    has,
    mustHas,
    slice: sliceF,
    mustSlice,
    chunk: chunkF,
    mustChunk,
    compact,
    mustCompact,
    concat: def(
      [],
      'interface {}',
      (...lists) => {
        const res: Value[] = [];
        for (const l of lists) {
          const items = slice(l, (k) => `Cannot concat type ${k} as list`).items;
          checkItems(res.length + items.length, 'concat');
          res.push(...items);
        }
        return ifaces(res);
      },
      { variadic: 'interface {}' },
    ),
  };
}
