-- Q5 in DuckDB (batch). HOP(2 s slide, 10 s size): each bid is in the 5 windows starting at its
-- 2-second bucket and the 4 buckets before it.
WITH hop AS (
  SELECT B.auction, time_bucket(INTERVAL '2 seconds', B.dateTime) - k * INTERVAL '2 seconds' AS starttime
  FROM bid B, range(5) AS r(k)
),
AuctionBids AS (SELECT auction, COUNT(*) AS num, starttime FROM hop GROUP BY auction, starttime),
MaxBids AS (SELECT MAX(num) AS maxn, starttime FROM AuctionBids GROUP BY starttime)
SELECT AuctionBids.auction, AuctionBids.num
FROM AuctionBids JOIN MaxBids ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.num >= MaxBids.maxn;
