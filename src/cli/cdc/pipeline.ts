/**
 * A `weir cdc` pipeline: the YAML file (Flink CDC's pipeline shape) or the flags form, validated
 * into one `Pipeline`. Unknown keys and wrong types are user errors naming the key path and the
 * valid keys; `${ENV_VAR}` references are expanded (so passwords stay out of the file).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { expandEnv } from '../../config/env.js';
import { tryParseDuration } from '../../config/duration.js';
import { editDistance } from '../../util/edit-distance.js';
import { userError } from '../../errors.js';

export const SCHEMA_CHANGE_BEHAVIORS = ['evolve', 'try_evolve', 'lenient', 'ignore', 'exception'] as const;
export type SchemaChangeBehavior = (typeof SCHEMA_CHANGE_BEHAVIORS)[number];

const port = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().min(1).max(65535));
const duration = z
  .union([
    z
      .number()
      .int()
      .nonnegative()
      .transform((n) => `${n} ms`),
    z.string(),
  ])
  .transform((s, ctx) => {
    const ms = tryParseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as '5 s' or '500 ms', got '${s}'` });
      return z.NEVER;
    }
    return ms;
  });

const sourceSchema = z.strictObject({
  type: z.literal('postgres'),
  hostname: z.string().min(1),
  port: port.default(5432),
  username: z.string().min(1),
  password: z.string().default(''),
  'database-name': z.string().min(1),
  /** Comma-separated `schema.table` patterns, Flink CDC's selectors (src/cli/cdc/table-patterns.ts). */
  tables: z.string().min(1),
  'slot.name': z
    .string()
    .regex(/^[a-z0-9_]{1,40}$/, 'lower-case letters, digits and underscores (at most 40: weir appends a number per table)')
    .optional(),
  'scan.incremental.snapshot.chunk.size': z.number().int().positive().optional(),
  'scan.startup.mode': z.enum(['initial', 'latest-offset', 'snapshot']).default('initial'),
  'heartbeat.interval.ms': duration.optional(),
  /** Tables created later that match `tables` are added to the running pipeline. */
  'scan.newly-added-table.enabled': z.boolean().default(true),
  'scan.newly-added-table.interval': duration.default(10_000),
});

const sinkSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('duckdb'), path: z.string().min(1) }),
  z.strictObject({
    type: z.literal('postgres'),
    url: z.string().min(1).optional(),
    hostname: z.string().min(1).optional(),
    port: port.optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    'database-name': z.string().optional(),
  }),
]);

const routeSchema = z.strictObject({
  'source-table': z.string().min(1),
  'sink-table': z.string().min(1),
  description: z.string().optional(),
});

const transformSchema = z.strictObject({
  'source-table': z.string().min(1),
  projection: z.string().min(1).optional(),
  filter: z.string().min(1).optional(),
  description: z.string().optional(),
});

const pipelineSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -')
    .optional(),
  parallelism: z.number().int().min(1).max(128).default(1),
  // Flink's minimum checkpoint interval; 0 would leave a sync job that never commits.
  'checkpoint.interval': duration.refine((ms) => ms >= 10, { message: 'expected a duration of at least 10 ms' }).default(5000),
  'schema.change.behavior': z.enum(SCHEMA_CHANGE_BEHAVIORS).default('lenient'),
});

const fileSchema = z.strictObject({
  source: sourceSchema,
  sink: sinkSchema,
  route: z.array(routeSchema).default([]),
  transform: z.array(transformSchema).default([]),
  pipeline: pipelineSchema.default({ parallelism: 1, 'checkpoint.interval': 5000, 'schema.change.behavior': 'lenient' }),
});

export type PipelineSource = z.output<typeof sourceSchema>;
export type PipelineSink = z.output<typeof sinkSchema>;
export type Pipeline = z.output<typeof fileSchema> & { readonly file: string };

/** Where the valid keys of each section are listed, for "unknown key" messages. */
const KEYS: Record<string, readonly string[]> = {
  '': Object.keys(fileSchema.shape),
  source: Object.keys(sourceSchema.shape),
  'sink(duckdb)': ['type', 'path'],
  'sink(postgres)': ['type', 'url', 'hostname', 'port', 'username', 'password', 'database-name'],
  route: Object.keys(routeSchema.shape),
  transform: Object.keys(transformSchema.shape),
  pipeline: Object.keys(pipelineSchema.shape),
};

function section(path: readonly PropertyKey[], data: unknown): string {
  const top = path.find((p) => typeof p === 'string') as string | undefined;
  if (top === 'sink') {
    const type = (data as { sink?: { type?: unknown } })?.sink?.type;
    return type === 'postgres' ? 'sink(postgres)' : 'sink(duckdb)';
  }
  return top ?? '';
}

