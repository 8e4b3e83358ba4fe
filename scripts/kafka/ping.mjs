// Exits 0 when the Kafka broker at argv[2] (host:port) answers a metadata request, 1 otherwise.
// Used by scripts/kafka.sh to wait for a starting broker.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const kafka = new Kafka({
  brokers: [process.argv[2]],
  clientId: 'weir-kafka-ping',
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  await admin.listTopics();
  await admin.disconnect();
  process.exit(0);
} catch {
  process.exit(1);
}
