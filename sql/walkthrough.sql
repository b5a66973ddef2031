-- The README's walkthroughs on a marketplace of the demo's shape: 300,000
-- orders of January scored in batch, the analysts' rules of
-- models/marketplace_rules.sql, then 30,000 orders of 1-3 February through
-- the scoring trigger, with a staff coupon leaked from noon on the 1st.
-- The new attack: the analyst's query finds it, the rule for it backtests
-- as recounted, then is shadowed, enforced and rolled back, each streamed
-- day decided by its version (risk.decide of the kept features agrees, row
-- by row).  The abuse patterns: each analyst's query, as printed in the
-- README, finds what the README says it finds: the rows it returns are,
-- mostly or all, orders of its pattern (the labels the analyst does not
-- have).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(27);

\set model walkthrough_m
\set model_path :fx '/marketplace.json'
\set ECHO none
\i models/marketplace_setup.sql
\set ECHO all
ALTER TABLE marketplace.orders DISABLE TRIGGER score;
INSERT INTO marketplace.orders SELECT *, NULL, NULL, NULL FROM risk.synthetic_orders(300000, 42);
-- the history scored in batch, each order keeping its features (as the demo does)
ALTER TABLE marketplace.orders ADD COLUMN features real[];
UPDATE marketplace.orders o
   SET score = s.score, features = s.features,
       decision = CASE WHEN s.score >= 0.8 THEN 'block' WHEN s.score >= 0.3 THEN 'review' ELSE 'allow' END
  FROM (SELECT order_id, features::real[] AS features, risk.score('walkthrough_m', features) AS score
          FROM marketplace.order_features) s
 WHERE s.order_id = o.order_id;
SELECT risk.rebuild_feature_states('marketplace') AS states \gset
-- the analysts' rules, version 1, and the trigger that decides with them
\set ECHO none
\i models/marketplace_rules.sql
\set ECHO all
SELECT is(:rules_version, 1, 'models/marketplace_rules.sql publishes version 1');
SELECT ok(:trusted > 10, 'the trusted lane holds the buyers with a long clean record');

-- 1 to 3 February through the trigger, with a staff coupon leaked from noon on the 1st
CREATE TABLE marketplace.incoming AS
SELECT * FROM risk.synthetic_orders(30000, 42, start_at => '2026-02-01 00:00:00+00', days => 3, buyers => 50000,
                                    first_order_id => 300001, coupon_leak_at => '2026-02-01 12:00:00+00');
CREATE PROCEDURE marketplace.stream(since timestamptz, until timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    first bigint := (SELECT min(order_id) FROM marketplace.incoming WHERE created_at >= since);
    last bigint := (SELECT max(order_id) FROM marketplace.incoming WHERE created_at < until);
BEGIN
    FOR chunk IN 0..(last - first) / 1000 LOOP
        INSERT INTO marketplace.orders
        SELECT *, NULL, NULL, NULL FROM marketplace.incoming
         WHERE order_id >= first + chunk * 1000 AND order_id < least(first + chunk * 1000 + 1000, last + 1)
         ORDER BY order_id;
        COMMIT;
    END LOOP;
END $$;
CALL marketplace.stream('2026-02-01', '2026-02-02');

-- the analyst's query: the coupons of 1 February against January's
CREATE TEMP TABLE w_coupons AS
SELECT coupon, count(*) FILTER (WHERE created_at < '2026-02-01') AS january,
       count(*) FILTER (WHERE created_at >= '2026-02-01') AS february_1,
       count(DISTINCT buyer_id) FILTER (WHERE created_at >= '2026-02-01') AS buyers,
       round(avg(discount) FILTER (WHERE created_at >= '2026-02-01')::numeric, 2) AS discount,
       round(avg(amount) FILTER (WHERE created_at >= '2026-02-01')::numeric, 2) AS avg_amount,
       string_agg(DISTINCT decision, ',') FILTER (WHERE created_at >= '2026-02-01') AS decisions
  FROM marketplace.orders WHERE created_at < '2026-02-02' AND coupon IS NOT NULL
 GROUP BY coupon ORDER BY february_1 DESC;
SELECT ok((SELECT january = 0 AND february_1 > 10 AND discount = 0.5 AND decisions = 'allow'
             FROM w_coupons WHERE coupon = 'STAFF50')
          AND (SELECT count(*) FROM w_coupons WHERE january = 0) = 1,
          'the leak: the one coupon new on 1 February, at 50% off, and the model allowed every order');

-- a rule for it, backtested against version 1
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description)
VALUES ('marketplace', 'staff_coupon', $$coupon = 'STAFF50'$$, 'block', 'enforce', 5, 'staff coupon on a customer''s order');
CREATE TABLE marketplace.backtest AS SELECT risk.backtest('marketplace', 'marketplace.orders', score => 'score') AS report;
SELECT is((SELECT ARRAY[hits, fraud_hits, good_hits, unique_fraud_hits]
             FROM marketplace.backtest, risk.backtest_rules(report) WHERE key = 'staff_coupon'),
          (SELECT ARRAY[count(*), count(*) FILTER (WHERE is_fraud), count(*) FILTER (WHERE NOT is_fraud), count(*)]
             FROM marketplace.orders WHERE coupon = 'STAFF50'),
          'the backtest: the rule hits every leak order and nothing else, and no other rule catches them');
