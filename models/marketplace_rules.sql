-- The demo marketplace's rules: what an analyst writes on top of the model
-- for its patterns, published as version 1 of rule set 'marketplace'.
-- Needs models/marketplace_setup.sql's marketplace.orders, with a history
-- in it (the trusted lane is filled from it) and a features real[] column.
-- Adds the columns the rules write (hits, shadow_hits, rules_version) and
-- replaces the scoring trigger with one that also keeps each order's
-- features and decides with the rules:
--   psql -v model=marketplace -f models/marketplace_rules.sql
ALTER TABLE marketplace.orders ADD COLUMN hits text[], ADD COLUMN shadow_hits text[], ADD COLUMN rules_version integer;
DROP TRIGGER score ON marketplace.orders;
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger(:'model', 'marketplace', 'score', 'decision', 'reasons',
                                      'features=features', 'rules=marketplace', 'hits=hits',
                                      'shadow_hits=shadow_hits', 'rules_version=rules_version');
SELECT risk.create_rule_set('marketplace', 'marketplace.orders', :'model', 'the marketplace''s rules') IS NOT NULL AS created \gset

-- the trusted lane: old accounts with a long clean record in the history
-- (fifty orders or more, none held, none reported), listed from the end of
-- the history on (a backtest reads the list as it was at each order's time).
-- It spares them reviews on their own devices, not the model's blocks: deal
-- hunters are heavy buyers too, and a takeover comes from a new device.
SELECT risk.create_list('trusted_buyers', description => 'long-standing buyers with a clean record') IS NOT NULL AS created \gset
SELECT count(risk.add_to_list('trusted_buyers', buyer_id, 'clean record', valid_from => h.until)) AS trusted
  FROM (SELECT max(created_at) AS until FROM marketplace.orders) h,
       LATERAL (SELECT buyer_id FROM marketplace.orders
                 GROUP BY buyer_id
                HAVING count(*) >= 50 AND bool_and(decision = 'allow') AND bool_and(reported_at IS NULL)
                   AND min(account_created_at) < min(created_at) - interval '1 year'
                 ORDER BY buyer_id) b \gset

INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('marketplace', 'card_testing', 'device_orders_1h >= 10 AND amount <= 5', 'block', 'enforce', 10,
   'a device''s tenth tiny order within the hour'),
  ('marketplace', 'trusted_buyer', $$risk.in_list('trusted_buyers', buyer_id) AND new_device = 0 AND score < 0.8$$,
   'allow', 'enforce', 20, 'trusted buyer on a known device'),
  ('marketplace', 'takeover_signals',
   'account_age_days > 365 AND new_device = 1 AND new_address = 1 AND datacenter_ip = 1 AND amount_vs_buyer_avg > 3',
   'review', 'enforce', 30, 'old account, new device and address, datacenter IP, three times its usual amount'),
  ('marketplace', 'price_error', 'discount >= 0.8 AND quantity >= 5', 'review', 'enforce', 40,
   'five items or more at 80% off or more'),
  ('marketplace', 'welcome_ring', 'has_coupon = 1 AND account_age_days < 2 AND device_buyers_1d >= 3', 'block', 'shadow', 50,
   'welcome coupon on a device shared by new accounts');
SELECT risk.publish_rules('marketplace', 'the analysts'' first rules') AS rules_version \gset
