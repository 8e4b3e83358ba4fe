import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorNames } from '../../src/connector/registry.js';
import '../../connectors/index.js';
import { escapeRe, expectUserError, lines, runOk, runWeir, tempDir, writeFile } from './cli-helpers.js';

/**
 * Every class of user error, through the real CLI: exactly one stderr line (file:line:column for
 * SQL), exit code 1, no stack trace, nothing on stdout.
 */
const SRC = `CREATE TABLE src (id BIGINT, k INT, s STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10');`;
const SNK = `CREATE TABLE snk (id BIGINT) WITH ('connector' = 'blackhole');`;
const base = (insert: string): string => `${SRC}\n${SNK}\n${insert}\n`;

interface Case {
  name: string;
  sql: string;
  args?: string[];
  /** `{file}` stands for the job file's path. */
  expected: string;
  command?: 'run' | 'explain';
}

const sqlErrors: Case[] = [
  { name: 'syntax error', sql: base('INSERT INTO snk SELECT id FROM src GROUP id;'), expected: "error: {file}:3:42: unexpected 'id', expected BY" },
  {
    name: 'unterminated string',
    sql: base("INSERT INTO snk SELECT 'abc FROM src;"),
    expected: "error: {file}:3:24: unterminated string literal: ' is never closed",
  },
  {
    name: 'statement set without END',
    sql: base('EXECUTE STATEMENT SET BEGIN\nINSERT INTO snk SELECT id FROM src;'),
    expected: 'error: {file}:4:35: expected END to close the statement set',
  },
  {
    name: 'unknown data type',
    sql: `CREATE TABLE src (id BIGINTX) WITH ('connector' = 'datagen');\n${SNK}\nINSERT INTO snk SELECT id FROM src;\n`,
    expected: "error: {file}:1:22: unknown data type 'BIGINTX'",
  },
  { name: 'unknown table', sql: base('INSERT INTO snk SELECT id FROM nope;'), expected: "error: {file}:3:32: table 'nope' not found; known tables: snk, src" },
  {
    name: 'unknown column',
    sql: base('INSERT INTO snk SELECT idd FROM src;'),
    expected: "error: {file}:3:24: column 'idd' not found in table 'src'; available: id, k, s",
  },
  { name: 'unknown function', sql: base('INSERT INTO snk SELECT nofunc(id) FROM src;'), expected: 'error: {file}:3:24: unknown function NOFUNC' },
  {
    name: 'type error in WHERE',
    sql: base("INSERT INTO snk SELECT id FROM src WHERE k = 'x';"),
    expected: "error: {file}:3:42: cannot apply '=' to INT and CHAR(1) (use CAST)",
  },
  {
    name: 'type error in a view',
    sql: `${SRC}\n${SNK}\nCREATE VIEW v1 AS SELECT k + s AS x FROM src;\nINSERT INTO snk SELECT x FROM v1;\n`,
    expected: 'error: {file}:3:30: invalid argument 2 of +: expected a numeric type, got STRING',
  },
  {
    name: 'sink column type mismatch',
    sql: base('INSERT INTO snk SELECT s FROM src;'),
    expected:
      "error: {file}:3:1: column 'id' of table 'snk' has type BIGINT, but the query gives it column 1 ('s') of type STRING, which does not convert implicitly; use CAST",
  },
  {
    name: 'updates into an append-only sink',
    sql: `${SRC}\nCREATE TABLE agg (k INT, c BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/agg', 'format' = 'csv');\nINSERT INTO agg SELECT k, COUNT(*) FROM src GROUP BY k;\n`,
    expected:
      "error: {file}:3:1: table 'agg' (connector 'filesystem' without PRIMARY KEY) cannot take the updates that GROUP BY produces; declare PRIMARY KEY (k) NOT ENFORCED on it, or write an insert-only query",
  },
  {
    name: 'writing into a source-only connector',
    sql: base('INSERT INTO src SELECT id, 1, s FROM src;'),
    expected: "error: {file}:3:1: table 'src' cannot be written: connector 'datagen' is a source only (it has no sink)",
  },
  {
    name: 'a SELECT in a job file',
    sql: base('SELECT id FROM src;'),
    expected: 'error: {file}:3:1: a job file runs INSERT INTO statements; to see the result of a SELECT, use `weir sql`',
  },
  {
    name: 'explain reports the same errors',
    command: 'explain',
    sql: base('INSERT INTO snk SELECT idd FROM src;'),
    expected: "error: {file}:3:24: column 'idd' not found in table 'src'; available: id, k, s",
  },
];

