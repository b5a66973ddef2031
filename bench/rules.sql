-- Rules benchmark, set-up (run by bench/run after bench/insert.sql): a rule
-- set on the marketplace's orders with 100 rules of the kinds analysts
-- write (comparisons on velocity features and columns, list lookups on
-- devices, cards and /24 networks), none hitting; three lists; the
-- scoring trigger with the rules; bench.publish(n) makes the first n rules
-- the current version.  And the backtest's history: the 1,000,000 orders
-- of history with their batch features, and the same rows as plain SQL
-- sees them (the features by name, as real, as the rules see them).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA bench;
ALTER TABLE marketplace.orders ADD COLUMN hits text[], ADD COLUMN shadow_hits text[], ADD COLUMN rules_version int;
DROP TRIGGER score ON marketplace.orders;
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('marketplace', 'marketplace', 'score', 'decision', 'reasons',
                                      'rules=bench', 'hits=hits', 'shadow_hits=shadow_hits', 'rules_version=rules_version');
SELECT risk.create_rule_set('bench', 'marketplace.orders', 'marketplace');

-- the history with its batch features, and as plain SQL sees it
CREATE TABLE bench.history AS
SELECT o.*, f.features FROM marketplace.orders o JOIN marketplace.order_features f USING (order_id);
ANALYZE bench.history;
\o /dev/null
-- lists of 5,000 devices, 5,000 cards and 300 /24 networks, none of the
-- world's (the rules below never hit: the runs measure evaluation, and the
-- decisions, and so the reasons computed for held orders, stay as with 0 rules)
SELECT risk.create_list('bench_devices');
SELECT risk.create_list('bench_cards');
SELECT risk.create_list('bench_networks', 'inet');
SELECT count(risk.add_to_list('bench_devices', -g, 'chargeback', valid_from => '2026-01-01')) FROM generate_series(1, 5000) g;
SELECT count(risk.add_to_list('bench_cards', -g, 'chargeback', valid_from => '2026-01-01')) FROM generate_series(1, 5000) g;
SELECT count(risk.add_to_list('bench_networks', format('240.%s.%s.0/24', g / 256, g % 256)::cidr, 'proxy',
                              valid_from => '2026-01-01')) FROM generate_series(1, 300) g;

-- 100 rules: i % 10 picks the kind, i the thresholds; every comparison
-- and lookup runs on every order (the first condition is true for most)
CREATE TABLE bench.rules AS
SELECT i, 'r' || lpad(i::text, 3, '0') AS key,
       CASE i % 10
         WHEN 0 THEN $$risk.in_list('bench_devices', device_id)$$
         WHEN 1 THEN format('amount > 1 AND device_buyers_1d > %s', 1000 + i)
         WHEN 2 THEN format('account_age_days >= 0 AND card_buyers_7d > %s AND new_address = 1', 1000 + i)
         WHEN 3 THEN $$amount > 1 AND risk.in_list('bench_cards', payment_id)$$
         WHEN 4 THEN format('net_buyers_1h < 100000 AND account_age_days < -%s', i)
         WHEN 5 THEN format('quantity >= 1 AND discount > 1.%s', i)
         WHEN 6 THEN $$risk.in_list('bench_networks', ip) AND account_age_days < 3$$
         WHEN 7 THEN format('sku_orders_10m >= 0 AND sku_buyers_1h > %s AND amount > 50', 100000 + i)
         WHEN 8 THEN format('address_buyers_30d >= 0 AND buyer_orders_1d > %s', 10000 + i)
         ELSE format('coalesce(amount_vs_buyer_avg, 0) < 1000000 AND buyer_devices_30d > %s', 1000 + i)
       END AS expression,
       CASE WHEN i % 10 IN (0, 3) THEN 'block' ELSE 'review' END AS action
  FROM generate_series(1, 100) i;

-- and 100 rules for the backtest, hitting as rules do: the same kinds on
-- lists of the history's abusers (their devices and cards no ordinary buyer
-- used, datacenter networks) and thresholds at the 99.99th percentile of
-- the history's features
SELECT risk.create_list('bench_abuse_devices');
SELECT risk.create_list('bench_abuse_cards');
SELECT risk.create_list('bench_datacenters', 'inet');
SELECT count(risk.add_to_list('bench_abuse_devices', device_id, 'chargeback', valid_from => first_at + interval '1 day'))
  FROM (SELECT device_id, min(created_at) AS first_at FROM marketplace.orders GROUP BY device_id HAVING bool_and(is_fraud)
         ORDER BY device_id LIMIT 5000) d;
