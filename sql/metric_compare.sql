-- Drift and comparisons: risk.psi, risk.csi and risk.psi_table against a
-- straightforward reference (bins at the reference quantiles, ε = 0.0001);
-- risk.auc_ci and risk.auc_test against DeLong's placements counted pair by
-- pair; risk.proportion_test against the pooled z formula.  References:
-- .ci/metric_fixtures.py (numpy, scipy's normal distribution).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(35);

\getenv fixtures RISK_FIXTURES
CREATE TABLE d_rows (run text, value float8, actual boolean);
\set f :fixtures '/metric_drift.csv'
COPY d_rows FROM :'f' CSV;
CREATE TABLE d_expected (run text, bins int, psi float8);
\set f :fixtures '/metric_drift_expected.csv'
COPY d_expected FROM :'f' CSV;
CREATE TABLE m_rows (grp text, id int, score float8, label int, weight float8);
\set f :fixtures '/metric_rows.csv'
COPY m_rows FROM :'f' CSV;
CREATE TABLE m_pairs (grp text, id int, score_b float8);
\set f :fixtures '/metric_pairs.csv'
COPY m_pairs FROM :'f' CSV;
CREATE TABLE m_compare (grp text, what text, value float8);
\set f :fixtures '/metric_compare.csv'
COPY m_compare FROM :'f' CSV;
CREATE FUNCTION expect(g text, w text) RETURNS float8 LANGUAGE sql STABLE AS
  $$ SELECT value FROM m_compare WHERE grp = g AND what = w $$;

-- PSI and CSI
SELECT is((SELECT count(*) FROM d_expected e JOIN (SELECT run, risk.psi(value, actual) AS p10, risk.psi(value, actual, 4) AS p4,
                                                          risk.csi(value, actual, 4) AS c4
                                                     FROM d_rows GROUP BY run) o USING (run)
            WHERE abs((CASE e.bins WHEN 10 THEN o.p10 ELSE o.p4 END) - e.psi) <= 1e-12 * greatest(1, e.psi)
              AND (e.bins = 10 OR o.c4 = o.p4)), 8::bigint,
          'risk.psi (deciles and quartiles) = the reference, for a shift, ties, the same distribution, values outside');
SELECT ok((SELECT psi < 0.1 FROM d_expected WHERE run = 'same' AND bins = 10)
          AND (SELECT psi > 0.25 FROM d_expected WHERE run = 'outside' AND bins = 10),
          '(the cases span stable to major shifts)');
SELECT is((SELECT array_agg(cardinality(t) ORDER BY run)
             FROM (SELECT run, risk.psi_table(value, actual) AS t FROM d_rows GROUP BY run) x),
          '{10,10,10,7}'::int[], 'risk.psi_table: one row per bin, repeated edges merged (values 0 to 5: six edges, seven bins)');
SELECT is((SELECT count(*) FROM (SELECT run, risk.psi_table(value, actual) AS t, risk.psi(value, actual) AS p
                                   FROM d_rows GROUP BY run) x
            WHERE abs((SELECT sum(psi) FROM unnest(t)) - p) < 1e-12
              AND abs((SELECT sum(expected) FROM unnest(t)) - 1) < 1e-12
              AND abs((SELECT sum(actual) FROM unnest(t)) - 1) < 1e-12), 4::bigint,
          'risk.psi_table: the terms add up to risk.psi, the shares to 1');
SELECT ok((SELECT (t[cardinality(t)]).upper = 'Infinity' AND (t[1]).lower = '-Infinity' AND (t[1]).expected > 0
             FROM (SELECT risk.psi_table(value, actual) AS t FROM d_rows WHERE run = 'outside') x),
          'the outer bins are open, so values outside the reference range are counted');
SELECT ok((SELECT risk.psi(value, actual) IS NULL FROM d_rows WHERE NOT actual), 'no actual rows: NULL');
SELECT is((SELECT risk.psi(value, actual) FROM d_rows WHERE run = 'shift'),
          (SELECT risk.psi(value, actual) FROM (SELECT * FROM d_rows WHERE run = 'shift'
                                                  UNION ALL SELECT NULL, NULL, true UNION ALL SELECT NULL, 1, NULL) x),
          'NULL values and NULL flags are skipped');

-- CSI of a categorical feature
CREATE TABLE c_rows (category text, actual boolean);
\set f :fixtures '/metric_categories.csv'
COPY c_rows FROM :'f' CSV;
SELECT ok((SELECT abs(risk.csi(category, actual) - expect('categories', 'csi')) < 1e-12 FROM c_rows),
          'risk.csi over categories = the reference (a category on one side only counted with ε)');
SELECT is((SELECT array_agg(category || ':' || round(expected::numeric, 4) || ':' || round(actual::numeric, 4))
             FROM unnest((SELECT risk.csi_table(category, actual) FROM c_rows))),
          (SELECT array_agg(category || ':' || round(e::numeric, 4) || ':' || round(a::numeric, 4) ORDER BY category)
             FROM (SELECT category,
                          count(*) FILTER (WHERE NOT actual)::float8 / (SELECT count(*) FROM c_rows WHERE NOT actual) AS e,
                          count(*) FILTER (WHERE actual)::float8 / (SELECT count(*) FROM c_rows WHERE actual) AS a
                     FROM c_rows GROUP BY category) r),
          'risk.csi_table: every category by name, with its shares = a plain-SQL recount');
SELECT is((SELECT risk.csi(category, actual) FROM (SELECT * FROM c_rows UNION ALL SELECT NULL, true UNION ALL SELECT 'card', NULL) x),
          (SELECT risk.csi(category, actual) FROM c_rows), 'NULL categories and flags are skipped');

-- DeLong
CREATE TABLE ci AS
SELECT grp, risk.auc_ci(score, label = 1) AS c95, risk.auc_ci(score, label, 0.9) AS c90,
       risk.auc_test(score, score_b, label) AS t
  FROM m_rows JOIN m_pairs USING (grp, id) GROUP BY grp;
SELECT is((SELECT count(*) FROM ci WHERE grp <> 'single'
              AND abs((c95).auc - expect(grp, 'auc')) < 1e-12
              AND abs((c95).std_error - expect(grp, 'se')) < 1e-9
              AND abs((c95).lower - expect(grp, 'lower_0.95')) < 1e-9
              AND abs((c95).upper - expect(grp, 'upper_0.95')) < 1e-9
              AND abs((c90).lower - expect(grp, 'lower_0.9')) < 1e-9
              AND abs((c90).upper - expect(grp, 'upper_0.9')) < 1e-9 AND (c90).level = 0.9), 4::bigint,
          'risk.auc_ci = DeLong''s interval by pairwise placements (95% and 90%), ties included');
SELECT is((SELECT count(*) FROM ci WHERE grp <> 'single'
              AND abs((t).auc_a - expect(grp, 'auc')) < 1e-12
              AND abs((t).auc_b - expect(grp, 'auc_b')) < 1e-12
              AND abs((t).std_error - expect(grp, 'diff_se')) < 1e-9
              AND abs((t).z - expect(grp, 'z')) < 1e-6 * greatest(1, abs(expect(grp, 'z')))
              AND abs((t).p_value - expect(grp, 'p')) < 1e-9 * greatest(1e-3, expect(grp, 'p'))), 4::bigint,
          'risk.auc_test = DeLong''s test of two correlated scores (AUCs, standard error, z, p)');
SELECT ok((SELECT (t).p_value < 0.001 FROM ci WHERE grp = 'fine') AND (SELECT (t).p_value > 0.05 FROM ci WHERE grp = 'extreme'),
          '(the groups have a clear difference and a doubtful one)');
SELECT is((SELECT ARRAY[(c95).auc, (t).auc_a] FROM ci WHERE grp = 'fine'),
          (SELECT ARRAY[risk.auc(score, label), risk.auc(score, label)] FROM m_rows WHERE grp = 'fine'),
          'the AUC of risk.auc_ci and risk.auc_test = risk.auc');
SELECT ok((SELECT c95 IS NULL AND t IS NULL FROM ci WHERE grp = 'single'), 'a single class: NULL');
SELECT is((SELECT ARRAY[(t).z, (t).p_value] FROM (SELECT risk.auc_test(score, score * 2, label) AS t FROM m_rows WHERE grp = 'fine') x),
          '{NULL,NULL}'::float8[], 'two scores that rank alike: no z, no p (NULL)');
SELECT throws_ok($$SELECT risk.auc_ci(s, l, 1) FROM (VALUES (0.1, true), (0.2, false)) v(s, l)$$, '22023',
                 'risk.auc_ci level must lie in (0, 1), not 1', 'a level of 1: 22023');

-- parallel: the same interval and test
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of('SELECT risk.auc_test(score, score_b, label), risk.psi(score, label = 1) FROM m_rows JOIN m_pairs USING (grp, id)')
          ~ 'Partial', 'risk.auc_test and risk.psi run as partial aggregates');
