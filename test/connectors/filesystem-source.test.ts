import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../connectors/filesystem/file-source.js';
import { resolveFilesystemConfig } from '../../connectors/filesystem/filesystem-options.js';
import { type } from '../../src/model/types.js';
import type { SourceReader } from '../../src/runtime/source.js';
import { tempDir } from '../support/temp-dirs.js';
import { drain, errorOf, makeTable, schemaOf, sourceContext } from './table-helper.js';

const COLUMNS = [
  ['id', type('BIGINT', false)],
  ['name', type('STRING')],
  ['amount', type('DECIMAL', true, 10, 2)],
  ['ts', type('TIMESTAMP', true, 3)],
  ['day', type('DATE')],
  ['ok', type('BOOLEAN')],
] as const;

/** Removed after this file's tests (test/support/temp-dirs.ts). */
function tmp(): string {
  return tempDir('fs-src');
}

function fileSource(
  options: Record<string, string>,
  names?: string[],
  extra: Parameters<typeof makeTable>[3] = {},
  columns: Parameters<typeof makeTable>[1] = COLUMNS,
) {
  const t = makeTable('orders', columns, { connector: 'filesystem', ...options }, extra);
  const schema = schemaOf(t, names);
  return { src: new FileSource(t, schema, resolveFilesystemConfig(t)), schema };
}

async function readAll(options: Record<string, string>, names?: string[], counters: Record<string, number> = {}): Promise<unknown[][]> {
  const { src, schema } = fileSource(options, names);
  const r = src.createReader(sourceContext(schema, counters));
  await r.assign(await src.enumerate(1, []), []);
  return drain(r);
}

const T = (s: string) => Date.parse(`${s}Z`);
const D = (s: string) => Date.parse(`${s}T00:00:00Z`) / 86_400_000;

describe('filesystem source: JSON', () => {
  it('reads JSON lines with type conversion', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'a.json'),
      [
        '{"id": 1, "name": "Alice", "amount": 12.5, "ts": "2024-01-01 10:00:00", "day": "2024-01-02", "ok": true}',
        '',
        '{"id": "2", "name": "Bob", "amount": "0.07", "ts": "2024-01-01T10:00:00.250Z", "day": 19725, "ok": "false"}',
        '{"id": 3, "amount": 1e2, "ts": 1704103200000, "extra": [1,2]}',
        '{"id": 4, "name": {"nested": 1}, "amount": "-12345678.99", "ts": "2024-01-01T12:00:00+02:00", "ok": null}',
      ].join('\r\n'),
    );
    const rows = await readAll({ path: dir, format: 'json' });
    expect(rows).toEqual([
      [1, 'Alice', 1250n, T('2024-01-01T10:00:00'), D('2024-01-02'), true],
      [2, 'Bob', 7n, T('2024-01-01T10:00:00.250'), 19725, false],
      [3, null, 10000n, 1704103200000, null, null],
      [4, '{"nested":1}', -1234567899n, T('2024-01-01T10:00:00'), null, null],
    ]);
  });

  it('produces the projection the planner asks for, plus file metadata', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.json'), '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n');
    const { src, schema } = fileSource({ path: dir, format: 'json' }, ['name', 'src', 'id'], { metadata: { src: 'file.name' } }, [
      ...COLUMNS,
      ['src', type('STRING')],
    ]);
    const r = src.createReader(sourceContext(schema));
    await r.assign(await src.enumerate(1, []), []);
    expect(await drain(r)).toEqual([
      ['a', 'x.json', 1],
      ['b', 'x.json', 2],
    ]);
  });

  it('reads every non-hidden file of a folder in order, one split each', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'b.json'), '{"id": 2}\n');
    writeFileSync(join(dir, 'a.json'), '{"id": 1}\n');
    writeFileSync(join(dir, '.hidden.json'), '{"id": 99}\n');
    writeFileSync(join(dir, '_SUCCESS'), 'garbage');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'c.json'), '{"id": 3}\n');
    const { src } = fileSource({ path: dir, format: 'json' });
    const splits = await src.enumerate(2, []);
    expect(splits.map((s) => s.id)).toEqual([join(dir, 'a.json'), join(dir, 'b.json'), join(dir, 'sub', 'c.json')]);
    expect((await readAll({ path: dir, format: 'json' }, ['id'])).flat()).toEqual([1, 2, 3]);
  });

  it('fails on a malformed line naming the file and the line', async () => {
    const dir = tmp();
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"id": 1}\n\n{"id": 2,\n{"id": 3}\n');
    const e = await readAll({ path: file, format: 'json' }).then(
      () => undefined,
      (x: Error & { code?: string }) => x,
    );
    expect(e?.code).toBe('MALFORMED_RECORD');
    expect(e?.message).toMatch(new RegExp(`^malformed JSON in ${file} line 3: `));
    const e2 = await (async () => {
      writeFileSync(file, '{"id": 1}\n{"id": 2, "amount": "abc"}\n');
      return readAll({ path: file, format: 'json' }).then(
        () => undefined,
        (x: Error) => x,
      );
    })();
    expect(e2?.message).toBe(`malformed JSON in ${file} line 2: field 'amount': cannot convert "abc" to DECIMAL(10, 2)`);
  });

  it('skips and counts malformed lines with json.ignore-parse-errors', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'f.json'), '{"id": 1}\nnot json\n[1,2]\n{"id": 2, "ok": "maybe"}\n{"id": 3}\n');
    const counters: Record<string, number> = {};
    const rows = await readAll({ path: dir, format: 'json', 'json.ignore-parse-errors': 'true' }, ['id', 'ok'], counters);
    expect(rows).toEqual([
      [1, null],
      [3, null],
    ]);
    expect(counters['parse-errors-skipped']).toBe(3);
  });

  it('resumes from a byte position mid-file', async () => {
    const dir = tmp();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, name: `ñame-${i}-€` }));
    writeFileSync(join(dir, 'big.json'), `${lines.join('\n')}\n`);
    const { src, schema } = fileSource({ path: dir, format: 'json' }, ['id', 'name']);
    const splits = await src.enumerate(1, []);
    const r1: SourceReader = src.createReader(sourceContext(schema));
    await r1.assign(splits, []);
    const first = await drain(r1, 1500);
    const pos = r1.positions();
    expect(pos[0].position).toMatchObject({ line: first.length + 1 });
    await r1.close();

    const { src: src2 } = fileSource({ path: dir, format: 'json' }, ['id', 'name']);
    const splits2 = await src2.enumerate(1, pos);
    const r2 = src2.createReader(sourceContext(schema));
    await r2.assign(splits2, pos);
    const rest = await drain(r2);
    expect([...first, ...rest].map((r) => r[0])).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(rest[rest.length - 1]).toEqual([2999, 'ñame-2999-€']);
    expect(r2.positions()[0].finished).toBe(true);
  });

  it('says when the path does not exist', async () => {
    const { src } = fileSource({ path: '/nonexistent/weir/in', format: 'json' });
    await expect(src.enumerate(1, [])).rejects.toThrow("table 'orders': path '/nonexistent/weir/in' does not exist");
  });
});

