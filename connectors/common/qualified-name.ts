/**
 * Table names as users write them in 'table-name' (DuckDB and PostgreSQL sinks alike):
 * `schema.table`, with double quotes around a part that holds a dot or a quote.
 */

/** Splits `a.b` / `"a.b".c` into unquoted parts; undefined when malformed. */
export function splitQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let part = '';
    if (text[i] === '"') {
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return undefined;
        part += text.slice(j, q);
        if (text[q + 1] === '"') {
          part += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
    } else {
      const dot = text.indexOf('.', i);
      part = (dot < 0 ? text.slice(i) : text.slice(i, dot)).trim();
      i = dot < 0 ? text.length : dot;
    }
    if (part === '') return undefined;
    parts.push(part);
    if (i >= text.length) break;
    if (text[i] !== '.') return undefined;
    i++;
  }
  return parts;
}
