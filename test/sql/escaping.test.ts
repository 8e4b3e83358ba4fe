import { describe, expect, it } from 'vitest';
import { formatShellError } from '../../src/cli/sql/error-format.js';
import { escapeControlChars, internalError, userError, externalError } from '../../src/errors.js';
import { parseStatement } from '../../src/sql/parse.js';
import { userErrorOf } from './helpers.js';

/** Issue 12: error messages echoed raw control characters (NUL, ESC) from the input. */
describe('escaping what a terminal would act on', () => {
  it('escapes C0 and C1 controls, DEL, bidi overrides and unpaired surrogates; keeps tabs, emoji and accents', () => {
    expect(escapeControlChars('a\u0000b\u001b[31mc\u007fd\u009be')).toBe('a\\x00b\\x1b[31mc\\x7fd\\x9be');
    expect(escapeControlChars('x\ry\nz')).toBe('x\\ry\\nz');
    expect(escapeControlChars('\u202eevil\u2066')).toBe('\\u202eevil\\u2066');
    expect(escapeControlChars('lone \ud800 and \udfff, pair 🚀')).toBe('lone \\ud800 and \\udfff, pair 🚀');
    expect(escapeControlChars('tab\tkept, é, ü')).toBe('tab\tkept, é, ü');
    // Escaping twice changes nothing (messages are re-wrapped on their way out).
    const once = escapeControlChars('\u0000\u001b\ud800');
    expect(escapeControlChars(once)).toBe(once);
    expect(escapeControlChars('a\nb', true)).toBe('a\nb');
  });

  it('every WeirError message is escaped where it is made; an internal error keeps its line breaks', () => {
    expect(userError('UNKNOWN_COLUMN', "column 'a\u001b[2Jb' not found").message).toBe("column 'a\\x1b[2Jb' not found");
    expect(externalError('POSTGRES', 'server said:\nno\u0007').message).toBe('server said:\\nno\\x07');
    expect(internalError('generated code:\nline 2\u0000').message).toBe('generated code:\nline 2\\x00');
  });

  it('SQL errors from the parser carry the escaped text and a position', () => {
    const e = userErrorOf(() => parseStatement('SELECT `a\u001b[31m` FROM t WHERE \u0000'));
    expect(e.message).not.toMatch(/[\u0000-\u0008\u001b]/);
    expect(e.toUserLine()).toMatch(/^1:\d+: unexpected '\\x00'/);
  });

  it('the shell shows the statement line escaped, with the caret under the escaped text', () => {
    const text = 'SELECT \u001b[31m nope';
    const err = userError('SQL_PARSE', "unexpected 'nope'", { position: { line: 1, column: text.indexOf('nope') + 1 } });
    const [first, shown, caret] = formatShellError(err, { text, firstLine: 1 }).split('\n');
    expect(first).toBe(`[ERROR] 1:${text.indexOf('nope') + 1}: unexpected 'nope'`);
    expect(shown).toBe('SELECT \\x1b[31m nope');
    expect(caret).toBe(`${' '.repeat(shown!.indexOf('nope'))}^`);
  });
});
