/**
 * The session catalog: tables and views from CREATE TABLE / CREATE VIEW / DROP, in one namespace
 * (catalog and database qualifiers are accepted and ignored). Names are case-sensitive.
 *
 * CREATE TABLE validates the schema (duplicate columns, primary key, watermark, computed column
 * expressions) and that the connector exists, but, like Flink, not the connector's options: those
 * are validated when a query reads or writes the table.
 */
import { expandEnv } from '../config/env.js';
import type { TableColumn, TableDef, ViewDef } from '../catalog/table.js';
import { lookupConnector } from '../connector/registry.js';
import { bindExpr } from '../expr/bind.js';
import { formatType, withNullable, type Field } from '../model/types.js';
import { isTimestamp } from '../expr/type-rules.js';
import { unreachable, userError } from '../errors.js';
import type { CreateTableStatement, CreateViewStatement, DropStatement, Pos } from '../sql/ir.js';
import { bindQuery, type CatalogReader } from './bind-query.js';
import { RelationScope } from './scope.js';

export class Catalog implements CatalogReader {
  private readonly tables = new Map<string, TableDef>();
  private readonly views = new Map<string, ViewDef>();

  apply(stmt: CreateTableStatement | CreateViewStatement | DropStatement): void {
    switch (stmt.kind) {
      case 'create-table':
        this.createTable(stmt);
        return;
      case 'create-view':
        this.createView(stmt);
        return;
      case 'drop':
        this.drop(stmt);
        return;
      default:
        unreachable(stmt);
    }
  }

  getTable(name: string): TableDef | undefined {
    return this.tables.get(name);
  }

  getView(name: string): ViewDef | undefined {
    return this.views.get(name);
  }

  listTables(): TableDef[] {
    return [...this.tables.values()];
  }

  listViews(): ViewDef[] {
    return [...this.views.values()];
  }

  resolve(nameParts: readonly string[], pos: Pos): TableDef | ViewDef {
    const name = nameParts[nameParts.length - 1];
    const found = this.tables.get(name) ?? this.views.get(name);
    if (found) return found;
    const known = [...this.tables.keys(), ...this.views.keys()].sort();
    const caseHint = known.find((k) => k.toLowerCase() === name.toLowerCase());
    throw userError(
      'UNKNOWN_TABLE',
      `table '${nameParts.join('.')}' not found; known tables: ${known.length ? known.join(', ') : '(none)'}` +
        (caseHint ? ` (names are case-sensitive: did you mean '${caseHint}'?)` : ''),
      { position: pos, details: { table: name } },
    );
  }

  private exists(name: string): 'table' | 'view' | undefined {
    return this.tables.has(name) ? 'table' : this.views.has(name) ? 'view' : undefined;
  }

