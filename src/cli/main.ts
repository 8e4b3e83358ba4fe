import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { reportError } from './errors.js';
import { exitWhenFlushed, tolerateClosedOutput } from './output-flush.js';

// Commands load the engine (parser, connectors, DuckDB) only when they run, so --help, --version
// and usage errors answer at once.
const admin = () => import('./admin-commands.js');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The V8 heap limit this process runs with: with state.backend.type 'hashmap' it bounds the state. */
function heapHelp(): string {
  const mib = Math.round(getHeapStatistics().heap_size_limit / 1048576).toLocaleString('en-US');
  return `\nMemory: keyed state lives in the V8 heap (state.backend.type 'hashmap', the default); this process's heap limit is ${mib} MiB.\nChange it with NODE_OPTIONS=--max-old-space-size=<MiB>; a job whose state outgrows it fails with an error naming the operator.\nWith state.backend.type 'rocksdb' the state of joins, Top-N and CDC sources lives on local disk (state.backend.local-dir).`;
}

/** weir's CLI (commander). Each action returns an exit code; errors go through reportError. */
function buildProgram(setFile: (f: string | undefined) => void): Command {
  const program = new Command();
  program
    .name('weir')
    .description('A streaming SQL engine: Flink-style SQL with exactly-once checkpoints.')
    .version(packageVersion(), '-V, --version')
    .exitOverride();

  program
    .command('run')
    .description('run a job file (SET, CREATE TABLE/VIEW, INSERT INTO or EXECUTE STATEMENT SET)')
    .argument('<job.sql>', 'the job file')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder (default ./.weir/checkpoints or state.checkpoints.dir)')
    .option('--from-checkpoint <latest|path>', "restore from 'latest' or a chk-<n> folder, its _metadata file, or a savepoint folder")
    .option('--allow-non-restored-state', 'skip checkpoint state that maps to no operator of the job')
    .option('--set <key=value>', 'set a configuration key (repeatable), e.g. --set parallelism.default=3', collect)
    .option('--savepoint-on-stop', 'on SIGINT/SIGTERM take a savepoint before stopping')
    .option('--show-result', 'when the job ends, print what its sink tables hold')
    .option('-q, --quiet', 'no status line and no end-of-job summary (restore and warning lines still print)')
    .addHelpText('after', heapHelp)
    .action(async (file: string, opts) => {
      setFile(file);
      process.exitCode = await (await import('./run-command.js')).runCommand(file, opts);
    });

  program
    .command('sql')
    .description('the interactive SQL shell (engine in this process); piped standard input runs non-interactively')
    .option('-i, --init <file>', 'run this SQL file first (exit 1 if it fails)')
    .option('-f, --file <file>', 'run this SQL file and exit; exit 1 at the first error')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder of INSERT jobs (default ./.weir/checkpoints or state.checkpoints.dir)')
    .action(async (opts) => {
      if (opts.file) setFile(opts.file);
      process.exitCode = await (await import('./sql/sql-command.js')).sqlCommand(opts);
    });

  program
    .command('cdc')
    .description('sync PostgreSQL tables into DuckDB or PostgreSQL (snapshot, then every change, exactly once)')
    .argument('[pipeline.yaml]', 'a pipeline file (source, sink, route, transform, pipeline), as Flink CDC')
    .option('--source <url>', 'postgres://user[:password]@host[:port]/db (password also from PGPASSWORD)')
    .option('--tables <patterns>', "comma-separated schema.table regular expressions, e.g. 'public.*'")
    .option('--sink <target>', 'duckdb:FILE or postgres://user@host/db')
    .option('--name <name>', 'pipeline (job) name')
    .option('--parallelism <n>', 'parallelism of the sync job')
    .option('--checkpoint-interval <duration>', "e.g. '5 s'")
    .option('--schema-change <behavior>', 'evolve | try_evolve | lenient | ignore | exception')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder (default ./.weir/checkpoints)')
    .option('--from-checkpoint <latest|path>', "restore from 'latest' or a chk-<n> folder or a savepoint")
    .option('--savepoint-on-stop', 'on SIGINT/SIGTERM take a savepoint before stopping')
    .option('--set <key=value>', 'set a configuration key (repeatable)', collect)
    .option('-q, --quiet', 'no progress bars, status line or summary')
    .action(async (file: string | undefined, opts) => {
      if (file) setFile(file);
      process.exitCode = await (await import('./cdc/cdc-command.js')).cdcCommand(file, opts);
    });

  program
    .command('explain')
    .description('print the operator DAG of a job file')
    .argument('<job.sql>', 'the job file')
    .option('--set <key=value>', 'set a configuration key (repeatable)', collect)
    .action(async (file: string, opts) => {
      setFile(file);
      process.exitCode = await (await admin()).explainCommand(file, opts);
    });

  const checkpoints = program.command('checkpoints').description('inspect checkpoints and savepoints');
  checkpoints
    .command('list')
    .description('list completed checkpoints and savepoints')
    .argument('[job-name]', 'only this job')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder (default ./.weir/checkpoints)')
    .action(async (jobName: string | undefined, opts) => {
      process.exitCode = await (await admin()).checkpointsListCommand(jobName, opts);
    });

  program
    .command('savepoint')
    .description('take a savepoint of a running job')
    .argument('<job-name>')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder of the running job')
    .option('--name <name>', 'savepoint folder name')
    .action(async (jobName: string, opts) => {
      process.exitCode = await (await admin()).savepointCommand(jobName, opts);
    });

  program
    .command('stop')
    .description('stop a running job gracefully')
    .argument('<job-name>')
    .option('--checkpoint-dir <dir>', 'checkpoint root folder of the running job')
    .option('--savepoint', 'take a savepoint before stopping')
    .action(async (jobName: string, opts) => {
      process.exitCode = await (await admin()).stopCommand(jobName, opts);
    });
  return program;
}

async function main(): Promise<void> {
  tolerateClosedOutput();
  let file: string | undefined;
  const program = buildProgram((f) => (file = f));
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = reportError(err, file);
  }
  // Open handles (DuckDB, timers) must not keep a finished job alive; output a slow reader has
  // not taken yet must not be lost either.
  await exitWhenFlushed(Number(process.exitCode ?? 0));
}

await main();
