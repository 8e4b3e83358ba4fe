import type { Field } from '../model/types.js';
import type { Pos } from '../sql/ir.js';
import type { LogicalNode, RankNode } from './logical.js';
import { BIGINT_NOT_NULL, freezeSchema, plainType } from './logical-schema.js';
import { windowProperty } from './logical-window.js';

export function rankNode(
  input: LogicalNode,
  partitionKeys: readonly number[],
  orderKeys: readonly { readonly index: number; readonly descending: boolean }[],
  limit: number | undefined,
  outputRank: boolean,
  rankName: string,
  pos: Pos,
): RankNode {
  const fields: Field[] = input.schema.fields.map((f) => ({ name: f.name, type: plainType(f.type) }));
  fields.push({ name: rankName, type: BIGINT_NOT_NULL });
  const n = input.schema.fields.length;
  // With the row number, (partition, rn) identifies a row; without it the input's key does.
  const uniqueKey = outputRank ? [...partitionKeys, n] : limit === 1 ? [...partitionKeys] : input.uniqueKey;
  const props = limit !== undefined && input.changelogMode === 'insert-only' ? partitionKeys.map((k) => windowProperty(input, k)) : [];
  const windowEnd = props.includes('window_start') ? partitionKeys[props.indexOf('window_end')] : undefined;
  return Object.freeze({
    kind: 'rank',
    input,
    partitionKeys: Object.freeze([...partitionKeys]),
    orderKeys: Object.freeze(orderKeys.map((o) => Object.freeze({ ...o }))),
    ...(limit !== undefined ? { limit } : {}),
    outputRank,
    ...(windowEnd !== undefined ? { windowEnd } : {}),
    pos,
    schema: freezeSchema(fields),
    changelogMode: windowEnd !== undefined ? 'insert-only' : 'updating',
    ...(uniqueKey ? { uniqueKey: Object.freeze([...uniqueKey]) } : {}),
  });
}
