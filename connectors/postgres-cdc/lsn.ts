/**
 * PostgreSQL LSNs as bigints. The server and pg-logical-replication print them in two formats
 * ('0/152F548' and '00000000/0152F658'), so they are never compared as strings.
 */
export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not an LSN: '${text}'`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The 64-bit LSN at `offset` of a replication message. */
export function readLsn(buf: Buffer, offset: number): Lsn {
  return buf.readBigUInt64BE(offset);
}
