-- Feature-set batch benchmark (run by bench/run): :events events over 30
-- days at one-second resolution, a third of them in same-second pairs of
-- the same buyer (ties, ordered by id); two entity kinds: buyer (100,000)
-- with counts and sums over 1 hour, 1 day and 7 days strictly before the
-- event, and card (30,000) with counts and sums over 1, 7 and 30 days
-- delayed by 7 days (the window (t - 7 days - w, t - 7 days]).  The feature
-- set's batch function against plain SQL window functions, in one backend,
-- best of two runs each; numpy's time on the same values (searchsorted on
-- sorted arrays) is measured by bench/feature_set.py on the rows written
-- to :dir/fs_events.bin.
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET work_mem = '2GB';
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
\ir best_ms.sql

-- deterministic: a multiplicative hash of the pair (or of the event) picks
-- the second, the buyer and the card; the amount in cents from the event
CREATE TABLE fs_events AS
SELECT i AS id,
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => (h_at % 2592000)::float8) AS at,
       h_a % 100000 AS buyer, (i * 40503 + 17) % 4294967291 % 30000 AS card,
       (i * 69069 + 1) % 4294967291 % 20000 AS cents
  FROM (SELECT i, (CASE WHEN pair THEN g ELSE i + 10000000 END * 2654435761 + 97) % 4294967291 AS h_at,
               (CASE WHEN pair THEN g ELSE i + 10000000 END * 2246822519 + 13) % 4294967291 AS h_a
          FROM (SELECT i, (i + 1) / 2 AS g, ((i + 1) / 2) % 3 = 0 AS pair
                  FROM generate_series(1::bigint, :events) i) s) s;
ALTER TABLE fs_events ADD PRIMARY KEY (id), ADD COLUMN amount float8;
UPDATE fs_events SET amount = cents / 100.0;
VACUUM ANALYZE fs_events;
SELECT count(*) AS tied FROM (SELECT buyer, at FROM fs_events GROUP BY 1, 2 HAVING count(*) > 1) t \gset

SELECT risk.create_feature_set('fsbench', 'fs_events', 'at', tie_break => 'id') IS NULL AS created \gset
SELECT count(*) AS declared FROM (VALUES
  (risk.add_feature('fsbench', 'buyer_n_1h', 'count(*)', per => 'buyer', within => '1 hour')),
  (risk.add_feature('fsbench', 'buyer_s_1h', 'sum(amount)', per => 'buyer', within => '1 hour')),
  (risk.add_feature('fsbench', 'buyer_n_1d', 'count(*)', per => 'buyer', within => '1 day')),
  (risk.add_feature('fsbench', 'buyer_s_1d', 'sum(amount)', per => 'buyer', within => '1 day')),
  (risk.add_feature('fsbench', 'buyer_n_7d', 'count(*)', per => 'buyer', within => '7 days')),
  (risk.add_feature('fsbench', 'buyer_s_7d', 'sum(amount)', per => 'buyer', within => '7 days')),
  (risk.add_feature('fsbench', 'card_n_1d', 'count(*)', per => 'card', within => '1 day', delay => '7 days')),
  (risk.add_feature('fsbench', 'card_s_1d', 'sum(amount)', per => 'card', within => '1 day', delay => '7 days')),
  (risk.add_feature('fsbench', 'card_n_7d', 'count(*)', per => 'card', within => '7 days', delay => '7 days')),
  (risk.add_feature('fsbench', 'card_s_7d', 'sum(amount)', per => 'card', within => '7 days', delay => '7 days')),
  (risk.add_feature('fsbench', 'card_n_30d', 'count(*)', per => 'card', within => '30 days', delay => '7 days')),
  (risk.add_feature('fsbench', 'card_s_30d', 'sum(amount)', per => 'card', within => '30 days', delay => '7 days'))) f \gset

CREATE TABLE fs_result (what text PRIMARY KEY, ms float8);
\echo -- timing (best of 2 runs each)
-- the floor: the same two sorts and a trivial window function over each
INSERT INTO fs_result SELECT 'floor', pg_temp.best_ms($$
  SELECT count(x) + count(y) FROM (SELECT lag(id) OVER (PARTITION BY card ORDER BY at, id) AS y, x
    FROM (SELECT *, lag(id) OVER (PARTITION BY buyer ORDER BY at, id) AS x FROM fs_events) s) s$$);
