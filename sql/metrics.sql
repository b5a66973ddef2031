-- Risk metrics, exact aggregates, against scikit-learn (and numpy where
-- scikit-learn has no such metric), computed at test time by
-- .ci/metric_fixtures.py on 24,500 rows in five groups: scores on a coarse
-- grid (ties), continuous, at and near 0 and 1, rare positives, a single
-- class; with and without weights; boolean and integer labels; serial and
-- parallel plans; NULLs skipped; errors.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(55);

\getenv fixtures RISK_FIXTURES
CREATE TABLE m_rows (grp text, id int, score float8, label int, weight float8);
\set f :fixtures '/metric_rows.csv'
COPY m_rows FROM :'f' CSV;
CREATE TABLE m_expected (grp text, metric text, weighted boolean, value float8);
\set f :fixtures '/metric_expected.csv'
COPY m_expected FROM :'f' CSV;

-- every metric of a group, unweighted with boolean labels and weighted with
-- integer labels, in long form (grp, weighted, metric, value)
CREATE FUNCTION metrics_of(rows regclass) RETURNS TABLE (grp text, weighted boolean, metric text, value float8)
  LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format($q$
    SELECT r.grp, false, v.metric, v.value
      FROM (SELECT grp,
                   risk.auc(score, label = 1) AS auc, risk.gini(score, label = 1) AS gini,
                   risk.average_precision(score, label = 1) AS ap, risk.ks(score, label = 1) AS ks,
                   risk.recall_at_fpr(score, label = 1, 0.05) AS rf, risk.capture_rate(score, label = 1, 0.1) AS cr,
                   risk.lift(score, label = 1, 0.1) AS lift, risk.log_loss(score, label = 1) AS ll,
                   risk.brier(score, label = 1) AS brier, risk.precision(score, label = 1, 0.5) AS p,
                   risk.recall(score, label = 1, 0.5) AS r, risk.f1(score, label = 1, 0.5) AS f1,
                   risk.accuracy(score, label = 1, 0.5) AS acc
              FROM %1$s GROUP BY grp) r,
           LATERAL (VALUES ('auc', auc), ('gini', gini), ('average_precision', ap), ('ks', ks),
                           ('recall_at_fpr', rf), ('capture_rate', cr), ('lift', lift), ('log_loss', ll),
                           ('brier', brier), ('precision', p), ('recall', r), ('f1', f1), ('accuracy', acc)) v(metric, value)
    UNION ALL
    SELECT r.grp, true, v.metric, v.value
      FROM (SELECT grp,
                   risk.auc(score, label, weight) AS auc, risk.gini(score, label, weight) AS gini,
                   risk.average_precision(score, label, weight) AS ap, risk.ks(score, label, weight) AS ks,
                   risk.recall_at_fpr(score, label, 0.05, weight) AS rf, risk.capture_rate(score, label, 0.1, weight) AS cr,
                   risk.lift(score, label, 0.1, weight) AS lift, risk.log_loss(score, label, weight) AS ll,
                   risk.brier(score, label, weight) AS brier, risk.precision(score, label, 0.5, weight) AS p,
                   risk.recall(score, label, 0.5, weight) AS r, risk.f1(score, label, 0.5, weight) AS f1,
                   risk.accuracy(score, label, 0.5, weight) AS acc
              FROM %1$s GROUP BY grp) r,
           LATERAL (VALUES ('auc', auc), ('gini', gini), ('average_precision', ap), ('ks', ks),
                           ('recall_at_fpr', rf), ('capture_rate', cr), ('lift', lift), ('log_loss', ll),
                           ('brier', brier), ('precision', p), ('recall', r), ('f1', f1), ('accuracy', acc)) v(metric, value)
  $q$, rows);
END $$;

CREATE TABLE ours AS SELECT * FROM metrics_of('m_rows');
SELECT is((SELECT count(*) FROM ours o JOIN m_expected e USING (grp, weighted, metric)), 130::bigint,
          'every reference value has its counterpart (5 groups, 13 metrics, with and without weights)');
