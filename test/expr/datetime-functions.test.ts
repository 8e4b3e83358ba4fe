import { describe, expect, it } from 'vitest';
import { T, bin, bind, call, col, evaluate, int, interval, str, date } from './helpers.js';
import { formatType } from '../../src/model/types.js';
import type { Expr } from '../../src/sql/ir.js';

const TS = { t: T('TIMESTAMP', true, 3) };
const at = (e: Expr, ms: number | null): unknown => evaluate(e, TS, [ms]);
const t0 = Date.UTC(2024, 1, 29, 13, 45, 30, 250); // Thursday 2024-02-29 13:45:30.250

describe('datetime functions', () => {
  it('EXTRACT and the field functions', () => {
    const unitCol = (u: string): Expr => ({ kind: 'column', name: u, pos: undefined });
    expect(at(call('EXTRACT', [unitCol('YEAR'), col('t')]), t0)).toBe(2024);
    expect(at(call('EXTRACT', [str('MONTH'), col('t')]), t0)).toBe(2);
    expect(at(call('EXTRACT', [unitCol('DOY'), col('t')]), t0)).toBe(60);
    expect(at(call('EXTRACT', [unitCol('DOW'), col('t')]), t0)).toBe(5);
    expect(at(call('EXTRACT', [unitCol('WEEK'), col('t')]), t0)).toBe(9);
    expect(at(call('EXTRACT', [unitCol('QUARTER'), col('t')]), t0)).toBe(1);
    expect(at(call('YEAR', [col('t')]), t0)).toBe(2024);
    expect(at(call('MONTH', [col('t')]), t0)).toBe(2);
    expect(at(call('DAYOFMONTH', [col('t')]), t0)).toBe(29);
    expect(at(call('HOUR', [col('t')]), t0)).toBe(13);
    expect(at(call('MINUTE', [col('t')]), t0)).toBe(45);
    expect(at(call('SECOND', [col('t')]), t0)).toBe(30);
    expect(at(call('YEAR', [col('t')]), null)).toBe(null);
    expect(evaluate(call('DAYOFWEEK', [date('2024-03-03')]))).toBe(1); // Sunday
    expect(evaluate(call('YEAR', [date('1969-12-31')]))).toBe(1969);
    expect(formatType(bind(call('YEAR', [col('t')]), TS).type)).toBe('BIGINT');
    expect(() => bind(call('EXTRACT', [str('HOUR'), date('2024-01-01')]))).toThrow(/cannot extract HOUR from a DATE/);
    expect(() => bind(call('EXTRACT', [str('FORTNIGHT'), col('t')]), TS)).toThrow(/invalid time unit FORTNIGHT for EXTRACT/);
  });
  it('DATE_FORMAT, TO_TIMESTAMP, TO_DATE, FROM_UNIXTIME, UNIX_TIMESTAMP', () => {
    expect(at(call('DATE_FORMAT', [col('t'), str('yyyy-MM-dd HH:mm:ss.SSS')]), t0)).toBe('2024-02-29 13:45:30.250');
    expect(at(call('DATE_FORMAT', [col('t'), str("yyyyMMdd'T'HH EEE MMM")]), t0)).toBe('20240229T13 Thu Feb');
    expect(at(call('DATE_FORMAT', [col('t'), str('h:mm a')]), t0)).toBe('1:45 PM');
    expect(evaluate(call('DATE_FORMAT', [str('2024-01-05 10:00:00'), str('dd/MM/yy')]))).toBe('05/01/24');
    expect(evaluate(call('TO_TIMESTAMP', [str('2024-02-29 13:45:30')]))).toBe(Date.UTC(2024, 1, 29, 13, 45, 30));
    expect(evaluate(call('TO_TIMESTAMP', [str('29/02/2024 13:45'), str('dd/MM/yyyy HH:mm')]))).toBe(Date.UTC(2024, 1, 29, 13, 45));
    expect(evaluate(call('TO_TIMESTAMP', [str('20240229'), str('yyyyMMdd')]))).toBe(Date.UTC(2024, 1, 29));
    expect(evaluate(call('TO_TIMESTAMP', [str('not a time')]))).toBe(null);
    expect(formatType(bind(call('TO_TIMESTAMP', [str('x')])).type)).toBe('TIMESTAMP(3)');
    expect(evaluate(call('TO_DATE', [str('2024-02-29')]))).toBe(19782);
    expect(evaluate(call('TO_DATE', [str('02/29/2024'), str('MM/dd/yyyy')]))).toBe(19782);
    expect(evaluate(call('TO_DATE', [str('2024-02-30')]))).toBe(null);
    expect(evaluate(call('FROM_UNIXTIME', [int(0)]))).toBe('1970-01-01 00:00:00');
    expect(evaluate(call('FROM_UNIXTIME', [int(86400), str('yyyy/MM/dd')]))).toBe('1970/01/02');
    expect(evaluate(call('UNIX_TIMESTAMP', [str('1970-01-02 00:00:00')]))).toBe(86400);
    expect(evaluate(call('UNIX_TIMESTAMP', [str('1970/01/02'), str('yyyy/MM/dd')]))).toBe(86400);
    const before = Date.now();
    const now = evaluate(call('UNIX_TIMESTAMP', [])) as number;
    const after = Date.now();
    expect(now).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(now).toBeLessThanOrEqual(Math.ceil(after / 1000));
    expect(evaluate(call('TO_TIMESTAMP_LTZ', [int(1700000000), int(0)]))).toBe(1700000000000);
    expect(evaluate(call('TO_TIMESTAMP_LTZ', [int(1700000000123), int(3)]))).toBe(1700000000123);
  });
  it('timestamp +/- INTERVAL and TIMESTAMPADD/TIMESTAMPDIFF', () => {
    expect(at(bin('+', col('t'), interval('1', 'DAY')), t0)).toBe(t0 + 86_400_000);
    expect(at(bin('-', col('t'), interval('90', 'MINUTE')), t0)).toBe(t0 - 5_400_000);
    expect(at(bin('+', col('t'), interval('1.5', 'SECOND')), t0)).toBe(t0 + 1500);
    expect(at(bin('+', interval('1', 'YEAR'), col('t')), t0)).toBe(Date.UTC(2025, 1, 28, 13, 45, 30, 250));
    expect(at(bin('-', col('t'), interval('1', 'MONTH')), t0)).toBe(Date.UTC(2024, 0, 29, 13, 45, 30, 250));
    expect(formatType(bind(bin('+', col('t'), interval('1', 'DAY')), TS).type)).toBe('TIMESTAMP(3)');
    expect(evaluate(bin('+', date('2024-01-31'), interval('1', 'MONTH')))).toBe(19782);
    expect(evaluate(bin('+', date('2024-01-31'), interval('2', 'DAY')))).toBe(19755);
    const unit = (u: string): Expr => ({ kind: 'column', name: u, pos: undefined });
    expect(at(call('TIMESTAMPADD', [unit('HOUR'), int(2), col('t')]), t0)).toBe(t0 + 7_200_000);
    const tsLit = (text: string): Expr => ({ kind: 'literal', literalType: 'timestamp', text, pos: undefined });
    expect(evaluate(call('TIMESTAMPDIFF', [unit('DAY'), tsLit('2024-01-01 00:00:00'), tsLit('2024-01-03 12:00:00')]))).toBe(2);
    expect(evaluate(call('TIMESTAMPDIFF', [unit('HOUR'), tsLit('2024-01-03 12:00:00'), tsLit('2024-01-01 00:00:00')]))).toBe(-60);
    expect(evaluate(call('TIMESTAMPDIFF', [unit('MONTH'), date('2024-01-31'), date('2024-02-29')]))).toBe(0);
    expect(evaluate(call('TIMESTAMPDIFF', [unit('MONTH'), date('2024-01-31'), date('2024-03-31')]))).toBe(2);
    expect(() => bind(bin('+', col('x'), interval('1', 'DAY')), { x: T('INT') })).toThrow(/cannot add an INTERVAL to INT/);
  });
  it('CURRENT_TIMESTAMP and friends are not folded', () => {
    const e = bind({ kind: 'column', name: 'CURRENT_TIMESTAMP', pos: undefined });
    expect(e.kind).toBe('call');
    expect(formatType(e.type)).toBe('TIMESTAMP_LTZ(3) NOT NULL');
    const before = Date.now();
    const v = evaluate(call('NOW', [])) as number;
    const day = evaluate(call('CURRENT_DATE', [])) as number;
    const after = Date.now();
    expect(v).toBeGreaterThanOrEqual(before);
    expect(v).toBeLessThanOrEqual(after);
    expect(day).toBeGreaterThanOrEqual(Math.floor(before / 86_400_000));
    expect(day).toBeLessThanOrEqual(Math.floor(after / 86_400_000));
  });
});

