/**
 * `source.tables` (and a route's or transform's `source-table`): Flink CDC's table selectors.
 *
 * Flink CDC (Selectors / Predicates.RegExSplitterByComma and RegExSplitterByDot) splits the text
 * at every unescaped ',' into patterns and each pattern at every unescaped '.' into parts (parts
 * trimmed, empty ones dropped); in a part `\.` becomes '.', so `public.\.*` is every table of
 * schema `public`, and `\,` becomes ','. Each part is a regular expression matched against the
 * whole name, ignoring case. Two parts are `schema.table`; three are `database.schema.table` (the
 * Postgres pipeline connector's form; the database must be the pipeline's `database-name`).
 *
 * Where weir goes further (each turns what would be an error in Flink CDC into a meaning):
 * - a part that is exactly `*` means "any name", so `public.*` (what people type) is every table
 *   of `public`; Flink CDC rejects a lone `*` as a regular expression;
 * - a single part is a table of schema `public` (Flink CDC would match only schema-less tables,
 *   which PostgreSQL does not have).
 */
import { userError } from '../../errors.js';

export interface TablePattern {
  /** One comma-separated pattern, as written (trimmed). */
  readonly text: string;
  /** Present for the three-part form `database.schema.table`. */
  readonly database?: RegExp;
  readonly schema: RegExp;
  readonly table: RegExp;
}

const DOT_HINT = "every unescaped '.' separates schema from table (or database.schema.table); write '\\.' for a dot that matches any character";

/** Splits at each unescaped `sep`; `\<sep>` becomes `sep`, other escapes stay for the regex. */
function splitUnescaped(text: string, sep: ',' | '.', what: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      if (i + 1 === text.length) throw userError('PIPELINE_INVALID', `'${what}': '${text}' ends with an unfinished escape '\\'`);
      const next = text[++i];
      cur += next === sep ? sep : c + next;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function compile(part: string, text: string, what: string, multi: boolean): RegExp {
  const source = part === '*' ? '.*' : part;
  try {
    return new RegExp(`^(?:${source})$`, 'i');
  } catch {
    throw userError('PIPELINE_INVALID', `'${what}': '${text}': '${part}' is not a valid regular expression${multi ? ` (${DOT_HINT})` : ''}`);
  }
}

/**
 * Parses comma-separated table patterns. `database` (the pipeline's `database-name`) is checked
 * against the three-part form; `what` names the option in errors.
 */
export function tablePatterns(spec: string, opts: { database?: string; what?: string } = {}): TablePattern[] {
  const what = opts.what ?? 'source.tables';
  const patterns = splitUnescaped(spec, ',', what).map((text): TablePattern => {
    const parts = splitUnescaped(text, '.', what);
    const multi = parts.length > 1;
    const re = parts.map((p) => compile(p, text, what, multi));
    switch (re.length) {
      case 1:
        return { text, schema: /^public$/, table: re[0] };
      case 2:
        return { text, schema: re[0], table: re[1] };
      case 3:
        if (opts.database !== undefined && !re[0].test(opts.database)) {
          throw userError(
            'PIPELINE_INVALID',
            `'${what}': '${text}' reads as database '${parts[0]}', schema '${parts[1]}', table '${parts[2]}', but the pipeline reads database '${opts.database}' (${DOT_HINT})`,
          );
        }
        return { text, database: re[0], schema: re[1], table: re[2] };
      default:
        throw userError(
          'PIPELINE_INVALID',
          `'${what}': '${text}' has ${re.length === 0 ? 'no name' : `${re.length} dot-separated parts`}; expected schema.table or database.schema.table (${DOT_HINT})`,
        );
    }
  });
  if (patterns.length === 0) throw userError('PIPELINE_INVALID', `'${what}': no table pattern in '${spec}'`);
  return patterns;
}

/** Whether any of `patterns` selects table `schema.name`. */
export function selectsTable(patterns: readonly TablePattern[], schema: string, name: string): boolean {
  return patterns.some((p) => p.schema.test(schema) && p.table.test(name));
}
