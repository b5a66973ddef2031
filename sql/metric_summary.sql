-- risk.score_summary and risk.rollup: the metrics read from a summary stay
-- within their stated bounds of the exact aggregates (AUC within
-- risk.auc_error_bound, KS within risk.ks_error_bound, log loss and Brier
-- exact); rollups of parts = the summary of the whole; text and binary
-- forms round-trip; parallel plans; errors.  Rows: .ci/metric_fixtures.py.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(42);

\getenv fixtures RISK_FIXTURES
CREATE TABLE m_rows (grp text, id int, score float8, label int, weight float8);
\set f :fixtures '/metric_rows.csv'
COPY m_rows FROM :'f' CSV;
CREATE FUNCTION close_enough(a float8[], b float8[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT cardinality(a) = cardinality(b) AND
         bool_and(x IS NOT DISTINCT FROM y OR abs(x - y) <= 1e-12 * greatest(1, abs(y)))
    FROM unnest(a, b) u(x, y) $$;

-- per group, unweighted (boolean labels) and weighted (integer labels): the
-- summary and the exact metrics
CREATE TABLE sums AS
SELECT grp, false AS weighted, risk.score_summary(score, label = 1) AS s,
       risk.auc(score, label = 1) AS auc, risk.ks(score, label = 1) AS ks,
       risk.average_precision(score, label = 1) AS ap,
       risk.log_loss(score, label = 1) AS ll, risk.brier(score, label = 1) AS brier,
       risk.confusion(score, label = 1, 0.5) AS conf, count(*) AS n
  FROM m_rows GROUP BY grp
UNION ALL
SELECT grp, true, risk.score_summary(score, label, weight),
       risk.auc(score, label, weight), risk.ks(score, label, weight),
       risk.average_precision(score, label, weight),
       risk.log_loss(score, label, weight), risk.brier(score, label, weight),
       risk.confusion(score, label, 0.5, weight), count(*)
  FROM m_rows GROUP BY grp;

SELECT is((SELECT count(*) FROM sums WHERE auc IS NOT NULL
             AND abs(risk.auc(s) - auc) <= risk.auc_error_bound(s) + 1e-12), 8::bigint,
          'risk.auc(summary) within risk.auc_error_bound of the exact AUC, every group, weighted and not');
SELECT ok((SELECT max(risk.auc_error_bound(s)) < 0.005 AND max(abs(risk.auc(s) - auc)) < 0.001
             FROM sums WHERE grp IN ('fine', 'rare')),
          'continuous scores: the bound under 0.005, the error itself under 0.001');
SELECT is((SELECT count(*) FROM sums WHERE ks IS NOT NULL AND risk.ks(s) <= ks + 1e-12
             AND ks - risk.ks(s) <= risk.ks_error_bound(s) + 1e-12), 8::bigint,
          'risk.ks(summary) at most the exact KS, and below it by at most risk.ks_error_bound');
SELECT is((SELECT count(*) FROM sums WHERE grp = 'coarse' AND abs(risk.auc(s) - auc) < 1e-12
             AND abs(risk.ks(s) - ks) < 1e-12 AND abs(risk.average_precision(s) - ap) < 1e-12), 2::bigint,
          'scores on a 0.01 grid (one score per bin): AUC, KS and average precision exact');
SELECT is((SELECT count(*) FROM sums WHERE abs(risk.log_loss(s) - ll) <= 1e-12 * ll
             AND abs(risk.brier(s) - brier) <= 1e-12 * brier), 10::bigint,
          'log loss and Brier from the summary = the exact aggregates (to 1e-12), single class too');
SELECT is((SELECT count(*) FROM sums WHERE risk.rows(s) = n), 10::bigint, 'risk.rows = the rows summarized');
SELECT is((SELECT count(*) FROM sums, risk.confusion(s, 0.5) c
            WHERE close_enough(ARRAY[c.tp, c.fp, c.tn, c.fn, c.precision, c.recall, risk.precision(s, 0.5), risk.f1(s, 0.5)],
                               ARRAY[(conf).tp, (conf).fp, (conf).tn, (conf).fn, (conf).precision, (conf).recall,
                                     (conf).precision, (conf).f1])), 10::bigint,
          'at threshold 0.5 (a bin edge) the confusion matrix from the summary is exact');
SELECT is((SELECT ARRAY[risk.auc(s), risk.ks(s), risk.auc_error_bound(s)] FROM sums WHERE grp = 'single' AND NOT weighted),
          '{NULL,NULL,NULL}'::float8[], 'a single class: the rank metrics are NULL');

-- curves from a summary: one point per non-empty bin, every row counted
SELECT is((SELECT count(*) FROM sums, LATERAL (SELECT sum(rows) AS r FROM unnest(risk.gains(s, 10))) g
            WHERE auc IS NULL OR g.r = n), 10::bigint, 'risk.gains(summary) counts every row');
SELECT is((SELECT count(*) FROM sums, LATERAL (SELECT sum(rows) AS r, sum(positives) AS p
                                                 FROM unnest(risk.calibration(s, 10))) c
            WHERE c.r = n AND abs(c.p - coalesce((conf).tp + (conf).fn, 0)) <= 1e-9 * greatest(1, c.p)), 10::bigint,
          'risk.calibration(summary) counts every row and positive');
SELECT is((SELECT array_agg(DISTINCT (cardinality(risk.roc_curve(s)) = cardinality(risk.pr_curve(s)) + 1)::text)
             FROM sums WHERE auc IS NOT NULL), '{true}',
          'risk.roc_curve(summary): the pr_curve points and the origin');
SELECT ok((SELECT abs((c[cardinality(c)]).fpr - 1) < 1e-12 AND abs((c[cardinality(c)]).tpr - 1) < 1e-12
             FROM sums, risk.roc_curve(s) c WHERE grp = 'fine' AND weighted),
          'the ROC curve of a summary ends at (1, 1)');

-- PSI of two summaries = risk.psi of the rows where each distinct score has
-- its own bin (the 0.01 grid): the even rows against the odd, and the
-- coarse group against the extreme one
SELECT is((SELECT ARRAY[round(risk.psi(risk.score_summary(score, true) FILTER (WHERE id % 2 = 0),
                                       risk.score_summary(score, true) FILTER (WHERE id % 2 = 1))::numeric, 12),
                        round(risk.psi(risk.score_summary(score, true) FILTER (WHERE id % 2 = 0),
                                       risk.score_summary(score, true) FILTER (WHERE id % 2 = 1), 4)::numeric, 12)]
             FROM m_rows WHERE grp = 'coarse'),
          (SELECT ARRAY[round(risk.psi(score, id % 2 = 1)::numeric, 12), round(risk.psi(score, id % 2 = 1, 4)::numeric, 12)]
             FROM m_rows WHERE grp = 'coarse'),
          'risk.psi(summary, summary) = risk.psi of the rows on a 0.01 grid (deciles, quartiles)');
SELECT is((SELECT round(risk.psi(risk.score_summary(score, true) FILTER (WHERE grp = 'coarse'),
                                 risk.score_summary(score, true) FILTER (WHERE grp = 'extreme'))::numeric, 12)
             FROM m_rows),
          (SELECT round(risk.psi(score, grp = 'extreme')::numeric, 12) FROM m_rows WHERE grp IN ('coarse', 'extreme')),
          'and for a major shift, with empty bins (0.0001)');

-- rollup: ten parts of each group merged = the group's summary
CREATE TABLE parts AS
SELECT grp, id % 10 AS part, risk.score_summary(score, label = 1) AS s, risk.score_summary(score, label, weight) AS ws
  FROM m_rows GROUP BY grp, id % 10;
CREATE FUNCTION bin_counts(s risk.score_summary) RETURNS jsonb LANGUAGE sql IMMUTABLE AS
  $$ SELECT jsonb_path_query_array(s::text::jsonb, '$.bins[*][0 to 3]') $$;
CREATE TABLE rolled AS SELECT grp, risk.rollup(s) AS s, risk.rollup(ws) AS ws FROM parts GROUP BY grp;
SELECT is((SELECT count(*) FROM rolled r JOIN sums u ON u.grp = r.grp AND NOT u.weighted
            WHERE risk.rows(r.s) = u.n AND bin_counts(r.s) = bin_counts(u.s)), 5::bigint,
          'rollup of ten parts: the same bins as one summary (counts exact)');
SELECT is((SELECT count(*) FROM rolled r JOIN sums u ON u.grp = r.grp AND u.weighted
            WHERE close_enough(ARRAY[risk.auc(r.ws), risk.ks(r.ws), risk.log_loss(r.ws), risk.brier(r.ws)],
                               ARRAY[risk.auc(u.s), risk.ks(u.s), risk.log_loss(u.s), risk.brier(u.s)])), 5::bigint,
          'weighted rollup: the same metrics as one summary (to 1e-12)');
SELECT ok((SELECT risk.rollup(s) IS NULL FROM (VALUES (NULL::risk.score_summary)) v(s)), 'rollup of NULLs: NULL');
SELECT is((SELECT risk.rows(risk.rollup(s)) FROM (SELECT s FROM parts UNION ALL SELECT NULL) p),
          (SELECT count(*) FROM m_rows), 'NULL summaries are skipped');

-- text and binary forms round-trip exactly
SELECT is((SELECT count(*) FROM sums WHERE s::text::risk.score_summary::text = s::text), 10::bigint,
          'text form: summary -> text -> summary -> the same text');
\set f :fixtures '/summaries.bin'
COPY (SELECT grp, weighted, s FROM sums) TO :'f' WITH (FORMAT binary);
CREATE TABLE sums_copy (grp text, weighted boolean, s risk.score_summary);
COPY sums_copy FROM :'f' WITH (FORMAT binary);
SELECT is((SELECT count(*) FROM sums_copy c JOIN sums USING (grp, weighted) WHERE c.s::text = sums.s::text), 10::bigint,
          'binary form (COPY BINARY out and in): the same summaries');

-- parallel plans: the same summaries
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of('SELECT grp, risk.score_summary(score, label) FROM m_rows GROUP BY grp')
          ~ 'Partial (Hash|Group)?Aggregate', 'risk.score_summary runs as a partial aggregate');
CREATE TABLE sums_parallel AS SELECT grp, risk.score_summary(score, label = 1) AS s FROM m_rows GROUP BY grp;
SELECT ok((SELECT risk.score_summary(score, label) IS NULL FROM m_rows WHERE score + 0 > 2),
          'no row in any worker: NULL, and no crash');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT is((SELECT count(*) FROM sums_parallel p JOIN sums u ON u.grp = p.grp AND NOT u.weighted
            WHERE bin_counts(p.s) = bin_counts(u.s)), 5::bigint,
          'in parallel: the same bins as serially');

-- errors
SELECT throws_ok($$SELECT risk.score_summary(1.5, true)$$, '22003',
                 'risk.score_summary needs probabilities in [0, 1], not 1.5', 'a score above 1: 22003');
SELECT throws_ok($$SELECT risk.rollup(s) FROM (SELECT risk.score_summary(0.5, true) UNION ALL
                                               SELECT risk.score_summary(0.5, true, 2.0)) v(s)$$, '22023',
                 NULL, 'merging weighted and unweighted summaries: 22023');
SELECT throws_ok($$SELECT '{"version": 2, "weighted": false, "loss": [0, 0, 0, 0, 0], "bins": []}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: unknown version', 'another version: 22P02');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [1, 0, 0, 0, 0], "bins": [[1282, 1, 0, 1, 0]]}'::risk.score_summary$$,
                 '22P02', NULL, 'a bin out of range: 22P02');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [1, 0, 0, 0, 0], "bins": [[3, 1, 0, 2, 0]]}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: a bin''s weights, rows and score sum do not fit together',
                 'an unweighted bin whose weights are not its rows: 22P02');
