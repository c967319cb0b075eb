// Commander's input-parameter schema: the list of header rows and fields that a template
// version declares for its clusters and a catalog declares for its records. One TypeBox schema
// is the API's validator and the TypeScript type; `paramsProblems` adds the rules a JSON Schema
// cannot say (unique keys, defaults of the right type, regexes that cannot run away).
// Imports nothing from the programs: the web application uses it too.
import { type Static, Type } from '@sinclair/typebox';

export const PARAM_TYPES = ['string', 'number', 'boolean'] as const;
export const PARAM_FORMATS = [
  'password',
  'date-time',
  'url',
  'email',
  'uuid',
  'cuid',
  'cuid2',
  'ulid',
  'emoji',
] as const;

export const PARAMS_LIMITS = {
  items: 500,
  keyLength: 100,
  titleLength: 200,
  descriptionLength: 4000,
  choices: 1000,
  patternLength: 500,
  /** A value longer than this is refused before any pattern runs on it. */
  valueLength: 64 * 1024,
  listItems: 1000,
} as const;

const scalar = Type.Union([
  Type.String({ maxLength: PARAMS_LIMITS.valueLength }),
  Type.Number(),
  Type.Boolean(),
]);

export const ParamHeader = Type.Object(
  { header: Type.String({ minLength: 1, maxLength: PARAMS_LIMITS.titleLength }) },
  { additionalProperties: false },
);

