-- W3: move 1 from a random payer to a random payee, idempotent by a random id.
-- Both rows are locked in id order (no deadlocks), the id's first outcome is
-- stored under its primary key, and the balances move only when it is `ok`.
\set a random(0, 4999)
\set b random(5000, 9999)
\set t random(0, 999999999999)
BEGIN;
SELECT max(n) FILTER (WHERE id = :a) AS bal
  FROM (SELECT id, n FROM accounts WHERE id IN (:a, :b) ORDER BY id FOR UPDATE) AS locked \gset
WITH ins AS (
  INSERT INTO transfers VALUES ('t:' || :t, :a, :b, 1,
                                CASE WHEN :bal >= 1 THEN 'ok' ELSE 'insufficient' END)
  ON CONFLICT DO NOTHING RETURNING outcome)
  SELECT count(*) FILTER (WHERE outcome = 'ok') AS go FROM ins \gset
\if :go
UPDATE accounts SET n = n + CASE WHEN id = :a THEN -1 ELSE 1 END WHERE id IN (:a, :b);
\endif
COMMIT;
