/**
 * Housekeeping of the sink's prepared transactions in pg_prepared_xacts: listing them by gid
 * prefix (this database only), rolling one back idempotently, and rolling back those of sink
 * operators a job no longer has.
 */
import type pg from 'pg';
import { liveSinkUids } from './apply-group.js';
import { gidOperatorPart, gidPrefix, jobGidPrefix, prefixOfOperatorPart } from './gid.js';
import { sqlState } from './pg-errors.js';
import { quoteLiteral } from './pg-values.js';

/** gids of this database's prepared transactions that start with `prefix`, sorted. */
export async function preparedWithPrefix(client: pg.Client, prefix: string): Promise<string[]> {
  const r = await client.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND left(gid, length($1)) = $1 ORDER BY gid',
    [prefix],
  );
  return r.rows.map((row) => row.gid);
}

/** True when this call rolled it back; false when it was no longer prepared. */
export async function rollbackPrepared(client: pg.Client, gid: string): Promise<boolean> {
  try {
    await client.query(`ROLLBACK PREPARED ${quoteLiteral(gid)}`);
    return true;
  } catch (e) {
    if (sqlState(e) !== '42704') throw e;
    return false;
  }
}

/**
 * Rolls back the prepared transactions of `job` whose sink operator has no writer in this
 * process: a sink the job no longer has (its query changed). Never another job's: the job part
 * of a gid ends at a ':' that no job part contains. Returns the gids rolled back.
 */
export async function rollbackRemovedSinks(client: pg.Client, job: string): Promise<string[]> {
  const jobPrefix = jobGidPrefix(job);
  const live = new Set(liveSinkUids(job).map((uid) => gidPrefix(job, uid)));
  const removed: string[] = [];
  for (const gid of await preparedWithPrefix(client, jobPrefix)) {
    const operator = gidOperatorPart(gid, jobPrefix);
    if (operator === undefined || live.has(prefixOfOperatorPart(jobPrefix, operator))) continue;
    if (await rollbackPrepared(client, gid)) removed.push(gid);
  }
  return removed;
}
