import type { Field, SqlType } from '../model/types.js';
import { internalError, unreachable } from '../errors.js';
import type { Pos } from '../sql/ir.js';
import type { AggCall, LogicalNode, WindowAggregateNode, WindowGroup, WindowSpec, WindowTvfNode } from './logical.js';
import { freezeSchema, plainType, windowTypes } from './logical-schema.js';

export function windowTvfNode(input: LogicalNode, timeCol: number, window: WindowSpec, pos?: Pos): WindowTvfNode {
  if (input.changelogMode !== 'insert-only') throw internalError('window TVF over an updating input');
  const { bound, time } = windowTypes(input.schema.fields[timeCol].type);
  const fields: Field[] = input.schema.fields.map((f) => ({ name: f.name, type: plainType(f.type) }));
  fields.push({ name: 'window_start', type: bound }, { name: 'window_end', type: bound }, { name: 'window_time', type: time });
  return Object.freeze({
    kind: 'window-tvf',
    input,
    timeCol,
    window: Object.freeze({ ...window }),
    schema: freezeSchema(fields),
    changelogMode: 'insert-only',
    ...(pos ? { pos } : {}),
  });
}

export function windowAggregateNode(
  input: LogicalNode,
  timeCol: number,
  window: WindowSpec,
  groups: readonly WindowGroup[],
  aggs: readonly AggCall[],
  names: readonly string[],
  origin: string,
): WindowAggregateNode {
  if (names.length !== groups.length + aggs.length) throw internalError('window aggregate: wrong number of output names');
  const { bound, time } = windowTypes(input.schema.fields[timeCol].type);
  const fields: Field[] = [];
  groups.forEach((g, i) => {
    let t: SqlType;
    switch (g.kind) {
      case 'key':
        t = plainType(input.schema.fields[g.index].type);
        break;
      case 'window_start':
      case 'window_end':
        t = bound;
        break;
      case 'window_time':
        t = time;
        break;
      default:
        return unreachable(g);
    }
    fields.push({ name: names[i], type: t });
  });
  aggs.forEach((a, j) => fields.push({ name: names[groups.length + j], type: plainType(a.resultType) }));
  const unique = groups.flatMap((g, i) => (g.kind === 'key' || g.kind === 'window_start' || g.kind === 'window_end' ? [i] : []));
  return Object.freeze({
    kind: 'window-aggregate',
    input,
    timeCol,
    window: Object.freeze({ ...window }),
    groups: Object.freeze(groups.map((g) => Object.freeze({ ...g }))),
    aggs: Object.freeze(aggs.map((a) => Object.freeze({ ...a, args: Object.freeze([...a.args]) }))),
    origin,
    schema: freezeSchema(fields),
    changelogMode: 'insert-only',
    uniqueKey: Object.freeze(unique),
  });
}

/**
 * Which window property column `col` of `node` is (window_start, window_end or window_time of a
 * window aggregate or of a TUMBLE/HOP/CUMULATE window TVF, followed through plain column
 * references of calcs), if any.
 */
export function windowProperty(node: LogicalNode, col: number): 'window_start' | 'window_end' | 'window_time' | undefined {
  switch (node.kind) {
    case 'calc': {
      const p = node.projections[col];
      return p !== undefined && p.kind === 'input' ? windowProperty(node.input, p.index) : undefined;
    }
    case 'window-aggregate': {
      const g = node.groups[col];
      return g === undefined || g.kind === 'key' ? undefined : g.kind;
    }
    case 'window-tvf': {
      // A SESSION TVF's windows are only known once merged: it runs merged into an aggregate only.
      const n = node.input.schema.fields.length;
      if (node.window.kind === 'SESSION' || col < n) return undefined;
      return (['window_start', 'window_end', 'window_time'] as const)[col - n];
    }
    default:
      return undefined;
  }
}
