-- Tables for the PostgreSQL side of bench/run.sh (W1 claims, W2 flash sale, W3 transfers,
-- W5 rate limits; W4 uses advisory locks and needs no table).
CREATE TABLE claims (k text PRIMARY KEY, owner text NOT NULL);

CREATE TABLE stock (id int PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0));
INSERT INTO stock VALUES (1, 1000000000);
CREATE TABLE winners (u bigint PRIMARY KEY);

-- Payers are ids 0..4999, payees 5000..9999 (see docs/benchmarks.md for why two pools).
CREATE TABLE accounts (id int PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0));
INSERT INTO accounts SELECT i, 1000000 FROM generate_series(0, 9999) AS i;
CREATE TABLE transfers (id text PRIMARY KEY, src int NOT NULL, dst int NOT NULL,
                        amount bigint NOT NULL, outcome text NOT NULL);
-- W5: one fixed window per key: its start and the requests counted in it.
CREATE TABLE limits (k int PRIMARY KEY, window_start timestamptz NOT NULL, n int NOT NULL);
VACUUM ANALYZE;
CHECKPOINT;
