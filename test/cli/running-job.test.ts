import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import {
  completedCheckpoints,
  escapeRe,
  expectContiguous,
  expectUserError,
  idStats,
  lines,
  readMetadata,
  runOk,
  runWeir,
  savepointFolders,
  sequenceJobSql,
  startRunning,
  tempDir,
  waitFor,
  writeFile,
} from './cli-helpers.js';

/**
 * Jobs that keep running (throttled datagen): SIGTERM, savepoints and stops through the control
 * socket, restarts from the latest checkpoint, `weir checkpoints list`.
 */
const UNBOUNDED = 1_000_000_000;

function unboundedJob(prefix: string, name: string): { dir: string; db: string; file: string; chk: string; jobDir: string } {
  const dir = tempDir(prefix);
  const db = join(dir, 'out.duckdb');
  const file = writeFile(dir, `${name}.sql`, sequenceJobSql({ db, end: UNBOUNDED, rowsPerSecond: 500 }));
  const chk = join(dir, 'chk');
  return { dir, db, file, chk, jobDir: join(chk, name) };
}

// Each test starts several weir processes one after another: on a loaded machine that takes minutes.
describe('a running job', { timeout: 600_000 }, () => {
  it('SIGTERM stops it after a final checkpoint (exit 0); a restart from latest continues without duplicates', async () => {
    const j = unboundedJob('cli-sigterm', 'ticker');
    const first = await startRunning([j.file, '--checkpoint-dir', j.chk], j.jobDir, 1);
    first.child.kill('SIGTERM');
    expect((await first.exit).code, first.stderr()).toBe(0);
    const last = Math.max(...completedCheckpoints(j.jobDir));
    const meta = readMetadata(join(j.jobDir, `chk-${last}`));
    expect(meta.final).toBe(true);
    expect(meta.kind).toBe('checkpoint');
    expect(lines(first.stderr())).toContain("SIGTERM: stopping job 'ticker'...");
    expect(lines(first.stderr())).toContain(`job 'ticker' stopped; last checkpoint ${last} at ${join(j.jobDir, `chk-${last}`)}`);
    const after1 = await idStats(j.db);
    expect(after1.count).toBeGreaterThan(0);
    await expectContiguous(j.db, after1.count);
    // the committed rows are exactly those up to the final checkpoint's source position
    expect(Object.values(meta.sources)[0].positions[0].position).toBe(after1.count);

    const second = await startRunning([j.file, '--checkpoint-dir', j.chk, '--from-checkpoint', 'latest', '-q'], j.jobDir, 1);
    await waitFor('new checkpoints', () => Math.max(...completedCheckpoints(j.jobDir)) > last + 1, HANG_GUARD_MS, second);
    // this time stopped with `weir stop` (no savepoint): a final checkpoint
    const stop = await runOk(['stop', 'ticker', '--checkpoint-dir', j.chk]);
    const m = /^job 'ticker' stopped; checkpoint (\d+) at (.*)\n$/.exec(stop.stdout);
    expect(m, stop.stdout).not.toBeNull();
    expect(m![2]).toBe(join(j.jobDir, `chk-${m![1]}`));
    expect(readMetadata(m![2]).final).toBe(true);
    expect((await second.exit).code, second.stderr()).toBe(0);
    expect(lines(second.stderr())).toEqual([`restoring job 'ticker' from ${join(j.jobDir, `chk-${last}`)}`]);
    const after2 = await idStats(j.db);
    expect(after2.count).toBeGreaterThan(after1.count);
    await expectContiguous(j.db, after2.count);
  });

  it('--savepoint-on-stop writes a savepoint when stopped by a signal', async () => {
    const j = unboundedJob('cli-sp-on-stop', 'sp-on-stop');
    const run = await startRunning([j.file, '--checkpoint-dir', j.chk, '--savepoint-on-stop'], j.jobDir, 1);
    run.child.kill('SIGINT');
    expect((await run.exit).code, run.stderr()).toBe(0);
    const [name] = savepointFolders(j.jobDir);
    expect(name).toMatch(/^savepoint-\d+-\d+$/);
    const folder = join(j.jobDir, 'savepoints', name);
    const meta = readMetadata(folder);
    expect(meta.kind).toBe('savepoint');
    expect(meta.final).toBe(true);
    expect(lines(run.stderr())).toContain("SIGINT: stopping job 'sp-on-stop' with a savepoint...");
    expect(lines(run.stderr())).toContain(`job 'sp-on-stop' stopped; last savepoint ${meta.checkpointId} at ${folder}`);
    await expectContiguous(j.db, (await idStats(j.db)).count);
  });

  it('weir savepoint and weir stop --savepoint reach it through its control socket; checkpoints list shows the result', async () => {
    const j = unboundedJob('cli-control', 'served');
    const run = await startRunning([j.file, '--checkpoint-dir', j.chk, '-q', '--set', 'state.checkpoints.num-retained=2'], j.jobDir, 1);

    // a second instance of the same job on the same folder is refused
    expectUserError(
      await runWeir(['run', j.file, '--checkpoint-dir', j.chk]),
      `error: job 'served' is already running (pid ${run.child.pid}); stop it first with \`weir stop served\``,
    );

    const named = await runOk(['savepoint', 'served', '--checkpoint-dir', j.chk, '--name', 'before-upgrade']);
    const namedFolder = join(j.jobDir, 'savepoints', 'before-upgrade');
    expect(named.stdout).toMatch(new RegExp(`^savepoint \\d+ of job 'served' written to ${escapeRe(namedFolder)}\\n$`));
    expect(readMetadata(namedFolder)).toMatchObject({ kind: 'savepoint', final: false, jobName: 'served' });

    const unnamed = await runOk(['savepoint', 'served', '--checkpoint-dir', j.chk]);
    const m = /^savepoint (\d+) of job 'served' written to (.*)\n$/.exec(unnamed.stdout);
    expect(m).not.toBeNull();
    expect(m![2]).toMatch(new RegExp(`^${escapeRe(join(j.jobDir, 'savepoints'))}/savepoint-${m![1]}-\\d+$`));
    expect(readMetadata(m![2]).checkpointId).toBe(Number(m![1]));

    expectUserError(
      await runWeir(['savepoint', 'served', '--checkpoint-dir', j.chk, '--name', '../escape']),
      "error: invalid savepoint name '../escape': use letters, digits, '.', '_' and '-' (at most 200 characters)",
    );

    const stop = await runOk(['stop', 'served', '--checkpoint-dir', j.chk, '--savepoint']);
    const s = /^job 'served' stopped; savepoint (\d+) at (.*)\n$/.exec(stop.stdout);
    expect(s, stop.stdout).not.toBeNull();
    expect(readMetadata(s![2])).toMatchObject({ kind: 'savepoint', final: true, checkpointId: Number(s![1]) });
    expect((await run.exit).code, run.stderr()).toBe(0);
    expect(run.stderr()).toBe('');
    expect(existsSync(join(j.jobDir, 'control.json'))).toBe(false);
    await expectContiguous(j.db, (await idStats(j.db)).count);

    // latest is now the stop's savepoint (newer than any checkpoint): a restart continues from it
    const again = await startRunning([j.file, '--checkpoint-dir', j.chk, '-q', '--from-checkpoint', 'latest'], j.jobDir, 1);
    await waitFor('a checkpoint after the savepoint', () => Math.max(...completedCheckpoints(j.jobDir)) > Number(s![1]), HANG_GUARD_MS, again);
    again.child.kill('SIGTERM');
    expect((await again.exit).code, again.stderr()).toBe(0);
    expect(lines(again.stderr())).toEqual([`restoring job 'served' from ${s![2]}`]);
    const total = (await idStats(j.db)).count;
    expect(total).toBeGreaterThan(Number(readMetadata(s![2]).sources[Object.keys(readMetadata(s![2]).sources)[0]].positions[0].position));
    await expectContiguous(j.db, total);

    // once it has stopped, the control commands say so
    expectUserError(
      await runWeir(['stop', 'served', '--checkpoint-dir', j.chk]),
      `error: no running job 'served' found in ${j.jobDir} (is it running with the same --checkpoint-dir?)`,
    );

    const list = await runOk(['checkpoints', 'list', 'served', '--checkpoint-dir', j.chk]);
    const rows = lines(list.stdout).filter((l) => l.startsWith('|'));
    expect(
      rows[0]
        .split('|')
        .map((c) => c.trim())
        .filter(Boolean),
    ).toEqual(['job', 'kind', 'id', 'completed', 'duration', 'size', 'added', 'source positions', 'path']);
    const body = rows.slice(1).map((r) =>
      r
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
    const savepoints = body
      .filter((r) => r[1] === 'savepoint')
      .map((r) => r[8])
      .sort();
    expect(savepoints).toEqual([namedFolder, m![2], s![2]].sort());
    const checkpoints = body.filter((r) => r[1] === 'checkpoint');
    expect(checkpoints.map((r) => Number(r[2])).sort()).toEqual(completedCheckpoints(j.jobDir));
    for (const r of body) {
      expect(r[0]).toBe('served');
      expect(r[3]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r[4]).toMatch(/^\d+ ms$/);
      expect(r[5]).toMatch(/^\d+(\.\d)? (B|KiB)$/);
      // not incremental: a checkpoint added all of its state
      expect(r[6]).toBe(r[5]);
      expect(r[7]).toMatch(/^Source: src: datagen-0-of-1@\d+$/);
    }
    // newest first: the final checkpoint of the last run heads the list, at the last committed row
    expect(body[0][1]).toBe('checkpoint');
    expect(Number(body[0][2])).toBe(Math.max(...completedCheckpoints(j.jobDir)));
    expect(Number(body[0][7].split('@')[1])).toBe(total);
  });

  it('checkpoints list without a job lists every job; an unknown job or folder has none', async () => {
    const dir = tempDir('cli-list');
    const chk = join(dir, 'chk');
    for (const name of ['alpha', 'beta']) {
      await runOk(['run', writeFile(dir, `${name}.sql`, sequenceJobSql({ db: join(dir, `${name}.duckdb`), end: 5 })), '--checkpoint-dir', chk, '-q']);
    }
    const all = await runOk(['checkpoints', 'list', '--checkpoint-dir', chk]);
    const jobs = lines(all.stdout)
      .filter((l) => /^\| +(alpha|beta) /.test(l))
      .map((l) => l.split('|')[1].trim());
    expect(jobs.sort()).toEqual(['alpha', 'beta']);
    expect(all.stdout).toMatch(/datagen-0-of-1@5\(done\)/);

    const none = await runOk(['checkpoints', 'list', 'gamma', '--checkpoint-dir', chk]);
    expect(none.stdout).toBe(`no checkpoints of job 'gamma' in ${chk}\n`);
    const empty = await runOk(['checkpoints', 'list', '--checkpoint-dir', join(dir, 'nothing')]);
    expect(empty.stdout).toBe(`no checkpoints in ${join(dir, 'nothing')}\n`);
  });
});
