-- Q8 in DuckDB (batch). TUMBLE(10 s) as 10-second buckets.
SELECT P.id, P.name, P.starttime
FROM (
  SELECT DISTINCT id, name, time_bucket(INTERVAL '10 seconds', dateTime) AS starttime FROM person
) P
JOIN (
  SELECT DISTINCT seller, time_bucket(INTERVAL '10 seconds', dateTime) AS starttime FROM auction
) A
ON P.id = A.seller AND P.starttime = A.starttime;
