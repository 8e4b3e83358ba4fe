/**
 * The real Kafka broker for *.kafka.test.ts: started once per test run through scripts/kafka.sh
 * (a state dir per run, so a broker a user runs by hand, or another run's, is never touched) the
 * first time a test file asks for it, shared by every worker of the run (the script serializes
 * concurrent starts), and stopped by test/support/kafka-global-setup.ts when the run ends. `KAFKA_BOOTSTRAP=host:port` in the
 * environment uses that broker instead.
 */
import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { HANG_GUARD_MS } from './hang-guard.js';

const { Kafka, logLevel } = kafkajs;
const run = promisify(execFile);

export const PROJECT_DIR = resolve(import.meta.dirname, '../..');
export const KAFKA_SCRIPT = resolve(PROJECT_DIR, 'scripts/kafka.sh');
/**
 * The test run's broker state: one broker per vitest run (the run id comes from
 * kafka-global-setup.ts), apart from the `.weir/kafka` of a broker started by hand.
 */
export function testStateDir(): string {
  const run = process.env.WEIR_KAFKA_KEEP === '1' ? 'keep' : (process.env.WEIR_KAFKA_RUN ?? 'default');
  return resolve(PROJECT_DIR, '.weir/kafka-test', run);
}

export interface KafkaBroker {
  /** `127.0.0.1:PORT` */
  readonly bootstrap: string;
}

let started: Promise<KafkaBroker> | undefined;

/** Runs `scripts/kafka.sh <command>` with the given extra environment; resolves stdout. */
export async function kafkaScript(command: 'start' | 'stop' | 'status', env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(KAFKA_SCRIPT, [command], {
    env: { ...process.env, WEIR_KAFKA_STATE_DIR: testStateDir(), ...env },
    timeout: 300_000,
    maxBuffer: 1 << 20,
  });
  return stdout;
}

/** `KAFKA_BOOTSTRAP=...` from the script's output. */
export function parseBootstrap(stdout: string): string {
  const m = /KAFKA_BOOTSTRAP=(\S+)/.exec(stdout);
  if (!m) throw new Error(`scripts/kafka.sh printed no KAFKA_BOOTSTRAP: ${stdout}`);
  return m[1];
}

/** The shared test broker, started on first use. Throws when it cannot start. */
export function ensureKafka(): Promise<KafkaBroker> {
  started ??= (async () => {
    const fromEnv = process.env.KAFKA_BOOTSTRAP;
    if (fromEnv) return { bootstrap: fromEnv };
    try {
      return { bootstrap: parseBootstrap(await kafkaScript('start')) };
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`could not start the Kafka test broker (scripts/kafka.sh start): ${err.stderr?.trim() || err.message}`);
    }
  })();
  return started;
}

/**
 * The broker, or undefined (after a loud message) when it cannot start outside CI so Kafka tests
 * skip on a machine without Java or Maven. In CI (`CI=true`) a missing broker fails the run.
 */
export async function kafkaOrSkip(): Promise<KafkaBroker | undefined> {
  try {
    return await ensureKafka();
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    process.stderr.write(`\n*** SKIPPING KAFKA TESTS: ${(e as Error).message}\n*** (in CI, CI=true, this is a failure)\n\n`);
    return undefined;
  }
}

