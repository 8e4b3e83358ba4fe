/**
 * Aggregate functions with retraction (changelog input: +I/+U accumulate, -U/-D retract).
 * Accumulators are plain numbers, arrays, objects, Maps and bigints so that keyed state can be
 * checkpointed with v8.serialize and restored unchanged.
 *
 * Costs: COUNT/SUM/AVG are O(1) per row. MIN/MAX keep a multiset (Map value -> count) of the
 * group's values: accumulating is O(1); retracting the current extreme when its count drops to
 * zero rescans the Map's keys, O(distinct values in the group). DISTINCT variants keep the same
 * kind of Map.
 *
 * Insert-only input (resolved with `retractable: false`, as Flink specializes append-only
 * aggregation) needs far less: MIN/MAX keep only the current extreme, SUM only the sum (or null),
 * DISTINCT variants a Set. Their accumulators are plain values where possible, which keyed state
 * stores and snapshots as columns; their retract() throws, since a retraction reaching them is a
 * planner bug.
 */
import type { Pos } from '../sql/ir.js';
import { type SqlType, type, isNumeric, withNullable } from '../model/types.js';
import { internalError, userError } from '../errors.js';
import { decCheck, decDiv } from './decimal.js';
import { decimalScale, typeName } from './type-rules.js';

export interface AggregateFunction<Acc = unknown> {
  readonly name: string;
  readonly resultType: SqlType;
  /**
   * False for the insert-only variant: retract() throws an internal error, and an operator must
   * never call it (the planner resolves this variant only for insert-only input).
   */
  readonly retractable: boolean;
  create(): Acc;
  /**
   * value: the argument (ignored by COUNT(*)); SQL NULL args are skipped by all but COUNT(*).
   * Returns the (possibly new) accumulator, so number accumulators need no object.
   */
  accumulate(acc: Acc, value: unknown): Acc;
  retract(acc: Acc, value: unknown): Acc;
  getValue(acc: Acc): unknown;
  /**
   * Insert-only variants: the accumulator holding what the retractable variant of the same call
   * holds in `acc` (state written by a retracting operator before the specialization existed; it
   * saw the same insert-only input, so it holds no retraction that arrived before its row).
   */
  fromRetractable?(acc: unknown): Acc;
}

/** Options of resolveAggregate. */
export interface ResolveOptions {
  /** Whether the input may retract (-U/-D): false resolves the insert-only variant. Default true. */
  readonly retractable?: boolean;
}