describe('filesystem source: CSV', () => {
  it('reads RFC 4180 CSV in the table column order, for any projection', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'a.csv'),
      ['1,Alice,12.50,2024-01-01 10:00:00,2024-01-02,true', '2,"Bob, ""the"" builder",,2024-01-01T10:00:00Z,,', '3,"multi', 'line",1,,,FALSE', ''].join('\n'),
    );
    const rows = await readAll({ path: dir, format: 'csv' }, ['ok', 'name', 'id', 'amount']);
    expect(rows).toEqual([
      [true, 'Alice', 1, 1250n],
      [null, 'Bob, "the" builder', 2, null],
      [false, 'multi\nline', 3, 100n],
    ]);
  });

  it('honours the delimiter, comments and null literal options', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.csv'), '# a comment\n1;x;1.5;;;\n2;NULL;2;;;\n');
    const rows = await readAll({ path: dir, format: 'csv', 'csv.field-delimiter': ';', 'csv.allow-comments': 'true', 'csv.null-literal': 'NULL' }, [
      'id',
      'name',
      'amount',
    ]);
    expect(rows).toEqual([
      [1, 'x', 150n],
      [2, null, 200n],
    ]);
  });

  it('fails on a bad record with file and line, or skips it with csv.ignore-parse-errors', async () => {
    const dir = tmp();
    const file = join(dir, 'a.csv');
    writeFileSync(file, '1,a,1,,,\n2,b,1\nx,c,1,,,\n4,"d,1,,,\n');
    const e = await readAll({ path: file, format: 'csv' }).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).toBe(`malformed CSV in ${file} line 2: expected 6 fields, got 3`);
    const counters: Record<string, number> = {};
    expect(await readAll({ path: file, format: 'csv', 'csv.ignore-parse-errors': 'true' }, ['id'], counters)).toEqual([[1]]);
    expect(counters['parse-errors-skipped']).toBe(3);
  });

  it('rejects options of another format and reading parquet', () => {
    expect(errorOf(() => fileSource({ path: '/x', format: 'json', 'csv.field-delimiter': ';' })).message).toBe(
      "table 'orders': option 'csv.field-delimiter' applies to format 'csv', but 'format' is 'json'",
    );
    expect(errorOf(() => fileSource({ path: '/x', format: 'parquet' })).message).toContain("reads format 'json' or 'csv', not 'parquet'");
    expect(errorOf(() => fileSource({ format: 'csv' })).code).toBe('MISSING_OPTION');
  });
});