function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** Expands `${NAME}` in every string value of the parsed YAML. */
function expandAll(v: unknown, where: string): unknown {
  if (typeof v === 'string') return expandEnv(v, where);
  if (Array.isArray(v)) return v.map((x, i) => expandAll(x, `${where}[${i}]`));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandAll(x, where ? `${where}.${k}` : k)]));
  return v;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Validates parsed YAML (or the flags form's object) into a Pipeline; errors name the key. */
export function validatePipeline(data: unknown, file: string): Pipeline {
  const r = fileSchema.safeParse(expandAll(data, ''));
  if (r.success) return { ...r.data, file };
  const issue = r.error.issues[0];
  const at = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const valid = KEYS[section(issue.path, data)] ?? [];
    const key = issue.keys[0];
    const near = valid.map((k) => [k, editDistance(key, k)] as const).sort((a, b) => a[1] - b[1])[0];
    const hint = near && near[1] <= 3 ? ` (did you mean '${near[0]}'?)` : '';
    throw userError(
      'PIPELINE_UNKNOWN_KEY',
      `${file}: unknown key '${at ? `${at}.` : ''}${key}'${hint}; valid keys${at ? ` of '${at}'` : ''}: ${valid.join(', ')}`,
    );
  }
  if (issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined) {
    throw userError('PIPELINE_MISSING_KEY', `${file}: missing key '${at}'`);
  }
  throw userError('PIPELINE_INVALID', `${file}: '${at}': ${issue.message}`);
}

export function loadPipelineFile(path: string): Pipeline {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw userError('FILE_NOT_FOUND', `cannot read pipeline file '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0];
    throw userError('PIPELINE_YAML', `${path}${line ? `:${line.line}:${line.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  return validatePipeline(doc.toJS(), path);
}

/**
 * The flags form: `--source postgres://user[:password]@host[:port]/db --tables 'public.*'
 * --sink duckdb:FILE | postgres://...`. The password may also come from PGPASSWORD.
 */
export function pipelineFromFlags(flags: {
  source: string;
  tables: string;
  sink: string;
  name?: string;
  slot?: string;
  parallelism?: string;
  checkpointInterval?: string;
  schemaChange?: string;
}): Pipeline {
  const src = parseUrl(flags.source, '--source');
  const source: Record<string, unknown> = {
    type: 'postgres',
    hostname: src.host,
    port: src.port,
    username: src.user,
    password: src.password ?? process.env.PGPASSWORD ?? '',
    'database-name': src.database,
    tables: flags.tables,
    ...(flags.slot ? { 'slot.name': flags.slot } : {}),
  };
  let sink: Record<string, unknown>;
  if (flags.sink.startsWith('duckdb:')) sink = { type: 'duckdb', path: flags.sink.slice('duckdb:'.length) };
  else if (/^postgres(ql)?:\/\//.test(flags.sink)) sink = { type: 'postgres', url: flags.sink };
  else throw userError('INVALID_FLAG', `--sink must be duckdb:FILE or postgres://user@host/db, got '${flags.sink}'`);
  const pipeline: Record<string, unknown> = {};
  if (flags.name) pipeline.name = flags.name;
  if (flags.parallelism) pipeline.parallelism = Number(flags.parallelism);
  if (flags.checkpointInterval) pipeline['checkpoint.interval'] = flags.checkpointInterval;
  if (flags.schemaChange) pipeline['schema.change.behavior'] = flags.schemaChange;
  return validatePipeline({ source, sink, pipeline }, 'the flags');
}

export function parseUrl(url: string, what: string): { host: string; port: number; user: string; password?: string; database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw userError('INVALID_FLAG', `${what} must be a URL such as postgres://user@host:5432/db`);
  }
  if (!/^postgres(ql)?:$/.test(u.protocol) || !u.hostname || !u.username || u.pathname.length < 2) {
    throw userError('INVALID_FLAG', `${what} must be a URL such as postgres://user@host:5432/db (user, host and database are required)`);
  }
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    database: decodeURIComponent(u.pathname.slice(1)),
  };
}

/** A pipeline's job name: `pipeline.name`, else the file's name without extension. */
export function pipelineName(p: Pipeline): string {
  if (p.pipeline.name) return p.pipeline.name;
  const base = p.file.replace(/^.*[/\\]/, '').replace(/\.(ya?ml)$/i, '');
  return /^[A-Za-z0-9_.-]+$/.test(base) ? base : 'cdc';
}
