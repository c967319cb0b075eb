// The one parser of tunnel targets and allow entries: what it accepts, what it refuses, and that
// whatever it accepts reads back the same from its canonical text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AllowEntry,
  formatAllowEntry,
  formatTarget,
  isAllowed,
  parseAllowEntry,
  parseAllowList,
  parseTarget,
} from '../../shared/targets.js';

const meaning = (entry: AllowEntry) => ({ host: entry.host, network: entry.network, port: entry.port });

const label = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?$/);
const name = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join('.'))
  .filter((text) => !/^[0-9]+$|^0x[0-9a-f]*$/i.test(text.slice(text.lastIndexOf('.') + 1)));
const ipv6 = fc.ipV6().map((address) => `[${address}]`);
const host = fc.oneof(name, fc.ipV4(), ipv6);
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `[${a}/${bits}]`),
);
const validEntry = fc
  .tuple(fc.oneof(host, cidr), fc.oneof(port, fc.constant('*')))
  .map(([h, p]) => `${h}:${p}`);
const validTarget = fc.tuple(host, port).map(([h, p]) => `${h}:${p}`);
// Texts built from the characters the grammar cares about, plus a few it must refuse.
const noise = fc.string({
  unit: fc.constantFrom(...'[]:/.*-_0123456789abcdefxABCDEFX \t\u0000\u212a%'),
  maxLength: 40,
});
const mutated = fc
  .tuple(validEntry, fc.nat(), fc.constantFrom('', ':', '/', '[', ']', '*', '0', '_', ' ', '/33', '%'))
  .map(([text, at, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + 1);
  });
const anyText = fc.oneof(validEntry, validTarget, noise, mutated, fc.string({ maxLength: 60 }));

describe('allow entries', () => {
  it('accepts the forms it documents, IPv6 CIDRs included', () => {
    for (const text of [
      'db:5432',
      'kubernetes.default:*',
      '10.0.0.5:22',
      '10.0.0.0/24:6443',
      '0.0.0.0/0:443',
      '[::1]:22',
      '[fd00::1]:*',
      '[fd00::/8]:22',
      '[::/0]:*',
      '[::ffff:10.0.0.1]:22',
    ]) {
      expect(parseAllowEntry(text), text).toBeDefined();
    }
  });

  it('refuses what the tunnel could not use', () => {
    for (const text of [
      '_ssh:22',
      '10.0.0.0/33:22',
      'db/8:22',
      'db:70000',
      'db:0',
      'db:022',
      'db',
      ':22',
      'db:',
      'fd00::/8:22',
      'fd00::1:22',
      '[fd00::/129]:22',
      '[10.0.0.1]:22',
      '10.0.0.0/08:22',
      'a..b:22',
      '-a:22',
      'a-:22',
      '10.1:22',
      '0x7f000001:22',
      'db.1:22',
      ' db:22',
      'db:22 ',
      'db:22\u0000',
      '[::1%lo]:22',
      `${'a'.repeat(64)}:22`,
      `${'a.'.repeat(130)}b:22`,
      '\u212a8s:22',
    ]) {
      expect(parseAllowEntry(text), text).toBeUndefined();
    }
  });

  it('reads back the same entry from its canonical text, for anything it accepts', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const entry = parseAllowEntry(text);
        if (!entry) return;
        const canonical = formatAllowEntry(entry);
        const again = parseAllowEntry(canonical);
        expect(again && meaning(again)).toEqual(meaning(entry));
        expect(again && formatAllowEntry(again)).toBe(canonical);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every well-formed entry', () => {
    fc.assert(
      fc.property(validEntry, (text) => {
        expect(parseAllowEntry(text)).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('matches a CIDR entry against the addresses inside it', () => {
    const list = parseAllowList(['[fd00::/8]:22', '10.0.0.0/8:*']);
    expect(isAllowed(list, { host: 'fd12::1', port: 22 })).toBe(true);
    expect(isAllowed(list, { host: 'fd12::1', port: 23 })).toBe(false);
    expect(isAllowed(list, { host: 'fe80::1', port: 22 })).toBe(false);
    expect(isAllowed(list, { host: '10.200.0.1', port: 1 })).toBe(true);
    expect(isAllowed(list, { host: 'db', port: 22 }, 'fd00::5')).toBe(true);
  });

  it('names the bad entry of a list', () => {
    expect(() => parseAllowList(['db:22', '_ssh:22'])).toThrow(/"_ssh:22"/);
  });
});

describe('targets', () => {
  it('reads back the same target from its text, for anything it accepts', () => {
    fc.assert(
      fc.property(fc.oneof(validTarget, anyText), (text) => {
        const target = parseTarget(text);
        if (!target) return;
        expect(parseTarget(formatTarget(target))).toEqual(target);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every well-formed target, and its text as an allow entry allows exactly it', () => {
    fc.assert(
      fc.property(validTarget, validTarget, (text, other) => {
        const target = parseTarget(text);
        const entry = parseAllowEntry(text);
        expect(target).toBeDefined();
        expect(entry).toBeDefined();
        if (!target || !entry) return;
        expect(isAllowed([entry], target)).toBe(true);
        const second = parseTarget(other);
        if (second) expect(isAllowed([entry], second)).toBe(formatTarget(second) === formatTarget(target));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses ports out of range, wildcards and CIDRs', () => {
    for (const text of ['db:*', '10.0.0.0/8:22', 'db:65536', '[fd00::1]', 'fd00::1:22', '[db]:22']) {
      expect(parseTarget(text), text).toBeUndefined();
    }
    expect(parseTarget('[FD00:0::1]:22')).toEqual({ host: 'fd00::1', port: 22 });
    expect(parseTarget('DB.Internal:22')).toEqual({ host: 'db.internal', port: 22 });
  });
});
