-- The insert-throughput benchmark's report (bench/run): inserts per second
-- into the plain copy, through the trigger with the order's own columns
-- only (model_only), and through the trigger with the velocity states
-- (scored, the demo's), each against the plain copy.
\pset footer off
SELECT p.clients, round(p.tps) AS plain_inserts_per_s,
       round(m.tps) AS model_only_per_s, round((100 * m.tps / p.tps)::numeric, 1) || '%' AS model_only_vs_plain,
       round(s.tps) AS scored_inserts_per_s, round((100 * s.tps / p.tps)::numeric, 1) || '%' AS scored_vs_plain,
       'target >= 60%' AS target
  FROM marketplace.bench_result p
  JOIN marketplace.bench_result m ON m.clients = p.clients AND m.what = 'model_only'
  JOIN marketplace.bench_result s ON s.clients = p.clients AND s.what = 'scored'
 WHERE p.what = 'plain' ORDER BY p.clients;
SELECT 'scored' AS "table", count(*) AS inserted, count(*) FILTER (WHERE decision <> 'allow') AS held,
       count(*) FILTER (WHERE score IS NULL) AS unscored
  FROM marketplace.orders WHERE order_id <= (SELECT max(order_id) FROM marketplace.incoming)
   AND created_at >= '2026-02-01'
UNION ALL
SELECT 'model_only (last run)', count(*), count(*) FILTER (WHERE decision <> 'allow'), count(*) FILTER (WHERE score IS NULL)
  FROM marketplace.model_only_orders;
