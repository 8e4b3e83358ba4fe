/**
 * Micro-benchmark of compileCalc (not a test): a filter plus three simple projections over
 * batches of 4096 rows. Run: node --import tsx test/expr/calc-bench.ts
 */
import { compileCalc } from '../../src/expr/compile.js';
import { bind, bin, col, int, dbl, call, T } from './helpers.js';
import { insertBatch, type ChangeBatch } from '../../src/model/changelog.js';

const columns = { id: T('INT', false), amount: T('DOUBLE'), name: T('STRING'), cat: T('INT') };
const filter = bind(bin('AND', bin('>', col('amount'), dbl('50.0')), bin('<>', col('cat'), int(3))), columns);
const projections = [
  bind(col('id'), columns),
  bind(bin('*', col('amount'), dbl('1.1')), columns),
  bind(call('CONCAT', [col('name'), { kind: 'literal', literalType: 'string', text: '!', pos: undefined }]), columns),
];
const calc = compileCalc(projections, filter);

const BATCH = 4096;
const BATCHES = 250;
const batches: ChangeBatch[] = [];
for (let b = 0; b < BATCHES; b++) {
  const id: unknown[] = [],
    amount: unknown[] = [],
    name: unknown[] = [],
    cat: unknown[] = [];
  for (let i = 0; i < BATCH; i++) {
    const n = b * BATCH + i;
    id.push(n);
    amount.push(i % 17 === 0 ? null : (n * 7919) % 100);
    name.push(`user-${n % 1000}`);
    cat.push(n % 5);
  }
  batches.push(insertBatch([id, amount, name, cat], BATCH));
}

function run(): number {
  let kept = 0;
  for (const b of batches) kept += calc(b)?.size ?? 0;
  return kept;
}

for (let i = 0; i < 3; i++) run(); // warm up
const rounds = 5;
const start = process.hrtime.bigint();
let kept = 0;
for (let i = 0; i < rounds; i++) kept += run();
const secs = Number(process.hrtime.bigint() - start) / 1e9;
const rows = rounds * BATCH * BATCHES;
console.log(`compileCalc: filter + 3 projections: ${(rows / secs / 1e6).toFixed(1)} M rows/s (${rows} rows in ${secs.toFixed(2)} s, ${kept} kept)`);

// Filter only, pass-through projections.
const passCalc = compileCalc([bind(col('id'), columns), bind(col('name'), columns)], filter);
const s2 = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) for (const b of batches) passCalc(b);
const secs2 = Number(process.hrtime.bigint() - s2) / 1e9;
console.log(`compileCalc: filter + 2 pass-through columns: ${(rows / secs2 / 1e6).toFixed(1)} M rows/s`);
