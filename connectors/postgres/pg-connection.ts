/**
 * pg clients for the sink: connected with the resolved config, with an 'error' listener (an idle
 * client whose server goes away emits one; unhandled it would crash the process — the next query
 * fails instead), and closed with a deadline so a dead server cannot hang a shutdown.
 */
import type pg from 'pg';
import { lazyModule } from '../../src/util/lazy-module.js';
import type { PgConnectionConfig } from './postgres-options.js';

/** pg, loaded when the sink first connects: planning a PostgreSQL table does not need it. */
const pgModule = lazyModule<typeof pg>('pg');

export interface PgClientOptions {
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
  /** Statements run right after connecting (session settings). */
  readonly setup?: readonly string[];
}

export async function connectPg(config: PgConnectionConfig, options: PgClientOptions): Promise<pg.Client> {
  const client = new (pgModule().Client)({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.ssl,
    application_name: options.applicationName.slice(0, 63),
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  client.on('error', () => {
    // The client is now unusable; its next query rejects and the caller's error handling runs.
  });
  try {
    await client.connect();
    for (const sql of options.setup ?? []) await client.query(sql);
  } catch (e) {
    await closePg(client);
    throw e;
  }
  return client;
}

/** Ends a client; after `deadlineMs` the socket is destroyed instead. Never throws. */
export async function closePg(client: pg.Client | undefined, deadlineMs = 2000): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        resolve();
      }, deadlineMs);
    }),
  ]);
  clearTimeout(timer);
}
