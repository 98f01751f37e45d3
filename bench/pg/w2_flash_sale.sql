-- W2: "if this user has not won and stock > 0, take one", in one transaction.
-- The winner row is inserted first (the unique index serializes a user's
-- concurrent tries), then the hot stock row is decremented; either refusal
-- rolls the whole transaction back.
\set u random(0, 99999999)
BEGIN;
WITH w AS (INSERT INTO winners VALUES (:u) ON CONFLICT DO NOTHING RETURNING 1)
  SELECT count(*) AS fresh FROM w \gset
\if :fresh
WITH s AS (UPDATE stock SET n = n - 1 WHERE id = 1 AND n > 0 RETURNING 1)
  SELECT count(*) AS took FROM s \gset
\if :took
COMMIT;
\else
ROLLBACK;
\endif
\else
ROLLBACK;
\endif