SELECT is((SELECT array_agg(from_decision || '>' || to_decision || ':' || orders ORDER BY from_decision, to_decision)
             FROM marketplace.backtest, risk.backtest_changes(report) WHERE orders > 0),
          (SELECT array_agg(decision || '>block:' || n ORDER BY decision)
             FROM (SELECT decision, count(*) AS n FROM marketplace.orders
                    WHERE coupon = 'STAFF50' AND decision <> 'block' GROUP BY decision) d),
          'the backtest: the leak orders the model let through would be blocked, and nothing else changes');

-- shadowed first (version 2): recorded, acting on nothing
UPDATE risk.rules SET mode = 'shadow' WHERE rule_set = 'marketplace' AND key = 'staff_coupon';
SELECT risk.publish_rules('marketplace', 'staff_coupon in shadow') AS v2 \gset
CALL marketplace.stream('2026-02-02', '2026-02-03');
SELECT is((SELECT array_agg(DISTINCT rules_version) FROM marketplace.orders WHERE created_at::date = '2026-02-02'),
          ARRAY[2], 'every order of 2 February decided by version 2');
SELECT ok((SELECT bool_and('staff_coupon' = ANY (shadow_hits) AND NOT coalesce('staff_coupon' = ANY (hits), false))
                  AND count(*) > 10 AND count(*) FILTER (WHERE decision = 'block') = 0
             FROM marketplace.orders WHERE created_at::date = '2026-02-02' AND coupon = 'STAFF50'),
          'in shadow, the rule hits every leak order of 2 February and blocks none');

-- then enforced (version 3)
UPDATE risk.rules SET mode = 'enforce' WHERE rule_set = 'marketplace' AND key = 'staff_coupon';
SELECT risk.publish_rules('marketplace', 'staff_coupon enforced') AS v3 \gset
CALL marketplace.stream('2026-02-03', 'infinity');
SELECT ok((SELECT bool_and(decision = 'block' AND 'staff_coupon' = ANY (hits) AND rules_version = 3
                           AND reasons[1] = 'staff coupon on a customer''s order') AND count(*) > 10
             FROM marketplace.orders WHERE created_at >= '2026-02-03' AND coupon = 'STAFF50'),
          'enforced, it blocks every leak order from 3 February, its description first in the reasons');
SELECT is((SELECT array_agg(hits ORDER BY day, mode)
             FROM risk.rule_stats('marketplace.orders', since => '2026-02-01', label => 'is_fraud')
            WHERE key = 'staff_coupon'),
          (SELECT array_agg(n ORDER BY day, mode)
             FROM (SELECT created_at::date AS day, CASE WHEN rules_version = 2 THEN 'shadow' ELSE 'enforce' END AS mode,
                          count(*) AS n
                     FROM marketplace.orders WHERE coupon = 'STAFF50' AND rules_version >= 2 GROUP BY 1, 2) c),
          'risk.rule_stats: the rule''s live hits per day, shadow then enforced, as recounted');
