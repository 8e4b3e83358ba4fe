import type { TableDef } from '../catalog/table.js';
import type { Field, Schema } from '../model/types.js';
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
  /**
   * Schema evolution of a sink table: `weir cdc` (schema.change.behavior evolve, try_evolve or
   * lenient) calls it after the job writing `table` stopped with a final checkpoint, and before a
   * job writing the new columns starts. `table` is the sink table as the new job declares it.
   * Returns the steps in the order they must run; each is applied on its own and is one atomic
   * change, so a step that fails leaves the table as it was before that step and the caller may
   * stop there (evolve) or go on past it (try_evolve). Steps are idempotent (a step applied again,
   * e.g. after a crash between two steps, changes nothing). Optional: a sink without it cannot
   * follow its source's column changes.
   */
  evolveSchema?(table: TableDef, change: SchemaChange): SchemaEvolutionStep[];
  /** Option keys (or patterns such as 'fields.#.kind') this connector knows, for error messages. */
  readonly optionKeys: readonly string[];
}

/** The columns a sink table gains, loses or retypes. */
export interface SchemaChange {
  readonly added: readonly Field[];
  readonly dropped: readonly string[];
  /** Columns whose type changed (e.g. INT to BIGINT, VARCHAR(10) to VARCHAR(20)): the new field. */
  readonly retyped: readonly Field[];
}

/** One step of a schema evolution. */
export interface SchemaEvolutionStep {
  /** The statement the step runs, for people and logs; never holds credentials. */
  readonly statement: string;
  apply(): Promise<void>;
}
