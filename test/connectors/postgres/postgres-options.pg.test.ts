import { describe, expect, it } from 'vitest';
import { jdbcConnector, postgresConnector } from '../../../connectors/postgres/index.js';
import { gidPrefix, makeGid, parseGid } from '../../../connectors/postgres/gid.js';
import { formatDate, formatDecimal, formatTimestamp, parsePgText } from '../../../connectors/postgres/pg-values.js';
import { parsePostgresUrl, resolvePostgresConfig } from '../../../connectors/postgres/postgres-options.js';
import { type } from '../../../src/model/types.js';
import { prepareJob } from '../../../src/cli/job-file.js';
import { planJob } from '../../../src/plan/physical.js';
import '../../../connectors/index.js';
import { errorOf, makeTable } from '../table-helper.js';

/** Options, urls, gids and value text: no server needed. */
const cols = [['id', type('BIGINT', false)]] as const;
const table = (options: Record<string, string>, pk: string[] = []) => makeTable('orders', cols, options, { primaryKey: pk });
const SECRET = 'Sup3r:S3cret@pw';

describe('postgres options', () => {
  it('takes url, hostname/port/database-name, username/password and jdbc urls', () => {
    const a = resolvePostgresConfig(
      table({ connector: 'postgres', url: `postgresql://bob:${encodeURIComponent(SECRET)}@db.local:6543/shop?sslmode=require` }),
      'postgres',
    );
    expect(a.connection).toEqual({ host: 'db.local', port: 6543, database: 'shop', user: 'bob', password: SECRET, ssl: { rejectUnauthorized: false } });
    expect(a).toMatchObject({
      schemaName: undefined,
      tableName: 'orders',
      delivery: 'exactly-once',
      flushMaxRows: 10000,
      flushIntervalMs: 1000,
      createTable: false,
    });

    const b = resolvePostgresConfig(
      table({
        connector: 'jdbc',
        url: 'jdbc:postgresql://[::1]/shop?user=amy&password=pw',
        'table-name': 'sales."Big Orders"',
        'sink.delivery-guarantee': 'AT-LEAST-ONCE',
        'sink.buffer-flush.interval': '0',
        driver: 'org.postgresql.Driver',
      }),
      'jdbc',
    );
    expect(b.connection).toMatchObject({ host: '::1', port: 5432, database: 'shop', user: 'amy', password: 'pw', ssl: undefined });
    expect(b).toMatchObject({ schemaName: 'sales', tableName: 'Big Orders', delivery: 'at-least-once', flushIntervalMs: 0 });

    const c = resolvePostgresConfig(
      table({
        connector: 'postgres',
        hostname: 'h',
        'database-name': 'd',
        username: 'u',
        password: 'p',
        'sink.create-table': 'true',
        'sink.buffer-flush.max-rows': '0',
      }),
      'postgres',
    );
    expect(c.connection).toMatchObject({ host: 'h', port: 5432, database: 'd', user: 'u', password: 'p' });
    expect(c).toMatchObject({ createTable: true, flushMaxRows: 0 });
    // username/password options win over the url's.
    expect(
      resolvePostgresConfig(table({ connector: 'postgres', url: 'postgres://x:y@h/d', username: 'u', password: 'p' }), 'postgres').connection,
    ).toMatchObject({ user: 'u', password: 'p' });
    expect(parsePostgresUrl('mysql://h/d')).toBeUndefined();
    expect(parsePostgresUrl('jdbc:postgresql://h1,h2/d')).toBeUndefined();
  });

  it('rejects invalid options with the option name, never echoing secrets', () => {
    const err = (o: Record<string, string>, connector: 'postgres' | 'jdbc' = 'postgres') =>
      errorOf(() => (connector === 'jdbc' ? jdbcConnector : postgresConnector).createSink!(table(o), { fields: [] }));
    expect(err({ connector: 'postgres' }).message).toContain("connector 'postgres' needs 'url', or 'hostname' and 'database-name'");
    expect(err({ connector: 'postgres', hostname: 'h' }).message).toContain("'database-name'");
    expect(err({ connector: 'jdbc', 'table-name': 't' }, 'jdbc').message).toContain("missing required option 'url'");
    expect(err({ connector: 'postgres', url: 'postgresql://h/d', hostname: 'h' }).message).toContain("give either 'url' or 'hostname'");
    const bad = err({ connector: 'postgres', url: `mysql://root:${SECRET}@h/d` });
    expect(bad.message).toContain("option 'url' must be a PostgreSQL url");
    expect(bad.message).not.toContain(SECRET);
    expect(err({ connector: 'postgres', url: 'postgresql://h:5432' }).message).toContain('(with the database)');
    expect(err({ connector: 'jdbc', url: 'jdbc:postgresql://h/d', driver: 'com.mysql.Driver' }, 'jdbc').message).toContain(
      "option 'driver' must be 'org.postgresql.Driver'",
    );
    expect(err({ connector: 'postgres', url: 'postgresql://h/d', 'sink.delivery-guarantee': 'none' }).message).toContain("'exactly-once', 'at-least-once'");
    expect(err({ connector: 'postgres', url: 'postgresql://h/d', 'sink.buffer-flush.max-row': '5' }).message).toContain(
      "did you mean 'sink.buffer-flush.max-rows'?",
    );
    expect(err({ connector: 'postgres', url: 'postgresql://h/d', 'table-name': 'a.b.c' }).message).toContain(
      "option 'table-name' must be a table name or 'schema.table'",
    );
    expect(err({ connector: 'postgres', url: 'postgresql://h/d', password: SECRET, port: 'x' }).message).not.toContain(SECRET);
  });

  it('an updating query into a table without a primary key is rejected at plan time', () => {
    const sql = (pk: string) => `
CREATE TABLE src (k INT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE per_k (k INT, n BIGINT${pk}) WITH ('connector' = 'postgres', 'url' = 'postgresql://u:${SECRET}@h/d');
INSERT INTO per_k SELECT k, COUNT(*) FROM src GROUP BY k;`;
    const plan = (text: string) => {
      const job = prepareJob(text, 'job.sql', []);
      return planJob(job.inserts, job.catalog, { jobName: 'job', parallelism: 1 });
    };
    const e = errorOf(() => plan(sql('')));
    expect(e.code).toBe('UPDATING_INTO_APPEND_ONLY');
    expect(e.message).toContain('declare PRIMARY KEY (k) NOT ENFORCED');
    expect(e.message).not.toContain(SECRET);
    expect(plan(sql(', PRIMARY KEY (k) NOT ENFORCED')).vertices.length).toBeGreaterThan(0);
  });

  it('describe() (EXPLAIN) shows the server and table but no user, password or url', () => {
    const variants: Record<string, string>[] = [
      { connector: 'postgres', url: `postgresql://bob:${encodeURIComponent(SECRET)}@db:5432/shop`, 'table-name': 'a.orders' },
      { connector: 'postgres', hostname: 'db', 'database-name': 'shop', username: 'bob', password: SECRET, 'table-name': 'a.orders' },
    ];
    for (const o of variants) {
      const text = postgresConnector.createSink!(table(o, ['id']), { fields: [{ name: 'id', type: type('BIGINT', false) }] }).describe();
      expect(text).toBe('postgres(table="a"."orders", server=db:5432/shop, delivery=exactly-once, buffer-flush.max-rows=10000, buffer-flush.interval=1000ms)');
    }
  });

  it('gids encode job, operator, subtask and checkpoint within 200 characters', () => {
    const gid = makeGid('orders-job', 'sink-0123456789ab', 2, 17);
    expect(gid).toBe('weir:orders-job:sink-0123456789ab:2:17');
    expect(parseGid(gid, gidPrefix('orders-job', 'sink-0123456789ab'))).toEqual({ subtask: 2, checkpointId: 17 });
    expect(parseGid(gid, gidPrefix('orders', 'sink-0123456789ab'))).toBeUndefined();
    const long = makeGid(`job with spaces: ${'x'.repeat(500)}`, 'sink-0123456789ab', 12, 123456789);
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).toMatch(/^weir:job_with_spaces__x+~[0-9a-f]{12}:sink-0123456789ab:12:123456789$/);
    expect(makeGid('a:b', 'u', 0, 1)).not.toBe(makeGid('a_b', 'u', 0, 1));
  });

  it('formats and parses PostgreSQL text', () => {
    expect(formatDecimal(-5n, 3)).toBe('-0.005');
    expect(formatDecimal(12345n, 2)).toBe('123.45');
    expect(formatDecimal(-12n, 0)).toBe('-12');
    expect(formatDate(0)).toBe('1970-01-01');
    expect(formatDate(-719_528)).toBe('0001-01-01 BC');
    expect(formatDate(-719_529)).toBe('0002-12-31 BC');
    expect(formatTimestamp(Date.UTC(2024, 1, 29, 23, 59, 58, 7))).toBe('2024-02-29 23:59:58.007');
    expect(formatTimestamp(-1)).toBe('1969-12-31 23:59:59.999');
    expect(parsePgText('2024-02-29 23:59:58.0071', type('TIMESTAMP'))).toBe(Date.UTC(2024, 1, 29, 23, 59, 58, 7));
    expect(parsePgText('2024-01-01 02:00:00+02', type('TIMESTAMP_LTZ'))).toBe(Date.UTC(2024, 0, 1));
    expect(parsePgText('1.5', type('DECIMAL', true, 10, 3))).toBe(1500n);
    expect(parsePgText('-0.5', type('DECIMAL', true, 10, 1))).toBe(-5n);
    expect(parsePgText('\\x00ff', type('BYTES'))).toEqual(new Uint8Array([0, 255]));
  });
});
