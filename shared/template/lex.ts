// The lexer of Go's text/template (parse/lex.go): text, actions between {{ and }}, trim markers,
// comments and the tokens inside an action. Positions are indices into the JS string.
import { sprintf } from './fmt.js';
import { GoInt } from './value.js';

export enum Item {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  // Keywords follow.
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

export interface Token {
  readonly typ: Item;
  /** Index of the token's first character in the input. */
  readonly pos: number;
  readonly val: string;
  /** 1-based line of the token's start. */
  readonly line: number;
}

const KEYWORDS: ReadonlyMap<string, Item> = new Map([
  ['.', Item.Dot],
  ['block', Item.Block],
  ['break', Item.Break],
  ['continue', Item.Continue],
  ['define', Item.Define],
  ['else', Item.Else],
  ['end', Item.End],
  ['if', Item.If],
  ['range', Item.Range],
  ['nil', Item.Nil],
  ['template', Item.Template],
  ['with', Item.With],
]);

const LEFT = '{{';
const RIGHT = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const EOF = -1;

function isSpace(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0d || r === 0x0a;
}

const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;

function isAlphaNumeric(r: number): boolean {
  if (r < 0x80) {
    return r === 0x5f || (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
  }
  return r >= 0 && LETTER_OR_DIGIT.test(String.fromCodePoint(r));
}

function hasLeftTrimMarker(s: string, i: number): boolean {
  return s.charCodeAt(i) === 0x2d && isSpace(s.charCodeAt(i + 1));
}

function hasRightTrimMarker(s: string, i: number): boolean {
  return isSpace(s.charCodeAt(i)) && s.charCodeAt(i + 1) === 0x2d;
}

/** The quoted-rune form of %#U that Go's lexer errors use, e.g. U+0023 '#'. */
function describeRune(r: number): string {
  return r === EOF ? 'U+FFFFFFFFFFFFFFFF' : sprintf('%#U', new GoInt(BigInt(r)));
}

type State = ((l: Lexer) => State) | null;

/** Lexes on demand, as Go's lexer goroutine does: the parser takes one token at a time. */
export class Lexer {
  private pos = 0;
  private start = 0;
  private atEOF = false;
  private parenDepth = 0;
  private line = 1;
  private startLine = 1;
  private state: State = lexText;
  /** Tokens lexed and not yet taken: a ring (a state emits at most a few). */
  private readonly ring: Array<Token | undefined> = new Array(16).fill(undefined);
  private head = 0;
  private tail = 0;
  private last: Token | undefined;

  constructor(
    readonly input: string,
    private readonly breakOK: boolean,
    private readonly continueOK: boolean,
  ) {}

  /** The next token; after EOF or an error, that last token again. */
  nextItem(): Token {
    while (this.head === this.tail && this.state !== null) this.state = this.state(this);
    if (this.head !== this.tail) {
      const item = this.ring[this.head] as Token;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) & 15;
      this.last = item;
      return item;
    }
    return this.last as Token;
  }

  private push(item: Token): void {
    this.ring[this.tail] = item;
    this.tail = (this.tail + 1) & 15;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.atEOF = true;
      return EOF;
    }
    const r = this.input.codePointAt(this.pos) as number;
    this.pos += r > 0xffff ? 2 : 1;
    if (r === 0x0a) this.line++;
    return r;
  }

  peek(): number {
    if (this.pos >= this.input.length) return EOF;
    return this.input.codePointAt(this.pos) as number;
  }

  backup(): void {
    if (!this.atEOF && this.pos > 0) {
      const c = this.input.charCodeAt(this.pos - 1);
      this.pos -=
        c >= 0xdc00 && c <= 0xdfff && this.pos > 1 && isHigh(this.input.charCodeAt(this.pos - 2)) ? 2 : 1;
      if (c === 0x0a) this.line--;
    }
  }

  emit(t: Item): void {
    this.push({
      typ: t,
      pos: this.start,
      val: this.input.slice(this.start, this.pos),
      line: this.startLine,
    });
    this.start = this.pos;
    this.startLine = this.line;
  }

