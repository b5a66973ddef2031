-- risk.backtest: every figure equals a plain-SQL recount over the same
-- history, with lists as they were at each order's time, the label
-- cut-off and the orders left out as not mature; the draft against the
-- current version; the same report with parallel workers.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SET client_min_messages = warning;
SELECT plan(16);

\set model_file :fx '/orders_fraud.json'
SELECT risk.load_model('bt_m', :'model_file') IS NOT NULL AS loaded \gset
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('bt_m', 0.2, 0.6);
CREATE SCHEMA bt;
-- the orders table: synthetic orders, their label and when it became known
CREATE TABLE bt.orders AS
SELECT order_id, created_at, buyer_id, account_created_at, device_id, ip, quantity, discount, amount, coupon,
       is_fraud, CASE WHEN is_fraud AND order_id % 3 <> 0 THEN created_at + (order_id % 20) * interval '1 day' END AS reported_at,
       NULL::double precision AS score, NULL::text AS decision
  FROM risk.synthetic_orders(20000, 7, days => 20);
ALTER TABLE bt.orders ADD PRIMARY KEY (order_id);
-- its features (the orders_fraud model's eight) of each order at its time
CREATE FUNCTION bt.features(o bt.orders) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, extract(epoch FROM o.created_at - o.account_created_at) / 86400,
               (o.order_id % 5 = 0)::int, o.quantity, 1, (o.ip << '185.0.0.0/8'::inet)::int,
               extract(hour FROM o.created_at AT TIME ZONE 'UTC'), (o.coupon IS NOT NULL)::int]::float8[];
UPDATE bt.orders o SET score = risk.score('bt_m', bt.features(o));
CREATE VIEW bt.history AS SELECT o.*, bt.features(o) AS features FROM bt.orders o;

-- lists with a history: devices blocked from a day, some removed, some expiring
SELECT risk.create_list('bt_devices');
SELECT count(risk.add_to_list('bt_devices', device_id, 'reported', valid_from => min_at + interval '1 day',
                              expires_at => CASE WHEN device_id % 4 = 0 THEN min_at + interval '5 days' END))
  FROM (SELECT device_id, min(created_at) AS min_at FROM bt.orders WHERE is_fraud GROUP BY device_id
        ORDER BY device_id LIMIT 300) d;
SELECT risk.create_list('bt_nets', 'inet');
SELECT risk.add_to_list('bt_nets', '185.0.0.0/12'::cidr, 'datacenters', valid_from => '2026-01-05');

SELECT risk.create_rule_set('bt_rules', 'bt.orders', 'bt_m');
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('bt_rules', 'big', 'amount > 400', 'review', 'enforce', 10, 'big order'),
  ('bt_rules', 'device', $$risk.in_list('bt_devices', device_id)$$, 'block', 'enforce', 5, 'blocked device'),
  ('bt_rules', 'net', $$risk.in_list('bt_nets', ip) AND account_age_days < 30$$, 'block', 'enforce', 6, 'datacenter, new account'),
  ('bt_rules', 'coupon_new', $$coupon IS NOT NULL AND now() - account_created_at < interval '3 days'$$, 'review', 'shadow', 20, 'coupon on a new account'),
  ('bt_rules', 'trusted', 'buyer_id % 97 = 0', 'allow', 'enforce', 1, 'trusted buyers'),
  ('bt_rules', 'ratio', 'CASE WHEN quantity = 1 THEN amount / (quantity - 1) > 0 END', 'review', 'shadow', 30, 'divides');
SELECT is(risk.publish_rules('bt_rules'), 1, 'version 1 published');
-- the draft: the device rule to review, a new rule
UPDATE risk.rules SET action = 'review' WHERE rule_set = 'bt_rules' AND key = 'device';
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description)
VALUES ('bt_rules', 'many', 'quantity >= 3 AND discount > 0.1', 'block', 'enforce', 8, 'many discounted');

-- the plain-SQL recount: each rule written out, lists as of the order's time
CREATE VIEW bt.recount AS
SELECT h.*, (h.is_fraud AND h.reported_at <= '2026-01-18') AS fraud,
       h.amount > 400 AS r_big,
       risk.in_list('bt_devices', h.device_id, h.created_at) AS r_device,
       risk.in_list('bt_nets', h.ip, h.created_at) AND h.features[2]::real < 30 AS r_net,
       h.coupon IS NOT NULL AND h.created_at - h.account_created_at < interval '3 days' AS r_coupon_new,
       h.buyer_id % 97 = 0 AS r_trusted,
       h.quantity >= 3 AND h.discount > 0.1 AS r_many,
       CASE WHEN h.score >= 0.6 THEN 'block' WHEN h.score >= 0.2 THEN 'review' ELSE 'allow' END AS by_model
  FROM bt.history h WHERE h.created_at <= timestamptz '2026-01-18' - interval '4 days';
