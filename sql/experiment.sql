-- Experiments and monitoring: risk.compare_scores against scikit-learn and
-- scipy (AUCs, DeLong's paired interval and p-value, recall and FPR with
-- McNemar's exact test, amounts, label coverage) to 1e-9, in one backend and
-- split over parallel workers; risk.sample_ratio_test against
-- scipy.stats.chisquare; risk.feature_drift against the reference CSI of
-- every feature, ranked; risk.score_drift against risk.psi over risk.score,
-- in the direction its argument names say.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(17);
SET client_min_messages = warning;

CREATE TABLE ex_rows (grp text, id integer, score_a float8, score_b float8, label integer, amount float8);
CREATE TABLE ex_expected (grp text, what text, value float8);
SELECT :'fx' || '/experiment_rows.csv' AS f \gset
COPY ex_rows FROM :'f' CSV;
SELECT :'fx' || '/experiment_expected.csv' AS f \gset
COPY ex_expected FROM :'f' CSV;
ANALYZE ex_rows;

CREATE TABLE ex_result AS
SELECT grp, (risk.compare_scores(score_a, score_b, label::boolean, amount,
                                 CASE grp WHEN 'main' THEN 0.5 ELSE 0.3 END,
                                 CASE grp WHEN 'main' THEN 0.45 ELSE 0.3 END)).*
  FROM ex_rows GROUP BY grp;
-- every field against its reference: the names of what differ by more than 1e-9
CREATE FUNCTION ex_wrong(g text) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(e.what ORDER BY e.what), '{}')
    FROM ex_expected e, ex_result r, jsonb_each(to_jsonb(r)) j
   WHERE e.grp = g AND r.grp = g AND j.key = e.what
     AND NOT abs((j.value #>> '{}')::float8 - e.value) <= 1e-9 * greatest(1, abs(e.value)) $$;
SELECT is((SELECT count(*) FROM ex_expected e JOIN ex_result r USING (grp), jsonb_each(to_jsonb(r)) j
            WHERE j.key = e.what), 36::bigint, '(18 reference values for each of 2 groups)');
SELECT is(ex_wrong('main'), '{}'::text[], 'continuous scores: every figure equals scikit-learn / scipy to 1e-9');
SELECT is(ex_wrong('ties'), '{}'::text[], 'scores on a 0.1 grid (ties): every figure equals scikit-learn / scipy to 1e-9');
SELECT is((SELECT label_coverage FROM ex_result WHERE grp = 'main'),
          (SELECT avg((label IS NOT NULL)::int)::float8 FROM ex_rows WHERE grp = 'main'), 'label coverage: the share of rows labelled');
SELECT is((SELECT (auc_a, auc_b, auc_difference) FROM ex_result WHERE grp = 'main'),
          (SELECT ((t).auc_a, (t).auc_b, (t).difference) FROM (SELECT risk.auc_test(score_a, score_b, label) AS t FROM ex_rows WHERE grp = 'main') s),
          'the same AUCs and difference as risk.auc_test');
SELECT is((SELECT (recall_a, fpr_b) FROM ex_result WHERE grp = 'main'),
          (SELECT (risk.recall(score_a, label, 0.5), avg((score_b >= 0.45)::int) FILTER (WHERE label = 0)::float8)
             FROM ex_rows WHERE grp = 'main'),
          'recall equals risk.recall at its threshold, FPR a plain-SQL recount');

-- split over parallel workers: the same result
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE FUNCTION ex_plan() RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXPLAIN SELECT risk.compare_scores(score_a, score_b, label::boolean, amount, 0.5, 0.45) FROM ex_rows WHERE grp = 'main'
  LOOP plan := plan || line || E'\n'; END LOOP;
  RETURN plan;
END $$;
SELECT ok(ex_plan() LIKE '%Partial Aggregate%', '(the plan splits the aggregate over workers)');
CREATE TEMP TABLE ex_parallel AS
SELECT (risk.compare_scores(score_a, score_b, label::boolean, amount, 0.5, 0.45)).* FROM ex_rows WHERE grp = 'main';
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;
SELECT is((SELECT to_jsonb(p) FROM ex_parallel p), (SELECT to_jsonb(r) - 'grp' FROM ex_result r WHERE grp = 'main'),
          'the same comparison, split over parallel workers');

-- the four-argument form: one threshold, no amounts
SELECT is((SELECT ((c).recall_b, (c).caught_amount_a) FROM (SELECT risk.compare_scores(score_a, score_b, label::boolean, 0.3) AS c
             FROM ex_rows WHERE grp = 'ties') s),
          (SELECT (recall_b, NULL::float8) FROM ex_result WHERE grp = 'ties'), 'one threshold for both, amounts NULL');
SELECT throws_ok($$SELECT risk.compare_scores(score_a, score_b, label::boolean, id::float8) FROM ex_rows$$, '22023', NULL,
                 'the threshold is the same in every row');

-- the sample-ratio check
SELECT is((SELECT count(*) FROM (VALUES (0, 5100, 94900, 0.05), (1, 5000, 95000, 0.05), (2, 480, 520, 0.5), (3, 1, 99, 0.2)) v(i, a, b, s),
                                LATERAL risk.sample_ratio_test(a, b, s) t, ex_expected c, ex_expected p
            WHERE c.grp = 'srm' || i AND c.what = 'chi_square' AND p.grp = c.grp AND p.what = 'p_value'
              AND abs(t.chi_square - c.value) <= 1e-9 AND abs(t.p_value - p.value) <= 1e-9), 4::bigint,
          'risk.sample_ratio_test equals scipy.stats.chisquare on four splits');
SELECT throws_ok($$SELECT risk.sample_ratio_test(5, 5, 1.5)$$, '22023', NULL, 'a share above 1');

-- drift of every feature, ranked; the score's drift, in the direction the names say
CREATE TABLE ex_drift (side text, x1 float8, x2 real, x3 boolean, y integer);
CREATE TABLE ex_drift_expected (feature text, csi float8);
SELECT :'fx' || '/experiment_drift.csv' AS f \gset
COPY ex_drift FROM :'f' CSV;
SELECT :'fx' || '/experiment_drift_expected.csv' AS f \gset
COPY ex_drift_expected FROM :'f' CSV;
SELECT risk.train('ex_m', $$SELECT x1, x2, x3, y FROM ex_drift WHERE side = 'reference'$$, 'y', rounds => 5,
                  params => '{"nthread": 1}') \g /dev/null
CREATE TABLE ex_fd AS SELECT * FROM risk.feature_drift('ex_m', reference_rows => $$SELECT * FROM ex_drift WHERE side = 'reference'$$,
                                                       current_rows => $$SELECT * FROM ex_drift WHERE side = 'current'$$);
SELECT is((SELECT array_agg(feature ORDER BY rank) FROM ex_fd), '{x1,x3,x2}'::text[], 'features ranked by CSI, the largest first');
SELECT is((SELECT count(*) FROM ex_fd JOIN ex_drift_expected e USING (feature) WHERE abs(ex_fd.csi - e.csi) <= 1e-9), 3::bigint,
          'each feature''s CSI equals the reference computation');
SELECT is((SELECT (reference_count, current_count, round(current_missing::numeric, 4)) FROM ex_fd WHERE feature = 'x2'),
          (SELECT (count(*) FILTER (WHERE side = 'reference'), count(*) FILTER (WHERE side = 'current'),
                   round(avg((x2 IS NULL)::int) FILTER (WHERE side = 'current'), 4)) FROM ex_drift),
          'row counts and shares of missing values on each side');
SELECT is((SELECT psi FROM risk.score_drift('ex_m', $$SELECT * FROM ex_drift WHERE side = 'reference'$$,
                                            $$SELECT * FROM ex_drift WHERE side = 'current'$$)),
          (SELECT risk.psi(risk.score('ex_m', d), side = 'current') FROM ex_drift d),
          'the score''s PSI: risk.psi with the current rows as the actual ones');
SELECT isnt((SELECT psi FROM risk.score_drift('ex_m', $$SELECT * FROM ex_drift WHERE side = 'current'$$,
                                              $$SELECT * FROM ex_drift WHERE side = 'reference'$$)),
            (SELECT psi FROM risk.score_drift('ex_m', $$SELECT * FROM ex_drift WHERE side = 'reference'$$,
                                              $$SELECT * FROM ex_drift WHERE side = 'current'$$)),
            '(swapping the slices is another question, with another answer)');

SELECT * FROM finish();
