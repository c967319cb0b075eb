// Generators of hostile JSON for the API fuzz tests: strings the database cannot store, numbers
// JSON.stringify cannot write, deep nesting; and the text of such a value, raw leaves spliced in.
import fc from 'fast-check';

// One character, often one the database cannot store.
const hostileChar = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\u202e', '\n', '~', '/'),
  },
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

export const hostileString = fc.oneof(
  fc.string({ unit: hostileChar, maxLength: 30 }),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    ' ',
    'x'.repeat(5000),
    '1e400',
    'null',
    '__proto__',
    'constructor',
    'x-commander-record-id',
  ),
);

export const leaf = fc.oneof(
  hostileString,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => ({ $raw: n.toString() })),
  fc.constantFrom({ $raw: '1e400' }, { $raw: '-1e400' }, { $raw: '-0' }, { $raw: '1e-400' }),
);

export const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** JSON nested deeper than the gateway's limit (64), as raw text. */
export const deep = fc
  .tuple(fc.integer({ min: 55, max: 3000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => ({ $raw: `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}` }));

/** JSON text; `{ $raw }` leaves are spliced in as written (numbers JSON.stringify cannot write). */
export function toText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && typeof (v as { $raw?: unknown }).$raw === 'string') {
      raws.push((v as { $raw: string }).$raw);
      return `\u0001RAW${raws.length - 1}\u0001`;
    }
    return v;
  });
  return (text ?? 'null').replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i) => raws[Number(i)] as string);
}