/** A kafkajs client for test fixtures (quiet, short retries). */
export function kafkaClient(bootstrap: string, clientId = 'weir-test'): InstanceType<typeof Kafka> {
  return new Kafka({
    brokers: [bootstrap],
    clientId,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

let topicSeq = 0;

/** A topic name unique in this test run. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicSeq++}`;
}

/** Retries a call while Kafka answers with a retriable error (leaders still being elected). */
export async function retryTransient<T>(fn: () => Promise<T>, budgetMs = HANG_GUARD_MS): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if ((e as { retriable?: boolean }).retriable !== true || Date.now() - started > budgetMs) throw e;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

/** Creates topics (waiting for their leaders). */
export async function createTopics(bootstrap: string, topics: readonly { topic: string; partitions: number }[]): Promise<void> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

export interface TestMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly timestamp?: number;
}

/** Writes messages (idempotent producer, in order, acks=all). */
export async function produce(bootstrap: string, topic: string, messages: readonly TestMessage[], chunk = 5000): Promise<void> {
  const producer = kafkaClient(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + chunk).map((m) => ({
          key: m.key ?? null,
          value: m.value,
          ...(m.partition !== undefined ? { partition: m.partition } : {}),
          ...(m.timestamp !== undefined ? { timestamp: String(m.timestamp) } : {}),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Record<string, string>;
}

/**
 * Every committed message of a topic (isolation read_committed), read with the topic's end
 * offsets at call time as the bound. Uses a consumer group of its own.
 */
export async function readTopic(bootstrap: string, topic: string, opts: { readUncommitted?: boolean; timeoutMs?: number } = {}): Promise<ReadMessage[]> {
  const client = kafkaClient(bootstrap);
  const admin = client.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic));
    ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const out: ReadMessage[] = [];
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  if (pending.size === 0) return out;
  const consumer = client.consumer({ groupId: `weir-test-reader-${uniqueTopic('g')}`, readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    const done = new Promise<void>((resolveDone, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`readTopic(${topic}): timed out (an open transaction?); partitions not read to the end: ${[...pending].join(',')}`)),
        opts.timeoutMs ?? HANG_GUARD_MS,
      );
      // Batches that hold only transaction markers or aborted records reach no eachBatch call but
      // do end a batch: that is where the progress towards the end offset shows.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic !== topic) return;
        if (Number(payload.lastOffset) + 1 >= ends.get(payload.partition)!) pending.delete(payload.partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolveDone();
        }
      });
      consumer
        .subscribe({ topic, fromBeginning: true })
        .then(() =>
          consumer.run({
            eachBatchAutoResolve: true,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                const headers: Record<string, string> = {};
                for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
                out.push({ partition: batch.partition, offset: Number(m.offset), key: m.key, value: m.value, timestamp: Number(m.timestamp), headers });
              }
            },
          }),
        )
        .catch(reject);
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  const seen = new Set<string>();
  return out
    .filter((m) => {
      // A rebalance can hand a batch out twice; offsets identify messages.
      const id = `${m.partition}:${m.offset}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/**
 * The committed records of a topic as Kafka's own Java consumer reads them (`scripts/kafka.sh
 * consume`: ConsoleConsumer, isolation read_committed, from the beginning), one record value per
 * line, so a test can check a topic without trusting weir's or kafkajs' reading of it. A Kafka
 * consumer has no end of input: reading stops once `stop(line)` has accepted a line (typically the
 * last of the sentinels the test wrote after everything else), and the consumer is killed.
 * `hangGuardMs` only bounds a consumer that never sees that line.
 */
export async function consumeCommittedWithJava(
  bootstrap: string,
  topic: string,
  stop: (line: string) => boolean,
  opts: { hangGuardMs?: number; args?: readonly string[] } = {},
): Promise<string[]> {
  const child = spawn(KAFKA_SCRIPT, ['consume', topic, ...(opts.args ?? [])], {
    env: { ...process.env, WEIR_KAFKA_STATE_DIR: testStateDir(), KAFKA_BOOTSTRAP: bootstrap },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    await new Promise<void>((resolveDone, reject) => {
      const guard = setTimeout(
        () => reject(new Error(`the Java consumer of '${topic}' never reached its last line (${lines.length} lines read); stderr: ${stderr.trim()}`)),
        opts.hangGuardMs ?? HANG_GUARD_MS,
      );
      const rl = createInterface({ input: child.stdout });
      rl.on('line', (line) => {
        lines.push(line);
        let last: boolean;
        try {
          last = stop(line);
        } catch (e) {
          clearTimeout(guard);
          reject(e as Error);
          return;
        }
        if (last) {
          clearTimeout(guard);
          rl.close();
          resolveDone();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(guard);
        reject(new Error(`scripts/kafka.sh consume ${topic} ended (${code ?? signal}) before its last line (${lines.length} lines read): ${stderr.trim()}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  }
  return lines;
}

const SENTINEL_KEY = '__weir_test_sentinel__';

/**
 * Every committed record of `topic` (its `partitions` partitions) as Kafka's Java consumer reads
 * it, key and value as text (`null` for a missing one). It first writes one sentinel record per
 * partition, so call it once the writers are done: the read ends when all of them have arrived
 * (sentinels of earlier calls are left out too).
 * Keys and values must not hold tabs or newlines (JSON payloads do not).
 */
export async function readCommittedWithJava(bootstrap: string, topic: string, partitions: number): Promise<{ key: string; value: string }[]> {
  // This call's own sentinels: a topic read before holds older ones.
  const nonce = `${process.pid}-${Date.now()}-${Math.random()}`;
  await produce(
    bootstrap,
    topic,
    Array.from({ length: partitions }, (_, p) => ({ key: SENTINEL_KEY, value: `${nonce}/${p}`, partition: p })),
  );
  const seen = new Set<string>();
  const lines = await consumeCommittedWithJava(
    bootstrap,
    topic,
    (line) => {
      const [key, value] = line.split('\t');
      if (key === SENTINEL_KEY && value.startsWith(`${nonce}/`)) seen.add(value);
      return seen.size === partitions;
    },
    { args: ['--property', 'print.key=true', '--property', 'key.separator=\t'] },
  );
  return lines
    .map((line) => {
      const tab = line.indexOf('\t');
      return { key: line.slice(0, tab), value: line.slice(tab + 1) };
    })
    .filter((r) => r.key !== SENTINEL_KEY);
}