SELECT throws_ok($$SELECT 'auc 0.9'::risk.score_summary$$, '22P02', NULL, 'not a summary: 22P02');
-- what the accessors rely on is checked on input: loss sums that fit the bins,
-- JSON numbers, weights that cannot overflow, rows counted exactly
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [1, 0, -1e308, 0, 0], "bins": [[3, 1, 0, 1, 0]]}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: a loss sum is not normalized',
                 'a log loss of -1e308: 22P02 (was accepted)');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [1, 1e300, 0, 0, 0], "bins": [[3, 1, 0, 1, 0]]}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: the loss sums do not fit the bins'' weight',
                 'a log loss beyond what one row can have: 22P02');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [2, 0, 0, 0, 0], "bins": [[3, 1, 0, 1, 0]]}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: the loss sums count another weight than the bins',
                 'loss sums over another weight than the bins: 22P02');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": false, "loss": [0x1p0, 0, 0, 0, 0], "bins": [[3, 1, 0, 1, 0]]}'::risk.score_summary$$,
                 '22P02', 'invalid input syntax for type risk.score_summary: expected a JSON number at "0x1p0, 0, 0, 0, 0], "',
                 'a hexadecimal number: 22P02 (was accepted)');
SELECT throws_ok($$SELECT '{"version": 1, "weighted": true, "loss": [1.5e308, 0, 0, 0, 0], "bins": [[3, 1e308, 0.5e308, 1, 0]]}'::risk.score_summary$$,
                 '22P02', NULL, 'weights near 1e308: 22P02 (gave a NaN AUC)');
