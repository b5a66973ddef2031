-- Velocity window aggregates against plain-SQL recounts on a generated
-- event stream with ties (many events in one second), NULL keys and values,
-- bursts and gaps of days: sliding frames that include or end before the
-- current event, row frames, running totals, GROUP BY under a forced
-- parallel plan, and errors.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(94);

-- 30,000 events of 300 buyers; timestamps on a 10-second grid (ties), a
-- burst of 2,000 events in one minute, a gap of 3 days; about 6% NULL
-- devices and 1% NULL buyers
-- (not a temporary table: parallel workers cannot read those)
CREATE TABLE ev AS
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE ((g / 3)::bigint * 7919) % 300 END AS buyer,
       CASE WHEN g BETWEEN 10000 AND 11999 THEN timestamptz '2026-03-01 12:00' + (g % 6) * interval '10 seconds'
            WHEN g > 20000 THEN timestamptz '2026-03-05' + (((g / 3) * 31) % 20000) * interval '10 seconds'
            ELSE timestamptz '2026-03-01' + (((g / 3) * 13) % 8000) * interval '10 seconds' END AS ts,
       CASE WHEN g % 17 = 0 THEN NULL ELSE 'dev-' || ((g::bigint * 104729) % 40) END AS device,
       ((g * 31) % 23)::bigint AS card,
       round(((g * 37) % 1000) / 7.0, (g % 3)) AS amount
  FROM generate_series(1, 30000) g;
-- for the recounts: NULL buyers are one partition, as in PARTITION BY
CREATE INDEX ON ev ((coalesce(buyer, -1)), ts);
CREATE INDEX ON ev ((coalesce(buyer, -1)), id);
ANALYZE ev;
SELECT ok((SELECT count(*) FROM (SELECT buyer, ts FROM ev GROUP BY 1, 2 HAVING count(*) > 1) t) > 1000,
          'the stream has many ties');

-- what a recount gives for each event, for one frame
CREATE FUNCTION recount(lo interval, hi interval) RETURNS TABLE (id int, n bigint)
  LANGUAGE sql STABLE AS $$
  SELECT e.id, (SELECT count(DISTINCT o.device) FROM ev o
                 WHERE coalesce(o.buyer, -1) = coalesce(e.buyer, -1)
                   AND o.ts >= e.ts - lo AND o.ts <= e.ts - hi)
    FROM ev e $$;

SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM r.n), 0::bigint,
          'RANGE 1 hour PRECEDING AND CURRENT ROW (ties included) = recount, 30,000 events')
  FROM (SELECT id, risk.count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) AS n FROM ev) w
  JOIN recount('1 hour', '0') r USING (id);
SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM r.n), 0::bigint,
          'RANGE 1 hour PRECEDING AND 1 microsecond PRECEDING (strictly before) = recount')
  FROM (SELECT id, risk.count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING) AS n FROM ev) w
  JOIN recount('1 hour', '1 microsecond') r USING (id);
SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM r.n), 0::bigint,
          'RANGE 7 days PRECEDING AND CURRENT ROW (across the 3-day gap) = recount')
  FROM (SELECT id, risk.count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN '7 days' PRECEDING AND CURRENT ROW) AS n FROM ev) w
  JOIN recount('7 days', '0') r USING (id);
SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM r.n), 0::bigint,
          'running total (UNBOUNDED PRECEDING) = recount')
  FROM (SELECT id, risk.count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts) AS n FROM ev) w
  JOIN recount('100 years', '0') r USING (id);
SELECT ok((SELECT max(n) FROM (SELECT risk.count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts
             RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) AS n FROM ev) w) > 10,
          'the windows hold many distinct devices (the comparisons above can fail)');

-- ROWS frames: the 10 events before this one, in id order
SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM
            (SELECT count(DISTINCT o.card) FROM (SELECT card FROM ev o
                WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1) AND o.id < w.id
                ORDER BY coalesce(o.buyer, -1) DESC, o.id DESC LIMIT 10) o)),
          0::bigint, 'ROWS BETWEEN 10 PRECEDING AND 1 PRECEDING on bigint = recount')
  FROM (SELECT id, buyer, risk.count_distinct(card) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN 10 PRECEDING AND 1 PRECEDING) AS n FROM ev) w;

-- numeric values equal at different scales are one value, as in count(DISTINCT)
SELECT is(risk.count_distinct(amount), count(DISTINCT amount), 'numeric: 1.5 and 1.50 are one value')
  FROM ev;
SELECT ok(count(DISTINCT amount::text) > count(DISTINCT amount), '(the stream has such values)')
  FROM ev;
-- text under a case-insensitive nondeterministic collation
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT is(risk.count_distinct(v COLLATE ci), 2::bigint, 'the call''s collation decides equality')
  FROM (VALUES ('Alice'), ('ALICE'), ('bob'), (NULL)) t(v);

-- as a plain aggregate, also under a parallel plan
SELECT is(risk.count_distinct(device), count(DISTINCT device), 'GROUP BY-less aggregate = count(DISTINCT)')
  FROM ev;
SELECT is(risk.count_distinct(x), 0::bigint, 'no rows: 0') FROM (SELECT 1 WHERE false) t(x);
SELECT is(risk.count_distinct(NULL::text), 0::bigint, 'only NULLs: 0');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of($$SELECT buyer % 7, risk.count_distinct(device), risk.count_distinct(card)
                     FROM ev GROUP BY 1$$) ~ 'Gather.*Partial (Hash|Group)?Aggregate',
          'the plan splits the aggregate: a Partial Aggregate under Gather');
