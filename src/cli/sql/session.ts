/**
 * A `weir sql` session: its configuration (SET/RESET), its catalog (CREATE/DROP, with the DDL
 * as written for SHOW CREATE), its background jobs, and the execution of every statement kind.
 * Errors are printed (with a caret under the SQL position) and never end the session; the caller
 * decides whether a script goes on.
 */
import { resolve } from 'node:path';
import { applyConfig, defaultJobConfig, resetConfig, type JobConfig, planOptions } from '../../config/job-config.js';
import { escapeControlChars, isWeirError, unreachable, userError, type SqlPosition } from '../../errors.js';
import type { Logger } from '../../log.js';
import { explainGraph } from '../../plan/explain.js';
import { Catalog } from '../../plan/catalog.js';
import { planJob } from '../../plan/physical.js';
import type { InsertStatement, QueryStatement, ShellStatement, Statement } from '../../sql/ir.js';
import { parseShellInput } from '../../sql/parse.js';
import { splitStatements } from '../../sql/split.js';
import { DEFAULT_CHECKPOINT_DIR } from '../run-command.js';
import { formatShellError, type ErrorSource } from './error-format.js';
import { JobRegistry } from './job-registry.js';
import { LiveTableView } from './live-table-view.js';
import { runQuery, planQuery } from './query-runner.js';
import { FinalTableView, RESULT_MODES, StreamingView, type ResultMode, type ResultView } from './result-views.js';
import * as show from './shell-commands.js';
import type { ShellIO } from './shell-io.js';

export const RESULT_MODE_KEY = 'sql-client.execution.result-mode';

export interface SessionOptions {
  readonly io: ShellIO;
  readonly log: Logger;
  /** --checkpoint-dir: where INSERT jobs keep checkpoints (else 'state.checkpoints.dir', else ./.weir/checkpoints). */
  readonly checkpointDir?: string;
  /** Prints that a background job ended by itself; default: a line on out (or err for a failure). */
  readonly announce?: (line: string, isError: boolean) => void;
}

/** What running some text did: every statement ran, one failed (and the rest were skipped), or QUIT. */
export type RunResult = 'ok' | 'error' | 'quit';

export class SqlSession {
  config: JobConfig = defaultJobConfig();
  readonly catalog = new Catalog();
  /** CREATE statements as written, by table/view name. */
  readonly ddl = new Map<string, string>();
  readonly jobs: JobRegistry;
  private readonly io: ShellIO;
  private cancelQuery: (() => void) | undefined;

  constructor(private readonly options: SessionOptions) {
    this.io = options.io;
    this.jobs = new JobRegistry(options.log, options.announce ?? ((line, isError) => (isError ? this.io.err(`${line}\n`) : this.io.out(`${line}\n`))));
  }

  /** Cancels the SELECT being shown, if any; false when none runs. */
  cancelRunningQuery(): boolean {
    if (!this.cancelQuery) return false;
    this.cancelQuery();
    return true;
  }

  /**
   * Runs the statements of `text` in order. `firstLine` is the line of `text`'s start in the
   * session or file (positions in errors count from it), `file` names a script.
   */
  async run(text: string, firstLine = 1, file?: string): Promise<RunResult> {
    const source: ErrorSource = { text, firstLine, ...(file !== undefined ? { file } : {}) };
    let chunks;
    try {
      chunks = splitStatements(text);
    } catch (e) {
      this.printError(shiftPosition(e, firstLine), source);
      return 'error';
    }
    for (const chunk of chunks) {
      try {
        const stmt = parseShellInput(chunk.text, { offset: chunk.offset, line: chunk.line + firstLine - 1, column: chunk.column });
        if ((await this.execute(stmt, chunk.text)) === 'quit') return 'quit';
      } catch (e) {
        this.printError(e, source);
        return 'error';
      }
    }
    return 'ok';
  }

  private printError(e: unknown, source: ErrorSource): void {
    this.io.err(formatShellError(e, source));
  }

  private info(line: string): void {
    this.io.out(`${line}\n`);
  }

  private async execute(stmt: Statement | ShellStatement, text: string): Promise<'ok' | 'quit'> {
    switch (stmt.kind) {
      case 'set':
        this.set(stmt.key, stmt.value, stmt.pos);
        break;
      case 'reset':
        this.config = resetConfig(this.config, stmt.key);
        this.info(`[INFO] Session property has been reset.`);
        break;
      case 'create-table':
      case 'create-view': {
        const name = stmt.name[stmt.name.length - 1]!;
        const existed = this.catalog.getTable(name) !== undefined || this.catalog.getView(name) !== undefined;
        this.catalog.apply(stmt);
        if (!existed) this.ddl.set(name, text);
        this.info(`[INFO] ${stmt.kind === 'create-table' ? 'Table' : 'View'} has been created.`);
        break;
      }
      case 'drop': {
        const name = stmt.name[stmt.name.length - 1]!;
        this.catalog.apply(stmt);
        if (this.catalog.getTable(name) === undefined && this.catalog.getView(name) === undefined) this.ddl.delete(name);
        this.info(`[INFO] ${stmt.object === 'table' ? 'Table' : 'View'} has been removed.`);
        break;
      }
      case 'insert':
        await this.submit([stmt]);
        break;
      case 'statement-set':
        await this.submit(stmt.inserts);
        break;
      case 'query':
        await this.select(stmt);
        break;
      case 'explain':
        this.info(this.explain(stmt.statement));
        break;
      case 'show':
        this.info(this.show(stmt.what));
        break;
      case 'show-create':
        this.info(show.showCreate(this.catalog, this.ddl, stmt));
        break;
      case 'show-checkpoints':
        this.info(await show.showCheckpoints(this.jobs.find(stmt.job, stmt.pos)));
        break;
      case 'describe':
        this.info(show.describe(this.catalog, stmt.name, stmt.pos));
        break;
      case 'stop-job':
        await this.stopJob(stmt.job, stmt.savepoint, stmt.pos);
        break;
      case 'help':
        this.info(show.HELP_TEXT);
        break;
      case 'quit':
        return 'quit';
      default:
        unreachable(stmt);
    }
    return 'ok';
  }

