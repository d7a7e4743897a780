/**
 * A parser and evaluator for the subset of the CloudWatch Logs Insights query language the
 * detector emits, used by the local Logs Insights endpoint. Anything outside the subset is
 * rejected with a compile error (the endpoint turns it into MalformedQueryException), so a test
 * that passes through it proves the emitted query is well-formed here, and its results prove the
 * query means what it should.
 *
 * Subset: commands `fields` (fields or computed expressions `as` a name), `display`, `filter`,
 * `parse` (glob form), `stats`, `sort`, `limit`, separated by `|`; `#` comments; expressions with
 * `and`/`or`/`not`, parentheses, comparisons, arithmetic (`+ - * / %` on numbers), `in [..]`/
 * `not in [..]`, `like`, `=~`, and the functions `isIpInSubnet`, `isIpv4InSubnet`,
 * `isIpv6InSubnet`, `isValidIp`, `isValidIpV4`, `isValidIpV6`, `ispresent`, `isempty`, `toMillis`.
 * Addresses are compared as the service documents `isIpInSubnet`: an IPv4 subnet holds IPv4
 * addresses only, an IPv6 subnet IPv6 ones, and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
 * is an IPv6 address like any other.
 */
import ipaddr from 'ipaddr.js';

/** A compile error with the character offsets of the offending text. */
export class QueryCompileError extends Error {
  constructor(
    message: string,
    readonly startCharOffset: number,
    readonly endCharOffset: number,
  ) {
    super(message);
    this.name = 'QueryCompileError';
  }
}

/** One log event as seeded: epoch milliseconds and the raw message. */
export interface LogEvent {
  timestamp: number;
  message: string;
  logStream?: string;
  /**
   * When CloudWatch Logs received the event (epoch ms), `@ingestionTime` in queries. For flow logs
   * it is later than the record's end: aggregation plus delivery. @default timestamp
   */
  ingestionTime?: number;
}

/** A seeded event with what queries derive from it, computed once and kept. */
export interface StoredEvent extends LogEvent {
  /** The event's stable `@ptr`. */
  ptr: string;
  /** UTF-8 size of the message, for `bytesScanned`. */
  messageBytes: number;
  /** The v2 flow log tokens when the message has that shape, null when not, undefined until looked at. */
  flowTokens?: string[] | null;
}

/**
 * The fields of a record in the pipeline. An event's own fields are read from the event on
 * demand (most queries touch a handful of them), and writes (`parse`, `fields ... as`) go to an
 * overlay, so a query over many events copies nothing it does not change.
 */
export class FieldStore {
  private overlay: Map<string, string | undefined> | undefined;

  constructor(private readonly event?: StoredEvent) {}

  get(name: string): string | undefined {
    if (this.overlay?.has(name)) return this.overlay.get(name);
    return this.event === undefined ? undefined : eventField(this.event, name);
  }

  set(name: string, value: string): void {
    (this.overlay ??= new Map()).set(name, value);
  }

  delete(name: string): void {
    (this.overlay ??= new Map()).set(name, undefined);
  }
}

/** A record flowing through the pipeline; all values are strings, as in results. */
export interface QueryRow {
  fields: FieldStore;
  /** The event time, kept numeric for `bin()`; absent on rows produced by `stats`. */
  timestampMs?: number;
}

export interface CompiledQuery {
  commands: Command[];
  /** The value of the last `limit` command, if any. */
  limitCommand: number | undefined;
  hasStats: boolean;
}

export interface EvaluationResult {
  rows: { field: string; value: string }[][];
  /** Events that passed the filters before the first `stats` (or the final rows without stats). */
  recordsMatched: number;
}

/** The auto-discovered fields of a default-format (v2) flow log message, in message order. */
export const FLOW_LOG_V2_FIELDS = [
  'version',
  'accountId',
  'interfaceId',
  'srcAddr',
  'dstAddr',
  'srcPort',
  'dstPort',
  'protocol',
  'packets',
  'bytes',
  'startTime',
  'endTime',
  'action',
  'logStatus',
] as const;

const BUILT_IN_FIELDS = ['@timestamp', '@message', '@logStream', '@log', '@ptr', '@ingestionTime'];
const MAX_LIMIT = 100_000;

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = 'ident' | 'field' | 'string' | 'number' | 'regex' | 'op' | 'pipe' | 'end';

interface Token {
  kind: TokenKind;
  /** Identifier/field name, unescaped string content, number text, regex source, or operator. */
  text: string;
  start: number;
  end: number;
  regexFlags?: string;
}

const OPERATORS = ['!=', '<=', '>=', '=~', '=', '<', '>', '(', ')', '[', ']', ',', '*', '+', '-', '/', '%'];
const WORDS_BEFORE_AN_OPERAND = new Set([
  'and',
  'or',
  'not',
  'in',
  'like',
  'as',
  'by',
  'asc',
  'desc',
  'fields',
  'display',
  'filter',
  'parse',
  'stats',
  'sort',
  'limit',
]);

