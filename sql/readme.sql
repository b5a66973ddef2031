-- The examples of README.md, run on the shipped model models/orders_fraud.json:
-- their outputs here are the outputs printed in the README.
\set ON_ERROR_STOP 1
\getenv fx RISK_FIXTURES
\set model_file :fx '/orders_fraud.json'
\pset footer off

-- Import (from a server file; risk.import_model takes the bytes instead)
SELECT risk.load_model('orders_fraud', :'model_file',
                       metadata => '{"owner": "risk-team"}') AS version;

SELECT name, version, is_current, objective, num_features, num_trees, max_depth, format
  FROM risk.models WHERE name = 'orders_fraud';

SELECT * FROM risk.model_features('orders_fraud');

-- feature importance, as xgboost's get_score
SELECT feature, weight, round(gain::numeric, 3) AS gain, round(cover::numeric, 1) AS cover,
       round(total_gain::numeric, 1) AS total_gain
  FROM risk.feature_importance('orders_fraud') ORDER BY total_gain DESC;

-- Training in the database (risk.train), its record and per-round log
CREATE TABLE jan AS SELECT * FROM risk.synthetic_orders(60000, days => 31);
SELECT risk.train('orders_model',
  $$SELECT amount, quantity, discount, coupon IS NOT NULL AS has_coupon,
           extract(epoch FROM created_at - account_created_at) / 86400 AS account_age_days,
           declined, is_fraud, created_at >= '2026-01-25 00:00+00' AS holdout
      FROM jan$$,
  label => 'is_fraud', validation => 'holdout', rounds => 200, early_stopping_rounds => 20,
  params => '{"max_depth": 4, "eta": 0.2, "nthread": 1}') AS version;
SELECT version, rounds_trained, best_round, train_rows, train_positives, valid_rows, valid_positives,
       round(valid_auc::numeric, 4) AS auc, round(valid_average_precision::numeric, 4) AS ap,
       round(valid_ks::numeric, 4) AS ks, round(valid_log_loss::numeric, 4) AS log_loss
  FROM risk.model_training WHERE name = 'orders_model';
SELECT round, round(value::numeric, 4) AS aucpr FROM risk.model_training_rounds
 WHERE name = 'orders_model' AND version = 1 AND round IN (1, 5, 15, 35) ORDER BY round;

-- Deployment: a challenger, aliases
SET client_min_messages = warning;
SELECT risk.train('orders_model',
  $$SELECT amount, quantity, discount, coupon IS NOT NULL AS has_coupon,
           extract(epoch FROM created_at - account_created_at) / 86400 AS account_age_days,
           declined, is_fraud, created_at >= '2026-01-25 00:00+00' AS holdout
      FROM jan$$,
  label => 'is_fraud', validation => 'holdout', rounds => 400, early_stopping_rounds => 40,
  params => '{"max_depth": 6, "eta": 0.1, "min_child_weight": 2, "nthread": 1}') AS version;
RESET client_min_messages;
SELECT risk.set_alias('orders_model', 'champion', 1);
SELECT risk.set_alias('orders_model', 'challenger', 2);
SELECT name, alias, version FROM risk.model_aliases ORDER BY alias;

-- Champion against challenger on February's orders; drift from January
CREATE TABLE feb AS SELECT * FROM risk.synthetic_orders(20000, seed => 7, start_at => '2026-02-01 00:00+00', days => 7);
CREATE VIEW feb_features AS
  SELECT order_id, buyer_id, amount, quantity, discount, coupon IS NOT NULL AS has_coupon,
         extract(epoch FROM created_at - account_created_at) / 86400 AS account_age_days, declined, is_fraud
    FROM feb;
\x on
SELECT (risk.compare_scores(risk.score('orders_model@champion', f), risk.score('orders_model@challenger', f),
                            f.is_fraud, f.amount, 0.5, 0.5)).*
  FROM feb_features f;
