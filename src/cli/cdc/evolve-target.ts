/**
 * Schema evolution of `weir cdc` targets (schema.change.behavior = evolve | try_evolve | lenient):
 * after the job stopped right before a column change, the columns each target gains, loses or
 * retypes are applied to the target table by its sink connector (ConnectorFactory.evolveSchema:
 * ALTER TABLE ... ADD / DROP COLUMN, ALTER COLUMN ... TYPE) before the job resumes with the new
 * columns. try_evolve logs a change the target refuses and goes on; evolve fails on it.
 */
import type { TableDef } from '../../catalog/table.js';
import type { SchemaChange } from '../../connector/connector.js';
import { lookupConnector } from '../../connector/registry.js';
import { externalError, userError } from '../../errors.js';
import { formatType, type Field } from '../../model/types.js';
import type { Logger } from '../../log.js';
import { targetId, type PipelineJob } from './pipeline-job.js';

export interface ColumnChange extends SchemaChange {
  readonly sinkTable: string;
  /** The sink table as the new job declares it (its connector applies the change). */
  readonly table: TableDef;
}

function sinkTableDef(job: PipelineJob, i: number): TableDef {
  return job.job.catalog.getTable(`dst_${targetId(job.targets[i].sinkTable)}`) as TableDef;
}

function sinkFields(job: PipelineJob, i: number): Field[] {
  return [...sinkTableDef(job, i).schema.fields];
}

/** Per target (matched by sink table name), the columns the new job adds or drops. */
export function columnChanges(before: PipelineJob, after: PipelineJob): ColumnChange[] {
  const out: ColumnChange[] = [];
  after.targets.forEach((t, i) => {
    const j = before.targets.findIndex((b) => b.sinkTable === t.sinkTable);
    if (j < 0) return;
    const old = sinkFields(before, j);
    const now = sinkFields(after, i);
    const added = now.filter((f) => !old.some((o) => o.name === f.name));
    const dropped = old.filter((o) => !now.some((f) => f.name === o.name)).map((o) => o.name);
    const retyped = now.filter((f) => {
      const o = old.find((x) => x.name === f.name);
      return o !== undefined && formatType({ ...o.type, nullable: true }) !== formatType({ ...f.type, nullable: true });
    });
    if (added.length > 0 || dropped.length > 0 || retyped.length > 0)
      out.push({ sinkTable: t.sinkTable, table: sinkTableDef(after, i), added, dropped, retyped });
  });
  return out;
}

/**
 * evolve: every change, failing on one the target refuses; try_evolve: the same, going on past a
 * refused one; lenient (Flink CDC's default): dropped columns stay in the target (new rows leave
 * them NULL), the rest as try_evolve.
 */
export async function applyColumnChanges(changes: readonly ColumnChange[], behavior: 'evolve' | 'try_evolve' | 'lenient', log: Logger): Promise<void> {
  const tolerant = behavior !== 'evolve';
  for (const change of changes) {
    const c = behavior === 'lenient' ? { ...change, dropped: [] } : change;
    const connector = lookupConnector(c.table.options.connector, c.table.name);
    if (!connector.evolveSchema) {
      throw userError(
        'CDC_EVOLVE_UNSUPPORTED',
        `sink connector '${connector.name}' cannot apply schema changes to ${c.sinkTable}; use schema.change.behavior 'ignore' or 'exception'`,
      );
    }
    for (const step of connector.evolveSchema(c.table, c)) {
      const sql = step.statement;
      try {
        await step.apply();
        log.info({ table: c.sinkTable, sql }, 'weir cdc: target evolved');
        process.stderr.write(`schema change applied to ${c.sinkTable}: ${sql}\n`);
      } catch (e) {
        if (!tolerant)
          throw externalError(
            'CDC_EVOLVE',
            `schema change of ${c.sinkTable} could not be applied (${sql}): ${(e as Error).message}; use schema.change.behavior 'try_evolve' to go on without it`,
            { cause: e },
          );
        log.warn({ table: c.sinkTable, sql, error: (e as Error).message }, 'weir cdc: schema change not applied (try_evolve)');
        process.stderr.write(`warning: schema change of ${c.sinkTable} not applied (${sql}): ${(e as Error).message}\n`);
      }
    }
  }
}
