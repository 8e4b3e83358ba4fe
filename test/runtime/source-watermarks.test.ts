import { describe, expect, it } from 'vitest';
import type { Channel } from '../../src/runtime/channel.js';
import { insertBatch, type ChangeBatch } from '../../src/model/changelog.js';
import { InputGate } from '../../src/runtime/input-gate.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { SourceWatermarks, unwrapPositions } from '../../src/runtime/source-watermarks.js';
import type { SourceWatermarkSpec } from '../../src/runtime/watermark.js';

/** Watermark = the largest value of column 0 minus 5. */
function spec(idleTimeoutMs = 0): SourceWatermarkSpec {
  return {
    idleTimeoutMs,
    description: 'test',
    createExtractor: () => (b: ChangeBatch) => Math.max(...(b.columns[0] as number[])) - 5,
  };
}
const rows = (...ts: number[]): ChangeBatch => insertBatch([ts], ts.length);
const pos = (id: string, position: number, finished = false): SplitPosition => ({ split: { id }, position, ...(finished ? { finished } : {}) });

describe('SourceWatermarks (per-split watermarks in a source task)', () => {
  it('emits the minimum over its splits, only when it advanced, attributing batches by the split whose position moved', () => {
    const w = new SourceWatermarks(spec(), new Map(), [pos('a', 0), pos('b', 0)]);
    w.onBatch(rows(100, 120), [pos('a', 2), pos('b', 0)]);
    expect(w.poll()).toBeUndefined(); // split b has no rows yet: it holds the watermark back
    w.onBatch(rows(50), [pos('a', 2), pos('b', 1)]);
    expect(w.poll()).toBe(45);
    w.onBatch(rows(40), [pos('a', 2), pos('b', 2)]); // older rows do not move a split back
    expect(w.poll()).toBeUndefined();
    w.onBatch(rows(200), [pos('a', 2), pos('b', 3)]);
    expect(w.poll()).toBe(115);
  });

  it('finished splits do not hold the watermark back', () => {
    const w = new SourceWatermarks(spec(), new Map(), [pos('a', 0), pos('b', 0)]);
    w.onBatch(rows(100), [pos('a', 1), pos('b', 0, true)]);
    expect(w.poll()).toBe(95);
  });

  it('an idle split (no rows for the timeout) is left out; all idle marks the subtask idle once', () => {
    let now = 0;
    const w = new SourceWatermarks(spec(1000), new Map(), [pos('a', 0), pos('b', 0)], () => now);
    w.onBatch(rows(100), [pos('a', 1), pos('b', 0)]);
    expect(w.poll()).toBeUndefined();
    now = 500;
    w.onBatch(rows(110), [pos('a', 2), pos('b', 0)]);
    now = 1000; // b had no rows since the start: idle
    expect(w.poll()).toBe(105);
    now = 1600; // a idle too
    expect(w.poll()).toBe('idle');
    expect(w.poll()).toBeUndefined();
    w.onBatch(rows(300), [pos('a', 2), pos('b', 1)]);
    expect(w.poll()).toBe(295);
  });

  it('a subtask without splits is idle after the timeout (it would hold every window back otherwise)', () => {
    let now = 0;
    const w = new SourceWatermarks(spec(1000), new Map(), [], () => now);
    expect(w.poll()).toBeUndefined();
    now = 1000;
    expect(w.poll()).toBe('idle');
    const never = new SourceWatermarks(spec(0), new Map(), [], () => now);
    now = 1e9;
    expect(never.poll()).toBeUndefined();
  });

  it('split watermarks travel inside the checkpointed positions and restore', () => {
    const w = new SourceWatermarks(spec(), new Map(), [pos('a', 0), pos('b', 0)]);
    w.onBatch(rows(100), [pos('a', 7), pos('b', 0)]);
    const wrapped = w.wrap([pos('a', 7), pos('b', 0)]);
    const json = JSON.parse(JSON.stringify(wrapped)) as SplitPosition[];
    const { positions, watermarks } = unwrapPositions(json);
    expect(positions).toEqual([pos('a', 7), pos('b', 0)]);
    expect([...watermarks]).toEqual([['a', 95]]);
    const restored = new SourceWatermarks(spec(), watermarks, positions);
    restored.onBatch(rows(60), [pos('a', 7), pos('b', 1)]);
    expect(restored.poll()).toBe(55);
    // Positions written without watermarks pass through unchanged.
    expect(unwrapPositions([pos('c', 3)]).positions).toEqual([pos('c', 3)]);
  });
});

describe('InputGate watermarks with idle channels', () => {
  const chan = (): Channel => ({ poll: () => undefined }) as unknown as Channel;

  it('leaves idle channels out of the minimum until they send again', () => {
    const gate = new InputGate(
      [
        { channel: chan(), input: 0 },
        { channel: chan(), input: 0 },
      ],
      true,
    );
    expect(gate.onWatermark(0, 100)).toBeUndefined();
    expect(gate.onIdle(1)).toBe(100);
    expect(gate.allIdle).toBe(false);
    expect(gate.onWatermark(0, 150)).toBe(150);
    gate.markActive(1);
    expect(gate.onWatermark(0, 200)).toBeUndefined(); // channel 1 counts again (at -Infinity)
    expect(gate.onWatermark(1, 180)).toBe(180);
    gate.onIdle(0);
    gate.onIdle(1);
    expect(gate.allIdle).toBe(true);
  });
});
