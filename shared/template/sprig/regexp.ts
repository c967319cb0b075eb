// Go's regexp (RE2 syntax, leftmost-first matching) as a parser, a compiler and a Pike VM, so
// sprig's regex functions match exactly what Go matches and no pattern can backtrack
// exponentially: work is linear in pattern size times input size, and bounded.
import { toLower, toTitle, toUpper } from './unicode.js';

export class RegexpError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

/** A pattern or match beyond what we allow: always fails the template, even for regexMatch. */
export class RegexpLimitError extends Error {}

/** Compiled program size beyond which a pattern is refused (Go allows more; we bound memory). */
const MAX_INSTS = 200_000;
/** Thread steps one match may take before the search is abandoned. */
const MAX_STEPS = 10_000_000;
const MAX_NESTING = 1000;

// --- case folding (unicode.SimpleFold orbits) ---------------------------------------------------

const foldKey = (r: number): number => (r === 0x130 || r === 0x131 ? r : toLower(toUpper(r)));

// Orbit members that upper/lower/title mappings of the key do not reach.
const extraFolds: Record<number, number[]> = {
  107: [0x212a],
  115: [0x17f],
  229: [0x212b],
  223: [0x1e9e],
  953: [0x345, 0x1fbe],
  946: [0x3d0],
  949: [0x3f5],
  952: [0x3d1, 0x3f4],
  954: [0x3f0],
  960: [0x3d6],
  961: [0x3f1],
  963: [0x3c2],
  966: [0x3d5],
  969: [0x2126],
  956: [0xb5],
  1074: [0x1c80],
  1076: [0x1c81],
  1086: [0x1c82],
  1089: [0x1c83],
  1090: [0x1c84, 0x1c85],
  1098: [0x1c86],
  1123: [0x1c87],
  42571: [0x1c88],
  7777: [0x1e9b],
};

function orbit(r: number): number[] {
  const key = foldKey(r);
  const out = new Set([r, key, toUpper(key), toTitle(key)]);
  for (const x of extraFolds[key] ?? []) out.add(x);
  return [...out].filter((x) => foldKey(x) === key);
}

// --- syntax tree ---------------------------------------------------------------------------------

type Pred = (r: number) => boolean;
interface ClassItem {
  test: Pred;
  neg: boolean;
}

type Node =
  | { op: 'empty' }
  | { op: 'lit'; r: number; fold: boolean }
  | { op: 'class'; items: ClassItem[]; negate: boolean; fold: boolean }
  | { op: 'any'; nl: boolean }
  | { op: 'assert'; kind: Assert }
  | { op: 'cap'; index: number; sub: Node }
  | { op: 'star' | 'plus' | 'quest'; sub: Node; greedy: boolean }
  | { op: 'repeat'; sub: Node; min: number; max: number; greedy: boolean }
  | { op: 'concat' | 'alt'; subs: Node[] };

enum Assert {
  BeginLine = 1,
  EndLine = 2,
  BeginText = 4,
  EndText = 8,
  WordBoundary = 16,
  NoWordBoundary = 32,
}

const range =
  (lo: number, hi: number): Pred =>
  (r) =>
    r >= lo && r <= hi;
const ranges = (...pairs: number[]): Pred => {
  return (r) => {
    for (let i = 0; i < pairs.length; i += 2)
      if (r >= (pairs[i] ?? 0) && r <= (pairs[i + 1] ?? 0)) return true;
    return false;
  };
};

const perlClasses: Record<string, Pred> = {
  d: ranges(0x30, 0x39),
  s: ranges(0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20),
  w: ranges(0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a),
};

const posixClasses: Record<string, Pred> = {
  alnum: ranges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a),
  alpha: ranges(0x41, 0x5a, 0x61, 0x7a),
  ascii: ranges(0, 0x7f),
  blank: ranges(0x09, 0x09, 0x20, 0x20),
  cntrl: ranges(0, 0x1f, 0x7f, 0x7f),
  digit: ranges(0x30, 0x39),
  graph: ranges(0x21, 0x7e),
  lower: ranges(0x61, 0x7a),
  print: ranges(0x20, 0x7e),
  punct: ranges(0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e),
  space: ranges(0x09, 0x0d, 0x20, 0x20),
  upper: ranges(0x41, 0x5a),
  word: ranges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x5f, 0x5f),
  xdigit: ranges(0x30, 0x39, 0x41, 0x46, 0x61, 0x66),
};

const CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

function unicodeClass(name: string): Pred | undefined {
  if (name === 'Any') return () => true;
  let source: string;
  if (name === 'C') source = '[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}]';
  else if (CATEGORIES.has(name)) source = `\\p{${name}}`;
  else if (/^[A-Z][A-Za-z_]*$/.test(name)) source = `\\p{Script=${name}}`;
  else return undefined;
  let re: RegExp;
  try {
    re = new RegExp(`^${source}$`, 'u');
  } catch {
    return undefined;
  }
  return (r) => re.test(String.fromCodePoint(r));
}

// {n}, {n,} or {n,m} without leading zeros; anything else after `{` makes it a literal.
const REPEAT = /^\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}/;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

class Parser {
  private pos = 0;
  private flags: Flags = { i: false, m: false, s: false, U: false };
  ncap = 0;
  readonly names: string[] = [''];
  private depth = 0;
  private readonly src: string[];

  constructor(private readonly text: string) {
    this.src = Array.from(text);
  }

  private peek(k = 0): string | undefined {
    return this.src[this.pos + k];
  }

  // The unparsed text, or its first `limit` characters (enough for every lookahead but \Q).
  private rest(limit = 1024): string {
    return this.src.slice(this.pos, this.pos + limit).join('');
  }

  private slice(from: number, to = this.pos): string {
    return this.src.slice(from, to).join('');
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) throw new RegexpError('unexpected )', this.text);
    return node;
  }

  private alternation(): Node {
    const subs = [this.concat()];
    while (this.peek() === '|') {
      this.pos++;
      subs.push(this.concat());
    }
    return subs.length === 1 ? (subs[0] as Node) : { op: 'alt', subs };
  }

  private concat(): Node {
    const subs: Node[] = [];
    let lastRepeat = -1;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const start = this.pos;
      if (c === '*' || c === '+' || c === '?' || (c === '{' && this.repeatAhead())) {
        const op = this.repetition(subs, start, lastRepeat);
        lastRepeat = op;
        continue;
      }
      lastRepeat = -1;
      if (c === '(' && this.peek(1) === '?' && this.flagGroup()) continue;
      const atom = this.atom();
      if (atom !== undefined) subs.push(atom);
    }
    if (subs.length === 0) return { op: 'empty' };
    return subs.length === 1 ? (subs[0] as Node) : { op: 'concat', subs };
  }

  // Whether `{` starts a valid {n}, {n,} or {n,m}; anything else is a literal brace.
  private repeatAhead(): boolean {
    return REPEAT.test(this.rest());
  }

  private repetition(subs: Node[], start: number, lastRepeat: number): number {
    const c = this.peek();
    let min = 0;
    let max = -1;
    let op: 'star' | 'plus' | 'quest' | 'repeat';
    if (c === '{') {
      const m = REPEAT.exec(this.rest()) as RegExpExecArray;
      this.pos += m[0].length;
      min = (m[1] ?? '').length > 8 ? -1 : Number(m[1]);
      max = m[2] === undefined ? min : m[3] === undefined ? -1 : m[3].length > 8 ? 1001 : Number(m[3]);
      op = 'repeat';
    } else {
      this.pos++;
      op = c === '*' ? 'star' : c === '+' ? 'plus' : 'quest';
    }
    let greedy = !this.flags.U;
    if (this.peek() === '?') {
      this.pos++;
      greedy = !greedy;
    }
    if (lastRepeat >= 0) throw new RegexpError('invalid nested repetition operator', this.slice(lastRepeat));
    const sub = subs.pop();
    if (sub === undefined)
      throw new RegexpError('missing argument to repetition operator', this.slice(start));
    if (op === 'repeat') {
      if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
        throw new RegexpError('invalid repeat count', this.slice(start));
      }
      subs.push({ op, sub, min, max, greedy });
    } else subs.push({ op, sub, greedy });
    return start;
  }

  // (?flags) alone changes flags for the rest of the group; returns false for other (? groups.
  private flagGroup(): boolean {
    const m = /^\(\?([imsU]*)(-([imsU]*))?\)/.exec(this.rest());
    if (!m || (m[2] !== undefined && m[3] === '')) return false;
    this.pos += Array.from(m[0]).length;
    this.applyFlags(m[1] ?? '', m[3] ?? '');
    return true;
  }

  private applyFlags(on: string, off: string): void {
    for (const f of on) this.flags[f as keyof Flags] = true;
    for (const f of off) this.flags[f as keyof Flags] = false;
  }

  private atom(): Node | undefined {
    const c = this.peek() as string;
    const start = this.pos;
    switch (c) {
      case '(': {
        if (++this.depth > MAX_NESTING) throw new RegexpError('expression nests too deeply', this.text);
        this.pos++;
        const saved = { ...this.flags };
        let capture: number | undefined;
        if (this.peek() === '?') {
          const named = /^\?P<([^>]*)>/.exec(this.rest());
          if (named) {
            const name = named[1] ?? '';
            if (!/^[A-Za-z0-9_]+$/.test(name))
              throw new RegexpError(
                'invalid named capture',
                this.slice(start, start + 3 + Array.from(named[0]).length - 2),
              );
            if (this.names.includes(name))
              throw new RegexpError('duplicate capture group name', `(${named[0]}`);
            this.pos += Array.from(named[0]).length;
            capture = ++this.ncap;
            this.names.push(name);
          } else {
            const m = /^\?([imsU]*)(-([imsU]*))?:/.exec(this.rest());
            if (!m || (m[2] !== undefined && m[3] === '')) {
              throw new RegexpError(
                'invalid or unsupported Perl syntax',
                this.slice(start, Math.min(this.src.length, start + 3)),
              );
            }
            this.pos += m[0].length;
            this.applyFlags(m[1] ?? '', m[3] ?? '');
          }
        } else {
          capture = ++this.ncap;
          this.names.push('');
        }
        const sub = this.alternation();
        if (this.peek() !== ')') throw new RegexpError('missing closing )', this.text);
        this.pos++;
        this.flags = saved;
        this.depth--;
        return capture === undefined ? sub : { op: 'cap', index: capture, sub };
      }
      case '[':
        return this.charClass();
      case '.':
        this.pos++;
        return { op: 'any', nl: this.flags.s };
      case '^':
        this.pos++;
        return { op: 'assert', kind: this.flags.m ? Assert.BeginLine : Assert.BeginText };
      case '$':
        this.pos++;
        return { op: 'assert', kind: this.flags.m ? Assert.EndLine : Assert.EndText };
      case '\\':
        return this.escapeAtom();
      default:
        this.pos++;
        return this.literal(c.codePointAt(0) ?? 0);
    }
  }

  private literal(r: number): Node {
    return { op: 'lit', r, fold: this.flags.i };
  }

  private classNode(items: ClassItem[], negate = false): Node {
    return { op: 'class', items, negate, fold: this.flags.i };
  }

  private escapeAtom(): Node | undefined {
    const start = this.pos;
    const c = this.peek(1);
    switch (c) {
      case 'A':
        this.pos += 2;
        return { op: 'assert', kind: Assert.BeginText };
      case 'z':
        this.pos += 2;
        return { op: 'assert', kind: Assert.EndText };
      case 'b':
        this.pos += 2;
        return { op: 'assert', kind: Assert.WordBoundary };
      case 'B':
        this.pos += 2;
        return { op: 'assert', kind: Assert.NoWordBoundary };
      case 'Q': {
        this.pos += 2;
        const rest = this.rest(Number.POSITIVE_INFINITY);
        const end = rest.indexOf('\\E');
        const lit = end < 0 ? rest : rest.slice(0, end);
        this.pos += Array.from(lit).length + (end < 0 ? 0 : 2);
        const subs = Array.from(lit, (ch) => this.literal(ch.codePointAt(0) ?? 0));
        if (subs.length === 0) return undefined;
        return subs.length === 1 ? subs[0] : { op: 'concat', subs };
      }
    }
    const item = this.classEscape();
    if (item) return this.classNode([item]);
    this.pos = start;
    return this.literal(this.escape());
  }

  // \d \s \w (and negations), \pX, \p{Name}: one class item, or undefined.
  private classEscape(): ClassItem | undefined {
    const start = this.pos;
    const c = this.peek(1);
    if (c === undefined) return undefined;
    if ('dswDSW'.includes(c)) {
      this.pos += 2;
      return { test: perlClasses[c.toLowerCase()] as Pred, neg: c !== c.toLowerCase() };
    }
    if (c === 'p' || c === 'P') {
      let neg = c === 'P';
      let name: string;
      this.pos += 2;
      const next = this.peek();
      if (next === undefined) throw new RegexpError('invalid character class range', this.slice(start));
      if (next === '{') {
        const rest = this.rest();
        const end = rest.indexOf('}');
        if (end < 0)
          throw new RegexpError('invalid character class range', this.slice(start, this.src.length));
        name = rest.slice(1, end);
        this.pos += Array.from(rest.slice(0, end + 1)).length;
        if (name.startsWith('^')) {
          neg = !neg;
          name = name.slice(1);
        }
      } else {
        name = next;
        this.pos++;
      }
      const test = unicodeClass(name);
      if (!test) throw new RegexpError('invalid character class range', this.slice(start));
      return { test, neg };
    }
    return undefined;
  }

  // A single escaped rune (after the backslash), or Go's error.
  private escape(): number {
    const start = this.pos;
    this.pos++;
    const c = this.peek();
    if (c === undefined) throw new RegexpError('trailing backslash at end of expression', '');
    this.pos++;
    const cp = c.codePointAt(0) ?? 0;
    const isOctal = (x: string | undefined) => x !== undefined && x >= '0' && x <= '7';
    if (c >= '1' && c <= '7' && isOctal(this.peek())) {
      // octal, below
    } else if (c >= '1' && c <= '9') {
      throw new RegexpError('invalid escape sequence', this.slice(start));
    }
    if (c >= '0' && c <= '7') {
      let r = cp - 48;
      for (let i = 1; i < 3 && isOctal(this.peek()); i++) {
        r = r * 8 + ((this.peek()?.codePointAt(0) ?? 48) - 48);
        this.pos++;
      }
      return r;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.rest());
        if (!m)
          throw new RegexpError(
            'invalid escape sequence',
            this.slice(start, Math.min(this.src.length, this.pos + 1)),
          );
        const r = Number.parseInt(m[1] ?? '', 16);
        this.pos += m[0].length;
        if (r > 0x10ffff || (m[1] ?? '').length > 8)
          throw new RegexpError('invalid escape sequence', this.slice(start));
        return r;
      }
      const m = /^[0-9A-Fa-f]{2}/.exec(this.rest());
      if (!m)
        throw new RegexpError(
          'invalid escape sequence',
          this.slice(start, Math.min(this.src.length, this.pos + 2)),
        );
      this.pos += 2;
      return Number.parseInt(m[0], 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (c in simple) return simple[c] as number;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return cp;
    throw new RegexpError('invalid escape sequence', this.slice(start));
  }

  private charClass(): Node {
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.pos++;
    }
    const items: ClassItem[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new RegexpError('missing closing ]', this.slice(start));
      if (c === ']' && !first) break;
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        const m = /^\[:(\^?)(.*?):\]/s.exec(this.rest());
        if (m) {
          const test = Object.hasOwn(posixClasses, m[2] ?? '') ? posixClasses[m[2] ?? ''] : undefined;
          if (!test) throw new RegexpError('invalid character class range', m[0]);
          items.push({ test, neg: m[1] === '^' });
          this.pos += m[0].length;
          continue;
        }
      }
      if (c === '\\') {
        const item = this.classEscape();
        if (item) {
          items.push(item);
          continue;
        }
      }
      const rangeStart = this.pos;
      const lo = this.classChar(start);
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        hi = this.classChar(start);
        if (hi < lo) throw new RegexpError('invalid character class range', this.slice(rangeStart));
      }
      items.push({ test: range(lo, hi), neg: false });
    }
    this.pos++;
    return this.classNode(items, negate);
  }

  private classChar(classStart: number): number {
    const c = this.peek();
    if (c === undefined) throw new RegexpError('missing closing ]', this.slice(classStart));
    if (c === '\\') return this.escape();
    this.pos++;
    return c.codePointAt(0) ?? 0;
  }
}

