import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivedUuid, isUuid, parseUuid } from '../../shared/ids.js';
import { compile, Uuid } from '../../shared/wire/schema.js';

describe('ids', () => {
  it('reads a UUID in either case as its canonical lower-case form, and nothing else', () => {
    const id = randomUUID();
    expect(parseUuid(id)).toBe(id);
    expect(parseUuid(id.toUpperCase())).toBe(id);
    for (const bad of [`urn:uuid:${id}`, `${id} `, id.slice(1), id.replace(/-/g, ''), '', '\u0000']) {
      expect(isUuid(bad), bad).toBe(false);
      expect(parseUuid(bad)).toBeUndefined();
    }
  });

  it('wire messages take the canonical form only', () => {
    const check = compile(Uuid());
    const id = randomUUID();
    expect(check(id)).toBe(true);
    expect(check(id.toUpperCase())).toBe(false);
  });

  it('derives a stable, canonical, version-5-shaped UUID from a name', () => {
    const id = derivedUuid('cluster/overview');
    expect(id).toBe(derivedUuid('cluster/overview'));
    expect(id).not.toBe(derivedUuid('cluster/upmeter'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(compile(Uuid())(id)).toBe(true);
  });
});