describe('filesystem source: invalid UTF-8', () => {
  const line = (text: string): Buffer => Buffer.from(`${text}\n`);
  /** `{"id": <id>, "name": "<prefix><bytes>"}` as raw bytes. */
  const jsonWith = (id: number, bytes: number[], prefix = 'x'): Buffer =>
    Buffer.concat([Buffer.from(`{"id": ${id}, "name": "${prefix}`), Buffer.from(bytes), Buffer.from('"}\n')]);

  it('a line with invalid UTF-8 fails naming the file, the line and the byte offset, never decoding it to U+FFFD', async () => {
    const dir = tmp();
    const file = join(dir, 'bad.json');
    const first = line('{"id": 1, "name": "Zoë €uro 😀"}');
    const bad = jsonWith(2, [0xff]);
    writeFileSync(file, Buffer.concat([first, bad, line('{"id": 3}')]));
    const e = await readAll({ path: file, format: 'json' }).then(
      () => undefined,
      (x: Error & { code?: string }) => x,
    );
    expect(e?.code).toBe('MALFORMED_RECORD');
    const offset = first.length + bad.indexOf(0xff);
    expect(e?.message).toBe(`malformed JSON in ${file} line 2: invalid UTF-8 at byte offset ${offset}`);
  });

  it('rejects every ill-formed sequence (truncated, overlong, surrogate, above U+10FFFF) and accepts the boundary cases', async () => {
    const dir = tmp();
    const bad: [string, number[]][] = [
      ['lone continuation', [0x80]],
      ['truncated 2-byte', [0xc3]],
      ['truncated 3-byte', [0xe2, 0x82]],
      ['overlong /', [0xc0, 0xaf]],
      ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
      ['surrogate', [0xed, 0xa0, 0x80]],
      ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['invalid lead', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ];
    for (const [what, bytes] of bad) {
      const file = join(dir, `bad-${bad.findIndex((b) => b[0] === what)}.json`);
      const before = line('{"id": 0}');
      const rec = jsonWith(1, bytes, 'ok ');
      writeFileSync(file, Buffer.concat([before, rec]));
      const e = await readAll({ path: file, format: 'json' }).then(
        () => undefined,
        (x: Error) => x,
      );
      expect(e?.message, what).toBe(`malformed JSON in ${file} line 2: invalid UTF-8 at byte offset ${before.length + rec.indexOf(Buffer.from(bytes))}`);
    }
    // the extremes of each length are valid: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF
    const good = ['\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}'];
    writeFileSync(join(dir, 'good.txt'), good.map((g, i) => JSON.stringify({ id: i, name: g })).join('\n'));
    expect(await readAll({ path: join(dir, 'good.txt'), format: 'json' }, ['name'])).toEqual(good.map((g) => [g]));
  });

  it('skips and counts such lines with json.ignore-parse-errors / csv.ignore-parse-errors', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.json'), Buffer.concat([line('{"id": 1, "name": "é"}'), jsonWith(2, [0xc3, 0x28]), line('{"id": 3, "name": "€"}')]));
    const counters: Record<string, number> = {};
    expect(await readAll({ path: dir, format: 'json', 'json.ignore-parse-errors': 'true' }, ['id', 'name'], counters)).toEqual([
      [1, 'é'],
      [3, '€'],
    ]);
    expect(counters['parse-errors-skipped']).toBe(1);

    const csvDir = tmp();
    const file = join(csvDir, 'a.csv');
    const ok = line('1,Zoë,1,,,');
    writeFileSync(file, Buffer.concat([ok, Buffer.from('2,'), Buffer.from([0xe9]), Buffer.from(',2,,,\n'), line('3,c,3,,,')]));
    const e = await readAll({ path: file, format: 'csv' }).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).toBe(`malformed CSV in ${file} line 2: invalid UTF-8 at byte offset ${ok.length + 2}`);
    const csvCounters: Record<string, number> = {};
    expect(await readAll({ path: file, format: 'csv', 'csv.ignore-parse-errors': 'true' }, ['id', 'name'], csvCounters)).toEqual([
      [1, 'Zoë'],
      [3, 'c'],
    ]);
    expect(csvCounters['parse-errors-skipped']).toBe(1);
  });

  it('in a large file: multi-byte characters across chunk boundaries are fine, and a bad byte deep inside is found at its offset', async () => {
    const dir = tmp();
    // ~2.3 MiB of lines full of 2-, 3- and 4-byte characters: the 1 MiB chunks split characters
    const lines = Array.from({ length: 30_000 }, (_, i) => `${JSON.stringify({ id: i, name: `é€😀-${i}`.repeat(4) })}\n`);
    const good = Buffer.from(lines.join(''));
    expect(good.length).toBeGreaterThan(2 << 20);
    writeFileSync(join(dir, 'big.json'), good);
    const rows = await readAll({ path: dir, format: 'json' }, ['id', 'name']);
    expect(rows).toHaveLength(30_000);
    expect(rows[29_999]).toEqual([29_999, 'é€😀-29999'.repeat(4)]);

    // one byte of one 3-byte character in line 25,001 broken (past the second chunk)
    const lineStart = Buffer.from(lines.slice(0, 25_000).join('')).length;
    const at = lineStart + Buffer.from(lines[25_000]).indexOf(Buffer.from('€')) + 1;
    const broken = Buffer.from(good);
    broken[at] = 0x41; // the continuation byte becomes 'A'
    writeFileSync(join(dir, 'big.json'), broken);
    const e = await readAll({ path: dir, format: 'json' }).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).toBe(`malformed JSON in ${join(dir, 'big.json')} line 25001: invalid UTF-8 at byte offset ${at - 1}`);
  });
});
