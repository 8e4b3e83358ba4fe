/**
 * vitest globalSetup: gives the run an id (its Kafka broker state lives in
 * `.weir/kafka-test/<id>`, so concurrent vitest runs never share or stop each other's broker) and
 * stops the run's broker at the end, if a Kafka test started one (test/support/kafka.ts starts it
 * lazily: runs without Kafka tests never start a JVM). WEIR_KAFKA_KEEP=1 keeps one broker
 * (`.weir/kafka-test/keep`) running across runs, for quick local iterations.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaScript, testStateDir } from './kafka.js';

export default function setup(): () => Promise<void> {
  process.env.WEIR_KAFKA_RUN ??= randomBytes(4).toString('hex');
  const stateDir = testStateDir();
  return async () => {
    if (process.env.KAFKA_BOOTSTRAP || process.env.WEIR_KAFKA_KEEP === '1') return;
    if (existsSync(join(stateDir, 'broker.env'))) {
      await kafkaScript('stop').catch((e: unknown) => process.stderr.write(`kafka test broker: stop failed: ${(e as Error).message}\n`));
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
}