SELECT is(count(*) FILTER (WHERE a <> b OR c <> d), 0::bigint,
          'parallel GROUP BY: risk.count_distinct = count(DISTINCT) for text and bigint')
  FROM (SELECT buyer % 7 AS k, risk.count_distinct(device) AS a, count(DISTINCT device) AS b,
               risk.count_distinct(card) AS c, count(DISTINCT card) AS d
          FROM ev GROUP BY 1) s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- risk.approx_count_distinct: a row leaving the frame is undone exactly
-- (the sliding estimate equals the estimate rebuilt from the frame's rows),
-- and estimates stay within the stated error
CREATE FUNCTION hll_rebuilt(lo interval) RETURNS TABLE (id int, n bigint)
  LANGUAGE sql STABLE AS $$
  SELECT e.id, (SELECT risk.approx_count_distinct(o.device) FROM ev o
                 WHERE coalesce(o.buyer, -1) = coalesce(e.buyer, -1)
                   AND o.ts >= e.ts - lo AND o.ts <= e.ts)
    FROM ev e $$;
SELECT is(count(*) FILTER (WHERE w.n IS DISTINCT FROM r.n), 0::bigint,
          'approx_count_distinct over RANGE 1 hour = the sketch rebuilt for each frame')
  FROM (SELECT id, risk.approx_count_distinct(device) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) AS n FROM ev) w
  JOIN hll_rebuilt('1 hour') r USING (id);
SELECT is(max(abs(a - b)), 0::bigint, 'small windows (up to 40 values): the exact count')
  FROM (SELECT risk.approx_count_distinct(device) OVER w AS a, risk.count_distinct(device) OVER w AS b
          FROM ev WINDOW w AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 day' PRECEDING AND CURRENT ROW)) s;
-- large counts over a sliding ROWS frame of 50,000 events: within 4 standard errors (6.5%)
SELECT ok(max(abs(a - b)::float8 / b) < 0.065 AND count(*) = 200000,
          'a sliding frame of 50,000 distinct values: within 6.5% on every row')
  FROM (SELECT risk.approx_count_distinct(g) OVER w AS a,
               count(*) OVER w AS b
          FROM generate_series(1, 200000) g
        WINDOW w AS (ORDER BY g ROWS BETWEEN 49999 PRECEDING AND CURRENT ROW)) s;
SELECT ok(abs(risk.approx_count_distinct(v) - 1000000) < 65000, 'a million text values: within 6.5%')
  FROM (SELECT 'card-' || g AS v FROM generate_series(1, 1000000) g) s;
SELECT ok(abs(risk.approx_count_distinct(v) - 20000) < 1300, 'uuid values: within 6.5%')
  FROM (SELECT md5(g::text)::uuid AS v FROM generate_series(1, 20000) g) s;
CREATE TABLE hll_serial AS
  SELECT buyer % 7 AS k, risk.approx_count_distinct(id) AS a FROM ev GROUP BY 1;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of($$SELECT buyer % 7, risk.approx_count_distinct(id) FROM ev GROUP BY 1$$)
          ~ 'Gather.*Partial (Hash|Group)?Aggregate', 'approx_count_distinct: a Partial Aggregate under Gather');
SELECT is(count(*) FILTER (WHERE p.a IS DISTINCT FROM s.a), 0::bigint,
          'parallel GROUP BY: the same estimates as without workers (sketches merge exactly)')
  FROM (SELECT buyer % 7 AS k, risk.approx_count_distinct(id) AS a FROM ev GROUP BY 1) p
  JOIN hll_serial s USING (k);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE hll_serial;
DROP FUNCTION hll_rebuilt(interval);

-- the states as risk.aggregate_state (what a Citus worker ships to the
-- coordinator): two halves' states, written out as text and read back,
-- combine to the whole; a type that is not built in travels by name
CREATE TYPE fx.colour AS ENUM ('red', 'green', 'blue', 'grey');
CREATE AGGREGATE fx.distinct_part(anyelement) (SFUNC = risk._count_distinct_add, STYPE = risk.aggregate_state);
CREATE AGGREGATE fx.distinct_merge(risk.aggregate_state) (SFUNC = risk._count_distinct_combine, STYPE = risk.aggregate_state);
CREATE AGGREGATE fx.hll_part(anyelement) (SFUNC = risk._hll_add, STYPE = risk.aggregate_state);
CREATE AGGREGATE fx.hll_merge(risk.aggregate_state) (SFUNC = risk._hll_combine, STYPE = risk.aggregate_state);
CREATE AGGREGATE fx.velocity_part(timestamptz, double precision, anyelement, interval[]) (
  SFUNC = risk._velocity_state_add, STYPE = risk.aggregate_state);
CREATE AGGREGATE fx.velocity_merge(risk.aggregate_state) (SFUNC = risk._velocity_state_combine, STYPE = risk.aggregate_state);
CREATE TABLE halves AS
  SELECT id % 2 AS half, fx.distinct_part(device)::text AS d, fx.hll_part(id)::text AS h,
         fx.velocity_part(ts, amount, device, '{1 hour,7 days}')::text AS v,
         fx.distinct_part((ARRAY['red', 'green', 'blue', 'grey'])[1 + card % 4]::fx.colour)::text AS c
    FROM ev GROUP BY 1;
