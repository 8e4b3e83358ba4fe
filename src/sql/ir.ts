/**
 * weir's own SQL IR: frozen, `kind`-tagged nodes produced by src/sql and consumed by everything
 * after it. Nothing outside src/sql sees node-sql-parser's AST. Names are as written, with quoting
 * removed; identifiers are case-sensitive as in Flink (keywords and function names are not).
 * Every node that can be the subject of an error carries its source position.
 */
import type { SqlPosition } from '../errors.js';
import type { SqlType } from '../model/types.js';

export type Pos = SqlPosition | undefined;

// ---------------------------------------------------------------- expressions

export type Expr =
  | ColumnExpr
  | LiteralExpr
  | IntervalExpr
  | UnaryExpr
  | BinaryExpr
  | IsNullExpr
  | IsBoolExpr
  | InExpr
  | BetweenExpr
  | LikeExpr
  | CaseExpr
  | CastExpr
  | CallExpr;

export interface ColumnExpr {
  readonly kind: 'column';
  /** Qualifier as written (`t` in `t.a`), if any. */
  readonly table?: string;
  readonly name: string;
  readonly pos: Pos;
}

/**
 * A literal. `text` is the literal as written for numbers (so `1.50` keeps its scale:
 * Flink types `1.50` as DECIMAL(3, 2), `1` as INT, `1e3` as DOUBLE) and the unquoted content for
 * strings and typed literals (`DATE '2024-01-01'` has literalType 'date', text '2024-01-01').
 */
export interface LiteralExpr {
  readonly kind: 'literal';
  readonly literalType: 'integer' | 'decimal' | 'double' | 'string' | 'boolean' | 'null' | 'date' | 'time' | 'timestamp';
  readonly text: string;
  readonly pos: Pos;
}

export type IntervalUnit = 'YEAR' | 'MONTH' | 'DAY' | 'HOUR' | 'MINUTE' | 'SECOND' | 'MILLISECOND';

/** `INTERVAL '5' SECOND`; `value` is the quoted text. */
export interface IntervalExpr {
  readonly kind: 'interval';
  readonly value: string;
  readonly unit: IntervalUnit;
  readonly pos: Pos;
}

export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: '-' | '+' | 'NOT';
  readonly operand: Expr;
  readonly pos: Pos;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR' | '||';

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly pos: Pos;
}

export interface IsNullExpr {
  readonly kind: 'is-null';
  readonly negated: boolean;
  readonly operand: Expr;
  readonly pos: Pos;
}

/** `x IS [NOT] TRUE | FALSE` */
export interface IsBoolExpr {
  readonly kind: 'is-bool';
  readonly negated: boolean;
  readonly value: boolean;
  readonly operand: Expr;
  readonly pos: Pos;
}

export interface InExpr {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly operand: Expr;
  readonly list: readonly Expr[];
  readonly pos: Pos;
}

export interface BetweenExpr {
  readonly kind: 'between';
  readonly negated: boolean;
  readonly operand: Expr;
  readonly low: Expr;
  readonly high: Expr;
  readonly pos: Pos;
}

export interface LikeExpr {
  readonly kind: 'like';
  readonly negated: boolean;
  readonly operand: Expr;
  readonly pattern: Expr;
  readonly escape?: Expr;
  readonly pos: Pos;
}

/** Searched (`CASE WHEN c THEN ...`) or simple (`CASE x WHEN v THEN ...`, operand set). */
export interface CaseExpr {
  readonly kind: 'case';
  readonly operand?: Expr;
  readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
  readonly else?: Expr;
  readonly pos: Pos;
}

export interface CastExpr {
  readonly kind: 'cast';
  readonly operand: Expr;
  readonly target: SqlType;
  /** TRY_CAST: null instead of an error. */
  readonly try: boolean;
  readonly pos: Pos;
}

/**
 * A function or aggregate call. `name` is upper-cased (`COUNT`, `SUBSTRING`, `COALESCE`).
 * `COUNT(*)` has star = true and no args.
 */