CREATE VIEW bt.recount_decisions AS
SELECT r.*,
       CASE WHEN r_many OR r_net THEN 'block' WHEN r_trusted THEN 'allow'
            WHEN (r_big OR r_device) AND by_model = 'allow' THEN 'review' ELSE by_model END AS tested,
       CASE WHEN r_device OR r_net THEN 'block' WHEN r_trusted THEN 'allow'
            WHEN r_big AND by_model = 'allow' THEN 'review' ELSE by_model END AS baseline
  FROM bt.recount r;

CREATE TABLE bt.report AS
SELECT risk.backtest('bt_rules', 'bt.history', labels_as_of => '2026-01-18', min_label_age => '4 days',
                     label_known_at => 'reported_at', score => 'score') AS r;
-- the report's rules (the expected file shows them)
SELECT key, action, mode, hits, fraud_hits, good_hits, round(fraud_amount::numeric, 2), round(good_amount::numeric, 2),
       round("precision"::numeric, 4), round(recall::numeric, 4), unique_fraud_hits, errors
  FROM risk.backtest_rules((SELECT r FROM bt.report));
SELECT is((SELECT r->>'immature_orders' FROM bt.report)::bigint,
          (SELECT count(*) FROM bt.orders WHERE created_at > timestamptz '2026-01-18' - interval '4 days'),
          'orders not mature: left out and counted');
SELECT is((SELECT (r->>'orders')::bigint || ':' || (r->>'fraud_orders') FROM bt.report),
          (SELECT count(*) || ':' || count(*) FILTER (WHERE fraud) FROM bt.recount),
          'orders and fraud as known by the cut-off');
-- per rule: hits, fraud, amounts
CREATE VIEW bt.rule_recount AS
SELECT k.key, count(*) FILTER (WHERE k.hit) AS hits, count(*) FILTER (WHERE k.hit AND k.fraud) AS fraud_hits,
       coalesce(sum(k.amount) FILTER (WHERE k.hit AND k.fraud), 0) AS fraud_amount,
       coalesce(sum(k.amount) FILTER (WHERE k.hit AND NOT coalesce(k.fraud, false)), 0) AS good_amount,
       count(*) FILTER (WHERE k.hit AND k.fraud AND k.catching = 1 AND k.action <> 'allow') AS unique_fraud
  FROM (SELECT x.key, x.hit, x.action, r.fraud, r.amount,
               (coalesce(r_big, false)::int + coalesce(r_device, false)::int + coalesce(r_net, false)::int
                + coalesce(r_coupon_new, false)::int + coalesce(r_many, false)::int) AS catching
          FROM bt.recount r,
               LATERAL (VALUES ('big', r_big, 'review'), ('device', r_device, 'review'), ('net', r_net, 'block'),
                               ('coupon_new', r_coupon_new, 'review'), ('trusted', r_trusted, 'allow'),
                               ('many', r_many, 'block')) x(key, hit, action)) k
 GROUP BY k.key;
SELECT is((SELECT count(*) FROM risk.backtest_rules((SELECT r FROM bt.report)) b JOIN bt.rule_recount c USING (key)
            WHERE b.hits = c.hits AND b.fraud_hits = c.fraud_hits
              AND abs(b.fraud_amount - c.fraud_amount) < 1e-6 AND abs(b.good_amount - c.good_amount) < 1e-6
              AND (b.unique_fraud_hits = c.unique_fraud OR (b.action = 'allow' AND b.unique_fraud_hits IS NULL))),
          6::bigint, 'every rule: hits, fraud hits, amounts and unique catches equal the recount');
SELECT is((SELECT errors FROM risk.backtest_rules((SELECT r FROM bt.report)) WHERE key = 'ratio'),
          (SELECT count(*) FROM bt.recount WHERE quantity = 1), 'the rule that divides by zero: one error per row it raised on');
SELECT is((SELECT sum(hits) FROM risk.backtest_rules((SELECT r FROM bt.report)) WHERE key = 'device') > 0
          AND (SELECT sum(hits) FROM risk.backtest_rules((SELECT r FROM bt.report)) WHERE key = 'device')
              < (SELECT count(*) FROM bt.recount WHERE risk.in_list('bt_devices', device_id, '2026-12-31')),
          true, 'lists as they were: fewer hits than with the list of today');
-- decisions and their changes
SELECT is((SELECT string_agg(decision || ':' || orders || ':' || fraud_orders, ',' ORDER BY decision)
             FROM risk.backtest_decisions((SELECT r FROM bt.report)) WHERE version = 'tested'),
          (SELECT string_agg(d || ':' || coalesce(n, 0) || ':' || coalesce(f, 0), ',' ORDER BY d)
             FROM (VALUES ('allow'), ('block'), ('review')) v(d)
             LEFT JOIN (SELECT tested, count(*) n, count(*) FILTER (WHERE fraud) f FROM bt.recount_decisions GROUP BY 1) t
               ON t.tested = v.d),
          'the draft''s decisions equal the recount of the policy');