SELECT is(fx.distinct_part(x)::text,
          '\x010602' || '00000017' || '00000000' || '0000000000000002'
          || '0000000000000002' || '00000004' || '00000007' || '0000000000000001' || '00000004' || '00000003',
          'a count_distinct state: kind 6, format 2, int4 (oid 23), no collation, two values oldest first with their rows')
  FROM (VALUES (7), (7), (3)) v(x);
SELECT is(risk._count_distinct_final(fx.distinct_merge(d::risk.aggregate_state), NULL::text),
          (SELECT count(DISTINCT device) FROM ev), 'count_distinct: the halves'' states combine to the whole''s count')
  FROM halves;
SELECT is(risk._hll_final(fx.hll_merge(h::risk.aggregate_state), NULL::int),
          (SELECT risk.approx_count_distinct(id) FROM ev), 'approx_count_distinct: to the whole''s estimate')
  FROM halves;
SELECT is(risk._velocity_state_final(fx.velocity_merge(v::risk.aggregate_state))::text,
          (SELECT risk.velocity_state_agg(ts, amount, device, '{1 hour,7 days}')::text FROM ev),
          'velocity_state_agg: to the whole''s state')
  FROM halves;
SELECT ok(strpos(c, encode(convert_to('fx', 'UTF8'), 'hex') || '00' || encode(convert_to('colour', 'UTF8'), 'hex') || '00') > 0,
          'an enum travels as its schema and name (another node has another oid for it)')
  FROM halves WHERE half = 0;
SELECT is(risk._count_distinct_final(fx.distinct_merge(c::risk.aggregate_state), NULL::fx.colour), 4::bigint,
          'and reads back: four colours') FROM halves;
SELECT throws_ok($$SELECT fx.distinct_merge(replace(c, encode(convert_to('colour', 'UTF8'), 'hex'),
                                                  encode(convert_to('color', 'UTF8'), 'hex'))::risk.aggregate_state)
                     FROM halves$$, '42704', 'type fx.color of a state of risk.count_distinct does not exist',
                 'a type this node does not have: 42704');
SELECT throws_ok($$SELECT fx.hll_merge(d::risk.aggregate_state) FROM halves$$, '42804', NULL,
                 'a count_distinct state given to approx_count_distinct: 42804');
SELECT throws_ok($$SELECT risk._count_distinct_final(('\x010602' || '00000017' || '00000000' || '0000000000000002'
                     || '0000000000000001' || '00000004' || '00000007' || '0000000000000001' || '00000004' || '00000007')
                     ::risk.aggregate_state, NULL::int)$$, '22P03', 'invalid state of risk.count_distinct',
                 'a value twice in a state: 22P03');
SELECT throws_ok($$SELECT risk._count_distinct_final(('\x010602' || '00000017' || '00000000' || '0000000000000001'
                     || '0000000000000000' || '00000004' || '00000007')::risk.aggregate_state, NULL::int)$$,
                 '22P03', 'invalid state of risk.count_distinct', 'a value with no rows: 22P03');
SELECT throws_ok($$SELECT risk._hll_final(('\x010702' || '00000017' || '00000000' || '00000001'
                     || '00ffff01' || '0000000000000001')::risk.aggregate_state, NULL::int)$$,
                 '22P03', 'invalid state of risk.approx_count_distinct', 'a register past the sketch: 22P03');
SELECT throws_ok($$SELECT risk._velocity_state_final(('\x010801' || '00')::risk.aggregate_state)$$,
                 '22P03', 'invalid risk.velocity_state', 'a velocity state that ends early: 22P03');
DROP TABLE halves;
DROP AGGREGATE fx.distinct_part(anyelement), fx.distinct_merge(risk.aggregate_state), fx.hll_part(anyelement),
  fx.hll_merge(risk.aggregate_state), fx.velocity_part(timestamptz, double precision, anyelement, interval[]),
  fx.velocity_merge(risk.aggregate_state);
DROP TYPE fx.colour;

-- risk.is_new and risk.last_k_distinct: the frame's last row against the
-- rest; ROWS frames up to the current event, in id order
SELECT is(count(*) FILTER (WHERE w.fresh IS DISTINCT FROM
            CASE WHEN w.card IS NULL THEN NULL
                 ELSE NOT EXISTS (SELECT FROM ev o WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1)
                                    AND o.id < w.id AND o.card = w.card) END), 0::bigint,
          'is_new over the whole history (ROWS UNBOUNDED PRECEDING) = NOT EXISTS recount')
  FROM (SELECT id, buyer, card, risk.is_new(card) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fresh FROM ev) w;
SELECT is(count(*) FILTER (WHERE w.fresh IS DISTINCT FROM
            CASE WHEN w.device IS NULL THEN NULL
                 ELSE NOT EXISTS (SELECT FROM (SELECT o.device FROM ev o
                                                WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1) AND o.id < w.id
                                                ORDER BY coalesce(o.buyer, -1) DESC, o.id DESC LIMIT 30) p
                                   WHERE p.device = w.device) END), 0::bigint,
          'is_new among the 30 events before (a sliding ROWS frame) = recount')
  FROM (SELECT id, buyer, device, risk.is_new(device) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN 30 PRECEDING AND CURRENT ROW) AS fresh FROM ev) w;
