import { basename } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { postgresConnector } from '../../../connectors/postgres/index.js';
import { gidPrefix } from '../../../connectors/postgres/gid.js';
import { parsePgText } from '../../../connectors/postgres/pg-values.js';
import { CONFORMANCE_SCHEMA, runTwoPhaseCommitConformance, type ConformanceTarget } from '../../sink/conformance/two-phase-commit-suite.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { makeTable, sinkContext } from '../table-helper.js';

/** The shared exactly-once suite against a real PostgreSQL server, append and upsert. */
const server = await postgresOrSkip();
afterAll(() => server?.stop());

function pgTarget(upsert: boolean) {
  return (dir: string): ConformanceTarget => {
    // The same dir is the same target and the same job (a restarted process), a new dir a new one.
    const name = `orders_${basename(dir).replace(/[^a-zA-Z0-9]/g, '_')}`;
    const job = `conformance-${name}`;
    const cols = CONFORMANCE_SCHEMA.fields.map((f) => [f.name, f.type] as const);
    const table = makeTable(
      'orders',
      cols,
      { connector: 'postgres', ...server!.options(), 'table-name': `conformance.${name}`, 'sink.create-table': 'true', 'sink.buffer-flush.max-rows': '1000' },
      { primaryKey: upsert ? ['id'] : [] },
    );
    const sink = postgresConnector.createSink!(table, CONFORMANCE_SCHEMA);
    expect(sink.acceptsUpdates).toBe(upsert);
    return {
      acceptsUpdates: sink.acceptsUpdates,
      sink: sink.createWriter(sinkContext(CONFORMANCE_SCHEMA, upsert ? [0] : [], 0, job)),
      readCommitted: async () => {
        const rows = await server!.query(`SELECT id, name, amount, ts FROM conformance."${name}"`);
        return rows.map((r) => r.map((v, c) => parsePgText(v, CONFORMANCE_SCHEMA.fields[c].type)));
      },
      countStaged: async () => {
        const prefix = gidPrefix(job, 'sink');
        const rows = await server!.query('SELECT count(*) FROM pg_prepared_xacts WHERE left(gid, length($1)) = $1', [prefix]);
        return Number(rows[0][0]);
      },
    };
  };
}

describe.skipIf(!server)('postgres sink', () => {
  runTwoPhaseCommitConformance('postgres (append, COPY)', pgTarget(false), { upsert: false });
  runTwoPhaseCommitConformance('postgres (upsert)', pgTarget(true), { upsert: true });
});