export interface CallExpr {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly Expr[];
  readonly distinct: boolean;
  readonly star: boolean;
  /** Aggregate `FILTER (WHERE ...)`. */
  readonly filter?: Expr;
  /** `OVER (PARTITION BY ... ORDER BY ...)` of a ranking function (ROW_NUMBER). */
  readonly over?: OverClause;
  readonly pos: Pos;
}

/** The window of `fn() OVER (PARTITION BY ... ORDER BY ...)` (no frame clause). */
export interface OverClause {
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly OrderItem[];
  readonly pos: Pos;
}

// ---------------------------------------------------------------- queries

export type Query = SelectQuery | UnionQuery;

export interface SelectQuery {
  readonly kind: 'select';
  readonly distinct: boolean;
  readonly items: readonly SelectItem[];
  /** Absent for `SELECT 1` (a single row). */
  readonly from?: FromItem;
  readonly where?: Expr;
  readonly groupBy: readonly Expr[];
  readonly having?: Expr;
  readonly orderBy: readonly OrderItem[];
  readonly limit?: number;
  readonly pos: Pos;
}

export interface UnionQuery {
  readonly kind: 'union';
  /** UNION ALL when true; plain UNION (distinct) when false. */
  readonly all: boolean;
  readonly left: Query;
  readonly right: Query;
  readonly pos: Pos;
}

export type SelectItem =
  | { readonly kind: 'star'; readonly table?: string; readonly pos: Pos }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly alias?: string; readonly pos: Pos };

export interface OrderItem {
  readonly expr: Expr;
  readonly descending: boolean;
}

export type FromItem = TableRef | SubqueryRef | JoinRef | WindowTvfRef;

export interface TableRef {
  readonly kind: 'table';
  /** Possibly qualified: ['cat', 'db', 't'] or ['t']. */
  readonly name: readonly string[];
  readonly alias?: string;
  readonly pos: Pos;
}

export interface SubqueryRef {
  readonly kind: 'subquery';
  readonly query: Query;
  readonly alias?: string;
  readonly pos: Pos;
}

/**
 * A window table-valued function: `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`.
 * `intervals` are the arguments after the descriptor, as written: TUMBLE(size), HOP(slide, size),
 * CUMULATE(step, max size), SESSION(gap).
 */
export interface WindowTvfRef {
  readonly kind: 'window-tvf';
  readonly fn: 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION';
  readonly input: TableRef;
  readonly timeCol: { readonly name: string; readonly pos: Pos };
  readonly intervals: readonly Expr[];
  /** SESSION's `PARTITION BY` columns. */
  readonly partitionBy: readonly { readonly name: string; readonly pos: Pos }[];
  readonly alias?: string;
  readonly pos: Pos;
}

export interface JoinRef {
  readonly kind: 'join';
  readonly joinType: 'inner' | 'left' | 'right' | 'full' | 'cross';
  readonly left: FromItem;
  readonly right: FromItem;
  readonly on?: Expr;
  readonly pos: Pos;
}

// ---------------------------------------------------------------- statements

export type Statement =
  | SetStatement
  | ResetStatement
  | CreateTableStatement
  | CreateViewStatement
  | DropStatement
  | InsertStatement
  | StatementSetStatement
  | QueryStatement
  | ExplainStatement;

/** `SET 'k' = 'v'`; `SET` alone lists (key and value absent). */
export interface SetStatement {
  readonly kind: 'set';
  readonly key?: string;
  readonly value?: string;
  readonly pos: Pos;
}

export interface ResetStatement {
  readonly kind: 'reset';
  readonly key?: string;
  readonly pos: Pos;
}

export type ColumnDef =
  | { readonly kind: 'physical'; readonly name: string; readonly type: SqlType; readonly pos: Pos }
  /** `name AS expr` */
  | { readonly kind: 'computed'; readonly name: string; readonly expr: Expr; readonly pos: Pos }
  /** `name TYPE METADATA [FROM 'key'] [VIRTUAL]` */
  | {
      readonly kind: 'metadata';
      readonly name: string;
      readonly type: SqlType;
      readonly key?: string;
      readonly virtual: boolean;
      readonly pos: Pos;
    };

