/**
 * Turns bound expressions into JS source. Every node becomes a `let` temp assigned by statements
 * in the current block, so short-circuiting constructs (AND, CASE, COALESCE) can put their
 * operands' code inside if/else branches. Constants that are not plain literals (functions,
 * RegExps, Sets) are hoisted out of the generated function and passed in once.
 */
import type { BoundExpr } from './bound.js';
import { type BoundCall, type GenContext, lookupFunction } from './functions/registry.js';
import { internalError, userError, unreachable } from '../errors.js';
import './functions/index.js';

/** JS source of a primitive literal, or undefined when the value must be hoisted. */
export function literalSource(v: unknown): string | undefined {
  switch (typeof v) {
    case 'number':
      if (Object.is(v, -0)) return '-0';
      if (Number.isNaN(v)) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      return v < 0 ? `(${v})` : String(v);
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return String(v);
    case 'bigint':
      return v < 0n ? `(${v}n)` : `${v}n`;
    case 'object':
      return v === null ? 'null' : undefined;
    default:
      return undefined;
  }
}

export class CodeGen {
  private readonly consts: unknown[] = [];
  private readonly constNames = new Map<unknown, string>();
  private temps = 0;
  private cur: string[] = [];

  /** `input(i)` is the JS source reading input column i of the current row. */
  constructor(private readonly input: (index: number) => string) {}

  konst(v: unknown): string {
    let name = this.constNames.get(v);
    if (name === undefined) {
      name = `k${this.consts.length}`;
      this.consts.push(v);
      this.constNames.set(v, name);
    }
    return name;
  }

  temp(): string {
    const t = `t${this.temps++}`;
    this.cur.push(`let ${t};`);
    return t;
  }

  emit(line: string): void {
    this.cur.push(line);
  }

  block(fn: () => void): string {
    const saved = this.cur;
    this.cur = [];
    try {
      fn();
      return this.cur.join('\n');
    } finally {
      this.cur = saved;
    }
  }

  /** Emits the code computing `e` into the current block and returns an atom holding its value. */
  gen(e: BoundExpr): string {
    switch (e.kind) {
      case 'input':
        return this.input(e.index);
      case 'literal':
        return literalSource(e.value) ?? this.konst(e.value);
      case 'call':
        return this.call(e);
      default:
        return unreachable(e);
    }
  }

  private call(e: BoundCall): string {
    const fn = lookupFunction(e.fn);
    if (!fn) throw internalError(`no implementation for bound function ${e.fn}`);
    const r = this.temp();
    const pos = e.pos;
    const thrower = (message: string): never => {
      throw userError('EXPR_EVAL', message, { position: pos });
    };
    const base = {
      call: e,
      konst: (v: unknown) => this.konst(v),
      temp: () => this.temp(),
      emit: (l: string) => this.emit(l),
      block: (f: () => void) => this.block(f),
      raise: (message: string) => `${this.konst(thrower)}(${message})`,
    };
    if (fn.nulls === 'custom') {
      const ctx: GenContext = { ...base, a: [], arg: (i: number) => this.gen(e.args[i]) };
      this.emit(`${r} = ${fn.gen(ctx)};`);
      return r;
    }
    const atoms = e.args.map((a) => this.gen(a));
    if (atoms.some((a) => a === 'null')) {
      this.emit(`${r} = null;`);
      return r;
    }
    const checks = atoms.filter((_a, i) => {
      const arg = e.args[i];
      return arg.kind !== 'literal' && (arg.type.nullable || arg.type.kind === 'NULL');
    });
    const ctx: GenContext = {
      ...base,
      a: atoms,
      arg: () => {
        throw internalError(`strict function ${e.fn} used arg()`);
      },
    };
    const body = this.block(() => this.emit(`${r} = ${fn.gen(ctx)};`));
    if (checks.length === 0) this.emit(body);
    else this.emit(`if (${[...new Set(checks)].map((a) => `${a} === null`).join(' || ')}) ${r} = null;\nelse {\n${body}\n}`);
    return r;
  }

  /** `const kN = K[N];` lines for the hoisted constants. */
  prelude(): string {
    return this.consts.map((_, i) => `const k${i} = K[${i}];`).join('\n');
  }

  /** Evaluates `factorySource` (which must `return` a function) with the constants bound. */
  build<T>(factorySource: string): T {
    const src = `${this.prelude()}\n${factorySource}`;
    try {
      return new Function('K', src)(this.consts) as T;
    } catch (err) {
      throw internalError(`generated code does not compile: ${(err as Error).message}\n${src}`, err);
    }
  }
}