  private show(what: 'tables' | 'views' | 'functions' | 'jobs'): string {
    switch (what) {
      case 'tables':
        return show.showTables(this.catalog);
      case 'views':
        return show.showViews(this.catalog);
      case 'functions':
        return show.showFunctions();
      case 'jobs':
        return show.showJobs(this.jobs);
      default:
        return unreachable(what);
    }
  }

  private set(key: string | undefined, value: string | undefined, pos: SqlPosition | undefined): void {
    if (key === undefined || value === undefined) {
      const entries = [...this.config.raw.entries()];
      this.info(entries.length === 0 ? 'Empty set' : entries.map(([k, v]) => `'${k}' = '${v}'`).join('\n'));
      return;
    }
    if (key.trim() === RESULT_MODE_KEY) parseResultMode(value, pos);
    let warning: string | undefined;
    try {
      warning = applyConfig(this.config, key, value);
    } catch (e) {
      if (!isWeirError(e) || e.position !== undefined || pos === undefined) throw e;
      throw userError(e.code, e.message, { position: pos, details: e.details });
    }
    // The warning quotes the key as typed: escaped like error messages (src/errors.ts).
    if (warning) this.info(`[WARNING] ${escapeControlChars(warning)}`);
    this.info('[INFO] Session property has been set.');
  }

  /** The result mode: SET value, else `table` on a terminal and `tableau` otherwise. */
  resultMode(): ResultMode {
    const v = this.config.raw.get(RESULT_MODE_KEY);
    if (v !== undefined) return parseResultMode(v, undefined);
    return this.io.terminal ? 'table' : 'tableau';
  }

  private view(): ResultView {
    const mode = this.resultMode();
    switch (mode) {
      case 'table':
        return this.io.terminal ? new LiveTableView(this.io.terminal) : new FinalTableView(this.io);
      case 'changelog':
      case 'tableau':
        return new StreamingView(this.io, mode);
      default:
        return unreachable(mode);
    }
  }

  private async select(stmt: QueryStatement): Promise<void> {
    await runQuery(stmt, { catalog: this.catalog, config: this.config, log: this.options.log }, this.view(), (cancel) => (this.cancelQuery = cancel));
  }

  private explain(stmt: InsertStatement | QueryStatement | { kind: 'statement-set'; inserts: readonly InsertStatement[] }): string {
    switch (stmt.kind) {
      case 'insert':
        return explainGraph(planJob([stmt], this.catalog, { jobName: 'explain', ...planOptions(this.config) }));
      case 'statement-set':
        return explainGraph(planJob(stmt.inserts, this.catalog, { jobName: 'explain', ...planOptions(this.config) }));
      case 'query': {
        const planned = planQuery(stmt, this.catalog, this.config, 'explain', () => undefined);
        planned.close();
        return explainGraph(planned.graph);
      }
      default:
        return unreachable(stmt);
    }
  }

  private checkpointDir(): string {
    return resolve(this.options.checkpointDir ?? this.config.checkpointDir ?? DEFAULT_CHECKPOINT_DIR);
  }

  private async submit(inserts: readonly InsertStatement[]): Promise<void> {
    const job = await this.jobs.submit({
      inserts,
      catalog: this.catalog,
      config: this.config,
      checkpointDir: this.checkpointDir(),
      info: (line) => this.info(line),
    });
    this.info(`[INFO] Job '${job.name}' has been submitted.\nJob ID: ${job.id}`);
  }

  private async stopJob(ref: string, savepoint: boolean, pos: SqlPosition | undefined): Promise<void> {
    const job = this.jobs.find(ref, pos);
    const outcome = await this.jobs.stop(job, savepoint);
    const chk = outcome.lastCheckpoint;
    this.info(`[INFO] Job '${job.name}' (${job.id}) ${outcome.state.toLowerCase()}.`);
    if (chk) this.info(`${chk.kind === 'savepoint' ? 'Savepoint' : 'Last checkpoint'} path: ${chk.path}`);
  }
}

function parseResultMode(value: string, pos: SqlPosition | undefined): ResultMode {
  const v = value.trim().toLowerCase() as ResultMode;
  if (RESULT_MODES.includes(v)) return v;
  throw userError('INVALID_CONFIG', `'${RESULT_MODE_KEY}' must be one of ${RESULT_MODES.join(', ')}, got '${value}'`, {
    ...(pos ? { position: pos } : {}),
    details: { key: RESULT_MODE_KEY },
  });
}

/** Tokenizer errors of the splitter count lines from 1; move them to the session's lines. */
function shiftPosition(e: unknown, firstLine: number): unknown {
  if (!isWeirError(e) || e.position === undefined || firstLine === 1) return e;
  return userError(e.code, e.message, { position: { line: e.position.line + firstLine - 1, column: e.position.column }, details: e.details });
}