// --- program -----------------------------------------------------------------------------------

enum Op {
  Match,
  Char,
  Split,
  Jmp,
  Save,
  Assert,
}

interface Inst {
  op: Op;
  x: number;
  y: number;
  pred?: Pred;
}

function nullable(n: Node): boolean {
  switch (n.op) {
    case 'empty':
    case 'assert':
    case 'star':
    case 'quest':
      return true;
    case 'lit':
    case 'class':
    case 'any':
      return false;
    case 'cap':
    case 'plus':
      return nullable(n.sub);
    case 'repeat':
      return n.min === 0 || nullable(n.sub);
    case 'concat':
      return n.subs.every(nullable);
    case 'alt':
      return n.subs.some(nullable);
  }
}

function predicate(n: Node & { op: 'lit' | 'class' | 'any' }): Pred {
  if (n.op === 'any') return n.nl ? () => true : (r) => r !== 0x0a;
  if (n.op === 'lit') {
    if (!n.fold) return (r) => r === n.r;
    const key = foldKey(n.r);
    return (r) => r === n.r || foldKey(r) === key;
  }
  const { items, negate, fold } = n;
  const itemMatch = fold
    ? (it: ClassItem, r: number) => it.neg !== orbit(r).some(it.test)
    : (it: ClassItem, r: number) => it.neg !== it.test(r);
  return (r) => negate !== items.some((it) => itemMatch(it, r));
}

