-- On a Citus cluster: the scoring trigger on a distributed table runs on
-- its shards, on the workers.  Its features function is found for the
-- distributed table's row type, its thresholds, rule set and lists are read
-- from the node's copies.  Scores, decisions, hits and reasons equal those
-- of the same trigger on a local table, row for row; a change of the
-- thresholds, of a list and of the rules committed on the coordinator holds
-- for the next insert on every worker.  (After citus_registry: the catalog
-- is distributed, orders_fraud is imported.)
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(13);

-- the same table twice: on the coordinator, and distributed by order_id
CREATE TABLE shop_local (
    order_id int PRIMARY KEY, created_at timestamptz, device_id text, ip inet,
    amount numeric(12,2), account_age_days int, is_new_device boolean, orders_1h int, distinct_cards_24h int,
    ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    score double precision, decision text, reasons text[], hits text[], shadow_hits text[], rules_version int,
    features real[]);
CREATE TABLE shop_dist (LIKE shop_local INCLUDING ALL);
SELECT create_distributed_table('shop_dist', 'order_id') \g /dev/null
-- a rule set's table must be known on every node (its name is resolved on each):
-- the local one is added to Citus's metadata, its rows stay on the coordinator
SELECT citus_add_local_table_to_metadata('shop_local') \g /dev/null
-- a features function for each, created after the table is distributed: Citus creates it on the workers
CREATE FUNCTION local_features(o shop_local) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int];
CREATE FUNCTION dist_features(o shop_dist) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int];
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('orders_fraud', 0.2, 0.6);
SELECT risk.create_list('blocked_devices') \g /dev/null
SELECT risk.create_list('proxies', 'inet') \g /dev/null
SELECT risk.add_to_list('blocked_devices', 'd-666', 'chargeback') \g /dev/null
SELECT risk.add_to_list('proxies', '203.0.113.0/24'::cidr, 'proxy provider') \g /dev/null
SELECT risk.create_rule_set(s, t, 'orders_fraud') FROM (VALUES ('shop_l', 'shop_local'::regclass), ('shop_d', 'shop_dist')) v(s, t) \g /dev/null
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description)
SELECT s, key, expression, action, mode, priority, description
  FROM (VALUES ('shop_l'), ('shop_d')) v(s),
       (VALUES ('blocked_device', $$risk.in_list('blocked_devices', device_id)$$, 'block', 'enforce', 1, 'device on the blocked list'),
               ('new_account_big', 'amount > 300 AND account_age_days < 7', 'review', 'enforce', 10, 'large order from a new account'),
               ('proxy_night', $$risk.in_list('proxies', ip) AND hour_of_day < 6$$, 'review', 'shadow', 20, 'proxy at night')) r(key, expression, action, mode, priority, description);
SELECT risk.publish_rules('shop_l') \g /dev/null
SELECT risk.publish_rules('shop_d') \g /dev/null
CREATE TRIGGER score BEFORE INSERT ON shop_local FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'local_features', 'score', 'decision', 'reasons',
                                      'rules=shop_l', 'hits=hits', 'shadow_hits=shadow_hits',
                                      'rules_version=rules_version', 'features=features');
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER score BEFORE INSERT ON shop_dist FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'dist_features', 'score', 'decision', 'reasons',
                                      'rules=shop_d', 'hits=hits', 'shadow_hits=shadow_hits',
                                      'rules_version=rules_version', 'features=features');
RESET citus.enable_unsafe_triggers;

CREATE FUNCTION new_orders(lo int, hi int) RETURNS TABLE (order_id int, created_at timestamptz, device_id text, ip inet,
    amount numeric(12,2), account_age_days int, is_new_device boolean, orders_1h int, distinct_cards_24h int,
    ip_country_mismatch boolean, hour_of_day int, coupon_used boolean) LANGUAGE sql AS $$
  SELECT g, timestamptz '2026-03-05' + g * interval '1 minute', 'd-' || (g % 700)::text,
         ('203.0.' || (112 + g % 3)::text || '.' || (g % 250)::text)::inet,
         (g * 7919 % 90000) / 100.0, g * 31 % 400, g % 3 = 0, g % 6, g % 4, g % 7 = 0, g % 24,
         CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END
    FROM generate_series(lo, hi) g $$;
