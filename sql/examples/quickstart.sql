-- weir quickstart: generated orders -> revenue per customer -> a DuckDB file, exactly once.
-- Run it with `npm run quickstart` (or `npx weir run sql/examples/quickstart.sql --show-result`).

SET 'pipeline.name' = 'quickstart';
SET 'execution.checkpointing.interval' = '1 s';
SET 'parallelism.default' = '2';

CREATE TABLE orders (
  order_id    BIGINT,
  customer_id INT,
  amount      DECIMAL(10, 2),
  status      STRING
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '100000',
  'fields.order_id.kind' = 'sequence',
  'fields.order_id.start' = '1',
  'fields.order_id.end' = '300000',
  'fields.customer_id.min' = '1',
  'fields.customer_id.max' = '10',
  'fields.amount.min' = '1',
  'fields.amount.max' = '500',
  'fields.status.length' = '1'
);

CREATE TABLE revenue_per_customer (
  customer_id INT,
  orders      BIGINT,
  revenue     DECIMAL(38, 2),
  biggest     DECIMAL(10, 2),
  PRIMARY KEY (customer_id) NOT ENFORCED
) WITH (
  'connector' = 'duckdb',
  'path' = '.weir/quickstart.duckdb',
  'table-name' = 'revenue_per_customer'
);

INSERT INTO revenue_per_customer
SELECT customer_id, COUNT(*) AS orders, SUM(amount) AS revenue, MAX(amount) AS biggest
FROM orders
WHERE amount > 10
GROUP BY customer_id;