class Compiler {
  readonly prog: Inst[] = [];

  private emit(op: Op, x = 0, y = 0, pred?: Pred): number {
    if (this.prog.length >= MAX_INSTS)
      throw new RegexpLimitError(`regexp: expression compiles to more than ${MAX_INSTS} instructions`);
    this.prog.push(pred ? { op, x, y, pred } : { op, x, y });
    return this.prog.length - 1;
  }

  private inst(pc: number): Inst {
    return this.prog[pc] as Inst;
  }

  compile(n: Node): void {
    switch (n.op) {
      case 'empty':
        return;
      case 'lit':
      case 'class':
      case 'any':
        this.emit(Op.Char, 0, 0, predicate(n));
        return;
      case 'assert':
        this.emit(Op.Assert, n.kind);
        return;
      case 'cap':
        this.emit(Op.Save, 2 * n.index);
        this.compile(n.sub);
        this.emit(Op.Save, 2 * n.index + 1);
        return;
      case 'concat':
        for (const s of n.subs) this.compile(s);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.subs.forEach((s, i) => {
          if (i < n.subs.length - 1) {
            const split = this.emit(Op.Split);
            this.inst(split).x = split + 1;
            this.compile(s);
            jumps.push(this.emit(Op.Jmp));
            this.inst(split).y = this.prog.length;
          } else this.compile(s);
        });
        for (const j of jumps) this.inst(j).x = this.prog.length;
        return;
      }
      case 'quest':
        this.quest(() => this.compile(n.sub), n.greedy);
        return;
      case 'plus':
        this.plus(() => this.compile(n.sub), n.greedy);
        return;
      case 'star':
        // Go compiles a star over a possibly empty body as (x+)? to keep priorities right.
        if (nullable(n.sub)) this.quest(() => this.plus(() => this.compile(n.sub), n.greedy), n.greedy);
        else this.star(() => this.compile(n.sub), n.greedy);
        return;
      case 'repeat':
        this.repeat(n);
        return;
    }
  }

  private split(greedy: boolean, here: number, there: number): void {
    const inst = this.inst(here);
    inst.x = greedy ? here + 1 : there;
    inst.y = greedy ? there : here + 1;
  }

  private quest(body: () => void, greedy: boolean): void {
    const s = this.emit(Op.Split);
    body();
    this.split(greedy, s, this.prog.length);
  }

  private plus(body: () => void, greedy: boolean): void {
    const start = this.prog.length;
    body();
    const s = this.emit(Op.Split);
    const inst = this.inst(s);
    inst.x = greedy ? start : s + 1;
    inst.y = greedy ? s + 1 : start;
  }

  private star(body: () => void, greedy: boolean): void {
    const s = this.emit(Op.Split);
    body();
    this.emit(Op.Jmp, s);
    this.split(greedy, s, this.prog.length);
  }

  // Go's simplification: x{n,m} is n copies of x then nested optional copies, x{n,} ends in x+.
  private repeat(n: Node & { op: 'repeat' }): void {
    const { sub, min, max, greedy } = n;
    if (max === -1) {
      for (let i = 0; i < min - 1; i++) this.compile(sub);
      this.compile(min === 0 ? { op: 'star', sub, greedy } : { op: 'plus', sub, greedy });
      return;
    }
    if (min === 0 && max === 0) return;
    for (let i = 0; i < min; i++) this.compile(sub);
    const optional = (k: number): void => {
      if (k === 0) return;
      this.quest(() => {
        this.compile(sub);
        optional(k - 1);
      }, greedy);
    };
    optional(max - min);
  }
}