CREATE FUNCTION differences() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (SELECT * FROM shop_local) l FULL JOIN (SELECT * FROM shop_dist OFFSET 0) d USING (order_id)
   WHERE (l.score, l.decision, l.reasons, l.hits, l.shadow_hits, l.rules_version, l.features)
         IS DISTINCT FROM (d.score, d.decision, d.reasons, d.hits, d.shadow_hits, d.rules_version, d.features) $$;

INSERT INTO shop_local SELECT * FROM new_orders(1, 3000);
INSERT INTO shop_dist SELECT * FROM new_orders(1, 3000);
SELECT is((SELECT count(*) FROM shop_dist WHERE score IS NOT NULL), 3000::bigint,
          'the trigger scores every row inserted into the distributed table');
SELECT ok((SELECT count(DISTINCT nodeport) FROM citus_shards s WHERE s.table_name = 'shop_dist'::regclass
            AND s.shardid IN (SELECT get_shard_id_for_distribution_column('shop_dist', order_id) FROM shop_dist)) = 2,
          '... on both workers');
SELECT is(differences(), 0::bigint,
          'scores, decisions, reasons, hits, rules version and features = the local table''s, row for row');
SELECT ok((SELECT count(DISTINCT decision) FROM shop_dist) = 3 AND (SELECT count(*) FROM shop_dist WHERE hits IS NOT NULL) > 0
          AND (SELECT count(*) FROM shop_dist WHERE shadow_hits IS NOT NULL) > 0,
          '... with every decision, enforced and shadow hits among them');

-- changes committed on the coordinator: thresholds, a list, the rules
UPDATE risk.decision_thresholds SET review = 0.1, block = 0.4 WHERE model = 'orders_fraud';
SELECT risk.add_to_list('blocked_devices', 'd-7', 'chargeback') \g /dev/null
UPDATE risk.rules SET mode = 'enforce' WHERE key = 'proxy_night';
SELECT risk.publish_rules('shop_l') \g /dev/null
SELECT risk.publish_rules('shop_d') \g /dev/null
INSERT INTO shop_local SELECT * FROM new_orders(3001, 6000);
INSERT INTO shop_dist SELECT * FROM new_orders(3001, 6000);
SELECT is(differences(), 0::bigint, 'after the changes, still equal row for row');
SELECT is((SELECT count(*) FROM shop_dist WHERE order_id > 3000 AND rules_version IS DISTINCT FROM 2), 0::bigint,
          'every row after the publish is decided by version 2 of the rules, on every worker');
SELECT is((SELECT count(*) FROM shop_dist WHERE order_id > 3000 AND 'proxy_night' = ANY (shadow_hits)), 0::bigint,
          '... in which proxy_night is enforced');
SELECT ok((SELECT count(*) FROM shop_dist WHERE order_id > 3000 AND device_id = 'd-7' AND decision = 'block') > 0,
          'the device added to the list is blocked');
SELECT is((SELECT count(*) FROM shop_dist WHERE order_id > 3000 AND decision = 'allow' AND score >= 0.1), 0::bigint,
          'the new review threshold holds on every worker');

-- a value taken off a list (an update the list's history allows, on every copy), an alias
SELECT is(risk.remove_from_list('blocked_devices', 'd-7', 'resolved'), 1, 'a device taken off the list on the coordinator');
INSERT INTO shop_local SELECT * FROM new_orders(6001, 7000);
INSERT INTO shop_dist SELECT * FROM new_orders(6001, 7000);
SELECT is(differences(), 0::bigint, '... then still equal row for row');
SELECT ok((SELECT count(*) FROM shop_dist WHERE order_id > 6000 AND device_id = 'd-7') > 0 AND
          (SELECT count(*) FROM shop_dist WHERE order_id > 6000 AND device_id = 'd-7' AND 'blocked_device' = ANY (hits)) = 0,
          '... and no worker blocks it any more');
SELECT risk.set_alias('orders_fraud', 'champion', 1) \g /dev/null
SELECT is((SELECT count(*) FROM shop_dist o
            WHERE risk.score('orders_fraud@champion', dist_features(o)) IS DISTINCT FROM o.score), 0::bigint,
          'an alias set on the coordinator scores on the workers');

SELECT * FROM finish();
