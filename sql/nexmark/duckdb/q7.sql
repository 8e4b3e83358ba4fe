-- Q7 in DuckDB (batch). TUMBLE(10 s): window_end is the 10-second bucket plus 10 s.
SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
FROM bid B
JOIN (
  SELECT MAX(price) AS maxprice, time_bucket(INTERVAL '10 seconds', dateTime) + INTERVAL '10 seconds' AS dateTime
  FROM bid
  GROUP BY time_bucket(INTERVAL '10 seconds', dateTime)
) B1
ON B.price = B1.maxprice
WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10 seconds' AND B1.dateTime;