SELECT ok(fx.plan_of('SELECT risk.csi(category, actual) FROM c_rows') ~ 'Partial', 'and risk.csi over categories');
SELECT ok((SELECT abs(risk.csi(category, actual) - expect('categories', 'csi')) < 1e-12 FROM c_rows),
          'risk.csi over categories in parallel: the same');
CREATE TABLE ci_parallel AS
SELECT grp, risk.auc_ci(score, label = 1) AS c95, risk.auc_test(score, score_b, label) AS t
  FROM m_rows JOIN m_pairs USING (grp, id) GROUP BY grp;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT is((SELECT count(*) FROM ci JOIN ci_parallel p USING (grp)
            WHERE (ci.grp = 'single' AND p.c95 IS NULL AND p.t IS NULL)
               OR ((ci.c95).auc = (p.c95).auc AND abs((ci.c95).std_error - (p.c95).std_error) < 1e-15
                   AND (ci.t).auc_b = (p.t).auc_b AND abs((ci.t).z - (p.t).z) < 1e-9 * abs((ci.t).z))), 5::bigint,
          'in parallel: the same intervals and tests (to rounding: rows summed in another order)');

-- the two-proportion z-test
SELECT is((SELECT count(*) FROM (VALUES (0, 30, 1000, 45, 1000), (1, 120, 5000, 100, 5200), (2, 0, 10, 3, 10), (3, 7, 7, 1, 9)) v(i, x1, n1, x2, n2),
                               risk.proportion_test(x1, n1, x2, n2) t
            WHERE abs(t.z - expect('prop' || i, 'z')) < 1e-12 * abs(t.z)
              AND abs(t.p_value - expect('prop' || i, 'p')) < 1e-12
              AND t.rate_a = x1::float8 / n1 AND t.difference = x1::float8 / n1 - x2::float8 / n2), 4::bigint,
          'risk.proportion_test = the pooled two-proportion z-test (z and two-sided p)');
