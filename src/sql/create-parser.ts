/**
 * CREATE TABLE and CREATE VIEW, Flink syntax:
 *   CREATE [TEMPORARY] TABLE [IF NOT EXISTS] [cat.db.]name (
 *     col TYPE [NOT NULL] [[CONSTRAINT n] PRIMARY KEY NOT ENFORCED] [COMMENT '...'],
 *     col AS expr [COMMENT '...'],
 *     col TYPE METADATA [FROM 'key'] [VIRTUAL] [COMMENT '...'],
 *     [CONSTRAINT n] PRIMARY KEY (a, b) NOT ENFORCED,
 *     WATERMARK FOR col AS expr
 *   ) [COMMENT '...'] [PARTITIONED BY (a, b)] [WITH ('k' = 'v', ...)]
 *   CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(a, b)] [COMMENT '...'] AS query
 */
import type { SqlPosition } from '../errors.js';
import { withNullable } from '../model/types.js';
import type { ColumnDef, CreateTableStatement, CreateViewStatement, Expr, Pos } from './ir.js';
import type { TokenCursor } from './cursor.js';
import { parseTypeAt } from './data-type.js';
import { convertExprSegment, expressionEnd } from './expr-segment.js';
import type { StatementContext } from './nsp-node.js';
import { convertQuerySegment } from './query-convert.js';
import { newRewriteTables } from './rewrite.js';
import { invalid, parseError, unsupported } from './sql-errors.js';

export function parseCreate(ctx: StatementContext, c: TokenCursor): CreateTableStatement | CreateViewStatement {
  const pos = c.posOf(c.next());
  if (c.isWord('OR')) throw unsupported('CREATE OR REPLACE', c.here());
  const temporary = c.acceptWord('TEMPORARY') !== undefined;
  if (c.acceptWord('TABLE')) return parseCreateTable(ctx, c, temporary, pos);
  if (c.acceptWord('VIEW')) return parseCreateView(ctx, c, temporary, pos);
  const t = c.peek();
  if (t && t.kind === 'word') throw unsupported(`CREATE ${temporary ? 'TEMPORARY ' : ''}${t.upper}`, c.here());
  throw c.expected('TABLE or VIEW', 'after CREATE');
}

interface PrimaryKeyDecl {
  columns: string[];
  pos: SqlPosition;
}

function parseCreateTable(ctx: StatementContext, c: TokenCursor, temporary: boolean, pos: Pos): CreateTableStatement {
  const ifNotExists = c.acceptWords('IF', 'NOT', 'EXISTS');
  const { name } = c.expectName('after CREATE TABLE');
  const tableName = name.join('.');
  if (c.isWord('AS')) throw unsupported('CREATE TABLE ... AS SELECT', c.here(), 'create the table, then INSERT INTO it');
  if (c.isWord('LIKE')) throw unsupported('CREATE TABLE ... LIKE', c.here());
  c.expectOp('(', `after CREATE TABLE ${tableName}`);
  const columns: ColumnDef[] = [];
  let primaryKey: PrimaryKeyDecl | undefined;
  let watermark: CreateTableStatement['watermark'];
  const setPrimaryKey = (pk: PrimaryKeyDecl): void => {
    if (primaryKey) throw invalid(`table ${tableName} declares more than one PRIMARY KEY`, pk.pos);
    primaryKey = pk;
  };
  for (;;) {
    const here = c.here();
    if (c.isWord('CONSTRAINT') || c.isWord('PRIMARY')) {
      setPrimaryKey(parseTableConstraint(c));
    } else if (c.isWord('WATERMARK')) {
      if (watermark) throw invalid(`table ${tableName} declares more than one WATERMARK`, here);
      watermark = parseWatermark(ctx, c);
    } else {
      const { column, primaryKey: inlinePk } = parseColumn(ctx, c);
      if (columns.some((x) => x.name === column.name)) throw invalid(`column '${column.name}' is declared twice`, here);
      columns.push(column);
      if (inlinePk) setPrimaryKey(inlinePk);
    }
    if (c.acceptOp(',')) continue;
    c.expectOp(')', 'after column list');
    break;
  }
  while (c.acceptWord('COMMENT')) c.expectString('after COMMENT');
  let partitionedBy: string[] | undefined;
  const partitionPos = c.here();
  if (c.acceptWord('PARTITIONED')) {
    c.expectWord('BY', 'after PARTITIONED');
    partitionedBy = identList(c, 'in PARTITIONED BY');
  }
  const options: { key: string; value: string; pos: Pos }[] = [];
  const sawWith = c.acceptWord('WITH') !== undefined;
  if (sawWith) parseOptions(c, options);
  if (c.isWord('LIKE')) throw unsupported('CREATE TABLE ... LIKE', c.here());
  if (c.isWord('AS')) throw unsupported('CREATE TABLE ... AS SELECT', c.here(), 'create the table, then INSERT INTO it');
  if (!c.done) throw c.expected(sawWith ? 'end of statement' : 'WITH (...) or end of statement', 'after the table definition');
  const finalColumns = validate(columns, primaryKey, watermark, partitionedBy, partitionPos);
  return {
    kind: 'create-table',
    name,
    ifNotExists,
    temporary,
    columns: finalColumns,
    ...(primaryKey ? { primaryKey: primaryKey.columns } : {}),
    ...(watermark ? { watermark } : {}),
    ...(partitionedBy ? { partitionedBy } : {}),
    options,
    pos,
  };
}

