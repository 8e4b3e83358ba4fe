/**
 * The WATERMARK of a table as the source task runs it: the watermark expression with computed
 * columns inlined, over the columns the source reads (so per-split watermarks are generated in the
 * source, before any filter, as Flink's watermark push-down into scans), and the idle timeout.
 */
import type { TableDef } from '../catalog/table.js';
import { tryParseDuration } from '../config/duration.js';
import { bindExpr } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { compileRowFn } from '../expr/compile.js';
import { userError } from '../errors.js';
import type { ChangeBatch } from '../model/changelog.js';
import type { SourceWatermarkSpec } from '../runtime/watermark.js';
import { collectInputs, formatBound, inputRef, remapInputs, substituteInputs } from './bound-util.js';
import { bindComputedColumns, storedColumns } from './rules/computed-columns.js';
import { RelationScope } from './scope.js';

/** The table option and the job option (Flink's names) giving the idle timeout of source splits. */
export const IDLE_TIMEOUT_OPTION = 'scan.watermark.idle-timeout';
export const IDLE_TIMEOUT_CONFIG = 'table.exec.source.idle-timeout';

/** The watermark expression over the stored columns (stored order), or undefined without a WATERMARK. */
function storedWatermark(table: TableDef): BoundExpr | undefined {
  if (!table.watermark) return undefined;
  const full = bindExpr(table.watermark.expr, { scope: new RelationScope([{ name: table.name, fields: table.schema.fields, offset: 0 }]) });
  const stored = storedColumns(table);
  const computed = bindComputedColumns(table);
  const replacement = table.columns.map((_, i) => computed.get(i) ?? inputRef(stored.indexOf(i), table.schema.fields[i].type));
  return substituteInputs(full, replacement);
}

/** Indexes into table.schema of the stored columns the WATERMARK needs (a scan always reads them). */
export function watermarkColumns(table: TableDef): number[] {
  const e = storedWatermark(table);
  if (!e) return [];
  const used = new Set<number>();
  collectInputs(e, used);
  const stored = storedColumns(table);
  return [...used].map((i) => stored[i]);
}

/** Milliseconds of a duration option value (`'5 s'`, `'1 min'`, `'500ms'`); 0 disables. */
function idleTimeout(table: TableDef, tableConfig: ReadonlyMap<string, string> | undefined): number {
  const fromTable = table.options[IDLE_TIMEOUT_OPTION];
  const raw = fromTable ?? tableConfig?.get(IDLE_TIMEOUT_CONFIG);
  if (raw === undefined) return 0;
  const ms = tryParseDuration(raw);
  if (ms === undefined) {
    const what = fromTable !== undefined ? `option '${IDLE_TIMEOUT_OPTION}' of table '${table.name}'` : `'${IDLE_TIMEOUT_CONFIG}'`;
    throw userError('INVALID_OPTION', `${what} must be a duration such as '30 s' or '500 ms', got '${raw}'`, {
      position: fromTable !== undefined ? (table.optionPositions[IDLE_TIMEOUT_OPTION] ?? table.pos) : undefined,
    });
  }
  return ms;
}

/**
 * The spec for a scan of `columns` (indexes into table.schema, in scan order), or undefined when
 * the table has no WATERMARK.
 */
export function sourceWatermarkSpec(table: TableDef, columns: readonly number[], tableConfig?: ReadonlyMap<string, string>): SourceWatermarkSpec | undefined {
  const e = storedWatermark(table);
  if (!e) return undefined;
  const stored = storedColumns(table);
  const mapping = stored.map((c) => columns.indexOf(c));
  const expr = remapInputs(e, mapping);
  const names = columns.map((c) => table.schema.fields[c].name);
  const idleTimeoutMs = idleTimeout(table, tableConfig);
  return {
    idleTimeoutMs,
    description: `watermark=[${formatBound(expr, names)}]${idleTimeoutMs > 0 ? `, idleTimeout=[${idleTimeoutMs} ms]` : ''}`,
    createExtractor(): (batch: ChangeBatch) => number {
      if (expr.kind === 'input') {
        const c = expr.index;
        return (batch) => {
          const col = batch.columns[c];
          let max = -Infinity;
          for (let i = 0; i < batch.size; i++) {
            const v = col[i] as number | null;
            if (v !== null && v > max) max = v;
          }
          return max;
        };
      }
      const fn = compileRowFn(expr);
      return (batch) => {
        const cols = batch.columns;
        let max = -Infinity;
        for (let i = 0; i < batch.size; i++) {
          const v = fn(cols, i) as number | null;
          if (v !== null && v > max) max = v;
        }
        return max;
      };
    },
  };
}

/** The table as its connector sees it: without the planner's own options (scan.watermark.*). */
export function connectorTable(table: TableDef): TableDef {
  if (!(IDLE_TIMEOUT_OPTION in table.options)) return table;
  const options = { ...table.options };
  delete options[IDLE_TIMEOUT_OPTION];
  return Object.freeze({ ...table, options: Object.freeze(options) });
}
