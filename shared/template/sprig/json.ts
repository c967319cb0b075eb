// encoding/json for template values: Marshal (HTML-escaped), MarshalIndent, an Encoder without
// HTML escaping, and Unmarshal into interface{} — as sprig's toJson family and fromJson use them.
import { GoComplex, GoInt, GoMap, GoSlice, type Value, fromJson as valueFromJson } from '../value.js';
import { checkLength, def, fail, MAX_OUTPUT, str } from './go.js';
import { sortStrings } from './strings.js';

/** A Go value that encodes itself (a json.Marshaler or a struct): returns the JSON text. */
interface JsonMarshaler {
  marshalJson(escapeHtml: boolean): string;
}

const isMarshaler = (v: object): v is JsonMarshaler & object =>
  typeof (v as Partial<JsonMarshaler>).marshalJson === 'function';

class JsonError extends Error {}

const HEX = '0123456789abcdef';

/** encoding/json's string encoding (\u003c for <, > and & when escaping HTML). */
export function jsonString(s: string, escapeHtml: boolean): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || (escapeHtml && (c === 0x3c || c === 0x3e || c === 0x26))) {
      if (c === 0x22) esc = '\\"';
      else if (c === 0x5c) esc = '\\\\';
      else if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else esc = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    } else if (c === 0x2028 || c === 0x2029) esc = `\\u202${HEX[c & 0xf]}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const pair = c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      if (pair) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out + s.slice(start)}"`;
}

/** Go's float64 encoding in JSON: shortest digits, exponent below 1e-6 and from 1e21. */
function jsonFloat(f: number): string {
  if (!Number.isFinite(f))
    throw new JsonError(`json: unsupported value: ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  if (Object.is(f, -0)) return '-0';
  return String(f);
}

const MAX_DEPTH = 10_000;

function encode(
  v: Value,
  escapeHtml: boolean,
  path: Set<object>,
  depth: number,
  out: string[],
  size: { n: number },
): void {
  const push = (s: string) => {
    size.n += s.length;
    if (size.n > MAX_OUTPUT) fail(`json: result larger than ${MAX_OUTPUT} bytes`);
    out.push(s);
  };
  if (v === null || v === undefined) push('null');
  else if (typeof v === 'boolean') push(v ? 'true' : 'false');
  else if (typeof v === 'string') push(jsonString(v, escapeHtml));
  else if (typeof v === 'number') push(jsonFloat(v));
  else if (v instanceof GoInt) push(v.value.toString());
  else encodeComposite(v, escapeHtml, path, depth, out, size, push);
}

function encodeComposite(
  v: object & Value,
  escapeHtml: boolean,
  path: Set<object>,
  depth: number,
  out: string[],
  size: { n: number },
  push: (s: string) => void,
): void {
  if (depth > MAX_DEPTH) throw new JsonError('json: nesting too deep');
  if (v instanceof GoSlice || v instanceof GoMap) {
    if (path.has(v)) throw new JsonError(`json: unsupported value: encountered a cycle via ${goTypeOf(v)}`);
    path.add(v);
    if (v instanceof GoSlice) {
      push('[');
      v.items.forEach((item, i) => {
        if (i > 0) push(',');
        encode(item, escapeHtml, path, depth + 1, out, size);
      });
      push(']');
    } else {
      push('{');
      sortStrings([...v.entries.keys()]).forEach((key, i) => {
        if (i > 0) push(',');
        push(`${jsonString(key, escapeHtml)}:`);
        encode(v.entries.get(key), escapeHtml, path, depth + 1, out, size);
      });
      push('}');
    }
    path.delete(v);
  } else if (isMarshaler(v)) push(v.marshalJson(escapeHtml));
  else if (v instanceof GoComplex) throw new JsonError('json: unsupported type: complex128');
  else if ('format' in v) push(jsonString(v.format(), escapeHtml));
}

const goTypeOf = (v: GoSlice | GoMap): string =>
  v instanceof GoSlice ? `[]${v.elem}` : `map[string]${v.elem}`;

/** json.Marshal (escapeHtml) or an Encoder with SetEscapeHTML(false); throws JsonError. */
function marshal(v: Value, escapeHtml: boolean): string {
  const out: string[] = [];
  encode(v, escapeHtml, new Set(), 0, out, { n: 0 });
  return out.join('');
}

/** json.Indent(dst, src, "", "  ") over compact JSON. */
function indent(json: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let needIndent = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < json.length; i++) {
    const c = json[i] ?? '';
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) needIndent = false;
        else {
          depth--;
          out += newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  checkLength(out.length, 'toPrettyJson');
  return out;
}

/** json.Unmarshal into interface{}; a number beyond float64 is Go's error (it decodes as nil). */
function unmarshal(s: string): { value: Value; error?: string } {
  let error: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(s, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        error ??= 'json: cannot unmarshal number into Go value of type float64';
        return null;
      }
      return v;
    });
  } catch (e) {
    return { value: null, error: e instanceof Error ? e.message : String(e) };
  }
  return { value: valueFromJson(parsed), ...(error !== undefined ? { error } : {}) };
}

function attempt(f: () => string): { ok: string } | { error: string } {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof JsonError) return { error: e.message };
    throw e;
  }
}

export function jsonFuncs() {
  const must = (f: (v: Value) => string, canFail = true) =>
    def(
      ['interface {}'],
      'string',
      (v) => {
        const r = attempt(() => f(v));
        return 'ok' in r ? r.ok : fail(r.error);
      },
      { canFail },
    );
  const lenient = (f: (v: Value) => string) =>
    def(['interface {}'], 'string', (v) => {
      const r = attempt(() => f(v));
      return 'ok' in r ? r.ok : '';
    });
  const toJson = (v: Value) => marshal(v, true);
  const toPrettyJson = (v: Value) => indent(marshal(v, true));
  const toRawJson = (v: Value) => marshal(v, false);
  return {
    toJson: lenient(toJson),
    mustToJson: must(toJson),
    toPrettyJson: lenient(toPrettyJson),
    mustToPrettyJson: must(toPrettyJson),
    // toRawJson panics where the others return "".
    toRawJson: must(toRawJson, false),
    mustToRawJson: must(toRawJson),
    fromJson: def(['string'], 'interface {}', (s) => unmarshal(str(s)).value),
    mustFromJson: def(
      ['string'],
      'interface {}',
      (s) => {
        const r = unmarshal(str(s));
        return r.error !== undefined ? fail(r.error) : r.value;
      },
      { canFail: true },
    ),
  };
}
