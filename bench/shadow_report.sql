-- The shadow benchmark's report (bench/run): inserts per second through the
-- scoring trigger (the demo's marketplace, velocity states included) with
-- the champion only, with a challenger in shadow, and with a 10% canary,
-- each the median of its interleaved runs; the same through one INSERT of
-- 20,000 orders; and what the last run wrote.
\pset footer off
WITH best AS (SELECT what, clients, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps
                FROM marketplace.bench_result GROUP BY what, clients)
SELECT c.clients, round(c.tps) AS champion_per_s,
       round(s.tps) AS shadow_per_s, round((100 * s.tps / c.tps)::numeric, 1) || '%' AS shadow_vs_champion,
       round(k.tps) AS canary_per_s, round((100 * k.tps / c.tps)::numeric, 1) || '%' AS canary_vs_champion
  FROM best c
  JOIN best s ON s.clients = c.clients AND s.what = 'shadow_shadow'
  JOIN best k ON k.clients = c.clients AND k.what = 'shadow_canary'
 WHERE c.what = 'shadow_champion' ORDER BY c.clients;
WITH best AS (SELECT what, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps
                FROM marketplace.bench_result WHERE what LIKE 'batch%' GROUP BY what)
SELECT 'one INSERT of 20,000' AS run, round(c.tps) AS champion_per_s,
       round(s.tps) AS shadow_per_s, round((100 * s.tps / c.tps)::numeric, 1) || '%' AS shadow_vs_champion,
       round((1e6 / s.tps - 1e6 / c.tps)::numeric, 1) AS shadow_extra_us_per_order,
       round(k.tps) AS canary_per_s, round((100 * k.tps / c.tps)::numeric, 1) || '%' AS canary_vs_champion
  FROM best c, best s, best k
 WHERE c.what = 'batch_champion' AND s.what = 'batch_shadow' AND k.what = 'batch_canary';
SELECT what, clients, string_agg(round(tps)::text, ', ' ORDER BY ctid) AS runs_per_s
  FROM marketplace.bench_result WHERE what LIKE 'shadow%' OR what LIKE 'batch%' GROUP BY what, clients ORDER BY clients, what;
SELECT model_version, in_canary, count(*) AS orders, count(*) FILTER (WHERE challenger_score IS NOT NULL) AS shadow_scored
  FROM marketplace.orders WHERE model_version IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2;
