-- The rules benchmark's insert report (bench/run): inserts per second through
-- the scoring trigger (the demo's marketplace, velocity states included) with
-- 0, 10 and 100 enforced rules, each against 0 rules, and what the rules did.
\pset footer off
SELECT z.clients, round(z.tps) AS rules_0_per_s,
       round(t.tps) AS rules_10_per_s, round((100 * t.tps / z.tps)::numeric, 1) || '%' AS rules_10_vs_0,
       round(h.tps) AS rules_100_per_s, round((100 * h.tps / z.tps)::numeric, 1) || '%' AS rules_100_vs_0,
       'target >= 90%' AS target
  FROM marketplace.bench_result z
  JOIN marketplace.bench_result t ON t.clients = z.clients AND t.what = 'rules_10'
  JOIN marketplace.bench_result h ON h.clients = z.clients AND h.what = 'rules_100'
 WHERE z.what = 'rules_0' ORDER BY z.clients;
-- the last run's orders (each run's are taken back before the next)
SELECT rules_version, count(*) AS orders, count(*) FILTER (WHERE hits IS NOT NULL) AS hit_by_a_rule,
       count(*) FILTER (WHERE decision <> 'allow') AS held
  FROM marketplace.orders WHERE rules_version IS NOT NULL GROUP BY 1 ORDER BY 1;
