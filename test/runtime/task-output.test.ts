import { describe, expect, it } from 'vitest';
import { insertBatch, rowAt } from '../../src/model/changelog.js';
import { Channel, Signal } from '../../src/runtime/channel.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { TaskOutput, splitByHash } from '../../src/runtime/task-output.js';

describe('task output', () => {
  it('splits a batch by key hash, keeping row order and kinds per target', () => {
    const n = 500;
    const ids = Array.from({ length: n }, (_, i) => i);
    const names = ids.map((i) => `n${i % 37}`);
    const batch = { size: n, kinds: Uint8Array.from(ids.map((i) => i % 4)), columns: [ids, names] };
    const parts = splitByHash(batch, [1], 4);
    let total = 0;
    for (const [t, part] of parts.entries()) {
      if (!part) continue;
      total += part.size;
      for (let i = 0; i < part.size; i++) {
        expect(subtaskOfHash(hashRow(part.columns, i, [1]), 4)).toBe(t);
        const [id] = rowAt(part, i) as number[];
        expect(part.kinds[i]).toBe(id % 4);
        if (i > 0) expect(id).toBeGreaterThan(part.columns[0][i - 1] as number);
      }
    }
    expect(total).toBe(n);
    // a batch whose rows all go to one target is passed on as it is
    const one = insertBatch([[1, 1, 1]], 3);
    expect(splitByHash(one, [0], 4).filter(Boolean)).toEqual([one]);
  });

  it('rebalances batches round-robin, broadcasts control elements, and reports full channels', async () => {
    const sig = new Signal();
    const chans = [new Channel(2, sig, 'a'), new Channel(2, sig, 'b')];
    const out = new TaskOutput([{ partitioning: { kind: 'rebalance' }, channels: chans }]);
    for (let i = 0; i < 3; i++) out.emit(insertBatch([[i]], 1));
    expect(chans.map((c) => c.size)).toEqual([2, 1]);
    expect(out.hasFull()).toBe(true);
    out.emitWatermark(5);
    out.emitWatermark(4); // never backwards
    expect(chans.map((c) => c.size)).toEqual([3, 2]);
    let writable = false;
    const w = out.waitWritable().then(() => {
      writable = true;
    });
    await Promise.resolve();
    expect(writable).toBe(false);
    chans[0].poll();
    chans[0].poll();
    chans[1].poll();
    await w;
    expect(writable).toBe(true);
  });
});