\x off
SELECT round(share_a::numeric, 4) AS share_a, round(chi_square::numeric, 3) AS chi_square, round(p_value::numeric, 4) AS p_value
  FROM risk.sample_ratio_test(5100, 94900, 0.05);
SELECT rank, feature, round(csi::numeric, 4) AS csi, round(current_missing::numeric, 4) AS current_missing
  FROM risk.feature_drift('orders_model@champion',
                          reference_rows => $$SELECT amount, quantity, discount, coupon IS NOT NULL AS has_coupon,
                                                     extract(epoch FROM created_at - account_created_at) / 86400 AS account_age_days,
                                                     declined FROM jan$$,
                          current_rows => 'feb_features');
SELECT round(psi::numeric, 4) AS psi, reference_count, current_count,
       round(reference_mean_score::numeric, 4) AS reference_mean, round(current_mean_score::numeric, 4) AS current_mean
  FROM risk.score_drift('orders_model@champion', reference_rows => $$SELECT amount, quantity, discount, coupon IS NOT NULL AS has_coupon,
                                                     extract(epoch FROM created_at - account_created_at) / 86400 AS account_age_days,
                                                     declined FROM jan$$, current_rows => 'feb_features');
DROP VIEW feb_features;
DROP TABLE jan, feb;

-- An orders table whose columns are named like the features
CREATE TABLE orders (
    order_id            bigint PRIMARY KEY,
    amount              numeric(12,2),
    account_age_days    integer,
    is_new_device       boolean,
    orders_1h           integer,
    distinct_cards_24h  integer,
    ip_country_mismatch boolean,
    hour_of_day         integer,
    coupon_used         boolean
);
INSERT INTO orders VALUES
    (1,  35.90, 812, false, 0, 1, false, 14, false),
    (2, 420.00,   2, true,  1, 1, true,   3, false),
    (3,  18.50,  45, false, 5, 3, false, 22, true),
    (4, 129.99,   0, NULL,  2, 2, NULL,  11, true);

-- Score rows by column name
SELECT order_id, round(risk.score('orders_fraud', o)::numeric, 4) AS score
  FROM orders o ORDER BY order_id;

-- Why order 2 scored so: each feature's SHAP value in the margin, and the bias
SELECT coalesce(f.feature, '(bias)') AS feature, round(c.phi::numeric, 4) AS contribution
  FROM orders o
 CROSS JOIN unnest(risk.score_contributions('orders_fraud', o)) WITH ORDINALITY c(phi, ordinal)
  LEFT JOIN risk.model_features('orders_fraud') f ON f.ordinal = c.ordinal
 WHERE o.order_id = 2 ORDER BY c.ordinal;
SELECT round(risk.score_margin('orders_fraud', o)::numeric, 4) AS margin FROM orders o WHERE order_id = 2;

-- The same with an array in the model's feature order (NULL = missing)
SELECT round(risk.score('orders_fraud',
                        ARRAY[420, 2, 1, 1, 1, 1, 3, 0]::real[])::numeric, 4) AS score,
       round(risk.score_margin('orders_fraud',
                        ARRAY[420, 2, 1, 1, 1, 1, 3, 0]::real[])::numeric, 4) AS margin,
       round(risk.score('orders_fraud',
                        ARRAY[420, 2, NULL, 1, 1, NULL, 3, 0]::real[])::numeric, 4) AS with_missing;

-- libxgboost's own answer for the same row: identical
SELECT risk.score('orders_fraud', ARRAY[420, 2, 1, 1, 1, 1, 3, 0]::real[])
     = risk.score_xgboost('orders_fraud', ARRAY[420, 2, 1, 1, 1, 1, 3, 0]::real[]) AS identical;

-- In a materialized view
CREATE MATERIALIZED VIEW order_scores AS
SELECT order_id, risk.score('orders_fraud', o) AS score FROM orders o;
SELECT count(*) FILTER (WHERE score >= 0.5) AS to_block FROM order_scores;