const optionErrors: Case[] = [
  {
    name: 'unknown connector',
    sql: `CREATE TABLE src (id BIGINT) WITH ('connector' = 'kafkaa');\n${SNK}\nINSERT INTO snk SELECT id FROM src;\n`,
    expected: `error: {file}:1:36: unknown connector 'kafkaa' for table 'src'; did you mean 'kafka'? known connectors: ${connectorNames().join(', ')}`,
  },
  {
    name: 'unknown option',
    sql: `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rowz' = '10');\n${SNK}\nINSERT INTO snk SELECT id FROM src;\n`,
    expected:
      "error: {file}:1:61: table 'src': unknown option 'number-of-rowz' for connector 'datagen'; did you mean 'number-of-rows'? valid options: connector, fields.#.end, fields.#.kind, fields.#.length, fields.#.max, fields.#.max-past, fields.#.min, fields.#.null-rate, fields.#.start, number-of-rows, rows-per-second, seed",
  },
  {
    name: 'invalid option value',
    sql: `${SRC}\nCREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'xml');\nINSERT INTO snk SELECT id FROM src;\n`,
    expected: "error: {file}:2:83: table 'snk': option 'format' must be one of 'json', 'csv', 'parquet', got 'xml'",
  },
  {
    name: 'missing required option',
    sql: `${SRC}\nCREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'format' = 'json');\nINSERT INTO snk SELECT id FROM src;\n`,
    expected:
      "error: {file}:2:1: table 'snk': missing required option 'path' for connector 'filesystem' (a file or a folder (the source reads every non-hidden file in it; the sink writes part files into it))",
  },
  {
    name: 'a field option naming no column',
    sql: `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.idd.kind' = 'sequence');\n${SNK}\nINSERT INTO snk SELECT id FROM src;\n`,
    expected: /^error: \{file\}:1:\d+: table 'src': option 'fields.idd.kind' names no column of the table; its columns are: id$/.source,
  },
];

const configErrors: Case[] = [
  {
    name: 'invalid duration in SET',
    sql: `SET 'pipeline.name' = 'x';\nSET 'execution.checkpointing.interval' = 'fast';\n${base('INSERT INTO snk SELECT id FROM src;')}`,
    expected: "error: {file}:2:1: 'execution.checkpointing.interval' must be a duration such as '200ms', '10 s' or '1 min', got 'fast'",
  },
  {
    name: 'invalid enum in --set',
    sql: base('INSERT INTO snk SELECT id FROM src;'),
    args: ['--set', 'execution.checkpointing.mode=SOMETIMES'],
    expected: "error: --set execution.checkpointing.mode=SOMETIMES: 'execution.checkpointing.mode' must be one of EXACTLY_ONCE, AT_LEAST_ONCE, got 'SOMETIMES'",
  },
  {
    name: 'unknown restart strategy',
    sql: `SET 'restart-strategy.type' = 'sometimes';\n${base('INSERT INTO snk SELECT id FROM src;')}`,
    expected:
      "error: {file}:1:1: 'restart-strategy.type' must be one of exponential-delay, fixed-delay, failure-rate, disable, none, off (or exponentialdelay, fixeddelay, failurerate), got 'sometimes'",
  },
  {
    name: 'zero checkpoint timeout',
    sql: base('INSERT INTO snk SELECT id FROM src;'),
    args: ['--set', 'execution.checkpointing.timeout=0'],
    expected: "error: --set execution.checkpointing.timeout=0: 'execution.checkpointing.timeout' must be a duration from 10 ms to 24 d, got '0'",
  },
  {
    name: 'parallelism below 1',
    sql: `SET 'parallelism.default' = '0';\n${base('INSERT INTO snk SELECT id FROM src;')}`,
    expected: "error: {file}:1:1: 'parallelism.default' must be an integer from 1 to 128, got '0'",
  },
  {
    name: '--set without =',
    sql: base('INSERT INTO snk SELECT id FROM src;'),
    args: ['--set', 'novalue'],
    expected: "error: --set takes KEY=VALUE, got 'novalue'",
  },
  {
    name: 'a job name that is no folder name',
    sql: `SET 'pipeline.name' = '../up';\n${base('INSERT INTO snk SELECT id FROM src;')}`,
    expected:
      "error: {file}:1:1: invalid job name '../up' (from 'pipeline.name'): it names the checkpoint folder, so it cannot be empty, '.', '..' or contain '/' or '\\'",
  },
  { name: 'no INSERT', sql: `${SRC}\n${SNK}\n`, expected: "error: job file '{file}' has no INSERT INTO statement: nothing to run" },
];

