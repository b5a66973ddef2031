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
