/**
 * $filter as Dataverse's Web API takes it (a subset of OData's): tokenized, parsed and
 * compiled to a predicate over rows.
 *
 * Error messages are the OData library's ("Syntax error at position 12 in
 * 'firstname eq'.", "Could not find a property named 'x' on type
 * 'Microsoft.Dynamics.CRM.contact'."), which Dataverse passes on with code 0x80060888.
 */
import { odataError, propertyNotFound } from './errors.js';
import type { Comparable } from './query.js';
import type { Field, Shape, ValueKind } from './table-definitions.js';
import { compareComparable, foldText, guidSortKey, isIsoDate, isoSeconds, parseIsoDateTime } from './values.js';

export type Predicate = (row: Comparable) => boolean | null;

type LiteralType = ValueKind | 'null';

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'lit'; type: LiteralType; v: unknown; edm: string; text: string; pos: number }
  | { t: '(' | ')' | ','; pos: number }
  | { t: 'end'; pos: number };

const GUID_AT = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![A-Za-z0-9_])/y;
const DATETIME_AT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/y;
const DATE_AT = /\d{4}-\d{2}-\d{2}(?![\dT])/y;
const NUMBER_AT = /-?\d+(\.\d+)?([eE][+-]?\d+)?([mMdDfFlL])?(?![A-Za-z0-9_])/y;
const IDENT_AT = /[A-Za-z_][A-Za-z0-9_.]*(\/[A-Za-z_][A-Za-z0-9_.]*)*/y;

const TEXT_FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'eq', 'ne', 'gt', 'ge', 'lt', 'le']);

function sticky(pattern: RegExp, text: string, at: number): string | null {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? null;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === '(' || char === ')' || char === ',') {
      tokens.push({ t: char, pos: i });
      i++;
      continue;
    }
    if (char === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw odataError(`There is an unterminated literal at position ${text.length} in '${text}'.`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ t: 'lit', type: 'string', v: value, edm: 'Edm.String', text: text.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    let match = sticky(GUID_AT, text, i);
    if (match) {
      tokens.push({ t: 'lit', type: 'guid', v: match.toLowerCase(), edm: 'Edm.Guid', text: match, pos: i });
      i += match.length;
      continue;
    }
    match = sticky(DATETIME_AT, text, i);
    if (match) {
      const ms = parseIsoDateTime(match);
      if (Number.isNaN(ms)) throw odataError(`Unrecognized 'Edm.DateTimeOffset' literal '${match}' at '${i}' in '${text}'.`);
      tokens.push({ t: 'lit', type: 'datetime', v: ms, edm: 'Edm.DateTimeOffset', text: match, pos: i });
      i += match.length;
      continue;
    }
    match = sticky(DATE_AT, text, i);
    if (match) {
      if (!isIsoDate(match)) throw odataError(`Unrecognized 'Edm.Date' literal '${match}' at '${i}' in '${text}'.`);
      tokens.push({ t: 'lit', type: 'date', v: match, edm: 'Edm.Date', text: match, pos: i });
      i += match.length;
      continue;
    }
    match = sticky(NUMBER_AT, text, i);
    if (match) {
      const numeric = match.replace(/[mMdDfFlL]$/, '');
      const integer = /^-?\d+$/.test(numeric);
      const edm = integer ? (Math.abs(Number(numeric)) <= 2_147_483_647 ? 'Edm.Int32' : 'Edm.Int64') : 'Edm.Decimal';
      tokens.push({ t: 'lit', type: 'number', v: Number(numeric), edm, text: match, pos: i });
      i += match.length;
      continue;
    }
    match = sticky(IDENT_AT, text, i);
    if (match) {
      // A call of a function the filter language here does not have (Dataverse's query
      // functions such as Microsoft.Dynamics.CRM.Today included) fails on its name,
      // whatever its arguments look like.
      if (text[i + match.length] === '(' && !TEXT_FUNCTIONS.has(match) && !KEYWORDS.has(match)) {
        throw odataError(`An unknown function with name '${match}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`);
      }
      tokens.push({ t: 'ident', v: match, pos: i });
      i += match.length;
      continue;
    }
    throw odataError(`Syntax error: character '${char}' is not valid at position ${i} in '${text}'.`);
  }
  tokens.push({ t: 'end', pos: text.length });
  return tokens;
}

