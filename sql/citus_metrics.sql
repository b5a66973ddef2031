-- On a Citus cluster: every metric aggregate over scores and labels runs
-- as partial aggregates on the workers, combined on the coordinator
-- (EXPLAIN shows worker_partial_agg in the tasks and coord_combine_agg
-- above them), and gives the local table's result: the same numbers, to
-- the rounding of sums taken in another order.  (After citus_registry:
-- its plan_of.)
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(6);

-- an enum: on each node its own oid
CREATE TYPE tint AS ENUM ('red', 'green', 'blue', 'grey');
CREATE TABLE metric_local (id bigint PRIMARY KEY, s double precision, y boolean, w double precision, day int,
                           s2 double precision, cat text, at timestamptz, colour tint);
INSERT INTO metric_local
SELECT g, ((g * 7919) % 10007) / 10007.0 * 0.7 + CASE WHEN g % 9 = 0 THEN 0.3 ELSE 0 END,
       g % 9 = 0 OR g % 31 = 0, 1 + (g % 5), g % 30,
       ((g::bigint * 104729) % 10007) / 10007.0 * 0.8 + CASE WHEN g % 9 = 0 OR g % 7 = 0 THEN 0.2 ELSE 0 END,
       'c' || (g * 31 + g / 5000) % 12, '2026-11-01'::timestamptz + g * interval '1 minute',
       (enum_range(NULL::tint))[1 + (g * 7) % 4]
  FROM generate_series(1, 30000) g;
CREATE TABLE metric_rows (LIKE metric_local INCLUDING ALL);
SELECT create_distributed_table('metric_rows', 'id') \g /dev/null
INSERT INTO metric_rows SELECT * FROM metric_local;

-- each aggregate over scores and labels (and categories, a challenger's
-- scores, amounts), called with its arguments by name; and the velocity
-- aggregates that combine (stddev, decayed_sum, the distinct counts of
-- text, integers and an enum, the velocity state of history)
CREATE FUNCTION metric_calls() RETURNS TABLE (agg regprocedure, call text) LANGUAGE sql AS $$
  SELECT p.oid::regprocedure,
         format('%s(%s)', p.oid::regproc,
                string_agg(CASE n WHEN 'score' THEN 's' WHEN 'value' THEN 's' WHEN 'weight' THEN 'w'
                                  WHEN 'actual' THEN 'y' WHEN 'score_a' THEN 's' WHEN 'score_b' THEN 's2'
                                  WHEN 'category' THEN 'cat' WHEN 'amount' THEN 'w'
                                  WHEN 'label' THEN CASE t WHEN 'boolean'::regtype THEN 'y' WHEN 'integer'::regtype THEN 'y::int'
                                                           ELSE 'y::int::float8' END
                                  WHEN 'threshold' THEN '0.5' WHEN 'threshold_a' THEN '0.5' WHEN 'threshold_b' THEN '0.4'
                                  WHEN 'top_fraction' THEN '0.1' WHEN 'max_fpr' THEN '0.05'
                                  WHEN 'bins' THEN '10' WHEN 'buckets' THEN '10' WHEN 'level' THEN '0.9' END,
                           ', ' ORDER BY i))
    FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid,
         unnest(p.proargnames, p.proargtypes::oid[]) WITH ORDINALITY u(n, t, i)
   WHERE p.pronamespace = 'risk'::regnamespace
   GROUP BY p.oid
  HAVING bool_and(n IN ('score', 'value', 'weight', 'actual', 'label', 'threshold', 'top_fraction', 'max_fpr',
                        'bins', 'buckets', 'level', 'score_a', 'score_b', 'category', 'amount',
                        'threshold_a', 'threshold_b'))
  UNION ALL
  VALUES ('risk.stddev(float8)'::regprocedure, 'risk.stddev(s)'),
         ('risk.decayed_sum(float8, timestamptz, interval)', 'risk.decayed_sum(s, at, ''6 hours'')'),
         ('risk.count_distinct(text)', 'risk.count_distinct(cat)'),
         ('risk.count_distinct(integer)', 'risk.count_distinct(day)'),
         ('risk.approx_count_distinct(bigint)', 'risk.approx_count_distinct(id)'),
         ('risk.velocity_state_agg(timestamptz, float8, text, interval[])',
          'risk.velocity_state_agg(at, s, cat, ''{1 hour,1 day}'')'),
         ('risk.velocity_state_agg(timestamptz, float8, bigint, interval[], integer)',
          'risk.velocity_state_agg(at, s, id, ''{1 hour,1 day}'', 5)'),
         -- a key of a type not declared (the polymorphic aggregate): gathered, the same result
         ('risk.count_distinct(anyelement)', 'risk.count_distinct(colour)'),
         ('risk.approx_count_distinct(anyelement)', 'risk.approx_count_distinct(colour)') $$;
