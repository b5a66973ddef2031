-- The README's walkthrough of the abuse patterns: each analyst's query, as
-- printed there, run on a marketplace of the demo's shape (300,000 orders
-- of January, then 30,000 of 1-3 February, scored in batch by the shipped
-- model and decided at its thresholds).  Each query finds what the README
-- says it finds: the rows it returns are, mostly or all, orders of its
-- pattern (the labels the analyst does not have).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(9);

\set model walkthrough_m
\set model_path :fx '/marketplace.json'
\set ECHO none
\i models/marketplace_setup.sql
\set ECHO all
ALTER TABLE marketplace.orders DISABLE TRIGGER score;
INSERT INTO marketplace.orders SELECT *, NULL, NULL, NULL FROM risk.synthetic_orders(300000, 42);
INSERT INTO marketplace.orders SELECT *, NULL, NULL, NULL
  FROM risk.synthetic_orders(30000, 42, start_at => '2026-02-01 00:00:00+00', days => 3,
                             buyers => 50000, first_order_id => 300001);
UPDATE marketplace.orders o
   SET score = s.score,
       decision = CASE WHEN s.score >= 0.8 THEN 'block' WHEN s.score >= 0.3 THEN 'review' ELSE 'allow' END
  FROM (SELECT order_id, risk.score('walkthrough_m', features) AS score FROM marketplace.order_features) s
 WHERE s.order_id = o.order_id;
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
SELECT ok((SELECT count(*) FROM marketplace.orders WHERE created_at >= '2026-02-01' AND pattern <> 'normal') > 500,
          'the February orders hold the planted abuse');

SELECT * FROM finish();
DROP SCHEMA marketplace CASCADE;
DELETE FROM risk.decision_thresholds WHERE model = 'walkthrough_m';
SELECT risk.drop_model('walkthrough_m') AS dropped \gset