/** Does `token` end an operand, so that a `-` after it subtracts rather than starts a negative number? */
function endsOperand(token: Token | undefined): boolean {
  if (token === undefined) return false;
  if (token.kind === 'number' || token.kind === 'string' || token.kind === 'field') return true;
  if (token.kind === 'ident') return !WORDS_BEFORE_AN_OPERAND.has(token.text.toLowerCase());
  return token.kind === 'op' && (token.text === ')' || token.text === ']');
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const previousMeaningful = (): Token | undefined => tokens[tokens.length - 1];
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i += 1;
      continue;
    }
    const start = i;
    if (c === '|') {
      tokens.push({ kind: 'pipe', text: '|', start, end: i + 1 });
      i += 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let text = '';
      i += 1;
      let closed = false;
      while (i < source.length) {
        const d = source[i] as string;
        if (d === '\\' && i + 1 < source.length) {
          text += source[i + 1];
          i += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\n') break;
        text += d;
        i += 1;
      }
      if (!closed) throw new QueryCompileError(`unterminated string literal`, start, i);
      tokens.push({ kind: 'string', text, start, end: i });
      continue;
    }
    if (c === '`') {
      const close = source.indexOf('`', i + 1);
      if (close < 0)
        throw new QueryCompileError('unterminated backtick-quoted field name', start, source.length);
      const name = source.slice(i + 1, close);
      if (name.length === 0 || /[\r\n`]/.test(name)) {
        throw new QueryCompileError('invalid backtick-quoted field name', start, close + 1);
      }
      tokens.push({ kind: 'field', text: name, start, end: close + 1 });
      i = close + 1;
      continue;
    }
    if (c === '/') {
      // A regex literal right after `like` or `=~`; anywhere else `/` divides.
      const before = previousMeaningful();
      const afterMatchOperator =
        before !== undefined &&
        ((before.kind === 'ident' && before.text.toLowerCase() === 'like') ||
          (before.kind === 'op' && before.text === '=~'));
      if (!afterMatchOperator) {
        tokens.push({ kind: 'op', text: '/', start, end: i + 1 });
        i += 1;
        continue;
      }
      let body = '';
      i += 1;
      let closed = false;
      while (i < source.length) {
        const d = source[i] as string;
        if (d === '\\' && i + 1 < source.length) {
          body += d + (source[i + 1] as string);
          i += 2;
          continue;
        }
        if (d === '/') {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\n') break;
        body += d;
        i += 1;
      }
      if (!closed) throw new QueryCompileError('unterminated regular expression', start, i);
      let flags = '';
      while (i < source.length && /[a-z]/.test(source[i] as string)) {
        flags += source[i];
        i += 1;
      }
      if (!/^i?$/.test(flags)) throw new QueryCompileError(`unsupported regex flags "${flags}"`, start, i);
      tokens.push({ kind: 'regex', text: body, regexFlags: flags, start, end: i });
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    // `a - 5` subtracts; `- 5` or `= -5` is a negative number.
    if (
      number !== null &&
      (c !== '-' || (/\d/.test(source[i + 1] ?? '') && !endsOperand(previousMeaningful())))
    ) {
      const text = number[0];
      // `5m` inside bin() is a duration, lexed as one identifier-like token.
      const unit = /^[a-z]+/.exec(source.slice(i + text.length));
      if (unit !== null) {
        tokens.push({ kind: 'ident', text: text + unit[0], start, end: i + text.length + unit[0].length });
        i += text.length + unit[0].length;
      } else {
        tokens.push({ kind: 'number', text, start, end: i + text.length });
        i += text.length;
      }
      continue;
    }
    const ident = /^[A-Za-z_@][A-Za-z0-9_@.]*/.exec(source.slice(i));
    if (ident !== null) {
      tokens.push({ kind: 'ident', text: ident[0], start, end: i + ident[0].length });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op !== undefined) {
      tokens.push({ kind: 'op', text: op, start, end: i + op.length });
      i += op.length;
      continue;
    }
    throw new QueryCompileError(`unexpected character ${JSON.stringify(c)}`, start, start + 1);
  }
  tokens.push({ kind: 'end', text: '', start: source.length, end: source.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

type Expr =
  | { type: 'or' | 'and'; left: Expr; right: Expr }
  | { type: 'not'; operand: Expr }
  | { type: 'compare'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; left: Expr; right: Expr }
  | { type: 'arith'; op: ArithmeticOperator; left: Expr; right: Expr }
  | { type: 'in'; negated: boolean; operand: Expr; values: Expr[]; lookup?: InLookup }
  | { type: 'match'; negated: boolean; operand: Expr; pattern: RegExp | string }
  | { type: 'field'; name: string }
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'call'; name: string; args: Expr[]; subnet?: { addr: ipaddr.IPv4 | ipaddr.IPv6; bits: number } };

/** An in-list's literals indexed for lookup: long source lists are common in detail queries. */
interface InLookup {
  texts: Set<string>;
  numbers: Set<number>;
}

type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

interface Projection {
  /** A field, or any expression (`toMillis(@ingestionTime) - toMillis(@timestamp)`). */
  expr: Expr;
  alias: string;
}

type Aggregate = 'count' | 'count_distinct' | 'sum' | 'min' | 'max' | 'avg';

interface StatsAggregate {
  fn: Aggregate;
  /** Undefined for `count(*)`. */
  field: string | undefined;
  name: string;
}

interface StatsGroup {
  field: string;
  /** Bin width in ms when grouping by `bin(...)`. */
  binMs?: number;
  name: string;
}

type Command =
  | { type: 'fields'; projections: Projection[] }
  | { type: 'display'; fields: string[] }
  | { type: 'filter'; expr: Expr }
  | { type: 'parse'; source: string; pattern: RegExp; names: string[] }
  | { type: 'stats'; aggregates: StatsAggregate[]; groups: StatsGroup[] }
  | { type: 'sort'; keys: { field: string; descending: boolean }[] }
  | { type: 'limit'; count: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'as', 'by', 'asc', 'desc']);
const COMMANDS = new Set(['fields', 'display', 'filter', 'parse', 'stats', 'sort', 'limit']);
const AGGREGATES = new Set<string>(['count', 'count_distinct', 'sum', 'min', 'max', 'avg']);
const SUBNET_FUNCTIONS = new Map<string, 'any' | 'ipv4' | 'ipv6'>([
  ['isipinsubnet', 'any'],
  ['isipv4insubnet', 'ipv4'],
  ['isipv6insubnet', 'ipv6'],
]);
const UNARY_FUNCTIONS = new Set(['isvalidip', 'isvalidipv4', 'isvalidipv6', 'ispresent', 'isempty']);
/** Functions of one expression returning a value (datetime functions of the service's docs). */
const VALUE_FUNCTIONS = new Set(['tomillis']);

class Parser {
  private position = 0;
  /** Fields known at this point of the pipeline, when field names are checked. */
  private readonly known: Set<string> | undefined;

  constructor(
    private readonly tokens: Token[],
    knownFields: readonly string[] | undefined,
  ) {
    this.known = knownFields === undefined ? undefined : new Set([...BUILT_IN_FIELDS, ...knownFields]);
  }

  parseQuery(): CompiledQuery {
    const commands: Command[] = [];
    if (this.peek().kind === 'end') throw this.error('the query has no commands', this.peek());
    for (;;) {
      commands.push(this.parseCommand());
      const next = this.peek();
      if (next.kind === 'end') break;
      if (next.kind !== 'pipe') throw this.error(`expected "|" or the end of the query`, next);
      this.advance();
      if (this.peek().kind === 'end') throw this.error('a "|" must be followed by a command', this.peek());
    }
    let limitCommand: number | undefined;
    for (const command of commands) if (command.type === 'limit') limitCommand = command.count;
    return { commands, limitCommand, hasStats: commands.some((c) => c.type === 'stats') };
  }

  private parseCommand(): Command {
    const token = this.advance();
    const name = token.kind === 'ident' ? token.text.toLowerCase() : '';
    if (!COMMANDS.has(name)) {
      throw this.error(`unsupported or unknown command ${JSON.stringify(token.text)}`, token);
    }
    switch (name) {
      case 'fields': {
        const projections = this.commaList((): Projection => {
          const first = this.peek();
          const expr = this.parseArithmetic();
          let alias: string;
          if (this.acceptKeyword('as')) alias = this.declareName();
          else if (expr.type === 'field') alias = expr.name;
          else throw this.error('name a computed field with "as"', first);
          this.declare(alias);
          return { expr, alias };
        });
        return { type: 'fields', projections };
      }
      case 'display':
        return { type: 'display', fields: this.commaList(() => this.fieldName()) };
      case 'filter':
        return { type: 'filter', expr: this.parseOr() };
      case 'parse':
        return this.parseParse();
      case 'stats':
        return this.parseStats();
      case 'sort':
        return {
          type: 'sort',
          keys: this.commaList(() => {
            const field = this.fieldName();
            if (this.acceptKeyword('desc')) return { field, descending: true };
            this.acceptKeyword('asc');
            return { field, descending: false };
          }),
        };
      default: {
        const count = this.advance();
        if (count.kind !== 'number' || !/^\d+$/.test(count.text)) {
          throw this.error('limit takes a positive whole number', count);
        }
        const value = Number(count.text);
        if (value < 1 || value > MAX_LIMIT)
          throw this.error(`limit must be between 1 and ${MAX_LIMIT}`, count);
        return { type: 'limit', count: value };
      }
    }
  }

  private parseParse(): Command {
    const source = this.fieldName();
    const patternToken = this.advance();
    if (patternToken.kind === 'regex' || (patternToken.kind === 'op' && patternToken.text === '/')) {
      throw this.error('only the glob form of parse is supported', patternToken);
    }
    if (patternToken.kind !== 'string') throw this.error('parse needs a quoted glob pattern', patternToken);
    if (!this.acceptKeyword('as')) throw this.error('parse needs "as" and field names', this.peek());
    const names = this.commaList(() => this.declareName());
    const pieces = patternToken.text.split('*');
    const stars = pieces.length - 1;
    if (stars === 0) throw this.error('the parse pattern has no "*"', patternToken);
    if (stars !== names.length) {
      throw this.error(
        `the parse pattern has ${stars} "*" but ${names.length} names follow "as"`,
        patternToken,
      );
    }
    if (pieces.slice(1, -1).some((piece) => piece.length === 0)) {
      throw this.error('two "*" in a row in a parse pattern are ambiguous', patternToken);
    }
    // Each `*` captures lazily up to the next literal; a trailing `*` takes the rest of the line.
    let regex = '';
    pieces.forEach((piece, index) => {
      regex += escapeRegex(piece);
      if (index < stars) regex += index === stars - 1 && pieces[stars] === '' ? '(.*)' : '(.*?)';
    });
    for (const name of names) this.declare(name);
    return { type: 'parse', source, pattern: new RegExp(regex, 's'), names };
  }

  private parseStats(): Command {
    const aggregates = this.commaList((): StatsAggregate => {
      const fnToken = this.advance();
      const fn = fnToken.kind === 'ident' ? fnToken.text.toLowerCase() : '';
      if (!AGGREGATES.has(fn))
        throw this.error(`unsupported stats function ${JSON.stringify(fnToken.text)}`, fnToken);
      this.expectOp('(');
      let field: string | undefined;
      if (this.peek().kind === 'op' && this.peek().text === '*') {
        if (fn !== 'count') throw this.error(`${fn}(*) is not valid`, this.peek());
        this.advance();
      } else {
        field = this.fieldName();
      }
      this.expectOp(')');
      const name = this.acceptKeyword('as') ? this.declareName() : `${fn}(${field ?? '*'})`;
      return { fn: fn as Aggregate, field, name };
    });
    const groups: StatsGroup[] = [];
    if (this.acceptKeyword('by')) {
      groups.push(
        ...this.commaList((): StatsGroup => {
          const token = this.peek();
          if (token.kind === 'ident' && token.text.toLowerCase() === 'bin' && this.peekAt(1).text === '(') {
            this.advance();
            this.advance();
            const span = this.advance();
            const binMs = parseDuration(span.text);
            if (binMs === undefined) throw this.error(`invalid bin width ${JSON.stringify(span.text)}`, span);
            this.expectOp(')');
            const name = this.acceptKeyword('as') ? this.declareName() : `bin(${span.text})`;
            return { field: '@timestamp', binMs, name };
          }
          const field = this.fieldName();
          const name = this.acceptKeyword('as') ? this.declareName() : field;
          return { field, name };
        }),
      );
    }
    // After stats only its outputs exist.
    if (this.known !== undefined) {
      this.known.clear();
      for (const group of groups) this.known.add(group.name);
      for (const aggregate of aggregates) this.known.add(aggregate.name);
    }
    return { type: 'stats', aggregates, groups };
  }

  // Expressions: or < and < not < comparison.
  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.acceptKeyword('or')) left = { type: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.acceptKeyword('and')) left = { type: 'and', left, right: this.parseNot() };
    return left;
  }

  private parseNot(): Expr {
    if (this.acceptKeyword('not')) return { type: 'not', operand: this.parseNot() };
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parseArithmetic();
    const token = this.peek();
    if (token.kind === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(token.text)) {
      this.advance();
      const right = this.parseArithmetic();
      return { type: 'compare', op: token.text as '=', left, right };
    }
    if (token.kind === 'op' && token.text === '=~') {
      this.advance();
      return { type: 'match', negated: false, operand: left, pattern: this.regexOperand() };
    }
    let negated = false;
    if (token.kind === 'ident' && token.text.toLowerCase() === 'not') {
      const following = this.peekAt(1);
      if (following.kind === 'ident' && ['in', 'like'].includes(following.text.toLowerCase())) {
        this.advance();
        negated = true;
      }
    }
    if (this.acceptKeyword('in')) {
      this.expectOp('[');
      const values: Expr[] = [];
      if (!(this.peek().kind === 'op' && this.peek().text === ']')) {
        values.push(...this.commaList(() => this.literal()));
      }
      this.expectOp(']');
      return { type: 'in', negated, operand: left, values };
    }
    if (this.acceptKeyword('like')) {
      const pattern = this.peek();
      if (pattern.kind === 'string') {
        this.advance();
        return { type: 'match', negated, operand: left, pattern: pattern.text };
      }
      return { type: 'match', negated, operand: left, pattern: this.regexOperand() };
    }
    if (negated) throw this.error('expected "in" or "like" after "not"', this.peek());
    return left;
  }

  /** `a + b - c`, with `*`, `/` and `%` binding tighter, left to right. */
  private parseArithmetic(): Expr {
    let left = this.parseTerm();
    for (
      let token = this.peek();
      token.kind === 'op' && (token.text === '+' || token.text === '-');
      token = this.peek()
    ) {
      this.advance();
      left = { type: 'arith', op: token.text, left, right: this.parseTerm() };
    }
    return left;
  }

  private parseTerm(): Expr {
    let left = this.parseOperand();
    for (
      let token = this.peek();
      token.kind === 'op' && (token.text === '*' || token.text === '/' || token.text === '%');
      token = this.peek()
    ) {
      this.advance();
      left = { type: 'arith', op: token.text as ArithmeticOperator, left, right: this.parseOperand() };
    }
    return left;
  }

  private regexOperand(): RegExp {
    const token = this.advance();
    if (token.kind !== 'regex') throw this.error('expected a /regular expression/', token);
    try {
      return new RegExp(token.text, token.regexFlags);
    } catch {
      throw this.error('invalid regular expression', token);
    }
  }

  private literal(): Expr {
    const token = this.advance();
    if (token.kind === 'string') return { type: 'string', value: token.text };
    if (token.kind === 'number') return { type: 'number', value: Number(token.text) };
    throw this.error('expected a string or number literal', token);
  }

  private parseOperand(): Expr {
    const token = this.peek();
    if (token.kind === 'op' && token.text === '(') {
      this.advance();
      const inner = this.parseOr();
      this.expectOp(')');
      return inner;
    }
    if (token.kind === 'string' || token.kind === 'number') return this.literal();
    if (token.kind === 'ident' && this.peekAt(1).kind === 'op' && this.peekAt(1).text === '(') {
      return this.parseCall();
    }
    return { type: 'field', name: this.fieldName() };
  }

  private parseCall(): Expr {
    const nameToken = this.advance();
    const name = nameToken.text.toLowerCase();
    this.expectOp('(');
    const subnetKind = SUBNET_FUNCTIONS.get(name);
    if (subnetKind !== undefined) {
      const field = this.fieldName();
      this.expectOp(',');
      const cidrToken = this.advance();
      if (cidrToken.kind !== 'string') throw this.error(`${nameToken.text} needs a quoted CIDR`, cidrToken);
      const subnet = parseSubnet(cidrToken.text, subnetKind);
      if (subnet === undefined) {
        throw this.error(`${JSON.stringify(cidrToken.text)} is not a valid ${subnetKind} CIDR`, cidrToken);
      }
      this.expectOp(')');
      return { type: 'call', name, args: [{ type: 'field', name: field }], subnet };
    }
    if (UNARY_FUNCTIONS.has(name)) {
      const field = this.fieldName();
      this.expectOp(')');
      return { type: 'call', name, args: [{ type: 'field', name: field }] };
    }
    if (VALUE_FUNCTIONS.has(name)) {
      const argument = this.parseArithmetic();
      this.expectOp(')');
      return { type: 'call', name, args: [argument] };
    }
    throw this.error(`unsupported function ${JSON.stringify(nameToken.text)}`, nameToken);
  }

  // Helpers.
  private fieldName(): string {
    const token = this.advance();
    if (token.kind === 'field') return this.checkKnown(token.text, token);
    if (token.kind === 'ident' && !KEYWORDS.has(token.text.toLowerCase()) && !/^\d/.test(token.text)) {
      return this.checkKnown(token.text, token);
    }
    throw this.error(
      `expected a field name, found ${JSON.stringify(token.text || 'the end of the query')}`,
      token,
    );
  }

  private checkKnown(name: string, token: Token): string {
    if (this.known !== undefined && !this.known.has(name)) {
      throw this.error(`unknown field ${JSON.stringify(name)} (strict field checking is on)`, token);
    }
    return name;
  }

  private declareName(): string {
    const token = this.advance();
    if (token.kind === 'field') return token.text;
    if (token.kind === 'ident' && !KEYWORDS.has(token.text.toLowerCase()) && !/^[\d@]/.test(token.text)) {
      return token.text;
    }
    throw this.error(`expected a name to define, found ${JSON.stringify(token.text || 'the end')}`, token);
  }

  private declare(name: string): void {
    this.known?.add(name);
  }

  private commaList<T>(item: () => T): T[] {
    const items = [item()];
    while (this.peek().kind === 'op' && this.peek().text === ',') {
      this.advance();
      items.push(item());
    }
    return items;
  }

  private acceptKeyword(word: string): boolean {
    const token = this.peek();
    if (token.kind === 'ident' && token.text.toLowerCase() === word) {
      this.advance();
      return true;
    }
    return false;
  }

  private expectOp(op: string): void {
    const token = this.advance();
    if (token.kind !== 'op' || token.text !== op) {
      throw this.error(
        `expected ${JSON.stringify(op)}, found ${JSON.stringify(token.text || 'the end')}`,
        token,
      );
    }
  }

  private peek(): Token {
    return this.peekAt(0);
  }

  private peekAt(offset: number): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)] as Token;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.position += 1;
    return token;
  }

  private error(message: string, token: Token): QueryCompileError {
    return new QueryCompileError(message, token.start, token.end);
  }
}

/**
 * Compiles a query. `knownFields`: the fields events may carry besides the built-in `@` fields
 * (e.g. the flow log fields); when given, a reference to any other field that no earlier command
 * defined is a compile error, which catches misspelt field names the real service would silently
 * treat as empty.
 */
export function compileQuery(queryString: string, knownFields?: readonly string[]): CompiledQuery {
  return new Parser(tokenize(queryString), knownFields).parseQuery();
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const FLOW_FIELD_INDEX = new Map<string, number>(FLOW_LOG_V2_FIELDS.map((name, index) => [name, index]));

/** The pipeline's view of one seeded event. */
export function eventRow(event: StoredEvent): QueryRow {
  return { fields: new FieldStore(event), timestampMs: event.timestamp };
}

function eventField(event: StoredEvent, name: string): string | undefined {
  switch (name) {
    case '@timestamp':
      return formattedOnce(event.timestamp);
    case '@ingestionTime':
      return formattedOnce(event.ingestionTime ?? event.timestamp);
    case '@message':
      return event.message;
    case '@ptr':
      return event.ptr;
    case '@logStream':
      return event.logStream;
    default: {
      const index = FLOW_FIELD_INDEX.get(name);
      if (index === undefined) return undefined;
      if (event.flowTokens === undefined) {
        // Logs Insights discovers the v2 flow log fields in messages of exactly that shape.
        const tokens = event.message.trim().split(/\s+/);
        event.flowTokens = tokens.length === FLOW_LOG_V2_FIELDS.length && tokens[0] === '2' ? tokens : null;
      }
      return event.flowTokens?.[index];
    }
  }
}

/**
 * Runs a compiled query over rows. `rowLimit` caps the rows returned (the StartQuery limit or
 * the default); a `limit` command inside the query applies where it stands.
 */
export function evaluateQuery(
  query: CompiledQuery,
  input: Iterable<QueryRow>,
  rowLimit: number,
): EvaluationResult {
  // The commands before the first stats (or sort/limit) work row by row: each row goes through
  // them and into the stats on its own, so a query over millions of events holds its groups, not
  // its rows (a row left out by a filter is garbage at once).
  let stream: Iterable<QueryRow> = input;
  let recordsMatched: number | undefined;
  let displayed: string[] | undefined;
  let first = 0;
  for (; first < query.commands.length; first += 1) {
    const command = query.commands[first]!;
    if (command.type !== 'filter' && command.type !== 'parse' && command.type !== 'fields') break;
    stream = rowWise(command, stream);
    if (command.type === 'fields')
      displayed = [...(displayed ?? []), ...command.projections.map((p) => p.alias)];
  }
  let rows: QueryRow[];
  const next = query.commands[first];
  if (next?.type === 'stats') {
    let matched = 0;
    rows = aggregate(
      next,
      counting(stream, () => (matched += 1)),
    );
    recordsMatched = matched;
    displayed = [...next.groups.map((g) => g.name), ...next.aggregates.map((a) => a.name)];
    first += 1;
  } else {
    rows = [...stream];
  }
  for (const command of query.commands.slice(first)) {
    switch (command.type) {
      case 'filter':
        rows = rows.filter((row) => truthy(evaluate(command.expr, row)));
        break;
      case 'parse':
      case 'fields':
        rows = [...rowWise(command, rows)];
        if (command.type === 'fields')
          displayed = [...(displayed ?? []), ...command.projections.map((p) => p.alias)];
        break;
      case 'display':
        displayed = command.fields;
        break;
      case 'stats':
        recordsMatched ??= rows.length;
        rows = aggregate(command, rows);
        displayed = [...command.groups.map((g) => g.name), ...command.aggregates.map((a) => a.name)];
        break;
      case 'sort':
        rows = [...rows].sort((a, b) => {
          for (const key of command.keys) {
            const order = compareForSort(a.fields.get(key.field), b.fields.get(key.field));
            if (order !== 0) return key.descending ? -order : order;
          }
          return 0;
        });
        break;
      case 'limit':
        rows = rows.slice(0, command.count);
        break;
    }
  }
  recordsMatched ??= rows.length;
  // Without stats the events come back with @ptr, and, when nothing chose fields, @timestamp and @message.
  const columns = query.hasStats ? (displayed ?? []) : [...(displayed ?? ['@timestamp', '@message']), '@ptr'];
  const output = rows.slice(0, rowLimit).map((row) => {
    const cells: { field: string; value: string }[] = [];
    for (const field of new Set(columns)) {
      const value = row.fields.get(field);
      if (value !== undefined) cells.push({ field, value });
    }
    return cells;
  });
  return { rows: output, recordsMatched };
}

/** A filter, parse or fields command over rows, lazily, one row at a time. */
function* rowWise(
  command: Extract<Command, { type: 'filter' | 'parse' | 'fields' }>,
  rows: Iterable<QueryRow>,
): Generator<QueryRow> {
  for (const row of rows) {
    if (command.type === 'filter') {
      if (truthy(evaluate(command.expr, row))) yield row;
      continue;
    }
    if (command.type === 'parse') {
      const source = row.fields.get(command.source);
      const match = source === undefined ? null : command.pattern.exec(source);
      // A record the pattern does not match is kept "without the extracted fields" (AWS, parse):
      // nothing else about it changes, a discovered field of the same name included.
      if (match !== null)
        command.names.forEach((name, index) => {
          const captured = match[index + 1];
          if (captured !== undefined) row.fields.set(name, captured);
        });
    } else {
      for (const { expr, alias } of command.projections) {
        const value = evaluate(expr, row);
        if (value === undefined) row.fields.delete(alias);
        else row.fields.set(alias, String(value));
      }
    }
    yield row;
  }
}

function* counting<T>(items: Iterable<T>, count: () => void): Generator<T> {
  for (const item of items) {
    count();
    yield item;
  }
}

type Value = string | number | boolean | undefined;

function evaluate(expr: Expr, row: QueryRow): Value {
  switch (expr.type) {
    case 'or':
      return truthy(evaluate(expr.left, row)) || truthy(evaluate(expr.right, row));
    case 'and':
      return truthy(evaluate(expr.left, row)) && truthy(evaluate(expr.right, row));
    case 'not':
      return !truthy(evaluate(expr.operand, row));
    case 'field':
      return row.fields.get(expr.name);
    case 'string':
    case 'number':
      return expr.value;
    case 'compare': {
      const left = evaluate(expr.left, row);
      const right = evaluate(expr.right, row);
      if (left === undefined || right === undefined) return false;
      const order = compareValues(left, right);
      switch (expr.op) {
        case '=':
          return order === 0;
        case '!=':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    }
    case 'in': {
      const value = evaluate(expr.operand, row);
      if (value === undefined) return false;
      expr.lookup ??= inLookup(expr.values);
      // Equal text is equal; otherwise numbers compare numerically ("443" = 443 = "443.0").
      const number = asNumber(value);
      const found =
        expr.lookup.texts.has(String(value)) || (number !== undefined && expr.lookup.numbers.has(number));
      return expr.negated ? !found : found;
    }
    case 'match': {
      const value = evaluate(expr.operand, row);
      if (value === undefined) return false;
      const text = String(value);
      const found = typeof expr.pattern === 'string' ? text.includes(expr.pattern) : expr.pattern.test(text);
      return expr.negated ? !found : found;
    }
    case 'arith':
      return arithmetic(expr.op, evaluate(expr.left, row), evaluate(expr.right, row));
    case 'call':
      return evaluateCall(expr, row);
  }
}

/** Numbers only; anything else (an unset field, text) gives no value, as a comparison with one would be false. */
function arithmetic(op: ArithmeticOperator, left: Value, right: Value): number | undefined {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a === undefined || b === undefined) return undefined;
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? undefined : a / b;
    default:
      return b === 0 ? undefined : a % b;
  }
}

function inLookup(values: Expr[]): InLookup {
  const lookup: InLookup = { texts: new Set(), numbers: new Set() };
  for (const value of values) {
    if (value.type !== 'string' && value.type !== 'number') continue;
    lookup.texts.add(String(value.value));
    const number = asNumber(value.value);
    if (number !== undefined) lookup.numbers.add(number);
  }
  return lookup;
}

function evaluateCall(expr: Extract<Expr, { type: 'call' }>, row: QueryRow): boolean | number | undefined {
  const argument = expr.args[0];
  const value = argument === undefined ? undefined : evaluate(argument, row);
  switch (expr.name) {
    case 'tomillis':
      return typeof value === 'string' ? timestampMillis(value) : undefined;
    case 'ispresent':
      return value !== undefined;
    case 'isempty':
      return value === undefined || value === '';
    case 'isvalidip':
      return typeof value === 'string' && parseAddress(value) !== undefined;
    case 'isvalidipv4':
      return typeof value === 'string' && parseAddress(value)?.kind() === 'ipv4';
    case 'isvalidipv6':
      return typeof value === 'string' && parseAddress(value)?.kind() === 'ipv6';
    default: {
      if (typeof value !== 'string' || expr.subnet === undefined) return false;
      const address = parseAddress(value);
      if (address === undefined || address.kind() !== expr.subnet.addr.kind()) return false;
      return address.match(expr.subnet.addr, expr.subnet.bits);
    }
  }
}

function truthy(value: Value): boolean {
  return value === true;
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

/** Numbers compare numerically when both sides are numeric, everything else as strings. */
function compareValues(left: Value, right: Value): number {
  if (left === undefined || right === undefined) return Number.NaN;
  if (left === right) return 0;
  const leftNumber = asNumber(left);
  const rightNumber = asNumber(right);
  if (leftNumber !== undefined && rightNumber !== undefined) return Math.sign(leftNumber - rightNumber);
  const a = String(left);
  const b = String(right);
  return a < b ? -1 : a > b ? 1 : 0;
}

function asNumber(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  // Cheap first-character test before the regex: most compared values are words or addresses.
  const first = value.charCodeAt(0);
  if (first !== 45 /* - */ && (first < 48 || first > 57)) return undefined;
  return NUMERIC.test(value) ? Number(value) : undefined;
}

/** Unset values sort last in either direction's ascending order. */
function compareForSort(a: string | undefined, b: string | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return compareValues(a, b);
}

/** One aggregate's running state within one group. */
interface Accumulator {
  add(value: string): void;
  /** Undefined when the aggregate has no value (e.g. sum over no numbers): the field is left out. */
  result(): string | undefined;
}

function newAccumulator(fn: Aggregate): Accumulator {
  switch (fn) {
    case 'count': {
      let count = 0;
      return { add: () => (count += 1), result: () => String(count) };
    }
    case 'count_distinct': {
      const seen = new Set<string>();
      return { add: (value) => seen.add(value), result: () => String(seen.size) };
    }
    case 'sum':
    case 'avg': {
      let sum = 0;
      let numbers = 0;
      return {
        add: (value) => {
          const number = asNumber(value);
          if (number === undefined) return;
          sum += number;
          numbers += 1;
        },
        result: () => (numbers === 0 ? undefined : String(fn === 'sum' ? sum : sum / numbers)),
      };
    }
    case 'min':
    case 'max': {
      let best: string | undefined;
      const sign = fn === 'min' ? -1 : 1;
      return {
        add: (value) => {
          if (best === undefined || Math.sign(compareValues(value, best)) === sign) best = value;
        },
        result: () => best,
      };
    }
  }
}

function aggregate(command: Extract<Command, { type: 'stats' }>, rows: Iterable<QueryRow>): QueryRow[] {
  const groups = new Map<string, { groupValues: string[]; accumulators: Accumulator[] }>();
  const binLabels = new Map<number, string>();
  const newGroup = (groupValues: string[]) => ({
    groupValues,
    accumulators: command.aggregates.map((a) => newAccumulator(a.fn)),
  });
  for (const row of rows) {
    const groupValues: string[] = [];
    let complete = true;
    for (const group of command.groups) {
      let value: string | undefined;
      if (group.binMs !== undefined) {
        value = row.timestampMs === undefined ? undefined : binLabel(row.timestampMs, group.binMs, binLabels);
      } else {
        value = row.fields.get(group.field);
      }
      // Events without a group-by value are left out of the groups.
      if (value === undefined) {
        complete = false;
        break;
      }
      groupValues.push(value);
    }
    if (!complete) continue;
    const key = groupValues.length === 1 ? (groupValues[0] as string) : groupValues.join('\u0000');
    let group = groups.get(key);
    if (group === undefined) {
      group = newGroup(groupValues);
      groups.set(key, group);
    }
    for (let index = 0; index < command.aggregates.length; index += 1) {
      const field = (command.aggregates[index] as StatsAggregate).field;
      const value = field === undefined ? '' : row.fields.get(field);
      if (value !== undefined) (group.accumulators[index] as Accumulator).add(value);
    }
  }
  // A stats without `by` over no events still yields one row (count 0), as the service does.
  if (groups.size === 0 && command.groups.length === 0) groups.set('', newGroup([]));
  const output: QueryRow[] = [];
  for (const group of groups.values()) {
    const fields = new FieldStore();
    command.groups.forEach((g, index) => fields.set(g.name, group.groupValues[index] as string));
    command.aggregates.forEach((a, index) => {
      const value = group.accumulators[index]?.result();
      if (value !== undefined) fields.set(a.name, value);
    });
    output.push({ fields });
  }
  return output;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** formatTimestamp, each value once: a window's events share a few thousand timestamps. */
function formattedOnce(ms: number): string {
  let text = formattedCache.get(ms);
  if (text === undefined) {
    if (formattedCache.size >= 100_000) formattedCache.clear();
    text = formatTimestamp(ms);
    formattedCache.set(ms, text);
  }
  return text;
}
const formattedCache = new Map<number, string>();

/** `2024-05-01 13:00:00.000`, UTC: how Logs Insights prints @timestamp and bin() values. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** `toMillis`: a printed timestamp (`2024-05-01 13:00:00.000`, UTC) back to epoch ms; else no value. */
function timestampMillis(text: string): number | undefined {
  // A window's records share a few thousand timestamps: each text is parsed once.
  let ms = millisCache.get(text);
  if (ms === undefined) {
    ms = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(text)
      ? Date.parse(`${text.replace(' ', 'T')}Z`)
      : NaN;
    if (millisCache.size >= 100_000) millisCache.clear();
    millisCache.set(text, ms);
  }
  return Number.isFinite(ms) ? ms : undefined;
}
const millisCache = new Map<string, number>();

/** The printed start of the bin holding `ms`; formatted once per bin. */
function binLabel(ms: number, binMs: number, labels: Map<number, string>): string {
  const start = Math.floor(ms / binMs) * binMs;
  let label = labels.get(start);
  if (label === undefined) {
    label = formatTimestamp(start);
    labels.set(start, label);
  }
  return label;
}

function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  if (amount <= 0) return undefined;
  const unitName = match[2] as 'ms' | 's' | 'm' | 'h' | 'd';
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unitName];
  // "The cap for ms is 1000, the caps for s and m are 60, and the cap for h is 24": bin(300s)
  // runs as bin(60s) (CloudWatch Logs Insights, datetime functions).
  const cap = { ms: 1000, s: 60, m: 60, h: 24, d: Infinity }[unitName];
  return Math.min(amount, cap) * unit;
}

// Addresses repeat across events and queries: parse each text once. Room for a million-source
// window's sources and destinations (bench/scale.ts), so its split queries do not parse them again.
const addressCache = new Map<string, ipaddr.IPv4 | ipaddr.IPv6 | null>();
const ADDRESS_CACHE_SIZE = 2_500_000;

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  let cached = addressCache.get(text);
  if (cached === undefined) {
    if (addressCache.size >= ADDRESS_CACHE_SIZE) addressCache.clear();
    cached = parseAddressUncached(text) ?? null;
    addressCache.set(text, cached);
  }
  return cached ?? undefined;
}

function parseAddressUncached(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

function parseSubnet(
  text: string,
  kind: 'any' | 'ipv4' | 'ipv6',
): { addr: ipaddr.IPv4 | ipaddr.IPv6; bits: number } | undefined {
  const [address, bits, ...rest] = text.split('/');
  if (address === undefined || bits === undefined || rest.length > 0 || !/^\d{1,3}$/.test(bits))
    return undefined;
  const parsed = parseAddress(address);
  if (parsed === undefined) return undefined;
  if (kind !== 'any' && parsed.kind() !== kind) return undefined;
  const prefix = Number(bits);
  if (prefix > (parsed.kind() === 'ipv4' ? 32 : 128)) return undefined;
  return { addr: parsed, bits: prefix };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
