/**
 * Binding of event-time windows, as Flink SQL has them:
 * - window TVFs in FROM (`TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`, HOP,
 *   CUMULATE, SESSION with PARTITION BY) become a WindowTvfNode after checking the time column and
 *   the intervals;
 * - an aggregate over a window TVF grouped by window_start and window_end becomes a
 *   WindowAggregateNode (the TVF is merged into it, as Flink's window aggregate does);
 * - legacy group windows (`GROUP BY TUMBLE(ts, INTERVAL ...)` with TUMBLE_START/TUMBLE_END/
 *   TUMBLE_ROWTIME, HOP(ts, slide, size) with HOP_*, SESSION(ts, gap) with SESSION_*) are
 *   rewritten onto the same TVF (a legacy SESSION's sessions are per GROUP BY key).
 */
import type { BoundExpr } from '../expr/bound.js';
import { formatType } from '../model/types.js';
import { isTimestamp } from '../expr/type-rules.js';
import { userError } from '../errors.js';
import type { CallExpr, ColumnExpr, Expr, Pos, WindowTvfRef } from '../sql/ir.js';
import { windowSpec } from './window-spec.js';
import { andExpr, collectInputs, inputRef, remapInputs, substituteInputs } from './bound-util.js';
import { rewriteExpr } from './ir-util.js';
import { calcNode } from './logical-nodes.js';
import { windowAggregateNode, windowTvfNode } from './logical-window.js';
import type { AggCall, CalcNode, LogicalNode, WindowGroup, WindowTvfNode } from './logical.js';
import { RelationScope } from './scope.js';

const WINDOW_COLUMNS = ['window_start', 'window_end', 'window_time'] as const;

/** Checks that column `index` of `input` is an event-time attribute usable by a window. */
function requireRowtime(input: LogicalNode, index: number, fn: string, name: string, pos: Pos, table: string | undefined): void {
  const t = input.schema.fields[index]!.type;
  if (!isTimestamp(t)) {
    throw userError(
      'WINDOW_TIME_COLUMN',
      `the time column of ${fn} must be a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column with a WATERMARK, but '${name}' is ${formatType(t)}`,
      {
        position: pos,
      },
    );
  }
  if (t.timeAttribute === 'proctime') {
    throw userError(
      'SQL_UNSUPPORTED',
      `processing-time windows (on the PROCTIME() column '${name}') are not supported yet; use an event-time column with a WATERMARK`,
      {
        position: pos,
      },
    );
  }
  if (t.timeAttribute !== 'rowtime') {
    const where = table !== undefined ? ` to table '${table}'` : '';
    throw userError(
      'WINDOW_TIME_COLUMN',
      `column '${name}' is not a time attribute: ${fn} needs a column with a watermark; add WATERMARK FOR ${name} AS ${name} - INTERVAL '5' SECOND${where}, or use window_time of an earlier window`,
      { position: pos },
    );
  }
  if (input.changelogMode !== 'insert-only') {
    throw userError('SQL_UNSUPPORTED', `${fn} over an updating input is not supported; window TVFs need an insert-only input`, { position: pos });
  }
}

/** `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), ...))` over the bound input `t`. */
export function bindWindowTvf(item: WindowTvfRef, input: LogicalNode, inputName: string | undefined): WindowTvfNode {
  const scope = new RelationScope([{ name: inputName, fields: input.schema.fields, offset: 0 }]);
  const ref: ColumnExpr = { kind: 'column', name: item.timeCol.name, pos: item.timeCol.pos };
  const { index } = scope.resolveColumn(ref);
  requireRowtime(input, index, item.fn, item.timeCol.name, item.timeCol.pos, inputName);
  const spec = windowSpec(item.fn, item.intervals, item.pos);
  if (item.partitionBy.length === 0) return windowTvfNode(input, index, spec, item.pos);
  const partitionKeys = item.partitionBy.map((p) => scope.resolveColumn({ kind: 'column', name: p.name, pos: p.pos }).index);
  return windowTvfNode(input, index, { ...spec, partitionKeys }, item.pos);
}

/**
 * The calc `pre` rewritten over the window TVF below it (merging calcs in between), or undefined
 * when there is no window TVF directly below.
 */
function overWindowTvf(pre: CalcNode): CalcNode | undefined {
  let c = pre;
  while (c.input.kind === 'calc') {
    const inner = c.input;
    c = calcNode(
      inner.input,
      c.projections.map((p) => substituteInputs(p, inner.projections)),
      c.schema.fields.map((f) => f.name),
      andExpr(inner.filter, c.filter ? substituteInputs(c.filter, inner.projections) : undefined),
    );
  }
  return c.input.kind === 'window-tvf' ? c : undefined;
}

export interface WindowAggregateParts {
  /** The pre-aggregation calc: group expressions (g of them), then aggregate arguments. */
  readonly pre: CalcNode;
  readonly groupCount: number;
  /** Positions of the GROUP BY expressions, in the same order as the group columns. */
  readonly groupPos: readonly Pos[];
  readonly aggs: readonly AggCall[];
  readonly names: readonly string[];
  readonly origin: string;
  readonly pos: Pos;
}

