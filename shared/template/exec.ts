// Execution of parsed templates (Go's text/template exec.go): walking the tree with dot and
// variables, evaluating pipelines, calling functions with Go's argument rules, printing values.
// Bounded: output size, template call depth and evaluation steps, so no input can hang or crash.
import { isTrue, REFLECT_VALUE, zeroValue } from './builtins.js';
import { compareStrings, formatValue, sprintf, typeName } from './fmt.js';
import type {
  AnyNode,
  Arg,
  BranchNode,
  ChainNode,
  CommandNode,
  IdentifierNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  Tree,
  VariableNode,
} from './node.js';
import { nodeString } from './node.js';
import {
  GoComplex,
  type GoFunc,
  GoFuncError,
  GoInt,
  GoMap,
  GoSlice,
  isGoObject,
  type Value,
} from './value.js';

/** Limits on one execution. */
export interface ExecLimits {
  /** Most characters of output (UTF-16 code units). */
  maxOutput: number;
  /** Deepest nesting of {{template}} calls (Go allows 100000; a JS stack allows fewer). */
  maxDepth: number;
  /** Most evaluation steps (actions, commands and range iterations). */
  maxSteps: number;
}

export const DEFAULT_LIMITS: ExecLimits = {
  maxOutput: 16 * 1024 * 1024,
  maxDepth: 1000,
  maxSteps: 10_000_000,
};

/** An execution error: Go's message and the node it happened at. */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** The operand of a command that is not the first in its pipeline: the previous command's value. */
const MISSING: unique symbol = Symbol('missing');
type Final = Value | typeof MISSING;

enum Flow {
  Normal,
  Break,
  Continue,
}

interface Variable {
  name: string;
  value: Value;
}

const INT_BITS: Record<string, number> = {
  int: 64,
  int8: 8,
  int16: 16,
  int32: 32,
  int64: 64,
  uint: 64,
  uint8: 8,
  uint16: 16,
  uint32: 32,
  uint64: 64,
  uintptr: 64,
};

/** Whether a value of Go type `typ` may be nil. */
function canBeNil(typ: string): boolean {
  return (
    typ === REFLECT_VALUE ||
    typ.startsWith('*') ||
    typ.startsWith('[]') ||
    typ.startsWith('map[') ||
    typ.startsWith('func') ||
    typ.startsWith('chan') ||
    typ.startsWith('interface') ||
    typ === 'error'
  );
}

/** The Go type of a value, as reflect reports it; a nil from a map or slice is an interface {}. */
function goTypeOf(v: Value): string {
  return v === null ? 'interface {}' : typeName(v);
}

/** The state of one execution (Go's exec state). */
export class Executor {
  private out = '';
  private vars: Variable[];
  private node: AnyNode | undefined;
  private tmplName: string;
  private depth = 0;
  private steps = 0;

  constructor(
    private readonly trees: ReadonlyMap<string, Tree>,
    private readonly funcs: ReadonlyMap<string, GoFunc>,
    private readonly builtins: ReadonlyMap<string, GoFunc>,
    private readonly limits: ExecLimits,
    name: string,
    dot: Value,
  ) {
    this.tmplName = name;
    this.vars = [{ name: '$', value: dot }];
  }

  /** Runs the template `name` with `dot`; returns the output. */
  run(tree: Tree, dot: Value): string {
    this.walk(dot, tree.root);
    return this.out;
  }

  /** Where execution is (or was when it stopped). */
  position(): number {
    return this.node?.pos ?? 0;
  }

  errorf(message: string): never {
    throw new ExecError(
      this.node === undefined
        ? `template: ${this.tmplName}: ${message}`
        : `executing "${this.tmplName}" at <${contextOf(this.node)}>: ${message}`,
      this.node?.pos ?? -1,
    );
  }

  private step(): void {
    if (++this.steps > this.limits.maxSteps) {
      this.errorf(`template execution exceeded ${this.limits.maxSteps} steps`);
    }
  }