// --- matching --------------------------------------------------------------------------------------

const isWordChar = (r: number): boolean =>
  (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a) || r === 0x5f;

function context(before: number, after: number): number {
  let op = Assert.NoWordBoundary as number;
  let boundary = 0;
  if (isWordChar(before)) boundary = 1;
  else if (before === 0x0a) op |= Assert.BeginLine;
  else if (before < 0) op |= Assert.BeginText | Assert.BeginLine;
  if (isWordChar(after)) boundary ^= 1;
  else if (after === 0x0a) op |= Assert.EndLine;
  else if (after < 0) op |= Assert.EndText | Assert.EndLine;
  if (boundary !== 0) op ^= Assert.WordBoundary | Assert.NoWordBoundary;
  return op;
}

interface Thread {
  pc: number;
  caps: number[];
}

/** A compiled Go regexp. Positions are indices into the input's code points. */
export class GoRegexp {
  private readonly prog: Inst[];
  readonly numSubexp: number;
  readonly subexpNames: string[];

  constructor(readonly expr: string) {
    const parser = new Parser(expr);
    const tree = parser.parse();
    this.numSubexp = parser.ncap;
    this.subexpNames = parser.names;
    const c = new Compiler();
    c.compile({ op: 'cap', index: 0, sub: tree });
    c.prog.push({ op: Op.Match, x: 0, y: 0 });
    this.prog = c.prog;
  }