export interface CreateTableStatement {
  readonly kind: 'create-table';
  readonly name: readonly string[];
  readonly ifNotExists: boolean;
  readonly temporary: boolean;
  readonly columns: readonly ColumnDef[];
  /** Column names of `PRIMARY KEY (...) NOT ENFORCED`, if declared (inline or as a constraint). */
  readonly primaryKey?: readonly string[];
  readonly watermark?: { readonly column: string; readonly expr: Expr; readonly pos: Pos };
  /** Column names of `PARTITIONED BY (...)`, if declared (used by file-based connectors). */
  readonly partitionedBy?: readonly string[];
  /** WITH ('k' = 'v', ...) in order of appearance; keys as written. */
  readonly options: readonly { readonly key: string; readonly value: string; readonly pos: Pos }[];
  readonly pos: Pos;
}

export interface CreateViewStatement {
  readonly kind: 'create-view';
  readonly name: readonly string[];
  readonly ifNotExists: boolean;
  readonly temporary: boolean;
  readonly columnNames?: readonly string[];
  readonly query: Query;
  /** The query's SQL text, for SHOW CREATE VIEW and plan fingerprints. */
  readonly queryText: string;
  readonly pos: Pos;
}

export interface DropStatement {
  readonly kind: 'drop';
  readonly object: 'table' | 'view';
  readonly name: readonly string[];
  readonly ifExists: boolean;
  readonly temporary: boolean;
  readonly pos: Pos;
}

export interface InsertStatement {
  readonly kind: 'insert';
  readonly target: readonly string[];
  /** Explicit target column list, if given. */
  readonly columns?: readonly string[];
  readonly overwrite: boolean;
  readonly query: Query;
  readonly queryText: string;
  readonly pos: Pos;
}

/** `EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END` (also `BEGIN STATEMENT SET; ... END;`). */
export interface StatementSetStatement {
  readonly kind: 'statement-set';
  readonly inserts: readonly InsertStatement[];
  readonly pos: Pos;
}

export interface QueryStatement {
  readonly kind: 'query';
  readonly query: Query;
  readonly queryText: string;
  readonly pos: Pos;
}

export interface ExplainStatement {
  readonly kind: 'explain';
  readonly statement: InsertStatement | StatementSetStatement | QueryStatement;
  readonly pos: Pos;
}

// ---------------------------------------------------------------- shell commands (`weir sql` only)

/**
 * Statements only the SQL shell runs (src/sql/shell-statements.ts parses them); they are not part
 * of `Statement`, so a job file never sees them.
 */
export type ShellStatement =
  | ShowStatement
  | ShowCreateStatement
  | ShowCheckpointsStatement
  | DescribeStatement
  | StopJobStatement
  | HelpStatement
  | QuitStatement;

/** `SHOW TABLES | VIEWS | FUNCTIONS | JOBS` */
export interface ShowStatement {
  readonly kind: 'show';
  readonly what: 'tables' | 'views' | 'functions' | 'jobs';
  readonly pos: Pos;
}

/** `SHOW CREATE TABLE t` / `SHOW CREATE VIEW v` */
export interface ShowCreateStatement {
  readonly kind: 'show-create';
  readonly object: 'table' | 'view';
  readonly name: readonly string[];
  readonly pos: Pos;
}

/** `SHOW CHECKPOINTS 'job id or name'` */
export interface ShowCheckpointsStatement {
  readonly kind: 'show-checkpoints';
  readonly job: string;
  readonly pos: Pos;
}

/** `DESCRIBE t` / `DESC t` */
export interface DescribeStatement {
  readonly kind: 'describe';
  readonly name: readonly string[];
  readonly pos: Pos;
}

/** `STOP JOB 'id' [WITH SAVEPOINT]` */
export interface StopJobStatement {
  readonly kind: 'stop-job';
  readonly job: string;
  readonly savepoint: boolean;
  readonly pos: Pos;
}

export interface HelpStatement {
  readonly kind: 'help';
  readonly pos: Pos;
}

/** `QUIT` / `EXIT` */
export interface QuitStatement {
  readonly kind: 'quit';
  readonly pos: Pos;
}
