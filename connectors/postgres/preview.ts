/** `weir run --show-result` for a PostgreSQL sink table: its committed rows, read as text. */
import type { TableDef } from '../../src/catalog/table.js';
import { externalError } from '../../src/errors.js';
import { closePg, connectPg } from './pg-connection.js';
import { pgError } from './pg-errors.js';
import { describeServer, qualifiedTarget, type PostgresSinkConfig } from './postgres-options.js';

export async function previewPostgresTable(
  table: TableDef,
  config: PostgresSinkConfig,
  limit: number,
): Promise<{ columns: string[]; rows: unknown[][]; total: number }> {
  const target = qualifiedTarget(config);
  const ctx = { table: table.name, target, server: describeServer(config.connection) };
  let client;
  try {
    client = await connectPg(config.connection, { applicationName: 'weir preview', setup: ["SET TimeZone = 'UTC'"] });
  } catch (e) {
    throw pgError(e, ctx, 'preview');
  }
  try {
    const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${target}`);
    const n = Math.max(0, Math.floor(limit));
    const res = await client.query({
      text: `SELECT * FROM ${target} ORDER BY 1 LIMIT ${n}`,
      rowMode: 'array',
      types: { getTypeParser: () => (v: string) => v },
    });
    return { columns: res.fields.map((f) => f.name), rows: res.rows as unknown[][], total: Number(count.rows[0].n) };
  } catch (e) {
    throw e instanceof Error && 'code' in e
      ? pgError(e, ctx, 'preview')
      : externalError('POSTGRES', `PostgreSQL at ${ctx.server}: preview of ${target} failed`, { cause: e });
  } finally {
    await closePg(client);
  }
}
