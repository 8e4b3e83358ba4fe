-- Page views per user: a Kafka topic -> a keyed count -> a DuckDB table, exactly once.
-- Walkthrough (README, "Kafka"): start a broker, write page views, run this job, kill it with
-- SIGKILL, restart it with --from-checkpoint latest, and the counts come out exact.
--
--   export "$(scripts/kafka.sh start)"   # sets KAFKA_BOOTSTRAP, which this job reads
--   node scripts/kafka/produce-pageviews.mjs --count 300000 --rate 20000 &
--   npx weir run sql/examples/kafka_pageviews.sql

SET 'pipeline.name' = 'kafka_pageviews';
SET 'execution.checkpointing.interval' = '1 s';
SET 'parallelism.default' = '2';

CREATE TABLE pageviews (
  user_id         BIGINT,
  page            STRING,
  viewed_at       TIMESTAMP(3),
  kafka_partition INT    METADATA FROM 'partition' VIRTUAL,
  kafka_offset    BIGINT METADATA FROM 'offset' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = 'pageviews',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
  -- offsets are committed to this group when a checkpoint completes (for monitoring only:
  -- a restore starts from the offsets in the checkpoint)
  'properties.group.id' = 'weir-pageviews',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json'
);

CREATE TABLE views_per_user (
  user_id   BIGINT,
  views     BIGINT,
  last_view TIMESTAMP(3),
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'duckdb',
  'path' = '.weir/pageviews.duckdb',
  'table-name' = 'views_per_user'
);

INSERT INTO views_per_user
SELECT user_id, COUNT(*) AS views, MAX(viewed_at) AS last_view
FROM pageviews
GROUP BY user_id;
