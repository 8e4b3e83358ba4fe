/**
 * The postgres-cdc source: one split (the captured tables), read by the subtask it lands on (the
 * others stay idle). A changelog source: its reader emits +I/-U/+U/-D, and the planner follows it
 * with a changelog-normalize step keyed by the primary key.
 */
import type { Schema } from '../../src/model/types.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { describeOptions } from '../../src/connector/options.js';
import { resolveColumns, type ColumnOrigin } from '../common/columns.js';
import type { CdcConfig } from './cdc-options.js';
import { CdcReader } from './cdc-reader.js';
import { metadataColumn } from './cdc-setup.js';
import { textConverter } from './pg-text.js';

export const CDC_METADATA_KEYS = ['table_name', 'schema_name', 'database_name'] as const;

export class CdcSource implements Source {
  readonly bounded: boolean;
  readonly changelogMode = 'updating' as const;
  readonly columns: ColumnOrigin[];
  /**
   * Upsert-mode updates, key-only deletes and TRUNCATE become a full changelog in the normalize
   * step. A bounded snapshot only inserts each key once: it needs none.
   */
  readonly normalize: Source['normalize'];

  constructor(
    readonly config: CdcConfig,
    schema: Schema,
  ) {
    this.columns = resolveColumns(config.table, schema, 'postgres-cdc', CDC_METADATA_KEYS);
    for (const c of this.columns) if (c.kind === 'physical') textConverter(c.field);
    this.bounded = config.startupMode === 'snapshot';
    const tableField = metadataColumn(config, 'table_name');
    this.normalize =
      config.startupMode === 'snapshot'
        ? undefined
        : { keyFields: config.table.primaryKey, ...(tableField !== undefined && config.table.primaryKey.includes(tableField) ? { tableField } : {}) };
  }

  async enumerate(_parallelism: number, restored: readonly SplitPosition[]): Promise<SplitPosition['split'][]> {
    if (restored.length > 0) return restored.map((r) => r.split);
    return [{ id: `postgres-cdc:${this.config.slotName}` }];
  }

  createReader(ctx: SourceContext): SourceReader {
    return new CdcReader(this, ctx);
  }

  describe(): string {
    return `postgres-cdc(${describeOptions(this.config.table)})`;
  }
}