SELECT is((SELECT array_agg(DISTINCT metric ORDER BY metric) FROM m_expected WHERE grp = 'single' AND value IS NULL),
          '{auc,average_precision,capture_rate,gini,ks,lift,recall,recall_at_fpr}',
          'with a single class, the rank metrics and recall are none (the others have values)');

-- each metric within 1e-9 of the reference (relative above 1), and NULL where it is
SELECT is((SELECT string_agg(format('%s/%s%s: %s, expected %s', grp, metric, CASE WHEN weighted THEN ' (weighted)' END,
                                    o.value, e.value), '; ')
             FROM ours o JOIN m_expected e USING (grp, weighted, metric)
            WHERE o.metric = m
              AND ((o.value IS NULL) <> (e.value IS NULL)
                   OR abs(o.value - e.value) > 1e-9 * greatest(1, abs(e.value)))),
          NULL, m || ' = ' || src)
  FROM (VALUES ('auc', 'scikit-learn roc_auc_score'), ('gini', '2 * roc_auc_score - 1'),
               ('average_precision', 'scikit-learn average_precision_score'),
               ('ks', 'max |tpr - fpr| of scikit-learn roc_curve'),
               ('recall_at_fpr', 'max tpr where fpr <= 0.05 on scikit-learn roc_curve'),
               ('capture_rate', 'a numpy recount, tied groups in proportion'),
               ('lift', 'capture rate / top fraction'),
               ('log_loss', 'scikit-learn log_loss'), ('brier', 'scikit-learn brier_score_loss'),
               ('precision', 'scikit-learn precision_score at 0.5'), ('recall', 'scikit-learn recall_score at 0.5'),
               ('f1', 'scikit-learn f1_score at 0.5'), ('accuracy', 'scikit-learn accuracy_score at 0.5')) t(m, src);

-- boolean and integer labels, and weights of 1, give the same values
SELECT is((SELECT string_agg(grp, ', ') FROM (
             SELECT grp FROM m_rows GROUP BY grp
             HAVING risk.auc(score, label) IS DISTINCT FROM risk.auc(score, label = 1)
                 OR risk.auc(score, label, 1) IS DISTINCT FROM risk.auc(score, label = 1)
                 OR risk.ks(score, label::boolean, 1.0) IS DISTINCT FROM risk.ks(score, label)
                 OR risk.log_loss(score, label, 1) IS DISTINCT FROM risk.log_loss(score, label = 1)
                 OR risk.recall(score, label, 0.5, 1) IS DISTINCT FROM risk.recall(score, label = 1, 0.5)) d),
          NULL, 'boolean and integer labels, and unit weights, give the same values');

-- NULL scores, labels and weights are skipped (a NULL weight where there is one)
CREATE TABLE m_nulls AS
SELECT * FROM m_rows
UNION ALL SELECT grp, -1, NULL, 1, 5 FROM m_rows WHERE id < 50
UNION ALL SELECT grp, -2, 0.9, NULL, 5 FROM m_rows WHERE id < 50;
SELECT is((SELECT count(*) FROM metrics_of('m_nulls') n JOIN ours o USING (grp, weighted, metric)
            WHERE n.value IS DISTINCT FROM o.value),
          0::bigint, 'rows with a NULL score or label are skipped');
INSERT INTO m_nulls SELECT grp, -3, 0.9, 1, NULL FROM m_rows WHERE id < 50;
SELECT is((SELECT count(*) FROM metrics_of('m_nulls') n JOIN ours o USING (grp, weighted, metric)
            WHERE n.weighted AND n.value IS DISTINCT FROM o.value),
          0::bigint, 'rows with a NULL weight are skipped by the weighted metrics');
SELECT is((SELECT ARRAY[risk.auc(score, label), risk.log_loss(score, label), risk.precision(score, label, 0.5)]
             FROM m_rows WHERE false),
          ARRAY[NULL, NULL, NULL]::float8[], 'no rows: NULL');
SELECT is((SELECT risk.confusion(score, label = 1, 0.5) FROM m_rows WHERE grp = 'single' AND score > 2),
          NULL::risk.confusion, 'no rows: no confusion matrix');