SELECT is((SELECT string_agg(decision || ':' || orders || ':' || fraud_orders, ',' ORDER BY decision)
             FROM risk.backtest_decisions((SELECT r FROM bt.report)) WHERE version = 'baseline'),
          (SELECT string_agg(d || ':' || coalesce(n, 0) || ':' || coalesce(f, 0), ',' ORDER BY d)
             FROM (VALUES ('allow'), ('block'), ('review')) v(d)
             LEFT JOIN (SELECT baseline, count(*) n, count(*) FILTER (WHERE fraud) f FROM bt.recount_decisions GROUP BY 1) t
               ON t.baseline = v.d),
          'the current version''s decisions equal the recount');
SELECT is((SELECT string_agg(from_decision || '>' || to_decision || ':' || orders || ':' || fraud_orders, ','
                             ORDER BY from_decision, to_decision)
             FROM risk.backtest_changes((SELECT r FROM bt.report)) WHERE orders > 0),
          (SELECT string_agg(baseline || '>' || tested || ':' || n || ':' || f, ',' ORDER BY baseline, tested)
             FROM (SELECT baseline, tested, count(*) n, count(*) FILTER (WHERE fraud) f FROM bt.recount_decisions
                    WHERE baseline <> tested GROUP BY 1, 2) c),
          'the decision changes equal the recount');
SELECT is((SELECT sum(orders) FROM risk.backtest_changes((SELECT r FROM bt.report))) > 0, true,
          'the draft changes some decisions');
-- the same scan split over parallel workers gives the same report
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE bt.history_table AS SELECT * FROM bt.history;
SELECT is((SELECT count(*) FROM (SELECT fx.plan_of($$SELECT risk._backtest('bt_rules', 0, 1, ROW(h.order_id, h.created_at,
              h.buyer_id, h.account_created_at, h.device_id, h.ip, h.quantity, h.discount, h.amount, h.coupon, h.is_fraud,
              h.reported_at, h.score, h.decision)::bt.orders, h.features, h.score, h.created_at, h.is_fraud, h.amount, true)
              FROM bt.history_table h$$) AS p) x WHERE p LIKE '%Parallel%'), 1::bigint,
          'the backtest''s aggregate runs in parallel workers');
CREATE FUNCTION bt.counts(r jsonb) RETURNS text LANGUAGE sql
  RETURN (SELECT string_agg(concat_ws(':', key, hits, fraud_hits, unique_fraud_hits, errors), ',') FROM risk.backtest_rules(r))
      || (SELECT string_agg(concat_ws(':', version, decision, orders, fraud_orders), ',') FROM risk.backtest_decisions(r))
      || (SELECT string_agg(concat_ws(':', from_decision, to_decision, orders, fraud_orders), ',') FROM risk.backtest_changes(r))
      || concat_ws(':', r->>'orders', r->>'fraud_orders', r->>'immature_orders');
SELECT is(bt.counts(risk.backtest('bt_rules', 'bt.history_table', labels_as_of => '2026-01-18', min_label_age => '4 days',
                                  label_known_at => 'reported_at', score => 'score')), bt.counts((SELECT r FROM bt.report)),
          'with parallel workers: the same counts');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
-- a published version against the thresholds alone, the score computed from the features
SELECT is((SELECT string_agg(decision || ':' || orders, ',' ORDER BY decision)
             FROM risk.backtest_decisions(risk.backtest('bt_rules', 'SELECT o.*, bt.features(o) AS features FROM bt.orders o',
                                                        version => 1, baseline => 0)) WHERE version = 'baseline'),
          (SELECT string_agg(d || ':' || n, ',' ORDER BY d) FROM (SELECT CASE WHEN score >= 0.6 THEN 'block'
                  WHEN score >= 0.2 THEN 'review' ELSE 'allow' END d, count(*) n FROM bt.orders GROUP BY 1) x),
          'baseline 0: the thresholds alone');
SELECT throws_ok($$SELECT risk.backtest('bt_rules', 'SELECT order_id FROM bt.orders')$$, '42703',
                 'the history has no column "is_fraud" for the label', 'a history without the label: 42703');
SELECT throws_ok($$SELECT risk.backtest('bt_rules', 'bt.history', min_label_age => '1 day')$$, '22023', NULL,
                 'min_label_age without labels_as_of: 22023');
INSERT INTO risk.rules (rule_set, key, expression, action, description) VALUES ('bt_rules', 'bad', 'amount +', 'block', 'x');
SELECT throws_ok($$SELECT risk.backtest('bt_rules', 'bt.history')$$, '42601', NULL,
                 'an invalid draft rule: its error, as at publish');

SELECT * FROM finish();
