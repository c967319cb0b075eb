// Masterminds/semver v3 as sprig exposes it: `semver` parses a *semver.Version (with its methods
// for templates), `semverCompare` checks a constraint. The package's own regular expressions run
// on the Go regexp engine, so their quirks (an empty operator alternative) behave as in Go.
import { GoInt, type GoObject, type Value } from '../value.js';
import { def, fail, str } from './go.js';
import { jsonString } from './json.js';
import { compile, findAllString, findAllStringSubmatch, findStringSubmatch, matchString } from './regexp.js';
import { goParseUint } from './strconv.js';

const SEMVER =
  '([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const CV =
  'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';

class Regexps {
  readonly version = compile(`^v?${SEMVER}$`);
  readonly constraint = compile(`^\\s*(${OPS})\\s*(${CV})\\s*$`);
  readonly range = compile(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`);
  readonly find = compile(`(${OPS})\\s*(${CV})`);
  readonly valid = compile(`^(\\s*(${OPS})\\s*(${CV})\\s*)((?:\\s+|,\\s*)(${OPS})\\s*(${CV})\\s*)*$`);
}

class SemverError extends Error {}

const NUM = '0123456789';
const ALLOWED = `abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-${NUM}`;
const containsOnly = (s: string, set: string): boolean => [...s].every((c) => set.includes(c));

function validatePrerelease(p: string): void {
  for (const part of p.split('.')) {
    if (containsOnly(part, NUM)) {
      if (part.length > 1 && part[0] === '0') throw new SemverError('Version segment starts with 0');
    } else if (!containsOnly(part, ALLOWED)) throw new SemverError('Invalid Prerelease string');
  }
}

function validateMetadata(m: string): void {
  for (const part of m.split('.'))
    if (!containsOnly(part, ALLOWED)) throw new SemverError('Invalid Metadata string');
}

function segment(s: string): bigint {
  const r = goParseUint(s, 10, 64);
  if (r === undefined || r.range) {
    throw new SemverError(
      `Error parsing version segment: strconv.ParseUint: parsing "${s}": value out of range`,
    );
  }
  return r.value;
}

/** A *semver.Version (or, from IncMajor & co, a semver.Version value). */
export class Version implements GoObject {
  readonly goKind: string;

  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly pre: string,
    readonly metadata: string,
    readonly original: string,
    readonly goType: string = '*semver.Version',
  ) {
    this.goKind = goType.startsWith('*') ? 'ptr' : 'struct';
  }

  toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre !== '') s += `-${this.pre}`;
    if (this.metadata !== '') s += `+${this.metadata}`;
    return s;
  }

  format(): string {
    return this.toString();
  }

  marshalJson(escapeHtml: boolean): string {
    return jsonString(this.toString(), escapeHtml);
  }

  compare(o: Version): number {
    for (const [a, b] of [
      [this.major, o.major],
      [this.minor, o.minor],
      [this.patch, o.patch],
    ] as const) {
      if (a !== b) return a < b ? -1 : 1;
    }
    if (this.pre === '' && o.pre === '') return 0;
    if (this.pre === '') return 1;
    if (o.pre === '') return -1;
    return comparePrerelease(this.pre, o.pre);
  }

  private with(changes: Partial<Pick<Version, 'major' | 'minor' | 'patch' | 'pre' | 'metadata'>>): Version {
    const next = new Version(
      changes.major ?? this.major,
      changes.minor ?? this.minor,
      changes.patch ?? this.patch,
      changes.pre ?? this.pre,
      changes.metadata ?? this.metadata,
      '',
      'semver.Version',
    );
    const prefix = this.original.startsWith('v') ? 'v' : '';
    return new Version(
      next.major,
      next.minor,
      next.patch,
      next.pre,
      next.metadata,
      prefix + next.toString(),
      'semver.Version',
    );
  }

  method(name: string) {
    const u64 = (n: bigint) => new GoInt(BigInt.asUintN(64, n), 'uint64');
    const other = (o: Value): Version =>
      o instanceof Version ? o : fail('invalid memory address or nil pointer dereference');
    switch (name) {
      case 'Major':
        return def([], 'uint64', () => u64(this.major));
      case 'Minor':
        return def([], 'uint64', () => u64(this.minor));
      case 'Patch':
        return def([], 'uint64', () => u64(this.patch));
      case 'Prerelease':
        return def([], 'string', () => this.pre);
      case 'Metadata':
        return def([], 'string', () => this.metadata);
      case 'Original':
        return this.goKind === 'ptr' ? def([], 'string', () => this.original) : undefined;
      case 'String':
        return def([], 'string', () => this.toString());
      case 'IncMajor':
        return def([], 'semver.Version', () =>
          this.with({ major: this.major + 1n, minor: 0n, patch: 0n, pre: '', metadata: '' }),
        );
      case 'IncMinor':
        return def([], 'semver.Version', () =>
          this.with({ minor: this.minor + 1n, patch: 0n, pre: '', metadata: '' }),
        );
      case 'IncPatch':
        return def([], 'semver.Version', () =>
          this.pre !== ''
            ? this.with({ pre: '', metadata: '' })
            : this.with({ patch: this.patch + 1n, pre: '', metadata: '' }),
        );
      case 'LessThan':
      case 'GreaterThan':
      case 'Equal':
        if (this.goKind !== 'ptr') return undefined;
        return def(['*semver.Version'], 'bool', (o) => {
          const c = this.compare(other(o));
          return name === 'LessThan' ? c < 0 : name === 'GreaterThan' ? c > 0 : c === 0;
        });
      case 'Compare':
        if (this.goKind !== 'ptr') return undefined;
        return def(['*semver.Version'], 'int', (o) => new GoInt(BigInt(this.compare(other(o))), 'int'));
      default:
        return undefined;
    }
  }
}

function comparePrerelease(v: string, o: string): number {
  const sparts = v.split('.');
  const oparts = o.split('.');
  for (let i = 0; i < Math.max(sparts.length, oparts.length); i++) {
    const d = comparePrePart(sparts[i] ?? '', oparts[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return -1;
  if (o === '') return 1;
  const oi = goParseUint(o, 10, 64);
  const si = goParseUint(s, 10, 64);
  const oBad = oi === undefined || oi.range === true;
  const sBad = si === undefined || si.range === true;
  if (oBad && sBad) return s > o ? 1 : -1;
  if (oBad) return -1;
  if (sBad) return 1;
  return (si?.value ?? 0n) > (oi?.value ?? 0n) ? 1 : -1;
}

function newVersion(re: Regexps, v: string): Version {
  const m = findStringSubmatch(re.version, v);
  if (!m) throw new SemverError('Invalid Semantic Version');
  const major = segment(m[1] ?? '');
  const minor = m[2] ? segment((m[2] ?? '').slice(1)) : 0n;
  const patch = m[3] ? segment((m[3] ?? '').slice(1)) : 0n;
  const pre = m[5] ?? '';
  const metadata = m[8] ?? '';
  if (pre !== '') validatePrerelease(pre);
  if (metadata !== '') validateMetadata(metadata);
  return new Version(major, minor, patch, pre, metadata, v);
}

interface Constraint {
  con: Version;
  orig: string;
  op: string;
  minorDirty: boolean;
  patchDirty: boolean;
  dirty: boolean;
}

const isX = (x: string): boolean => x === 'x' || x === '*' || x === 'X';

function parseConstraint(re: Regexps, c: string): Constraint {
  if (c.length === 0) {
    return {
      con: new Version(0n, 0n, 0n, '', '', '0.0.0'),
      orig: c,
      op: '',
      minorDirty: false,
      patchDirty: false,
      dirty: true,
    };
  }
  const m = findStringSubmatch(re.constraint, c);
  if (!m) throw new SemverError(`improper constraint: ${c}`);
  const [, op = '', orig = '', m3 = '', m4 = '', m5 = '', m6 = ''] = m;
  let ver = orig;
  let minorDirty = false;
  let patchDirty = false;
  let dirty = false;
  if (isX(m3) || m3 === '') {
    ver = `0.0.0${m6}`;
    dirty = true;
  } else if (isX(m4.replace(/^\./, '')) || m4 === '') {
    minorDirty = true;
    dirty = true;
    ver = `${m3}.0.0${m6}`;
  } else if (isX(m5.replace(/^\./, '')) || m5 === '') {
    dirty = true;
    patchDirty = true;
    ver = `${m3}${m4}.0${m6}`;
  }
  let con: Version;
  try {
    con = newVersion(re, ver);
  } catch {
    throw new SemverError('constraint Parser Error');
  }
  return { con, orig, op, minorDirty, patchDirty, dirty };
}

function rewriteRange(re: Regexps, i: string): string {
  const ms = findAllStringSubmatch(re.range, i, -1);
  if (!ms) return i;
  let o = i;
  for (const v of ms) o = o.replace(v[0] ?? '', `>= ${v[1]}, <= ${v[11]}`);
  return o;
}

function newConstraint(re: Regexps, c: string): Constraint[][] {
  c = rewriteRange(re, c);
  return c.split('||').map((v) => {
    if (!matchString(re.valid, v)) throw new SemverError(`improper constraint: ${v}`);
    const cs = findAllString(re.find, v, -1) ?? [v];
    return cs.map((s) => parseConstraint(re, s));
  });
}

function check(v: Version, c: Constraint): boolean {
  const pre = v.pre !== '' && c.con.pre === '';
  const cmp = () => v.compare(c.con);
  const tilde = () => {
    if (pre || cmp() < 0) return false;
    if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty)
      return true;
    if (v.major !== c.con.major) return false;
    return !(v.minor !== c.con.minor && !c.minorDirty);
  };
  switch (c.op) {
    case '':
    case '=':
      if (pre) return false;
      return c.dirty ? tilde() : cmp() === 0;
    case '!=':
      if (c.dirty) {
        if (v.pre !== '' && c.con.pre === '') return false;
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) {
          if (v.pre !== '' || c.con.pre !== '') return comparePrerelease(v.pre, c.con.pre) !== 0;
          return false;
        }
      }
      return cmp() !== 0;
    case '>':
      if (pre) return false;
      if (!c.dirty) return cmp() === 1;
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major || c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return cmp() === 1;
    case '<':
      return !pre && cmp() < 0;
    case '>=':
    case '=>':
      return !pre && cmp() >= 0;
    case '<=':
    case '=<':
      if (pre) return false;
      if (!c.dirty) return cmp() <= 0;
      if (v.major > c.con.major) return false;
      return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty);
    case '~':
    case '~>':
      return tilde();
    case '^':
      if (pre || cmp() < 0) return false;
      if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0n && v.major > 0n) return false;
      if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0n && v.minor > 0n) return false;
      return c.con.patch === v.patch;
    default:
      return false;
  }
}

export function semverFuncs() {
  let regexps: Regexps | undefined;
  const re = (): Regexps => {
    regexps ??= new Regexps();
    return regexps;
  };
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof SemverError) fail(e.message);
      throw e;
    }
  };
  return {
    semver: def(['string'], '*semver.Version', (v) => guard(() => newVersion(re(), str(v))), {
      canFail: true,
    }),
    semverCompare: def(
      ['string', 'string'],
      'bool',
      (c, v) =>
        guard(() => {
          const constraints = newConstraint(re(), str(c));
          const version = newVersion(re(), str(v));
          return constraints.some((and) => and.every((x) => check(version, x)));
        }),
      { canFail: true },
    ),
  };
}