-- the feature set's batch function: every feature of every event
INSERT INTO fs_result SELECT 'feature_set', pg_temp.best_ms($$
  SELECT sum(buyer_n_1h + coalesce(buyer_s_1h, 0) + buyer_n_1d + coalesce(buyer_s_1d, 0) + buyer_n_7d + coalesce(buyer_s_7d, 0) +
             card_n_1d + coalesce(card_s_1d, 0) + card_n_7d + coalesce(card_s_7d, 0) +
             card_n_30d + coalesce(card_s_30d, 0))
    FROM fsbench_features()$$);
-- plain SQL, what an analyst writes: RANGE frames (exact windows, not
-- tiled), strictly earlier seconds plus the same second's lower ids for
-- the buyer; the delayed windows as frames ending 7 days back
INSERT INTO fs_result SELECT 'sql_window', pg_temp.best_ms($$
  SELECT sum(n1 + t_n + coalesce(s1, 0) + t_s + n2 + coalesce(s2, 0) + n3 + coalesce(s3, 0) +
             m1 + coalesce(r1, 0) + m2 + coalesce(r2, 0) + m3 + coalesce(r3, 0))
    FROM (SELECT count(*) OVER w1 AS n1, sum(cents) OVER w1 AS s1,
                 count(*) OVER w2 AS n2, sum(cents) OVER w2 AS s2,
                 count(*) OVER w3 AS n3, sum(cents) OVER w3 AS s3,
                 count(*) OVER t - 1 AS t_n, sum(cents) OVER t - cents AS t_s,
                 count(*) OVER v1 AS m1, sum(cents) OVER v1 AS r1,
                 count(*) OVER v2 AS m2, sum(cents) OVER v2 AS r2,
                 count(*) OVER v3 AS m3, sum(cents) OVER v3 AS r3
            FROM fs_events
          WINDOW w1 AS (PARTITION BY buyer ORDER BY at RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING),
                 w2 AS (PARTITION BY buyer ORDER BY at RANGE BETWEEN '1 day' PRECEDING AND '1 microsecond' PRECEDING),
                 w3 AS (PARTITION BY buyer ORDER BY at RANGE BETWEEN '7 days' PRECEDING AND '1 microsecond' PRECEDING),
                 t AS (PARTITION BY buyer, at ORDER BY id),
                 v1 AS (PARTITION BY card ORDER BY at RANGE BETWEEN '8 days' PRECEDING AND '7 days' PRECEDING),
                 v2 AS (PARTITION BY card ORDER BY at RANGE BETWEEN '14 days' PRECEDING AND '7 days' PRECEDING),
                 v3 AS (PARTITION BY card ORDER BY at RANGE BETWEEN '37 days' PRECEDING AND '7 days' PRECEDING)) s$$);

-- a weighted checksum of each feature, for numpy's values to be compared
-- with: sum over events of value * (id * 2654435761 mod 1000 + 1)
CREATE TABLE fs_checksum AS
SELECT sum(buyer_n_1h * w) AS buyer_n_1h, sum(coalesce(buyer_s_1h, 0) * w) AS buyer_s_1h,
       sum(buyer_n_1d * w) AS buyer_n_1d, sum(coalesce(buyer_s_1d, 0) * w) AS buyer_s_1d,
       sum(buyer_n_7d * w) AS buyer_n_7d, sum(coalesce(buyer_s_7d, 0) * w) AS buyer_s_7d,
       sum(card_n_1d * w) AS card_n_1d, sum(coalesce(card_s_1d, 0) * w) AS card_s_1d,
       sum(card_n_7d * w) AS card_n_7d, sum(coalesce(card_s_7d, 0) * w) AS card_s_7d,
       sum(card_n_30d * w) AS card_n_30d, sum(coalesce(card_s_30d, 0) * w) AS card_s_30d
  FROM (SELECT f.*, ((f.id * 2654435761) % 1000 + 1)::float8 AS w FROM fsbench_features() f) s;

-- the events for numpy: COPY BINARY of id, second (since 2026-01-01), buyer, card, cents
\set f :dir '/fs_events.bin'
COPY (SELECT id, extract(epoch FROM at - '2026-01-01 00:00:00+00')::bigint, buyer, card, cents
        FROM fs_events) TO :'f' (FORMAT binary);
