-- The rules benchmark's insert report (bench/run): inserts per second through
-- the scoring trigger (the demo's marketplace, velocity states included) with
-- 0, 10 and 100 enforced rules, each against 0 rules; 100 rules with the
-- trigger keeping each order's features (features=) against 100 without;
-- and what the rules did.  Each the median of its runs (interleaved rounds).
\pset footer off
WITH best AS (SELECT what, clients, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps
                FROM marketplace.bench_result GROUP BY what, clients)
SELECT z.clients, round(z.tps) AS rules_0_per_s,
       round(t.tps) AS rules_10_per_s, round((100 * t.tps / z.tps)::numeric, 1) || '%' AS rules_10_vs_0,
       round(h.tps) AS rules_100_per_s, round((100 * h.tps / z.tps)::numeric, 1) || '%' AS rules_100_vs_0,
       'target >= 90%' AS target,
       round(f.tps) AS with_features_per_s, round((100 * f.tps / h.tps)::numeric, 1) || '%' AS with_features_vs_100
  FROM best z
  JOIN best t ON t.clients = z.clients AND t.what = 'rules_10'
  JOIN best h ON h.clients = z.clients AND h.what = 'rules_100'
  JOIN best f ON f.clients = z.clients AND f.what = 'rules_100f'
 WHERE z.what = 'rules_0' ORDER BY z.clients;
-- every run, in the order run
SELECT what, clients, string_agg(round(tps)::text, ', ' ORDER BY ctid) AS runs_per_s
  FROM marketplace.bench_result WHERE what LIKE 'rules%' GROUP BY what, clients ORDER BY clients, what;
-- the last run's orders (each run's are taken back before the next)
SELECT rules_version, count(*) AS orders, count(*) FILTER (WHERE hits IS NOT NULL) AS hit_by_a_rule,
       count(*) FILTER (WHERE decision <> 'allow') AS held
  FROM marketplace.orders WHERE rules_version IS NOT NULL GROUP BY 1 ORDER BY 1;
