import type { Field, Schema, SqlType } from '../model/types.js';

/** The type without a time attribute (after an aggregate, a window TVF, ...). */
export function plainType(t: SqlType): SqlType {
  if (t.timeAttribute === undefined) return t;
  const { timeAttribute: _dropped, ...rest } = t;
  return Object.freeze(rest);
}

/** The type of window_start / window_end, and of window_time (a rowtime of the time column's kind). */
export function windowTypes(timeType: SqlType): { bound: SqlType; time: SqlType } {
  const bound = Object.freeze({ kind: 'TIMESTAMP' as const, nullable: false, precision: 3 });
  const time = Object.freeze({
    kind: timeType.kind === 'TIMESTAMP_LTZ' ? ('TIMESTAMP_LTZ' as const) : ('TIMESTAMP' as const),
    nullable: false,
    precision: 3,
    timeAttribute: 'rowtime' as const,
  });
  return { bound, time };
}

export function freezeSchema(fields: readonly Field[]): Schema {
  return Object.freeze({ fields: Object.freeze(fields.map((f) => Object.freeze({ name: f.name, type: f.type }))) });
}

export const BIGINT_NOT_NULL: SqlType = Object.freeze({ kind: 'BIGINT' as const, nullable: false });
