/**
 * Reads a file record by record (a record is a line, or for CSV a line whose quoted fields may
 * contain newlines), in chunks, keeping the byte offset and line number of the next record so a
 * reader can resume exactly there after a restore. Records must be UTF-8: a record with an invalid
 * byte is flagged (`badByte`) rather than decoded into U+FFFD silently, so the reader treats it as
 * malformed.
 */
import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { externalError } from '../../src/errors.js';
import { firstInvalidUtf8 } from '../common/utf8.js';

const CHUNK = 1 << 20;

export class RecordReader {
  private fh: FileHandle | undefined;
  private buf: Buffer = Buffer.alloc(0);
  /** Valid bytes are buf[0..len); buf[0] is at file offset `bufOffset`. */
  private len = 0;
  private bufOffset: number;
  /** Index in buf of the next record. */
  private pos = 0;
  private eof = false;
  /** Line number (1-based) of the next record. */
  line: number;
  /** buf[..checkedTo) is known to be valid UTF-8 from the current record on. */
  private checkedTo = 0;
  /** buf[..checkEach) failed the chunk check: its records are checked one by one. */
  private checkEach = 0;
  /** Set by next(): the record's text (without line end) and its first line number. */
  text = '';
  recordLine = 0;
  /** Set by next(): file offset of the record's first invalid UTF-8 byte, or -1 when it is valid. */
  badByte = -1;

  constructor(
    readonly path: string,
    offset: number,
    line: number,
    /** Finds a record's terminating '\n' in buf[start..end), or -1 (see csvRecordEnd). */
    private readonly findEnd: (buf: Uint8Array, start: number, end: number) => number,
  ) {
    this.bufOffset = offset;
    this.line = line;
  }

  /** File offset of the next unread record. */
  get offset(): number {
    return this.bufOffset + this.pos;
  }

  async open(): Promise<void> {
    try {
      this.fh = await open(this.path, 'r');
    } catch (e) {
      throw externalError('FILE_READ', `cannot open '${this.path}': ${(e as Error).message}`, { cause: e, details: { path: this.path } });
    }
  }

  /**
   * Advances to the next record; false at the end of the file. Only reads from disk when the
   * buffered bytes hold no complete record, so callers can take many records per await.
   */
  nextSync(): boolean | 'need-data' {
    for (;;) {
      if (this.pos >= this.len && this.eof) return false;
      let end = this.findEnd(this.buf, this.pos, this.len);
      let next: number;
      if (end < 0) {
        if (!this.eof) return 'need-data';
        end = this.len;
        next = this.len;
      } else {
        next = end + 1;
      }
      let textEnd = end;
      if (textEnd > this.pos && this.buf[textEnd - 1] === 0x0d) textEnd--;
      let start = this.pos;
      if (this.bufOffset + start === 0 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf) start += 3;
      this.recordLine = this.line;
      let lines = 1;
      for (let i = this.pos; i < end; i++) if (this.buf[i] === 0x0a) lines++;
      this.line += lines;
      this.pos = next;
      if (textEnd <= start) continue; // blank line
      this.badByte = textEnd > this.checkedTo ? this.checkUtf8(start, textEnd) : -1;
      this.text = this.buf.toString('utf8', start, textEnd);
      return true;
    }
  }

  /**
   * Checks buf[start..end) (a record) and returns the file offset of its first invalid byte, or -1.
   * A '\n' never occurs inside a multi-byte sequence, so everything up to the last buffered '\n'
   * is whole characters: one check covers all the records in it, and only a range that fails is
   * re-checked record by record. No per-record work while the data is valid.
   */
  private checkUtf8(start: number, end: number): number {
    if (end > this.checkEach) {
      const upTo = this.eof ? this.len : Math.max(end, this.buf.lastIndexOf(0x0a, this.len - 1));
      if (isUtf8(this.buf.subarray(start, upTo))) {
        this.checkedTo = upTo;
        return -1;
      }
      this.checkEach = upTo;
    }
    const bad = firstInvalidUtf8(this.buf, start, end);
    return bad < 0 ? -1 : this.bufOffset + bad;
  }

  /** Reads the next chunk, keeping the unconsumed tail. */
  async fill(): Promise<void> {
    if (!this.fh) await this.open();
    const tail = this.len - this.pos;
    const size = Math.max(CHUNK, tail * 2);
    const next = size === this.buf.length && this.pos > 0 ? this.buf : Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.pos, this.len);
    this.bufOffset += this.pos;
    this.buf = next;
    this.pos = 0;
    this.len = tail;
    this.checkedTo = 0;
    this.checkEach = 0;
    try {
      const { bytesRead } = await this.fh!.read(this.buf, tail, this.buf.length - tail, this.bufOffset + tail);
      if (bytesRead === 0) this.eof = true;
      this.len += bytesRead;
    } catch (e) {
      throw externalError('FILE_READ', `cannot read '${this.path}': ${(e as Error).message}`, { cause: e, details: { path: this.path } });
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
