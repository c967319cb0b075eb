// The parse tree of a template (Go's parse/node.go), and how each node prints itself in errors.
import { quote } from './strconv.js';
import type { Value } from './value.js';

/** A parsed template: the top-level one or one made by {{define}} / {{block}}. */
export interface Tree {
  readonly name: string;
  root: ListNode;
}

interface Positioned {
  /** Index of the node's first character in the template text. */
  readonly pos: number;
}

export interface ListNode extends Positioned {
  readonly kind: 'list';
  readonly nodes: Node[];
}
export interface TextNode extends Positioned {
  readonly kind: 'text';
  readonly text: string;
}
export interface CommentNode extends Positioned {
  readonly kind: 'comment';
}
export interface ActionNode extends Positioned {
  readonly kind: 'action';
  readonly pipe: PipeNode;
}
export interface BranchNode extends Positioned {
  readonly kind: 'if' | 'range' | 'with';
  readonly pipe: PipeNode;
  readonly list: ListNode;
  readonly elseList: ListNode | undefined;
}
export interface TemplateNode extends Positioned {
  readonly kind: 'template';
  readonly name: string;
  readonly pipe: PipeNode | undefined;
}
export interface BreakNode extends Positioned {
  readonly kind: 'break';
}
export interface ContinueNode extends Positioned {
  readonly kind: 'continue';
}
/** Not part of a finished tree: what ends an item list. */
export interface EndNode extends Positioned {
  readonly kind: 'end' | 'else';
}

export type Node =
  | ListNode
  | TextNode
  | CommentNode
  | ActionNode
  | BranchNode
  | TemplateNode
  | BreakNode
  | ContinueNode
  | EndNode;

export interface PipeNode extends Positioned {
  readonly kind: 'pipe';
  isAssign: boolean;
  readonly decl: VariableNode[];
  readonly cmds: CommandNode[];
}
export interface CommandNode extends Positioned {
  readonly kind: 'command';
  readonly args: Arg[];
}
export interface FieldNode extends Positioned {
  readonly kind: 'field';
  readonly ident: string[];
}
export interface VariableNode extends Positioned {
  readonly kind: 'variable';
  readonly ident: string[];
}
export interface ChainNode extends Positioned {
  readonly kind: 'chain';
  readonly node: Arg;
  readonly field: string[];
}
export interface IdentifierNode extends Positioned {
  readonly kind: 'identifier';
  readonly ident: string;
}
export interface DotNode extends Positioned {
  readonly kind: 'dot';
}
export interface NilNode extends Positioned {
  readonly kind: 'nil';
}
export interface BoolNode extends Positioned {
  readonly kind: 'bool';
  readonly value: boolean;
}
export interface StringNode extends Positioned {
  readonly kind: 'string';
  readonly quoted: string;
  readonly text: string;
}
export interface NumberNode extends Positioned {
  readonly kind: 'number';
  readonly text: string;
  readonly isInt: boolean;
  readonly isUint: boolean;
  readonly isFloat: boolean;
  readonly isComplex: boolean;
  readonly int64: bigint;
  readonly uint64: bigint;
  readonly float64: number;
  readonly complex: readonly [number, number];
  /** What the constant is as an untyped operand (Go's idealConstant), or the error it gives. */
  readonly ideal: Value | { readonly error: string };
}

/** An operand of a command. */
export type Arg =
  | FieldNode
  | VariableNode
  | ChainNode
  | IdentifierNode
  | DotNode
  | NilNode
  | BoolNode
  | StringNode
  | NumberNode
  | PipeNode;

export type AnyNode = Node | Arg | CommandNode;

/** The node as Go's String() prints it (in error messages). */
export function nodeString(n: AnyNode): string {
  switch (n.kind) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'if':
    case 'range':
    case 'with':
      return `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''}{{end}}`;
    case 'template':
      return `{{template ${quote(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ''}}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    case 'pipe': {
      const decl = n.decl.length ? `${n.decl.map(nodeString).join(', ')} := ` : '';
      return decl + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'field':
      return n.ident.map((id) => `.${id}`).join('');
    case 'variable':
      return n.ident.join('.');
    case 'chain':
      return (
        (n.node.kind === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)) +
        n.field.map((f) => `.${f}`).join('')
      );
    case 'identifier':
      return n.ident;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'string':
      return n.quoted;
    case 'number':
      return n.text;
  }
}

/** Go's unicode.IsSpace, for IsEmptyTree's bytes.TrimSpace. */
const ONLY_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** parse.IsEmptyTree: whether a tree holds nothing but space and comments. */
export function isEmptyTree(n: Node): boolean {
  switch (n.kind) {
    case 'comment':
      return true;
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return ONLY_SPACE.test(n.text);
    default:
      return false;
  }
}
