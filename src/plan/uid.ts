/**
 * Operator uids derived from the plan: `<kind>-<first 12 hex of sha256(kind, canonical
 * description, input uids)>`. The same SQL gives the same uids (so state restores onto the same
 * operators); changing an operator changes its uid and the uids of everything downstream.
 */
import { createHash } from 'node:crypto';
import { formatType, type Schema } from '../model/types.js';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function operatorUid(kind: string, canonical: string, inputUids: readonly string[]): string {
  return `${kind}-${sha256Hex(`${kind}\n${canonical}\n${inputUids.join(',')}`).slice(0, 12)}`;
}

/** `name TYPE, ...`: part of canonical descriptions and of the plan fingerprint. */
export function schemaText(schema: Schema): string {
  return schema.fields.map((f) => `${f.name} ${formatType(f.type)}`).join(', ');
}

/** Allocates uids unique within one graph: identical sub-plans (the same table scanned twice) get an occurrence suffix in their hash. */
export class UidAllocator {
  private readonly used = new Set<string>();

  allocate(kind: string, canonical: string, inputUids: readonly string[]): string {
    let uid = operatorUid(kind, canonical, inputUids);
    for (let n = 2; this.used.has(uid); n++) uid = operatorUid(kind, `${canonical}\n#${n}`, inputUids);
    this.used.add(uid);
    return uid;
  }
}
