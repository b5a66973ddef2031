-- Risk metrics benchmark (run by bench/run): risk.auc on :rows rows against
-- the plain-SQL rank formula on the same table, both in one backend, serial
-- (parallel workers off, so that both are timed on one core); the rows are
-- then written for scikit-learn (bench/metrics.py), whose time is measured
-- on arrays already in memory.  Then the dashboard path: the rows cut into
-- 365 days, a risk.score_summary per day, and the AUC of their rollup
-- against risk.auc over the rows again.
CREATE EXTENSION IF NOT EXISTS risk;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET work_mem = '4GB';
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

\echo -- building the scored rows
-- scores on a 1e-6 grid (ties, as real scores have), 2% positives more
-- likely at high scores; deterministic (hashes of the row number)
DROP TABLE IF EXISTS metric_bench;
CREATE TABLE metric_bench AS
SELECT round((abs(hashint8(g)) % 1000000000) / 1e9, 6)::float8 AS score, g AS id FROM generate_series(1, :rows) g;
ALTER TABLE metric_bench ADD COLUMN label boolean;
UPDATE metric_bench SET label = (abs(hashint8(-id)) % 1000000) / 1e6 < 0.04 * score * score;
VACUUM ANALYZE metric_bench;

\ir best_ms.sql
DROP TABLE IF EXISTS metric_result, metric_rollup;
CREATE TABLE metric_result (what text PRIMARY KEY, ms float8, value float8);
\echo -- timing risk.auc and the plain-SQL rank formula
INSERT INTO metric_result SELECT 'risk.auc', pg_temp.best_ms('SELECT risk.auc(score, label) FROM metric_bench'),
       (SELECT risk.auc(score, label) FROM metric_bench);
-- AUC = (sum of the positives' mid-ranks - P (P + 1) / 2) / (P N): ties get their average rank
\set rank_auc 'SELECT (sum(r) FILTER (WHERE label) - p * (p + 1) / 2.0) / (p * (n - p)) FROM (SELECT label, rank() OVER (ORDER BY score) + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r, count(*) FILTER (WHERE label) OVER () AS p, count(*) OVER () AS n FROM metric_bench) t GROUP BY p, n'
INSERT INTO metric_result SELECT 'SQL rank formula', pg_temp.best_ms(:'rank_auc'), (:rank_auc);
INSERT INTO metric_result SELECT 'scan', pg_temp.best_ms('SELECT count(score), count(label) FROM metric_bench'), NULL;

\echo -- timing 365 daily summaries and their rollup
DROP TABLE IF EXISTS metric_daily;
CREATE TABLE metric_rollup (what text PRIMARY KEY, ms float8, value float8);
INSERT INTO metric_rollup SELECT 'count(*) of every row, GROUP BY 365 days',
       pg_temp.best_ms('SELECT id % 365, count(*) FROM metric_bench GROUP BY 1'), NULL;
INSERT INTO metric_rollup SELECT 'risk.score_summary of every row, GROUP BY 365 days',
       pg_temp.best_ms('SELECT id % 365, risk.score_summary(score, label) FROM metric_bench GROUP BY 1'), NULL;
CREATE TABLE metric_daily AS
SELECT id % 365 AS day, risk.score_summary(score, label) AS summary FROM metric_bench GROUP BY 1;
VACUUM ANALYZE metric_daily;
INSERT INTO metric_rollup SELECT 'risk.auc(risk.rollup(summary)) of 365 days',
       pg_temp.best_ms('SELECT risk.auc(risk.rollup(summary)) FROM metric_daily', 20),
       (SELECT risk.auc(risk.rollup(summary)) FROM metric_daily);
INSERT INTO metric_rollup SELECT 'risk.auc_error_bound of the rollup', NULL,
       (SELECT risk.auc_error_bound(risk.rollup(summary)) FROM metric_daily);
INSERT INTO metric_rollup SELECT 'summaries: total bytes', NULL, (SELECT sum(pg_column_size(summary)) FROM metric_daily);
\getenv dir RISK_BENCH_DIR
\set f :dir '/metric_rows.bin'
COPY (SELECT score, label FROM metric_bench) TO :'f' (FORMAT binary);
