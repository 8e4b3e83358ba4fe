import { resolveAggregate } from '../../expr/aggregates.js';
import type { AggregateSpec } from '../../runtime/operators/keyed-aggregate.js';
import type { AggCall } from '../logical.js';

/**
 * The aggregate functions an operator runs for `calls`. Without retractions (insert-only input)
 * the insert-only variants, as Flink's append-only specialization: MIN/MAX keep just the extreme,
 * not a multiset.
 */
export function aggregateSpecs(calls: readonly AggCall[], retractable: boolean): AggregateSpec[] {
  return calls.map((a) => ({
    fn: resolveAggregate(
      { name: a.name, distinct: a.distinct, star: a.star, pos: a.pos },
      a.args.map((e) => e.type),
      { retractable },
    ),
    args: a.args,
    ...(a.filter ? { filter: a.filter } : {}),
  }));
}
