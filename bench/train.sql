-- risk.train on the rows bench/train.py wrote: 200 rounds of depth 6, the
-- same parameters and threads as the python3-xgboost baseline.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
DROP TABLE IF EXISTS bench_train;
SELECT 'CREATE TABLE bench_train (' || string_agg(format('f%s real', j), ', ' ORDER BY j) || ', y boolean, holdout boolean)'
  FROM generate_series(0, 29) j \gexec
COPY bench_train FROM :'rows_file' (FORMAT binary);
VACUUM ANALYZE bench_train;
SELECT 'SELECT risk.train(''bench_train'', ''SELECT ' || string_agg(format('f%s', j), ', ' ORDER BY j)
       || ', y, holdout FROM bench_train'', ''y'', validation => ''holdout'', rounds => 200, '
       || format('params => ''{"max_depth": 6, "eta": 0.1, "nthread": %s}'')', :threads)
  FROM generate_series(0, 29) j \gexec