-- What this session holds compiled (each query that scored with it is a use)
SELECT name, version, uses, has_xgboost_copy FROM risk.cached_models();

-- A new version is used by the next statement; the old one stays listed
SELECT risk.load_model('orders_fraud', :'model_file') AS version;
SELECT name, version, is_current FROM risk.models WHERE name = 'orders_fraud' ORDER BY version;
SELECT risk.drop_model('orders_fraud', 2) AS dropped;

-- Errors are clear
\set VERBOSITY default
\set ON_ERROR_STOP 0
SELECT risk.score('orders_fraud', ARRAY[1, 2, 3]::real[]);
SELECT risk.score('orders_fraud', t) FROM (SELECT 10 AS amount) t;
SELECT risk.score('order_fraud', ARRAY[1, 2, 3]::real[]);
\set ON_ERROR_STOP 1

-- Velocity features: distinct devices per buyer in the last hour
SET timezone = 'UTC';
SET datestyle = 'ISO';
CREATE TABLE buyer_events (order_id int, buyer_id text, created_at timestamptz, device_id text);
INSERT INTO buyer_events VALUES
    (1, 'buyer-1', '2026-11-24 10:00', 'dev-A'),
    (2, 'buyer-1', '2026-11-24 10:20', 'dev-B'),
    (3, 'buyer-1', '2026-11-24 10:40', 'dev-A'),
    (4, 'buyer-1', '2026-11-24 10:50', 'dev-C'),
    (5, 'buyer-1', '2026-11-24 11:30', 'dev-C'),
    (6, 'buyer-2', '2026-11-24 10:05', 'dev-D');
SELECT order_id, buyer_id, created_at, device_id,
       risk.count_distinct(device_id) OVER (PARTITION BY buyer_id ORDER BY created_at
            RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) AS devices_1h,
       risk.count_distinct(device_id) OVER (PARTITION BY buyer_id ORDER BY created_at
            RANGE BETWEEN '1 hour' PRECEDING AND '1 microsecond' PRECEDING) AS devices_1h_before
  FROM buyer_events ORDER BY order_id;
DROP TABLE buyer_events;
CREATE TABLE card_orders (order_id int, card_id text, created_at timestamptz, amount float8,
                          device_id text);
INSERT INTO card_orders VALUES
    (1, 'card-9', '2026-11-24 08:00', 20, 'dev-A'),
    (2, 'card-9', '2026-11-24 09:00', 25, 'dev-A'),
    (3, 'card-9', '2026-11-24 10:00', 18, 'dev-B'),
    (4, 'card-9', '2026-11-24 11:00', 22, 'dev-A'),
    (5, 'card-9', '2026-11-24 11:30', 480, 'dev-C');
SELECT order_id, created_at, amount,
       round(risk.zscore(amount) OVER w::numeric, 2)                            AS amount_z,
       round(risk.stddev(amount) OVER w::numeric, 2)                            AS amount_sd,
       round(risk.decayed_sum(amount, created_at, '1 hour') OVER w::numeric, 2) AS spend_decayed_1h
  FROM card_orders
WINDOW w AS (PARTITION BY card_id ORDER BY created_at
             RANGE BETWEEN '24 hours' PRECEDING AND CURRENT ROW)
 ORDER BY order_id;
SELECT order_id, created_at, amount,
       risk.velocity(created_at, amount, device_id, ARRAY['1 hour', '24 hours']::interval[])
         OVER (PARTITION BY card_id ORDER BY created_at) AS v
  FROM card_orders ORDER BY order_id;
