/**
 * `COPY ... FROM STDIN` through pg's custom-query hook (an object with `submit(connection)`, as
 * pg-copy-streams does). A CopyInStream stays open while the sink sends more rows, so one COPY
 * statement can carry a whole checkpoint (PostgreSQL charges a fixed cost per statement); `end()`
 * finishes it. pg calls the handlers below for the messages of the active query; an
 * ErrorResponse or a lost connection reaches `handleError`, after which pg never calls this
 * query again and every later call rejects with that error.
 */
import type pg from 'pg';

/** The parts of pg's (untyped) Connection a COPY needs. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
  readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class CopyInStream {
  private connection: PgConnection | undefined;
  private rows = 0;
  private error: Error | undefined;
  private done = false;
  private opened: Waiter | undefined;
  private finished: Waiter | undefined;
  /** Set by pg's client.query(); unused (completion goes through the waiters). */
  callback: unknown;

  private constructor(private readonly text: string) {}

  /** Sends the COPY statement; resolves once the server is ready for data. */
  static open(client: pg.Client, copySql: string): Promise<CopyInStream> {
    const s = new CopyInStream(copySql);
    return new Promise<CopyInStream>((resolve, reject) => {
      s.opened = { resolve: () => resolve(s), reject };
      (client as unknown as { query(q: CopyInStream): void }).query(s);
    });
  }

  /** Sends rows (COPY text); waits when the socket's buffer is full. */
  async write(chunks: readonly Buffer[]): Promise<void> {
    for (const c of chunks) {
      this.check();
      this.connection!.sendCopyFromChunk(c);
      const stream = this.connection!.stream;
      if (stream.writableNeedDrain) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            stream.off('drain', done);
            stream.off('close', done);
            resolve();
          };
          stream.on('drain', done);
          stream.on('close', done);
        });
      }
    }
    this.check();
  }

  /** Ends the data; resolves the rows copied once the server has them all. */
  end(): Promise<number> {
    this.check();
    return new Promise<number>((resolve, reject) => {
      this.finished = { resolve: () => resolve(this.rows), reject };
      this.connection!.endCopyFrom();
    });
  }

  /** Abandons the COPY (the server answers with an error, which is expected here). */
  abort(reason: string): Promise<void> {
    if (this.done || this.error) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.finished = { resolve, reject: () => resolve() };
      this.connection!.sendCopyFail(reason);
    });
  }

  private check(): void {
    if (this.error) throw this.error;
    if (this.done || !this.connection) throw new Error('COPY is not open');
  }

  // ---------------------------------------------------------------- pg's query protocol

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.connection = connection;
    this.opened?.resolve();
    this.opened = undefined;
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rows = Number(m[1]);
  }

  handleReadyForQuery(): void {
    this.done = true;
    this.finished?.resolve();
    this.finished = undefined;
  }

  handleError(err: Error): void {
    // pg clears its active query on an error: no ReadyForQuery reaches this object afterwards.
    this.error = err;
    this.done = true;
    this.opened?.reject(err);
    this.finished?.reject(err);
    this.opened = this.finished = undefined;
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

/** One COPY with `chunks` as its data; resolves the rows copied. */
export async function copyFrom(client: pg.Client, copySql: string, chunks: readonly Buffer[]): Promise<number> {
  const s = await CopyInStream.open(client, copySql);
  await s.write(chunks);
  return s.end();
}