  /** The leftmost-first match starting the search at `pos`: capture positions, or undefined. */
  exec(input: readonly number[], pos: number): number[] | undefined {
    const ncap = 2 * (this.numSubexp + 1);
    const n = input.length;
    const queue = (): Queue => ({ threads: [], seen: new Int32Array(this.prog.length), gen: 1 });
    let run = queue();
    let next = queue();
    let matched: number[] | undefined;
    let steps = 0;
    // Escaped bytes (see ../utf8.ts) are U+FFFD to the matcher, as invalid UTF-8 is to Go's.
    const at = (i: number) => {
      if (i < 0 || i >= n) return -1;
      const c = input[i] as number;
      return c >= 0xdc80 && c <= 0xdcff ? 0xfffd : c;
    };

    // The epsilon closure of pc at position p, appended to q in priority order (Go's m.add).
    const add = (q: Queue, pc0: number, p: number, caps: number[], cond: number) => {
      const stack: number[] = [pc0];
      const restore: number[] = [];
      while (stack.length > 0) {
        const pc = stack.pop() as number;
        if (pc < 0) {
          // A restore marker, -(slot + 1); the old value is on the restore stack.
          caps[-pc - 1] = restore.pop() as number;
          continue;
        }
        if (q.seen[pc] === q.gen) continue;
        q.seen[pc] = q.gen;
        if (++steps > MAX_STEPS)
          throw new RegexpLimitError(`regexp: matching \`${this.expr}\` takes too much work`);
        const inst = this.prog[pc] as Inst;
        switch (inst.op) {
          case Op.Split:
            stack.push(inst.y, inst.x);
            break;
          case Op.Jmp:
            stack.push(inst.x);
            break;
          case Op.Assert:
            if ((inst.x & cond) === inst.x) stack.push(pc + 1);
            break;
          case Op.Save:
            restore.push(caps[inst.x] as number);
            stack.push(-(inst.x + 1), pc + 1);
            caps[inst.x] = p;
            break;
          default:
            q.threads.push({ pc, caps: caps.slice() });
        }
      }
    };

    const startCaps = new Array<number>(ncap).fill(-1);
    let cond = context(at(pos - 1), at(pos));
    for (let p = pos; ; p++) {
      if (run.threads.length === 0 && matched) break;
      if (!matched) add(run, 0, p, startCaps.slice(), cond);
      const r = at(p);
      const nextCond = context(r, at(p + 1));
      for (const t of run.threads) {
        const inst = this.prog[t.pc] as Inst;
        if (inst.op === Op.Match) {
          t.caps[1] = p;
          matched = t.caps;
          break;
        }
        if (r >= 0 && inst.pred?.(r)) add(next, t.pc + 1, p + 1, t.caps, nextCond);
      }
      steps += run.threads.length;
      run.threads.length = 0;
      run.gen++;
      [run, next] = [next, run];
      cond = nextCond;
      if (p >= n) break;
    }
    return matched;
  }
}

