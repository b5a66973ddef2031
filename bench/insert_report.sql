-- The insert-throughput benchmark's report (bench/run).
\pset footer off
SELECT s.clients, round(p.tps) AS plain_inserts_per_s, round(s.tps) AS scored_inserts_per_s,
       round((100 * s.tps / p.tps)::numeric, 1) || '%' AS scored_vs_plain, 'target >= 60%' AS target
  FROM marketplace.bench_result s JOIN marketplace.bench_result p USING (clients)
 WHERE s.what = 'scored' AND p.what = 'plain' ORDER BY s.clients;
SELECT count(*) AS scored_rows, count(*) FILTER (WHERE decision <> 'allow') AS held,
       count(*) FILTER (WHERE score IS NULL) AS unscored
  FROM marketplace.orders WHERE order_id <= (SELECT max(order_id) FROM marketplace.incoming)
   AND created_at >= '2026-02-01';