-- online: a trigger keeps each card's state and scores orders as they come
CREATE TABLE card_velocity (card_id text PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE live_orders (LIKE card_orders, velocity float8[]);
CREATE FUNCTION live_orders_velocity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s risk.velocity_state;
BEGIN
  INSERT INTO card_velocity AS v
  VALUES (NEW.card_id,
          risk.velocity_add(risk.velocity_init('{1 hour,24 hours}', max_distinct => 100),
                            NEW.created_at, NEW.amount, NEW.device_id))
  ON CONFLICT (card_id) DO UPDATE
    SET state = risk.velocity_add(v.state, NEW.created_at, NEW.amount, NEW.device_id)
  RETURNING state INTO s;
  NEW.velocity := risk.velocity_read(s, NEW.created_at);
  RETURN NEW;
END $$;
CREATE TRIGGER live_orders_velocity BEFORE INSERT ON live_orders
  FOR EACH ROW EXECUTE FUNCTION live_orders_velocity();
INSERT INTO live_orders SELECT * FROM card_orders ORDER BY created_at;
SELECT order_id, created_at, amount, velocity FROM live_orders ORDER BY order_id;
SELECT order_id,
       risk.velocity_tiled(created_at, amount, device_id, '{1 hour,24 hours}', max_distinct => 100)
         OVER (PARTITION BY card_id ORDER BY created_at) AS v
  FROM card_orders ORDER BY order_id;
SELECT risk.velocity_read(state, '2026-11-24 12:10') AS at_12_10,
       risk.velocity_read(state, '2026-11-25 09:00') AS next_morning
  FROM card_velocity;
-- backfill: the states of history, then carry on from there
TRUNCATE card_velocity;
INSERT INTO card_velocity
SELECT card_id, risk.velocity_state_agg(created_at, amount, device_id, '{1 hour,24 hours}', 100)
  FROM card_orders GROUP BY card_id;
SELECT risk.velocity_read(state, '2026-11-24 12:10') AS at_12_10 FROM card_velocity;
-- the same from C: risk.velocity_track
CREATE TABLE card_store (card_id text PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE tracked_orders (LIKE card_orders, velocity float8[]);
CREATE FUNCTION tracked_orders_velocity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.velocity := risk.velocity_read(
    risk.velocity_track('card_store', NEW.card_id, NEW.created_at, NEW.amount, NEW.device_id,
                        '{1 hour,24 hours}', max_distinct => 100),
    NEW.created_at);
  RETURN NEW;
END $$;
CREATE TRIGGER tracked_orders_velocity BEFORE INSERT ON tracked_orders
  FOR EACH ROW EXECUTE FUNCTION tracked_orders_velocity();
INSERT INTO tracked_orders SELECT * FROM card_orders ORDER BY created_at;
SELECT order_id, velocity FROM tracked_orders ORDER BY order_id;
SELECT card_id, risk.velocity_read(state, '2026-11-24 12:10') AS at_12_10 FROM card_store;
DROP TABLE live_orders, card_velocity, tracked_orders, card_store;
DROP FUNCTION live_orders_velocity(), tracked_orders_velocity();
DROP TABLE card_orders;
CREATE TABLE buyer_cards (order_id int, buyer_id text, created_at timestamptz, card_id text);
INSERT INTO buyer_cards VALUES
    (1, 'buyer-7', '2026-11-20 09:00', 'card-1'),
    (2, 'buyer-7', '2026-11-21 09:00', 'card-1'),
    (3, 'buyer-7', '2026-11-24 02:10', 'card-2'),
    (4, 'buyer-7', '2026-11-24 02:12', 'card-3'),
    (5, 'buyer-7', '2026-11-24 02:15', 'card-2');
SELECT order_id, card_id,
       risk.is_new(card_id) OVER w             AS new_card,
       risk.last_k_distinct(card_id, 3) OVER w AS recent_cards
  FROM buyer_cards
WINDOW w AS (PARTITION BY buyer_id ORDER BY created_at
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
 ORDER BY order_id;
DROP TABLE buyer_cards;
SELECT n, risk.approx_count_distinct(g) AS estimate
  FROM (VALUES (100), (10000), (1000000)) v(n), generate_series(1, n) g
 GROUP BY n ORDER BY n;
-- risk metrics
CREATE TABLE scored_orders (order_id int, day date, score float8, is_fraud boolean, amount numeric);
INSERT INTO scored_orders VALUES
    (1, '2026-11-23', 0.91, true, 420), (2, '2026-11-23', 0.15, false, 35),
    (3, '2026-11-23', 0.62, false, 80), (4, '2026-11-23', 0.62, true, 150),
    (5, '2026-11-23', 0.05, false, 12), (6, '2026-11-23', 0.33, false, 64),
    (7, '2026-11-24', 0.88, true, 999), (8, '2026-11-24', 0.30, false, 60),
    (9, '2026-11-24', 0.45, true, 45), (10, '2026-11-24', 0.10, false, 20),
    (11, '2026-11-24', 0.72, false, 300), (12, '2026-11-24', NULL, true, 75);
SELECT day, count(score) AS scored,
       round(risk.auc(score, is_fraud)::numeric, 4) AS auc,
       round(risk.ks(score, is_fraud)::numeric, 4) AS ks,
       round(risk.average_precision(score, is_fraud)::numeric, 4) AS ap,
       round(risk.log_loss(score, is_fraud)::numeric, 4) AS log_loss,
       round(risk.brier(score, is_fraud)::numeric, 4) AS brier
  FROM scored_orders GROUP BY day ORDER BY day;
SELECT round(risk.auc(score, is_fraud, amount)::numeric, 4) AS dollar_auc,
       risk.recall(score, is_fraud, 0.6) AS recall,
       round(risk.recall(score, is_fraud, 0.6, amount)::numeric, 4) AS dollar_recall,
       risk.capture_rate(score, is_fraud, 0.25) AS top_25pct_capture,
       risk.lift(score, is_fraud, 0.25) AS top_25pct_lift,
       risk.recall_at_fpr(score, is_fraud, 0.2) AS recall_at_20pct_fpr
  FROM scored_orders;
SELECT (risk.confusion(score, is_fraud, 0.6)).* FROM scored_orders;
SELECT risk.auc(score, is_fraud) AS auc FROM scored_orders WHERE NOT is_fraud;
SELECT p.* FROM unnest((SELECT risk.roc_curve(score, is_fraud) FROM scored_orders WHERE day = '2026-11-23')) p;
SELECT threshold, round(precision::numeric, 4) AS precision, recall
  FROM unnest((SELECT risk.pr_curve(score, is_fraud) FROM scored_orders WHERE day = '2026-11-23'));
SELECT d.day, p.threshold, round(p.fpr::numeric, 4) AS fpr, round(p.tpr::numeric, 4) AS tpr
  FROM (SELECT day, risk.roc_curve(score, is_fraud) AS curve FROM scored_orders GROUP BY day) d,
       unnest(d.curve) p
 WHERE d.day = '2026-11-24';
SELECT bucket, min_score, max_score, rows, positives, round(positive_rate::numeric, 4) AS positive_rate,
       round(population::numeric, 4) AS population, round(capture::numeric, 4) AS capture,
       round(lift::numeric, 4) AS lift, round(ks::numeric, 4) AS ks
  FROM unnest((SELECT risk.gains(score, is_fraud, 4) FROM scored_orders));
SELECT bin, lower, upper, rows, positives, round(mean_score::numeric, 4) AS mean_score,
       round(positive_rate::numeric, 4) AS positive_rate
  FROM unnest((SELECT risk.calibration(score, is_fraud, 4) FROM scored_orders));
CREATE MATERIALIZED VIEW daily_model_quality AS
SELECT day, risk.score_summary(score, is_fraud) AS summary,
       risk.score_summary(score, is_fraud, amount::float8) AS dollar_summary
  FROM scored_orders GROUP BY day;
SELECT day, risk.rows(summary) AS rows, round(risk.auc(summary)::numeric, 4) AS auc,
       round(risk.auc_error_bound(summary)::numeric, 4) AS auc_bound,
       round(risk.ks(summary)::numeric, 4) AS ks, round(risk.log_loss(summary)::numeric, 4) AS log_loss,
       round(risk.recall(dollar_summary, 0.6)::numeric, 4) AS dollar_recall
  FROM daily_model_quality ORDER BY day;
SELECT risk.rows(risk.rollup(summary)) AS rows,
       round(risk.auc(risk.rollup(summary))::numeric, 4) AS auc,
       round(risk.log_loss(risk.rollup(summary))::numeric, 4) AS log_loss
  FROM daily_model_quality;
SELECT day, round(risk.auc(risk.rollup(summary) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW))::numeric, 4)
       AS auc_7_days
  FROM daily_model_quality ORDER BY day;
SELECT round(risk.psi(score, day = '2026-11-24', 4)::numeric, 4) AS psi FROM scored_orders;
SELECT bin, lower, upper, round(expected::numeric, 4) AS expected, round(actual::numeric, 4) AS actual,
       round(psi::numeric, 4) AS psi
  FROM unnest((SELECT risk.psi_table(score, day = '2026-11-24', 4) FROM scored_orders));
SELECT category, round(expected::numeric, 4) AS expected, round(actual::numeric, 4) AS actual,
       round(csi::numeric, 4) AS csi
  FROM unnest((SELECT risk.csi_table(CASE WHEN amount >= 300 THEN 'large' WHEN amount >= 50 THEN 'medium' ELSE 'small' END,
                                day = '2026-11-24')
                 FROM scored_orders));
SELECT round(auc::numeric, 4) AS auc, round(lower::numeric, 4) AS lower, round(upper::numeric, 4) AS upper,
       round(std_error::numeric, 4) AS std_error, level
  FROM (SELECT (risk.auc_ci(score, is_fraud)).* FROM scored_orders) c;
SELECT round(auc_a::numeric, 4) AS auc_a, round(auc_b::numeric, 4) AS auc_b, round(difference::numeric, 4) AS difference,
       round(std_error::numeric, 4) AS std_error, round(z::numeric, 4) AS z, round(p_value::numeric, 4) AS p_value
  FROM (SELECT (risk.auc_test(score, amount::float8, is_fraud)).* FROM scored_orders) t;
SELECT rate_a, rate_b, round(difference::numeric, 4) AS difference, round(z::numeric, 4) AS z, round(p_value::numeric, 4) AS p_value
  FROM risk.proportion_test(412, 10000, 371, 10000);
DROP MATERIALIZED VIEW daily_model_quality;
DROP TABLE scored_orders;
-- the scoring trigger
CREATE TABLE incoming (
    order_id int PRIMARY KEY, amount numeric(12,2), account_age_days int, is_new_device boolean,
    orders_1h int, distinct_cards_24h int, ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    score double precision, decision text, reasons text[]);
CREATE FUNCTION incoming_features(o incoming) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int];
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('orders_fraud', 0.2, 0.6);
CREATE TRIGGER score_incoming BEFORE INSERT ON incoming FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'incoming_features', 'score', 'decision', 'reasons');
INSERT INTO incoming (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                      ip_country_mismatch, hour_of_day, coupon_used)
VALUES (1, 35.90, 812, false, 0, 1, false, 14, false),
       (2, 420.00, 2, true, 1, 1, true, 3, false),
       (3, 900.00, 0, true, 6, 3, true, 3, false);
