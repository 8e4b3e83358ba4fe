/** The translator of each logical node kind: a new kind does not compile until it has one here. */
import type { LogicalNode } from '../logical.js';
import { translateAggregate } from './aggregate.js';
import { translateCalc } from './calc.js';
import type { TranslateContext, Translator } from './context.js';
import type { Planned } from '../graph-builder.js';
import { translateJoin } from './join.js';
import { translateRank } from './rank.js';
import { translateScan } from './scan.js';
import { translateUnion } from './union.js';
import { translateValues } from './values.js';
import { translateWindowAggregate } from './window-aggregate.js';
import { translateWindowTvf } from './window-tvf.js';

type NodeOfKind<K extends LogicalNode['kind']> = Extract<LogicalNode, { readonly kind: K }>;

const TRANSLATORS: { readonly [K in LogicalNode['kind']]: Translator<NodeOfKind<K>> } = {
  scan: translateScan,
  values: translateValues,
  calc: translateCalc,
  aggregate: translateAggregate,
  'window-aggregate': translateWindowAggregate,
  join: translateJoin,
  rank: translateRank,
  'window-tvf': translateWindowTvf,
  union: translateUnion,
};

export function translateNode<K extends LogicalNode['kind']>(node: NodeOfKind<K>, ctx: TranslateContext): Planned {
  const translate: Translator<NodeOfKind<K>> = TRANSLATORS[node.kind];
  return translate(node, ctx);
}
