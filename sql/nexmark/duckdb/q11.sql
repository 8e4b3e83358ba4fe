-- Q11 in DuckDB (batch). A bidder's next bid starts a new session when it comes more than the gap
-- after the previous one (a bid exactly a gap later still joins: touching windows merge, as Flink's).
WITH marked AS (
  SELECT bidder, dateTime,
    CASE WHEN dateTime - LAG(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) <= INTERVAL '10 seconds' THEN 0 ELSE 1 END AS new_session
  FROM bid
),
numbered AS (
  SELECT bidder, dateTime, SUM(new_session) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS session
  FROM marked
)
SELECT bidder, COUNT(*) AS bid_count, MIN(dateTime) AS starttime, MAX(dateTime) + INTERVAL '10 seconds' AS endtime
FROM numbered
GROUP BY bidder, session;