SELECT is(('{"version": 1, "weighted": true, "loss": [2e100, 0, 0, 0, 0], "bins": [[3, 1e100, 0, 1, 0], [900, 0, 1e100, 1, 1e100]]}'::risk.score_summary)::text,
          '{"version": 1, "weighted": true, "loss": [2e+100, 0, 0, 0, 0], "bins": [[3, 1e+100, 0, 1, 0], [900, 0, 1e+100, 1, 1e+100]]}',
          'weights of 1e100 a row are read');
SELECT throws_ok($$SELECT risk.rollup(s)
                     FROM (SELECT '{"version": 1, "weighted": false, "loss": [9007199254740991, 0, 0, 0, 0], "bins": [[3, 9007199254740991, 0, 9007199254740991, 0]]}'::risk.score_summary) y(x),
                          LATERAL (VALUES (x), (x)) v(s)$$,
                 '54000', 'risk.score_summary cannot count more than 2^53 rows',
                 'a rollup past 2^53 rows: 54000 (counts were no longer exact)');
-- the binary form: errors are 22P03 (a truncated value was 08P01)
\getenv work RISK_WORK
CREATE TABLE sums_in (s risk.score_summary);
\set f :work '/summary_in.bin'
SELECT fx.binary_copy_file(:'f', risk._summary_send(s)) FROM sums WHERE grp = 'coarse' AND NOT weighted \g /dev/null
COPY sums_in FROM :'f' WITH (FORMAT binary);
SELECT is((SELECT s::text FROM sums_in), (SELECT s::text FROM sums WHERE grp = 'coarse' AND NOT weighted),
          'a binary COPY file made by hand reads back (the tests below are not wrong about the format)');