interface Queue {
  threads: Thread[];
  seen: Int32Array;
  gen: number;
}

const codePoints = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0) ?? 0);
const fromCodePoints = (cps: readonly number[], start: number, end: number): string => {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCodePoint(cps[i] as number);
  return out;
};

// --- the regexp package's API over code points -------------------------------------------------------

/** regexp.Compile; throws RegexpError. */
export function compile(expr: string): GoRegexp {
  return new GoRegexp(expr);
}

/** Go's allMatches: successive non-overlapping matches, no empty match right after a match. */
function allMatches(re: GoRegexp, input: readonly number[], n: number): number[][] {
  const out: number[][] = [];
  const end = input.length;
  for (let pos = 0, prevMatchEnd = -1; out.length < n && pos <= end; ) {
    const m = re.exec(input, pos);
    if (!m) break;
    let accept = true;
    const [m0 = 0, m1 = 0] = m;
    if (m1 === pos) {
      if (m0 === prevMatchEnd) accept = false;
      pos = pos < end ? pos + 1 : end + 1;
    } else pos = m1;
    prevMatchEnd = m1;
    if (accept) out.push(m);
  }
  return out;
}

export function matchString(re: GoRegexp, s: string): boolean {
  return re.exec(codePoints(s), 0) !== undefined;
}

export function findString(re: GoRegexp, s: string): string {
  const input = codePoints(s);
  const m = re.exec(input, 0);
  return m ? fromCodePoints(input, m[0] ?? 0, m[1] ?? 0) : '';
}

/** FindStringSubmatch: undefined for no match, "" for groups that did not take part. */
export function findStringSubmatch(re: GoRegexp, s: string): string[] | undefined {
  const input = codePoints(s);
  const m = re.exec(input, 0);
  return m ? submatches(input, m) : undefined;
}

function submatches(input: readonly number[], m: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.length; i += 2) {
    const a = m[i] ?? -1;
    out.push(a < 0 ? '' : fromCodePoints(input, a, m[i + 1] ?? a));
  }
  return out;
}

