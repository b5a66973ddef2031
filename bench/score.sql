-- Scoring benchmark (run by bench/run): times queries over the same rows in
-- one backend, best of two runs each, and keeps the figures in bench_result.
SET max_parallel_workers_per_gather = 0;
SET jit = off;
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
\set model_file :dir '/bench.json'
SELECT risk.load_model('bench', :'model_file') \g /dev/null

\echo -- building the table
\set features_sql :dir '/features.sql'
\set sample_file :dir '/sample.csv'
CREATE TABLE bench_rows (id bigint PRIMARY KEY, x real[] NOT NULL);
\set q 'INSERT INTO bench_rows SELECT id, '
SELECT :'q' || pg_read_file(:'features_sql') || ' FROM generate_series(1, ' || :rows || ') id' AS insert_sql \gset
:insert_sql;
-- the same features as 30 named columns, for scoring by name
SELECT 'CREATE TABLE bench_cols AS SELECT id, ' ||
       string_agg(format('x[%s] AS f%s', j + 1, lpad(j::text, 2, '0')), ', ' ORDER BY j) ||
       ' FROM bench_rows' AS cols_sql
  FROM generate_series(0, 29) j \gset
:cols_sql;
VACUUM ANALYZE bench_rows;
VACUUM ANALYZE bench_cols;

-- rows libxgboost's batch predict will check
COPY (SELECT id, risk.score('bench', x)::real FROM bench_rows WHERE id % 9973 = 1)
  TO :'sample_file' CSV;

\ir best_ms.sql

CREATE TABLE bench_result (what text PRIMARY KEY, ms float8, rows bigint);
\echo -- timing (best of 2 runs each)
INSERT INTO bench_result SELECT 'scan', pg_temp.best_ms('SELECT sum(array_length(x, 1)) FROM bench_rows'), :rows;
INSERT INTO bench_result SELECT 'score', pg_temp.best_ms($$SELECT sum(risk.score('bench', x)) FROM bench_rows$$), :rows;
INSERT INTO bench_result SELECT 'scan_cols', pg_temp.best_ms('SELECT sum(f00) FROM bench_cols'), :rows;
INSERT INTO bench_result SELECT 'score_named', pg_temp.best_ms($$SELECT sum(risk.score('bench', b)) FROM bench_cols b$$), :rows;
INSERT INTO bench_result SELECT 'score_xgboost', pg_temp.best_ms($$SELECT sum(risk.score_xgboost('bench', x)) FROM bench_rows$$), :rows;
-- both evaluators agree on every row
SELECT count(*) FILTER (WHERE risk.score('bench', x) IS DISTINCT FROM risk.score_xgboost('bench', x)) = 0
       AS parity_ok FROM bench_rows \gset
\if :parity_ok
\else
\warn risk.score and risk.score_xgboost disagree
SELECT 1/0;
\endif
