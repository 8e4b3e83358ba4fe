/**
 * Conditional functions: CASE (bound as the searched form), COALESCE, IF, IFNULL, NULLIF,
 * GREATEST, LEAST. Branches are evaluated lazily, so `CASE WHEN b <> 0 THEN a / b END` never
 * divides by zero.
 */
import { type SqlType, withNullable } from '../../model/types.js';
import { type ScalarFunction, type GenContext, BOOLEAN, anyNullable, commonArgType, expectArg, register } from './registry.js';
import { compareSource, comparisonType } from './operators.js';

/**
 * Emits `r = v1` for the first `c1 === true`, else `r = otherwise`, each value computed only in its
 * branch. One flat labeled block (not nested else-ifs): V8's parser recurses on nesting, and a
 * CASE may have thousands of WHENs.
 */
function genBranches(g: GenContext, r: string, pairs: readonly [number, number][], otherwise: number): void {
  const done = `L${r}`;
  g.emit(`${done}: {`);
  for (const [c, v] of pairs) {
    const cond = g.arg(c);
    const thenCode = g.block(() => g.emit(`${r} = ${g.arg(v)};`));
    g.emit(`if (${cond} === true) {\n${thenCode}\nbreak ${done};\n}`);
  }
  const v = g.arg(otherwise);
  g.emit(`${r} = ${v};\n}`);
}

/** Searched CASE: args [when1, then1, ..., whenN, thenN, else]. */
const CASE: ScalarFunction = {
  name: 'CASE',
  minArgs: 3,
  maxArgs: Infinity,
  nulls: 'custom',
  infer(ctx) {
    const n = ctx.types.length;
    if (n % 2 === 0) ctx.fail('CASE needs an ELSE operand (the binder supplies NULL)');
    const valueIdx = [...Array((n - 1) / 2).keys()].map((i) => 2 * i + 1).concat([n - 1]);
    const c = commonArgType(ctx, valueIdx, 'THEN/ELSE branches');
    const nullable = valueIdx.some((i) => ctx.types[i].nullable);
    const result = withNullable(c, nullable);
    const args = ctx.types.map((t, i) => (i % 2 === 0 && i < n - 1 ? withNullable(expectArg(ctx, i, 'boolean'), t.nullable) : withNullable(c, t.nullable)));
    return { args, result };
  },
  gen(g) {
    const n = g.call.args.length;
    const pairs: [number, number][] = [];
    for (let i = 0; i + 1 < n; i += 2) pairs.push([i, i + 1]);
    const r = g.temp();
    genBranches(g, r, pairs, n - 1);
    return r;
  },
};

const IF: ScalarFunction = {
  name: 'IF',
  minArgs: 3,
  maxArgs: 3,
  nulls: 'custom',
  infer(ctx) {
    expectArg(ctx, 0, 'boolean');
    const c = commonArgType(ctx, [1, 2], 'branches');
    return {
      args: [ctx.types[0].kind === 'NULL' ? BOOLEAN(true) : ctx.types[0], withNullable(c, ctx.types[1].nullable), withNullable(c, ctx.types[2].nullable)],
      result: withNullable(c, ctx.types[1].nullable || ctx.types[2].nullable),
    };
  },
  gen(g) {
    const r = g.temp();
    genBranches(g, r, [[0, 1]], 2);
    return r;
  },
};

function coalesce(name: string, max: number): ScalarFunction {
  return {
    name,
    minArgs: name === 'COALESCE' ? 1 : 2,
    maxArgs: max,
    nulls: 'custom',
    infer(ctx) {
      const c = commonArgType(
        ctx,
        ctx.types.map((_, i) => i),
        'arguments',
      );
      return {
        args: ctx.types.map((t) => withNullable(c, t.nullable)),
        result: withNullable(
          c,
          ctx.types.every((t) => t.nullable),
        ),
      };
    },
    gen(g) {
      // The first non-NULL argument; later ones are evaluated only while all before were NULL.
      const r = g.temp();
      const done = `L${r}`;
      g.emit(`${done}: {`);
      for (let i = 0; i < g.call.args.length; i++) {
        g.emit(`${r} = ${g.arg(i)};`);
        if (!g.call.args[i].type.nullable) break;
        if (i + 1 < g.call.args.length) g.emit(`if (${r} !== null) break ${done};`);
      }
      g.emit('}');
      return r;
    },
  };
}

/** NULLIF(a, b): NULL when a = b, else a (in the common type of a and b). */
const NULLIF: ScalarFunction = {
  name: 'NULLIF',
  minArgs: 2,
  maxArgs: 2,
  nulls: 'custom',
  infer(ctx) {
    const c = comparisonType(ctx, [0, 1], 'apply NULLIF to');
    return { args: ctx.types.map((t) => withNullable(c, t.nullable)), result: withNullable(c, true) };
  },
  gen(g) {
    const a = g.arg(0);
    const b = g.arg(1);
    return `(${a} !== null && ${b} !== null && ${compareSource(g, '=', a, b, g.call.args[0].type)} ? null : ${a})`;
  },
};

/** GREATEST / LEAST: NULL when any argument is NULL (Flink). */
function extreme(name: string, op: '>' | '<'): ScalarFunction {
  return {
    name,
    minArgs: 1,
    maxArgs: Infinity,
    nulls: 'strict',
    infer(ctx) {
      const c: SqlType = comparisonType(
        ctx,
        ctx.types.map((_, i) => i),
        `apply ${name} to`,
      );
      return { args: ctx.types.map((t) => withNullable(c, t.nullable)), result: withNullable(c, anyNullable(ctx.types)) };
    },
    gen(g) {
      const r = g.temp();
      const t = g.call.args[0].type;
      g.emit(`${r} = ${g.a[0]};`);
      for (const a of g.a.slice(1)) g.emit(`if (${compareSource(g, op, a, r, t)}) ${r} = ${a};`);
      return r;
    },
  };
}

register(CASE, IF, coalesce('COALESCE', Infinity), coalesce('IFNULL', 2), NULLIF, extreme('GREATEST', '>'), extreme('LEAST', '<'));
