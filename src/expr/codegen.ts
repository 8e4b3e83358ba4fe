/**
 * Turns bound expressions into JS source. Every node becomes a `let` temp assigned by statements
 * in the current block, so short-circuiting constructs (AND, CASE, COALESCE) can put their
 * operands' code inside if/else branches. Constants that are not plain literals (functions,
 * RegExps, Sets) are hoisted out of the generated function and passed in once.
 */
import type { BoundExpr } from './bound.js';
import { type BoundCall, type GenContext, type ScalarFunction, lookupFunction } from './functions/registry.js';
import { associativeOperands } from './bound-walk.js';
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

  /**
   * Emits the code computing `e` into the current block and returns an atom holding its value.
   * Strict calls are walked with an explicit stack (a chain `a + b + ...` is as deep as it is
   * long); a custom call generates its own arguments, and an associative one (AND, OR) takes the
   * operands of its whole chain at once, so the generated code stays flat too.
   */
  gen(root: BoundExpr): string {
    const frames: { e: BoundCall; fn: ScalarFunction; atoms: string[] }[] = [];
    let e: BoundExpr = root;
    for (;;) {
      let atom: string;
      if (e.kind === 'input') atom = this.input(e.index);
      else if (e.kind === 'literal') atom = literalSource(e.value) ?? this.konst(e.value);
      else if (e.kind === 'call') {
        const fn = lookupFunction(e.fn);
        if (!fn) throw internalError(`no implementation for bound function ${e.fn}`);
        if (fn.nulls === 'strict') {
          if (e.args.length > 0) {
            frames.push({ e, fn, atoms: [] });
            e = e.args[0]!;
            continue;
          }
          atom = this.strictCall(e, fn, []);
        } else {
          atom = this.customCall(fn.associative ? { ...e, args: associativeOperands(e) } : e, fn);
        }
      } else {
        return unreachable(e);
      }
      // Hand the atom to the waiting strict calls; finish those that have all their arguments.
      for (;;) {
        const top = frames[frames.length - 1];
        if (!top) return atom;
        top.atoms.push(atom);
        if (top.atoms.length < top.e.args.length) {
          e = top.e.args[top.atoms.length]!;
          break;
        }
        frames.pop();
        atom = this.strictCall(top.e, top.fn, top.atoms);
      }
    }
  }

  private context(e: BoundCall): Omit<GenContext, 'a' | 'arg'> {
    const pos = e.pos;
    const thrower = (message: string): never => {
      throw userError('EXPR_EVAL', message, { position: pos });
    };
    return {
      call: e,
      konst: (v: unknown) => this.konst(v),
      temp: () => this.temp(),
      emit: (l: string) => this.emit(l),
      block: (f: () => void) => this.block(f),
      raise: (message: string) => `${this.konst(thrower)}(${message})`,
    };
  }

  private customCall(e: BoundCall, fn: ScalarFunction): string {
    const r = this.temp();
    const ctx: GenContext = { ...this.context(e), a: [], arg: (i: number) => this.gen(e.args[i]!) };
    this.emit(`${r} = ${fn.gen(ctx)};`);
    return r;
  }

  /** A strict call whose arguments' atoms are computed: NULL if any is NULL, else `fn.gen`. */
  private strictCall(e: BoundCall, fn: ScalarFunction, atoms: readonly string[]): string {
    const r = this.temp();
    if (atoms.some((a) => a === 'null')) {
      this.emit(`${r} = null;`);
      return r;
    }
    const checks = atoms.filter((_a, i) => {
      const arg = e.args[i]!;
      return arg.kind !== 'literal' && (arg.type.nullable || arg.type.kind === 'NULL');
    });
    const ctx: GenContext = {
      ...this.context(e),
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