-- every figure of every rule, recounted rule by rule; a catch is unique when no other
-- block or review rule hit the order (trusted_buyer is the set's one allow rule)
CREATE TEMP TABLE w_stats_recount AS
SELECT d.day, r.key, r.mode, d.orders, count(o.*) AS hits, count(o.*)::float8 / d.orders AS hit_rate,
       count(o.*) FILTER (WHERE o.is_fraud) AS fraud_hits,
       count(o.*) FILTER (WHERE o.is_fraud)::float8 / count(o.*) AS precision,
       count(o.*) FILTER (WHERE o.is_fraud)::float8 / nullif(d.fraud, 0) AS recall,
       coalesce(sum(o.amount) FILTER (WHERE o.is_fraud), 0) AS fraud_amount,
       coalesce(sum(o.amount) FILTER (WHERE NOT o.is_fraud), 0) AS good_amount,
       CASE WHEN r.key <> 'trusted_buyer' THEN
            count(o.*) FILTER (WHERE o.is_fraud AND cardinality(array_remove(array_remove(
                coalesce(o.hits, '{}') || coalesce(o.shadow_hits, '{}'), r.key), 'trusted_buyer')) = 0) END AS unique_fraud_hits
  FROM (SELECT created_at::date AS day, count(*) AS orders, count(*) FILTER (WHERE is_fraud) AS fraud
          FROM marketplace.orders WHERE created_at >= '2026-02-01' GROUP BY 1) d
  CROSS JOIN (SELECT DISTINCT key, mode FROM risk.published_rules WHERE rule_set = 'marketplace' AND mode <> 'off') r
  JOIN marketplace.orders o ON o.created_at::date = d.day
   AND r.key = ANY (CASE r.mode WHEN 'enforce' THEN o.hits ELSE o.shadow_hits END)
 GROUP BY d.day, r.key, r.mode, d.orders, d.fraud;
CREATE FUNCTION pg_temp.figures(s w_stats_recount) RETURNS text LANGUAGE sql
  RETURN ROW(s.day, s.key, s.mode, s.orders, s.hits, round(s.hit_rate::numeric, 12), s.fraud_hits,
             round(s.precision::numeric, 12), round(s.recall::numeric, 12), round(s.fraud_amount::numeric, 2),
             round(s.good_amount::numeric, 2), s.unique_fraud_hits)::text;
SELECT is((SELECT count(*) FROM (
             SELECT pg_temp.figures(s::w_stats_recount)
               FROM risk.rule_stats('marketplace.orders', since => '2026-02-01', label => 'is_fraud') s
             EXCEPT SELECT pg_temp.figures(w) FROM w_stats_recount w) x), 0::bigint,
          'risk.rule_stats: every rule''s figures per day and mode equal a recount rule by rule');
SELECT is((SELECT count(*) FROM risk.rule_stats('marketplace.orders', since => '2026-02-01', label => 'is_fraud')),
          (SELECT count(*) FROM w_stats_recount), '(as many rows)');
SELECT is((SELECT count(*) FROM risk.rule_stats('marketplace.orders', since => '2026-02-01', label => 'is_fraud')
            WHERE key = 'trusted_buyer' AND unique_fraud_hits IS NULL AND fraud_hits > 0), 3::bigint,
          'an allow rule catches nothing: no unique catches for the trusted lane, on each of the three days');
CREATE TEMP TABLE w_copy AS SELECT * FROM marketplace.orders WHERE created_at >= '2026-02-01';
SELECT is((SELECT count(*) FROM (
             SELECT pg_temp.figures(s::w_stats_recount)
               FROM risk.rule_stats('w_copy', label => 'is_fraud', rule_set => 'marketplace') s
             EXCEPT SELECT pg_temp.figures(w) FROM w_stats_recount w) x),
          0::bigint, 'rule_set => names the actions for a copy of the table: the same figures');
SELECT throws_ok($$SELECT * FROM risk.rule_stats('w_copy', rule_set => 'no_such_set')$$, '42704',
                 'rule set "no_such_set" does not exist', 'an unknown rule set: 42704');
SELECT is((SELECT count(*) FROM marketplace.orders o,
                  risk.decide('marketplace', o, o.features, o.score, at => o.created_at, version => o.rules_version) d
            WHERE o.order_id > 300000
              AND (d.decision, d.hits, d.shadow_hits) IS DISTINCT FROM (o.decision, o.hits, o.shadow_hits)),
          0::bigint, 'every streamed order: risk.decide of its kept features and version gives the trigger''s decision and hits');
SELECT is((SELECT ARRAY[risk.rollback_rules('marketplace', 2, 'rehearsal'), risk.rollback_rules('marketplace', 3, 'over')]),
          ARRAY[2, 3], 'rolling back to version 2, and forward to 3');
SELECT is((SELECT array_agg(event || ':' || version ORDER BY seq) FROM risk.rule_publications WHERE rule_set = 'marketplace'),
          '{publish:1,publish:2,publish:3,rollback:2,rollback:3}', 'the log keeps every step');

CREATE INDEX ON marketplace.orders (buyer_id, created_at);
SELECT is((SELECT count(*) FROM marketplace.orders WHERE decision IS NULL), 0::bigint, 'every order scored and decided');

-- account takeover: an old account's order from a device and an address it
-- never used, for several times its usual amount
CREATE TEMP TABLE w_ato AS
SELECT o.order_id, o.buyer_id, o.created_at::date - o.account_created_at::date AS account_age_days,
       round(o.amount::numeric, 2) AS amount, round(b.usual_amount::numeric, 2) AS usual_amount,
       o.ip, o.decision, o.pattern
  FROM marketplace.orders o,
       LATERAL (SELECT avg(p.amount) AS usual_amount, bool_or(p.device_id = o.device_id) AS known_device,
                       bool_or(p.address_id = o.address_id) AS known_address
                  FROM marketplace.orders p
                 WHERE p.buyer_id = o.buyer_id AND p.created_at < o.created_at) b
 WHERE o.created_at >= '2026-02-01'
   AND o.account_created_at < o.created_at - interval '1 year'
   AND NOT b.known_device AND NOT b.known_address AND o.amount > 3 * b.usual_amount
 ORDER BY o.order_id LIMIT 8;

-- coupon abuse: devices where brand-new accounts redeem the welcome coupon
CREATE TEMP TABLE w_coupon AS
SELECT device_id, count(DISTINCT buyer_id) AS new_accounts, count(DISTINCT address_id) AS addresses,
       count(DISTINCT payment_id) AS cards, date_trunc('second', max(created_at) - min(created_at)) AS within,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM marketplace.orders
 WHERE created_at >= '2026-02-01' AND coupon = 'WELCOME5'
   AND created_at - account_created_at < interval '2 days'
 GROUP BY device_id HAVING count(DISTINCT buyer_id) >= 4
 ORDER BY new_accounts DESC, device_id LIMIT 8;

-- deal hunting: SKUs sold at 80% off or more to several buyers, by the money given away
CREATE TEMP TABLE w_deals AS
SELECT sku_id, min(created_at)::timestamp(0) AS first_order, round(avg(discount)::numeric, 2) AS discount,
       count(DISTINCT buyer_id) AS buyers, sum(quantity) AS items,
       round(sum(list_price * quantity - amount)::numeric) AS given_away,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM marketplace.orders
 WHERE created_at >= '2026-02-01' AND discount >= 0.8
 GROUP BY sku_id HAVING count(DISTINCT buyer_id) >= 3
 ORDER BY given_away DESC LIMIT 8;

-- scalping: the first five minutes of each new SKU's sales
CREATE TEMP TABLE w_scalping AS
WITH release AS (SELECT sku_id, min(created_at) AS released FROM marketplace.orders GROUP BY sku_id)
SELECT o.sku_id, r.released::timestamp(0) AS released, count(*) AS orders, count(DISTINCT o.buyer_id) AS buyers,
       count(DISTINCT o.payment_id) AS cards, count(DISTINCT o.address_id) AS addresses,
       count(*) FILTER (WHERE o.decision <> 'allow') AS held,
       count(*) FILTER (WHERE o.pattern = 'scalping') AS labelled_scalping
  FROM marketplace.orders o JOIN release r USING (sku_id)
 WHERE r.released >= '2026-02-01' AND o.created_at < r.released + interval '5 minutes'
 GROUP BY o.sku_id, r.released HAVING count(*) >= 10
 ORDER BY released, sku_id LIMIT 8;

-- brushing: a shop's orders from many accounts to one address, reviewed five stars at once
CREATE TEMP TABLE w_brushing AS
SELECT shop_id, address_id, count(DISTINCT buyer_id) AS buyers, count(*) AS orders,
       round(avg(amount)::numeric, 2) AS avg_amount,
       count(*) FILTER (WHERE review_stars = 5 AND review_minutes <= 120) AS quick_5_stars,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM marketplace.orders
 WHERE created_at >= '2026-02-01'
 GROUP BY shop_id, address_id HAVING count(DISTINCT buyer_id) >= 4
 ORDER BY quick_5_stars DESC, buyers DESC, address_id LIMIT 6;

-- click farms: a /24 network where many accounts share a few devices and
-- order at a machine's pace (the median gap between its orders)
CREATE TEMP TABLE w_click_farm AS
WITH o AS (
  SELECT network(set_masklen(ip, 24)) AS net, created_at::date AS day, buyer_id, device_id, decision, pattern,
         created_at - lag(created_at) OVER (PARTITION BY network(set_masklen(ip, 24)) ORDER BY created_at) AS gap
    FROM marketplace.orders WHERE created_at >= '2026-02-01')
SELECT net, day, count(*) AS orders, count(DISTINCT buyer_id) AS accounts, count(DISTINCT device_id) AS devices,
       date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)) AS median_gap,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM o GROUP BY net, day
