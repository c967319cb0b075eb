import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, test } from 'vitest';
import {
  Params,
  type Params as ParamsType,
  paramsProblems,
  patternProblem,
} from '../../shared/params/schema.js';
import { checkValues, RECORD_ID_KEY } from '../../shared/params/values.js';

const RECORD = '0b5e4f5c-7a43-4c1a-9d59-1d2a7a0d8e11';

const params: ParamsType = [
  { header: 'Cluster' },
  { key: 'masterCount', type: 'number', title: 'Masters', enum: [1, 3], default: 1 },
  { key: 'domain', type: 'string', title: 'Domain', format: 'url', optional: true },
  {
    key: 'prefix',
    type: 'string',
    title: 'Prefix',
    pattern: '^[a-z]+$',
    minLength: 2,
    maxLength: 8,
    immutable: true,
  },
  { key: 'replicas', type: 'number', title: 'Replicas', min: 1, max: 5, optional: true },
  { key: 'ha', type: 'boolean', title: 'HA', optional: true },
  {
    key: 'size',
    title: 'Size',
    select: [
      { text: 'small', value: { cpu: 2 } },
      { text: 'big', value: { cpu: 8 } },
    ],
    optional: true,
  },
  { key: 'master', title: 'Master host', catalog: 'hosts' },
  { key: 'workers', title: 'Workers', catalog: 'hosts', minItems: 0, maxItems: 3, optional: true },
];

describe('the parameter schema', () => {
  const check = TypeCompiler.Compile(Params);

  test('accepts Commander-format lists and refuses unknown keys', () => {
    expect(check.Check(params)).toBe(true);
    expect(check.Check([{ key: 'a', type: 'string', title: 'A', colour: 'red' }])).toBe(false);
    expect(check.Check([{ header: 'x', key: 'a' }])).toBe(false);
    expect(check.Check([{ key: 'a', type: 'date', title: 'A' }])).toBe(false);
    expect(check.Check([{ key: 'a', type: 'string', title: 'A', span: 5 }])).toBe(false);
  });

  test('names the rules a JSON Schema cannot say', () => {
    expect(paramsProblems(params)).toEqual([]);
    const bad: ParamsType = [
      { key: 'a', type: 'string', title: 'A' },
      { key: 'a', type: 'number', title: 'A again', min: 5, max: 1, default: 'x' },
      { key: 'b', type: 'number', title: 'B', pattern: 'x', minItems: 1 },
      { key: 'c', type: 'string', title: 'C', enum: ['x', 2] },
      { key: 'd', type: 'string', title: 'D', catalog: 'hosts' },
    ];
    expect(paramsProblems(bad).map((p) => p.path)).toEqual([
      'params/1/key',
      'params/1/min',
      'params/1/default',
      'params/2',
      'params/2',
      'params/3/enum/1',
      'params/4/type',
    ]);
  });

  test('refuses patterns that can run away or do not compile', () => {
    expect(patternProblem('^[a-z0-9-]+$')).toBeUndefined();
    expect(patternProblem('(a+)+$')).toMatch(/nest/);
    expect(patternProblem('(x*){2,}')).toMatch(/nest/);
    expect(patternProblem('(a)\\1')).toMatch(/backreferences/);
    expect(patternProblem('([a-z')).toMatch(/valid/);
  });
});

describe('checking values', () => {
  test('applies defaults, drops empty optionals and returns record references', () => {
    const checked = checkValues(params, {
      prefix: 'abc',
      domain: '',
      master: { [RECORD_ID_KEY]: RECORD, ip: '10.0.0.1' },
    });
    expect(checked.errors).toEqual([]);
    expect(checked.values).toEqual({
      masterCount: 1,
      prefix: 'abc',
      master: { [RECORD_ID_KEY]: RECORD, ip: '10.0.0.1' },
    });
    expect(checked.records).toEqual([{ key: 'master', recordIds: [RECORD] }]);
  });

  test('names each bad key', () => {
    const checked = checkValues(params, {
      masterCount: '3',
      domain: 'not a url',
      prefix: 'ABC',
      replicas: 9,
      ha: 'yes',
      size: { cpu: 4 },
      master: 'nope',
      workers: [RECORD, 'x'],
      extra: 1,
    });
    expect(Object.fromEntries(checked.errors.map((e) => [e.key, e.message]))).toEqual({
      extra: 'is not a parameter of this schema',
      masterCount: 'must be a number',
      domain: 'must be a valid url',
      prefix: 'must match the pattern ^[a-z]+$',
      replicas: 'must be at most 5',
      ha: 'must be a boolean',
      size: 'must be one of the select values',
      master: 'must name a record of catalog "hosts"',
      workers: 'item 1: must name a record of catalog "hosts"',
    });
  });

  test('holds immutable values to what is stored and requires required ones', () => {
    const previous = { prefix: 'abc', master: RECORD };
    expect(checkValues(params, { prefix: 'abd', master: RECORD }, { previous }).errors).toEqual([
      { key: 'prefix', message: 'is immutable: it cannot change once set' },
    ]);
    expect(checkValues(params, { prefix: 'abc', master: RECORD }, { previous }).errors).toEqual([]);
    expect(checkValues(params, {}).errors.map((e) => e.key)).toEqual(['prefix', 'master']);
  });

  test('counts string length in characters and bounds lists', () => {
    const list: ParamsType = [
      { key: 'names', type: 'string', title: 'N', maxLength: 2, minItems: 1, maxItems: 2 },
    ];
    expect(checkValues(list, { names: ['éé'] }).errors).toEqual([]);
    expect(checkValues(list, { names: ['a', 'b', 'c'] }).errors[0]?.message).toBe(
      'must have at most 2 items',
    );
    expect(checkValues(list, { names: 'a' }).errors[0]?.message).toBe('must be a list');
  });
});
