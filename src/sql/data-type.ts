/**
 * Flink data type syntax -> SqlType. Defaults follow Flink: DECIMAL = DECIMAL(10, 0),
 * CHAR = CHAR(1), VARCHAR = VARCHAR(1), TIMESTAMP = TIMESTAMP(6), TIME = TIME(0);
 * VARCHAR(2147483647) is STRING. Collection and structured types are not supported yet.
 */
import type { SqlType, TypeKind } from '../model/types.js';
import { type } from '../model/types.js';
import { TokenCursor } from './cursor.js';
import { invalid, notYet, unsupported } from './sql-errors.js';
import { SourceText, tokenize, type TextOrigin, type Token } from './tokenizer.js';

const MAX_LENGTH = 2147483647;

const SIMPLE: Readonly<Record<string, TypeKind>> = {
  TINYINT: 'TINYINT',
  SMALLINT: 'SMALLINT',
  INT: 'INT',
  INTEGER: 'INT',
  BIGINT: 'BIGINT',
  FLOAT: 'FLOAT',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  STRING: 'STRING',
  BYTES: 'BYTES',
};

const NOT_YET = new Set(['ARRAY', 'MAP', 'ROW', 'MULTISET', 'RAW', 'INTERVAL', 'STRUCTURED', 'VARIANT']);

/** Parses a whole text as one data type: `parseDataType('DECIMAL(10, 2) NOT NULL')`. */
export function parseDataType(text: string, origin?: TextOrigin): SqlType {
  const src = new SourceText(text, origin);
  const c = new TokenCursor(src, tokenize(src));
  const t = parseTypeAt(c, '');
  c.expectEnd('after data type');
  return t;
}

/**
 * Parses a data type at the cursor, including a `NOT NULL` / `NULL` suffix. `context` completes
 * "expected a data type <context>" (e.g. "for column 'a'").
 */
export function parseTypeAt(c: TokenCursor, context: string): SqlType {
  const nameTok = c.peek();
  if (nameTok?.kind !== 'word') throw c.expected('a data type', context || 'here');
  c.next();
  const name = nameTok.upper;
  const at = c.posOf(nameTok);
  let result: SqlType;
  const simple = SIMPLE[name];
  if (simple !== undefined) {
    result = type(simple);
  } else if (name === 'DOUBLE') {
    c.acceptWord('PRECISION');
    result = type('DOUBLE');
  } else if (name === 'DECIMAL' || name === 'DEC' || name === 'NUMERIC') {
    let precision = 10;
    let scale = 0;
    if (c.acceptOp('(')) {
      precision = integerParam(c, 'precision', name);
      if (c.acceptOp(',')) scale = integerParam(c, 'scale', name);
      c.expectOp(')', `after ${name} parameters`);
    }
    if (precision < 1 || precision > 38) throw invalid(`DECIMAL precision must be between 1 and 38, got ${precision}`, at);
    if (scale > precision) throw invalid(`DECIMAL scale must be between 0 and the precision ${precision}, got ${scale}`, at);
    result = type('DECIMAL', true, precision, scale);
  } else if (name === 'CHAR' || name === 'VARCHAR') {
    const length = optionalParam(c, name) ?? 1;
    if (length < 1) throw invalid(`${name} length must be at least 1, got ${length}`, at);
    result = name === 'VARCHAR' && length === MAX_LENGTH ? type('STRING') : type(name, true, length);
  } else if (name === 'BINARY' || name === 'VARBINARY') {
    const length = optionalParam(c, name);
    if (length !== undefined && length < 1) throw invalid(`${name} length must be at least 1, got ${length}`, at);
    result = type('BYTES');
  } else if (name === 'TIME') {
    const p = timePrecision(c, name, at, 0);
    if (c.acceptWords('WITHOUT', 'TIME', 'ZONE')) {
      // the default meaning; nothing to record
    }
    result = type('TIME', true, p);
  } else if (name === 'TIMESTAMP') {
    const p = timePrecision(c, name, at, 6);
    if (c.acceptWords('WITH', 'LOCAL', 'TIME', 'ZONE')) result = type('TIMESTAMP_LTZ', true, p);
    else if (c.isWord('WITH') && c.isWord('TIME', 1)) {
      throw unsupported('TIMESTAMP WITH TIME ZONE', at, 'use TIMESTAMP_LTZ or TIMESTAMP WITH LOCAL TIME ZONE');
    } else {
      c.acceptWords('WITHOUT', 'TIME', 'ZONE');
      result = type('TIMESTAMP', true, p);
    }
  } else if (name === 'TIMESTAMP_LTZ') {
    result = type('TIMESTAMP_LTZ', true, timePrecision(c, name, at, 6));
  } else if (NOT_YET.has(name)) {
    throw notYet(`data type ${name}`, at);
  } else {
    throw invalid(`unknown data type ${quoteWord(nameTok)}`, at);
  }
  if (c.acceptWords('NOT', 'NULL')) return type(result.kind, false, result.precision, result.scale);
  c.acceptWord('NULL');
  return result;
}

function quoteWord(t: Token): string {
  return `'${t.text}'`;
}

function integerParam(c: TokenCursor, what: string, typeName: string): number {
  const t = c.peek();
  if (t?.kind !== 'number' || !/^\d+$/.test(t.text)) throw c.expected(`an integer ${what}`, `in ${typeName}(...)`);
  c.next();
  const n = Number(t.text);
  if (!Number.isSafeInteger(n) || n > MAX_LENGTH) throw invalid(`${typeName} ${what} ${t.text} is too large`, c.posOf(t));
  return n;
}

function optionalParam(c: TokenCursor, typeName: string): number | undefined {
  if (!c.acceptOp('(')) return undefined;
  const n = integerParam(c, 'length', typeName);
  c.expectOp(')', `after ${typeName} length`);
  return n;
}

function timePrecision(c: TokenCursor, typeName: string, at: ReturnType<TokenCursor['here']>, dflt: number): number {
  if (!c.acceptOp('(')) return dflt;
  const p = integerParam(c, 'precision', typeName);
  c.expectOp(')', `after ${typeName} precision`);
  if (p > 9) throw invalid(`${typeName} precision must be between 0 and 9, got ${p}`, at);
  return p;
}
