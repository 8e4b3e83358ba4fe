/**
 * Turns a pipeline and the discovered tables into one weir job (SQL text run by the same planner
 * and runtime as `weir run`): per target table a postgres-cdc source (several source tables when a
 * route merges shards into one target, read through one source with `table_name` in its key), a
 * view applying the table's transform, and a sink table (DuckDB or PostgreSQL, created with the
 * mapped types and the source's primary key) fed by one statement set.
 */
import { createHash } from 'node:crypto';
import { isWeirError, userError, type WeirError } from '../../errors.js';
import { formatType } from '../../model/types.js';
import { bindQuery } from '../../plan/bind-query.js';
import { Catalog } from '../../plan/catalog.js';
import { parseScript } from '../../sql/parse.js';
import { prepareJob, type JobFile } from '../job-file.js';
import type { DiscoveredTable } from './discover.js';
import { tablePatterns } from './discover.js';
import { parseUrl, pipelineName, type Pipeline, type SchemaChangeBehavior } from './pipeline.js';

export interface PipelineTarget {
  /** The sink table's name: the route's sink-table or the source table's name. */
  readonly sinkTable: string;
  readonly tables: readonly DiscoveredTable[];
}

export interface PipelineJob {
  readonly job: JobFile;
  readonly tables: readonly DiscoveredTable[];
  readonly targets: readonly PipelineTarget[];
  readonly slots: readonly string[];
}

const q = (id: string): string => `\`${id.replace(/`/g, '``')}\``;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Groups tables by target: a route's matches share one target, the others keep their own. */
export function planTargets(p: Pipeline, tables: readonly DiscoveredTable[]): PipelineTarget[] {
  const routes = p.route.map((r) => ({ route: r, pattern: tablePatterns(r['source-table'])[0] }));
  const byTarget = new Map<string, DiscoveredTable[]>();
  for (const t of tables) {
    const r = routes.find((x) => x.pattern.schema.test(t.schema) && x.pattern.table.test(t.name));
    const target = r ? r.route['sink-table'] : p.sink.type === 'duckdb' ? t.name : `${t.schema}.${t.name}`;
    const list = byTarget.get(target) ?? [];
    list.push(t);
    byTarget.set(target, list);
  }
  return [...byTarget].map(([sinkTable, list]) => {
    const first = list[0];
    for (const t of list.slice(1)) {
      const same =
        t.columns.length === first.columns.length && t.columns.every((c, i) => c.name === first.columns[i].name && c.sqlType === first.columns[i].sqlType);
      if (!same || t.primaryKey.join() !== first.primaryKey.join()) {
        throw userError(
          'PIPELINE_ROUTE_SCHEMAS',
          `${p.file}: route to '${sinkTable}' merges ${first.schema}.${first.name} and ${t.schema}.${t.name}, whose columns or primary keys differ; route them to different sink tables`,
        );
      }
    }
    return { sinkTable, tables: list };
  });
}

/**
 * Flink CDC's behaviours on the postgres-cdc source: evolve / try_evolve / lenient stop the source
 * right before the change, so `weir cdc` can apply it to the target (evolve-target.ts) and resume
 * with the new columns; ignore goes on without them; exception fails.
 */
const SCHEMA_CHANGE_MODE: Record<SchemaChangeBehavior, 'fail' | 'allow' | 'stop'> = {
  exception: 'fail',
  ignore: 'allow',
  lenient: 'stop',
  evolve: 'stop',
  try_evolve: 'stop',
};

function sinkOptions(p: Pipeline, target: string): Record<string, string> {
  const s = p.sink;
  if (s.type === 'duckdb') return { connector: 'duckdb', path: s.path, 'table-name': target };
  const base: Record<string, string> = { connector: 'postgres', 'table-name': target, 'sink.create-table': 'true' };
  if (s.url) {
    const u = parseUrl(s.url, 'sink.url');
    Object.assign(base, { hostname: u.host, port: String(u.port), username: u.user, 'database-name': u.database });
    if (u.password !== undefined) base.password = u.password;
  }
  for (const k of ['hostname', 'username', 'password', 'database-name'] as const) if (s[k] !== undefined) base[k] = s[k]!;
  if (s.port !== undefined) base.port = String(s.port);
  return base;
}

function withClause(o: Record<string, string>): string {
  return Object.entries(o)
    .map(([k, v]) => `${lit(k)} = ${lit(v)}`)
    .join(', ');
}

/**
 * Names derived from the target (not its position), so a table added later leaves every other
 * target's source, state and slot where they were: `<stem>_<8 hex of the sink table>`.
 */
export function targetId(sinkTable: string): string {
  return createHash('sha256').update(sinkTable).digest('hex').slice(0, 8);
}

