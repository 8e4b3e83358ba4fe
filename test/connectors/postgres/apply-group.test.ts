import { describe, expect, it } from 'vitest';
import { joinApplyGroup, liveSinkUids, registerLiveSink } from '../../../connectors/postgres/apply-group.js';

/** The in-process coordinator of one sink operator's subtasks (no server needed). */
describe('postgres sink apply group', () => {
  let n = 0;
  const key = () => `test-${++n}`;

  it('applies checkpoint n once, in the call of the last subtask to commit it, and in order', async () => {
    const g = joinApplyGroup(key(), 3);
    const applied: number[] = [];
    const apply = (id: number) => async () => void applied.push(id);
    await g.checkpointComplete(0, 1, apply(1));
    await g.checkpointComplete(2, 1, apply(1));
    expect(applied).toEqual([]);
    await g.checkpointComplete(0, 2, apply(2));
    await g.checkpointComplete(1, 1, apply(1));
    expect(applied).toEqual([1]);
    // A subtask notified twice for the same checkpoint still counts once.
    await g.checkpointComplete(0, 2, apply(2));
    await g.checkpointComplete(1, 2, apply(2));
    expect(applied).toEqual([1]);
    await g.checkpointComplete(2, 2, apply(2));
    expect(applied).toEqual([1, 2]);
  });

  it('releases a recovery only when every subtask arrived, after the last one applied', async () => {
    const g = joinApplyGroup(key(), 2);
    const events: string[] = [];
    const first = g.recovered(0, 5, async () => void events.push('apply by 0')).then(() => events.push('0 released'));
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual([]);
    const second = g.recovered(1, 5, async () => void events.push('apply by 1')).then(() => events.push('1 released'));
    await Promise.all([first, second]);
    expect(events.slice(0, 1)).toEqual(['apply by 1']);
    expect(events.slice(1).sort()).toEqual(['0 released', '1 released']);
  });

  it('fails the waiting subtasks when the apply fails, a subtask leaves without arriving, or the wait times out', async () => {
    const g = joinApplyGroup(key(), 2);
    const failing = g.recovered(0, 3, async () => undefined);
    const last = g.recovered(1, 3, async () => {
      throw new Error('apply failed');
    });
    await expect(failing).rejects.toThrow('apply failed');
    await expect(last).rejects.toThrow('apply failed');

    const h = joinApplyGroup(key(), 3);
    h.join();
    h.join();
    const waiting = h.recovered(0, 7, async () => undefined);
    h.leave(2, false, new Error('subtask 2 closed before it recovered'));
    await expect(waiting).rejects.toThrow('subtask 2 closed');

    const t = joinApplyGroup(key(), 2);
    await expect(t.recovered(0, 1, async () => undefined, 20)).rejects.toThrow(/subtask\(s\) 1 did not recover from checkpoint 1/);
  });

  it('a group is shared by the writers of one sink and replaced when the parallelism changes', () => {
    const k = key();
    const a = joinApplyGroup(k, 2);
    expect(joinApplyGroup(k, 2)).toBe(a);
    expect(joinApplyGroup(k, 3)).not.toBe(a);
  });

  it('tracks the sink operators of a job that have writers in this process', () => {
    const offA = registerLiveSink('job-live', 'a');
    const offA2 = registerLiveSink('job-live', 'a');
    const offB = registerLiveSink('job-live', 'b');
    registerLiveSink('other-job', 'c');
    expect(liveSinkUids('job-live').sort()).toEqual(['a', 'b']);
    offA();
    offA();
    expect(liveSinkUids('job-live').sort()).toEqual(['a', 'b']);
    offA2();
    offB();
    expect(liveSinkUids('job-live')).toEqual([]);
    expect(liveSinkUids('other-job')).toEqual(['c']);
  });
});
