-- Prints the scoring benchmark's figures (bench_result, filled by
-- bench/score.sql; :batch_us from libxgboost's batch predict in Python).
\pset footer off
WITH r AS (SELECT what, ms, rows FROM bench_result),
t AS (
  SELECT max(ms) FILTER (WHERE what = 'scan') AS scan,
         max(ms) FILTER (WHERE what = 'score') AS score,
         max(ms) FILTER (WHERE what = 'scan_cols') AS scan_cols,
         max(ms) FILTER (WHERE what = 'score_named') AS named,
         max(ms) FILTER (WHERE what = 'score_xgboost') AS xgb,
         max(rows) AS n
    FROM r),
us AS (
  SELECT (score - scan) * 1000 / n AS score_us,
         (named - scan_cols) * 1000 / n AS named_us,
         (xgb - scan) * 1000 / n AS xgb_us,
         :batch_us::float8 AS batch_us, t.*
    FROM t)
SELECT v.* FROM us, LATERAL (VALUES
  ('rows', to_char(n, 'FM9,999,999'), ''),
  ('plain scan: SELECT sum(array_length(x, 1))', round(scan::numeric, 0) || ' ms', 'baseline'),
  ('risk.score(model, real[]) per row', round(score_us::numeric, 3) || ' us', 'time above the scan / rows'),
  ('risk.score(model, row) by name per row', round(named_us::numeric, 3) || ' us', 'over a scan of 30 real columns'),
  ('risk.score_xgboost per row (libxgboost in-place, 1 row per call)', round(xgb_us::numeric, 3) || ' us', ''),
  ('libxgboost batch predict per row (one call, 1 thread)', round(batch_us::numeric, 3) || ' us', 'python3-xgboost, same rows'),
  ('speed-up vs risk.score_xgboost', round((xgb_us / score_us)::numeric, 1) || 'x', 'target >= 8x'),
  ('speed-up vs libxgboost batch predict', round((batch_us / score_us)::numeric, 2) || 'x', 'target > 1x'),
  ('SELECT sum(risk.score(...)) / same query without scoring', round((score / scan)::numeric, 2) || 'x', 'target <= 1.5x')
) v(measure, value, note);