/**
 * The window aggregate for an aggregate over a window TVF, or undefined when the aggregate's input
 * is not a window TVF. Grouping by window_start without window_end (or the reverse) is an error.
 */
export function toWindowAggregate(parts: WindowAggregateParts): LogicalNode | undefined {
  const pre = overWindowTvf(parts.pre);
  if (!pre) return undefined;
  const tvf = pre.input as WindowTvfNode;
  const n = tvf.input.schema.fields.length;
  const isWindowCol = (i: number): boolean => i >= n;
  const g = parts.groupCount;
  const groups: (WindowGroup | undefined)[] = [];
  for (let i = 0; i < g; i++) {
    const p = pre.projections[i]!;
    if (p.kind === 'input' && isWindowCol(p.index)) groups.push({ kind: WINDOW_COLUMNS[p.index - n]! });
    else groups.push(undefined);
  }
  const has = (k: string): boolean => groups.some((x) => x?.kind === k);
  if (!has('window_start') && !has('window_end')) {
    throw userError(
      'SQL_UNSUPPORTED',
      'an aggregate over a window TVF must group by window_start and window_end (a regular GROUP BY over a window TVF is not supported yet)',
      { position: parts.pos },
    );
  }
  if (!has('window_start') || !has('window_end')) {
    const missing = has('window_start') ? 'window_end' : 'window_start';
    const present = groups.findIndex((x) => x !== undefined);
    throw userError(
      'WINDOW_GROUP_BY',
      `${missing} is missing from GROUP BY: a window aggregation groups by both window_start and window_end; add ${missing} to GROUP BY`,
      {
        position: parts.groupPos[present] ?? parts.pos,
      },
    );
  }
  const usesWindowCol = (e: BoundExpr | undefined): boolean => {
    if (!e) return false;
    const used = new Set<number>();
    collectInputs(e, used);
    return [...used].some(isWindowCol);
  };
  pre.projections.forEach((p, i) => {
    if (groups[i] === undefined && usesWindowCol(p)) {
      throw userError('WINDOW_COLUMN_USE', 'window_start, window_end and window_time can only be used as plain GROUP BY columns of a window aggregation', {
        position: i < g ? (parts.groupPos[i] ?? parts.pos) : parts.pos,
      });
    }
  });
  if (usesWindowCol(pre.filter)) {
    throw userError('WINDOW_COLUMN_USE', 'a WHERE condition on window_start, window_end or window_time is not supported before a window aggregation', {
      position: parts.pos,
    });
  }
  // The new pre-aggregation calc reads the TVF's input: every projection but the window columns,
  // then the time column.
  const mapping: number[] = [];
  const projections: BoundExpr[] = [];
  const names: string[] = [];
  pre.projections.forEach((p, i) => {
    if (groups[i] !== undefined && groups[i]!.kind !== 'key') {
      mapping.push(-1);
      return;
    }
    mapping.push(projections.length);
    projections.push(p);
    names.push(pre.schema.fields[i]!.name);
  });
  const timeCol = projections.length;
  projections.push(inputRef(tvf.timeCol, tvf.input.schema.fields[tvf.timeCol]!.type));
  names.push(tvf.input.schema.fields[tvf.timeCol]!.name);
  const newPre = calcNode(tvf.input, projections, uniqueNames(names), pre.filter);
  const finalGroups: WindowGroup[] = groups.map((x, i) => x ?? { kind: 'key', index: mapping[i]! });
  const { partitionKeys, ...window } = tvf.window;
  if (partitionKeys !== undefined) requireSessionKeys(partitionKeys, groups, pre, parts);
  const aggs = parts.aggs.map((a) => ({
    ...a,
    args: a.args.map((e) => remapInputs(e, mapping)),
    ...(a.filter ? { filter: remapInputs(a.filter, mapping) } : {}),
  }));
  return windowAggregateNode(newPre, timeCol, window, finalGroups, aggs, parts.names, parts.origin);
}

/**
 * A SESSION window's sessions are per key of the aggregation: its PARTITION BY columns must be
 * exactly the GROUP BY columns besides window_start and window_end.
 */
function requireSessionKeys(partitionKeys: readonly number[], groups: readonly (WindowGroup | undefined)[], pre: CalcNode, parts: WindowAggregateParts): void {
  const inputNames = (pre.input as WindowTvfNode).input.schema.fields.map((f) => f.name);
  const grouped = new Set<number>();
  groups.forEach((x, i) => {
    if (x !== undefined) return;
    const p = pre.projections[i]!;
    if (p.kind !== 'input' || !partitionKeys.includes(p.index)) {
      throw userError(
        'WINDOW_GROUP_BY',
        'a SESSION window with PARTITION BY groups by window_start, window_end and exactly its PARTITION BY columns; this GROUP BY expression is not one of them',
        {
          position: parts.groupPos[i] ?? parts.pos,
        },
      );
    }
    grouped.add(p.index);
  });
  const missing = partitionKeys.filter((k) => !grouped.has(k));
  if (missing.length > 0) {
    throw userError(
      'WINDOW_GROUP_BY',
      `the SESSION window is partitioned by ${missing.map((k) => inputNames[k]).join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} to GROUP BY`,
      {
        position: parts.pos,
      },
    );
  }
}

