import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaError } from '../../../connectors/kafka/kafka-client.js';
import { classifyFailure } from '../../../src/job/restart-strategy.js';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };
const { KafkaJSNumberOfRetriesExceeded, KafkaJSSASLAuthenticationError, KafkaJSConnectionError } = kafkajs;

describe('Kafka errors and restarts', () => {
  it('authentication and authorization failures fail the job at once; a broker that is away is retried', () => {
    // 31 CLUSTER_AUTHORIZATION_FAILED, 29 TOPIC_AUTHORIZATION_FAILED, 58 SASL_AUTHENTICATION_FAILED
    for (const code of [29, 31, 58]) {
      const e = kafkaError(new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(code), { retryCount: 5, retryTime: 100 }), 'fetching');
      expect(e.code).toBe('KAFKA_AUTH');
      expect(classifyFailure(e)).toBe('fatal');
      expect(e.message).toMatch(/properties\.sasl\.\* options and the broker's ACLs/);
    }
    const sasl = kafkaError(new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('SASL PLAIN authentication failed'), 'connecting');
    expect(classifyFailure(sasl)).toBe('fatal');
    const away = kafkaError(
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { retryCount: 5, retryTime: 100 }),
      'fetching',
    );
    expect(away.code).toBe('KAFKA');
    expect(classifyFailure(away)).toBe('retriable');
  });
});
