/**
 * `npm run bench -- nexmark [q0 q5 ...]`: each Nexmark query of sql/nexmark over NEXMARK_EVENTS
 * events (default 1,000,000) into blackhole, one child process per query, parallelism 1,
 * checkpointing off. Prints a table with the metrics Flink's nexmark harness reports: events/s,
 * events/s per core (events over the CPU time of the process) and peak memory (max RSS); and the
 * job's final checkpoint (taken when the bounded input ended, with all state held): its duration,
 * its blocking time (maxSyncMs, the longest any subtask's processing stopped for its snapshot) and
 * its size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SQL_DIR = resolve(import.meta.dirname, '../sql/nexmark');
export const NEXMARK_QUERIES = [
  'q0',
  'q1',
  'q2',
  'q3',
  'q4',
  'q5',
  'q7',
  'q8',
  'q9',
  'q10',
  'q11',
  'q14',
  'q15',
  'q16',
  'q17',
  'q18',
  'q19',
  'q20',
  'q21',
  'q22',
];

interface Result {
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  state: string;
  /** The job's final checkpoint, absent when none completed. */
  checkpoint?: { durationMs: number; maxSyncMs: number; sizeBytes: number };
}

/** Runs one query in this process and prints its Result as JSON (the child side). */
async function child(query: string, events: number): Promise<void> {
  const { prepareJob } = await import('../src/cli/job-file.js');
  const { silentLogger } = await import('../src/log.js');
  const { planJob } = await import('../src/plan/physical.js');
  const { startJob } = await import('../src/job/job.js');
  await import('../connectors/index.js');
  const ddl = readFileSync(join(SQL_DIR, 'ddl.sql'), 'utf8')
    .replaceAll('${NEXMARK_EVENTS}', String(events))
    .replaceAll('${NEXMARK_TPS}', process.env.NEXMARK_TPS ?? '10000000');
  const sql = `${ddl}\n${readFileSync(join(SQL_DIR, `${query}.sql`), 'utf8')}`;
  const dir = mkdtempSync(join(tmpdir(), 'weir-nexmark-bench-'));
  try {
    const job = prepareJob(sql, `${query}.sql`, []);
    const graph = planJob(job.inserts, job.catalog, { jobName: `nexmark-${query}`, parallelism: 1 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const running = startJob(graph, {
      checkpointDir: dir,
      checkpointing: { intervalMs: 0, mode: 'EXACTLY_ONCE', timeoutMs: 600_000, minPauseMs: 0, numRetained: 1 },
      restartStrategy: { type: 'none' },
      log: silentLogger,
    });
    const outcome = await running.done;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const last = outcome.lastCheckpoint;
    const result: Result = {
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      state: outcome.state,
      ...(last ? { checkpoint: { durationMs: last.durationMs, maxSyncMs: last.maxSyncMs, sizeBytes: last.sizeBytes } } : {}),
    };
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const events = Number(process.env.NEXMARK_EVENTS ?? 1_000_000);
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1]!, events);
    return;
  }
  const wanted = args.filter((a) => /^q\d+$/.test(a));
  const queries = wanted.length > 0 ? wanted : NEXMARK_QUERIES;
  console.log(`nexmark — ${fmt(events)} events per query, parallelism 1, checkpointing off, node ${process.version}`);
  console.log(
    `${'query'.padEnd(6)} ${'events/s'.padStart(12)} ${'events/s/core'.padStart(14)} ${'seconds'.padStart(8)} ${'peak MiB'.padStart(9)} ` +
      `${'final chk ms'.padStart(13)} ${'sync ms'.padStart(8)} ${'chk MiB'.padStart(8)}`,
  );
  for (const q of queries) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', q], {
      encoding: 'utf8',
      env: { ...process.env, NEXMARK_EVENTS: String(events) },
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let res: Result | undefined;
    try {
      res = JSON.parse(line) as Result;
    } catch {
      res = undefined;
    }
    if (r.status !== 0 || !res || res.state !== 'FINISHED') {
      console.log(`${q.padEnd(6)} failed: ${(r.stderr || line).trim().split('\n')[0] ?? ''}`);
      continue;
    }
    const chk = res.checkpoint;
    console.log(
      `${q.padEnd(6)} ${fmt(events / res.seconds).padStart(12)} ${fmt(events / res.cpuSeconds).padStart(14)} ${res.seconds.toFixed(2).padStart(8)} ${res.maxRssMiB.toFixed(0).padStart(9)} ` +
        `${(chk ? fmt(chk.durationMs) : '-').padStart(13)} ${(chk ? fmt(chk.maxSyncMs) : '-').padStart(8)} ${(chk ? (chk.sizeBytes / 1048576).toFixed(1) : '-').padStart(8)}`,
    );
  }
}

await main();