function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let m = n;
    for (let k = 1; seen.has(m); k++) m = `${n}${k}`;
    seen.add(m);
    return m;
  });
}

// ---------------------------------------------------------------- legacy group windows

const LEGACY_GROUP = new Set(['TUMBLE', 'HOP', 'SESSION']);
const LEGACY_PROPS: Readonly<Record<string, (typeof WINDOW_COLUMNS)[number] | 'proctime'>> = {
  _START: 'window_start',
  _END: 'window_end',
  _ROWTIME: 'window_time',
  _PROCTIME: 'proctime',
};
/** Hidden names of the window columns a legacy group window adds (users cannot write them). */
const hidden = (c: string): string => `\u0000${c}`;

export interface LegacySelect {
  readonly input: LogicalNode;
  readonly scope: RelationScope;
  readonly groupBy: readonly Expr[];
  readonly items: readonly { readonly expr: Expr; readonly name: string; readonly pos: Pos }[];
  readonly having?: Expr;
}

/** The group window call of a legacy `GROUP BY TUMBLE(ts, ...)`, if any. */
function legacyWindowCall(groupBy: readonly Expr[]): CallExpr | undefined {
  const calls = groupBy.filter((e): e is CallExpr => e.kind === 'call' && LEGACY_GROUP.has(e.name));
  if (calls.length > 1) {
    throw userError('WINDOW_GROUP_BY', 'GROUP BY may contain only one group window (TUMBLE, HOP or SESSION)', { position: calls[1]!.pos });
  }
  return calls[0];
}

/**
 * Rewrites a legacy group-window aggregate onto a window TVF: the input gets window_start,
 * window_end and window_time (under hidden names), `GROUP BY TUMBLE(ts, i)` becomes those two
 * columns and TUMBLE_START / TUMBLE_END / TUMBLE_ROWTIME references to them. Returns undefined
 * when GROUP BY has no group window.
 */
export function rewriteLegacyWindow(sel: LegacySelect): LegacySelect | undefined {
  const call = legacyWindowCall(sel.groupBy);
  if (!call) return undefined;
  const fn = call.name;
  const [timeArg, ...intervals] = call.args;
  if (timeArg?.kind !== 'column') {
    throw userError('WINDOW_TIME_COLUMN', `the first argument of ${fn} in GROUP BY must be a time attribute column`, { position: timeArg?.pos ?? call.pos });
  }
  const { index } = sel.scope.resolveColumn(timeArg);
  requireRowtime(sel.input, index, fn, timeArg.name, timeArg.pos, sel.scope.relations[0]?.name);
  const tvf = windowTvfNode(sel.input, index, windowSpec(fn, intervals, call.pos), call.pos);
  const n = sel.input.schema.fields.length;
  const windowFields = WINDOW_COLUMNS.map((c, i) => ({ name: hidden(c), type: tvf.schema.fields[n + i]!.type }));
  const scope = new RelationScope([...sel.scope.relations, { name: undefined, fields: windowFields, offset: n }]);
  const col = (c: string, pos: Pos): ColumnExpr => ({ kind: 'column', name: hidden(c), pos });

  const replace = (root: Expr): Expr =>
    rewriteExpr(root, (e) => {
      if (e.kind === 'call') {
        const prefix = LEGACY_GROUP.has(e.name.split('_')[0]!) ? e.name.slice(0, e.name.indexOf('_')) : undefined;
        const prop = prefix !== undefined ? LEGACY_PROPS[e.name.slice(prefix.length)] : undefined;
        if (prefix !== undefined && prop !== undefined) {
          if (prefix !== fn) {
            throw userError('WINDOW_GROUP_BY', `${e.name} does not match the group window ${fn}(...) of GROUP BY; use ${fn}${e.name.slice(prefix.length)}`, {
              position: e.pos,
            });
          }
          if (prop === 'proctime') throw userError('SQL_UNSUPPORTED', `${e.name} is not supported yet (processing-time windows)`, { position: e.pos });
          return col(prop, e.pos);
        }
        if (LEGACY_GROUP.has(e.name)) {
          throw userError(
            'WINDOW_GROUP_BY',
            `${e.name}(...) is a group window: it can only appear in GROUP BY; use ${e.name}_START or ${e.name}_END in SELECT`,
            { position: e.pos },
          );
        }
      }
      return undefined;
    });
  const groupBy = sel.groupBy.flatMap((e) => (e === call ? [col('window_start', call.pos), col('window_end', call.pos)] : [replace(e)]));
  return {
    input: tvf,
    scope,
    groupBy,
    items: sel.items.map((i) => ({ ...i, expr: replace(i.expr) })),
    ...(sel.having ? { having: replace(sel.having) } : {}),
  };
}
