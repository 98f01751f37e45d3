-- W5: fixed-window rate limit, 100 per 1,000 ms, on one of 100,000 keys. One upsert
-- counts the request: a row whose window has ended starts a new one at count 1.
-- `allowed` is returned as the answer; a limited request is not an error.
\set k random(0, 99999)
INSERT INTO limits AS l VALUES (:k, clock_timestamp(), 1)
  ON CONFLICT (k) DO UPDATE SET
    window_start = CASE WHEN l.window_start + interval '1000 ms' <= clock_timestamp()
                        THEN clock_timestamp() ELSE l.window_start END,
    n = CASE WHEN l.window_start + interval '1000 ms' <= clock_timestamp()
             THEN 1 ELSE l.n + 1 END
  RETURNING n <= 100 AS allowed;
