/**
 * Name resolution for a FROM clause: the relations it brings into scope (a table, a view or a
 * subquery, each under its alias) and their columns. Resolution is case-sensitive, as in Flink.
 */
import type { Scope } from '../expr/bind.js';
import type { Field, SqlType } from '../model/types.js';
import { userError } from '../errors.js';
import type { ColumnExpr } from '../sql/ir.js';
import { columnText } from './ir-util.js';

export interface Relation {
  /** The alias, or the table/view name when there is none; undefined for an unaliased subquery. */
  readonly name: string | undefined;
  readonly fields: readonly Field[];
  /** Index of the relation's first column in the combined row. */
  readonly offset: number;
}

function list(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

export class RelationScope implements Scope {
  constructor(readonly relations: readonly Relation[]) {}

  /** Every column of every relation, in order. */
  get fields(): Field[] {
    return this.relations.flatMap((r) => [...r.fields]);
  }

  resolveColumn(ref: ColumnExpr): { index: number; type: SqlType } {
    let candidates = this.relations;
    if (ref.table !== undefined) {
      candidates = this.relations.filter((r) => r.name === ref.table);
      if (candidates.length === 0) {
        const known = this.relations.map((r) => r.name).filter((n): n is string => n !== undefined);
        throw userError('UNKNOWN_TABLE', `table or alias '${ref.table}' not found in FROM; available: ${list(known)}`, {
          position: ref.pos,
        });
      }
    }
    if (this.relations.length === 0) {
      throw userError('UNKNOWN_COLUMN', `column '${columnText(ref)}' not found: the query has no FROM clause`, { position: ref.pos });
    }
    const hits: { index: number; type: SqlType; relation: Relation }[] = [];
    for (const r of candidates) {
      const i = r.fields.findIndex((f) => f.name === ref.name);
      if (i >= 0) hits.push({ index: r.offset + i, type: r.fields[i].type, relation: r });
    }
    if (hits.length === 1) return { index: hits[0].index, type: hits[0].type };
    if (hits.length > 1) {
      const names = hits.map((h) => h.relation.name ?? '(subquery)');
      throw userError('AMBIGUOUS_COLUMN', `column '${ref.name}' is ambiguous: it is in ${names.join(' and ')}; qualify it`, {
        position: ref.pos,
      });
    }
    const where = candidates.length === 1 ? ` in table '${candidates[0].name ?? '(subquery)'}'` : '';
    const available = candidates.flatMap((r) => r.fields.map((f) => f.name));
    const caseHint = available.find((n) => n.toLowerCase() === ref.name.toLowerCase());
    const hint = caseHint ? ` (column names are case-sensitive: did you mean '${caseHint}'?)` : '';
    throw userError('UNKNOWN_COLUMN', `column '${ref.name}' not found${where}; available: ${list(available)}${hint}`, {
      position: ref.pos,
    });
  }
}
