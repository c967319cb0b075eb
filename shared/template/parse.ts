// The parser of Go's text/template (parse/parse.go): a template text becomes a set of named trees
// (the top-level one and those {{define}} and {{block}} make), with Go's checks and errors.
import { sprintf } from './fmt.js';
import { Item, Lexer, type Token } from './lex.js';
import type {
  Arg,
  BranchNode,
  ChainNode,
  CommandNode,
  EndNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  Tree,
  VariableNode,
} from './node.js';
import { isEmptyTree, nodeString } from './node.js';
import { LiteralError, parseFloat64, parseInteger, unquote, unquoteCharConstant } from './strconv.js';
import { GoComplex, GoInt, type Value } from './value.js';

/** A parse error: Go's message (without the "template: NAME:LINE:" prefix) and the token it happened at. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly line: number,
  ) {
    super(message);
  }
}

/** How deeply actions and parentheses may nest: Go has no bound, a stack does. */
export const MAX_PARSE_DEPTH = 1000;

function itemString(i: Token): string {
  if (i.typ === Item.EOF) return 'EOF';
  if (i.typ === Item.Error) return i.val;
  if (i.typ > Item.Keyword) return `<${i.val}>`;
  if (i.val.length > 10) return `${sprintf('%.10q', i.val)}...`;
  return sprintf('%q', i.val);
}

const MAX_INT64 = 0x7fffffffffffffffn;
const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/** parse.newNumber: a number token's value under every interpretation Go gives it. */
export function newNumber(pos: number, text: string, typ: Item): NumberNode {
  let isInt = false;
  let isUint = false;
  let isFloat = false;
  let isComplex = false;
  let int64 = 0n;
  let uint64 = 0n;
  let float64 = 0;
  let complex: [number, number] = [0, 0];
  const simplifyComplex = () => {
    isFloat = complex[1] === 0;
    if (isFloat) {
      float64 = complex[0];
      isInt = Number.isInteger(float64) && float64 >= -TWO63 && float64 < TWO63;
      if (isInt) int64 = BigInt(float64);
      isUint = Number.isInteger(float64) && float64 >= 0 && float64 < TWO64;
      if (isUint) uint64 = BigInt(float64);
    }
  };
  if (typ === Item.CharConstant) {
    const r = unquoteCharConstant(text);
    isInt = isUint = isFloat = true;
    int64 = uint64 = BigInt(r);
    float64 = r;
  } else if (typ === Item.Complex) {
    const m = /^([+-]?[^+-]+(?:[eEpP][+-][0-9_]+)?)([+-].+)i$/.exec(text);
    const re = m ? parseFloat64(m[1] as string) : undefined;
    const im = m ? parseFloat64(m[2] as string) : undefined;
    if (re === undefined || im === undefined) throw new LiteralError(`expected complex number: ${text}`);
    isComplex = true;
    complex = [re, im];
    simplifyComplex();
  } else {
    let done = false;
    if (text.endsWith('i')) {
      const f = parseFloat64(text.slice(0, -1));
      if (f !== undefined) {
        isComplex = true;
        complex = [0, f];
        simplifyComplex();
        done = true;
      }
    }
    if (!done) {
      const u = parseInteger(text, true);
      if (u !== undefined) {
        isUint = true;
        uint64 = u;
      }
      const i = parseInteger(text, false);
      if (i !== undefined) {
        isInt = true;
        int64 = i;
        if (i === 0n) {
          isUint = true;
          uint64 = u ?? 0n;
        }
      }
      if (isInt) {
        isFloat = true;
        float64 = Number(int64);
      } else if (isUint) {
        isFloat = true;
        float64 = Number(uint64);
      } else {
        const f = parseFloat64(text);
        if (f !== undefined) {
          if (!/[.eEpP]/.test(text)) throw new LiteralError(`integer overflow: ${sprintf('%q', text)}`);
          isFloat = true;
          float64 = f;
          if (!isInt && Number.isInteger(f) && f >= -TWO63 && f < TWO63) {
            isInt = true;
            int64 = BigInt(f);
          }
          if (!isUint && Number.isInteger(f) && f >= 0 && f < TWO64) {
            isUint = true;
            uint64 = BigInt(f);
          }
        }
      }
      if (!isInt && !isUint && !isFloat)
        throw new LiteralError(`illegal number syntax: ${sprintf('%q', text)}`);
    }
  }
  // exec's idealConstant, decided once.
  let ideal: Value | { error: string };
  if (isComplex) ideal = new GoComplex(complex[0], complex[1]);
  else if (isFloat && !isHexInt(text) && !text.startsWith("'") && /[.eEpP]/.test(text)) ideal = float64;
  else if (isInt) ideal = int64 > MAX_INT64 ? { error: `${text} overflows int` } : new GoInt(int64);
  else if (isUint) ideal = { error: `${text} overflows int` };
  else ideal = undefined;
  return {
    kind: 'number',
    pos,
    text,
    isInt,
    isUint,
    isFloat,
    isComplex,
    int64,
    uint64,
    float64,
    complex,
    ideal,
  };
}