SELECT ok(count(*) FILTER (WHERE fresh) > 1000 AND count(*) FILTER (WHERE NOT fresh) > 1000,
          '(both answers are common)')
  FROM (SELECT risk.is_new(device) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN 30 PRECEDING AND CURRENT ROW) AS fresh FROM ev) w;
SELECT is(count(*) FILTER (WHERE w.recent IS DISTINCT FROM r.recent), 0::bigint,
          'last_k_distinct(device, 3) over the last 31 events = recount by most recent row')
  FROM (SELECT id, buyer, risk.last_k_distinct(device, 3) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN 30 PRECEDING AND CURRENT ROW) AS recent FROM ev) w,
       LATERAL (SELECT array_agg(device ORDER BY latest DESC) AS recent
                  FROM (SELECT p.device, max(p.id) AS latest
                          FROM (SELECT o.id, o.device FROM ev o
                                 WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1) AND o.id <= w.id
                                 ORDER BY coalesce(o.buyer, -1) DESC, o.id DESC LIMIT 31) p
                         WHERE p.device IS NOT NULL
                         GROUP BY p.device ORDER BY latest DESC LIMIT 3) d) r;
SELECT is(risk.last_k_distinct(v, 2 ORDER BY i), ARRAY['b', 'c'], 'as an ordered aggregate: the last 2 distinct')
  FROM (VALUES (1, 'a'), (2, 'c'), (3, 'b'), (4, NULL), (5, 'b')) t(i, v);

-- the README's native "seconds since last seen" (max over a frame ending
-- just before the event) against a recount
SELECT is(count(*) FILTER (WHERE w.since IS DISTINCT FROM
            extract(epoch FROM w.ts - (SELECT max(o.ts) FROM ev o
                                        WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1) AND o.ts < w.ts))),
          0::bigint, 'seconds since last seen, natively = recount')
  FROM (SELECT buyer, ts, extract(epoch FROM ts - max(ts) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond' PRECEDING)) AS since FROM ev) w;

-- risk.stddev, risk.zscore, risk.decayed_sum over sliding frames against
-- recounts in numeric (relative error below 1e-9 on every row)
SELECT is(count(*) FILTER (WHERE abs(w.sd - r.sd) > 1e-9 * greatest(r.sd, 1)
                              OR (w.sd IS NULL) <> (r.sd IS NULL)), 0::bigint,
          'stddev over RANGE 1 hour = stddev_samp recount')
  FROM (SELECT id, buyer, ts, risk.stddev(amount::float8) OVER (PARTITION BY buyer ORDER BY ts
                 RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) AS sd FROM ev) w,
       LATERAL (SELECT stddev_samp(o.amount) AS sd FROM ev o
                 WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1)
                   AND o.ts >= w.ts - interval '1 hour' AND o.ts <= w.ts) r;
SELECT is(count(*) FILTER (WHERE abs(w.z - r.z) > 1e-9 * greatest(abs(r.z), 1)
                              OR (w.z IS NULL) <> (r.z IS NULL)), 0::bigint,
          'zscore over the 20 events up to this one = (x - avg) / stddev_samp of the 19 before')
  FROM (SELECT id, buyer, amount, risk.zscore(amount::float8) OVER (PARTITION BY buyer ORDER BY id
                 ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS z FROM ev) w,
       LATERAL (SELECT (w.amount - avg(p.amount)) / nullif(stddev_samp(p.amount), 0) AS z
                  FROM (SELECT o.amount FROM ev o
                         WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1) AND o.id < w.id
                         ORDER BY coalesce(o.buyer, -1) DESC, o.id DESC LIMIT 19) p
                HAVING count(*) >= 2) r;
SELECT is(count(*) FILTER (WHERE abs(w.d - r.d) > 1e-9 * greatest(abs(r.d), 1)), 0::bigint,
          'decayed_sum (half-life 6 hours) over RANGE 1 day = recount as of the current time')
  FROM (SELECT id, buyer, ts, risk.decayed_sum(amount::float8, ts, '6 hours') OVER (PARTITION BY buyer
                 ORDER BY ts RANGE BETWEEN '1 day' PRECEDING AND CURRENT ROW) AS d FROM ev) w,
       LATERAL (SELECT sum(o.amount * power(2::numeric, -extract(epoch FROM w.ts - o.ts) / 21600)) AS d
                  FROM ev o
                 WHERE coalesce(o.buyer, -1) = coalesce(w.buyer, -1)
                   AND o.ts >= w.ts - interval '1 day' AND o.ts <= w.ts) r;
-- no drift when a frame slides over 100,000 rows of wildly different sizes
SELECT is(count(*) FILTER (WHERE abs(w.sd - r.sd) > 1e-9 * r.sd), 0::bigint,
          'stddev after sliding over 100,000 values from 0.001 to 1,000,000: no drift')
  FROM (SELECT g, risk.stddev(v) OVER (ORDER BY g ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS sd
          FROM (SELECT g, CASE WHEN g % 1000 < 10 THEN 1e6 + g ELSE g % 7 * 0.001 END AS v
                  FROM generate_series(1, 100000) g) s) w,
       LATERAL (SELECT stddev_samp(CASE WHEN h % 1000 < 10 THEN 1e6 + h ELSE h % 7 * 0.001 END::numeric) AS sd
                  FROM generate_series(w.g - 99, w.g) h) r
 WHERE w.g > 99900;
CREATE TABLE moments_serial AS
  SELECT buyer % 7 AS k, risk.stddev(amount::float8) AS sd,
         risk.decayed_sum(amount::float8, ts, '1 day') AS d FROM ev GROUP BY 1;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of($$SELECT buyer % 7, risk.stddev(amount::float8), risk.decayed_sum(amount::float8, ts, '1 day')
                     FROM ev GROUP BY 1$$) ~ 'Gather.*Partial (Hash|Group)?Aggregate',
          'stddev and decayed_sum: a Partial Aggregate under Gather');
SELECT is(count(*) FILTER (WHERE abs(p.sd - s.sd) > 1e-12 * s.sd OR abs(p.d - s.d) > 1e-12 * s.d), 0::bigint,
          'parallel GROUP BY: the same stddev and decayed_sum as without workers')
  FROM (SELECT buyer % 7 AS k, risk.stddev(amount::float8) AS sd,
               risk.decayed_sum(amount::float8, ts, '1 day') AS d FROM ev GROUP BY 1) p
  JOIN moments_serial s USING (k);
-- workers that see no row send no state (the filter matches none, but the
-- planner cannot know it): the same answers as serially, and no crash
SELECT ok(fx.plan_of($$SELECT risk.stddev(amount::float8) FROM ev WHERE amount + 0 < -1$$)
          ~ 'Gather.*Partial Aggregate', 'an empty filter runs in parallel too');
SELECT is(ARRAY[risk.count_distinct(device), risk.approx_count_distinct(device)], '{0,0}'::bigint[],
          'no row in any worker: distinct counts 0')
  FROM ev WHERE amount + 0 < -1;
SELECT is(ARRAY[risk.stddev(amount::float8), risk.decayed_sum(amount::float8, ts, '1 day')], '{NULL,NULL}'::float8[],
          'no row in any worker: stddev and decayed_sum NULL')
  FROM ev WHERE amount + 0 < -1;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE moments_serial;

-- risk.velocity: count, sum and distinct count for three windows in one
-- pass = the same features as separate window aggregates (each checked
-- against a recount above), before the event and up to it
SELECT is(count(*) FILTER (WHERE v[1:3] IS DISTINCT FROM ARRAY[c1, c2, c3]::float8[]
                              OR v[7:9] IS DISTINCT FROM ARRAY[d1, d2, d3]::float8[]
                              OR abs(v[4] - s1) > 1e-9 * greatest(abs(s1), 1)
                              OR abs(v[5] - s2) > 1e-9 * greatest(abs(s2), 1)
                              OR abs(v[6] - s3) > 1e-9 * greatest(abs(s3), 1)), 0::bigint,
          'velocity(10 min, 1 hour, 1 day), strictly before = count, sum, count_distinct OVER RANGE ... 1 microsecond PRECEDING')
  FROM (SELECT risk.velocity(ts, amount::float8, device, ARRAY['10 minutes', '1 hour', '1 day']::interval[])
                 OVER (PARTITION BY buyer ORDER BY ts) AS v,
               count(*) OVER w1 AS c1, count(*) OVER w2 AS c2, count(*) OVER w3 AS c3,
               coalesce(sum(amount) OVER w1, 0) AS s1, coalesce(sum(amount) OVER w2, 0) AS s2,
               coalesce(sum(amount) OVER w3, 0) AS s3,
               risk.count_distinct(device) OVER w1 AS d1, risk.count_distinct(device) OVER w2 AS d2,
               risk.count_distinct(device) OVER w3 AS d3
          FROM ev
        WINDOW w1 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '10 minutes' PRECEDING AND '1 microsecond' PRECEDING),
               w2 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING),
               w3 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 day' PRECEDING AND '1 microsecond' PRECEDING)) q;
