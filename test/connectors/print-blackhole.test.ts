import { describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { connectorNames, lookupConnector } from '../../src/connector/registry.js';
import { PrintSink, type LineOutput } from '../../connectors/print/print-sink.js';
import { formatValue } from '../../connectors/print/format-value.js';
import { type } from '../../src/model/types.js';
import { RowKind } from '../../src/model/changelog.js';
import { errorOf, makeTable, sinkContext } from './table-helper.js';

class Capture implements LineOutput {
  text = '';
  write(t: string): boolean {
    this.text += t;
    return true;
  }
  once(): this {
    return this;
  }
}

const COLS = [
  ['id', type('BIGINT')],
  ['name', type('STRING')],
  ['price', type('DECIMAL', true, 10, 2)],
  ['ts', type('TIMESTAMP', true, 3)],
  ['score', type('DOUBLE')],
] as const;

describe('print sink', () => {
  it('prints rows as Flink does, with identifier and 1-based subtask', async () => {
    const out = new Capture();
    const table = makeTable('out', COLS, { connector: 'print', 'print-identifier': 'orders' });
    const sink = new PrintSink(table, table.schema, out);
    expect(sink.acceptsUpdates).toBe(true);
    const w = sink.createWriter({ ...sinkContext(table.schema), subtaskIndex: 1, parallelism: 2 });
    await w.open();
    const txn = await w.begin(1);
    await w.write(txn, {
      size: 2,
      kinds: new Uint8Array([RowKind.INSERT, RowKind.UPDATE_BEFORE]),
      columns: [
        [1, 2],
        ['Alice', null],
        [1250n, -5n],
        [Date.UTC(2024, 0, 1, 10, 0, 0), Date.UTC(2024, 0, 1, 10, 0, 5, 120)],
        [1, 1e21],
      ],
    });
    expect(out.text).toBe('orders:2> +I[1, Alice, 12.50, 2024-01-01T10:00, 1.0]\norders:2> -U[2, null, -0.05, 2024-01-01T10:00:05.120, 1.0E21]\n');
  });

  it('prints without a prefix at parallelism 1 and no identifier', async () => {
    const out = new Capture();
    const table = makeTable('out', [['id', type('INT')]], { connector: 'print' });
    const w = new PrintSink(table, table.schema, out).createWriter(sinkContext(table.schema));
    await w.write(await w.begin(1), { size: 1, kinds: new Uint8Array([RowKind.DELETE]), columns: [[7]] });
    expect(out.text).toBe('-D[7]\n');
  });

  it('formats values as Java does', () => {
    expect(formatValue(Math.fround(0.1), type('FLOAT'))).toBe('0.1');
    expect(formatValue(19723, type('DATE'))).toBe('2024-01-01');
    expect(formatValue(3_723_000, type('TIME'))).toBe('01:02:03');
    expect(formatValue(Date.UTC(2024, 0, 1), type('TIMESTAMP_LTZ'))).toBe('2024-01-01T00:00:00Z');
    expect(formatValue(true, type('BOOLEAN'))).toBe('true');
    expect(formatValue(0.0001, type('DOUBLE'))).toBe('1.0E-4');
  });

  it('rejects unknown options', () => {
    const table = makeTable('out', [['id', type('INT')]], { connector: 'print', 'print-identifer': 'x' });
    expect(errorOf(() => new PrintSink(table, table.schema)).message).toContain("did you mean 'print-identifier'?");
  });
});

describe('blackhole sink and the registry', () => {
  it('registers every connector on import', () => {
    expect(connectorNames()).toEqual(expect.arrayContaining(['blackhole', 'datagen', 'duckdb', 'filesystem', 'print']));
    expect(lookupConnector('datagen', 't').optionKeys).toContain('fields.#.kind');
  });

  it('swallows and counts rows, and takes no options', async () => {
    const f = lookupConnector('blackhole', 't');
    const table = makeTable('t', [['id', type('INT')]], { connector: 'blackhole' });
    const sink = f.createSink!(table, table.schema) as import('../../connectors/blackhole/blackhole-sink.js').BlackholeSink;
    const w = sink.createWriter(sinkContext(table.schema));
    await w.write(await w.begin(1), { size: 3, kinds: new Uint8Array(3), columns: [[1, 2, 3]] });
    expect(sink.rows).toBe(3);
    expect(errorOf(() => f.createSink!(makeTable('t', [['id', type('INT')]], { connector: 'blackhole', x: '1' }), table.schema)).code).toBe('UNKNOWN_OPTION');
  });
});
