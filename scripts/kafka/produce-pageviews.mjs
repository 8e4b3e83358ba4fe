#!/usr/bin/env node
// Writes page-view events (JSON) into a Kafka topic for sql/examples/kafka_pageviews.sql,
// creating the topic when it does not exist. Event i is deterministic:
//   {"user_id": (i * 7919) % users, "page": "/page/<i % 50>", "viewed_at": "2024-01-01 00:00:00.000" + i * 10 ms}
// so a run of N events gives every user a known count.
//
//   node scripts/kafka/produce-pageviews.mjs [--bootstrap 127.0.0.1:9092] [--topic pageviews]
//        [--partitions 4] [--count 100000] [--from 0] [--rate 10000] [--users 1000]
//
// --rate is events per second (0: as fast as possible). The bootstrap defaults to
// $KAFKA_BOOTSTRAP, then 127.0.0.1:9092.
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

function args() {
  const out = {
    bootstrap: process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092',
    topic: 'pageviews',
    partitions: 4,
    count: 100_000,
    from: 0,
    rate: 10_000,
    users: 1000,
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in out) || argv[i + 1] === undefined) {
      console.error(`usage: produce-pageviews.mjs [--${Object.keys(out).join(' N] [--')} N]`);
      process.exit(2);
    }
    out[key] = typeof out[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return out;
}

const BASE = Date.UTC(2024, 0, 1);
const pad = (n, w = 2) => String(n).padStart(w, '0');
function sqlTimestamp(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function pageview(i, users) {
  return { user_id: (i * 7919) % users, page: `/page/${i % 50}`, viewed_at: sqlTimestamp(BASE + i * 10) };
}

async function main() {
  const o = args();
  const kafka = new Kafka({ brokers: [o.bootstrap], clientId: 'weir-pageviews', logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(o.topic)) {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: o.topic, numPartitions: o.partitions, replicationFactor: 1 }] });
    console.log(`created topic ${o.topic} (${o.partitions} partitions)`);
  }
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = Date.now();
  const chunk = o.rate > 0 ? Math.max(1, Math.min(5000, Math.floor(o.rate / 10))) : 5000;
  let sent = 0;
  for (let i = o.from; i < o.from + o.count; i += chunk) {
    const n = Math.min(chunk, o.from + o.count - i);
    const messages = [];
    for (let j = i; j < i + n; j++) {
      const v = pageview(j, o.users);
      messages.push({ key: String(v.user_id), value: JSON.stringify(v) });
    }
    await producer.send({ topic: o.topic, acks: -1, messages });
    sent += n;
    if (o.rate > 0) {
      const due = started + (sent / o.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (sent % 50_000 < n) console.log(`${sent} page views written`);
  }
  await producer.disconnect();
  console.log(`wrote ${sent} page views to ${o.topic} at ${o.bootstrap} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`produce-pageviews: ${e.message}`);
    process.exit(1);
  });
}