SELECT fx.binary_copy_file(:'f', substr(risk._summary_send(s), 1, 30)) FROM sums WHERE grp = 'coarse' AND NOT weighted \g /dev/null
SELECT throws_ok(format('COPY sums_in FROM %L WITH (FORMAT binary)', :'f'), '22P03',
                 'invalid binary risk.score_summary: it ends too soon', 'a truncated binary summary: 22P03 (was 08P01)');
SELECT fx.binary_copy_file(:'f', '\x02' || substr(risk._summary_send(s), 2)) FROM sums WHERE grp = 'coarse' AND NOT weighted \g /dev/null
SELECT throws_ok(format('COPY sums_in FROM %L WITH (FORMAT binary)', :'f'), '22P03',
                 'invalid binary risk.score_summary: unknown version', 'a binary summary of an unknown version: 22P03');
SELECT fx.binary_copy_file(:'f', risk._summary_send(s) || '\x00'::bytea) FROM sums WHERE grp = 'coarse' AND NOT weighted \g /dev/null
SELECT throws_ok(format('COPY sums_in FROM %L WITH (FORMAT binary)', :'f'), '22P03',
                 'invalid binary risk.score_summary: bytes after its end', 'bytes after a binary summary: 22P03');
\! rm -f "$RISK_WORK/summary_in.bin"
DROP TABLE sums_in;
SELECT throws_ok($$SELECT risk.lift(s, 0) FROM sums$$, '22023', NULL, 'a top fraction of 0: 22023');
SELECT throws_ok($$SELECT risk.gains(s, 0) FROM sums$$, '22023',
                 'risk.gains needs a number of bins from 1 to 10000, not 0', 'no buckets: 22023');

DROP TABLE m_rows, sums, parts, rolled, sums_copy, sums_parallel;
DROP FUNCTION close_enough(float8[], float8[]);
DROP FUNCTION bin_counts(risk.score_summary);
