/**
 * The window arguments of TUMBLE / HOP / CUMULATE / SESSION (window TVFs and legacy group
 * windows), checked at plan time as Flink checks them (SliceAssigners, SessionWindowAssigner):
 * every interval positive; a HOP's size an integral multiple of its slide, a CUMULATE's max size
 * an integral multiple of its step.
 *
 * weir adds one limit Flink does not have: a row is assigned to at most MAX_WINDOWS_PER_ROW
 * windows (size / slide for HOP, max size / step for CUMULATE). weir's window operators visit a
 * row's windows one by one (Flink slices them instead), so `HOP(..., INTERVAL '1' SECOND,
 * INTERVAL '100000000' SECOND)` would build a hundred million windows for every row and exhaust
 * the heap; it is refused here, with the limit named, before anything runs.
 */
import { intervalMillis } from '../expr/bind.js';
import { userError } from '../errors.js';
import type { Expr, Pos } from '../sql/ir.js';
import type { WindowSpec } from './logical.js';

/** The most windows one row may belong to (HOP: size / slide; CUMULATE: max size / step). */
export const MAX_WINDOWS_PER_ROW = 10_000;

const ARGUMENTS: Readonly<Record<string, readonly string[]>> = {
  TUMBLE: ['size'],
  SESSION: ['gap'],
  HOP: ['slide', 'size'],
  CUMULATE: ['step', 'max size'],
};

const argError = (message: string, pos: Pos): Error => userError('WINDOW_ARGUMENTS', message, { position: pos });

/** Window sizes from the interval arguments of TUMBLE(size), HOP(slide, size), CUMULATE(step, size), SESSION(gap). */
export function windowSpec(fn: string, intervals: readonly Expr[], pos: Pos): WindowSpec {
  const want = ARGUMENTS[fn];
  if (!want) throw userError('SQL_UNSUPPORTED', `${fn} windows are not supported; use TUMBLE, HOP, CUMULATE or SESSION`, { position: pos });
  if (intervals.length === want.length + 1) {
    throw userError('SQL_UNSUPPORTED', `the offset argument of ${fn} is not supported yet`, { position: intervals[want.length]!.pos ?? pos });
  }
  if (intervals.length !== want.length) {
    const what = want.length === 1 ? `a ${want[0]}` : want.join(' and ');
    throw argError(`${fn} takes ${what} as INTERVAL argument${want.length > 1 ? 's' : ''} after the time column, got ${intervals.length}`, pos);
  }
  const ms = intervals.map((e, i) => {
    if (e.kind !== 'interval') throw argError(`the ${want[i]} of ${fn} must be an INTERVAL such as INTERVAL '1' MINUTE`, e.pos ?? pos);
    const v = intervalMillis(e);
    if (!(v > 0)) throw argError(`the ${want[i]} of ${fn} must be a positive interval, got INTERVAL '${e.value}' ${e.unit}`, e.pos ?? pos);
    return v;
  });
  if (fn === 'TUMBLE' || fn === 'SESSION') return { kind: fn, size: ms[0]!, slide: ms[0]! };
  const [slide, size] = ms as [number, number];
  const [slideName, sizeName] = want as [string, string];
  const sizePos = intervals[1]!.pos ?? pos;
  if (size % slide !== 0) {
    throw argError(
      `the ${sizeName} of ${fn} must be an integral multiple of its ${slideName}, but got ${sizeName} ${size} ms and ${slideName} ${slide} ms`,
      sizePos,
    );
  }
  const perRow = size / slide;
  if (perRow > MAX_WINDOWS_PER_ROW) {
    throw argError(
      `${fn} with ${sizeName} ${size} ms and ${slideName} ${slide} ms puts every row into ${perRow} windows; ` +
        `weir allows at most ${MAX_WINDOWS_PER_ROW} windows per row (${sizeName} / ${slideName}): use a larger ${slideName} or a smaller ${sizeName}`,
      sizePos,
    );
  }
  return { kind: fn as 'HOP' | 'CUMULATE', size, slide };
}