  ignore(): void {
    this.line += countNewlines(this.input, this.start, this.pos);
    this.start = this.pos;
    this.startLine = this.line;
  }

  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.includes(String.fromCodePoint(r))) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF || !valid.includes(String.fromCodePoint(r))) break;
    }
    this.backup();
  }

  errorf(message: string): State {
    this.push({ typ: Item.Error, pos: this.start, val: message, line: this.startLine });
    return null;
  }

  atRightDelim(): [delim: boolean, trimSpaces: boolean] {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(RIGHT, this.pos + 2))
      return [true, true];
    if (this.input.startsWith(RIGHT, this.pos)) return [true, false];
    return [false, false];
  }

  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    switch (r) {
      case EOF:
      case 0x2e: // .
      case 0x2c: // ,
      case 0x7c: // |
      case 0x3a: // :
      case 0x29: // )
      case 0x28: // (
        return true;
    }
    return this.input.startsWith(RIGHT, this.pos);
  }

  // State functions below need the private fields; they are methods called by the free functions.
  lexText(): State {
    const x = this.input.indexOf(LEFT, this.pos);
    if (x >= 0) {
      this.pos = x;
      let trimLength = 0;
      if (hasLeftTrimMarker(this.input, this.pos + LEFT.length)) {
        trimLength = rightTrimLength(this.input, this.start, this.pos);
      }
      this.pos -= trimLength;
      if (this.pos > this.start) {
        this.line += countNewlines(this.input, this.start, this.pos);
        this.emit(Item.Text);
      }
      this.pos += trimLength;
      this.ignore();
      return lexLeftDelim;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) {
      this.line += countNewlines(this.input, this.start, this.pos);
      this.emit(Item.Text);
    }
    this.emit(Item.EOF);
    return null;
  }

  lexLeftDelim(): State {
    this.pos += LEFT.length;
    const trimSpace = hasLeftTrimMarker(this.input, this.pos);
    const afterMarker = trimSpace ? 2 : 0;
    if (this.input.startsWith(LEFT_COMMENT, this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      return lexComment;
    }
    this.emit(Item.LeftDelim);
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    return lexInsideAction;
  }

  lexComment(): State {
    this.pos += LEFT_COMMENT.length;
    const i = this.input.indexOf(RIGHT_COMMENT, this.pos);
    if (i < 0) return this.errorf('unclosed comment');
    this.pos = i + RIGHT_COMMENT.length;
    const [delim, trimSpace] = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    if (trimSpace) this.pos += 2;
    this.pos += RIGHT.length;
    if (trimSpace) this.pos += leftTrimLength(this.input, this.pos);
    this.ignore();
    return lexText;
  }

  lexRightDelim(): State {
    const trimSpace = hasRightTrimMarker(this.input, this.pos);
    if (trimSpace) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += RIGHT.length;
    this.emit(Item.RightDelim);
    if (trimSpace) {
      this.pos += leftTrimLength(this.input, this.pos);
      this.ignore();
    }
    return lexText;
  }

  lexInsideAction(): State {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return lexRightDelim;
      return this.errorf('unclosed left paren');
    }
    const r = this.next();
    if (r === EOF) return this.errorf('unclosed action');
    if (isSpace(r)) {
      this.backup();
      return lexSpace;
    }
    switch (r) {
      case 0x3d: // =
        this.emit(Item.Assign);
        return lexInsideAction;
      case 0x3a: // :
        if (this.next() !== 0x3d) return this.errorf('expected :=');
        this.emit(Item.Declare);
        return lexInsideAction;
      case 0x7c: // |
        this.emit(Item.Pipe);
        return lexInsideAction;
      case 0x22:
        return lexQuote;
      case 0x60:
        return lexRawQuote;
      case 0x24:
        return lexVariable;
      case 0x27:
        return lexChar;
      case 0x28:
        this.emit(Item.LeftParen);
        this.parenDepth++;
        return lexInsideAction;
      case 0x29:
        this.emit(Item.RightParen);
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf(`unexpected right paren ${describeRune(r)}`);
        return lexInsideAction;
    }
    if (r === 0x2e) {
      const c = this.input.charCodeAt(this.pos);
      if (this.pos < this.input.length && (c < 0x30 || c > 0x39)) return lexField;
    }
    if (r === 0x2e || r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
      this.backup();
      return lexNumber;
    }
    if (isAlphaNumeric(r)) {
      this.backup();
      return lexIdentifier;
    }
    if (r < 0x7f && r >= 0x20) {
      this.emit(Item.Char);
      return lexInsideAction;
    }
    return this.errorf(`unrecognized character in action: ${describeRune(r)}`);
  }

  lexSpace(): State {
    let numSpaces = 0;
    while (isSpace(this.peek())) {
      this.next();
      numSpaces++;
    }
    if (hasRightTrimMarker(this.input, this.pos - 1) && this.input.startsWith(RIGHT, this.pos + 1)) {
      this.backup();
      if (numSpaces === 1) return lexRightDelim;
    }
    this.emit(Item.Space);
    return lexInsideAction;
  }

  lexIdentifier(): State {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${describeRune(r)}`);
      const key = KEYWORDS.get(word);
      if (key !== undefined && key > Item.Keyword) {
        if ((key === Item.Break && !this.breakOK) || (key === Item.Continue && !this.continueOK)) {
          this.emit(Item.Identifier);
        } else this.emit(key);
      } else if (word[0] === '.') this.emit(Item.Field);
      else if (word === 'true' || word === 'false') this.emit(Item.Bool);
      else this.emit(Item.Identifier);
      return lexInsideAction;
    }
  }

  lexFieldOrVariable(typ: Item): State {
    if (this.atTerminator()) {
      this.emit(typ === Item.Variable ? Item.Variable : Item.Dot);
      return lexInsideAction;
    }
    let r: number;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${describeRune(r)}`);
    this.emit(typ);
    return lexInsideAction;
  }

  lexVariable(): State {
    if (this.atTerminator()) {
      this.emit(Item.Variable);
      return lexInsideAction;
    }
    return this.lexFieldOrVariable(Item.Variable);
  }

  lexChar(): State {
    for (;;) {
      let r = this.next();
      if (r === 0x5c) {
        r = this.next();
        if (r !== EOF && r !== 0x0a) continue;
      }
      if (r === EOF || r === 0x0a) return this.errorf('unterminated character constant');
      if (r === 0x27) break;
    }
    this.emit(Item.CharConstant);
    return lexInsideAction;
  }

  lexNumber(): State {
    if (!this.scanNumber())
      return this.errorf(`bad number syntax: ${sprintf('%q', this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') {
        return this.errorf(`bad number syntax: ${sprintf('%q', this.input.slice(this.start, this.pos))}`);
      }
      this.emit(Item.Complex);
    } else this.emit(Item.Number);
    return lexInsideAction;
  }

  scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  lexQuote(): State {
    for (;;) {
      let r = this.next();
      if (r === 0x5c) {
        r = this.next();
        if (r !== EOF && r !== 0x0a) continue;
      }
      if (r === EOF || r === 0x0a) return this.errorf('unterminated quoted string');
      if (r === 0x22) break;
    }
    this.emit(Item.String);
    return lexInsideAction;
  }

  lexRawQuote(): State {
    const end = this.input.indexOf('`', this.pos);
    if (end < 0) {
      this.pos = this.input.length;
      return this.errorf('unterminated raw quoted string');
    }
    this.line += countNewlines(this.input, this.pos, end);
    this.pos = end + 1;
    this.emit(Item.RawString);
    return lexInsideAction;
  }
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 0x0a) n++;
  return n;
}

function rightTrimLength(s: string, start: number, end: number): number {
  let i = end;
  while (i > start && isSpace(s.charCodeAt(i - 1))) i--;
  return end - i;
}

function leftTrimLength(s: string, start: number): number {
  let i = start;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i - start;
}

const lexText = (l: Lexer): State => l.lexText();
const lexLeftDelim = (l: Lexer): State => l.lexLeftDelim();
const lexComment = (l: Lexer): State => l.lexComment();
const lexRightDelim = (l: Lexer): State => l.lexRightDelim();
const lexInsideAction = (l: Lexer): State => l.lexInsideAction();
const lexSpace = (l: Lexer): State => l.lexSpace();
const lexIdentifier = (l: Lexer): State => l.lexIdentifier();
const lexField = (l: Lexer): State => l.lexFieldOrVariable(Item.Field);
const lexVariable = (l: Lexer): State => l.lexVariable();
const lexChar = (l: Lexer): State => l.lexChar();
const lexNumber = (l: Lexer): State => l.lexNumber();
const lexQuote = (l: Lexer): State => l.lexQuote();
const lexRawQuote = (l: Lexer): State => l.lexRawQuote();