/** Primary key columns must be physical and become NOT NULL (as in Flink). */
function validate(
  columns: ColumnDef[],
  pk: PrimaryKeyDecl | undefined,
  watermark: CreateTableStatement['watermark'],
  partitionedBy: string[] | undefined,
  partitionPos: SqlPosition,
): ColumnDef[] {
  const byName = new Map(columns.map((c) => [c.name, c] as const));
  if (pk) {
    const seen = new Set<string>();
    for (const k of pk.columns) {
      const col = byName.get(k);
      if (!col) throw invalid(`PRIMARY KEY column '${k}' is not a column of the table`, pk.pos);
      if (col.kind === 'computed') throw invalid(`PRIMARY KEY column '${k}' must be a physical or metadata column, not a computed column`, pk.pos);
      if (seen.has(k)) throw invalid(`PRIMARY KEY lists column '${k}' twice`, pk.pos);
      seen.add(k);
    }
  }
  if (watermark && !byName.has(watermark.column)) {
    throw invalid(`WATERMARK column '${watermark.column}' is not a column of the table`, watermark.pos);
  }
  for (const p of partitionedBy ?? []) {
    if (!byName.has(p)) throw invalid(`PARTITIONED BY column '${p}' is not a column of the table`, partitionPos);
  }
  if (!pk) return columns;
  const keys = new Set(pk.columns);
  return columns.map((col) => (col.kind === 'physical' && keys.has(col.name) ? { ...col, type: withNullable(col.type, false) } : col));
}

function parseColumn(ctx: StatementContext, c: TokenCursor): { column: ColumnDef; primaryKey?: PrimaryKeyDecl } {
  const { name, token } = c.expectIdent('as a column name');
  const pos = c.posOf(token);
  if (c.acceptWord('AS')) {
    const start = c.i;
    const end = expressionEnd(ctx.tokens, start, c.end, ['COMMENT']);
    const expr = convertExprSegment(ctx, start, end, newRewriteTables(), `computed column '${name}'`);
    c.i = end;
    skipComment(c);
    return { column: { kind: 'computed', name, expr, pos } };
  }
  const type = parseTypeAt(c, `for column '${name}'`);
  if (c.acceptWord('METADATA')) {
    let key: string | undefined;
    if (c.acceptWord('FROM')) key = c.expectString('after METADATA FROM').value;
    const virtual = c.acceptWord('VIRTUAL') !== undefined;
    skipComment(c);
    return { column: { kind: 'metadata', name, type, ...(key !== undefined ? { key } : {}), virtual, pos } };
  }
  let primaryKey: PrimaryKeyDecl | undefined;
  const pkAt = c.here();
  const named = c.acceptWord('CONSTRAINT') !== undefined;
  if (named) c.expectIdent('after CONSTRAINT');
  if (c.acceptWord('PRIMARY')) {
    c.expectWord('KEY', 'after PRIMARY');
    expectNotEnforced(c, pkAt);
    primaryKey = { columns: [name], pos: pkAt };
  } else if (named) {
    throw c.expected('PRIMARY KEY', 'after the CONSTRAINT name');
  }
  skipComment(c);
  return { column: { kind: 'physical', name, type, pos }, ...(primaryKey ? { primaryKey } : {}) };
}