export const ParamField = Type.Object(
  {
    key: Type.String({
      minLength: 1,
      maxLength: PARAMS_LIMITS.keyLength,
      pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
    }),
    type: Type.Optional(Type.Union(PARAM_TYPES.map((t) => Type.Literal(t)))),
    title: Type.String({ minLength: 1, maxLength: PARAMS_LIMITS.titleLength }),
    description: Type.Optional(Type.String({ maxLength: PARAMS_LIMITS.descriptionLength })),
    default: Type.Optional(Type.Unknown()),
    optional: Type.Optional(Type.Boolean()),
    immutable: Type.Optional(Type.Boolean()),
    enum: Type.Optional(Type.Array(scalar, { minItems: 1, maxItems: PARAMS_LIMITS.choices })),
    select: Type.Optional(
      Type.Array(
        Type.Object(
          {
            text: Type.String({ minLength: 1, maxLength: PARAMS_LIMITS.titleLength }),
            value: Type.Record(Type.String(), Type.Unknown()),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: PARAMS_LIMITS.choices },
      ),
    ),
    format: Type.Optional(Type.Union(PARAM_FORMATS.map((f) => Type.Literal(f)))),
    span: Type.Optional(Type.Integer({ minimum: 1, maximum: 4 })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    minLength: Type.Optional(Type.Integer({ minimum: 0, maximum: PARAMS_LIMITS.valueLength })),
    maxLength: Type.Optional(Type.Integer({ minimum: 0, maximum: PARAMS_LIMITS.valueLength })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: PARAMS_LIMITS.patternLength })),
    catalog: Type.Optional(
      Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' }),
    ),
    minItems: Type.Optional(Type.Integer({ minimum: 0, maximum: PARAMS_LIMITS.listItems })),
    maxItems: Type.Optional(Type.Integer({ minimum: 0, maximum: PARAMS_LIMITS.listItems })),
    autoselect: Type.Optional(Type.Boolean()),
    identifier: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const Param = Type.Union([ParamHeader, ParamField]);
export const Params = Type.Array(Param, { maxItems: PARAMS_LIMITS.items });

export type ParamHeader = Static<typeof ParamHeader>;
export type ParamField = Static<typeof ParamField>;
export type Param = Static<typeof Param>;
export type Params = Static<typeof Params>;

export interface ParamProblem {
  /** Where, e.g. `params/3/default`. */
  path: string;
  message: string;
}

export function isField(param: Param): param is ParamField {
  return 'key' in param;
}

export function fieldsOf(params: Params): ParamField[] {
  return params.filter(isField);
}

/** What kind of value a field takes, one item of it when it is a list. */
export function fieldKind(field: ParamField): 'string' | 'number' | 'boolean' | 'select' | 'catalog' {
  if (field.catalog !== undefined) return 'catalog';
  if (field.select !== undefined) return 'select';
  return field.type ?? 'string';
}

export function isList(field: ParamField): boolean {
  return field.minItems !== undefined || field.maxItems !== undefined;
}

/**
 * A pattern is compiled with JavaScript's engine, which backtracks: a nested quantifier such as
 * `(a+)+` can take exponential time on a short value. Such patterns are refused up front.
 */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
  if (/\\[1-9k]|\(\?<?[=!]/.test(pattern)) return 'must not use backreferences or lookaround';
  // A group that holds a quantifier and is itself quantified: (…+…)+, (…*…){2,}, …
  if (/\((?:[^()\\]|\\.)*[+*}?](?:[^()\\]|\\.)*\)\s*[+*{]/.test(pattern)) {
    return 'must not nest quantifiers (such as (a+)+): they can take exponential time';
  }
  return undefined;
}

/** The rules of a parameter list beyond its JSON Schema. Empty when the list is sound. */
export function paramsProblems(params: Params): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const seen = new Set<string>();
  params.forEach((param, index) => {
    if (!isField(param)) return;
    const at = (field: string) => `params/${index}${field ? `/${field}` : ''}`;
    const add = (field: string, message: string) => problems.push({ path: at(field), message });
    if (seen.has(param.key)) add('key', `duplicate key "${param.key}"`);
    seen.add(param.key);
    const kinds = [param.catalog, param.select, param.enum].filter((k) => k !== undefined).length;
    if (kinds > 1) add('', 'only one of catalog, select and enum may be given');
    if ((param.catalog !== undefined || param.select !== undefined) && param.type !== undefined) {
      add('type', 'is not used with catalog or select');
    }
    const kind = fieldKind(param);
    if (
      (param.format !== undefined || param.pattern !== undefined || param.minLength !== undefined) &&
      kind !== 'string'
    ) {
      add('', 'format, pattern and minLength apply to strings only');
    }
    if (param.maxLength !== undefined && kind !== 'string') add('maxLength', 'applies to strings only');
    if ((param.min !== undefined || param.max !== undefined) && kind !== 'number')
      add('', 'min and max apply to numbers only');
    if (param.min !== undefined && param.max !== undefined && param.min > param.max)
      add('min', 'is greater than max');
    if (param.minLength !== undefined && param.maxLength !== undefined && param.minLength > param.maxLength) {
      add('minLength', 'is greater than maxLength');
    }
    if ((param.minItems === undefined) !== (param.maxItems === undefined)) {
      add('', 'minItems and maxItems are given together or not at all');
    }
    if (param.minItems !== undefined && param.maxItems !== undefined && param.minItems > param.maxItems) {
      add('minItems', 'is greater than maxItems');
    }
    if (param.autoselect !== undefined && kind !== 'catalog')
      add('autoselect', 'applies to catalog parameters only');
    if (param.pattern !== undefined) {
      const problem = patternProblem(param.pattern);
      if (problem) add('pattern', problem);
    }
    param.enum?.forEach((choice, i) => {
      if (typeof choice !== kind) add(`enum/${i}`, `must be a ${kind}`);
    });
    if (param.default !== undefined && kind !== 'catalog') {
      const problem = defaultProblem(param);
      if (problem) add('default', problem);
    }
    if (param.default !== undefined && kind === 'catalog') add('default', 'is not used with catalog');
  });
  return problems;
}

function defaultProblem(field: ParamField): string | undefined {
  const items = isList(field) ? field.default : [field.default];
  if (!Array.isArray(items)) return 'must be a list';
  for (const item of items) {
    const kind = fieldKind(field);
    if (kind === 'select') {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        return 'must be one of the select values';
    } else if (typeof item !== kind) {
      return `must be a ${kind}`;
    }
  }
  return undefined;
}