SELECT order_id, round(score::numeric, 4) AS score, decision, reasons FROM incoming ORDER BY order_id;
DROP TABLE incoming CASCADE;
-- rules: a rule set, lists, draft rules, publishing, decisions
CREATE TABLE shop_orders (
    order_id int PRIMARY KEY, created_at timestamptz, device_id text, ip inet,
    amount numeric(12,2), account_age_days int, is_new_device boolean, orders_1h int, distinct_cards_24h int,
    ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    score double precision, decision text, reasons text[], hits text[], shadow_hits text[], rules_version int,
    features real[]);
CREATE FUNCTION shop_features(o shop_orders) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int];
CREATE TRIGGER score_shop BEFORE INSERT ON shop_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'shop_features', 'score', 'decision', 'reasons',
                                      'rules=shop', 'hits=hits', 'shadow_hits=shadow_hits', 'rules_version=rules_version',
                                      'features=features');
\o /dev/null
SELECT risk.create_rule_set('shop', 'shop_orders', 'orders_fraud', 'the shop''s rules');
SELECT risk.create_list('blocked_devices', description => 'devices with chargebacks');
SELECT risk.create_list('vip_devices');
SELECT risk.create_list('proxies', 'inet');
SELECT risk.add_to_list('blocked_devices', 'd-666', 'chargeback', valid_from => '2026-03-02');
SELECT risk.add_to_list('vip_devices', 'd-vip', 'key account');
SELECT risk.add_to_list('proxies', '203.0.113.0/24'::cidr, 'proxy provider', valid_from => '2026-01-01');
\o
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('shop', 'blocked_device', $$risk.in_list('blocked_devices', device_id)$$, 'block', 'enforce', 1, 'device on the blocked list'),
  ('shop', 'vip', $$risk.in_list('vip_devices', device_id)$$, 'allow', 'enforce', 5, 'VIP device'),
  ('shop', 'new_account_big', 'amount > 300 AND account_age_days < 7', 'review', 'enforce', 10, 'large order from a new account'),
  ('shop', 'proxy_night', $$risk.in_list('proxies', ip) AND hour_of_day < 6$$, 'review', 'shadow', 20, 'proxy at night');
