-- The velocity benchmarks' events (\ir from bench/velocity.sql, or run
-- alone before bench/velocity_online.sql): :events events over :entities
-- entities, 5 hot entities holding 10% of them, over 30 days.
SET work_mem = '2GB';
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
\echo -- building the events
CREATE TABLE ev_bench AS
SELECT g AS id,
       CASE WHEN g % 10 = 0 THEN (g / 10) % 5
            ELSE 5 + (hashint4(g) & 2147483647) % (:entities - 5) END AS entity,
       timestamptz '2026-10-01'
         + ((hashint4(g + 7) & 2147483647) % (30 * 86400)) * interval '1 second' AS at,
       (hashint4(g + 13) & 2147483647) % 20000 AS cents,
       'dev-' || ((hashint4(g + 29) & 2147483647) % 5000) AS device
  FROM generate_series(1, :events) g;
ALTER TABLE ev_bench ADD COLUMN amount float8;
UPDATE ev_bench SET amount = cents / 100.0;
-- the plain SQL's best case: the (entity, at) index, and the table in that order
CREATE INDEX ev_bench_entity_at ON ev_bench (entity, at);
CLUSTER ev_bench USING ev_bench_entity_at;
VACUUM ANALYZE ev_bench;
