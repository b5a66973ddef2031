-- Velocity benchmark (run by bench/run): :events events over :entities
-- entities, skewed (5 hot entities hold 10% of the events), 30 days; the
-- feature pack over 4 windows (10 min, 1 hour, 24 hours, 7 days), strictly
-- before each event.  Times in one backend, best of two runs each.
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET work_mem = '2GB';
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;

\ir velocity_events.sql
SELECT count(*) AS hot_events FROM ev_bench WHERE entity < 5 \gset

\ir best_ms.sql

CREATE TABLE velocity_result (what text PRIMARY KEY, ms float8, rows bigint);
\echo -- timing (best of 2 runs each)
-- the floor: the same sort and one trivial window function
INSERT INTO velocity_result SELECT 'floor', pg_temp.best_ms($$
  SELECT count(x) FROM (SELECT lag(cents) OVER (PARTITION BY entity ORDER BY at) AS x FROM ev_bench) s$$), :events;
-- the pack: counts, sums and distinct devices for 4 windows
INSERT INTO velocity_result SELECT 'velocity', pg_temp.best_ms($$
  SELECT sum(v[12]) FROM (SELECT risk.velocity(at, amount, device,
      ARRAY['10 minutes', '1 hour', '24 hours', '7 days']::interval[])
      OVER (PARTITION BY entity ORDER BY at) AS v FROM ev_bench) s$$), :events;
-- counts and sums alone
INSERT INTO velocity_result SELECT 'velocity_count_sum', pg_temp.best_ms($$
  SELECT sum(v[8]) FROM (SELECT risk.velocity(at, amount, NULL::text,
      ARRAY['10 minutes', '1 hour', '24 hours', '7 days']::interval[])
      OVER (PARTITION BY entity ORDER BY at) AS v FROM ev_bench) s$$), :events;
-- plain SQL for counts and sums: PostgreSQL's own moving aggregates
-- (bigint cents, whose sum has an inverse; one sort for all the windows)
INSERT INTO velocity_result SELECT 'sql_count_sum', pg_temp.best_ms($$
  SELECT sum(c1 + c2 + c3 + c4 + coalesce(s1, 0) + coalesce(s2, 0) + coalesce(s3, 0) + coalesce(s4, 0))
    FROM (SELECT count(*) OVER w1 AS c1, sum(cents) OVER w1 AS s1,
                 count(*) OVER w2 AS c2, sum(cents) OVER w2 AS s2,
                 count(*) OVER w3 AS c3, sum(cents) OVER w3 AS s3,
                 count(*) OVER w4 AS c4, sum(cents) OVER w4 AS s4
            FROM ev_bench
          WINDOW w1 AS (PARTITION BY entity ORDER BY at RANGE BETWEEN '10 minutes' PRECEDING AND '1 microsecond' PRECEDING),
                 w2 AS (PARTITION BY entity ORDER BY at RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING),
                 w3 AS (PARTITION BY entity ORDER BY at RANGE BETWEEN '24 hours' PRECEDING AND '1 microsecond' PRECEDING),
                 w4 AS (PARTITION BY entity ORDER BY at RANGE BETWEEN '7 days' PRECEDING AND '1 microsecond' PRECEDING)) s$$),
  :events;
-- plain SQL for the distinct counts: PostgreSQL has no count(DISTINCT) in
-- windows, so a subquery per window on the (entity, at) index, timed on
-- every 9,973rd event (hot and cold in the same proportion) and added per row
INSERT INTO velocity_result SELECT 'sql_distinct_sample', pg_temp.best_ms($$
  SELECT sum(d1 + d2 + d3 + d4)
    FROM ev_bench e,
         LATERAL (SELECT count(DISTINCT device) AS d1 FROM ev_bench o
                   WHERE o.entity = e.entity AND o.at >= e.at - interval '10 minutes' AND o.at < e.at) a,
         LATERAL (SELECT count(DISTINCT device) AS d2 FROM ev_bench o
                   WHERE o.entity = e.entity AND o.at >= e.at - interval '1 hour' AND o.at < e.at) b,
         LATERAL (SELECT count(DISTINCT device) AS d3 FROM ev_bench o
                   WHERE o.entity = e.entity AND o.at >= e.at - interval '24 hours' AND o.at < e.at) c,
         LATERAL (SELECT count(DISTINCT device) AS d4 FROM ev_bench o
                   WHERE o.entity = e.entity AND o.at >= e.at - interval '7 days' AND o.at < e.at) d
   WHERE e.id % 9973 = 0$$), (SELECT count(*) FROM ev_bench WHERE id % 9973 = 0);

