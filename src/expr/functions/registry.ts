/**
 * The scalar function table. Each entry owns its type rule (`infer`, run once when binding) and
 * its code template (`gen`, run once when compiling). Entries are keyed by upper-case SQL name;
 * operators use their symbol ('+', '=', 'IS NULL').
 */
import type { BoundExpr } from '../bound.js';
import type { Pos } from '../../sql/ir.js';
import { type SqlType, type, isNumeric, isString } from '../../model/types.js';
import { commonType, typeName } from '../type-rules.js';
import { userError } from '../../errors.js';

export type BoundCall = Extract<BoundExpr, { kind: 'call' }>;

/** What a function expects: the types its arguments are coerced to, and its result type. */
export interface Signature {
  readonly args: readonly SqlType[];
  readonly result: SqlType;
}

export interface InferContext {
  /** The SQL name as the user wrote it (for messages). */
  readonly name: string;
  readonly pos: Pos;
  /** Bound arguments (literals can be inspected, e.g. ROUND's scale). */
  readonly args: readonly BoundExpr[];
  readonly types: readonly SqlType[];
  /** Throws a user error at the call's position. */
  fail(message: string): never;
  /** Throws `invalid argument i+1 of NAME: expected X, got T`. */
  argError(i: number, expected: string): never;
}

/** Handed to `gen`. Code is emitted into the current block; expressions returned are JS source. */
export interface GenContext {
  readonly call: BoundCall;
  /** strict functions: atoms (variable names or literals) holding the non-null argument values. */
  readonly a: readonly string[];
  /** custom functions: emits argument i's code at the current point and returns its atom. */
  arg(i: number): string;
  /** A hoisted constant (function, RegExp, Set, bigint...) by name. */
  konst(v: unknown): string;
  /** Declares a fresh `let` in the current block. */
  temp(): string;
  emit(line: string): void;
  /** Runs `fn` with a fresh block and returns the block's code (for if/else branches). */
  block(fn: () => void): string;
  /** An expression that throws userError('EXPR_EVAL') with the call's position; `message` is JS source of a string. */
  raise(message: string): string;
}

export interface ScalarFunction {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /**
   * 'strict': the result is NULL when any argument is NULL; the compiler evaluates all arguments
   * and emits the check, so `gen` only sees non-null values. 'custom': `gen` handles NULLs itself
   * and evaluates arguments (possibly lazily) with `arg(i)`.
   */
  readonly nulls: 'strict' | 'custom';
  /** false for CURRENT_TIMESTAMP and friends: never constant-folded. */
  readonly deterministic?: boolean;
  /**
   * AND, OR: `f(f(a, b), c)` = `f(a, b, c)`. Code generation hands a custom associative function
   * the operands of its whole chain at once (so `gen` must take any number of them).
   */
  readonly associative?: boolean;
  infer(ctx: InferContext): Signature;
  gen(ctx: GenContext): string;
}

const FUNCTIONS = new Map<string, ScalarFunction>();

export function register(...fns: ScalarFunction[]): void {
  for (const f of fns) FUNCTIONS.set(f.name, f);
}

/** Registers `alias` as another name of `target` (e.g. CEILING for CEIL). */
export function alias(aliasName: string, target: string): void {
  const f = FUNCTIONS.get(target);
  if (!f) throw new Error(`alias of unknown function ${target}`);
  FUNCTIONS.set(aliasName, { ...f, name: aliasName, gen: f.gen, infer: f.infer });
}

export function lookupFunction(name: string): ScalarFunction | undefined {
  return FUNCTIONS.get(name.toUpperCase());
}

export function functionNames(): string[] {
  return [...FUNCTIONS.keys()].sort();
}

// ------------------------------------------------------------------ inference helpers

/** `argPos[i]` is the source position of argument i, when known. */
export function makeInferContext(name: string, pos: Pos, args: readonly BoundExpr[], argPos: readonly Pos[] = []): InferContext {
  const types = args.map((a) => a.type);
  return {
    name,
    pos,
    args,
    types,
    fail(message: string): never {
      throw userError('SQL_TYPE', message, { position: pos });
    },
    argError(i: number, expected: string): never {
      throw userError('SQL_TYPE', `invalid argument ${i + 1} of ${name}: expected ${expected}, got ${typeName(types[i])}`, {
        position: argPos[i] ?? pos,
      });
    },
  };
}

