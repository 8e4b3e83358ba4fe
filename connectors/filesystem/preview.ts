import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { previewFrom, type Preview } from '../common/duckdb-preview.js';
import { quoteLiteral } from '../common/duckdb-values.js';

/**
 * The committed part files of a filesystem sink folder, read through DuckDB. CSV parts have no
 * header, so their columns are named from `columns` (the sink table's).
 */
export async function previewPartFiles(folder: string, format: 'parquet' | 'csv' | 'json', columns: readonly string[], limit: number): Promise<Preview> {
  const ext = format === 'json' ? 'json' : format;
  const hasParts = existsSync(folder) && readdirSync(folder).some((f) => f.startsWith('part-') && f.endsWith(`.${ext}`));
  if (!hasParts) return { columns: [], rows: [], total: 0 };
  const glob = quoteLiteral(join(folder, `part-*.${ext}`));
  if (format === 'csv') {
    const names = columns.map(quoteLiteral).join(', ');
    return previewFrom('', `read_csv(${glob}, header = false, names = [${names}])`, limit);
  }
  return previewFrom('', `${format === 'parquet' ? 'read_parquet' : 'read_json_auto'}(${glob})`, limit);
}