export const AGGREGATE_NAMES: ReadonlySet<string> = new Set(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG']);

const BIGINT_NOT_NULL = type('BIGINT', false);

/** Map keys must compare by value: BYTES become latin1 strings (byte order = code unit order). */
function keyCodec(t: SqlType): { toKey: (v: unknown) => unknown; fromKey: (k: unknown) => unknown } {
  if (t.kind === 'BYTES') {
    return {
      toKey: (v) => String.fromCharCode(...(v as Uint8Array)),
      fromKey: (k) => Uint8Array.from(k as string, (c) => c.charCodeAt(0)),
    };
  }
  const id = (v: unknown): unknown => v;
  return { toKey: id, fromKey: id };
}

/** A counted multiset; `n` counts keys with a positive count (retractions may arrive first). */
interface Multiset {
  m: Map<unknown, number>;
  n: number;
}

/** Adds `delta` to k's count; returns +1 when k became present, -1 when it disappeared, else 0. */
function bump(ms: Multiset, k: unknown, delta: 1 | -1): number {
  const before = ms.m.get(k) ?? 0;
  const after = before + delta;
  if (after === 0) ms.m.delete(k);
  else ms.m.set(k, after);
  if (before <= 0 && after > 0) {
    ms.n++;
    return 1;
  }
  if (before > 0 && after <= 0) {
    ms.n--;
    return -1;
  }
  return 0;
}

const countStar: AggregateFunction<number> = {
  name: 'COUNT',
  resultType: BIGINT_NOT_NULL,
  retractable: true,
  create: () => 0,
  accumulate: (acc) => acc + 1,
  retract: (acc) => acc - 1,
  getValue: (acc) => acc,
};

const count: AggregateFunction<number> = {
  name: 'COUNT',
  resultType: BIGINT_NOT_NULL,
  retractable: true,
  create: () => 0,
  accumulate: (acc, v) => (v === null ? acc : acc + 1),
  retract: (acc, v) => (v === null ? acc : acc - 1),
  getValue: (acc) => acc,
};

function countDistinct(t: SqlType): AggregateFunction<Multiset> {
  const { toKey } = keyCodec(t);
  return {
    name: 'COUNT',
    resultType: BIGINT_NOT_NULL,
    retractable: true,
    create: () => ({ m: new Map(), n: 0 }),
    accumulate(acc, v) {
      if (v !== null) bump(acc, toKey(v), 1);
      return acc;
    },
    retract(acc, v) {
      if (v !== null) bump(acc, toKey(v), -1);
      return acc;
    },
    getValue: (acc) => acc.n,
  };
}

/** [sum, count of non-null values]; the sum is a bigint for DECIMAL. */
type SumAcc = [number | bigint, number];

function add(a: number | bigint, b: unknown): number | bigint {
  return typeof a === 'bigint' ? a + (b as bigint) : a + (b as number);
}
function sub(a: number | bigint, b: unknown): number | bigint {
  return typeof a === 'bigint' ? a - (b as bigint) : a - (b as number);
}

/** Flink: SUM keeps the input type (DECIMAL(p, s) -> DECIMAL(38, s)); NULL when no non-null value remains. */
function sumType(t: SqlType): SqlType {
  return t.kind === 'DECIMAL' ? type('DECIMAL', true, 38, decimalScale(t)) : withNullable(t, true);
}

/** Flink's findAvgAggType: AVG of an integer is an integer (truncated), DECIMAL(p, s) -> DECIMAL(38, max(6, s)). */
function avgType(t: SqlType): SqlType {
  return t.kind === 'DECIMAL' ? type('DECIMAL', true, 38, Math.max(6, decimalScale(t))) : withNullable(t, true);
}

function avgValue(t: SqlType, result: SqlType): (sum: number | bigint, n: number) => unknown {
  if (t.kind === 'DECIMAL') {
    const s = decimalScale(t),
      rs = decimalScale(result);
    return (sum, n) => decCheck(decDiv(sum as bigint, s, BigInt(n), 0, rs), 38);
  }
  if (t.kind === 'FLOAT' || t.kind === 'DOUBLE') return (sum, n) => (sum as number) / n;
  return (sum, n) => Math.trunc((sum as number) / n) + 0;
}

function sumLike(name: 'SUM' | 'AVG', t: SqlType): AggregateFunction<SumAcc> {
  const zero = t.kind === 'DECIMAL' ? 0n : 0;
  const resultType = name === 'SUM' ? sumType(t) : avgType(t);
  const avg = avgValue(t, resultType);
  return {
    name,
    resultType,
    retractable: true,
    create: () => [zero, 0],
    accumulate(acc, v) {
      if (v === null) return acc;
      acc[0] = add(acc[0], v);
      acc[1]++;
      return acc;
    },
    retract(acc, v) {
      if (v === null) return acc;
      acc[1]--;
      // Floating sums drift under retraction; an empty group restarts from an exact zero.
      acc[0] = acc[1] === 0 ? zero : sub(acc[0], v);
      return acc;
    },
    getValue(acc) {
      if (acc[1] <= 0) return null;
      if (name === 'AVG') return avg(acc[0], acc[1]);
      return typeof acc[0] === 'bigint' ? decCheck(acc[0], 38) : acc[0];
    },
  };
}

/** SUM(DISTINCT x) / AVG(DISTINCT x): a multiset of values plus the sum of the distinct ones. */
interface DistinctSumAcc extends Multiset {
  s: number | bigint;
}

function sumLikeDistinct(name: 'SUM' | 'AVG', t: SqlType): AggregateFunction<DistinctSumAcc> {
  const zero = t.kind === 'DECIMAL' ? 0n : 0;
  const resultType = name === 'SUM' ? sumType(t) : avgType(t);
  const avg = avgValue(t, resultType);
  return {
    name,
    resultType,
    retractable: true,
    create: () => ({ m: new Map(), n: 0, s: zero }),
    accumulate(acc, v) {
      if (v !== null && bump(acc, v, 1) === 1) acc.s = add(acc.s, v);
      return acc;
    },
    retract(acc, v) {
      if (v !== null && bump(acc, v, -1) === -1) acc.s = acc.n === 0 ? zero : sub(acc.s, v);
      return acc;
    },
    getValue(acc) {
      if (acc.n <= 0) return null;
      if (name === 'AVG') return avg(acc.s, acc.n);
      return typeof acc.s === 'bigint' ? decCheck(acc.s, 38) : acc.s;
    },
  };
}

/** MIN/MAX accumulator: the multiset of values and the current extreme (as a key), null when empty. */
interface ExtremeAcc extends Multiset {
  x: unknown;
}

function extreme(name: 'MIN' | 'MAX', t: SqlType): AggregateFunction<ExtremeAcc> {
  const { toKey, fromKey } = keyCodec(t);
  const better = name === 'MIN' ? (a: unknown, b: unknown) => (a as number) < (b as number) : (a: unknown, b: unknown) => (a as number) > (b as number);
  return {
    name,
    resultType: withNullable(t, true),
    retractable: true,
    create: () => ({ m: new Map(), n: 0, x: null }),
    accumulate(acc, v) {
      if (v === null) return acc;
      const k = toKey(v);
      bump(acc, k, 1);
      if ((acc.m.get(k) ?? 0) > 0 && (acc.x === null || better(k, acc.x))) acc.x = k;
      return acc;
    },
    retract(acc, v) {
      if (v === null) return acc;
      const k = toKey(v);
      if (bump(acc, k, -1) === -1 && k === acc.x) {
        // The extreme left the group: rescan the remaining values (O(distinct values)).
        let x: unknown = null;
        for (const [key, c] of acc.m) if (c > 0 && (x === null || better(key, x))) x = key;
        acc.x = x;
      }
      return acc;
    },
    getValue: (acc) => (acc.x === null ? null : fromKey(acc.x)),
  };
}

function noRetract(name: string): (acc: unknown, value: unknown) => never {
  return () => {
    throw internalError(`${name}: a retraction reached an insert-only aggregate (the planner resolved it for insert-only input)`);
  };
}

/** Keys with a positive count. */
function presentKeys(ms: Multiset): Set<unknown> {
  const out = new Set<unknown>();
  for (const [k, c] of ms.m) if (c > 0) out.add(k);
  return out;
}

const countStarInsertOnly: AggregateFunction<number> = {
  ...countStar,
  retractable: false,
  retract: noRetract('COUNT'),
  fromRetractable: (acc) => acc as number,
};

const countInsertOnly: AggregateFunction<number> = {
  ...count,
  retractable: false,
  retract: noRetract('COUNT'),
  fromRetractable: (acc) => acc as number,
};

function countDistinctInsertOnly(t: SqlType): AggregateFunction<Set<unknown>> {
  const { toKey } = keyCodec(t);
  return {
    name: 'COUNT',
    resultType: BIGINT_NOT_NULL,
    retractable: false,
    create: () => new Set(),
    accumulate(acc, v) {
      if (v !== null) acc.add(toKey(v));
      return acc;
    },
    retract: noRetract('COUNT'),
    getValue: (acc) => acc.size,
    fromRetractable: (acc) => presentKeys(acc as Multiset),
  };
}

/** Insert-only SUM: the sum itself, null until the first non-null value (no count needed). */
function sumInsertOnly(t: SqlType): AggregateFunction<number | bigint | null> {
  const resultType = sumType(t);
  const fromRetractable = (acc: unknown): number | bigint | null => ((acc as SumAcc)[1] > 0 ? (acc as SumAcc)[0] : null);
  if (t.kind === 'DECIMAL') {
    return {
      name: 'SUM',
      resultType,
      retractable: false,
      create: () => null,
      accumulate: (acc, v) => (v === null ? acc : acc === null ? (v as bigint) : (acc as bigint) + (v as bigint)),
      retract: noRetract('SUM'),
      getValue: (acc) => (acc === null ? null : decCheck(acc as bigint, 38)),
      fromRetractable,
    };
  }
  return {
    name: 'SUM',
    resultType,
    retractable: false,
    create: () => null,
    // `0 + v` as the retractable variant computes it (turns -0 into 0).
    accumulate: (acc, v) => (v === null ? acc : acc === null ? 0 + (v as number) : (acc as number) + (v as number)),
    retract: noRetract('SUM'),
    getValue: (acc) => acc,
    fromRetractable,
  };
}

function avgInsertOnly(t: SqlType): AggregateFunction<SumAcc> {
  return { ...sumLike('AVG', t), retractable: false, retract: noRetract('AVG'), fromRetractable: (acc) => acc as SumAcc };
}

/** Insert-only SUM(DISTINCT x) / AVG(DISTINCT x): the distinct values seen and their sum. */
interface DistinctSumInsertAcc {
  readonly seen: Set<unknown>;
  s: number | bigint;
}

function sumLikeDistinctInsertOnly(name: 'SUM' | 'AVG', t: SqlType): AggregateFunction<DistinctSumInsertAcc> {
  const zero = t.kind === 'DECIMAL' ? 0n : 0;
  const resultType = name === 'SUM' ? sumType(t) : avgType(t);
  const avg = avgValue(t, resultType);
  return {
    name,
    resultType,
    retractable: false,
    create: () => ({ seen: new Set(), s: zero }),
    accumulate(acc, v) {
      if (v !== null && !acc.seen.has(v)) {
        acc.seen.add(v);
        acc.s = add(acc.s, v);
      }
      return acc;
    },
    retract: noRetract(name),
    getValue(acc) {
      const n = acc.seen.size;
      if (n === 0) return null;
      if (name === 'AVG') return avg(acc.s, n);
      return typeof acc.s === 'bigint' ? decCheck(acc.s, 38) : acc.s;
    },
    fromRetractable(acc) {
      const d = acc as DistinctSumAcc;
      return { seen: presentKeys(d), s: d.n > 0 ? d.s : zero };
    },
  };
}

/** Insert-only MIN/MAX: the current extreme itself (the input value, so results keep identity), or null. */
function extremeInsertOnly(name: 'MIN' | 'MAX', t: SqlType): AggregateFunction<unknown> {
  const { fromKey } = keyCodec(t);
  let better: (a: unknown, b: unknown) => boolean;
  if (t.kind === 'BYTES') {
    const sign = name === 'MIN' ? -1 : 1;
    better = (a, b) => Buffer.compare(a as Uint8Array, b as Uint8Array) * sign > 0;
  } else {
    better = name === 'MIN' ? (a, b) => (a as number) < (b as number) : (a, b) => (a as number) > (b as number);
  }
  return {
    name,
    resultType: withNullable(t, true),
    retractable: false,
    create: () => null,
    accumulate: (acc, v) => (v !== null && (acc === null || better(v, acc)) ? v : acc),
    retract: noRetract(name),
    getValue: (acc) => acc,
    fromRetractable(acc) {
      const x = (acc as ExtremeAcc).x;
      return x === null ? null : fromKey(x);
    },
  };
}

/**
 * The aggregate for a call, typed per Flink: COUNT -> BIGINT NOT NULL; SUM keeps the input type
 * (DECIMAL(p, s) -> DECIMAL(38, s)); AVG of integers is an integer, DECIMAL(p, s) ->
 * DECIMAL(38, max(6, s)); MIN/MAX -> the input type, nullable. Both variants of a call have the
 * same result type.
 */
export function resolveAggregate(
  call: { name: string; distinct: boolean; star: boolean; pos?: Pos },
  argTypes: readonly SqlType[],
  options: ResolveOptions = {},
): AggregateFunction {
  const retractable = options.retractable ?? true;
  const name = call.name.toUpperCase();
  const fail = (message: string): never => {
    throw userError('SQL_TYPE', message, { position: call.pos });
  };
  if (!AGGREGATE_NAMES.has(name)) fail(`unknown aggregate function ${name}`);
  if (call.star) {
    if (name !== 'COUNT') fail(`${name}(*) is not allowed: only COUNT(*) takes *`);
    return (retractable ? countStar : countStarInsertOnly) as AggregateFunction;
  }
  if (argTypes.length !== 1) fail(`${name} expects 1 argument, got ${argTypes.length}`);
  const t = argTypes[0];
  switch (name) {
    case 'COUNT':
      if (!retractable) return (call.distinct ? countDistinctInsertOnly(t) : countInsertOnly) as AggregateFunction;
      return (call.distinct ? countDistinct(t) : count) as AggregateFunction;
    case 'SUM':
    case 'AVG':
      if (!isNumeric(t)) fail(`${name} requires a numeric argument, got ${typeName(t)}`);
      if (!retractable) {
        if (call.distinct) return sumLikeDistinctInsertOnly(name, t) as AggregateFunction;
        return (name === 'SUM' ? sumInsertOnly(t) : avgInsertOnly(t)) as AggregateFunction;
      }
      return (call.distinct ? sumLikeDistinct(name, t) : sumLike(name, t)) as AggregateFunction;
    case 'MIN':
    case 'MAX':
      if (t.kind === 'NULL') fail(`${name} of an untyped NULL: CAST the argument to a type`);
      return (retractable ? extreme(name, t) : extremeInsertOnly(name, t)) as AggregateFunction;
    default:
      return fail(`unknown aggregate function ${name}`);
  }
}
