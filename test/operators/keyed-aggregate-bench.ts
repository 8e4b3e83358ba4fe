/**
 * Throughput of the keyed aggregate hot path (a script, not a test):
 *   npx tsx test/operators/keyed-aggregate-bench.ts [rows] [keys] [batchSize]
 * GROUP BY one key over `keys` distinct keys with COUNT(*) and SUM(v), +I input rows, with the
 * insert-only aggregates the planner picks for such input (RETRACT=1: the retracting ones).
 */
import { keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import { type, type SqlType } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { KeyedAggregateOperator } from '../../src/runtime/operators/keyed-aggregate.js';

const rows = Number(process.argv[2] ?? 5_000_000);
const keys = Number(process.argv[3] ?? 100_000);
const batchSize = Number(process.argv[4] ?? 1024);
const retractable = process.env.RETRACT === '1';

async function run(label: string, keyType: SqlType, keyOf: (i: number) => unknown): Promise<void> {
  const INT = type('INT');
  const op = new KeyedAggregateOperator({
    groupKeys: [0],
    aggs: [
      { fn: resolveAggregate({ name: 'COUNT', distinct: false, star: true }, [], { retractable }), args: [] },
      {
        fn: resolveAggregate({ name: 'SUM', distinct: false, star: false }, [INT], { retractable }),
        args: [{ kind: 'input', index: 1, type: INT }],
      },
    ],
  });
  let outRows = 0;
  await op.open({
    jobName: 'bench',
    operatorUid: 'agg',
    subtaskIndex: 0,
    parallelism: 1,
    restoredState: [],
    restoredCommittables: [],
    restoredCheckpointId: 0,
    state: new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: [], label: 'test' }),
    output: { emit: (b) => void (outRows += b.size), emitWatermark: () => {} },
    inputSchemas: [
      {
        fields: [
          { name: 'k', type: keyType },
          { name: 'v', type: INT },
        ],
      },
    ],
    log: silentLogger,
    metrics: { inc: () => {} },
  });
  // Pre-built batches (a pool reused round-robin) so that only the operator is measured.
  // Enough batches that every key occurs about twice; keys in a scrambled order.
  const pool: ChangeBatch[] = [];
  const poolBatches = Math.max(64, Math.ceil((2 * keys) / batchSize));
  for (let b = 0; b < poolBatches; b++) {
    const k: unknown[] = new Array(batchSize);
    const v: unknown[] = new Array(batchSize);
    for (let i = 0; i < batchSize; i++) {
      const n = b * batchSize + i;
      k[i] = keyOf(Number((BigInt(n) * 48271n) % BigInt(keys)));
      v[i] = n % 1000;
    }
    pool.push({ size: batchSize, kinds: new Uint8Array(batchSize), columns: [k, v] });
  }
  // Warm up, then measure.
  for (let b = 0; b < 200; b++) op.process(pool[b % pool.length], 0);
  const batches = Math.ceil(rows / batchSize);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) op.process(pool[b % pool.length], 0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const n = batches * batchSize;
  const snapT0 = process.hrtime.bigint();
  const snap = op.snapshotState(1);
  const snapMs = Number(process.hrtime.bigint() - snapT0) / 1e6;
  console.log(
    `${label}: ${n} rows, ${op.groupCount} keys, batch ${batchSize}: ${ms.toFixed(0)} ms, ` +
      `${Math.round(n / (ms / 1000)).toLocaleString('en-US')} rows/s (${outRows} rows out); ` +
      `snapshot ${(snap.state!.length / 1e6).toFixed(1)} MB in ${snapMs.toFixed(0)} ms`,
  );
}

const which = process.env.KEY_TYPE;
if (which !== 'string') await run('BIGINT key', type('BIGINT'), (i) => i);
if (which !== 'number') await run('STRING key', type('STRING'), (i) => `customer-${i}`);
