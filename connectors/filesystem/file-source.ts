/**
 * The bounded filesystem source: one split per file (a file, or every regular non-hidden file
 * under a folder, sorted). A split's position is the byte offset and line number of the next
 * unread record, so a restore resumes mid-file without re-reading emitted rows.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { insertBatch } from '../../src/model/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { externalError, userError } from '../../src/errors.js';
import { describeOptions } from '../../src/connector/options.js';
import { physicalFields, resolveColumns, type ColumnOrigin } from '../common/columns.js';
import { ConvertError, csvRecordEnd, isParseError, textRowDecoder, type FormatField, type TextRowDecoder } from '../formats/index.js';
import { RecordReader } from './record-reader.js';
import type { FilesystemConfig } from './filesystem-options.js';

const BATCH_SIZE = 1024;
export const FILE_METADATA_KEYS = ['file.path', 'file.name', 'file.size', 'file.modification-time'] as const;

type Split = SplitPosition['split'];

/** Position of a file split: where the next unread record starts. */
interface FilePosition {
  readonly offset: number;
  readonly line: number;
}

const hidden = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

async function listFiles(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (hidden(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export class FileSource implements Source {
  readonly bounded = true;
  private readonly columns: ColumnOrigin[];

  constructor(
    private readonly table: TableDef,
    schema: Schema,
    private readonly config: FilesystemConfig,
  ) {
    if (config.format === 'parquet') {
      throw userError('INVALID_OPTION', `table '${table.name}': the filesystem source reads format 'json' or 'csv', not 'parquet'`, {
        position: table.optionPositions.format ?? table.pos,
        details: { table: table.name, option: 'format' },
      });
    }
    this.columns = resolveColumns(table, schema, 'filesystem', FILE_METADATA_KEYS);
  }

  async enumerate(_parallelism: number, restored: readonly SplitPosition[]): Promise<Split[]> {
    if (restored.length > 0) return restored.map((r) => r.split);
    const path = this.config.path;
    let st;
    try {
      st = await stat(path);
    } catch {
      throw userError('PATH_NOT_FOUND', `table '${this.table.name}': path '${path}' does not exist`, {
        position: this.table.optionPositions.path ?? this.table.pos,
        details: { table: this.table.name, option: 'path' },
      });
    }
    const files: string[] = [];
    if (st.isDirectory()) {
      try {
        await listFiles(path, files);
      } catch (e) {
        throw externalError('FILE_READ', `cannot list '${path}': ${(e as Error).message}`, { cause: e });
      }
    } else {
      files.push(path);
    }
    return files.map((f) => ({ id: f }));
  }

  createReader(ctx: SourceContext): SourceReader {
    return new FileReader(this.config, this.columns, ctx, physicalFields(this.table).length);
  }

  describe(): string {
    return `filesystem(${describeOptions(this.table)})`;
  }
}

interface FileSplitState {
  readonly path: string;
  position: FilePosition;
  finished: boolean;
}

class FileReader implements SourceReader {
  private splits: FileSplitState[] = [];
  private current: { state: FileSplitState; reader: RecordReader; meta: unknown[] } | undefined;
  /** The format's decoder (connectors/formats), filling the physical columns of a row. */
  private readonly decoder: TextRowDecoder;
  /** Column arrays of the batch being built; row `n` is the next to fill. */
  private cols: unknown[][] = [];
  private n = 0;

  constructor(
    private readonly config: FilesystemConfig,
    private readonly columns: readonly ColumnOrigin[],
    private readonly ctx: SourceContext,
    /** Fields per CSV record: all physical columns of the table, whatever the projection. */
    physicalCount: number,
  ) {
    const fields: FormatField[] = [];
    columns.forEach((c, column) => {
      if (c.kind === 'physical') fields.push({ field: c.field, position: c.index, column });
    });
    const format = config.format === 'csv' ? 'csv' : 'json';
    this.decoder = textRowDecoder(format, fields, physicalCount, {
      ignoreParseErrors: config.ignoreParseErrors,
      failOnMissingField: config.failOnMissingField,
      csvDelimiter: config.csv.delimiter,
      csvQuote: config.csv.quote,
      csvNullLiteral: config.csv.nullLiteral,
    });
  }

  async assign(splits: readonly Split[], restored: readonly SplitPosition[]): Promise<void> {
    const byId = new Map(restored.map((r) => [r.split.id, r]));
    for (const s of splits) {
      const r = byId.get(s.id);
      const p = r?.position as Partial<FilePosition> | null | undefined;
      this.splits.push({
        path: s.id,
        position: { offset: typeof p?.offset === 'number' ? p.offset : 0, line: typeof p?.line === 'number' ? p.line : 1 },
        finished: r?.finished === true,
      });
    }
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    try {
      return await this.pollFiles();
    } catch (e) {
      await this.close().catch(() => undefined);
      throw e;
    }
  }

  private async pollFiles(): Promise<ChangeBatch | 'end'> {
    for (;;) {
      if (!this.current) {
        const state = this.splits.find((s) => !s.finished);
        if (!state) return 'end';
        await this.openSplit(state);
      }
      const cur = this.current!;
      this.startBatch();
      for (;;) {
        const r = cur.reader.nextSync();
        if (r === true) {
          this.addRecord(cur.reader, cur.meta);
          if (this.n >= BATCH_SIZE) break;
        } else if (r === 'need-data') {
          if (this.n > 0) break; // emit what we have; read more on the next poll
          await cur.reader.fill();
        } else {
          cur.state.finished = true;
          await cur.reader.close();
          this.current = undefined;
          break;
        }
      }
      cur.state.position = { offset: cur.reader.offset, line: cur.reader.line };
      if (this.n > 0) {
        for (const col of this.cols) col.length = this.n;
        return insertBatch(this.cols, this.n);
      }
    }
  }

  private async openSplit(state: FileSplitState): Promise<void> {
    const quote = this.config.format === 'csv' && this.config.csv.quote !== undefined ? this.config.csv.quote.charCodeAt(0) : -1;
    const reader = new RecordReader(state.path, state.position.offset, state.position.line, (b, s, e) => csvRecordEnd(b, s, e, quote));
    await reader.open();
    const meta: unknown[] = [];
    if (this.columns.some((c) => c.kind === 'metadata')) {
      const st = await stat(state.path);
      for (const c of this.columns) {
        if (c.kind !== 'metadata') continue;
        meta.push(c.key === 'file.path' ? state.path : c.key === 'file.name' ? basename(state.path) : c.key === 'file.size' ? st.size : Math.floor(st.mtimeMs));
      }
    }
    this.current = { state, reader, meta };
  }

  private startBatch(): void {
    this.cols = new Array(this.columns.length);
    for (let c = 0; c < this.columns.length; c++) this.cols[c] = new Array(BATCH_SIZE);
    this.n = 0;
  }

  /** Parses the reader's current record into row `n`; a bad record fails the job or is skipped. */
  private addRecord(reader: RecordReader, meta: readonly unknown[]): void {
    try {
      // Decoding would have turned the bytes into U+FFFD silently: the record is malformed.
      if (reader.badByte >= 0) throw new ConvertError(`invalid UTF-8 at byte offset ${reader.badByte}`);
      if (this.config.format === 'csv' && this.config.csv.allowComments && reader.text.startsWith('#')) return;
      this.decoder.decodeText(reader.text, this.cols, this.n);
    } catch (e) {
      if (!isParseError(e)) throw e;
      if (this.config.ignoreParseErrors) {
        this.ctx.inc('parse-errors-skipped');
        return;
      }
      const what = this.config.format === 'json' ? 'JSON' : 'CSV';
      throw userError('MALFORMED_RECORD', `malformed ${what} in ${reader.path} line ${reader.recordLine}: ${e.message}`, {
        details: { file: reader.path, line: reader.recordLine },
      });
    }
    let m = 0;
    for (let c = 0; c < this.columns.length; c++) if (this.columns[c].kind === 'metadata') this.cols[c][this.n] = meta[m++];
    this.n++;
  }

  positions(): SplitPosition[] {
    return this.splits.map((s) => ({
      split: { id: s.path },
      position: { offset: s.position.offset, line: s.position.line },
      ...(s.finished ? { finished: true } : {}),
    }));
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {
    await this.current?.reader.close();
    this.current = undefined;
  }
}