SELECT is((SELECT ARRAY[z, p_value] FROM risk.proportion_test(0, 10, 0, 20)), '{NULL,NULL}'::float8[],
          'no successes anywhere: no z, no p (NULL)');
SELECT throws_ok($$SELECT risk.proportion_test(11, 10, 1, 10)$$, '22023',
                 'risk.proportion_test needs 0 <= successes <= trials and trials > 0, not 11 of 10',
                 'more successes than trials: 22023');

DROP TABLE d_rows, d_expected, m_rows, m_pairs, m_compare, ci, ci_parallel, c_rows;
DROP FUNCTION expect(text, text);

-- the state of the paired tests, CSI by category, stddev, decayed_sum, the
-- distinct counts and velocity_state_agg as a type (so that Citus splits
-- them): its text is read back, a state seeds an aggregate built on the
-- support functions, and bad states are refused (velocity.sql tests the
-- distinct counts' and velocity states')
SELECT is((SELECT array_agg(aggfnoid::regprocedure::text ORDER BY aggfnoid::regprocedure::text) FROM pg_aggregate
            WHERE aggtranstype = 'risk.aggregate_state'::regtype AND aggfnoid::regproc::text LIKE 'risk.%'
              AND aggfnoid::regproc::text NOT IN ('risk.count_distinct', 'risk.approx_count_distinct', 'risk.velocity_state_agg')),
          ARRAY['risk.auc_test(double precision,double precision,boolean)',
                'risk.auc_test(double precision,double precision,double precision)',
                'risk.auc_test(double precision,double precision,integer)',
                'risk.compare_scores(double precision,double precision,boolean,double precision)',
                'risk.compare_scores(double precision,double precision,boolean,double precision,double precision,double precision)',
                'risk.csi(text,boolean)', 'risk.csi_table(text,boolean)',
                'risk.decayed_sum(double precision,timestamp with time zone,interval)', 'risk.stddev(double precision)'],
          'nine aggregates have the state risk.aggregate_state');
SELECT is((SELECT array_agg(aggfnoid::regprocedure::text ORDER BY aggfnoid::regprocedure::text) FROM pg_aggregate
            WHERE aggtranstype = 'risk.aggregate_state'::regtype
              AND aggfnoid::regproc::text IN ('risk.count_distinct', 'risk.approx_count_distinct', 'risk.velocity_state_agg')),
          (SELECT array_agg(f ORDER BY f)
             FROM unnest(ARRAY['text', 'bigint', 'integer', 'smallint', 'uuid', '"char"']) t,
                  LATERAL (VALUES (format('risk.count_distinct(%s)', t)), (format('risk.approx_count_distinct(%s)', t)),
                                  (format('risk.velocity_state_agg(timestamp with time zone,double precision,%s,interval[])', t)),
                                  (format('risk.velocity_state_agg(timestamp with time zone,double precision,%s,interval[],integer)', t))) v(f)),
          'and the distinct counts and velocity_state_agg declared for text, bigint, integer, smallint, uuid and "char" keys (the polymorphic ones keep internal)');