async function check(c: Case): Promise<void> {
  const dir = tempDir('cli-err');
  const file = writeFile(dir, 'job.sql', c.sql);
  const args = c.command === 'explain' ? ['explain', file, ...(c.args ?? [])] : ['run', file, ...(c.args ?? []), '--checkpoint-dir', join(dir, 'chk')];
  const r = await runWeir(args);
  // `expected` is the exact line, or (starting with ^) a pattern; {file} is the job file's path
  expectUserError(r, c.expected.startsWith('^') ? new RegExp(c.expected.split('\\{file\\}').join(escapeRe(file))) : c.expected.split('{file}').join(file));
}

describe.concurrent('user errors: one line, exit 1, no stack trace', () => {
  it.each(sqlErrors)('SQL: $name', check);
  it.each(optionErrors)('options: $name', check);
  it.each(configErrors)('config: $name', check);

  it('a missing job file', async () => {
    const dir = tempDir('cli-err');
    expectUserError(await runWeir(['run', join(dir, 'nope.sql')]), `error: cannot read job file '${join(dir, 'nope.sql')}': no such file`);
    expectUserError(await runWeir(['run', dir]), `error: cannot read job file '${dir}': it is a folder`);
  });

  it('command line mistakes', async () => {
    expectUserError(await runWeir(['frobnicate']), "error: unknown command 'frobnicate'");
    expectUserError(await runWeir(['run', 'x.sql', '--bogus']), "error: unknown option '--bogus'");
  });

  it('control commands against a job that is not running', async () => {
    const dir = tempDir('cli-err');
    expectUserError(
      await runWeir(['savepoint', 'ghost', '--checkpoint-dir', dir]),
      `error: no running job 'ghost' found in ${join(dir, 'ghost')} (is it running with the same --checkpoint-dir?)`,
    );
    expectUserError(
      await runWeir(['stop', 'ghost', '--savepoint', '--checkpoint-dir', dir]),
      `error: no running job 'ghost' found in ${join(dir, 'ghost')} (is it running with the same --checkpoint-dir?)`,
    );
  });
});

describe('warnings do not stop a job', () => {
  it('an unknown configuration key is kept with a warning (SET with its position and a suggestion, --set too)', async () => {
    const dir = tempDir('cli-warn');
    const file = writeFile(
      dir,
      'warned.sql',
      `SET 'execution.checkpointing.intervall' = '1 s';\nSET 'table.exec.mini-batch.enabled' = 'true';\n${base('INSERT INTO snk SELECT id FROM src;')}`,
    );
    const r = await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q', '--set', 'my.own.key=1']);
    expect(lines(r.stderr)).toEqual([
      `warning: ${file}:1:1: unknown configuration key 'execution.checkpointing.intervall' (kept, but weir does not read it); did you mean 'execution.checkpointing.interval'?`,
      "warning: --set: unknown configuration key 'my.own.key' (kept, but weir does not read it)",
    ]);
  });
});
