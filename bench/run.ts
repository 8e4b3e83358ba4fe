/**
 * `npm run bench [-- NAME...]`: throughput of weir's engine in this process, no external services.
 * Prints rows/s for stateless and keyed pipelines with checkpointing off and every 1 s; then the
 * state cases of bench/state.ts in a process of their own (memory per key and per join row,
 * checkpoint size and blocking time under updates, recovery time; `state [agg-memory join-memory
 * incremental recovery agg-large join-large] [--backend=hashmap|rocksdb]`, the large ones only when
 * named and in a 1 GiB heap, the others' heap from WEIR_BENCH_HEAP_MB, default 8192, key counts
 * scaled by WEIR_BENCH_STATE_SCALE); then Kafka throughput and end-to-end latency (bench/kafka.ts), and PostgreSQL sink throughput against a
 * plain COPY (bench/postgres.ts), the CDC source against COPY TO / pg_recvlogical
 * (bench/postgres-cdc.ts), `weir cdc` against pg_dump | psql and a native subscription
 * (bench/cdc-sync.ts), and the Nexmark queries (bench/nexmark.ts).
 * `npm run bench -- stateless keyed windowed state kafka postgres postgres-cdc cdc-sync nexmark [q0 q5 ...]`
 * picks parts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareJob } from '../src/cli/job-file.js';
import { silentLogger } from '../src/log.js';
import { planJob } from '../src/plan/physical.js';
import { startJob } from '../src/job/job.js';
import '../connectors/index.js';

interface Case {
  name: string;
  rows: number;
  sql: (rows: number) => string;
}

const source = (rows: number, keys: number) => `
CREATE TABLE src (id BIGINT, k INT, v INT, price DOUBLE) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '${rows}',
  'fields.k.min' = '1', 'fields.k.max' = '${keys}', 'fields.v.min' = '0', 'fields.v.max' = '1000',
  'fields.price.min' = '0', 'fields.price.max' = '100');
CREATE TABLE sink_rows (id BIGINT, k INT, w INT, p DOUBLE) WITH ('connector' = 'blackhole');
CREATE TABLE sink_agg (k INT, c BIGINT, s INT, m INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'blackhole');`;

const CASES: Case[] = [
  {
    name: 'stateless',
    rows: 50_000_000,
    sql: (n) => `${source(n, 100_000)}
INSERT INTO sink_rows SELECT id, k, v * 2 + 1, price * 1.1 FROM src WHERE v > 100;`,
  },
  {
    // Event time from the sequence (1 ms per row), 1,000 keys, 10 s tumbling windows.
    name: 'windowed',
    rows: 5_000_000,
    sql: (n) => `
CREATE TABLE src (id BIGINT, k INT, v INT, ts AS TO_TIMESTAMP_LTZ(id, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '${n}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${n}',
  'fields.k.min' = '1', 'fields.k.max' = '1000', 'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink_win (k INT, ws TIMESTAMP(3), c BIGINT, s INT) WITH ('connector' = 'blackhole');
INSERT INTO sink_win SELECT k, window_start, COUNT(*), SUM(v)
  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;`,
  },
  {
    name: 'keyed',
    rows: 10_000_000,
    sql: (n) => `${source(n, 100_000)}
INSERT INTO sink_agg SELECT k, COUNT(*), SUM(v), MAX(v) FROM src GROUP BY k;`,
  },
];

async function runCase(sql: string, intervalMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
  try {
    const job = prepareJob(sql, 'bench.sql', []);
    const graph = planJob(job.inserts, job.catalog, { jobName: 'bench', parallelism: 1 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const running = startJob(graph, {
      checkpointDir: dir,
      checkpointing: { intervalMs, mode: 'EXACTLY_ONCE', timeoutMs: 600_000, minPauseMs: 0, numRetained: 1 },
      restartStrategy: { type: 'none' },
      log: silentLogger,
    });
    const outcome = await running.done;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const st = running.status();
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, status: st, outcome };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const REPEAT = Number(process.env.WEIR_BENCH_REPEAT ?? 3);

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  console.log(`weir bench — node ${process.version}, 1 process, parallelism 1`);
  for (const c of CASES) {
    if (only.length && !only.includes(c.name)) continue;
    // Warm-up so JIT compilation does not count against the first measured case.
    await runCase(c.sql(200_000), 0);
    // Interleaved runs (off, 1 s, off, 1 s, ...) and the median of each: a 2-core machine drifts.
    const runs: Record<number, Awaited<ReturnType<typeof runCase>>[]> = { 0: [], 1000: [] };
    for (let i = 0; i < REPEAT; i++) {
      for (const interval of [0, 1000]) runs[interval].push(await runCase(c.sql(c.rows), interval));
    }
    const results: Record<string, number> = {};
    for (const interval of [0, 1000]) {
      const sorted = runs[interval].sort((a, b) => a.seconds - b.seconds);
      const r = sorted[Math.floor(sorted.length / 2)];
      const rate = c.rows / r.seconds;
      results[interval] = rate;
      console.log(
        `${c.name.padEnd(10)} checkpointing ${interval ? 'every 1 s' : 'off      '}: ${fmt(rate)} rows/s ` +
          `(${c.rows.toLocaleString('en-US')} rows in ${r.seconds.toFixed(2)} s, median of ${REPEAT}, cpu ${r.cpuSeconds.toFixed(2)} s, ` +
          `${r.status.checkpointsCompleted} checkpoints)`,
      );
    }
    console.log(`${c.name.padEnd(10)} checkpoint overhead: ${((1 - results[1000] / results[0]) * 100).toFixed(1)}%`);
  }
  if (!only.length || only.includes('state')) {
    // Issue 14's numbers (bench/state.ts): memory per key and per join row, checkpoint size and
    // blocking time under ~1% updates per interval, recovery time. Its own process: it needs
    // --expose-gc and a large heap, and prints its own peak RSS per case.
    const heapMb = process.env.WEIR_BENCH_HEAP_MB ?? '8192';
    const extra = only.filter((a) => /^(agg-memory|join-memory|incremental|recovery|agg-large|join-large|--backend=.+)$/.test(a));
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', `--max-old-space-size=${heapMb}`, '--import', 'tsx', join(import.meta.dirname, 'state.ts'), ...extra],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) console.log(`state bench failed (exit ${r.status})`);
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  // Against real services (each script starts its own), in their own processes.
  for (const part of ['kafka', 'postgres', 'postgres-cdc', 'cdc-sync', 'nexmark']) {
    if (only.length && !only.includes(part)) continue;
    // `nexmark q0 q5 ...` picks queries.
    const extra = part === 'nexmark' ? only.filter((a) => /^q\d+$/.test(a)) : [];
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${part}.ts`), ...extra], { stdio: 'inherit' });
    if (r.status !== 0) console.log(`${part} bench failed (exit ${r.status})`);
  }
}

await main();
