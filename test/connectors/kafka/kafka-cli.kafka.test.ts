/**
 * Kafka jobs through the real CLI (`weir run`): the page-view example, a broker that is down when
 * the job starts and comes back, a topic that does not exist, malformed messages.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { createTopics, kafkaOrSkip, kafkaScript, parseBootstrap, produce, PROJECT_DIR, uniqueTopic } from '../../support/kafka.js';
import { runWeir, spawnWeir, tempDir } from '../../support/weir-process.js';

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';
const run = promisify(execFile);

function jobSql(opts: { name: string; bootstrap: string; topic: string; db: string; extra?: string; settings?: string }): string {
  return `
SET 'pipeline.name' = '${opts.name}';
SET 'execution.checkpointing.interval' = '200ms';
${opts.settings ?? ''}
CREATE TABLE src (id BIGINT, name STRING) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.topic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'format' = 'json',
  ${opts.extra ?? ''}
  'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE out_rows (id BIGINT, name STRING) WITH ('connector' = 'duckdb', 'path' = '${opts.db}', 'table-name' = 'out_rows');
INSERT INTO out_rows SELECT id, name FROM src;
`;
}

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

describe.skipIf(!kafka)('kafka jobs through the CLI', () => {
  it('sql/examples/kafka_pageviews.sql counts the page views written by scripts/kafka/produce-pageviews.mjs', async () => {
    const dir = tempDir('kafka-pageviews');
    const topic = uniqueTopic('pageviews');
    const { stdout } = await run(process.execPath, [
      resolve(PROJECT_DIR, 'scripts/kafka/produce-pageviews.mjs'),
      '--bootstrap',
      bootstrap,
      '--topic',
      topic,
      '--count',
      '20000',
      '--rate',
      '0',
      '--users',
      '100',
    ]);
    expect(stdout).toContain(`wrote 20000 page views to ${topic}`);
    const db = join(dir, 'pageviews.duckdb');
    const example = readFileSync(resolve(PROJECT_DIR, 'sql/examples/kafka_pageviews.sql'), 'utf8')
      .replace("'${KAFKA_BOOTSTRAP}'", `'${bootstrap}'`)
      .replace("'topic' = 'pageviews'", `'topic' = '${topic}'`)
      .replace("'.weir/pageviews.duckdb'", `'${db}'`)
      .replace("'properties.group.id' = 'weir-pageviews'", `'properties.group.id' = '${topic}', 'scan.bounded.mode' = 'latest-offset'`);
    const file = join(dir, 'kafka_pageviews.sql');
    writeFileSync(file, example);
    const r = await runWeir(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = await queryDuckDb(db, 'SELECT count(*), sum(views), min(views), max(views), max(last_view) FROM views_per_user');
    expect(rows[0].slice(0, 4)).toEqual([100, 20000, 200, 200]);
    expect(String(rows[0][4])).toContain('2024-01-01 00:03:19.99');
  });

  it('a broker that is down when the job starts and comes back: the restart strategy recovers', async () => {
    const dir = tempDir('kafka-down');
    const port = await freePort();
    const env = { WEIR_KAFKA_STATE_DIR: join(dir, 'broker-state'), WEIR_KAFKA_DATA_DIR: join(dir, 'broker-data'), KAFKA_PORT: String(port) };
    const second = parseBootstrap(await kafkaScript('start', env));
    try {
      const topic = uniqueTopic('down');
      await createTopics(second, [{ topic, partitions: 2 }]);
      await produce(
        second,
        topic,
        Array.from({ length: 500 }, (_, i) => ({ value: JSON.stringify({ id: i, name: `n${i}` }) })),
      );
      await kafkaScript('stop', env);
      const db = join(dir, 'out.duckdb');
      const file = join(dir, 'job.sql');
      writeFileSync(
        file,
        jobSql({
          name: 'down',
          bootstrap: second,
          topic,
          db,
        }),
      );
      const job = spawnWeir(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q']);
      // The broker comes back only after the first attempt failed and the job is restarting.
      const hangGuard = Date.now() + HANG_GUARD_MS;
      while (!/restarting from the latest checkpoint/.test(job.stderr())) {
        if (job.child.exitCode !== null || Date.now() > hangGuard) throw new Error(`the job never restarted while the broker was down:\n${job.stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await kafkaScript('start', env);
      const { code } = await job.exit;
      expect(code, job.stderr()).toBe(0);
      expect(job.stderr()).toMatch(/restarting from the latest checkpoint/);
      expect(await queryDuckDb(db, 'SELECT count(*), count(DISTINCT id) FROM out_rows')).toEqual([[500, 500]]);
    } finally {
      await kafkaScript('stop', env).catch(() => undefined);
    }
  }, 600_000);

  it('a topic that does not exist fails the job with one line naming it', async () => {
    const dir = tempDir('kafka-missing');
    const file = join(dir, 'job.sql');
    writeFileSync(file, jobSql({ name: 'missing', bootstrap, topic: 'weir-no-such-topic', db: join(dir, 'out.duckdb') }));
    const r = await runWeir(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/topic 'weir-no-such-topic' does not exist/)]);
  });

  it('a malformed message fails the job naming topic, partition and offset; with json.ignore-parse-errors it is skipped', async () => {
    const dir = tempDir('kafka-malformed');
    const topic = uniqueTopic('malformed');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    await produce(bootstrap, topic, [{ value: JSON.stringify({ id: 1, name: 'a' }) }, { value: 'not json' }, { value: JSON.stringify({ id: 3, name: 'c' }) }]);
    const strict = join(dir, 'strict.sql');
    writeFileSync(strict, jobSql({ name: 'strict', bootstrap, topic, db: join(dir, 'strict.duckdb') }));
    const r = await runWeir(['run', strict, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`malformed json message in topic '${topic}' partition 0 offset 1`);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const lenientDb = join(dir, 'lenient.duckdb');
    const lenient = join(dir, 'lenient.sql');
    writeFileSync(lenient, jobSql({ name: 'lenient', bootstrap, topic, db: lenientDb, extra: "'json.ignore-parse-errors' = 'true'," }));
    const ok = await runWeir(['run', lenient, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(await queryDuckDb(lenientDb, 'SELECT id, name FROM out_rows ORDER BY id')).toEqual([
      [1, 'a'],
      [3, 'c'],
    ]);
  });
});
