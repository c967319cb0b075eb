// Checks a cluster's or a record's values against its parameter schema, the way the API and
// the web form both do: defaults applied, empty optional values dropped, immutable values kept,
// and catalog parameters returned as record references for the caller to resolve.
// Imports nothing from the programs: the web application uses it too.
import { fieldKind, fieldsOf, isList, PARAMS_LIMITS, type ParamField, type Params } from './schema.js';

/** The key a record carries when a template sees it (a record's own values may hold `id`). */
export const RECORD_ID_KEY = 'x-commander-record-id';

export interface ValueError {
  /** The parameter's key (the field the API names in its 422). */
  key: string;
  message: string;
}

export interface RecordReference {
  key: string;
  recordIds: string[];
}

export interface CheckedValues {
  /** The values to store: defaults applied, empty optional values left out. */
  values: Record<string, unknown>;
  errors: ValueError[];
  /** Catalog parameters: which records they name, to be resolved and bound by the caller. */
  records: RecordReference[];
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const FORMAT_CHECKS: Record<string, (text: string) => boolean> = {
  password: () => true,
  'date-time': (text) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(text) &&
    !Number.isNaN(Date.parse(text)),
  url: (text) => {
    try {
      return /^[a-z][a-z0-9+.-]*:$/i.test(new URL(text).protocol);
    } catch {
      return false;
    }
  },
  email: (text) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text),
  uuid: (text) => UUID.test(text),
  cuid: (text) => /^c[a-z0-9]{24}$/.test(text),
  cuid2: (text) => /^[a-z][a-z0-9]{1,31}$/.test(text),
  ulid: (text) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(text),
  emoji: (text) => /^(\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u.test(text),
};

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The record id a catalog value names: the id itself, or a record object carrying RECORD_ID_KEY. */
export function recordIdOf(value: unknown): string | undefined {
  if (typeof value === 'string') return UUID.test(value) ? value.toLowerCase() : undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return recordIdOf((value as Record<string, unknown>)[RECORD_ID_KEY]);
  }
  return undefined;
}

function itemProblem(field: ParamField, item: unknown): string | undefined {
  const kind = fieldKind(field);
  switch (kind) {
    case 'catalog':
      return recordIdOf(item) === undefined ? `must name a record of catalog "${field.catalog}"` : undefined;
    case 'select':
      return field.select?.some((choice) => sameValue(choice.value, item))
        ? undefined
        : 'must be one of the select values';
    case 'boolean':
      return typeof item === 'boolean' ? undefined : 'must be a boolean';
    case 'number':
      if (typeof item !== 'number' || !Number.isFinite(item)) return 'must be a number';
      if (field.min !== undefined && item < field.min) return `must be at least ${field.min}`;
      if (field.max !== undefined && item > field.max) return `must be at most ${field.max}`;
      break;
    case 'string': {
      if (typeof item !== 'string') return 'must be a string';
      if (item.length > PARAMS_LIMITS.valueLength)
        return `must be at most ${PARAMS_LIMITS.valueLength} characters`;
      const length = [...item].length;
      if (field.minLength !== undefined && length < field.minLength) {
        return `must be at least ${field.minLength} characters`;
      }
      if (field.maxLength !== undefined && length > field.maxLength)
        return `must be at most ${field.maxLength} characters`;
      if (field.format !== undefined && !FORMAT_CHECKS[field.format]?.(item))
        return `must be a valid ${field.format}`;
      if (field.pattern !== undefined && !new RegExp(field.pattern, 'u').test(item)) {
        return `must match the pattern ${field.pattern}`;
      }
      break;
    }
  }
  if (field.enum !== undefined && !field.enum.some((choice) => choice === item)) {
    return `must be one of ${field.enum.map((choice) => JSON.stringify(choice)).join(', ')}`;
  }
  return undefined;
}

/**
 * Checks `values` against `params`. `previous` is what is stored now (an update), so immutable
 * fields can be held to it. The params must already have passed `Params` and `paramsProblems`.
 */
export function checkValues(
  params: Params,
  values: Record<string, unknown>,
  options: { previous?: Record<string, unknown> } = {},
): CheckedValues {
  const fields = fieldsOf(params);
  const known = new Set(fields.map((field) => field.key));
  const result: CheckedValues = { values: {}, errors: [], records: [] };
  for (const key of Object.keys(values)) {
    if (!known.has(key)) result.errors.push({ key, message: 'is not a parameter of this schema' });
  }
  for (const field of fields) {
    const fail = (message: string) => result.errors.push({ key: field.key, message });
    let value = Object.hasOwn(values, field.key) ? values[field.key] : undefined;
    if (isEmpty(value) && field.default !== undefined) value = field.default;
    const before = options.previous?.[field.key];
    if (field.immutable && !isEmpty(before) && !sameValue(before, value)) {
      fail('is immutable: it cannot change once set');
      continue;
    }
    if (isEmpty(value)) {
      if (!field.optional) fail('is required');
      continue;
    }
    const items = isList(field) ? value : [value];
    if (!Array.isArray(items)) {
      fail('must be a list');
      continue;
    }
    if (field.minItems !== undefined && items.length < field.minItems) {
      fail(`must have at least ${field.minItems} items`);
      continue;
    }
    if (field.maxItems !== undefined && items.length > field.maxItems) {
      fail(`must have at most ${field.maxItems} items`);
      continue;
    }
    const problems = items.map((item) => itemProblem(field, item));
    const first = problems.findIndex((problem) => problem !== undefined);
    if (first >= 0) {
      fail(isList(field) ? `item ${first}: ${problems[first]}` : (problems[first] as string));
      continue;
    }
    if (fieldKind(field) === 'catalog') {
      result.records.push({ key: field.key, recordIds: items.map((item) => recordIdOf(item) as string) });
    }
    result.values[field.key] = value;
  }
  return result;
}