SELECT risk.publish_rules('shop', 'first rules') AS version;
INSERT INTO shop_orders (order_id, created_at, device_id, ip, amount, account_age_days, is_new_device, orders_1h,
                         distinct_cards_24h, ip_country_mismatch, hour_of_day, coupon_used) VALUES
  (1, '2026-03-05 14:02+00', 'd-1', '198.51.100.4', 35.90, 812, false, 0, 1, false, 14, false),
  (2, '2026-03-05 03:10+00', 'd-2', '203.0.113.7', 420.00, 2, true, 1, 1, true, 3, false),
  (3, '2026-03-05 03:12+00', 'd-vip', '198.51.100.9', 900.00, 0, true, 6, 3, true, 3, false),
  (4, '2026-03-05 15:40+00', 'd-666', '198.51.100.4', 35.90, 812, false, 0, 1, false, 15, false);
SELECT order_id, round(score::numeric, 4) AS score, decision, hits, shadow_hits, rules_version, reasons
  FROM shop_orders ORDER BY order_id;
-- the same decisions in a query
SELECT o.order_id, d.decision, d.hits, d.shadow_hits
  FROM shop_orders o, risk.decide('shop', o, shop_features(o), o.score) d ORDER BY o.order_id;
SELECT key, action, mode, outcome
  FROM risk.explain_rules('shop', (SELECT o FROM shop_orders o WHERE order_id = 2),
                          (SELECT shop_features(o) FROM shop_orders o WHERE order_id = 2));
