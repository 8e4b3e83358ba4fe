import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { applyConfig, defaultJobConfig, resetConfig, type JobConfig } from '../config/job-config.js';
import { escapeControlChars, isWeirError, unreachable, userError, type SqlPosition } from '../errors.js';
import { Catalog } from '../plan/catalog.js';
import { parseScript } from '../sql/parse.js';
import type { InsertStatement } from '../sql/ir.js';

/** A job file read and applied: its configuration, its catalog and the INSERTs to run. */
export interface JobFile {
  readonly path: string;
  readonly jobName: string;
  readonly config: JobConfig;
  readonly catalog: Catalog;
  readonly inserts: readonly InsertStatement[];
  readonly warnings: readonly string[];
}

/** Parses a `KEY=VALUE` flag. */
export function parseSetFlag(flag: string): [string, string] {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw userError('INVALID_FLAG', `--set takes KEY=VALUE, got '${flag}'`);
  return [flag.slice(0, eq).trim(), flag.slice(eq + 1).trim()];
}

/** The job name is a folder name under the checkpoint dir: it must not climb out of it. */
function checkJobName(name: string, fromConfig: boolean): void {
  if (name.trim() === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    const from = fromConfig ? `'pipeline.name'` : 'the job file name';
    throw userError(
      'INVALID_JOB_NAME',
      `invalid job name '${name}' (from ${from}): it names the checkpoint folder, so it cannot be empty, '.', '..' or contain '/' or '\\'`,
    );
  }
}

/** applyConfig, with an invalid value reported at the SET statement's position. */
function applyAt(config: JobConfig, key: string, value: string, pos: SqlPosition | undefined): string | undefined {
  try {
    return applyConfig(config, key, value);
  } catch (e) {
    if (!isWeirError(e) || e.position !== undefined || pos === undefined) throw e;
    throw userError(e.code, e.message, { position: pos, details: e.details });
  }
}

/**
 * Runs a job file's statements in order: SET/RESET change the configuration, CREATE/DROP change
 * the catalog, INSERT and EXECUTE STATEMENT SET collect what the job runs. `--set` flags are
 * applied after the file, so they win.
 */
export async function loadJobFile(path: string, sets: readonly string[] = []): Promise<JobFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (code ?? String(e));
    throw userError('FILE_NOT_FOUND', `cannot read job file '${path}': ${why}`);
  }
  return prepareJob(text, path, sets);
}

/** As loadJobFile, for SQL text in hand (benchmarks, tests); `path` names the job by default. */
export function prepareJob(text: string, path: string, sets: readonly string[] = []): JobFile {
  const statements = parseScript(text);
  let config = defaultJobConfig();
  const catalog = new Catalog();
  const inserts: InsertStatement[] = [];
  const warnings: string[] = [];
  for (const st of statements) {
    switch (st.kind) {
      case 'set':
        if (st.key !== undefined && st.value !== undefined) {
          const w = applyAt(config, st.key, st.value, st.pos);
          if (w) warnings.push(st.pos ? `${path}:${st.pos.line}:${st.pos.column}: ${escapeControlChars(w)}` : escapeControlChars(w));
        }
        break;
      case 'reset':
        config = resetConfig(config, st.key);
        break;
      case 'create-table':
      case 'create-view':
      case 'drop':
        catalog.apply(st);
        break;
      case 'insert':
        inserts.push(st);
        break;
      case 'statement-set':
        inserts.push(...st.inserts);
        break;
      case 'query':
        throw userError('QUERY_IN_JOB_FILE', 'a job file runs INSERT INTO statements; to see the result of a SELECT, use `weir sql`', {
          position: st.pos,
        });
      case 'explain':
        throw userError('EXPLAIN_IN_JOB_FILE', 'EXPLAIN is not run from a job file; use `weir explain FILE`', { position: st.pos });
      default:
        unreachable(st);
    }
  }
  for (const flag of sets) {
    const [k, v] = parseSetFlag(flag);
    let w: string | undefined;
    try {
      w = applyConfig(config, k, v);
    } catch (e) {
      if (!isWeirError(e)) throw e;
      throw userError(e.code, `--set ${k}=${v}: ${e.message}`, { details: e.details });
    }
    if (w) warnings.push(`--set: ${escapeControlChars(w)}`);
  }
  if (inserts.length === 0) {
    throw userError('NO_INSERT', `job file '${path}' has no INSERT INTO statement: nothing to run`);
  }
  const jobName = config.pipelineName ?? basename(path, extname(path));
  checkJobName(jobName, config.pipelineName !== undefined);
  return { path, jobName, config, catalog, inserts, warnings };
}