SELECT is(count(*) FILTER (WHERE v[1:2] IS DISTINCT FROM ARRAY[c1, c2]::float8[]
                              OR v[5:6] IS DISTINCT FROM ARRAY[d1, d2]::float8[]
                              OR abs(v[3] - s1) > 1e-9 * greatest(abs(s1), 1)
                              OR abs(v[4] - s2) > 1e-9 * greatest(abs(s2), 1)), 0::bigint,
          'velocity(1 hour, 7 days, include_current) = the same OVER RANGE ... CURRENT ROW (ties included)')
  FROM (SELECT risk.velocity(ts, amount::float8, card, ARRAY['1 hour', '7 days']::interval[], true)
                 OVER (PARTITION BY buyer ORDER BY ts) AS v,
               count(*) OVER w1 AS c1, count(*) OVER w2 AS c2,
               sum(amount) OVER w1 AS s1, sum(amount) OVER w2 AS s2,
               risk.count_distinct(card) OVER w1 AS d1, risk.count_distinct(card) OVER w2 AS d2
          FROM ev
        WINDOW w1 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW),
               w2 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '7 days' PRECEDING AND CURRENT ROW)) q;
-- a long partition: the buffer of events is compacted many times while
-- keys come back (text keys, freed and copied again)
SELECT is(count(*) FILTER (WHERE v IS DISTINCT FROM ARRAY[c1, c2, s1, s2, d1, d2]::float8[]), 0::bigint,
          'velocity over one partition of 50,000 events (compaction, returning keys) = window aggregates')
  FROM (SELECT risk.velocity(at, g::float8, k, ARRAY['1 minute', '10 minutes']::interval[]) OVER (ORDER BY at) AS v,
               count(*) OVER w1 AS c1, count(*) OVER w2 AS c2,
               coalesce(sum(g) OVER w1, 0) AS s1, coalesce(sum(g) OVER w2, 0) AS s2,
               risk.count_distinct(k) OVER w1 AS d1, risk.count_distinct(k) OVER w2 AS d2
          FROM (SELECT g, timestamptz '2026-01-01' + g * interval '1 second' AS at,
                       'key-' || (g * 7919 % 300) AS k
                  FROM generate_series(1, 50000) g) e
        WINDOW w1 AS (ORDER BY at RANGE BETWEEN '1 minute' PRECEDING AND '1 microsecond' PRECEDING),
               w2 AS (ORDER BY at RANGE BETWEEN '10 minutes' PRECEDING AND '1 microsecond' PRECEDING)) q;
