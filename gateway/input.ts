// What the schemas cannot say about untrusted input. JSON bodies are parsed (prototype poisoning
// refused) and walked, without recursion, for what PostgreSQL cannot store or nothing should
// carry: NUL, lone surrogates, numbers JSON.parse turned into Infinity, nesting deeper than
// MAX_JSON_DEPTH (code that recurses, like audit masking, relies on it). Query strings and path
// parameters get the same checks once coerced. Refusals name the field.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CommanderError } from '../shared/errors.js';

/** The deepest a JSON body may nest. The body is level 1, so `values` holds at most 62 levels. */
export const MAX_JSON_DEPTH = 64;

// With the u flag a surrogate pair is one code point, so only lone surrogates match the range.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for
const UNSTORABLE = /[\u0000\ud800-\udfff]/u;
const SHOWN_KEY_LENGTH = 64;

/** Why this text cannot be stored (PostgreSQL refuses NUL; a lone surrogate is no UTF-8), or undefined. */
export function textProblem(text: string): string | undefined {
  const found = UNSTORABLE.exec(text);
  if (!found) return undefined;
  return found[0] === '\u0000'
    ? 'must not contain NUL (\\u0000)'
    : 'must not contain a lone surrogate (invalid Unicode)';
}

export interface InputIssue {
  /** `body/values/a/0`: where the refused value sits, keys as JSON pointer segments. */
  path: string;
  message: string;
}

interface Container {
  value: object;
  /** The body itself is level 1. */
  depth: number;
  parent?: Container;
  key?: string;
}

function pathOf(root: string, container: Container | undefined, last?: string): string {
  const keys = last === undefined ? [] : [last];
  for (let at = container; at?.key !== undefined; at = at.parent) keys.push(at.key);
  const shown = keys
    .reverse()
    .map((key) => (key.length > SHOWN_KEY_LENGTH ? `${key.slice(0, SHOWN_KEY_LENGTH)}…` : key))
    .map((key) => key.replace(/~/g, '~0').replace(/\//g, '~1'));
  return [root, ...shown].join('/');
}

function scalarProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return textProblem(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return 'is not a finite number';
  return undefined;
}

/** The first part of a parsed JSON value that must be refused, or undefined. */
export function findInvalidJson(value: unknown, root: string): InputIssue | undefined {
  if (value === null || typeof value !== 'object') {
    const problem = scalarProblem(value);
    return problem ? { path: root, message: problem } : undefined;
  }
  // Only containers are stacked, linked to their parents: a path is built for the one refusal.
  const stack: Container[] = [{ value, depth: 1 }];
  for (let container = stack.pop(); container; container = stack.pop()) {
    if (container.depth > MAX_JSON_DEPTH) {
      return { path: pathOf(root, container), message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
    }
    const depth = container.depth + 1;
    if (Array.isArray(container.value)) {
      const items: unknown[] = container.value;
      for (let i = 0; i < items.length; i++) {
        const child = items[i];
        if (child !== null && typeof child === 'object') {
          stack.push({ value: child, depth, parent: container, key: String(i) });
        } else {
          const problem = scalarProblem(child);
          if (problem) return { path: pathOf(root, container, String(i)), message: problem };
        }
      }
      continue;
    }
    const fields = container.value as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const keyProblem = textProblem(key);
      if (keyProblem) return { path: pathOf(root, container), message: `has a key that ${keyProblem}` };
      const child = fields[key];
      if (child !== null && typeof child === 'object') {
        stack.push({ value: child, depth, parent: container, key });
      } else {
        const problem = scalarProblem(child);
        if (problem) return { path: pathOf(root, container, key), message: problem };
      }
    }
  }
  return undefined;
}

function refusal(issue: InputIssue): CommanderError {
  return new CommanderError('VALIDATION_FAILED', `${issue.path} ${issue.message}`, [issue]);
}

/** The body a request without one stands for: `{}` when the route's schema accepts it. */
function emptyBody(request: FastifyRequest): object | undefined {
  const validate = request.getValidationFunction('body');
  const empty = {};
  // The validator fills in defaults, so the handler sees them as if they had been sent.
  return validate?.(empty) ? empty : undefined;
}

export function useCheckedInput(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    if (text === '') {
      // A route that takes no body (cancel, revoke) is called as well with an empty JSON one.
      if (!request.getValidationFunction('body')) return done(null, undefined);
      const empty = emptyBody(request);
      if (empty) return done(null, empty);
      return done(new CommanderError('INVALID_JSON', 'the body is empty; send a JSON document'), undefined);
    }
    parse(request, text as string, (error, value) => {
      if (error) return done(error, undefined);
      const issue = findInvalidJson(value, 'body');
      return issue ? done(refusal(issue), undefined) : done(null, value);
    });
  });
  app.addHook('preValidation', async (request) => {
    // A POST whose body is optional may come with none at all (curl -X POST without -d).
    if (request.body === undefined) request.body = emptyBody(request);
  });
  // After validation: ajv's query coercion reads "1e400" as Infinity, which then passes `maximum`.
  app.addHook('preHandler', async (request) => {
    const issue = findInvalidJson(request.params, 'params') ?? findInvalidJson(request.query, 'querystring');
    if (issue) throw refusal(issue);
  });
}