function isHexInt(s: string): boolean {
  return s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && !/[pP]/.test(s);
}

/** One tree being parsed: Go's parse.Tree during Parse. */
class TreeParser {
  root: ListNode | undefined;
  private readonly token: Token[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private depth = 0;

  constructor(
    public name: string,
    private readonly parseName: string,
    private readonly stream: Lexer,
    private readonly hasFunction: (name: string) => boolean,
    private readonly treeSet: Map<string, Tree>,
  ) {}

  private nextToken(): Token {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.stream.nextItem();
    return this.token[this.peekCount] as Token;
  }

  private backup(): void {
    this.peekCount++;
  }

  private backup2(t1: Token): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }

  private backup3(t2: Token, t1: Token): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }

  private peek(): Token {
    if (this.peekCount > 0) return this.token[this.peekCount - 1] as Token;
    this.peekCount = 1;
    this.token[0] = this.stream.nextItem();
    return this.token[0];
  }

  private nextNonSpace(): Token {
    let token: Token;
    do token = this.nextToken();
    while (token.typ === Item.Space);
    return token;
  }

  private peekNonSpace(): Token {
    const token = this.nextNonSpace();
    this.backup();
    return token;
  }

  errorf(message: string): never {
    const last = this.token[0];
    throw new ParseError(message, last?.pos ?? 0, last?.line ?? 1);
  }

  private expect(expected: Item, context: string): Token {
    const token = this.nextNonSpace();
    if (token.typ !== expected) this.unexpected(token, context);
    return token;
  }

  private expectOneOf(expected1: Item, expected2: Item, context: string): Token {
    const token = this.nextNonSpace();
    if (token.typ !== expected1 && token.typ !== expected2) this.unexpected(token, context);
    return token;
  }

  private unexpected(token: Token, context: string): never {
    if (token.typ === Item.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(token)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  private enter(): void {
    if (++this.depth > MAX_PARSE_DEPTH) this.errorf(`template nesting deeper than ${MAX_PARSE_DEPTH} levels`);
  }

  private leave(): void {
    this.depth--;
  }

  /** Tree.add: records the finished tree, as Go decides between empty and repeated definitions. */
  add(): void {
    const root = this.root as ListNode;
    const existing = this.treeSet.get(this.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.treeSet.set(this.name, { name: this.name, root });
      return;
    }
    if (!isEmptyTree(root))
      this.errorf(`template: multiple definition of template ${sprintf('%q', this.name)}`);
  }

  parse(): void {
    this.root = { kind: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== Item.EOF) {
      if (this.peek().typ === Item.LeftDelim) {
        const delim = this.nextToken();
        if (this.nextNonSpace().typ === Item.Define) {
          const newT = new TreeParser(
            'definition',
            this.parseName,
            this.stream,
            this.hasFunction,
            this.treeSet,
          );
          newT.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      else this.root.nodes.push(n);
    }
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf(Item.String, Item.RawString, context);
    this.name = this.unquoteOrFail(name.val);
    this.expect(Item.RightDelim, context);
    const [list, end] = this.itemList();
    this.root = list;
    if (end.kind !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  private unquoteOrFail(text: string): string {
    try {
      return unquote(text);
    } catch (e) {
      if (e instanceof LiteralError) this.errorf(e.message);
      throw e;
    }
  }

  private itemList(): [ListNode, EndNode] {
    const list: ListNode = { kind: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== Item.EOF) {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Text:
        return { kind: 'text', pos: token.pos, text: token.val };
      case Item.LeftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case Item.Comment:
        return { kind: 'comment', pos: token.pos };
      default:
        this.unexpected(token, 'input');
    }
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Block:
        return this.blockControl();
      case Item.Break:
        return this.breakControl(token.pos, 'break');
      case Item.Continue:
        return this.breakControl(token.pos, 'continue');
      case Item.Else:
        return this.elseControl();
      case Item.End:
        return this.endControl();
      case Item.If:
        return this.branchControl('if');
      case Item.Range:
        return this.branchControl('range');
      case Item.Template:
        return this.templateControl();
      case Item.With:
        return this.branchControl('with');
    }
    this.backup();
    const first = this.peek();
    return { kind: 'action', pos: first.pos, pipe: this.pipeline('command', Item.RightDelim) };
  }

  private breakControl(pos: number, word: 'break' | 'continue'): Node {
    const token = this.nextNonSpace();
    if (token.typ !== Item.RightDelim) this.unexpected(token, `{{${word}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
    return { kind: word, pos };
  }

  private pipeline(context: string, end: Item): PipeNode {
    this.enter();
    const token = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: token.pos, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ === Item.Variable) {
        this.nextToken();
        const tokenAfterVariable = this.peek();
        const next = this.peekNonSpace();
        if (next.typ === Item.Assign || next.typ === Item.Declare) {
          pipe.isAssign = next.typ === Item.Assign;
          this.nextNonSpace();
          pipe.decl.push(newVariable(v.pos, v.val));
          this.vars.push(v.val);
        } else if (next.typ === Item.Char && next.val === ',') {
          this.nextNonSpace();
          pipe.decl.push(newVariable(v.pos, v.val));
          this.vars.push(v.val);
          if (context === 'range' && pipe.decl.length < 2) {
            const t = this.peekNonSpace().typ;
            if (t === Item.Variable || t === Item.RightDelim || t === Item.RightParen) continue;
            this.errorf('range can only initialize variables');
          }
          this.errorf(`too many declarations in ${context}`);
        } else if (tokenAfterVariable.typ === Item.Space) this.backup3(v, tokenAfterVariable);
        else this.backup2(v);
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      switch (token.typ) {
        case end:
          this.checkPipeline(pipe, context);
          this.leave();
          return pipe;
        case Item.Bool:
        case Item.CharConstant:
        case Item.Complex:
        case Item.Dot:
        case Item.Field:
        case Item.Identifier:
        case Item.Number:
        case Item.Nil:
        case Item.RawString:
        case Item.String:
        case Item.Variable:
        case Item.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = (c.args[0] as Arg).kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private branchControl(context: 'if' | 'range' | 'with'): BranchNode {
    this.enter();
    const varsBefore = this.vars.length;
    const pipe = this.pipeline(context, Item.RightDelim);
    if (context === 'range') this.rangeDepth++;
    const [list, next] = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (next.kind === 'else') {
      if (context === 'if' && this.peek().typ === Item.If) {
        this.nextToken();
        elseList = { kind: 'list', pos: next.pos, nodes: [this.branchControl('if')] };
      } else {
        const [list2, end] = this.itemList();
        elseList = list2;
        if (end.kind !== 'end') this.errorf(`expected end; found ${nodeString(end)}`);
      }
    }
    this.vars.length = varsBefore;
    this.leave();
    return { kind: context, pos: pipe.pos, pipe, list, elseList };
  }

  private endControl(): EndNode {
    return { kind: 'end', pos: this.expect(Item.RightDelim, 'end').pos };
  }

  private elseControl(): EndNode {
    const peek = this.peekNonSpace();
    if (peek.typ === Item.If) return { kind: 'else', pos: peek.pos };
    const token = this.expect(Item.RightDelim, 'else');
    return { kind: 'else', pos: token.pos };
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, Item.RightDelim);
    const block = new TreeParser(name, this.parseName, this.stream, this.hasFunction, this.treeSet);
    block.depth = this.depth;
    const [list, end] = block.itemList();
    block.root = list;
    if (end.kind !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add();
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().typ !== Item.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, Item.RightDelim);
    }
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  private parseTemplateName(token: Token, context: string): string {
    if (token.typ === Item.String || token.typ === Item.RawString) return this.unquoteOrFail(token.val);
    this.unexpected(token, context);
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== undefined) cmd.args.push(operand);
      const token = this.nextToken();
      if (token.typ === Item.Space) continue;
      if (token.typ === Item.RightDelim || token.typ === Item.RightParen) this.backup();
      else if (token.typ !== Item.Pipe) this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (node === undefined) return undefined;
    if (this.peek().typ === Item.Field) {
      const pos = this.peek().pos;
      const field: string[] = [];
      while (this.peek().typ === Item.Field) field.push(this.nextToken().val.slice(1));
      switch (node.kind) {
        case 'field':
          return { kind: 'field', pos, ident: [...node.ident, ...field] };
        case 'variable':
          return { kind: 'variable', pos, ident: [...node.ident, ...field] };
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${sprintf('%q', nodeString(node))}`);
          break;
        default: {
          const chain: ChainNode = { kind: 'chain', pos, node, field };
          return chain;
        }
      }
    }
    return node;
  }

  private term(): Arg | undefined {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Identifier:
        if (!this.hasFunction(token.val)) this.errorf(`function ${sprintf('%q', token.val)} not defined`);
        return { kind: 'identifier', pos: token.pos, ident: token.val };
      case Item.Dot:
        return { kind: 'dot', pos: token.pos };
      case Item.Nil:
        return { kind: 'nil', pos: token.pos };
      case Item.Variable:
        return this.useVar(token.pos, token.val);
      case Item.Field:
        return { kind: 'field', pos: token.pos, ident: token.val.slice(1).split('.') };
      case Item.Bool:
        return { kind: 'bool', pos: token.pos, value: token.val === 'true' };
      case Item.CharConstant:
      case Item.Complex:
      case Item.Number:
        try {
          return newNumber(token.pos, token.val, token.typ);
        } catch (e) {
          if (e instanceof LiteralError) this.errorf(e.message);
          throw e;
        }
      case Item.LeftParen:
        return this.pipeline('parenthesized pipeline', Item.RightParen);
      case Item.String:
      case Item.RawString:
        return { kind: 'string', pos: token.pos, quoted: token.val, text: this.unquoteOrFail(token.val) };
    }
    this.backup();
    return undefined;
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = newVariable(pos, name);
    if (!this.vars.includes(v.ident[0] as string))
      this.errorf(`undefined variable ${sprintf('%q', v.ident[0])}`);
    return v;
  }
}

function newVariable(pos: number, ident: string): VariableNode {
  return { kind: 'variable', pos, ident: ident.split('.') };
}

/**
 * Parses `text` as the template `name`: the trees it defines, by name (Go's parse.Parse, with
 * the builtins and `hasFunction` as the functions a template may call).
 */
export function parse(text: string, name: string, hasFunction: (name: string) => boolean): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const lexer = new Lexer(text, !hasFunction('break'), !hasFunction('continue'));
  const t = new TreeParser(name, name, lexer, hasFunction, treeSet);
  t.parse();
  t.add();
  return treeSet;
}

/** Where a position is, as 1-based line and column (in characters). */
export function location(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let column = 1;
  for (let i = lineStart; i < pos; i++) {
    const c = text.charCodeAt(i);
    if (
      !(
        c >= 0xdc00 &&
        c <= 0xdfff &&
        i > lineStart &&
        text.charCodeAt(i - 1) >= 0xd800 &&
        text.charCodeAt(i - 1) <= 0xdbff
      )
    )
      column++;
  }
  return { line, column };
}