/** FindAllString (n < 0: all); undefined is Go's nil (no match). */
export function findAllString(re: GoRegexp, s: string, n: number): string[] | undefined {
  const input = codePoints(s);
  const ms = allMatches(re, input, n < 0 ? input.length + 1 : n);
  if (ms.length === 0) return undefined;
  return ms.map((m) => fromCodePoints(input, m[0] ?? 0, m[1] ?? 0));
}

export function findAllStringSubmatch(re: GoRegexp, s: string, n: number): string[][] | undefined {
  const input = codePoints(s);
  const ms = allMatches(re, input, n < 0 ? input.length + 1 : n);
  if (ms.length === 0) return undefined;
  return ms.map((m) => submatches(input, m));
}

/** Regexp.Split. */
export function split(re: GoRegexp, s: string, n: number): string[] | undefined {
  if (n === 0) return undefined;
  if (re.expr.length > 0 && s.length === 0) return [''];
  const input = codePoints(s);
  const ms = allMatches(re, input, n < 0 ? input.length + 1 : n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of ms) {
    if (n > 0 && out.length === n - 1) break;
    end = m[0] ?? 0;
    if ((m[1] ?? 0) !== 0) out.push(fromCodePoints(input, beg, end));
    beg = m[1] ?? 0;
  }
  if (end !== input.length) out.push(fromCodePoints(input, beg, input.length));
  return out;
}

/** Regexp.replaceAll with a replacement built per match; `limit` bounds the result's length. */
export function replaceAll(
  re: GoRegexp,
  src: string,
  repl: (input: readonly number[], m: number[]) => string,
  limit: number,
): string {
  const input = codePoints(src);
  const end = input.length;
  const out: string[] = [];
  let size = 0;
  const write = (part: string) => {
    size += part.length;
    if (size > limit) throw new RangeError(`result larger than ${limit} bytes`);
    out.push(part);
  };
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= end) {
    const a = re.exec(input, searchPos);
    if (!a) break;
    const [a0 = 0, a1 = 0] = a;
    write(fromCodePoints(input, lastMatchEnd, a0));
    if (a1 > lastMatchEnd || a0 === 0) write(repl(input, a));
    lastMatchEnd = a1;
    const width = searchPos < end ? 1 : 0;
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  write(fromCodePoints(input, lastMatchEnd, end));
  return out.join('');
}

const isNameRune = /^[\p{L}\p{Nd}_]$/u;

/** Regexp.Expand's template language: $1, ${1}, $name, ${name}, $$. */
export function expand(re: GoRegexp, template: string, input: readonly number[], m: number[]): string {
  let out = '';
  let t = template;
  for (;;) {
    const i = t.indexOf('$');
    if (i < 0) break;
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t.startsWith('$')) {
      out += '$';
      t = t.slice(1);
      continue;
    }
    const ex = extract(t);
    if (!ex) {
      out += '$';
      continue;
    }
    t = ex.rest;
    let index = ex.num;
    if (index < 0) index = re.subexpNames.indexOf(ex.name);
    const a = m[2 * index] ?? -1;
    if (index >= 0 && 2 * index + 1 < m.length && a >= 0)
      out += fromCodePoints(input, a, m[2 * index + 1] ?? a);
  }
  return out + t;
}

function extract(s: string): { name: string; num: number; rest: string } | undefined {
  if (s === '') return undefined;
  let brace = false;
  if (s[0] === '{') {
    brace = true;
    s = s.slice(1);
  }
  const chars = Array.from(s);
  let i = 0;
  while (i < chars.length && isNameRune.test(chars[i] ?? '')) i++;
  if (i === 0) return undefined;
  const name = chars.slice(0, i).join('');
  if (brace) {
    if (i >= chars.length || chars[i] !== '}') return undefined;
    i++;
  }
  let num = 0;
  for (const c of name) {
    if (c < '0' || c > '9' || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (c.charCodeAt(0) - 48);
  }
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: chars.slice(i).join('') };
}

/** regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
