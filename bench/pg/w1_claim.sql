-- W1: once-only claim of a random key; a taken key is an answer, not an error.
\set k random(0, 99999999)
INSERT INTO claims VALUES ('c:' || :k, 'o1') ON CONFLICT DO NOTHING;
