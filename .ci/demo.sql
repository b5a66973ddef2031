-- make demo: import the shipped model, score a generated table of orders,
-- print a short summary.
\pset footer off
SET client_min_messages = warning;
\echo
\echo == 1. Import the shipped model (models/orders_fraud.json) into the registry
CREATE EXTENSION risk;
SELECT risk.load_model('orders_fraud', :'model_path',
                       metadata => '{"source": "models/orders_fraud.json"}') AS version;
SELECT name, version, objective, num_features, num_trees, max_depth, format
  FROM risk.describe_model('orders_fraud');
SELECT ordinal, feature FROM risk.model_features('orders_fraud');

\echo
\echo == 2. Generate :orders orders
SELECT setseed(0.42);
CREATE TABLE orders AS
SELECT id AS order_id,
       round(exp(3.6 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 2) AS amount,
       floor(-400 * ln(1 - random()))::int AS account_age_days,
       CASE WHEN random() < 0.02 THEN NULL ELSE random() < 0.12 END AS is_new_device,
       ((random() < 0.3)::int + (random() < 0.1)::int + 3 * (random() < 0.01)::int) AS orders_1h,
       (1 + (random() < 0.12)::int + (random() < 0.03)::int) AS distinct_cards_24h,
       CASE WHEN random() < 0.03 THEN NULL ELSE random() < 0.06 END AS ip_country_mismatch,
       floor(24 * random())::int AS hour_of_day,
       random() < 0.2 AS coupon_used
  FROM generate_series(1, :orders) id;
SELECT count(*) AS orders, round(avg(amount), 2) AS avg_amount FROM orders;

\echo
\echo == 3. Score every order by column name: risk.score('orders_fraud', o)
\timing on
CREATE TABLE scored AS
SELECT o.order_id, o.amount, risk.score('orders_fraud', o) AS score FROM orders o;
\timing off

\echo
\echo == 4. Summary
SELECT count(*) AS orders,
       round(avg(score)::numeric, 4) AS mean_score,
       count(*) FILTER (WHERE score >= 0.5) AS block_at_0_5,
       count(*) FILTER (WHERE score >= 0.1 AND score < 0.5) AS review_0_1_to_0_5,
       round(sum(amount) FILTER (WHERE score >= 0.5), 2) AS amount_blocked
  FROM scored;

\echo score distribution (deciles of orders by score)
SELECT decile, count(*) AS orders, round(min(score)::numeric, 4) AS min_score,
       round(max(score)::numeric, 4) AS max_score, round(avg(amount), 2) AS avg_amount
  FROM (SELECT score, amount, ntile(10) OVER (ORDER BY score) AS decile FROM scored) d
 GROUP BY decile ORDER BY decile;

\echo the five riskiest orders
SELECT o.*, round(s.score::numeric, 4) AS score
  FROM scored s JOIN orders o USING (order_id)
 ORDER BY s.score DESC, o.order_id LIMIT 5;