SELECT is(array_agg(v::text ORDER BY i), ARRAY[NULL, '{2,2,2}', '{2,2,2}', '{3,3,3}', NULL],
          'velocity with NULL times sorted first: NULL for them, ties counted with include_current')
  FROM (SELECT i, risk.velocity(at, 1, i, ARRAY['1 hour']::interval[], true) OVER (ORDER BY at NULLS FIRST) AS v
          FROM (VALUES (1, NULL::timestamptz), (2, '2026-01-01 10:00'), (3, '2026-01-01 10:00'),
                       (4, '2026-01-01 10:30'), (5, NULL)) t(i, at)) q;
SELECT ok(max(v[3]) > 10 AND max(v[1]) > 20, '(the windows hold many events and devices)')
  FROM (SELECT risk.velocity(ts, amount::float8, device, ARRAY['1 hour']::interval[]) OVER (PARTITION BY buyer ORDER BY ts) AS v
          FROM ev) q;

-- corner cases found in review
SELECT is(count(*) FILTER (WHERE a IS DISTINCT FROM b[2:2] || b[1:1] || b[4:4] || b[3:3] || b[6:6] || b[5:5]),
          0::bigint, 'velocity: windows in any order (widest first), across gaps longer than every window')
  FROM (SELECT risk.velocity(at, 1, k, ARRAY['1 day', '1 hour']::interval[]) OVER (ORDER BY at) AS a,
               risk.velocity(at, 1, k, ARRAY['1 hour', '1 day']::interval[]) OVER (ORDER BY at) AS b
          FROM (VALUES ('2026-01-01 00:00'::timestamptz, 'x'), ('2026-01-03 00:00', 'y'), ('2026-01-03 00:30', 'x'),
                       ('2026-01-03 00:40', 'x'), ('2026-01-09 00:00', 'y')) t(at, k)) q;
SELECT is(array_agg(v[5:6] ORDER BY at), ARRAY[[0, 0], [1, 1], [2, 2], [0, 0]]::float8[],
          'velocity: the same window twice')
  FROM (SELECT at, risk.velocity(at, 1, k, ARRAY['1 hour', '1 hour']::interval[]) OVER (ORDER BY at) AS v
          FROM (VALUES ('2026-01-01 00:00'::timestamptz, 'x'), ('2026-01-01 00:10', 'y'),
                       ('2026-01-01 00:20', 'x'), ('2026-01-01 02:00', 'x')) t(at, k)) q;
SELECT ok(abs(risk.stddev(x) - stddev_samp(x::numeric)) < 1e-9 * stddev_samp(x::numeric),
          'stddev of values with a large mean and a small spread: exact to 1e-9')
  FROM (VALUES (1700000000.5::float8), (1700000001.5), (1700000002.5), (1700000000.5)) t(x);
-- (values 1e9 + k/1024 are exact in double precision and in numeric)
SELECT is(count(*) FILTER (WHERE abs(w.sd - r.sd) > 1e-9 * r.sd), 0::bigint,
          'stddev sliding over values near 1e9 with a spread 1e10 times smaller: within 1e-9')
  FROM (SELECT g, risk.stddev((1e9 + g / 1024.0)::float8) OVER (ORDER BY g ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS sd
          FROM generate_series(1, 20000) g) w,
       LATERAL (SELECT stddev_samp(1e9 + h / 1024.0) AS sd
                  FROM generate_series(greatest(w.g - 99, 1), w.g) h) r
 WHERE w.g > 19900;
SELECT is(array_agg(z IS NULL ORDER BY i), ARRAY[true, true, false, false, true], 'zscore of a NULL value is NULL')
  FROM (SELECT i, risk.zscore(x) OVER (ORDER BY i) AS z
          FROM (VALUES (1, 10.0::float8), (2, 12), (3, 11), (4, 30), (5, NULL)) t(i, x)) q;
SELECT is(array_agg(d ORDER BY id), ARRAY[1, 1.5, 2]::float8[],
          'decayed_sum over a frame not in time order: the latest row leaving is recomputed')
  FROM (SELECT id, risk.decayed_sum(1, at, '1 hour') OVER (ORDER BY id ROWS 1 PRECEDING) AS d
          FROM (VALUES (1, '2026-01-01 10:00'::timestamptz), (2, '2026-01-01 09:00'),
                       (3, '2026-01-01 09:00')) t(id, at)) q;

-- errors
SELECT throws_ok($$SELECT risk.count_distinct(p) FROM (VALUES (point(1, 2))) t(p)$$,
                 '42883', 'risk.count_distinct cannot count values of type point',
                 'a type without a hash opclass');
SELECT throws_ok($$SELECT risk.approx_count_distinct(p) FROM (VALUES (point(1, 2))) t(p)$$,
                 '42883', 'risk.approx_count_distinct cannot count values of type point',
                 'approx_count_distinct: a type without a hash function');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, 1, ARRAY['1 hour']::interval[]) OVER (ORDER BY id) FROM ev$$,
                 '22023', 'risk.velocity needs its window ordered by its time argument', 'velocity: ordered by something else');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, 1, ARRAY['1 month']::interval[]) OVER (ORDER BY ts) FROM ev$$,
                 '22023', 'risk.velocity windows must be given in days, hours, minutes or seconds', 'velocity: a window in months');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, 1, ARRAY['0 seconds']::interval[]) OVER (ORDER BY ts) FROM ev$$,
                 '22023', 'risk.velocity windows must be positive', 'velocity: a zero window');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, 1, ARRAY[]::interval[]) OVER (ORDER BY ts) FROM ev$$,
                 '22023', 'risk.velocity takes 1 to 16 windows, not 0', 'velocity: no windows');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, 1, NULL) OVER (ORDER BY ts) FROM ev$$,
                 '22004', 'risk.velocity windows must not be NULL', 'velocity: NULL windows');
