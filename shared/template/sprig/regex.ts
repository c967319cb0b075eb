// Sprig's regex functions (regex.go) over the Go regexp engine in regexp.ts. The non-must forms
// panic on a bad pattern (the template fails), except regexMatch, which answers false.
import type { GoFunc } from '../value.js';
import { checkItems, def, fail, int, MAX_OUTPUT, str, strings } from './go.js';
import {
  compile,
  expand,
  findAllString,
  findString,
  type GoRegexp,
  matchString,
  quoteMeta,
  RegexpError,
  RegexpLimitError,
  replaceAll,
  split,
} from './regexp.js';

/** Compiles, turning Go's compile error into the function's error. */
function re(expr: string): GoRegexp {
  try {
    return compile(expr);
  } catch (e) {
    if (e instanceof RegexpError || e instanceof RegexpLimitError) fail(e.message);
    throw e;
  }
}

function bounded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegexpLimitError) fail(e.message);
    if (e instanceof RangeError) fail(`regexReplaceAll: ${e.message}`);
    throw e;
  }
}

function listOf(items: string[] | undefined, what: string) {
  checkItems(items?.length ?? 0, what);
  return strings(items ?? []);
}

export function regexFuncs(): Record<string, GoFunc> {
  const both = (
    name: string,
    params: string[],
    result: string,
    call: (...args: string[]) => ReturnType<GoFunc['call']>,
    toArgs: (...vs: Parameters<GoFunc['call']>) => string[] = (...vs) => vs.map(str),
  ): Record<string, GoFunc> => {
    const f = (...vs: Parameters<GoFunc['call']>) => bounded(() => call(...toArgs(...vs)));
    const mustName = `must${name[0]?.toUpperCase()}${name.slice(1)}`;
    return {
      [name]: def(params, result, f),
      [mustName]: def(params, result, f, { canFail: true }),
    };
  };
  const withN = (...vs: Parameters<GoFunc['call']>) => [str(vs[0]), str(vs[1]), String(int(vs[2]))];
  return {
    regexMatch: def(['string', 'string'], 'bool', (r, s) => {
      let compiled: GoRegexp;
      try {
        compiled = compile(str(r));
      } catch (e) {
        if (e instanceof RegexpError) return false;
        throw e;
      }
      return bounded(() => matchString(compiled, str(s)));
    }),
    mustRegexMatch: def(
      ['string', 'string'],
      'bool',
      (r, s) => bounded(() => matchString(re(str(r)), str(s))),
      {
        canFail: true,
      },
    ),
    ...both(
      'regexFindAll',
      ['string', 'string', 'int'],
      '[]string',
      (r, s, n) => listOf(findAllString(re(r ?? ''), s ?? '', Number(n)), 'regexFindAll'),
      withN,
    ),
    ...both('regexFind', ['string', 'string'], 'string', (r, s) => findString(re(r ?? ''), s ?? '')),
    ...both('regexReplaceAll', ['string', 'string', 'string'], 'string', (r, s, repl) => {
      const compiled = re(r ?? '');
      return replaceAll(compiled, s ?? '', (input, m) => expand(compiled, repl ?? '', input, m), MAX_OUTPUT);
    }),
    ...both('regexReplaceAllLiteral', ['string', 'string', 'string'], 'string', (r, s, repl) =>
      replaceAll(re(r ?? ''), s ?? '', () => repl ?? '', MAX_OUTPUT),
    ),
    ...both(
      'regexSplit',
      ['string', 'string', 'int'],
      '[]string',
      (r, s, n) => listOf(split(re(r ?? ''), s ?? '', Number(n)), 'regexSplit'),
      withN,
    ),
    regexQuoteMeta: def(['string'], 'string', (s) => quoteMeta(str(s))),
  };
}