export const anyNullable = (ts: readonly SqlType[]): boolean => ts.some((t) => t.nullable);
export const isNull = (t: SqlType): boolean => t.kind === 'NULL';

export const STRING = (nullable: boolean): SqlType => type('STRING', nullable);
export const BOOLEAN = (nullable: boolean): SqlType => type('BOOLEAN', nullable);
export const INT = (nullable: boolean): SqlType => type('INT', nullable);
export const BIGINT = (nullable: boolean): SqlType => type('BIGINT', nullable);
export const DOUBLE = (nullable: boolean): SqlType => type('DOUBLE', nullable);

export type ArgClass = 'string' | 'numeric' | 'integer' | 'boolean' | 'datetime' | 'any';

const CLASS_TEXT: Record<ArgClass, string> = {
  string: 'a string (CHAR, VARCHAR, STRING)',
  numeric: 'a numeric type',
  integer: 'an integer type (TINYINT, SMALLINT, INT, BIGINT)',
  boolean: 'BOOLEAN',
  datetime: 'DATE, TIMESTAMP or TIMESTAMP_LTZ',
  any: 'any type',
};

function fits(t: SqlType, c: ArgClass): boolean {
  if (t.kind === 'NULL' || c === 'any') return true;
  switch (c) {
    case 'string':
      return isString(t);
    case 'numeric':
      return isNumeric(t);
    case 'integer':
      return t.kind === 'TINYINT' || t.kind === 'SMALLINT' || t.kind === 'INT' || t.kind === 'BIGINT';
    case 'boolean':
      return t.kind === 'BOOLEAN';
    case 'datetime':
      return t.kind === 'DATE' || t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ';
  }
}

/** Checks argument i against a class and returns its type (NULL literals become `nullAs`). */
export function expectArg(ctx: InferContext, i: number, c: ArgClass, nullAs?: SqlType): SqlType {
  const t = ctx.types[i];
  if (!fits(t, c)) ctx.argError(i, CLASS_TEXT[c]);
  if (t.kind === 'NULL' && nullAs) return { ...nullAs, nullable: true };
  return t;
}

/** The coercion target for a string argument: the argument's own type (no cast) or STRING for NULL. */
export const strArg = (ctx: InferContext, i: number): SqlType => expectArg(ctx, i, 'string', STRING(true));
/** Integer arguments keep their own type: every integer kind is a JS number. */
export const intArg = (ctx: InferContext, i: number): SqlType => expectArg(ctx, i, 'integer', INT(true));
export const doubleArg = (ctx: InferContext, i: number): SqlType => type('DOUBLE', expectArg(ctx, i, 'numeric').nullable);

/** Common type of some arguments or a user error naming them. */
export function commonArgType(ctx: InferContext, indexes: readonly number[], what: string): SqlType {
  const ts = indexes.map((i) => ctx.types[i]);
  const c = commonType(ts);
  if (!c) ctx.fail(`${what} of ${ctx.name} have incompatible types: ${ts.map(typeName).join(', ')}`);
  return c;
}

/** A string literal's value when argument i is a constant string, else undefined. */
export function constString(ctx: { args: readonly BoundExpr[] } | { call: BoundCall }, i: number): string | undefined {
  const args = 'call' in ctx ? ctx.call.args : ctx.args;
  const a = args[i];
  return a && a.kind === 'literal' && typeof a.value === 'string' ? a.value : undefined;
}

/** gen helper: calls a JS implementation with the argument atoms. */
export function callImpl(impl: (...args: never[]) => unknown): (g: GenContext) => string {
  return (g) => `${g.konst(impl)}(${g.a.join(', ')})`;
}

/** A strict function with fixed argument classes, coerced types and a result kind. */
export function simple(
  name: string,
  argTypes: readonly ((ctx: InferContext, i: number) => SqlType)[],
  result: (nullable: boolean, ctx: InferContext) => SqlType,
  gen: (g: GenContext) => string,
  optionalFrom = argTypes.length,
): ScalarFunction {
  return {
    name,
    minArgs: optionalFrom,
    maxArgs: argTypes.length,
    nulls: 'strict',
    infer(ctx) {
      const args = ctx.types.map((_, i) => argTypes[i](ctx, i));
      return { args, result: result(anyNullable(ctx.types), ctx) };
    },
    gen,
  };
}

/** JS source for a string constant. */
export const js = (s: string): string => JSON.stringify(s);