CREATE FUNCTION result_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE q INTO r;
    RETURN r;
END $$;
-- the same text, or the same numbers in the same places, to 1e-9 relative
CREATE FUNCTION same_numbers(a text, b text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF a IS NOT DISTINCT FROM b THEN
        RETURN true;			-- and a velocity state's hex is not read for numbers
    END IF;
    RETURN (WITH x AS (SELECT m[1]::float8 AS v, row_number() OVER () AS i
                         FROM regexp_matches(a, '-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?', 'g') m),
                 y AS (SELECT m[1]::float8 AS v, row_number() OVER () AS i
                         FROM regexp_matches(b, '-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?', 'g') m)
            SELECT coalesce(bool_and(x.v IS NOT NULL AND y.v IS NOT NULL
                                     AND abs(x.v - y.v) <= 1e-9 * greatest(1, abs(x.v))), true)
                   AND regexp_replace(a, '[-0-9.e+]', '', 'g') = regexp_replace(b, '[-0-9.e+]', '', 'g')
              FROM x FULL JOIN y USING (i));
END $$;

CREATE TEMP TABLE results AS
SELECT agg, call,
       result_of(format('SELECT %s::text FROM metric_rows', call)) AS dist,
       result_of(format('SELECT %s::text FROM metric_local', call)) AS local,
       plan_of(format('SELECT %s FROM metric_rows', call)) AS plan,
       result_of(format('SELECT array_agg(v::text ORDER BY day) FROM (SELECT day, %s AS v FROM metric_rows GROUP BY day) q', call)) AS dist_daily,
       result_of(format('SELECT array_agg(v::text ORDER BY day) FROM (SELECT day, %s AS v FROM metric_local GROUP BY day) q', call)) AS local_daily
  FROM metric_calls();

SELECT cmp_ok((SELECT count(*) FROM results), '>=', 136::bigint,
              'every metric aggregate over scores and labels (129 of them, every label type, weighted or not; paired tests, categories, stddev, decayed_sum), the distinct counts and velocity_state_agg');
SELECT is((SELECT array_agg(call ORDER BY call) FROM results WHERE NOT same_numbers(dist, local) OR dist IS NULL),
          NULL, '... gives on the distributed table the local table''s result');
SELECT is((SELECT array_agg(call ORDER BY call) FROM results
            WHERE NOT same_numbers(dist_daily, local_daily) OR dist_daily IS NULL),
          NULL, '... and per day (GROUP BY a column that is not the distribution column)');
SELECT is((SELECT array_agg(call ORDER BY call) FROM results
            WHERE (plan !~ 'worker_partial_agg' OR plan !~ 'coord_combine_agg') AND agg::text !~ 'anyelement'),
          NULL, '... each as partial aggregates on the workers, combined on the coordinator (but a polymorphic aggregate''s)');
SELECT ok((SELECT bool_and(dist <> '') FROM results WHERE call ~ '^risk\.(auc|ks|roc_curve)\(')
          AND (SELECT count(*) FROM results WHERE call ~ '^risk\.auc\(' AND dist::float8 BETWEEN 0.6 AND 1) = 6,
          'AUC, KS and the ROC curve among them, with real values');
SELECT is((SELECT array_agg(call ORDER BY call) FROM results
            WHERE call ~ '^risk\.(auc_test|compare_scores|csi|csi_table|stddev|decayed_sum|count_distinct|approx_count_distinct|velocity_state_agg)\((s, s2|cat|s\)|s, at|colour|id|at|day)'
              AND dist ~ '[0-9]'),
          ARRAY['risk.approx_count_distinct(colour)', 'risk.approx_count_distinct(id)',
                'risk.auc_test(s, s2, y)', 'risk.auc_test(s, s2, y::int)', 'risk.auc_test(s, s2, y::int::float8)',
                'risk.compare_scores(s, s2, y, 0.5)', 'risk.compare_scores(s, s2, y, w, 0.5, 0.4)',
                'risk.count_distinct(cat)', 'risk.count_distinct(colour)', 'risk.count_distinct(day)',
                'risk.csi(cat, y)', 'risk.csi_table(cat, y)', 'risk.decayed_sum(s, at, ''6 hours'')', 'risk.stddev(s)',
                'risk.velocity_state_agg(at, s, cat, ''{1 hour,1 day}'')', 'risk.velocity_state_agg(at, s, id, ''{1 hour,1 day}'', 5)'],
          'the paired tests, CSI by category, stddev, decayed_sum, the distinct counts (of an enum too) and velocity_state_agg among them (their state risk.aggregate_state), with values');

SELECT * FROM finish();
