/**
 * The source conformance suite against the connectors that need no external service: datagen,
 * nexmark and filesystem (CSV and JSON lines, a folder of several files read by two subtasks).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DatagenSource } from '../../connectors/datagen/datagen-source.js';
import { filesystemConnector } from '../../connectors/filesystem/index.js';
import { nexmarkConnector } from '../../connectors/nexmark/index.js';
import { type } from '../../src/model/types.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { makeTable } from '../connectors/table-helper.js';
import { tempDir } from '../support/temp-dirs.js';
import { runSourceConformance, type Row } from './conformance/source-suite.js';

const BASE_TIME = Date.UTC(2024, 0, 1);

// datagen: 2 subtasks, 5,000 rows in batches of 1,024; every value a pure function of the row.
const DATAGEN_COLS = [
  ['id', type('BIGINT', false)],
  ['qty', type('INT')],
  ['name', type('VARCHAR', true, 12)],
  ['price', type('DECIMAL', true, 10, 2)],
  ['ts', type('TIMESTAMP', true, 3)],
] as const;
const datagenTable = makeTable('gen', DATAGEN_COLS, {
  connector: 'datagen',
  // Unthrottled: a throttled batch's size depends on the clock, so the order would not be comparable.
  'rows-per-second': '100000000',
  'number-of-rows': '5000',
  'fields.id.kind': 'sequence',
  'fields.id.start': '1',
  'fields.id.end': '5000',
  'fields.qty.null-rate': '0.1',
});

runSourceConformance('datagen', {
  source: () => new DatagenSource(datagenTable, datagenTable.schema, () => BASE_TIME),
  parallelism: 2,
  ordered: true,
  verify: (rows: readonly Row[]) =>
    expect(rows.map((r) => r[1]).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1)),
});

// nexmark: the bid stream of 20,000 events (18,400 bids) over 3 subtasks.
const BID_COLS = [
  ['auction', type('BIGINT')],
  ['bidder', type('BIGINT')],
  ['price', type('BIGINT')],
  ['channel', type('STRING')],
  ['dateTime', type('TIMESTAMP', true, 3)],
] as const;
const bidTable = makeTable('bid', BID_COLS, { connector: 'nexmark', table: 'bid', 'events.num': '20000', tps: '1000' });

runSourceConformance('nexmark (bid)', {
  source: () => nexmarkConnector.createSource!(bidTable, bidTable.schema),
  parallelism: 3,
  ordered: true,
  verify: (rows) => expect(rows).toHaveLength(18_400),
});

// filesystem: a folder of 3 files (2,500 + 1,300 + 3,000 records) read by 2 subtasks, so one reader
// has two splits; records with quotes, embedded newlines and NULLs.
const FILE_COLS = [
  ['id', type('BIGINT', false)],
  ['name', type('STRING')],
  ['amount', type('DECIMAL', true, 10, 2)],
] as const;
const FILE_SIZES = [2500, 1300, 3000];

function fileRows(file: number): { id: number; name: string | null; amount: string | null }[] {
  return Array.from({ length: FILE_SIZES[file] }, (_, i) => {
    const id = file * 10_000 + i;
    return {
      id,
      name: i % 11 === 0 ? null : i % 5 === 0 ? `line\n"${id}", quoted` : `n${id}`,
      amount: i % 13 === 0 ? null : `${i % 7 === 0 ? '-' : ''}${i}.${String(i % 100).padStart(2, '0')}`,
    };
  });
}

function csvField(v: string | null): string {
  if (v === null) return '';
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

let folders: Record<'csv' | 'json', string> | undefined;
function folder(format: 'csv' | 'json'): string {
  if (folders === undefined) {
    const csv = tempDir('src-conf-csv');
    const json = tempDir('src-conf-json');
    FILE_SIZES.forEach((_, f) => {
      const rows = fileRows(f);
      writeFileSync(join(csv, `part-${f}.csv`), `${rows.map((r) => [String(r.id), csvField(r.name), csvField(r.amount)].join(',')).join('\n')}\n`);
      writeFileSync(
        join(json, `part-${f}.json`),
        `${rows.map((r) => JSON.stringify({ id: r.id, name: r.name, amount: r.amount === null ? null : Number(r.amount) })).join('\n')}\n`,
      );
    });
    folders = { csv, json };
  }
  return folders[format];
}

const insideFile = (p: SplitPosition): boolean => p.finished !== true && ((p.position as { offset?: number }).offset ?? 0) > 0;

for (const format of ['csv', 'json'] as const) {
  runSourceConformance(`filesystem (${format}, 3 files, 2 subtasks)`, {
    source: () => {
      const t = makeTable('files', FILE_COLS, { connector: 'filesystem', path: folder(format), format });
      return filesystemConnector.createSource!(t, t.schema);
    },
    parallelism: 2,
    // Not ordered: a restore hands the files out again in checkpoint order (split j to subtask j % p).
    midUnit: insideFile,
    verify: (rows) => {
      expect(rows).toHaveLength(FILE_SIZES.reduce((a, b) => a + b, 0));
      expect(rows.filter((r) => r[2] === null)).toHaveLength(FILE_SIZES.reduce((a, n) => a + Math.ceil(n / 11), 0));
    },
  });
}
