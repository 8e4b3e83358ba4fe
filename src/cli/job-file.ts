import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { applyConfig, defaultJobConfig, resetConfig, type JobConfig } from '../config/job-config.js';
import { unreachable, userError } from '../errors.js';
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
    throw userError('FILE_NOT_FOUND', `cannot read job file '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
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
          const w = applyConfig(config, st.key, st.value);
          if (w) warnings.push(w);
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
    const w = applyConfig(config, k, v);
    if (w) warnings.push(w);
  }
  if (inserts.length === 0) {
    throw userError('NO_INSERT', `job file '${path}' has no INSERT INTO statement: nothing to run`);
  }
  const jobName = config.pipelineName ?? basename(path, extname(path));
  return { path, jobName, config, catalog, inserts, warnings };
}