-- the confusion matrix: counts against a plain-SQL recount, and its rates
SELECT is((SELECT (risk.confusion(score, label = 1, 0.3)).* FROM m_rows WHERE grp = 'coarse'),
          (SELECT (0.3, tp, fp, tn, fn, tp / nullif(tp + fp, 0), tp / nullif(tp + fn, 0),
                   2 * tp / nullif(2 * tp + fp + fn, 0), (tp + tn) / (tp + fp + tn + fn), fp / nullif(fp + tn, 0))::risk.confusion
             FROM (SELECT count(*) FILTER (WHERE score >= 0.3 AND label = 1)::float8 AS tp,
                          count(*) FILTER (WHERE score >= 0.3 AND label = 0)::float8 AS fp,
                          count(*) FILTER (WHERE score < 0.3 AND label = 0)::float8 AS tn,
                          count(*) FILTER (WHERE score < 0.3 AND label = 1)::float8 AS fn
                     FROM m_rows WHERE grp = 'coarse') c),
          'risk.confusion at 0.3 (a tied grid value: flagged at or above) = a plain-SQL recount');
SELECT is((SELECT risk.confusion(score, label, 0.3, weight) FROM m_rows WHERE grp = 'fine'),
          (SELECT (0.3, tp, fp, tn, fn, tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn),
                   (tp + tn) / (tp + fp + tn + fn), fp / (fp + tn))::risk.confusion
             FROM (SELECT sum(weight) FILTER (WHERE score >= 0.3 AND label = 1) AS tp,
                          sum(weight) FILTER (WHERE score >= 0.3 AND label = 0) AS fp,
                          sum(weight) FILTER (WHERE score < 0.3 AND label = 0) AS tn,
                          sum(weight) FILTER (WHERE score < 0.3 AND label = 1) AS fn
                     FROM m_rows WHERE grp = 'fine') c),
          'weighted risk.confusion = sums of the amounts (dollar precision and recall)');

-- curves: every point against scikit-learn (roc_curve, precision_recall_curve,
-- calibration_curve) or the straightforward reference (gains), to 1e-9
CREATE TABLE m_curves (grp text, weighted boolean, curve text, i int,
                       c1 float8, c2 float8, c3 float8, c4 float8, c5 float8,
                       c6 float8, c7 float8, c8 float8, c9 float8, c10 float8);
