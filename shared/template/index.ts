// The template language: Go's text/template with sprig's functions. Public entry points: parse a
// text once into a Template, execute it many times; errors are TemplateErrors with a position.
import { builtinFuncs } from './builtins.js';
import { DEFAULT_LIMITS, ExecError, type ExecLimits, Executor } from './exec.js';
import type { Tree } from './node.js';
import { location, ParseError, parse } from './parse.js';
import { sprigFuncs } from './sprig/index.js';
import { displayString, encodeOutput, fromBytes, wellFormed } from './utf8.js';
import { fromJson, type GoFunc, type Value } from './value.js';

export type { ExecLimits } from './exec.js';
export { type GoFunc, GoFuncError, type Value } from './value.js';

/** A parse or execution error, with where in the template it happened (1-based). */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    /** The message without its "template: NAME:LINE:COLUMN: " prefix. */
    readonly reason: string = message,
  ) {
    super(message);
  }
}

export interface TemplateOptions {
  /** The template's name in error messages (Go's template.New(name)); "template" by default. */
  name?: string;
  /** Functions instead of sprig's (the builtins are always there). */
  funcs?: Readonly<Record<string, GoFunc>>;
  /** Execution bounds; the defaults fit any real template. */
  limits?: Partial<ExecLimits>;
}

/** A parsed template: parse once, execute many times. */
export class Template {
  private constructor(
    /** The template text as a Go string (see utf8.ts). */
    private readonly text: string,
    readonly name: string,
    private readonly trees: ReadonlyMap<string, Tree>,
    private readonly funcs: ReadonlyMap<string, GoFunc>,
    private readonly builtins: ReadonlyMap<string, GoFunc>,
    private readonly limits: ExecLimits,
  ) {}

  /** Parses `text` (a JS string) as Go's text/template does; throws TemplateError. */
  static parse(text: string, options: TemplateOptions = {}): Template {
    return Template.parseGoString(wellFormed(text), options);
  }

  /** Parses the template file's bytes exactly as Go reads them (invalid UTF-8 kept byte for byte). */
  static parseBytes(bytes: Uint8Array, options: TemplateOptions = {}): Template {
    return Template.parseGoString(fromBytes(bytes), options);
  }

  private static parseGoString(text: string, options: TemplateOptions): Template {
    const name = options.name ?? 'template';
    const funcs = new Map(Object.entries(options.funcs ?? sprigFuncs()));
    const builtins = new Map(Object.entries(builtinFuncs()));
    const hasFunction = (fn: string) => funcs.has(fn) || builtins.has(fn);
    let trees: Map<string, Tree>;
    try {
      trees = parse(text, name, hasFunction);
    } catch (e) {
      if (e instanceof ParseError) {
        const { column } = location(text, e.pos);
        throw new TemplateError(
          `template: ${name}:${e.line}:${column}: ${e.message}`,
          e.line,
          column,
          e.message,
        );
      }
      if (e instanceof RangeError) {
        throw new TemplateError(`template: ${name}:1:1: too deeply nested`, 1, 1, 'too deeply nested');
      }
      throw e;
    }
    return new Template(text, name, trees, funcs, builtins, { ...DEFAULT_LIMITS, ...options.limits });
  }

  /** Executes with `.` = `data`, a decoded JSON value; the output as a well-formed JS string. */
  execute(data: unknown): string {
    return displayString(this.executeValue(this.dataValue(data)));
  }

  /** Executes with `.` = `data`; the output's exact bytes, as Go writes them. */
  executeBytes(data: unknown): Uint8Array {
    return encodeOutput(this.executeValue(this.dataValue(data)));
  }

  /** Executes with `.` = a Go value; the output's exact bytes. */
  executeValueBytes(dot: Value): Uint8Array {
    return encodeOutput(this.executeValue(dot));
  }

  /** Executes with `.` = a Go value; the output as a Go string (see utf8.ts). */
  executeValue(dot: Value): string {
    const tree = this.trees.get(this.name) as Tree;
    const executor = new Executor(this.trees, this.funcs, this.builtins, this.limits, this.name, dot);
    try {
      return executor.run(tree, dot);
    } catch (e) {
      let reason: string;
      let pos: number;
      if (e instanceof ExecError) {
        reason = e.message;
        pos = e.pos;
      } else if (e instanceof RangeError) {
        // The JS stack or the string size gave out before our own bounds did.
        reason = `executing "${this.name}": too deep or too large (${e.message})`;
        pos = executor.position();
      } else throw e;
      const { line, column } = location(this.text, Math.max(pos, 0));
      throw new TemplateError(`template: ${this.name}:${line}:${column}: ${reason}`, line, column, reason);
    }
  }

  private dataValue(data: unknown): Value {
    try {
      return fromJson(data);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      const reason = 'the values are nested too deeply';
      throw new TemplateError(`template: ${this.name}:1:1: ${reason}`, 1, 1, reason);
    }
  }

  /** The names of the templates the text defines (the top-level one included). */
  templateNames(): string[] {
    return [...this.trees.keys()];
  }
}

/** Parses `text` as Go's text/template with sprig; throws TemplateError. */
export function parseTemplate(text: string, options: TemplateOptions = {}): Template {
  return Template.parse(text, options);
}

/**
 * Renders `text` as Go's text/template with sprig, `.` being `data` (a decoded JSON value, so
 * numbers are float64 as in Go). Returns exactly what Go prints; throws TemplateError.
 */
export function renderTemplate(text: string, data: unknown, options: { name?: string } = {}): string {
  return Template.parse(text, options).execute(data);
}