function skipComment(c: TokenCursor): void {
  if (c.acceptWord('COMMENT')) c.expectString('after COMMENT');
}

function expectNotEnforced(c: TokenCursor, at: SqlPosition): void {
  if (c.acceptWords('NOT', 'ENFORCED')) return;
  if (c.isWord('ENFORCED')) throw invalid('Flink requires PRIMARY KEY ... NOT ENFORCED: ENFORCED primary keys are not supported', c.here());
  throw invalid("Flink requires PRIMARY KEY ... NOT ENFORCED (key uniqueness is not checked): add 'NOT ENFORCED'", at);
}

/** `[CONSTRAINT name] PRIMARY KEY (a, b) NOT ENFORCED` */
function parseTableConstraint(c: TokenCursor): PrimaryKeyDecl {
  const pos = c.here();
  if (c.acceptWord('CONSTRAINT')) c.expectIdent('after CONSTRAINT');
  c.expectWord('PRIMARY', 'after CONSTRAINT name');
  c.expectWord('KEY', 'after PRIMARY');
  const columns = identList(c, 'in PRIMARY KEY');
  expectNotEnforced(c, pos);
  return { columns, pos };
}

/** `WATERMARK FOR col AS expr` */
function parseWatermark(ctx: StatementContext, c: TokenCursor): NonNullable<CreateTableStatement['watermark']> {
  const pos = c.posOf(c.next());
  c.expectWord('FOR', 'after WATERMARK');
  const { name: column } = c.expectIdent('after WATERMARK FOR');
  c.expectWord('AS', `after WATERMARK FOR ${column}`);
  const start = c.i;
  const end = expressionEnd(ctx.tokens, start, c.end);
  const expr: Expr = convertExprSegment(ctx, start, end, newRewriteTables(), `the WATERMARK of '${column}'`);
  c.i = end;
  return { column, expr, pos };
}

function identList(c: TokenCursor, context: string): string[] {
  c.expectOp('(', context);
  const names = [c.expectIdent(context).name];
  while (c.acceptOp(',')) names.push(c.expectIdent(`after ',' ${context}`).name);
  c.expectOp(')', `after the column names ${context}`);
  return names;
}

/** `('k' = 'v', ...)` */
function parseOptions(c: TokenCursor, options: { key: string; value: string; pos: Pos }[]): void {
  c.expectOp('(', 'after WITH');
  if (c.acceptOp(')')) return;
  do {
    const t = c.peek();
    const { value: key, token } = c.expectString("as an option key (keys are quoted: 'connector' = '...')");
    const pos = c.posOf(t ?? token);
    c.expectOp('=', `after option key '${key}'`);
    const { value } = c.expectString(`as the value of option '${key}'`);
    if (options.some((o) => o.key === key)) throw invalid(`option '${key}' is given twice`, pos);
    options.push({ key, value, pos });
  } while (c.acceptOp(','));
  c.expectOp(')', 'after the table options');
}

function parseCreateView(ctx: StatementContext, c: TokenCursor, temporary: boolean, pos: Pos): CreateViewStatement {
  const ifNotExists = c.acceptWords('IF', 'NOT', 'EXISTS');
  const { name } = c.expectName('after CREATE VIEW');
  let columnNames: string[] | undefined;
  if (c.isOp('(')) columnNames = identList(c, `in the column list of view ${name.join('.')}`);
  while (c.acceptWord('COMMENT')) c.expectString('after COMMENT');
  c.expectWord('AS', `after CREATE VIEW ${name.join('.')}`);
  if (c.done) throw c.expected('a query', 'after AS');
  const start = c.i;
  const query = convertQuerySegment(ctx, start, c.end, newRewriteTables());
  const queryText = ctx.src.text.slice(ctx.tokens[start]!.start, ctx.tokens[c.end - 1]!.end);
  c.i = c.end;
  if (columnNames && new Set(columnNames).size !== columnNames.length) throw parseError('a view column list names a column twice', pos);
  return {
    kind: 'create-view',
    name,
    ifNotExists,
    temporary,
    ...(columnNames ? { columnNames } : {}),
    query,
    queryText,
    pos,
  };
}