HAVING count(DISTINCT buyer_id) >= 10 AND count(DISTINCT device_id) <= count(DISTINCT buyer_id) / 4
   AND percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) < interval '2 minutes'
 ORDER BY accounts DESC, net LIMIT 8;

-- address harvesting: accounts shipping tiny orders to many addresses
CREATE TEMP TABLE w_harvest AS
SELECT buyer_id, count(*) AS orders, count(DISTINCT address_id) AS addresses, count(DISTINCT shop_id) AS shops,
       round(max(amount)::numeric, 2) AS max_amount,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM marketplace.orders
 WHERE created_at >= '2026-02-01'
 GROUP BY buyer_id HAVING count(DISTINCT address_id) >= 5 AND max(amount) < 5
 ORDER BY addresses DESC, buyer_id LIMIT 8;

-- card testing: a device trying many cards, most of them declined
CREATE TEMP TABLE w_card_testing AS
SELECT device_id, min(created_at)::timestamp(0) AS first_try, count(*) AS orders, count(DISTINCT payment_id) AS cards,
       count(*) FILTER (WHERE declined) AS declined, round(max(amount)::numeric, 2) AS max_amount,
       string_agg(DISTINCT decision, ',') AS decisions, string_agg(DISTINCT pattern, ',') AS patterns
  FROM marketplace.orders
 WHERE created_at >= '2026-02-01'
 GROUP BY device_id HAVING count(DISTINCT payment_id) >= 10 AND avg(declined::int) > 0.5
 ORDER BY cards DESC, device_id LIMIT 8;

