import { describe, expect, it } from 'vitest';
import { SlotAcks } from '../../../connectors/postgres-cdc/cdc-ack.js';
import { formatLsn } from '../../../connectors/postgres-cdc/lsn.js';
import { StreamPosition } from '../../../connectors/postgres-cdc/stream-position.js';

describe('slot acknowledgement', () => {
  it('acknowledges nothing before a checkpoint completes, then lsn - 1 of the completed one (pg-logical-replication reports lsn + 1)', () => {
    const acks = new SlotAcks(1);
    acks.capture(0x100n);
    expect(acks.status()).toBeUndefined();
    expect(acks.complete()).toBe(true);
    expect(acks.status()).toBe(formatLsn(0xffn));
    // a completion without a capture since the last one moves nothing
    expect(acks.complete()).toBe(false);
    expect(acks.status()).toBe(formatLsn(0xffn));
  });

  it('keeps the oldest of the last N completed checkpoints restorable, and records them in the position', () => {
    const acks = new SlotAcks(3);
    for (const lsn of [0x100n, 0x200n, 0x300n, 0x400n]) {
      acks.capture(lsn);
      acks.complete();
    }
    expect(acks.status()).toBe(formatLsn(0x1ffn));
    expect(acks.completedJson()).toEqual([0x200n, 0x300n, 0x400n].map(formatLsn));
  });

  it('a restored job acknowledges no further than the oldest checkpoint retained with it, nor behind the slot', () => {
    const acks = new SlotAcks(3);
    acks.startAt(0x180n);
    acks.restore([formatLsn(0x100n), formatLsn(0x200n)], 0x300n);
    acks.capture(0x400n);
    expect(acks.complete()).toBe(true);
    expect(acks.status()).toBe(formatLsn(0x1ffn));
    const behind = new SlotAcks(3);
    behind.startAt(0x500n);
    behind.restore([formatLsn(0x100n)], 0x200n);
    behind.capture(0x300n);
    expect(behind.complete()).toBe(false);
    expect(behind.status()).toBe(formatLsn(0x4ffn));
  });
});

describe('stream position', () => {
  it('skips what a restored position already emitted: whole transactions before lsn, the first n changes of a partial one', () => {
    const p = new StreamPosition();
    p.restore(formatLsn(0x200n), { commit: formatLsn(0x300n), n: 2 });
    p.begin(0x100n);
    expect(p.change()).toBeUndefined();
    p.commit(0x180n);
    expect(p.lsn).toBe(0x200n);
    p.begin(0x300n);
    expect([p.change(), p.change(), p.change()]).toEqual([undefined, undefined, 0x300n]);
    expect(p.inTransaction).toBe(true);
    p.reached(0x900n); // a keepalive inside a transaction does not move the position
    p.commit(0x380n);
    expect(p.lsn).toBe(0x380n);
    const json = {};
    p.toJson(json);
    expect(json).toEqual({ lsn: formatLsn(0x380n) });
    p.reached(0x400n);
    expect(p.lsn).toBe(0x400n);
  });
});
