-- W4: acquire and release one of 10,000 named locks. The advisory lock is taken
-- inside a transaction and released by its COMMIT; false (someone else holds it)
-- is an answer, not an error.
\set k random(0, 9999)
BEGIN;
SELECT pg_try_advisory_xact_lock(:k) AS got \gset
COMMIT;
