import { describe, expect, it } from 'vitest';
import { formatType } from '../../src/model/types.js';
import { parseDataType } from '../../src/sql/data-type.js';
import { errorLine, userErrorOf } from './helpers.js';

const fmt = (t: string): string => formatType(parseDataType(t));

describe('parseDataType', () => {
  it('parses the integer, floating and boolean types', () => {
    expect(fmt('TINYINT')).toBe('TINYINT');
    expect(fmt('smallint')).toBe('SMALLINT');
    expect(fmt('INT')).toBe('INT');
    expect(fmt('INTEGER')).toBe('INT');
    expect(fmt('BIGINT')).toBe('BIGINT');
    expect(fmt('FLOAT')).toBe('FLOAT');
    expect(fmt('DOUBLE')).toBe('DOUBLE');
    expect(fmt('DOUBLE PRECISION')).toBe('DOUBLE');
    expect(fmt('BOOLEAN')).toBe('BOOLEAN');
  });

  it('parses DECIMAL with Flink defaults', () => {
    expect(parseDataType('DECIMAL')).toEqual({ kind: 'DECIMAL', nullable: true, precision: 10, scale: 0 });
    expect(parseDataType('DECIMAL(12)')).toEqual({ kind: 'DECIMAL', nullable: true, precision: 12, scale: 0 });
    expect(parseDataType('DEC(5, 2)')).toEqual({ kind: 'DECIMAL', nullable: true, precision: 5, scale: 2 });
    expect(parseDataType('NUMERIC(38,10)')).toEqual({ kind: 'DECIMAL', nullable: true, precision: 38, scale: 10 });
  });

  it('parses character and binary types', () => {
    expect(parseDataType('STRING')).toEqual({ kind: 'STRING', nullable: true });
    expect(parseDataType('VARCHAR(20)')).toEqual({ kind: 'VARCHAR', nullable: true, precision: 20 });
    expect(parseDataType('VARCHAR')).toEqual({ kind: 'VARCHAR', nullable: true, precision: 1 });
    expect(parseDataType('VARCHAR(2147483647)')).toEqual({ kind: 'STRING', nullable: true });
    expect(parseDataType('CHAR(3)')).toEqual({ kind: 'CHAR', nullable: true, precision: 3 });
    expect(parseDataType('CHAR')).toEqual({ kind: 'CHAR', nullable: true, precision: 1 });
    expect(fmt('BYTES')).toBe('BYTES');
    expect(fmt('VARBINARY(10)')).toBe('BYTES');
    expect(fmt('BINARY')).toBe('BYTES');
  });

  it('parses date and time types, keeping the given precision', () => {
    expect(parseDataType('DATE')).toEqual({ kind: 'DATE', nullable: true });
    expect(parseDataType('TIME')).toEqual({ kind: 'TIME', nullable: true, precision: 0 });
    expect(parseDataType('TIME(3)')).toEqual({ kind: 'TIME', nullable: true, precision: 3 });
    expect(parseDataType('TIMESTAMP')).toEqual({ kind: 'TIMESTAMP', nullable: true, precision: 6 });
    expect(parseDataType('TIMESTAMP(3)')).toEqual({ kind: 'TIMESTAMP', nullable: true, precision: 3 });
    expect(parseDataType('TIMESTAMP(0) WITHOUT TIME ZONE')).toEqual({ kind: 'TIMESTAMP', nullable: true, precision: 0 });
    expect(parseDataType('TIMESTAMP_LTZ(3)')).toEqual({ kind: 'TIMESTAMP_LTZ', nullable: true, precision: 3 });
    expect(parseDataType('TIMESTAMP(3) WITH LOCAL TIME ZONE')).toEqual({ kind: 'TIMESTAMP_LTZ', nullable: true, precision: 3 });
    expect(parseDataType('TIMESTAMP_LTZ')).toEqual({ kind: 'TIMESTAMP_LTZ', nullable: true, precision: 6 });
  });

  it('parses NOT NULL and NULL suffixes', () => {
    expect(parseDataType('BIGINT NOT NULL')).toEqual({ kind: 'BIGINT', nullable: false });
    expect(parseDataType('decimal(10, 2) not null')).toEqual({ kind: 'DECIMAL', nullable: false, precision: 10, scale: 2 });
    expect(parseDataType('TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL')).toEqual({ kind: 'TIMESTAMP_LTZ', nullable: false, precision: 3 });
    expect(parseDataType('INT NULL')).toEqual({ kind: 'INT', nullable: true });
  });

  it('returns frozen types', () => {
    expect(Object.isFrozen(parseDataType('DECIMAL(10, 2)'))).toBe(true);
  });

  it('rejects collection and structured types as not supported yet, with position', () => {
    const e = userErrorOf(() => parseDataType('ARRAY<INT>'));
    expect(e.code).toBe('SQL_UNSUPPORTED');
    expect(e.toUserLine()).toBe('1:1: data type ARRAY is not supported yet');
    expect(errorLine(() => parseDataType('MAP<STRING, INT>'))).toBe('1:1: data type MAP is not supported yet');
    expect(errorLine(() => parseDataType('ROW<a INT>'))).toBe('1:1: data type ROW is not supported yet');
    expect(errorLine(() => parseDataType('MULTISET<INT>'))).toBe('1:1: data type MULTISET is not supported yet');
  });

  it('rejects unknown types and bad parameters with clear messages', () => {
    expect(errorLine(() => parseDataType('TEXT'))).toBe("1:1: unknown data type 'TEXT'");
    expect(errorLine(() => parseDataType('DECIMAL(50, 2)'))).toBe('1:1: DECIMAL precision must be between 1 and 38, got 50');
    expect(errorLine(() => parseDataType('DECIMAL(5, 6)'))).toBe('1:1: DECIMAL scale must be between 0 and the precision 5, got 6');
    expect(errorLine(() => parseDataType('TIMESTAMP(12)'))).toBe('1:1: TIMESTAMP precision must be between 0 and 9, got 12');
    expect(errorLine(() => parseDataType('VARCHAR(0)'))).toBe('1:1: VARCHAR length must be at least 1, got 0');
    expect(errorLine(() => parseDataType('DECIMAL(10, 2'))).toBe("1:14: expected ')' after DECIMAL parameters, found end of statement");
    expect(errorLine(() => parseDataType('VARCHAR(x)'))).toBe("1:9: expected an integer length in VARCHAR(...), found 'x'");
    expect(errorLine(() => parseDataType('INT INT'))).toBe("1:5: expected end of statement after data type, found 'INT'");
    expect(errorLine(() => parseDataType(''))).toBe('1:1: expected a data type here, found end of statement');
    expect(errorLine(() => parseDataType('TIMESTAMP WITH TIME ZONE'))).toBe(
      '1:1: TIMESTAMP WITH TIME ZONE is not supported: use TIMESTAMP_LTZ or TIMESTAMP WITH LOCAL TIME ZONE',
    );
  });
});