-- the pack agrees with the plain SQL on the sampled events
SELECT count(*) FILTER (WHERE v[1:4] IS DISTINCT FROM ARRAY[c1, c2, c3, c4]::float8[]
                           OR v[9:12] IS DISTINCT FROM ARRAY[d1, d2, d3, d4]::float8[]) = 0 AS agree
  FROM (SELECT id, entity, at, risk.velocity(at, amount, device,
                 ARRAY['10 minutes', '1 hour', '24 hours', '7 days']::interval[])
                 OVER (PARTITION BY entity ORDER BY at) AS v FROM ev_bench) p,
       LATERAL (SELECT count(*) FILTER (WHERE o.at >= p.at - interval '10 minutes') AS c1,
                       count(*) FILTER (WHERE o.at >= p.at - interval '1 hour') AS c2,
                       count(*) FILTER (WHERE o.at >= p.at - interval '24 hours') AS c3,
                       count(*) AS c4,
                       count(DISTINCT o.device) FILTER (WHERE o.at >= p.at - interval '10 minutes') AS d1,
                       count(DISTINCT o.device) FILTER (WHERE o.at >= p.at - interval '1 hour') AS d2,
                       count(DISTINCT o.device) FILTER (WHERE o.at >= p.at - interval '24 hours') AS d3,
                       count(DISTINCT o.device) AS d4
                  FROM ev_bench o
                 WHERE o.entity = p.entity AND o.at >= p.at - interval '7 days' AND o.at < p.at) r
 WHERE p.id % 49991 = 0 \gset
\if :agree
\else
\warn risk.velocity and the plain SQL disagree
SELECT 1/0;
\endif

\pset footer off
WITH t AS (
  SELECT max(ms) FILTER (WHERE what = 'floor') AS floor,
         max(ms) FILTER (WHERE what = 'velocity') AS pack,
         max(ms) FILTER (WHERE what = 'velocity_count_sum') AS pack_cs,
         max(ms) FILTER (WHERE what = 'sql_count_sum') AS sql_cs,
         max(ms / rows) FILTER (WHERE what = 'sql_distinct_sample') AS sql_distinct_per_row,
         max(rows) FILTER (WHERE what = 'floor') AS n
    FROM velocity_result),
us AS (
  SELECT pack * 1000 / n AS pack_us, pack_cs * 1000 / n AS pack_cs_us,
         sql_cs * 1000 / n AS sql_cs_us, floor * 1000 / n AS floor_us,
         sql_cs * 1000 / n + sql_distinct_per_row * 1000 AS sql_pack_us, t.*
    FROM t)
SELECT v.* FROM us, LATERAL (VALUES
  ('events', to_char(n, 'FM99,999,999'), :'hot_events' || ' of them on 5 hot entities'),
  ('floor: sorted scan + lag() per row', round(floor_us::numeric, 3) || ' us', 'baseline'),
  ('risk.velocity, 4 windows x (count, sum, distinct) per row', round(pack_us::numeric, 3) || ' us', ''),
  ('plain SQL for the same per row', round(sql_pack_us::numeric, 1) || ' us',
   'window count/sum + count(DISTINCT) subqueries (sampled)'),
  ('speed-up vs plain SQL, with distinct counts', round((sql_pack_us / pack_us)::numeric, 1) || 'x', 'target >= 10x'),
  ('risk.velocity, counts and sums only, per row', round(pack_cs_us::numeric, 3) || ' us', ''),
  ('plain SQL window count/sum per row', round(sql_cs_us::numeric, 3) || ' us', 'PostgreSQL moving aggregates'),
  ('speed-up vs plain SQL, counts and sums only', round((sql_cs_us / pack_cs_us)::numeric, 2) || 'x', 'target >= 1x'),
  ('risk.velocity / floor', round((pack / floor)::numeric, 2) || 'x', 'target <= 2x')
) v(measure, value, note);