type Operand =
  | { k: 'field'; field: Field; pos: number }
  | { k: 'lit'; type: LiteralType; value: unknown; edm: string; pos: number };

type Node =
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'cmp'; op: CompareOp; left: Operand; right: Operand }
  | { k: 'text'; fn: 'contains' | 'startswith' | 'endswith'; field: Field; value: string }
  | { k: 'in'; field: Field; values: Operand[] }
  | { k: 'bool'; field: Field }
  | { k: 'const'; value: boolean };

type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARE_OPS = new Set<CompareOp>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const OP_KIND: Record<CompareOp, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};
const MIRROR: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };


class FilterParser {
  private readonly tokens: Token[];
  private at = 0;

  constructor(
    private readonly shape: Shape,
    private readonly text: string,
  ) {
    this.tokens = tokenize(text);
  }

  parse(): Node {
    const node = this.parseOr();
    const next = this.peek();
    if (next.t !== 'end') throw this.syntax(next.pos);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.at] as Token;
  }

  private next(): Token {
    return this.tokens[this.at++] as Token;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.t === 'ident' && token.v === word;
  }

  private syntax(pos: number): Error {
    return odataError(`Syntax error at position ${pos} in '${this.text}'.`);
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      left = { k: 'or', a: left, b: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseUnary();
    while (this.isKeyword('and')) {
      this.next();
      left = { k: 'and', a: left, b: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): Node {
    if (this.isKeyword('not')) {
      this.next();
      return { k: 'not', a: this.parseUnary() };
    }
    return this.parseComparison();
  }

  private parseComparison(): Node {
    const start = this.peek().pos;
    const left = this.parsePrimary();
    const token = this.peek();
    if (token.t === 'ident' && COMPARE_OPS.has(token.v as CompareOp)) {
      this.next();
      const rightStart = this.peek().pos;
      const right = this.parsePrimary();
      if (!isOperand(left)) throw this.syntax(token.pos);
      if (!isOperand(right)) throw this.syntax(rightStart);
      return this.comparison(token.v as CompareOp, left, right);
    }
    if (token.t === 'ident' && token.v === 'in') {
      this.next();
      if (!isOperand(left) || left.k !== 'field') throw this.syntax(start);
      return this.parseIn(left);
    }
    if (isOperand(left)) {
      if (left.k === 'field' && left.field.kind === 'boolean') return { k: 'bool', field: left.field };
      if (left.k === 'lit' && left.type === 'boolean') return { k: 'const', value: left.value === true };
      // An operand where a condition is needed: an operator should follow.
      throw odataError(`Syntax error at position ${token.pos} in '${this.text}'.`);
    }
    return left;
  }

  private parseIn(field: Extract<Operand, { k: 'field' }>): Node {
    const open = this.next();
    if (open.t !== '(') throw this.syntax(open.pos);
    const values: Operand[] = [];
    for (;;) {
      const token = this.next();
      if (token.t !== 'lit') throw token.t === 'end' ? odataError(`Expression expected at position ${token.pos} in '${this.text}'.`) : this.syntax(token.pos);
      const value: Operand = { k: 'lit', type: token.type, value: token.v, edm: token.edm, pos: token.pos };
      this.checkTypes('eq', field, value);
      values.push(value);
      const separator = this.next();
      if (separator.t === ')') break;
      if (separator.t !== ',') throw odataError(`')' or ',' expected at position ${separator.pos} in '${this.text}'.`);
    }
    return { k: 'in', field: field.field, values };
  }

  private parsePrimary(): Node | Operand {
    const token = this.next();
    switch (token.t) {
      case 'end':
        throw odataError(`Expression expected at position ${token.pos} in '${this.text}'.`);
      case '(': {
        const inner = this.parseOr();
        const close = this.next();
        if (close.t !== ')') throw odataError(`')' or operator expected at position ${close.pos} in '${this.text}'.`);
        return inner;
      }
      case ')':
      case ',':
        throw this.syntax(token.pos);
      case 'lit':
        return { k: 'lit', type: token.type, value: token.v, edm: token.edm, pos: token.pos };
      case 'ident': {
        if (token.v === 'true' || token.v === 'false') return { k: 'lit', type: 'boolean', value: token.v === 'true', edm: 'Edm.Boolean', pos: token.pos };
        if (token.v === 'null') return { k: 'lit', type: 'null', value: null, edm: 'null', pos: token.pos };
        if (this.peek().t === '(') return this.parseFunction(token.v);
        const field = this.shape.byName.get(token.v);
        if (!field) throw propertyNotFound(this.shape.typeName, token.v);
        return { k: 'field', field, pos: token.pos };
      }
    }
  }

  private parseFunction(name: string): Node {
    if (!TEXT_FUNCTIONS.has(name)) {
      throw odataError(`An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`);
    }
    this.next();
    const args: (Node | Operand)[] = [];
    if (this.peek().t !== ')') {
      for (;;) {
        args.push(this.parsePrimary());
        const separator = this.next();
        if (separator.t === ')') break;
        if (separator.t !== ',') throw odataError(`')' or ',' expected at position ${separator.pos} in '${this.text}'.`);
      }
    } else this.next();
    const [subject, value] = args;
    if (
      args.length !== 2 ||
      !isOperand(subject) ||
      !isOperand(value) ||
      subject.k !== 'field' ||
      subject.field.kind !== 'string' ||
      value.k !== 'lit' ||
      value.type !== 'string'
    ) {
      throw odataError(
        `No function signature for the function with name '${name}' matches the specified arguments. The function signatures considered are: ${name}(Edm.String Nullable=true, Edm.String Nullable=true).`,
      );
    }
    return { k: 'text', fn: name as 'contains' | 'startswith' | 'endswith', field: subject.field, value: value.value as string };
  }

  private checkTypes(op: CompareOp, left: Operand, right: Operand): void {
    const a = operandType(left);
    const b = operandType(right);
    if (a === 'null' || b === 'null' || a === b) return;
    const temporal = (t: LiteralType) => t === 'datetime' || t === 'date';
    if (temporal(a) && temporal(b)) return;
    throw odataError(
      `A binary operator with incompatible types was detected. Found operand types '${operandEdm(left)}' and '${operandEdm(right)}' for operator kind '${OP_KIND[op]}'.`,
    );
  }

  private comparison(op: CompareOp, left: Operand, right: Operand): Node {
    this.checkTypes(op, left, right);
    // Keep the column on the left: `5 lt numberofemployees` is `numberofemployees gt 5`.
    if (left.k === 'lit' && right.k === 'field') return { k: 'cmp', op: MIRROR[op], left: right, right: left };
    return { k: 'cmp', op, left, right };
  }
}

function isOperand(value: Node | Operand | undefined): value is Operand {
  return value !== undefined && (value.k === 'field' || value.k === 'lit');
}

function operandType(operand: Operand): LiteralType {
  return operand.k === 'field' ? operand.field.kind : operand.type;
}

function operandEdm(operand: Operand): string {
  return operand.k === 'field' ? operand.field.edm : operand.edm;
}

/** A literal as the comparable value of a column of `kind`. */
function literalComparable(kind: ValueKind, operand: Extract<Operand, { k: 'lit' }>): unknown {
  const value = operand.value;
  if (operand.type === 'null' || value === null) return null;
  switch (kind) {
    case 'string':
      return foldText(value as string);
    case 'guid':
      return guidSortKey(value as string);
    case 'boolean':
      return value ? 1 : 0;
    case 'datetime':
      return operand.type === 'date' ? Date.parse(`${value as string}T00:00:00Z`) : value;
    case 'date':
      return operand.type === 'datetime' ? isoSeconds(value as number).slice(0, 10) : value;
    default:
      return value;
  }
}

function compile(node: Node): Predicate {
  switch (node.k) {
    case 'and': {
      const a = compile(node.a);
      const b = compile(node.b);
      // SQL's three-valued AND.
      return (row) => {
        const x = a(row);
        if (x === false) return false;
        const y = b(row);
        if (y === false) return false;
        return x === null || y === null ? null : true;
      };
    }
    case 'or': {
      const a = compile(node.a);
      const b = compile(node.b);
      return (row) => {
        const x = a(row);
        if (x === true) return true;
        const y = b(row);
        if (y === true) return true;
        return x === null || y === null ? null : false;
      };
    }
    case 'not': {
      const a = compile(node.a);
      return (row) => {
        const x = a(row);
        return x === null ? null : !x;
      };
    }
    case 'const':
      return () => node.value;
    case 'bool': {
      const field = node.field;
      return (row) => {
        const value = row.comparable(field);
        return value === null ? null : value === 1;
      };
    }
    case 'text': {
      const field = node.field;
      const test = likeMatcher(node.fn, foldText(node.value));
      return (row) => {
        const value = row.comparable(field);
        return value === null ? null : test(value as string);
      };
    }
    case 'in': {
      const field = node.field;
      const values = new Set(node.values.map((value) => literalComparable(field.kind, value as Extract<Operand, { k: 'lit' }>)));
      return (row) => {
        const value = row.comparable(field);
        return value === null ? null : values.has(value);
      };
    }
    case 'cmp':
      return compileComparison(node.op, node.left, node.right);
  }
}

/**
 * contains/startswith/endswith become SQL LIKE conditions ('%x%', 'x%', '%x'), so the
 * value's own `%`, `_` and `[...]` act as wildcards there.
 */
function likeMatcher(fn: 'contains' | 'startswith' | 'endswith', needle: string): (text: string) => boolean {
  if (!/[%_[]/.test(needle)) {
    if (fn === 'contains') return (text) => text.includes(needle);
    if (fn === 'startswith') return (text) => text.startsWith(needle);
    return (text) => text.endsWith(needle);
  }
  let pattern = '';
  for (let i = 0; i < needle.length; i++) {
    const char = needle[i] as string;
    if (char === '%') pattern += '[\\s\\S]*';
    else if (char === '_') pattern += '[\\s\\S]';
    else if (char === '[') {
      const close = needle.indexOf(']', i + 2);
      if (close < 0) {
        pattern += '\\[';
        continue;
      }
      const body = needle.slice(i + 1, close);
      const negated = body.startsWith('^');
      pattern += `[${negated ? '^' : ''}${(negated ? body.slice(1) : body).replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else pattern += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const regex = new RegExp(`^${fn === 'startswith' ? '' : '[\\s\\S]*'}${pattern}${fn === 'endswith' ? '' : '[\\s\\S]*'}$`);
  return (text) => regex.test(text);
}

function compileComparison(op: CompareOp, left: Operand, right: Operand): Predicate {
  const test = (c: number): boolean => {
    switch (op) {
      case 'eq':
        return c === 0;
      case 'ne':
        return c !== 0;
      case 'gt':
        return c > 0;
      case 'ge':
        return c >= 0;
      case 'lt':
        return c < 0;
      case 'le':
        return c <= 0;
    }
  };
  if (left.k === 'field' && right.k === 'lit') {
    const field = left.field;
    if (right.type === 'null') {
      // `eq null` / `ne null` are IS NULL / IS NOT NULL; other comparisons with null match nothing.
      if (op === 'eq') return (row) => row.comparable(field) === null;
      if (op === 'ne') return (row) => row.comparable(field) !== null;
      return () => null;
    }
    const literal = literalComparable(field.kind, right);
    return (row) => {
      const value = row.comparable(field);
      // A null column compared with a value is unknown (SQL): it matches neither `eq` nor `ne`.
      return value === null ? null : test(compareComparable(value, literal));
    };
  }
  if (left.k === 'field' && right.k === 'field') {
    const a = left.field;
    const b = right.field;
    return (row) => {
      const x = row.comparable(a);
      const y = row.comparable(b);
      return x === null || y === null ? null : test(compareComparable(x, y));
    };
  }
  // Two literals.
  const kind = left.k === 'lit' && left.type !== 'null' ? left.type : right.k === 'lit' && right.type !== 'null' ? right.type : 'string';
  const x = literalComparable(kind as ValueKind, left as Extract<Operand, { k: 'lit' }>);
  const y = literalComparable(kind as ValueKind, right as Extract<Operand, { k: 'lit' }>);
  const result = x === null || y === null ? (op === 'eq' ? x === y : op === 'ne' ? x !== y : null) : test(compareComparable(x, y));
  return () => result;
}

/** Parses and compiles a $filter expression for rows of `shape`. */
export function parseFilter(shape: Shape, text: string | null): Predicate | null {
  if (text === null || text.trim() === '') return null;
  return compile(new FilterParser(shape, text).parse());
}