SELECT throws_ok($$SELECT risk.velocity(ts, 1, point(1, 1), ARRAY['1 hour']::interval[]) OVER (ORDER BY ts) FROM ev$$,
                 '42883', 'risk.velocity cannot count distinct values of type point', 'velocity: a key that cannot be hashed');
SELECT is(risk.velocity(NULL::timestamptz, 1, 1, ARRAY['1 hour']::interval[]) OVER (), NULL, 'velocity: a NULL time gives NULL');
SELECT throws_ok($$SELECT risk.velocity(at, x, 1, ARRAY['1 hour']::interval[]) OVER (ORDER BY at)
                     FROM (VALUES (now(), 'Infinity'::float8)) t(at, x)$$,
                 '22003', 'risk.velocity cannot sum infinite or NaN amounts', 'velocity: an infinite amount');
SELECT throws_ok($$SELECT risk.velocity(at, 1, 1, ARRAY['1 hour']::interval[]) OVER (ORDER BY i)
                     FROM (VALUES (1, now()), (2, NULL), (3, now())) t(i, at)$$,
                 '22023', 'risk.velocity needs its window ordered by its time argument',
                 'velocity: a NULL time between times');
SELECT throws_ok($$SELECT risk.velocity(now(), 1, 1, ARRAY['213503983 days']::interval[]) OVER ()$$,
                 '22023', 'risk.velocity windows must be shorter than 100,000 days', 'velocity: a window too long');
SELECT throws_ok($$SELECT risk.stddev(x) FROM (VALUES (1e200::float8), (1)) t(x)$$,
                 '22003', NULL, 'stddev: a value too large to square');
SELECT throws_ok($$SELECT risk.last_k_distinct(1, 0)$$,
                 '22023', 'k must be between 1 and 10000, not 0', 'last_k_distinct: k = 0');
SELECT throws_ok($$SELECT risk.decayed_sum(1, now(), '1 month')$$,
                 '22023', 'half_life must be given in days, hours, minutes or seconds', 'half_life in months');
SELECT throws_ok($$SELECT risk.decayed_sum(1, now(), '-1 hour')$$,
                 '22023', 'half_life must be positive', 'a negative half_life');
SELECT throws_ok($$SELECT risk.decayed_sum(1, now(), NULL)$$,
                 '22004', 'half_life must not be NULL', 'a NULL half_life');
-- arguments that hold for a whole partition or group cannot change from row to row
SELECT throws_ok($$SELECT risk.decayed_sum(1, at, h) FROM (VALUES (now(), '1 hour'::interval), (now(), '2 hours')) v(at, h)$$,
                 '22023', 'risk.decayed_sum needs the same half_life on every row of a group',
                 'a half_life that changes on a later row: 22023 (was: the first one, silently)');
SELECT throws_ok($$SELECT risk.decayed_sum(1, at, h) OVER (ORDER BY at)
                     FROM (VALUES (now(), '1 hour'::interval), (now() + interval '1 s', '2 hours')) v(at, h)$$,
                 '22023', NULL, 'risk.decayed_sum in a window: the same');
SELECT throws_ok($$SELECT risk.velocity(at, 1, 1, w) OVER (ORDER BY at)
                     FROM (VALUES (now(), '{1 hour}'::interval[]), (now() + interval '1 s', '{2 hours}')) v(at, w)$$,
                 '22023', 'risk.velocity needs the same windows, include_current and max_distinct on every row of a partition',
                 'risk.velocity windows that change on a later row: 22023 (was: the first ones, silently)');
SELECT throws_ok($$SELECT risk.velocity_tiled(at, 1, 1, '{1 hour}', i) OVER (ORDER BY at)
                     FROM (VALUES (now(), false), (now() + interval '1 s', true)) v(at, i)$$,
                 '22023', NULL, 'risk.velocity_tiled include_current that changes on a later row: 22023');
SELECT throws_ok($$SELECT risk.velocity(at, 1, 1, '{1 hour}', false, k) OVER (ORDER BY at)
                     FROM (VALUES (now(), 5), (now() + interval '1 s', 6)) v(at, k)$$,
                 '22023', NULL, 'risk.velocity max_distinct that changes on a later row: 22023');
