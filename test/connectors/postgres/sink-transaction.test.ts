import { describe, expect, it } from 'vitest';
import { SinkTransaction, type PgCommittable } from '../../../connectors/postgres/sink-transaction.js';

const committable = (gid: string | null, rows: number): PgCommittable => ({ gid, job: 'j', uid: 'u', subtask: 0, checkpointId: 7, rows, staged: false });

/** The declared lifecycle of one checkpoint's sink transaction (no server needed). */
describe('postgres sink transaction', () => {
  it('goes idle -> open -> prepared -> committed, carrying the rows written', () => {
    const txn = new SinkTransaction(7);
    expect(txn.state).toBe('idle');
    expect(txn.writable).toBe(true);
    const open = txn.begun();
    expect(txn.open).toBe(open);
    expect(open.copy).toBeUndefined();
    txn.wrote(3);
    txn.wrote(2);
    expect(txn.rows).toBe(5);
    txn.prepared(committable('g', 5));
    expect(txn.state).toBe('prepared');
    expect(txn.writable).toBe(false);
    txn.committed();
    expect(txn.state).toBe('committed');
  });

  it('keeps rows written while idle (at-least-once) and prepares nothing from idle', () => {
    const txn = new SinkTransaction(7);
    txn.wrote(4);
    expect(txn.rows).toBe(4);
    txn.prepared(committable(null, 4));
    expect(txn.state).toBe('prepared');
  });

  it('rolls back an open or a prepared transaction', () => {
    const open = new SinkTransaction(7);
    open.begun();
    open.rolledBack();
    expect(open.state).toBe('rolled-back');
    const prepared = new SinkTransaction(8);
    prepared.begun();
    prepared.prepared(committable('g', 0));
    prepared.rolledBack();
    expect(prepared.state).toBe('rolled-back');
  });

  it('fails loudly on a transition the table does not declare, and on rows for a prepared transaction', () => {
    const txn = new SinkTransaction(7);
    expect(() => txn.committed()).toThrow('sink transaction state idle -> committed is not allowed (checkpoint 7)');
    expect(() => txn.rolledBack()).toThrow('idle -> rolled-back is not allowed');
    expect(() => txn.open).toThrow('is idle, not open');
    txn.begun();
    expect(() => txn.begun()).toThrow('open -> open is not allowed');
    txn.prepared(committable('g', 0));
    expect(() => txn.wrote(1)).toThrow('the sink transaction of checkpoint 7 is prepared: it takes no more rows');
    expect(() => txn.begun()).toThrow('is prepared: it takes no more rows');
    txn.committed();
    expect(() => txn.rolledBack()).toThrow('committed -> rolled-back is not allowed');
    expect(txn.state).toBe('committed');
  });
});