  private createTable(stmt: CreateTableStatement): void {
    const name = stmt.name[stmt.name.length - 1];
    const existing = this.exists(name);
    if (existing) {
      if (stmt.ifNotExists) return;
      throw userError('TABLE_EXISTS', `${existing} '${name}' already exists`, { position: stmt.pos });
    }

    const seen = new Set<string>();
    for (const c of stmt.columns) {
      if (seen.has(c.name)) throw userError('DUPLICATE_COLUMN', `column '${c.name}' is declared twice in table '${name}'`, { position: c.pos });
      seen.add(c.name);
    }

    const primaryKey = stmt.primaryKey ?? [];
    const pkSeen = new Set<string>();
    for (const k of primaryKey) {
      const col = stmt.columns.find((c) => c.name === k);
      if (!col) {
        throw userError('UNKNOWN_PRIMARY_KEY_COLUMN', `PRIMARY KEY column '${k}' is not a column of table '${name}'; columns: ${[...seen].join(', ')}`, {
          position: stmt.pos,
        });
      }
      // Metadata columns may extend a key: rows of several tables in one CDC source (table_name).
      if (col.kind === 'computed') {
        throw userError('INVALID_PRIMARY_KEY', `PRIMARY KEY column '${k}' of table '${name}' must be a physical or metadata column, not a computed column`, {
          position: col.pos,
        });
      }
      if (pkSeen.has(k)) throw userError('INVALID_PRIMARY_KEY', `PRIMARY KEY names column '${k}' twice`, { position: stmt.pos });
      pkSeen.add(k);
    }

    const options: Record<string, string> = {};
    const optionPositions: Record<string, Pos> = {};
    for (const o of stmt.options) {
      if (Object.hasOwn(options, o.key)) {
        throw userError('DUPLICATE_OPTION', `option '${o.key}' is given twice for table '${name}'`, { position: o.pos });
      }
      options[o.key] = expandEnv(o.value, `option '${o.key}' of table '${name}'`, o.pos);
      optionPositions[o.key] = o.pos;
    }
    lookupConnector(options.connector, name, optionPositions.connector ?? stmt.pos);

    // Stored (physical + metadata) columns first: computed columns are typed against them.
    const storedFields: Field[] = [];
    const columns: TableColumn[] = [];
    for (const c of stmt.columns) {
      switch (c.kind) {
        case 'physical':
          columns.push({ kind: 'physical', name: c.name });
          storedFields.push({ name: c.name, type: pkSeen.has(c.name) ? withNullable(c.type, false) : c.type });
          break;
        case 'metadata':
          columns.push({ kind: 'metadata', name: c.name, key: c.key ?? c.name, virtual: c.virtual });
          storedFields.push({ name: c.name, type: c.type });
          break;
        case 'computed':
          columns.push({ kind: 'computed', name: c.name, expr: c.expr });
          break;
        default:
          unreachable(c);
      }
    }
    const storedScope = new RelationScope([{ name, fields: storedFields, offset: 0 }]);
    const fields: Field[] = stmt.columns.map((c) => {
      if (c.kind === 'computed') return { name: c.name, type: bindExpr(c.expr, { scope: storedScope }).type };
      const f = storedFields.find((s) => s.name === c.name);
      return f as Field;
    });

    let watermark: TableDef['watermark'];
    if (stmt.watermark) {
      const wm = stmt.watermark;
      const col = fields.find((f) => f.name === wm.column);
      if (!col) {
        throw userError(
          'UNKNOWN_WATERMARK_COLUMN',
          `WATERMARK FOR '${wm.column}': no such column in table '${name}'; columns: ${fields.map((f) => f.name).join(', ')}`,
          {
            position: wm.pos,
          },
        );
      }
      if (!isTimestamp(col.type)) {
        throw userError(
          'INVALID_WATERMARK',
          `WATERMARK FOR '${wm.column}' needs a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column, but it is ${formatType(col.type)}`,
          {
            position: wm.pos,
          },
        );
      }
      const bound = bindExpr(wm.expr, { scope: new RelationScope([{ name, fields, offset: 0 }]) });
      if (!isTimestamp(bound.type)) {
        throw userError('INVALID_WATERMARK', `the WATERMARK expression must return a TIMESTAMP, but it returns ${formatType(bound.type)}`, {
          position: wm.expr.pos ?? wm.pos,
        });
      }
      watermark = { column: wm.column, expr: wm.expr };
    }

    // Time attributes: the WATERMARK column is the rowtime, a PROCTIME() column a proctime.
    const timed = fields.map((f, i) => {
      const c = stmt.columns[i];
      if (watermark && f.name === watermark.column) return { ...f, type: Object.freeze({ ...f.type, timeAttribute: 'rowtime' as const }) };
      if (c.kind === 'computed' && c.expr.kind === 'call' && c.expr.name === 'PROCTIME' && c.expr.args.length === 0) {
        return { ...f, type: Object.freeze({ ...f.type, timeAttribute: 'proctime' as const }) };
      }
      return f;
    });
    const def: TableDef = {
      kind: 'table',
      name,
      schema: Object.freeze({ fields: Object.freeze(timed.map((f) => Object.freeze({ ...f }))) }),
      columns: Object.freeze(columns),
      primaryKey: Object.freeze([...primaryKey]),
      ...(watermark ? { watermark } : {}),
      options: Object.freeze(options),
      optionPositions: Object.freeze(optionPositions),
      pos: stmt.pos,
    };
    this.tables.set(name, Object.freeze(def));
  }

  private createView(stmt: CreateViewStatement): void {
    const name = stmt.name[stmt.name.length - 1];
    const existing = this.exists(name);
    if (existing) {
      if (stmt.ifNotExists) return;
      throw userError('TABLE_EXISTS', `${existing} '${name}' already exists`, { position: stmt.pos });
    }
    if (stmt.columnNames) {
      const seen = new Set<string>();
      for (const c of stmt.columnNames) {
        if (seen.has(c)) throw userError('DUPLICATE_COLUMN', `column '${c}' is named twice in view '${name}'`, { position: stmt.pos });
        seen.add(c);
      }
    }
    // Like Flink, the view's query is validated now (tables exist, columns resolve, types check).
    const node = bindQuery(stmt.query, this);
    if (stmt.columnNames && stmt.columnNames.length !== node.schema.fields.length) {
      throw userError(
        'VIEW_COLUMN_COUNT',
        `view '${name}' declares ${stmt.columnNames.length} column names but its query produces ${node.schema.fields.length} columns`,
        { position: stmt.pos },
      );
    }
    const def: ViewDef = {
      kind: 'view',
      name,
      query: stmt.query,
      queryText: stmt.queryText,
      ...(stmt.columnNames ? { columnNames: Object.freeze([...stmt.columnNames]) } : {}),
      pos: stmt.pos,
    };
    this.views.set(name, Object.freeze(def));
  }

  private drop(stmt: DropStatement): void {
    const name = stmt.name[stmt.name.length - 1];
    const existing = this.exists(name);
    if (existing === stmt.object) {
      if (existing === 'table') this.tables.delete(name);
      else this.views.delete(name);
      return;
    }
    if (existing) {
      throw userError('WRONG_OBJECT_KIND', `'${name}' is a ${existing}; use DROP ${existing.toUpperCase()} ${name}`, { position: stmt.pos });
    }
    if (stmt.ifExists) return;
    const known = (stmt.object === 'table' ? [...this.tables.keys()] : [...this.views.keys()]).sort();
    throw userError(
      stmt.object === 'table' ? 'UNKNOWN_TABLE' : 'UNKNOWN_VIEW',
      `${stmt.object} '${name}' not found; known ${stmt.object}s: ${known.join(', ') || '(none)'}`,
      {
        position: stmt.pos,
      },
    );
  }
}