SELECT is((SELECT array_agg(v::text ORDER BY at) FROM
             (SELECT at, risk.velocity(at, 1, 1, w) OVER (PARTITION BY w ORDER BY at) v
                FROM (VALUES (now(), '{1 hour}'::interval[]), (now() + interval '1 s', '{2 hours}')) x(at, w)) y),
          ARRAY['{0,0,0}', '{0,0,0}'], 'windows that are the same within each partition: fine');
SELECT throws_ok($$SELECT risk.stddev(x) FROM (VALUES (1.0::float8), ('NaN')) t(x)$$,
                 '22003', 'risk.stddev and risk.zscore cannot use infinite or NaN values', 'NaN in stddev');
SELECT is(risk.decayed_sum(v, t, '1 hour'), NULL, 'rows with a NULL time are left out')
  FROM (VALUES (5.0::float8, NULL::timestamptz)) s(v, t);
SELECT throws_ok($$SELECT risk.count_distinct(device) OVER (ORDER BY ts RANGE BETWEEN '-1 hour' PRECEDING AND CURRENT ROW) FROM ev$$,
                 '22013', NULL, 'a negative window (PostgreSQL''s own check)');

-- a pack read by name: risk.velocity_value and risk.velocity_unpack = the
-- window aggregates, whatever the order of the windows
SELECT is(count(*) FILTER (WHERE risk.velocity_value(v, w, 'count', '1 hour') IS DISTINCT FROM c2::float8
                              OR risk.velocity_value(v, w, 'distinct', '24 hours') IS DISTINCT FROM d3::float8
                              OR abs(risk.velocity_value(v, w, 'sum', '10 minutes') - s1) > 1e-9 * greatest(abs(s1), 1)
                              OR risk.velocity_value(v, w, 'avg', '1 day') IS DISTINCT FROM
                                 (SELECT u.avg FROM risk.velocity_unpack(v, w) u WHERE u.within = '1 day')
                              OR (c3 = 0) <> (risk.velocity_value(v, w, 'avg', '1 day') IS NULL)
                              OR abs(risk.velocity_value(v, w, 'avg', '1 day') - s3 / nullif(c3, 0)) >
                                 1e-9 * greatest(abs(s3 / nullif(c3, 0)), 1)),
          0::bigint, 'velocity_value by measure and window = count, sum, avg and count_distinct OVER RANGE')
  FROM (SELECT ARRAY['1 day', '10 minutes', '1 hour']::interval[] AS w,
               risk.velocity(ts, amount::float8, device, ARRAY['1 day', '10 minutes', '1 hour']::interval[])
                 OVER (PARTITION BY buyer ORDER BY ts) AS v,
               count(*) OVER w2 AS c2, count(*) OVER w3 AS c3,
               coalesce(sum(amount) OVER w1, 0) AS s1, coalesce(sum(amount) OVER w3, 0) AS s3,
               risk.count_distinct(device) OVER w3 AS d3
          FROM ev
        WINDOW w1 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '10 minutes' PRECEDING AND '1 microsecond' PRECEDING),
               w2 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING),
               w3 AS (PARTITION BY buyer ORDER BY ts RANGE BETWEEN '1 day' PRECEDING AND '1 microsecond' PRECEDING)) q;
SELECT is(array_agg(ROW(extract(epoch FROM within), count, sum, avg, distinct_count)::text ORDER BY o),
          ARRAY['(86400.000000,4,10,2.5,2)', '(3600.000000,1,3,3,1)', '(600.000000,0,0,,0)'],
          'velocity_unpack: a row per window, in the windows'' order, avg NULL over no event')
  FROM risk.velocity_unpack('{4,1,0,10,3,0,2,1,0}', '{1 day,1 hour,10 minutes}') WITH ORDINALITY AS u(within, count, sum, avg, distinct_count, o);
SELECT throws_ok($$SELECT risk.velocity_value('{1,2,3,4}', '{1 hour,1 day}', 'count', '1 hour')$$,
                 '22023', 'risk.velocity_value: the pack has 4 values, not 3 per window of the 2 given',
                 'a pack and windows that disagree');
SELECT throws_ok($$SELECT risk.velocity_value('{1,2,3}', '{1 hour}', 'median', '1 hour')$$,
                 '22023', 'risk.velocity_value: unknown measure "median"', 'an unknown measure');
SELECT throws_ok($$SELECT risk.velocity_value('{1,2,3}', '{1 hour}', 'count', '2 hours')$$,
                 '22023', NULL, 'a window not in the pack');
SELECT throws_ok($$SELECT risk.velocity_value('{1,NULL,3}', '{1 hour}', 'count', '1 hour')$$,
                 '22004', 'risk.velocity_value: the pack must not hold NULLs', 'a NULL in the pack');
SELECT throws_ok($$SELECT risk.velocity_unpack('{1,2,3}', '{1 month}')$$,
                 '22023', 'risk.velocity_unpack windows must be given in days, hours, minutes or seconds', 'a window in months');
SELECT is(risk.velocity_value(NULL, '{1 hour}', 'count', '1 hour'), NULL, 'a NULL pack (an event without a time) reads NULL');

DROP FUNCTION recount(interval, interval);
DROP TABLE ev;
DROP COLLATION ci;
SELECT * FROM finish();