/** Slot name of a target: `<slot.name or weir_<pipeline>>_<target id>`. */
export function slotName(p: Pipeline, sinkTable: string): string {
  const base = (p.source['slot.name'] ?? `weir_${pipelineName(p)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')).slice(0, 40);
  return `${base}_${targetId(sinkTable)}`;
}

/** Where in the generated text each transform's SQL sits, to name it in errors. */
interface Origin {
  readonly line: number;
  readonly what: string;
}

export function buildPipelineJob(p: Pipeline, tables: readonly DiscoveredTable[], sets: readonly string[] = []): PipelineJob {
  const targets = planTargets(p, tables);
  const slots = targets.map((t) => slotName(p, t.sinkTable));
  const ids = targets.map((t) => targetId(t.sinkTable));
  const src = p.source;
  const lines: string[] = [
    `SET 'pipeline.name' = ${lit(pipelineName(p))};`,
    `SET 'parallelism.default' = '${p.pipeline.parallelism}';`,
    `SET 'execution.checkpointing.interval' = '${p.pipeline['checkpoint.interval']} ms';`,
  ];
  const origins: Origin[] = [];
  const inserts: string[] = [];
  targets.forEach((target, i) => {
    const first = target.tables[0];
    const several = target.tables.length > 1;
    const cols = first.columns.map((c) => `${q(c.name)} ${c.sqlType}${c.notNull && first.primaryKey.includes(c.name) ? ' NOT NULL' : ''}`);
    if (several) cols.unshift("`_weir_table` STRING METADATA FROM 'table_name' VIRTUAL");
    const key = [...(several ? ['_weir_table'] : []), ...first.primaryKey].map(q).join(', ');
    const schemas = [...new Set(target.tables.map((t) => t.schema))];
    const options: Record<string, string> = {
      connector: 'postgres-cdc',
      hostname: src.hostname,
      port: String(src.port),
      username: src.username,
      password: src.password,
      'database-name': src['database-name'],
      'schema-name': schemas.length === 1 ? reEscape(schemas[0]) : `(${schemas.map(reEscape).join('|')})`,
      'table-name': several ? `(${target.tables.map((t) => reEscape(t.name)).join('|')})` : reEscape(first.name),
      'slot.name': slots[i],
      'publication.name': `${slots[i]}_pub`,
      'changelog-mode': 'upsert',
      'scan.startup.mode': src['scan.startup.mode'],
      'schema-change.mode': SCHEMA_CHANGE_MODE[p.pipeline['schema.change.behavior']],
    };
    if (src['scan.incremental.snapshot.chunk.size'] !== undefined)
      options['scan.incremental.snapshot.chunk.size'] = String(src['scan.incremental.snapshot.chunk.size']);
    if (src['heartbeat.interval.ms'] !== undefined) options['heartbeat.interval.ms'] = `${src['heartbeat.interval.ms']} ms`;
    lines.push(`CREATE TABLE ${q(`src_${ids[i]}`)} (${cols.join(', ')}, PRIMARY KEY (${key}) NOT ENFORCED) WITH (${withClause(options)});`);
    const transforms = p.transform
      .map((t, j) => ({ t, j, pattern: tablePatterns(t['source-table'])[0] }))
      .filter((x) => target.tables.some((tb) => x.pattern.schema.test(tb.schema) && x.pattern.table.test(tb.name)));
    const tr = transforms[0];
    const projection = tr?.t.projection ?? first.columns.map((c) => q(c.name)).join(', ');
    const filter = tr?.t.filter ? ` WHERE ${tr.t.filter}` : '';
    if (tr) origins.push({ line: lines.length + 1, what: `transform[${tr.j}] (source-table '${tr.t['source-table']}')` });
    lines.push(`CREATE VIEW ${q(`v_${ids[i]}`)} AS SELECT ${projection} FROM ${q(`src_${ids[i]}`)}${filter};`);
  });
  // Phase 1: the sources and views, to learn each view's columns (a transform may compute some).
  const phase1 = catalogAt(lines.join('\n'), p, origins);
  targets.forEach((target, i) => {
    const view = phase1.catalog.getView(`v_${ids[i]}`)!;
    const schema = bindQuery(view.query, phase1.catalog).schema;
    const names = schema.fields.map((f) => f.name);
    const pk = target.tables[0].primaryKey;
    const missing = pk.filter((k) => !names.includes(k));
    if (missing.length > 0) {
      throw userError(
        'PIPELINE_TRANSFORM_KEY',
        `${p.file}: the transform of ${target.tables[0].schema}.${target.tables[0].name} drops primary key column ${missing.map((k) => `'${k}'`).join(', ')}; a synced table keeps its primary key`,
      );
    }
    const cols = schema.fields.map((f) => `${q(f.name)} ${formatType(pk.includes(f.name) ? { ...f.type, nullable: false } : { ...f.type, nullable: true })}`);
    lines.push(
      `CREATE TABLE ${q(`dst_${ids[i]}`)} (${cols.join(', ')}, PRIMARY KEY (${pk.map(q).join(', ')}) NOT ENFORCED) WITH (${withClause(sinkOptions(p, target.sinkTable))});`,
    );
    inserts.push(`INSERT INTO ${q(`dst_${ids[i]}`)} SELECT * FROM ${q(`v_${ids[i]}`)};`);
  });
  lines.push('EXECUTE STATEMENT SET BEGIN', ...inserts, 'END;');
  return { job: prepareAt(lines.join('\n'), p, origins, sets), tables, targets, slots };
}

/** prepareJob on the generated text; a user error inside a transform names the transform. */
function prepareAt(text: string, p: Pipeline, origins: readonly Origin[], sets: readonly string[]): JobFile {
  return named(() => prepareJob(text, p.file, sets), p, origins);
}

/** The catalog of the generated CREATE statements (no INSERT yet). */
function catalogAt(text: string, p: Pipeline, origins: readonly Origin[]): { catalog: Catalog } {
  return named(
    () => {
      const catalog = new Catalog();
      for (const st of parseScript(text)) if (st.kind === 'create-table' || st.kind === 'create-view') catalog.apply(st);
      return { catalog };
    },
    p,
    origins,
  );
}

function named<T>(f: () => T, p: Pipeline, origins: readonly Origin[]): T {
  try {
    return f();
  } catch (e) {
    if (!isWeirError(e) || e.domain !== 'user') throw e;
    const line = e.position?.line;
    const o = line === undefined ? undefined : origins.find((x) => x.line === line);
    if (o) throw rewrap(e, `${p.file}: ${o.what}: ${e.message.replace(/^.*?:\d+:\d+: /, '')}`);
    throw e;
  }
}

function rewrap(e: WeirError, message: string): WeirError {
  return userError(e.code, message, { cause: e, details: e.details });
}
