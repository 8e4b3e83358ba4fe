import type { TableDef } from '../catalog/table.js';
import type { Schema } from '../model/types.js';
import type { Source } from '../runtime/source.js';
import type { Sink } from '../sink/two-phase-commit.js';

/**
 * A connector, registered under its `'connector' = '<name>'` value. Options arrive as written in
 * WITH (...); the connector validates them (unknown or invalid options are user errors that name
 * the option and the valid ones) before anything runs.
 */
export interface ConnectorFactory {
  readonly name: string;
  /** Validates options and returns a planned source reading `table` and producing `schema`
   *  (the physical and metadata columns the query needs, in that order). */
  createSource?(table: TableDef, schema: Schema): Source;
  /** Validates options and returns a planned sink writing rows of `schema` into `table`. */
  createSink?(table: TableDef, schema: Schema): Sink;
  /**
   * Reads back what a sink table holds now (committed rows only), for `weir run --show-result`.
   * Optional: sinks that cannot be read back (print, blackhole) leave it out.
   */
  preview?(table: TableDef, limit: number): Promise<{ columns: string[]; rows: unknown[][]; total: number }>;
  /** Option keys (or patterns such as 'fields.#.kind') this connector knows, for error messages. */
  readonly optionKeys: readonly string[];
}
