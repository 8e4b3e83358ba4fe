/**
 * A pgoutput (protocol version 1) decoder for pg-logical-replication's LogicalReplicationService.
 * Unlike the package's own parser it keeps every value as PostgreSQL's text (so weir converts it
 * to its own types exactly, not through pg's Date/number parsers), keeps tuples as arrays in
 * relation column order, and marks unchanged TOASTed values explicitly instead of leaving
 * `undefined` in their place.
 */
import type { Client } from 'pg';
import { readLsn, type Lsn } from './lsn.js';

/** A TOASTed value the UPDATE did not change: pgoutput sends no value for it. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');
export type TupleValue = string | null | typeof UNCHANGED_TOAST;
export type Tuple = TupleValue[];

export interface RelationColumn {
  readonly name: string;
  readonly isKey: boolean;
  readonly typeOid: number;
  /** atttypmod: e.g. varchar(n) and numeric(p, s) carry their length / precision here. */
  readonly typeMod: number;
}

export interface RelationMessage {
  readonly tag: 'relation';
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  readonly columns: readonly RelationColumn[];
}

export type PgOutputMessage =
  /** `commitTime`: the commit's time in epoch milliseconds. */
  | { readonly tag: 'begin'; readonly commitLsn: Lsn; readonly commitTime: number; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: Lsn; readonly endLsn: Lsn }
  | RelationMessage
  | { readonly tag: 'insert'; readonly oid: number; readonly after: Tuple }
  | { readonly tag: 'update'; readonly oid: number; readonly before: Tuple | null; readonly beforeIsKey: boolean; readonly after: Tuple }
  | { readonly tag: 'delete'; readonly oid: number; readonly before: Tuple; readonly beforeIsKey: boolean }
  | { readonly tag: 'truncate'; readonly oids: readonly number[] }
  | { readonly tag: 'message'; readonly lsn: Lsn; readonly prefix: string; readonly transactional: boolean }
  | { readonly tag: 'other' };

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

const IDENTITY: Record<number, RelationMessage['replicaIdentity']> = { 100: 'default', 110: 'nothing', 102: 'full', 105: 'index' };

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf[this.pos++];
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  lsn(): Lsn {
    const v = readLsn(this.buf, this.pos);
    this.pos += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  tuple(): Tuple {
    const n = this.i16();
    const out: Tuple = new Array(n);
    for (let i = 0; i < n; i++) {
      const kind = this.u8();
      if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
        const len = this.i32();
        out[i] = this.buf.toString('utf8', this.pos, this.pos + len);
        this.pos += len;
      } else if (kind === 0x6e /* n */) out[i] = null;
      else if (kind === 0x75 /* u */) out[i] = UNCHANGED_TOAST;
      else throw new Error(`pgoutput: unknown tuple value kind ${kind}`);
    }
    return out;
  }
}

export function decodePgOutput(buf: Buffer): PgOutputMessage {
  const r = new Reader(buf);
  const tag = r.u8();
  switch (tag) {
    case 0x42 /* B */:
      {
        const commitLsn = r.lsn();
        // Microseconds since 2000-01-01 UTC.
        const commitTime = Number(buf.readBigInt64BE(r.pos) / 1000n) + PG_EPOCH_MS;
        r.pos += 8;
        return { tag: 'begin', commitLsn, commitTime, xid: r.i32() };
      }
    case 0x43 /* C */:
      {
        r.u8();
        const commitLsn = r.lsn();
        return { tag: 'commit', commitLsn, endLsn: r.lsn() };
      }
    case 0x52 /* R */:
      {
        const oid = r.i32();
        const schema = r.cstring();
        const name = r.cstring();
        const replicaIdentity = IDENTITY[r.u8()] ?? 'default';
        const n = r.i16();
        const columns: RelationColumn[] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.u8();
          const colName = r.cstring();
          const typeOid = r.i32();
          const typeMod = r.i32();
          columns.push({ name: colName, isKey: (flags & 1) === 1, typeOid, typeMod });
        }
        return { tag: 'relation', oid, schema, name, replicaIdentity, columns };
      }
    case 0x49 /* I */:
      {
        const oid = r.i32();
        r.u8(); // 'N'
        return { tag: 'insert', oid, after: r.tuple() };
      }
    case 0x55 /* U */:
      {
        const oid = r.i32();
        const sub = r.u8();
        if (sub === 0x4e /* N */) return { tag: 'update', oid, before: null, beforeIsKey: false, after: r.tuple() };
        const before = r.tuple();
        r.u8(); // 'N'
        return { tag: 'update', oid, before, beforeIsKey: sub === 0x4b /* K */, after: r.tuple() };
      }
    case 0x44 /* D */:
      {
        const oid = r.i32();
        const sub = r.u8();
        return { tag: 'delete', oid, before: r.tuple(), beforeIsKey: sub === 0x4b };
      }
    case 0x54 /* T */:
      {
        const n = r.i32();
        r.u8();
        const oids: number[] = [];
        for (let i = 0; i < n; i++) oids.push(r.i32());
        return { tag: 'truncate', oids };
      }
    case 0x4d /* M */:
      {
        const flags = r.u8();
        const lsn = r.lsn();
        return { tag: 'message', lsn, prefix: r.cstring(), transactional: (flags & 1) === 1 };
      }
    default:
      return { tag: 'other' };
  }
}

/** Satisfies pg-logical-replication's AbstractPlugin (which its index does not export). */
export class PgOutputDecoder {
  constructor(readonly options: { publication: string }) {}

  get name(): string {
    return 'pgoutput';
  }

  parse(buffer: Buffer): PgOutputMessage {
    return decodePgOutput(buffer);
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    const pub = this.options.publication.replace(/"/g, '""');
    return client.query(`START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} (proto_version '1', publication_names '"${pub}"', messages 'true')`);
  }
}
