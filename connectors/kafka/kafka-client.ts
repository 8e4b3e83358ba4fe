/**
 * kafkajs clients for the Kafka connectors, with kafkajs' own logging routed into weir's logger
 * at debug level (weir reports failures itself, as one error naming the system and the action),
 * and the external errors those failures become.
 */
import type * as KafkaJs from 'kafkajs';
import type { Kafka, KafkaConfig as KafkaJsConfig, logCreator } from 'kafkajs';
import { externalError, isWeirError, type WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { lazyModule } from '../../src/util/lazy-module.js';
import type { KafkaClientConfig } from './kafka-options.js';

/** kafkajs, loaded when the first client is created: planning a Kafka table does not need it. */
const kafkajs = lazyModule<typeof KafkaJs>('kafkajs');

/** kafkajs retries each request this way before weir sees the failure. */
export const CLIENT_RETRY = { retries: 5, initialRetryTime: 200, maxRetryTime: 3000, factor: 0.2, multiplier: 2 } as const;

/** kafkajs' errors and warnings at info, the rest at debug: weir reports what fails itself. */
function logCreatorFor(log: Logger): logCreator {
  const { logLevel } = kafkajs();
  return () => (entry) => {
    const { message, ...rest } = entry.log;
    if (entry.level <= logLevel.WARN) log.info({ kafkajs: entry.namespace, ...rest }, message);
    else log.debug({ kafkajs: entry.namespace, ...rest }, message);
  };
}

function kafkaLogLevel(log: Logger): number {
  const { logLevel } = kafkajs();
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
    ...(config.sasl
      ? { sasl: { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as KafkaJsConfig['sasl'] }
      : {}),
  };
  return new (kafkajs().Kafka)(opts);
}

/** Failures that a restart cannot cure: the credentials or the ACLs must change first. */
const AUTH_FAILURES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
  'KafkaJSSASLAuthenticationError',
]);

/** The kafkajs error type (or name) of an authentication or authorization failure in e's cause chain. */
function authFailure(e: unknown): string | undefined {
  let cur = e as { type?: string; name?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (cur.type !== undefined && AUTH_FAILURES.has(cur.type)) return cur.type;
    if (cur.name !== undefined && AUTH_FAILURES.has(cur.name)) return cur.name;
    cur = (cur.cause ?? cur.originalError) as typeof cur;
  }
  return undefined;
}

/**
 * An external error for a failed Kafka call; weir errors pass through. Retriable (a restart may
 * find the broker back), except authentication and authorization failures: restarting with the
 * same credentials fails the same way, so the job fails at once and says what to check.
 */
export function kafkaError(e: unknown, what: string, details: Record<string, unknown> = {}): WeirError {
  if (isWeirError(e)) return e;
  const err = e as Error & { type?: string; retriable?: boolean };
  const reason = err?.message ?? String(e);
  const auth = authFailure(e);
  if (auth !== undefined) {
    return externalError(
      'KAFKA_AUTH',
      `Kafka: ${what} failed: ${reason} (${auth}: check the properties.sasl.* options and the broker's ACLs for this principal)`,
      {
        retriable: false,
        cause: e,
        details: { ...details, kafkaError: auth },
      },
    );
  }
  return externalError('KAFKA', `Kafka: ${what} failed: ${reason}`, { cause: e, details: { ...details, ...(err?.type ? { kafkaError: err.type } : {}) } });
}
