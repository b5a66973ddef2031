-- The training benchmark's figures: risk.train against python3-xgboost
-- (:python_s seconds, :python_peak bytes added), from the last training.
\set ON_ERROR_STOP 1
\pset footer off
LOAD 'risk';  -- its settings
SELECT train_rows + valid_rows AS rows,
       round(seconds::numeric, 2) AS risk_train_s,
       round((seconds - train_seconds)::numeric, 2) AS reading_and_storing_s,
       round(train_seconds::numeric, 2) AS libxgboost_s,
       :python_s AS python_s,
       round((seconds / :python_s)::numeric, 2) AS ratio,
       '<= 1.3' AS target
  FROM risk.model_training WHERE name = 'bench_train' ORDER BY version DESC LIMIT 1;
SELECT pg_size_pretty((train_rows + valid_rows) * 30 * 4) AS feature_values,
       pg_size_pretty(rows_bytes) AS rows_held_by_backend,
       pg_size_pretty(libxgboost_peak_bytes) AS libxgboost_peak,
       pg_size_pretty(:python_peak::bigint) AS python_peak_added,
       round(((rows_bytes + libxgboost_peak_bytes)::numeric / ((train_rows + valid_rows) * 30 * 4)), 2) AS total_over_values,
       current_setting('risk.train_memory_limit') AS limit_setting
  FROM risk.model_training WHERE name = 'bench_train' ORDER BY version DESC LIMIT 1;