SELECT ok((SELECT count(*) FILTER (WHERE pattern = 'account_takeover') >= 5 AND count(*) = 8 FROM w_ato),
          'account takeover: at least 5 of the 8 orders found are takeovers');
SELECT ok((SELECT count(*) = 8 AND bool_and(patterns = 'coupon_abuse') FROM w_coupon),
          'coupon abuse: the 8 devices found are all coupon rings');
SELECT ok((SELECT count(*) FILTER (WHERE patterns LIKE '%deal_hunting%') >= 4 FROM w_deals)
          AND (SELECT patterns LIKE '%deal_hunting%' FROM w_deals ORDER BY given_away DESC LIMIT 1),
          'deal hunting: the SKUs that gave away the most are price errors sniped by deal hunters');
SELECT ok((SELECT count(*) >= 4 AND bool_and(labelled_scalping >= 5) FROM w_scalping),
          'scalping: every release burst found holds scalpers');
SELECT ok((SELECT bool_and(patterns = 'brushing') FROM (SELECT patterns FROM w_brushing ORDER BY quick_5_stars DESC LIMIT 3) b),
          'brushing: the addresses with the most quick five-star reviews are brushing rings');
SELECT ok((SELECT count(*) >= 2 AND bool_and(patterns LIKE '%click_farm%') FROM w_click_farm),
          'click farms: every network found is a click farm');
SELECT ok((SELECT count(*) >= 2 AND bool_and(patterns = 'address_harvesting') FROM w_harvest),
          'address harvesting: every account found is a harvester');
SELECT ok((SELECT count(*) >= 2 AND bool_and(patterns = 'card_testing') FROM w_card_testing),
          'card testing: every device found is a card tester');
SELECT ok((SELECT count(*) FROM marketplace.orders WHERE created_at >= '2026-02-01' AND pattern <> 'normal') > 500,
          'the February orders hold the planted abuse');

SELECT * FROM finish();
DROP SCHEMA marketplace CASCADE;
DELETE FROM risk.decision_thresholds WHERE model = 'walkthrough_m';
SELECT risk.drop_model('walkthrough_m') AS dropped \gset