-- which one a key's type finds: a varchar, a name, a domain and an int2 the
-- declared one of their kind, a "char" its own, a numeric and an enum the
-- polymorphic one; every count = count(DISTINCT)
CREATE DOMAIN cd_int AS integer;
CREATE TYPE cd_colour AS ENUM ('red', 'green', 'blue');
CREATE TABLE cd_keys AS
  SELECT (i % 7)::varchar v, (i % 5)::text::name n, (i % 11)::cd_int d, (i % 3)::int2 s, chr(65 + i % 13)::"char" c,
         (i % 4)::numeric / 2 x, (ARRAY['red', 'green', 'blue'])[1 + i % 3]::cd_colour e
    FROM generate_series(1, 200) i;
CREATE VIEW cd_calls AS
  SELECT risk.count_distinct(v) v, risk.count_distinct(n) n, risk.count_distinct(d) d, risk.count_distinct(s) s,
         risk.count_distinct(c) c, risk.count_distinct(x) x, risk.count_distinct(e) e FROM cd_keys;
SELECT is((SELECT array_agg(DISTINCT refobjid::regprocedure::text ORDER BY refobjid::regprocedure::text) FROM pg_depend
            WHERE classid = 'pg_rewrite'::regclass AND refclassid = 'pg_proc'::regclass
              AND objid = (SELECT oid FROM pg_rewrite WHERE ev_class = 'cd_calls'::regclass)),
          ARRAY['risk.count_distinct("char")', 'risk.count_distinct(anyelement)', 'risk.count_distinct(integer)',
                'risk.count_distinct(smallint)', 'risk.count_distinct(text)'],
          'count_distinct: varchar and name keys find text, a domain over integer integer, int2 smallint, "char" its own, numeric and an enum anyelement');
SELECT is((SELECT ARRAY[v, n, d, s, c, x, e] FROM cd_calls),
          (SELECT ARRAY[count(DISTINCT v), count(DISTINCT n), count(DISTINCT d), count(DISTINCT s), count(DISTINCT c),
                        count(DISTINCT x), count(DISTINCT e)] FROM cd_keys),
          'and every one counts as count(DISTINCT)');
DROP VIEW cd_calls;
DROP TABLE cd_keys;
DROP TYPE cd_colour;
DROP DOMAIN cd_int;
-- the state of risk.stddev over 1, 2, 3: n, the sum and the sum of squares (double-double), the last value
\set moments '\\x010401000000000000000340180000000000000000000000000000402c0000000000000000000000000000400800000000000000'
SELECT is((:'moments'::risk.aggregate_state)::text, :'moments', 'risk.aggregate_state: its text reads back to itself');
CREATE AGGREGATE seeded_stddev(float8) (sfunc = risk._moments_add, stype = risk.aggregate_state,
                                        finalfunc = risk._stddev_final, initcond = :'moments');
SELECT is((SELECT seeded_stddev(x) FROM (VALUES (4.0), (5.0)) v(x)),
          (SELECT risk.stddev(x) FROM generate_series(1, 5) x),
          'a state of stddev over 1, 2, 3 and the rows 4, 5: stddev over 1 to 5');
CREATE AGGREGATE seeded_pairs(float8, float8, boolean) (sfunc = risk._pairs_add, stype = risk.aggregate_state,
                                                       initcond = :'moments');
SELECT throws_ok($$SELECT seeded_pairs(0.1, 0.2, true)$$, '42804',
                 'risk.auc_test cannot read a state of another aggregate', 'a state of stddev given to auc_test: 42804');
SELECT throws_ok($$SELECT '\x02'::risk.aggregate_state$$, '22P03', 'invalid risk.aggregate_state',
                 'a state of another format version: 22P03');
SELECT throws_ok($$SELECT '\x0163'::risk.aggregate_state$$, '22P03', 'invalid risk.aggregate_state',
                 'a state of an unknown aggregate: 22P03');
CREATE AGGREGATE negative_stddev(float8) (sfunc = risk._moments_add, stype = risk.aggregate_state,
    finalfunc = risk._stddev_final,
    initcond = '\x010401fffffffffffffffd40180000000000000000000000000000402c0000000000000000000000000000400800000000000000');
SELECT throws_ok($$SELECT negative_stddev(1)$$, '22P03', 'invalid state of risk.stddev',
                 'a state of stddev with a negative count: 22P03, when the aggregate reads it');
SELECT throws_ok($$SELECT 'abc'::risk.aggregate_state$$, '22P02', NULL, 'text without \x: 22P02');
DROP AGGREGATE seeded_stddev(float8);
DROP AGGREGATE seeded_pairs(float8, float8, boolean);
DROP AGGREGATE negative_stddev(float8);
