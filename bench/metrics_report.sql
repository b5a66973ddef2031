-- The metrics benchmark's report (bench/run): risk.auc against the plain-SQL
-- rank formula and scikit-learn, with the AUC each found.
\pset footer off
INSERT INTO metric_result VALUES ('scikit-learn roc_auc_score', :sklearn_ms, :sklearn_auc);
WITH r AS (SELECT max(ms) FILTER (WHERE what = 'risk.auc') AS auc_ms FROM metric_result),
     n AS (SELECT count(*) AS rows FROM metric_bench)
SELECT m.what AS measure, round(m.ms::numeric, 1) || ' ms' AS time,
       CASE WHEN m.what = 'risk.auc' THEN '' ELSE round((m.ms / r.auc_ms)::numeric, 2) || 'x risk.auc' END AS ratio,
       round(m.value::numeric, 12) AS auc,
       CASE m.what WHEN 'scan' THEN 'floor: reading the rows'
                   WHEN 'risk.auc' THEN to_char(n.rows, 'FM999,999,999') || ' rows'
                   WHEN 'scikit-learn roc_auc_score' THEN 'arrays in memory, transfer excluded'
                   ELSE 'target: risk.auc faster' END AS note
  FROM metric_result m, r, n
 ORDER BY m.ms;

-- the dashboard path: a rollup of 365 daily summaries against rescanning the rows
\echo
\echo == risk metrics: rollup of 365 daily summaries, one backend
WITH a AS (SELECT ms, value FROM metric_result WHERE what = 'risk.auc'),
     c AS (SELECT ms FROM metric_rollup WHERE what LIKE 'count(*)%'),
     r AS (SELECT ms, value FROM metric_rollup WHERE what LIKE 'risk.auc(risk.rollup%')
SELECT m.what AS measure,
       CASE WHEN m.ms IS NOT NULL THEN round(m.ms::numeric, 2) || ' ms'
            WHEN m.what LIKE '%bytes' THEN to_char(m.value, 'FM999,999,999') || ' B'
            ELSE round(m.value::numeric, 6)::text END AS value,
       CASE WHEN m.what LIKE 'risk.auc(risk.rollup%'
            THEN 'risk.auc over the rows: ' || round(a.ms::numeric, 1) || ' ms, ' || round((a.ms / r.ms)::numeric, 1)
                 || 'x; target < 10 ms; AUC ' || round(m.value::numeric, 6) || ' (exact ' || round(a.value::numeric, 6) || ')'
            WHEN m.what LIKE 'risk.auc_error%' THEN 'stated bound; actual error ' || to_char(abs(r.value - a.value), '9.9EEEE')
            WHEN m.what LIKE 'risk.score_summary%' THEN round((m.ms / c.ms)::numeric, 2) || 'x the count(*)'
            WHEN m.what LIKE 'count(*)%' THEN 'baseline for the summaries'
            ELSE '' END AS note
  FROM metric_rollup m, a, r, c
 ORDER BY m.what DESC;
