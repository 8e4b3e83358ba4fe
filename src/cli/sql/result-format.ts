/**
 * How result values and tables look in `weir sql`: values as CAST(v AS STRING) renders them
 * (as Flink's SQL client shows them), NULL as `<NULL>`, bytes as x'..'; numbers right-aligned and
 * text left-aligned; cells longer than the column width cut with `...`.
 */
import { makeCaster } from '../../expr/cast.js';
import { isNumeric, type, type Field, type SqlType } from '../../model/types.js';

/** Flink's sql-client.display.max-column-width. */
export const MAX_COLUMN_WIDTH = 30;
export const NULL_TEXT = '<NULL>';

export type ValueFormatter = (v: unknown) => string;

/** One formatter per field, built once per query. */
export function valueFormatters(fields: readonly Field[]): ValueFormatter[] {
  const str = type('STRING');
  return fields.map((f) => {
    if (f.type.kind === 'BYTES') {
      return (v: unknown) => (v === null || v === undefined ? NULL_TEXT : `x'${Buffer.from(v as Uint8Array).toString('hex')}'`);
    }
    const cast = makeCaster(f.type, str, false);
    return (v: unknown) => (v === null || v === undefined ? NULL_TEXT : String(cast(v)));
  });
}

/** The widest text a value of `t` renders to, capped at MAX_COLUMN_WIDTH (for tables printed as rows arrive). */
export function typeWidth(t: SqlType): number {
  let w: number;
  switch (t.kind) {
    case 'BOOLEAN':
      w = 5;
      break;
    case 'TINYINT':
      w = 4;
      break;
    case 'SMALLINT':
      w = 6;
      break;
    case 'INT':
      w = 11;
      break;
    case 'BIGINT':
      w = 20;
      break;
    case 'FLOAT':
      w = 15;
      break;
    case 'DOUBLE':
      w = 24;
      break;
    case 'DECIMAL':
      w = (t.precision ?? 10) + 2;
      break;
    case 'CHAR':
    case 'VARCHAR':
      w = t.precision ?? MAX_COLUMN_WIDTH;
      break;
    case 'DATE':
      w = 10;
      break;
    case 'TIME':
      w = 12;
      break;
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      w = 20 + (t.precision ?? 3);
      break;
    case 'NULL':
      w = 0;
      break;
    default:
      w = MAX_COLUMN_WIDTH;
  }
  if (t.nullable) w = Math.max(w, NULL_TEXT.length);
  return Math.min(w, MAX_COLUMN_WIDTH);
}

/** Cuts `s` to `width` characters, ending in `...` when cut. */
export function fit(s: string, width: number): string {
  if (s.length <= width) return s;
  return width <= 3 ? s.slice(0, width) : `${s.slice(0, width - 3)}...`;
}

/** A bordered table layout with fixed column widths. */
export class TableLayout {
  readonly border: string;

  constructor(
    readonly names: readonly string[],
    readonly widths: readonly number[],
    readonly rightAligned: readonly boolean[],
  ) {
    this.border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  }

  line(cells: readonly string[]): string {
    return (
      '|' +
      cells
        .map((v, i) => {
          const w = this.widths[i]!;
          const s = fit(v, w);
          return ` ${this.rightAligned[i] ? s.padStart(w) : s.padEnd(w)} `;
        })
        .join('|') +
      '|'
    );
  }

  header(): string[] {
    return [this.border, this.line(this.names), this.border];
  }
}

/** Column widths from the types (rows are printed as they arrive, before their widths are known). */
export function streamingLayout(fields: readonly Field[], withOp: boolean): TableLayout {
  const names = fields.map((f) => f.name);
  const widths = fields.map((f) => Math.max(Math.min(f.name.length, MAX_COLUMN_WIDTH), typeWidth(f.type)));
  const right = fields.map((f) => isNumeric(f.type));
  return withOp ? new TableLayout(['op', ...names], [2, ...widths], [false, ...right]) : new TableLayout(names, widths, right);
}

/** Column widths from the rows themselves (a whole result at hand). */
export function contentLayout(fields: readonly Field[], cells: readonly (readonly string[])[]): TableLayout {
  const names = fields.map((f) => f.name);
  const widths = names.map((n, c) => Math.min(MAX_COLUMN_WIDTH, Math.max(n.length, ...cells.map((r) => r[c]!.length))));
  return new TableLayout(
    names,
    widths,
    fields.map((f) => isNumeric(f.type)),
  );
}

/** A whole result as a bordered table (the `table` mode's final print when there is no terminal). */
export function renderTable(fields: readonly Field[], rows: readonly (readonly unknown[])[]): string {
  const fmt = valueFormatters(fields);
  const cells = rows.map((r) => r.map((v, c) => fmt[c]!(v)));
  const layout = contentLayout(fields, cells);
  return [...layout.header(), ...cells.map((r) => layout.line(r)), layout.border].join('\n');
}

/** `00:01:05` */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

/** `1 row` / `3 rows` */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
