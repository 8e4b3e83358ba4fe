-- Q22 in DuckDB (batch). SPLIT_INDEX is 0-based and NULL out of range, as a 1-based list index.
SELECT auction, bidder, price, channel,
  string_split(url, '/')[4] AS dir1, string_split(url, '/')[5] AS dir2, string_split(url, '/')[6] AS dir3
FROM bid;