-- a mistake in the draft, caught before it acts
UPDATE risk.rules SET expression = 'amount > 300 AND account_age < 7' WHERE rule_set = 'shop' AND key = 'new_account_big';
SELECT key, sqlstate, message FROM risk.check_rules('shop');
SELECT risk.checkout_rules('shop', 1) AS rules;
-- the shadow rule to block: backtest the draft against version 1 on labelled history
UPDATE risk.rules SET mode = 'enforce', action = 'block' WHERE rule_set = 'shop' AND key = 'proxy_night';
-- the history: the orders with the features the trigger kept, and labels
CREATE TABLE shop_history AS SELECT o.*, o.order_id IN (2, 4) AS is_fraud FROM shop_orders o;
SELECT key, mode, hits, fraud_hits, good_hits, "precision", recall, unique_fraud_hits
  FROM risk.backtest('shop', 'shop_history') AS report, risk.backtest_rules(report);
SELECT from_decision, to_decision, orders, fraud_orders, fraud_amount
  FROM risk.backtest_changes(risk.backtest('shop', 'shop_history')) WHERE orders > 0;
SELECT risk.publish_rules('shop', 'proxy_night enforced') AS version;
SELECT risk.rollback_rules('shop', 1, 'too many reviews') AS version;
SELECT seq, version, event, note FROM risk.rule_publications WHERE rule_set = 'shop' ORDER BY seq;
-- the daily statistics of the rules
SELECT day, key, mode, orders, hits, hit_rate FROM risk.rule_stats('shop_orders');
SELECT day, key, hits, fraud_hits, "precision", recall, fraud_amount
  FROM risk.rule_stats('shop_history', label => 'is_fraud');
