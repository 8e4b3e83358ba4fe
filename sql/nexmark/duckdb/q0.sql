-- Q0 in DuckDB (batch): the same rows as the stream.
SELECT auction, bidder, price, dateTime, extra FROM bid;