\set f :fixtures '/metric_curves.csv'
COPY m_curves FROM :'f' CSV;
CREATE FUNCTION close_to(a float8[], b float8[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT cardinality(a) = cardinality(b) AND
         bool_and(x IS NOT DISTINCT FROM y OR abs(x - y) <= 1e-9 * greatest(1, abs(y)))
    FROM unnest(a, b) u(x, y) $$;
CREATE TABLE our_curves AS
WITH g AS (
  SELECT grp, false AS weighted, risk.roc_curve(score, label = 1) AS roc, risk.pr_curve(score, label = 1) AS pr,
         risk.gains(score, label = 1, 10) AS gains, risk.calibration(score, label = 1, 10) AS cal
    FROM m_rows GROUP BY grp
  UNION ALL
  SELECT grp, true, risk.roc_curve(score, label, weight), risk.pr_curve(score, label, weight),
         risk.gains(score, label, 10, weight), risk.calibration(score, label, 10, weight)
    FROM m_rows GROUP BY grp)
SELECT grp, weighted, 'roc' AS curve, i::int, ARRAY[threshold, fpr, tpr] AS v
  FROM g, unnest(g.roc) WITH ORDINALITY p(threshold, fpr, tpr, i)
UNION ALL
SELECT grp, weighted, 'pr', i::int, ARRAY[threshold, precision, recall]
  FROM g, unnest(g.pr) WITH ORDINALITY p(threshold, precision, recall, i)
UNION ALL
SELECT grp, weighted, 'gains', i::int, ARRAY[bucket, min_score, max_score, rows, positives, positive_rate,
                                            population, capture, lift, ks]
  FROM g, unnest(g.gains) WITH ORDINALITY p(bucket, min_score, max_score, rows, positives, positive_rate,
                                            population, capture, lift, ks, i)
UNION ALL
SELECT grp, weighted, 'calibration', i::int, ARRAY[bin, lower, upper, rows, positives, mean_score, positive_rate]
  FROM g, unnest(g.cal) WITH ORDINALITY p(bin, lower, upper, rows, positives, mean_score, positive_rate, i);
CREATE VIEW curve_check AS
  SELECT curve, count(*) FILTER (WHERE o.v IS NULL OR e.i IS NULL OR
                                       NOT close_to(o.v, array_remove(ARRAY[c1, c2, c3, c4, c5, c6, c7, c8, c9, c10], NULL)))
                AS wrong,
         count(*) AS points
    FROM m_curves e FULL JOIN our_curves o USING (grp, weighted, curve, i) GROUP BY curve;
SELECT is((SELECT ARRAY[wrong, points] FROM curve_check WHERE curve = 'roc'), '{0,24194}'::bigint[],
          'risk.roc_curve = roc_curve(drop_intermediate=False), every point, weighted and not');
SELECT is((SELECT ARRAY[wrong, points] FROM curve_check WHERE curve = 'pr'), '{0,24186}'::bigint[],
          'risk.pr_curve = precision_recall_curve, every point, weighted and not');
SELECT is((SELECT ARRAY[wrong, points] FROM curve_check WHERE curve = 'gains'), '{0,72}'::bigint[],
          'risk.gains = the reference gains table (deciles, ties in one bucket), weighted and not');
SELECT is((SELECT ARRAY[wrong, points] FROM curve_check WHERE curve = 'calibration'), '{0,70}'::bigint[],
          'risk.calibration = calibration_curve (uniform bins, edges as numpy''s), weighted and not');
SELECT is((SELECT ARRAY[risk.roc_curve(score, label) IS NULL, risk.pr_curve(score, label) IS NULL,
                        risk.gains(score, label, 10) IS NULL, risk.calibration(score, label, 10) IS NULL]
             FROM m_rows WHERE grp = 'single'),
          '{t,t,t,f}', 'a single class: no ROC, PR or gains (NULL), a calibration table');
SELECT is((SELECT array_agg(DISTINCT rows) || count(*) FROM unnest((SELECT risk.gains(g / 1000.0, g % 2 = 0, 100)
                                                                       FROM generate_series(1, 1000) g))),
          '{10,100}'::bigint[], 'a percentile table of 1,000 distinct scores: 100 buckets of 10 rows');
SELECT is((SELECT lift FROM unnest((SELECT risk.gains(score, label, 10) FROM m_rows WHERE grp = 'fine')) LIMIT 1),
          (SELECT risk.lift(score, label, 0.1) FROM m_rows WHERE grp = 'fine'),
          'the top decile''s lift = risk.lift at 0.1 (no ties across the cut)');

-- parallel plans: the same values
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of('SELECT risk.auc(score, label), risk.recall(score, label, 0.5), risk.brier(score, label) FROM m_rows')
          ~ 'Finalize Aggregate .* Gather .* Partial Aggregate',
          'the metrics run as partial aggregates under Gather');
SELECT ok(fx.plan_of('SELECT grp, risk.ks(score, label), risk.f1(score, label, 0.5) FROM m_rows GROUP BY grp')
          ~ 'Partial (Hash|Group)?Aggregate',
          'and with GROUP BY too');
-- workers that see no row send no state: the answer is NULL, as serially
-- (the filter matches no row, but the planner cannot know it)
SELECT ok(fx.plan_of('SELECT risk.auc(score, label) FROM m_rows WHERE score + 0 > 2')
          ~ 'Finalize Aggregate .* Gather .* Partial Aggregate', 'an empty filter runs in parallel too');
SELECT is((SELECT ARRAY[risk.auc(score, label), risk.ks(score, label, weight), risk.precision(score, label, 0.5),
                        risk.recall(score, label, 0.5, weight), risk.log_loss(score, label), risk.brier(score, label, weight)]
             FROM m_rows WHERE score + 0 > 2),
          '{NULL,NULL,NULL,NULL,NULL,NULL}'::float8[], 'no row in any worker: NULL, and no crash');
SELECT is((SELECT risk.confusion(score, label, 0.5) FROM m_rows WHERE score + 0 > 2), NULL,
          'risk.confusion: NULL');
CREATE TABLE ours_parallel AS SELECT * FROM metrics_of('m_rows');
CREATE TABLE whole_parallel AS
SELECT risk.auc(score, label) AS auc, risk.average_precision(score, label, weight) AS ap,
       risk.log_loss(score, label) AS ll, risk.accuracy(score, label, 0.5, weight) AS acc FROM m_rows;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT is((SELECT count(*) FROM ours_parallel p JOIN ours o USING (grp, weighted, metric)
            WHERE (p.value IS NULL) <> (o.value IS NULL) OR abs(p.value - o.value) > 1e-12 * greatest(1, abs(o.value))),
          0::bigint, 'each group''s metrics in parallel = serially (to 1e-12)');
SELECT is((SELECT count(*) FROM ours_parallel), 130::bigint, '(all of them)');
SELECT is((SELECT ARRAY[auc, ll] FROM whole_parallel),
          (SELECT ARRAY[risk.auc(score, label), risk.log_loss(score, label)] FROM m_rows),
          'the whole table''s AUC and log loss in parallel = serially, exactly');
SELECT ok((SELECT abs(ap - risk.average_precision(score, label, weight)) < 1e-12
              AND abs(acc - risk.accuracy(score, label, 0.5, weight)) < 1e-12 FROM whole_parallel, m_rows GROUP BY ap, acc),
          'and the weighted ones to 1e-12 (weights summed in another order)');

-- errors
SELECT throws_ok($$SELECT risk.auc(s, true) FROM (VALUES (0.5), ('NaN')) v(s)$$, '22023',
                 'risk.auc cannot rank a NaN score', 'a NaN score: 22023');
SELECT throws_ok($$SELECT risk.ks(0.5, l) FROM (VALUES (0), (2)) v(l)$$, '22023',
                 'risk.ks label must be 0 or 1, not 2', 'a label of 2: 22023');
SELECT throws_ok($$SELECT risk.auc(0.5, true, -1)$$, '22023', NULL, 'a negative weight: 22023');
SELECT throws_ok($$SELECT risk.log_loss(1.5, true)$$, '22003',
                 'risk.log_loss needs probabilities in [0, 1], not 1.5', 'log loss of a score above 1: 22003');
SELECT throws_ok($$SELECT risk.precision(0.5, true, t) FROM (VALUES (0.5), (0.6)) v(t)$$, '22023', NULL,
                 'a threshold that changes within a group: 22023');
SELECT throws_ok($$SELECT risk.recall_at_fpr(0.5, true, 1.5)$$, '22023', NULL, 'a false-positive rate above 1: 22023');
SELECT throws_ok($$SELECT risk.lift(s, l, 0) FROM (VALUES (0.5, true), (0.2, false)) v(s, l)$$, '22023',
                 'risk.lift top fraction must be above 0', 'a top fraction of 0: 22023');
SELECT throws_ok($$SELECT risk.recall(0.5, true, NULL)$$, '22004', NULL, 'a NULL threshold: 22004');

-- labels of any numeric type (numeric, bigint, smallint, real) read as the
-- integer labels do; every metric, weighted and not, serial
CREATE TABLE m_numeric AS SELECT grp, id, score, label::numeric AS label, weight FROM m_rows;
SELECT is((SELECT count(*) FROM metrics_of('m_numeric') n JOIN ours o USING (grp, weighted, metric)
            WHERE n.value IS NOT DISTINCT FROM o.value), (SELECT count(*) FROM ours),
          'numeric 0/1 labels: every metric as with integer labels (was: function risk.auc(double precision, numeric) does not exist)');
SELECT is((SELECT array_agg(v ORDER BY k) FROM (
             SELECT 1 k, risk.auc(score, label::bigint) v FROM m_rows UNION ALL
             SELECT 2, risk.auc(score, label::smallint) FROM m_rows UNION ALL
             SELECT 3, risk.auc(score, label::real, weight) FROM m_rows UNION ALL
             SELECT 4, risk.auc(risk.score_summary(score, label::numeric)) FROM m_rows UNION ALL
             SELECT 5, (risk.auc_test(score, 1 - score, label::bigint)).auc_a FROM m_rows UNION ALL
             SELECT 6, (risk.confusion(score, label::numeric, 0.5)).tp FROM m_rows) x),
          (SELECT array_agg(v ORDER BY k) FROM (
             SELECT 1 k, risk.auc(score, label) v FROM m_rows UNION ALL
             SELECT 2, risk.auc(score, label) FROM m_rows UNION ALL
             SELECT 3, risk.auc(score, label, weight) FROM m_rows UNION ALL
             SELECT 4, risk.auc(risk.score_summary(score, label)) FROM m_rows UNION ALL
             SELECT 5, (risk.auc_test(score, 1 - score, label)).auc_a FROM m_rows UNION ALL
             SELECT 6, (risk.confusion(score, label, 0.5)).tp FROM m_rows) x),
          'bigint, smallint and real labels, summaries, auc_test and confusion: as integer labels');
SELECT throws_ok($$SELECT risk.auc(s, l) FROM (VALUES (0.2, 0.5::numeric), (0.4, 1)) v(s, l)$$, '22023',
                 'risk.auc label must be 0 or 1, not 0.5', 'a numeric label of 0.5: 22023');
-- weights: at most 1e100, so that no metric overflows (1e308 gave a NaN AUC)
SELECT throws_ok($$SELECT risk.auc(s, l, 1e308) FROM (VALUES (0.2, 0), (0.4, 1)) v(s, l)$$, '22003',
                 'risk.auc weight must be at most 1e100, not 1e+308', 'a weight of 1e308: 22003 (was a NaN AUC)');
SELECT is((SELECT array[risk.auc(s, l, 1e100), risk.ks(s, l, 1e100), risk.log_loss(s, l, 1e100)]
             FROM (VALUES (0.2, 0), (0.4, 1), (0.3, 1), (0.1, 0)) v(s, l)),
          (SELECT array[risk.auc(s, l), risk.ks(s, l), risk.log_loss(s, l)]
             FROM (VALUES (0.2, 0), (0.4, 1), (0.3, 1), (0.1, 0)) v(s, l)),
          'weights of 1e100: the metrics of equal weights');
DROP TABLE m_numeric;

DROP VIEW curve_check;
DROP TABLE m_rows, m_expected, m_nulls, ours, ours_parallel, whole_parallel, m_curves, our_curves;
DROP FUNCTION close_to(float8[], float8[]);
DROP FUNCTION metrics_of(regclass);
-- the state of the sample metrics as a type: its text form reads back to itself, and is checked
\set sample '\\x0100000000000000000000000000000000013ff00000000000003fd000000000000000000000000000013ff00000000000003fe8000000000000'
SELECT is((:'sample'::risk.metric_sample)::text, :'sample', 'risk.metric_sample: its text reads back to itself');
SELECT is((SELECT aggtranstype::regtype::text FROM pg_aggregate WHERE aggfnoid = 'risk.auc(double precision, boolean)'::regprocedure),
          'risk.metric_sample', 'risk.auc''s state is a risk.metric_sample');
SELECT throws_ok($$SELECT '\x02'::risk.metric_sample$$, '22P03', 'invalid risk.metric_sample',
                 'a sample of another format version: 22P03');
SELECT throws_ok($$SELECT '\x0100000000000000000000000000000000053ff0000000000000'::risk.metric_sample$$, '22P03',
                 'invalid risk.metric_sample', 'a sample that counts more scores than it holds: 22P03');
SELECT throws_ok($$SELECT 'abc'::risk.metric_sample$$, '22P02', NULL, 'text without \x: 22P02');
SELECT * FROM finish();
