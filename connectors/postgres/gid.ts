/**
 * Global transaction ids of prepared transactions: `weir:<job>:<operator uid>:<subtask>:<checkpoint>`.
 * The job part is the job name when it is short and plain, otherwise a readable prefix plus a
 * hash of the whole name, so every gid stays within PostgreSQL's 200 characters and the prefix
 * `weir:<job>:<uid>:` finds exactly one sink's transactions of one job.
 */
import { createHash } from 'node:crypto';

const PLAIN = /^[A-Za-z0-9_.-]{1,80}$/;

function part(text: string, max: number): string {
  if (PLAIN.test(text) && text.length <= max) return text;
  const readable = text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, max - 13);
  return `${readable}~${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** The prefix shared by every gid of one job (every sink operator of it). */
export function jobGidPrefix(job: string): string {
  return `weir:${part(job, 80)}:`;
}

/** The prefix shared by every gid of one sink (job, operator) — subtask and checkpoint follow. */
export function gidPrefix(job: string, operatorUid: string): string {
  return `${jobGidPrefix(job)}${part(operatorUid, 60)}:`;
}

/**
 * The key of the commit marker written when checkpoint n's staged rows of all subtasks were moved
 * into the target; never a prepared transaction's gid (parseGid does not match it).
 */
export function appliedMarkerGid(job: string, operatorUid: string, checkpointId: number): string {
  return `${gidPrefix(job, operatorUid)}applied:${checkpointId}`;
}

/** The operator part of a gid of the job with prefix `jobPrefix`; undefined for anything else. */
export function gidOperatorPart(gid: string, jobPrefix: string): string | undefined {
  if (!gid.startsWith(jobPrefix)) return undefined;
  const m = /^([^:]+):\d+:\d+$/.exec(gid.slice(jobPrefix.length));
  return m ? m[1] : undefined;
}

/** `gidPrefix(job, uid)` for the operator part of a gid: compare gidPrefix(job, uid) with it. */
export function prefixOfOperatorPart(jobPrefix: string, operatorPart: string): string {
  return `${jobPrefix}${operatorPart}:`;
}

export function makeGid(job: string, operatorUid: string, subtask: number, checkpointId: number): string {
  return `${gidPrefix(job, operatorUid)}${subtask}:${checkpointId}`;
}

/** Subtask and checkpoint of a gid that starts with `prefix`; undefined for anything else. */
export function parseGid(gid: string, prefix: string): { subtask: number; checkpointId: number } | undefined {
  if (!gid.startsWith(prefix)) return undefined;
  const m = /^(\d+):(\d+)$/.exec(gid.slice(prefix.length));
  return m ? { subtask: Number(m[1]), checkpointId: Number(m[2]) } : undefined;
}
