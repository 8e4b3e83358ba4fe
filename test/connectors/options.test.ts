import { describe, expect, it } from 'vitest';
import { defineOptions, opt, parseDuration, tryParseMemorySize, validateOptions, describeOptions } from '../../src/connector/options.js';
import { type } from '../../src/model/types.js';
import { errorOf, makeTable } from './table-helper.js';

const SPEC = defineOptions('datagen', {
  'rows-per-second': opt.int('rows per second', { min: 1 }).default(10000),
  'number-of-rows': opt.int('rows', { min: 0 }),
  path: opt.nonEmptyString('a path').required(),
  format: opt.enum(['json', 'csv'], 'format'),
  'ignore-errors': opt.bool('skip bad lines').default(false),
  interval: opt.duration('how often'),
  password: opt.string('a secret'),
  'fields.#.kind': opt.enum(['random', 'sequence'], 'generator'),
  'fields.#.min': opt.int('min'),
});

const table = (options: Record<string, string>) => makeTable('orders', [['id', type('BIGINT')]], { connector: 'datagen', ...options });

describe('validateOptions', () => {
  it('parses typed values, applies defaults and collects pattern keys', () => {
    const o = validateOptions(
      SPEC,
      table({ path: '/x', format: 'CSV', 'ignore-errors': 'TRUE', interval: '10 s', 'fields.id.kind': 'sequence', 'fields.a.b.min': '-5' }),
    );
    expect(o['rows-per-second']).toBe(10000);
    expect(o['number-of-rows']).toBeUndefined();
    expect(o.path).toBe('/x');
    expect(o.format).toBe('csv');
    expect(o['ignore-errors']).toBe(true);
    expect(o.interval).toBe(10_000);
    expect([...o['fields.#.kind']]).toEqual([['id', 'sequence']]);
    expect(o['fields.#.min'].get('a.b')).toBe(-5);
  });

  it('rejects an unknown option with a suggestion, the valid options and the position', () => {
    const e = errorOf(() => validateOptions(SPEC, table({ path: '/x', 'row-per-second': '5' })));
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toMatch(
      /^table 'orders': unknown option 'row-per-second' for connector 'datagen'; did you mean 'rows-per-second'\? valid options: connector, fields\.#\.kind/,
    );
    expect(e.position).toEqual({ line: 12, column: 3 });
  });

  it('suggests pattern keys with the name filled in', () => {
    const e = errorOf(() => validateOptions(SPEC, table({ path: '/x', 'fields.id.knd': 'random' })));
    expect(e.message).toContain("did you mean 'fields.id.kind'?");
  });

  it('gives no suggestion when nothing is close', () => {
    const e = errorOf(() => validateOptions(SPEC, table({ path: '/x', 'completely-different': '1' })));
    expect(e.message).not.toContain('did you mean');
  });

  it('rejects invalid values naming what is expected and what was given', () => {
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', 'rows-per-second': 'fast' }))).message).toBe(
      "table 'orders': option 'rows-per-second' must be a positive integer, got 'fast'",
    );
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', 'rows-per-second': '0' }))).code).toBe('INVALID_OPTION');
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', format: 'xml' }))).message).toContain("must be one of 'json', 'csv', got 'xml'");
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', 'ignore-errors': 'yes' }))).message).toContain("must be 'true' or 'false'");
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', interval: 'soon' }))).message).toContain('must be a duration');
    expect(errorOf(() => validateOptions(SPEC, table({ path: '/x', 'fields.id.kind': 'counter' }))).message).toContain(
      "option 'fields.id.kind' must be one of 'random', 'sequence'",
    );
  });

  it('reports a missing required option', () => {
    const e = errorOf(() => validateOptions(SPEC, table({})));
    expect(e.code).toBe('MISSING_OPTION');
    expect(e.message).toBe("table 'orders': missing required option 'path' for connector 'datagen' (a path)");
  });

  it('never shows the value of a secret option', () => {
    const withSecret = defineOptions('x', { password: opt.int('not really') });
    const e = errorOf(() => validateOptions(withSecret, table({ password: 'hunter2' })));
    expect(e.message).toContain("option 'password' must be an integer");
    expect(e.message).not.toContain('hunter2');
    const typo = errorOf(() => validateOptions(SPEC, table({ path: '/x', passwrd: 'hunter2' })));
    expect(typo.message).not.toContain('hunter2');
    expect(describeOptions(table({ path: '/x', password: 'hunter2' }))).toBe('password=***, path=/x');
  });
});

describe('parseDuration', () => {
  it('reads Flink durations', () => {
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('10 s')).toBe(10_000);
    expect(parseDuration('1 min')).toBe(60_000);
    expect(parseDuration('5min')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2 d')).toBe(172_800_000);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('3 seconds')).toBe(3000);
  });
  it('rejects what is not a duration', () => {
    expect(() => parseDuration('ten seconds')).toThrow(/invalid duration 'ten seconds'/);
    expect(() => parseDuration('5 fortnights')).toThrow(/invalid duration/);
    expect(() => parseDuration('')).toThrow(/invalid duration/);
  });
  it('reads memory sizes', () => {
    expect(tryParseMemorySize('128mb')).toBe(128 * 1024 * 1024);
    expect(tryParseMemorySize('1 gb')).toBe(1024 ** 3);
    expect(tryParseMemorySize('100')).toBe(100);
    expect(tryParseMemorySize('lots')).toBeUndefined();
  });
});
