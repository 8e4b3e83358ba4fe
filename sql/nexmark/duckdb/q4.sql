-- Q4 in DuckDB (batch). weir's AVG of a BIGINT is a BIGINT (truncated), as Flink's: sum // count.
SELECT Q.category, CAST(SUM(Q."final") // COUNT(Q."final") AS BIGINT)
FROM (
  SELECT MAX(B.price) AS "final", A.category
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