DROP TABLE shop_history;
DROP TABLE shop_orders CASCADE;
DELETE FROM risk.decision_thresholds;
-- experiments: a unit's stable bucket
SELECT buyer_id, risk.bucket('challenger-2026-02', buyer_id, 100) AS bucket,
       risk.bucket('challenger-2026-02', buyer_id, 100) < 5 AS in_canary
  FROM (VALUES (8), (39), (69922), (99545)) b(buyer_id);
SELECT count(*) FILTER (WHERE risk.bucket('challenger-2026-02', g, 100) < 5) AS canary_buyers
  FROM generate_series(1, 100000) g;
-- synthetic orders
SELECT pattern, count(*) AS orders, count(DISTINCT buyer_id) AS buyers, round(avg(amount)::numeric, 2) AS avg_amount
  FROM risk.synthetic_orders(100000, 42) GROUP BY pattern ORDER BY orders DESC;
-- feature sets: declare once, batch and online
CREATE TABLE shop_orders AS SELECT order_id, created_at, buyer_id, device_id, amount, declined
  FROM risk.synthetic_orders(5000, 42);
ALTER TABLE shop_orders ADD PRIMARY KEY (order_id);
SELECT risk.create_feature_set('shop', 'shop_orders', 'created_at', tie_break => 'order_id');
SELECT risk.add_feature('shop', 'amount', 'amount');
SELECT risk.add_feature('shop', 'buyer_orders_1d', 'count(*)', per => 'buyer_id', within => '1 day');
SELECT risk.add_feature('shop', 'buyer_declines_7d', 'count(*) FILTER (WHERE declined)', per => 'buyer_id',
                        within => '7 days', delay => '1 day');
SELECT risk.add_feature('shop', 'device_buyers_1d', 'count(distinct buyer_id)', per => 'device_id',
                        within => '1 day', max_distinct => 100);
SELECT risk.add_feature('shop', 'new_device', 'is_new(device_id)', per => 'buyer_id', within => '30 days');
SELECT risk.add_feature('shop', 'amount_vs_avg', 'ratio_to_avg(amount)', per => 'buyer_id', within => '30 days');
SELECT * FROM shop_features() WHERE order_id IN (4410, 4411, 4412, 4413) ORDER BY order_id;
SELECT risk.rebuild_feature_states('shop') AS entities;
SELECT * FROM risk.entity_features('shop', 'buyer_id', 542, '2026-01-28 02:00+00');
DROP TABLE shop_orders;
-- a velocity pack read by name
SELECT risk.velocity_value(v, '{1 hour,24 hours}', 'distinct', '24 hours') AS devices_24h
  FROM (SELECT '{1,4,22,85,1,2}'::float8[] AS v) p;
SELECT * FROM risk.velocity_unpack('{1,4,22,85,1,2}', '{1 hour,24 hours}');
RESET timezone;
RESET datestyle;

DROP MATERIALIZED VIEW order_scores;
DROP TABLE orders;
SELECT risk.drop_model('orders_fraud') AS dropped;