  private write(s: string): void {
    this.out += s;
    if (this.out.length > this.limits.maxOutput) {
      this.errorf(`template output exceeds ${this.limits.maxOutput} characters`);
    }
  }

  private walk(dot: Value, node: Node): Flow {
    this.node = node;
    switch (node.kind) {
      case 'text':
        this.write(node.text);
        return Flow.Normal;
      case 'action': {
        this.step();
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return Flow.Normal;
      }
      case 'list':
        return this.walkList(dot, node);
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        this.walkTemplate(dot, node);
        return Flow.Normal;
      case 'break':
        return Flow.Break;
      case 'continue':
        return Flow.Continue;
      case 'comment':
        return Flow.Normal;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkList(dot: Value, list: ListNode): Flow {
    for (const n of list.nodes) {
      const flow = this.walk(dot, n);
      if (flow !== Flow.Normal) return flow;
    }
    return Flow.Normal;
  }

  private walkIfOrWith(dot: Value, node: BranchNode): Flow {
    const mark = this.vars.length;
    this.step();
    const val = this.evalPipeline(dot, node.pipe);
    const truth = isTrue(val);
    if (truth === undefined) this.errorf(`if/with can't use ${formatValue(val)}`);
    let flow = Flow.Normal;
    if (truth) flow = this.walkList(node.kind === 'with' ? val : dot, node.list);
    else if (node.elseList) flow = this.walkList(dot, node.elseList);
    this.vars.length = mark;
    return flow;
  }

  private setTopVar(n: number, value: Value): void {
    const v = this.vars[this.vars.length - n];
    if (v === undefined) this.errorf('range variable out of scope');
    v.value = value;
  }

  private walkRange(dot: Value, r: BranchNode): Flow {
    this.node = r;
    const outer = this.vars.length;
    this.step();
    const val = this.evalPipeline(dot, r.pipe);
    const mark = this.vars.length;
    const declared = r.pipe.decl.length;
    const oneIteration = (index: Value, elem: Value): Flow => {
      this.step();
      if (declared > 0) this.setTopVar(1, elem);
      if (declared > 1) this.setTopVar(2, index);
      const flow = this.walkList(elem, r.list);
      this.vars.length = mark;
      return flow;
    };
    let ranOver = false;
    if (val instanceof GoSlice) {
      const items = val.items;
      for (let i = 0; i < items.length; i++) {
        ranOver = true;
        if (oneIteration(new GoInt(BigInt(i)), items[i]) === Flow.Break) break;
      }
    } else if (val instanceof GoMap) {
      const keys = sortedKeys(val);
      for (const key of keys) {
        ranOver = true;
        if (oneIteration(key, val.entries.get(key)) === Flow.Break) break;
      }
    } else if (val !== undefined && val !== null) {
      this.errorf(`range can't iterate over ${formatValue(val)}`);
    }
    if (!ranOver && r.elseList) {
      const flow = this.walkList(dot, r.elseList);
      this.vars.length = outer;
      return flow;
    }
    this.vars.length = outer;
    return Flow.Normal;
  }

  private walkTemplate(dot: Value, t: TemplateNode): void {
    this.node = t;
    const tree = this.trees.get(t.name);
    if (tree === undefined) this.errorf(`template ${sprintf('%q', t.name)} not defined`);
    if (this.depth >= this.limits.maxDepth)
      this.errorf(`exceeded maximum template depth (${this.limits.maxDepth})`);
    this.step();
    const newDot = t.pipe ? this.evalPipeline(dot, t.pipe) : undefined;
    const vars = this.vars;
    const name = this.tmplName;
    this.vars = [{ name: '$', value: newDot }];
    this.tmplName = t.name;
    this.depth++;
    this.walk(newDot, tree.root);
    this.depth--;
    this.vars = vars;
    this.tmplName = name;
  }

  evalPipeline(dot: Value, pipe: PipeNode): Value {
    this.node = pipe;
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // A nil interface{} is an invalid value from here on (Go's "lovely!" unwrapping).
      if (value === null) value = undefined;
    }
    const result = value as Value;
    for (const variable of pipe.decl) {
      const name = variable.ident[0] as string;
      if (pipe.isAssign) this.setVar(name, result);
      else this.vars.push({ name, value: result });
    }
    return result;
  }

  private setVar(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Variable;
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Variable;
      if (v.name === name) return v.value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private notAFunction(args: readonly Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0] as Arg)}`);
    }
  }

  private evalCommand(dot: Value, cmd: CommandNode, final: Final): Value {
    this.step();
    const first = cmd.args[0] as Arg;
    switch (first.kind) {
      case 'field':
        this.node = first;
        return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.node = first;
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
        break;
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${sprintf('%q', nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): Value {
    this.node = n;
    const ideal = n.ideal;
    if (typeof ideal === 'object' && ideal !== null && 'error' in ideal) this.errorf(ideal.error as string);
    return ideal as Value;
  }

  private evalChainNode(dot: Value, chain: ChainNode, args: readonly Arg[], final: Final): Value {
    this.node = chain;
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: Value, v: VariableNode, args: readonly Arg[], final: Final): Value {
    this.node = v;
    const value = this.varValue(v.ident[0] as string);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(
    dot: Value,
    receiver: Value,
    node: AnyNode,
    ident: readonly string[],
    args: readonly Arg[] | undefined,
    final: Final,
  ): Value {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++)
      receiver = this.evalField(dot, ident[i] as string, node, undefined, MISSING, receiver);
    return this.evalField(dot, ident[n - 1] as string, node, args, final, receiver);
  }

  private evalFunction(
    dot: Value,
    node: IdentifierNode,
    cmd: AnyNode,
    args: readonly Arg[] | undefined,
    final: Final,
  ): Value {
    this.node = node;
    const name = node.ident;
    const fn = this.funcs.get(name);
    if (fn !== undefined) return this.evalCall(dot, fn, false, cmd, name, args, final);
    const builtin = this.builtins.get(name);
    if (builtin === undefined) this.errorf(`${sprintf('%q', name)} is not a defined function`);
    return this.evalCall(dot, builtin, true, cmd, name, args, final);
  }

  private evalField(
    dot: Value,
    fieldName: string,
    node: AnyNode,
    args: readonly Arg[] | undefined,
    final: Final,
    receiver: Value,
  ): Value {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== undefined && args.length > 1) || final !== MISSING;
    if (receiver instanceof GoMap) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      return receiver.entries.get(fieldName);
    }
    if (isGoObject(receiver)) {
      const method = receiver.method?.(fieldName);
      if (method !== undefined) return this.evalCall(dot, method, false, node, fieldName, args, final);
      const field = receiver.field?.(fieldName);
      if (field !== undefined) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        return field;
      }
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${goTypeOf(receiver)}`);
  }

  private evalCall(
    dot: Value,
    fn: GoFunc,
    isBuiltin: boolean,
    node: AnyNode,
    name: string,
    argNodes: readonly Arg[] | undefined,
    final: Final,
  ): Value {
    // argNodes[0] is the function's own node; the arguments follow it.
    const numArgs = argNodes ? argNodes.length - 1 : 0;
    const params = fn.params;
    const variadic = fn.variadic;
    const numParams = params.length + (variadic !== undefined ? 1 : 0);
    const numIn = final !== MISSING ? numArgs + 1 : numArgs;
    let numFixed = numArgs;
    if (variadic !== undefined) {
      numFixed = params.length;
      if (numIn < numFixed) {
        this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${numArgs}`);
      }
    } else if (numIn !== numParams) {
      this.errorf(`wrong number of args for ${name}: want ${numParams} got ${numIn}`);
    }

    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: Value;
      for (let i = 1; i <= numArgs; i++) {
        v = this.evalArg(dot, REFLECT_VALUE, (argNodes as readonly Arg[])[i] as Arg);
        if ((isTrue(v) === true) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(final, REFLECT_VALUE);
      return v;
    }

    const argv: Value[] = new Array(numIn);
    let i = 0;
    for (; i < numFixed && i < numArgs; i++) {
      argv[i] = this.evalArg(dot, params[i], (argNodes as readonly Arg[])[i + 1] as Arg);
    }
    if (variadic !== undefined) {
      for (; i < numArgs; i++) argv[i] = this.evalArg(dot, variadic, (argNodes as readonly Arg[])[i + 1] as Arg);
    }
    if (final !== MISSING) {
      let t: string;
      if (variadic !== undefined) t = numIn - 1 < numFixed ? (params[numIn - 1] as string) : variadic;
      else t = params[params.length - 1] as string;
      argv[i] = this.validateType(final, t);
    }
    try {
      return fn.call(...argv);
    } catch (e) {
      if (e instanceof ExecError) throw e;
      this.node = node;
      const message = e instanceof GoFuncError ? e.message : e instanceof Error ? e.message : String(e);
      this.errorf(`error calling ${name}: ${message}`);
    }
  }

  /** exec's validateType: the value as an argument of Go type `typ` (undefined: any). */
  private validateType(value: Value, typ: string | undefined): Value {
    if (value === undefined) {
      if (typ === undefined) return undefined;
      if (typ === REFLECT_VALUE) return undefined;
      if (canBeNil(typ)) return zeroValue(typ);
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === undefined || typ === REFLECT_VALUE || typ === 'interface {}') return value;
    if (value !== null) {
      const actual = typeName(value);
      if (actual === typ || actual === `*${typ}`) return value;
    }
    this.errorf(`wrong type for value; expected ${typ}; got ${goTypeOf(value)}`);
  }

  private evalArg(dot: Value, typ: string | undefined, n: Arg): Value {
    this.node = n;
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ !== undefined && canBeNil(typ)) return typ === REFLECT_VALUE ? undefined : zeroValue(typ);
        this.errorf(`cannot assign nil to ${typ}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldChain(dot, dot, n, n.ident, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [n], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, undefined, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [n], MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
        break;
      case 'complex128':
      case 'complex64':
        if (n.kind === 'number' && n.isComplex) return new GoComplex(n.complex[0], n.complex[1]);
        this.errorf(`expected complex; found ${nodeString(n)}`);
        break;
      case 'float64':
      case 'float32':
        if (n.kind === 'number' && n.isFloat) return typ === 'float32' ? Math.fround(n.float64) : n.float64;
        this.errorf(`expected float; found ${nodeString(n)}`);
        break;
      case 'int':
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
        if (n.kind === 'number' && n.isInt)
          return new GoInt(BigInt.asIntN(INT_BITS[typ] as number, n.int64), typ);
        this.errorf(`expected integer; found ${nodeString(n)}`);
        break;
      case 'uint':
      case 'uint8':
      case 'uint16':
      case 'uint32':
      case 'uint64':
        if (n.kind === 'number' && n.isUint)
          return new GoInt(BigInt.asUintN(INT_BITS[typ] as number, n.uint64), typ);
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
        break;
      case 'string':
        if (n.kind === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
        break;
      case 'interface {}':
      case REFLECT_VALUE:
        return this.evalEmptyInterface(n);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`);
  }

  private evalEmptyInterface(n: Arg): Value {
    this.node = n;
    switch (n.kind) {
      case 'bool':
        return n.value;
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return n.text;
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(node: AnyNode, v: Value): void {
    this.node = node;
    if (v === undefined) {
      this.write('<no value>');
      return;
    }
    if (isGoObject(v) && (v.goKind === 'func' || v.goKind === 'chan')) {
      this.errorf(`can't print ${nodeString(node)} of type ${typeName(v)}`);
    }
    this.write(formatValue(v));
  }
}

/** Go's ErrorContext text for a node: its String(), cut to a readable length. */
function contextOf(node: AnyNode): string {
  const s = nodeString(node);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Map keys in Go's order (by bytes). */
function sortedKeys(m: GoMap): string[] {
  return [...m.entries.keys()].sort(compareStrings);
}