SELECT count(risk.add_to_list('bench_abuse_cards', payment_id, 'chargeback', valid_from => first_at + interval '1 day'))
  FROM (SELECT payment_id, min(created_at) AS first_at FROM marketplace.orders GROUP BY payment_id HAVING bool_and(is_fraud)
         ORDER BY payment_id LIMIT 5000) d;
SELECT count(risk.add_to_list('bench_datacenters', ip, 'datacenter', valid_from => '2026-01-01'))
  FROM (SELECT DISTINCT set_masklen(ip, 24)::cidr AS ip FROM marketplace.orders WHERE ip << '185.0.0.0/8' ORDER BY 1 LIMIT 300) n;
SELECT percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[18]) AS device_buyers,
       percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[23]) AS card_buyers,
       percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[25]) AS net_buyers,
       percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[29]) AS sku_buyers,
       percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[21]) AS address_buyers,
       percentile_disc(0.9999) WITHIN GROUP (ORDER BY features[13]) AS vs_avg
  FROM bench.history \gset
CREATE TABLE bench.backtest_rules AS
SELECT i, 'r' || lpad(i::text, 3, '0') AS key,
       CASE i % 10
         WHEN 0 THEN $$risk.in_list('bench_abuse_devices', device_id)$$
         WHEN 1 THEN format('device_buyers_1d > %s AND amount > %s', :device_buyers + i % 5, 100 + i)
         WHEN 2 THEN format('card_buyers_7d > %s AND new_address = 1', :card_buyers + i % 3)
         WHEN 3 THEN $$risk.in_list('bench_abuse_cards', payment_id) AND amount > 50$$
         WHEN 4 THEN format('net_buyers_1h > %s AND account_age_days < %s', :net_buyers + i % 7, 1 + i % 3)
         WHEN 5 THEN format('quantity >= %s AND discount > 0.%s', 8 + i % 4, 5 + i % 4)
         WHEN 6 THEN $$risk.in_list('bench_datacenters', ip) AND account_age_days < 1 AND amount > 200$$
         WHEN 7 THEN format('sku_buyers_1h > %s AND amount > %s', :sku_buyers + i % 5, 50 + i)
         WHEN 8 THEN format('address_buyers_30d > %s AND buyer_orders_1d > %s', :address_buyers + i % 4, 1 + i % 3)
         ELSE format('amount_vs_buyer_avg > %s AND buyer_devices_30d > %s', :vs_avg + i % 6, 1 + i % 2)
       END AS expression,
       CASE WHEN i % 10 IN (0, 3) THEN 'block' ELSE 'review' END AS action
  FROM generate_series(1, 100) i;

CREATE FUNCTION bench.publish(n integer, for_backtest boolean DEFAULT false) RETURNS integer LANGUAGE sql AS $$
  DELETE FROM risk.rules WHERE rule_set = 'bench';
  INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description)
  SELECT 'bench', key, expression, action, 'enforce', i, 'rule ' || key FROM bench.rules WHERE i <= n AND NOT for_backtest
  UNION ALL
  SELECT 'bench', key, expression, action, 'enforce', i, 'rule ' || key FROM bench.backtest_rules WHERE i <= n AND for_backtest;
  SELECT risk.publish_rules('bench', n || ' rules');
$$;


SELECT string_agg(format('features[%s]::real::float8 AS %I', n, name), ', ' ORDER BY n) AS feature_columns
  FROM unnest(marketplace.feature_names()) WITH ORDINALITY AS f(name, n)
 WHERE name NOT IN (SELECT attname FROM pg_attribute WHERE attrelid = 'marketplace.orders'::regclass) \gset
SELECT format('CREATE VIEW bench.plain_history AS SELECT h.*, %s FROM bench.history h', :'feature_columns') \gexec
\o

\ir reset.sql

-- features=: the same trigger, keeping each order's features in a real[] column
ALTER TABLE marketplace.orders ADD COLUMN features real[];
CREATE FUNCTION bench.keep_features(keep boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TRIGGER score ON marketplace.orders;
  EXECUTE format('CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
                    EXECUTE FUNCTION risk.score_trigger(%L, %L, %L, %L, %L, %s%L, %L, %L, %L)',
                 'marketplace', 'marketplace', 'score', 'decision', 'reasons',
                 CASE WHEN keep THEN quote_literal('features=features') || ', ' ELSE '' END,
                 'rules=bench', 'hits=hits', 'shadow_hits=shadow_hits', 'rules_version=rules_version');
END $$;