describe('FLOOR/CEIL(t TO unit) (parser form FLOOR(t, unit))', () => {
  it('rounds timestamps and dates to calendar units', () => {
    expect(at(call('FLOOR', [col('t'), str('HOUR')]), t0)).toBe(Date.UTC(2024, 1, 29, 13));
    expect(at(call('CEIL', [col('t'), str('HOUR')]), t0)).toBe(Date.UTC(2024, 1, 29, 14));
    expect(at(call('FLOOR', [col('t'), str('MONTH')]), t0)).toBe(Date.UTC(2024, 1, 1));
    expect(at(call('CEIL', [col('t'), str('MONTH')]), t0)).toBe(Date.UTC(2024, 2, 1));
    expect(at(call('FLOOR', [col('t'), str('QUARTER')]), t0)).toBe(Date.UTC(2024, 0, 1));
    expect(at(call('FLOOR', [col('t'), str('YEAR')]), t0)).toBe(Date.UTC(2024, 0, 1));
    expect(at(call('FLOOR', [col('t'), str('WEEK')]), t0)).toBe(Date.UTC(2024, 1, 25)); // Sunday
    expect(at(call('CEIL', [col('t'), str('DAY')]), Date.UTC(2024, 1, 29))).toBe(Date.UTC(2024, 1, 29));
    expect(evaluate(call('FLOOR', [date('2024-02-29'), str('MONTH')]))).toBe(19754); // 2024-02-01
    expect(() => bind(call('FLOOR', [col('t'), str('FORTNIGHT')]), TS)).toThrow(/invalid time unit FORTNIGHT for FLOOR/);
  });
});
