/**
 * Tab completion for the shell (a node:readline completer): SQL keywords, function names, table
 * and view names, their column names (`t.` completes t's columns), and configuration keys inside
 * `SET '`. Keywords follow the case the user typed.
 */
import { KNOWN_CONFIG_KEYS } from '../../config/job-config.js';
import { bindQuery } from '../../plan/bind-query.js';
import type { Catalog } from '../../plan/catalog.js';
import { allFunctionNames } from './shell-commands.js';
import { RESULT_MODE_KEY } from './session.js';

export const KEYWORDS: readonly string[] = [
  'ALL',
  'AND',
  'AS',
  'BEGIN',
  'BETWEEN',
  'BIGINT',
  'BOOLEAN',
  'BY',
  'BYTES',
  'CASE',
  'CAST',
  'CHECKPOINTS',
  'CREATE',
  'CROSS',
  'DATE',
  'DECIMAL',
  'DESCRIBE',
  'DISTINCT',
  'DOUBLE',
  'DROP',
  'ELSE',
  'END',
  'ENFORCED',
  'EXECUTE',
  'EXISTS',
  'EXIT',
  'EXPLAIN',
  'FALSE',
  'FLOAT',
  'FOR',
  'FROM',
  'FULL',
  'FUNCTIONS',
  'GROUP',
  'HAVING',
  'HELP',
  'IF',
  'IN',
  'INNER',
  'INSERT',
  'INT',
  'INTERVAL',
  'INTO',
  'IS',
  'JOB',
  'JOBS',
  'JOIN',
  'KEY',
  'LEFT',
  'LIKE',
  'LIMIT',
  'METADATA',
  'NOT',
  'NULL',
  'ON',
  'OR',
  'ORDER',
  'OVERWRITE',
  'PARTITIONED',
  'PLAN',
  'PRIMARY',
  'QUIT',
  'RESET',
  'RIGHT',
  'SAVEPOINT',
  'SELECT',
  'SET',
  'SHOW',
  'SMALLINT',
  'STATEMENT',
  'STOP',
  'STRING',
  'TABLE',
  'TABLES',
  'TEMPORARY',
  'THEN',
  'TIME',
  'TIMESTAMP',
  'TIMESTAMP_LTZ',
  'TINYINT',
  'TRUE',
  'UNION',
  'VALUES',
  'VARCHAR',
  'VIEW',
  'VIEWS',
  'VIRTUAL',
  'WATERMARK',
  'WHEN',
  'WHERE',
  'WITH',
];

/** Column names of a table or view; a view that no longer binds has none. */
function columnsOf(catalog: Catalog, name: string): string[] {
  const t = catalog.getTable(name);
  if (t) return t.schema.fields.map((f) => f.name);
  const v = catalog.getView(name);
  if (!v) return [];
  try {
    return v.columnNames ? [...v.columnNames] : bindQuery(v.query, catalog).schema.fields.map((f) => f.name);
  } catch {
    return [];
  }
}

/** Candidates for the word before the cursor in `line`, and that word (readline's completer contract). */
export function complete(catalog: Catalog, line: string): [string[], string] {
  const setKey = /\bSET\s+'([^']*)$/i.exec(line);
  if (setKey) {
    const typed = setKey[1]!;
    const keys = [...KNOWN_CONFIG_KEYS, RESULT_MODE_KEY];
    return [keys.filter((k) => k.startsWith(typed)).sort(), typed];
  }
  const word = /[A-Za-z_0-9$.`]*$/.exec(line)![0];
  const dot = word.lastIndexOf('.');
  if (dot >= 0) {
    const qualifier = word.slice(0, dot).replace(/`/g, '');
    const prefix = word.slice(dot + 1);
    const hits = columnsOf(catalog, qualifier)
      .filter((c) => c.startsWith(prefix))
      .map((c) => `${word.slice(0, dot + 1)}${c}`);
    return [hits, word];
  }
  if (word === '') return [[], word];
  const names = [...catalog.listTables().map((t) => t.name), ...catalog.listViews().map((v) => v.name)];
  const columns = names.flatMap((n) => columnsOf(catalog, n));
  const lower = word === word.toLowerCase() && word !== word.toUpperCase();
  const words = [...KEYWORDS, ...allFunctionNames()].filter((k) => k.startsWith(word.toUpperCase())).map((k) => (lower ? k.toLowerCase() : k));
  const idents = [...names, ...columns].filter((n) => n.startsWith(word));
  return [[...new Set([...idents, ...words])].sort(), word];
}
