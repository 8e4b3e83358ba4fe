/**
 * kafkajs clients for the Kafka connectors, with kafkajs' own logging routed into weir's logger
 * at debug level (weir reports failures itself, as one error naming the system and the action),
 * and the external errors those failures become.
 */
import kafkajs from 'kafkajs';
import type { Kafka, KafkaConfig as KafkaJsConfig, logCreator } from 'kafkajs';
import { externalError, isWeirError, type WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { KafkaClientConfig } from './kafka-options.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

/** kafkajs retries each request this way before weir sees the failure. */
export const CLIENT_RETRY = { retries: 5, initialRetryTime: 200, maxRetryTime: 3000, factor: 0.2, multiplier: 2 } as const;

/** kafkajs' errors and warnings at info, the rest at debug: weir reports what fails itself. */
function logCreatorFor(log: Logger): logCreator {
  return () => (entry) => {
    const { message, ...rest } = entry.log;
    if (entry.level <= logLevel.WARN) log.info({ kafkajs: entry.namespace, ...rest }, message);
    else log.debug({ kafkajs: entry.namespace, ...rest }, message);
  };
}

function kafkaLogLevel(log: Logger): number {
  if (log.isLevelEnabled('debug')) return logLevel.DEBUG;
  if (log.isLevelEnabled('info')) return logLevel.WARN;
  return logLevel.NOTHING;
}

export function createKafkaClient(config: KafkaClientConfig, log: Logger, clientIdSuffix = ''): Kafka {
  const opts: KafkaJsConfig = {
    brokers: [...config.brokers],
    clientId: `${config.clientId}${clientIdSuffix}`,
    connectionTimeout: 3000,
    ...(config.requestTimeoutMs !== undefined ? { requestTimeout: config.requestTimeoutMs } : {}),
    retry: { ...CLIENT_RETRY },
    logLevel: kafkaLogLevel(log),
    logCreator: logCreatorFor(log),
    ...(config.ssl ? { ssl: true } : {}),
    ...(config.sasl ? { sasl: { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as KafkaJsConfig['sasl'] } : {}),
  };
  return new KafkaClient(opts);
}

/** An external (retriable) error for a failed Kafka call; weir errors pass through. */
export function kafkaError(e: unknown, what: string, details: Record<string, unknown> = {}): WeirError {
  if (isWeirError(e)) return e;
  const err = e as Error & { type?: string; retriable?: boolean };
  const reason = err?.message ?? String(e);
  return externalError('KAFKA', `Kafka: ${what} failed: ${reason}`, { cause: e, details: { ...details, ...(err?.type ? { kafkaError: err.type } : {}) } });
}
