-- Citus benchmark (bench/citus, make bench-citus): the same :rows orders in
-- a local table of the coordinator (one node, its parallel workers) and in
-- a table distributed by order_id over the two workers; best of three runs
-- of risk.auc, a daily risk.score_summary dashboard, a daily distinct count
-- and risk.score of every row, on each, with their results checked equal
-- first.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = error;   -- Citus notes that the timing function stays on the coordinator
\ir best_ms.sql
SET client_min_messages = warning;
SELECT risk.distribute_catalog() \g /dev/null
SELECT risk.load_model('orders_fraud', :'model') \g /dev/null
CREATE TABLE orders_local (order_id bigint PRIMARY KEY, day int, score double precision, is_fraud boolean,
                           amount numeric(12,2), account_age_days integer, is_new_device boolean, orders_1h integer,
                           distinct_cards_24h integer, ip_country_mismatch boolean, hour_of_day integer,
                           coupon_used boolean);
INSERT INTO orders_local
SELECT g, g % 30, ((g * 7919) % 100003) / 100003.0 * 0.7 + CASE WHEN g % 50 = 0 THEN 0.3 ELSE 0 END,
       g % 50 = 0 OR g % 97 = 0, (g * 7919 % 50000) / 100.0, g * 31 % 900, g % 3 = 0, g % 5, g % 4, g % 7 = 0,
       g % 24, g % 2 = 0
  FROM generate_series(1, :rows::bigint) g;
CREATE TABLE orders_dist (LIKE orders_local INCLUDING ALL);
SET citus.shard_count = :shards;
SELECT create_distributed_table('orders_dist', 'order_id') \g /dev/null
INSERT INTO orders_dist SELECT * FROM orders_local;
VACUUM ANALYZE orders_local;
VACUUM ANALYZE orders_dist;

-- the results first: equal on both
SELECT (SELECT risk.auc(score, is_fraud) FROM orders_local) = (SELECT risk.auc(score, is_fraud) FROM orders_dist)
       AS auc_equal,
       (SELECT array_agg(risk.rows(s) ORDER BY day) FROM (SELECT day, risk.score_summary(score, is_fraud) s FROM orders_local GROUP BY day) q)
     = (SELECT array_agg(risk.rows(s) ORDER BY day) FROM (SELECT day, risk.score_summary(score, is_fraud) s FROM orders_dist GROUP BY day) q)
       AS dashboard_equal,
       (SELECT array_agg(n ORDER BY day) FROM (SELECT day, risk.count_distinct(account_age_days) n FROM orders_local GROUP BY day) q)
     = (SELECT array_agg(n ORDER BY day) FROM (SELECT day, risk.count_distinct(account_age_days) n FROM orders_dist GROUP BY day) q)
       AS distinct_equal,
       (SELECT sum(risk.score('orders_fraud', o)) FROM orders_local o)
       - (SELECT sum(risk.score('orders_fraud', o)) FROM orders_dist o) AS score_sum_difference;

CREATE TEMP TABLE timings (what text, one_node_ms float8, citus_ms float8);
INSERT INTO timings VALUES
  ('risk.auc(score, is_fraud)',
   pg_temp.best_ms('SELECT risk.auc(score, is_fraud) FROM orders_local', 3),
   pg_temp.best_ms('SELECT risk.auc(score, is_fraud) FROM orders_dist', 3)),
  ('daily risk.score_summary (30 days)',
   pg_temp.best_ms('SELECT day, risk.score_summary(score, is_fraud) FROM orders_local GROUP BY day', 3),
   pg_temp.best_ms('SELECT day, risk.score_summary(score, is_fraud) FROM orders_dist GROUP BY day', 3)),
  ('daily risk.count_distinct (30 days)',
   pg_temp.best_ms('SELECT day, risk.count_distinct(account_age_days) FROM orders_local GROUP BY day', 3),
   pg_temp.best_ms('SELECT day, risk.count_distinct(account_age_days) FROM orders_dist GROUP BY day', 3)),
  ('sum(risk.score(model, row))',
   pg_temp.best_ms($$SELECT sum(risk.score('orders_fraud', o)) FROM orders_local o$$, 3),
   pg_temp.best_ms($$SELECT sum(risk.score('orders_fraud', o)) FROM orders_dist o$$, 3));
SELECT what, :rows AS rows, round(one_node_ms) AS one_node_ms, round(citus_ms) AS citus_ms,
       round((one_node_ms / citus_ms)::numeric, 2) || 'x' AS citus_speedup,
       CASE WHEN citus_ms <= one_node_ms * 1.05 THEN 'not slower' ELSE 'slower' END AS target
  FROM timings;

-- where the scoring ran: the shards of each worker, and the rows they hold
SELECT s.nodeport AS worker_port, count(*) AS shards, sum(r.result::bigint) AS rows
  FROM citus_shards s JOIN run_command_on_shards('orders_dist', 'SELECT count(*) FROM %s') r USING (shardid)
 WHERE s.table_name = 'orders_dist'::regclass GROUP BY s.nodeport ORDER BY 1;
