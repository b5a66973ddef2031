-- risk.synthetic_orders: the same arguments give the same rows; exactly n
-- rows in time order; every pattern present and labelled, in its share;
-- each pattern has the shape README describes; and no raw column gives a
-- pattern away (velocity and linkage are needed).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(44);

CREATE TABLE syn AS SELECT * FROM risk.synthetic_orders(300000, 42);
CREATE INDEX ON syn (buyer_id);
CREATE INDEX ON syn (sku_id);
CREATE INDEX ON syn (address_id);
ANALYZE syn;

-- determinism
SELECT is((SELECT md5(string_agg(t::text, E'\n')) FROM risk.synthetic_orders(20000, 7) t),
          (SELECT md5(string_agg(t::text, E'\n')) FROM risk.synthetic_orders(20000, 7) t),
          'the same seed gives the same rows');
SELECT isnt((SELECT md5(string_agg(t::text, E'\n')) FROM risk.synthetic_orders(20000, 7) t),
            (SELECT md5(string_agg(t::text, E'\n')) FROM risk.synthetic_orders(20000, 8) t),
            'another seed, other rows');
SELECT is((SELECT md5(string_agg(t::text, E'\n' ORDER BY order_id)) FROM syn t WHERE order_id <= 5000),
          (SELECT md5(string_agg(t::text, E'\n')) FROM (SELECT * FROM risk.synthetic_orders(300000, 42) LIMIT 5000) t),
          'and in the same order');

-- reported_at: when the abuse became known, from a stream of its own
SET timezone = 'UTC';
SET datestyle = 'ISO, MDY';
-- card testing came as an eighth pattern: the other seven's orders are those they were before it
SELECT is((SELECT md5(string_agg(ROW(t.created_at, t.buyer_id, t.account_created_at, t.device_id, t.ip, t.address_id,
                                     t.payment_id, t.shop_id, t.sku_id, t.quantity, t.list_price, t.discount, t.amount,
                                     t.coupon, t.review_stars, t.review_minutes, t.pattern)::text, E'\n'
                                 ORDER BY created_at, buyer_id, device_id, sku_id, amount))
             FROM risk.synthetic_orders(20000, 7) t WHERE pattern NOT IN ('normal', 'card_testing')),
          'e61385cd5a78b421899ff7eb987d74c4',
          'the first seven patterns'' orders are those they were before card testing came');
RESET timezone;
RESET datestyle;
SELECT is((SELECT count(*) FROM syn WHERE NOT is_fraud AND reported_at IS NOT NULL), 0::bigint,
          'ordinary orders are never reported');
SELECT is((SELECT count(*) FROM syn WHERE reported_at <= created_at), 0::bigint, 'a report comes after its order');
SELECT is((SELECT string_agg(pattern, ',' ORDER BY pattern)
             FROM (SELECT pattern, avg((reported_at IS NOT NULL)::int) AS reported,
                          max(reported_at - created_at) AS latest
                     FROM syn WHERE is_fraud GROUP BY pattern) x
             JOIN (VALUES ('account_takeover', 0.9, 7), ('coupon_abuse', 0.6, 30), ('deal_hunting', 0.95, 2),
                          ('scalping', 0.5, 45), ('brushing', 0.5, 60), ('click_farm', 0.6, 30),
                          ('address_harvesting', 0.4, 60), ('card_testing', 0.7, 10)) v(pattern, chance, days)
                   USING (pattern)
            WHERE abs(reported - chance) > 0.1 OR latest > days * interval '1 day'), NULL,
          'each pattern reported as often and as late as README says');

-- the optional attack: a leaked staff coupon from coupon_leak_at, on ordinary accounts' orders
CREATE TABLE leak AS SELECT * FROM risk.synthetic_orders(50000, 42, days => 10, coupon_leak_at => '2026-01-06 00:00+00');
CREATE TABLE no_leak AS SELECT * FROM risk.synthetic_orders(50000, 42, days => 10);
SELECT is((SELECT count(*) FROM no_leak WHERE pattern = 'coupon_leak'), 0::bigint, 'no leak by default');
SELECT is((SELECT count(*) FROM leak l JOIN no_leak n USING (order_id)
            WHERE l.pattern <> 'coupon_leak' AND ROW(l.*)::text IS DISTINCT FROM ROW(n.*)::text), 0::bigint,
          'with the leak, every other order is the same');
SELECT is((SELECT count(*) FROM leak l JOIN no_leak n USING (order_id)
            WHERE l.pattern = 'coupon_leak' AND (n.pattern <> 'normal' OR l.created_at < '2026-01-06 00:00+00'
               OR (l.buyer_id, l.device_id, l.ip, l.created_at) IS DISTINCT FROM (n.buyer_id, n.device_id, n.ip, n.created_at)
               OR l.coupon <> 'STAFF50' OR l.discount <> 0.5 OR NOT l.is_fraud)), 0::bigint,
          'a leak order: an ordinary order after the leak, by the same buyer on the same device, with the staff coupon at 50% off');
SELECT ok((SELECT count(*) FILTER (WHERE created_at < '2026-01-08') < count(*) FILTER (WHERE created_at >= '2026-01-09')
                  AND count(*) > 100 FROM leak WHERE pattern = 'coupon_leak'),
          'hundreds of leak orders, more each day');

-- counts, numbering, time order
SELECT is((SELECT array_agg((SELECT count(*) FROM risk.synthetic_orders(n, 1)) ORDER BY n)
             FROM unnest('{0,1,999,10000}'::bigint[]) n), '{0,1,999,10000}'::bigint[], 'exactly n rows');
SELECT is((SELECT array[min(order_id), max(order_id), count(DISTINCT order_id)]
             FROM risk.synthetic_orders(5000, 1, first_order_id => 1000001)),
          '{1000001,1005000,5000}'::bigint[], 'numbered from first_order_id, one number each');
SELECT is((SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (ORDER BY order_id) AS back FROM syn) s
            WHERE back), 0::bigint, 'in time order');
SELECT ok((SELECT min(created_at) >= '2026-01-01 00:00+00' AND max(created_at) < '2026-02-01 00:00+00'
             FROM syn ),
          'within the 30 days from start_at');
SELECT is((SELECT count(*) FROM (SELECT buyer_id FROM syn GROUP BY buyer_id
                                  HAVING count(DISTINCT account_created_at) > 1) b), 0::bigint,
          'one signup time per buyer');
SELECT is((SELECT count(*) FROM syn WHERE created_at < account_created_at), 0::bigint,
          'no order before its account''s signup');

-- patterns and labels
SELECT is((SELECT array_agg(DISTINCT pattern ORDER BY pattern) FROM risk.synthetic_orders(10000, 3)),
          '{account_takeover,address_harvesting,brushing,card_testing,click_farm,coupon_abuse,deal_hunting,normal,scalping}',
          'every pattern is present in 10,000 orders');
SELECT is((SELECT count(*) FROM syn WHERE is_fraud <> (pattern <> 'normal')), 0::bigint,
          'is_fraud = the pattern is not normal');
SELECT ok((SELECT bool_and(n BETWEEN share * 300000 * 0.8 AND share * 300000 * 2)
             FROM (SELECT pattern, count(*) AS n FROM syn GROUP BY pattern) c
             JOIN (VALUES ('account_takeover', 0.003), ('coupon_abuse', 0.006), ('deal_hunting', 0.003),
                          ('scalping', 0.004), ('brushing', 0.005), ('click_farm', 0.005),
                          ('address_harvesting', 0.002), ('card_testing', 0.004)) v(pattern, share) USING (pattern)),
          'each pattern near its share of the orders (0.2% to 0.6%; 3.2% in all)');

-- each pattern's shape
SELECT ok((SELECT bool_and(created_at - account_created_at > interval '365 days'
                           AND NOT EXISTS (SELECT FROM syn o WHERE o.buyer_id = a.buyer_id AND o.device_id = a.device_id
                                                              AND o.pattern = 'normal' AND o.created_at < a.created_at))
             FROM syn a WHERE pattern = 'account_takeover'),
          'account takeover: accounts over a year old, on a device they never used before');
SELECT ok((SELECT bool_and(coupon = 'WELCOME5' AND created_at - account_created_at <= interval '48 hours')
               AND count(DISTINCT device_id) < count(DISTINCT buyer_id) / 4
             FROM syn WHERE pattern = 'coupon_abuse'),
          'coupon abuse: the welcome coupon, accounts under two days old, a device per four accounts or fewer');
SELECT ok((SELECT bool_and(discount >= 0.85 AND quantity >= 5) FROM syn WHERE pattern = 'deal_hunting'),
          'deal hunting: 85% off or more, five items or more');
SELECT ok((SELECT bool_and(EXISTS (SELECT FROM syn f WHERE f.sku_id = s.sku_id AND f.pattern = 'normal'))
               AND count(DISTINCT payment_id) < count(DISTINCT buyer_id)
             FROM syn s WHERE pattern = 'scalping'),
          'scalping: ordinary fans buy every scalped SKU too; scalpers share cards');
SELECT ok((SELECT bool_and(list_price <= 5 AND coalesce(review_stars, 5) = 5 AND coalesce(review_minutes, 0) <= 90)
               AND count(DISTINCT address_id) < count(DISTINCT buyer_id) / 2
             FROM syn WHERE pattern = 'brushing'),
          'brushing: items under 5, five-star reviews within 90 minutes, addresses shared');
SELECT ok((SELECT count(DISTINCT device_id) * 10 < count(DISTINCT buyer_id)
               AND count(DISTINCT set_masklen(ip::cidr, 24)) * 10 < count(DISTINCT buyer_id)
             FROM syn WHERE pattern = 'click_farm'),
          'click farms: ten accounts or more per device and per /24');
SELECT ok((SELECT avg((EXISTS (SELECT FROM syn o WHERE o.address_id = h.address_id AND o.buyer_id <> h.buyer_id
                                                   AND o.pattern = 'normal'))::int) > 0.5
             FROM syn h WHERE pattern = 'address_harvesting'),
          'address harvesting: most orders go to an address an ordinary buyer of this sample ships to');
SELECT ok((SELECT bool_and(amount <= 3 AND quantity = 1) AND avg(declined::int) > 0.75
               AND count(DISTINCT payment_id) > 0.8 * count(*) AND count(DISTINCT device_id) * 10 < count(DISTINCT payment_id)
             FROM syn WHERE pattern = 'card_testing'),
          'card testing: tiny orders, most declined, a new card at almost every try, ten cards or more per device');
SELECT is((SELECT array_agg(round(d, 2) ORDER BY p)
             FROM (SELECT pattern = 'account_takeover' AS p, avg(declined::int) AS d FROM syn
                    WHERE pattern IN ('normal', 'account_takeover') GROUP BY 1) x),
          '{0.02,0.10}'::numeric[], 'declined: 2% of ordinary orders, 10% of a taken-over account''s');

-- no raw column gives a pattern away: at 80% recall, none reaches 60%
-- precision (ordinary orders sampled one in ten, weighted ten)
CREATE FUNCTION best_precision(s float8[], l boolean[], w float8[]) RETURNS float8 LANGUAGE sql AS $$
  SELECT max(precision) FROM unnest((SELECT risk.pr_curve(x, y, z) FROM unnest(s, l, w) u(x, y, z))) WHERE recall >= 0.8 $$;
SELECT ok((SELECT max(greatest(best_precision(v, y, w), best_precision(array(SELECT -x FROM unnest(v) x), y, w))) < 0.6
             FROM (SELECT p.pattern, c.name, array_agg(c.value) AS v, array_agg(s.pattern = p.pattern) AS y,
                          array_agg(CASE WHEN s.pattern = p.pattern THEN 1 ELSE 10 END::float8) AS w
                     FROM (SELECT DISTINCT pattern FROM syn WHERE pattern <> 'normal') p
                     JOIN syn s ON s.pattern = p.pattern OR (s.pattern = 'normal' AND s.order_id % 10 = 0)
                     CROSS JOIN LATERAL (VALUES ('amount', s.amount), ('quantity', s.quantity),
                                                ('discount', s.discount),
                                                ('account_age', extract(epoch FROM s.created_at - s.account_created_at)),
                                                ('review_minutes', coalesce(s.review_minutes, 1e9)),
                                                ('datacenter_ip', (s.ip << '185.0.0.0/8')::int),
                                                ('declined', s.declined::int)) c(name, value)
                    GROUP BY p.pattern, c.name) x),
          'no raw column catches 80% of a pattern at 60% precision or better');

SELECT throws_ok($$SELECT * FROM risk.synthetic_orders(-1)$$, '22023',
                 'risk.synthetic_orders needs n >= 0, not -1', 'a negative n: 22023');
SELECT throws_ok($$SELECT * FROM risk.synthetic_orders(10, days => 0)$$, '22023',
                 'risk.synthetic_orders needs days from 1 to 3660, not 0', 'no days: 22023');

SELECT throws_ok($$SELECT * FROM risk.synthetic_orders(40000000, days => 30)$$, '22023',
                 'risk.synthetic_orders makes at most 1,000,000 orders a day, not 1333333', 'too many orders a day: 22023');
SELECT throws_ok($$SELECT * FROM risk.synthetic_orders(36000000000, days => 3660)$$, '22023',
                 'risk.synthetic_orders makes at most 1,000,000,000 orders a call, not 36000000000',
                 'too many orders a call: 22023 (was XX000, an allocation too large)');
-- every timestamp made is one PostgreSQL can hold: a clear error instead of an endless loop or bad values
SET statement_timeout = '20s';
SELECT throws_ok($$SELECT count(*) FROM risk.synthetic_orders(1000, 42, start_at => '294276-12-31', days => 10)$$,
                 '22008', 'risk.synthetic_orders: start_at and days make timestamps out of range',
                 'start_at + days past the end of timestamptz: 22008, at once (was an uncancellable loop)');
SELECT throws_ok($$SELECT count(*) FROM risk.synthetic_orders(1000, 42, start_at => '294276-12-31', days => 5)$$,
                 '22008', NULL, 'orders past the end of timestamptz: 22008');
SELECT throws_ok($$SELECT count(*) FROM risk.synthetic_orders(1000, 42, start_at => '4713-06-01 BC', days => 5)$$,
                 '22008', NULL, 'accounts made before the start of timestamptz: 22008');
SELECT is((SELECT count(*) FROM risk.synthetic_orders(1000, 42, start_at => '4710-06-01 BC', days => 5)
            WHERE account_created_at::text IS NULL OR created_at::text IS NULL), 0::bigint,
          'a start three years after the first timestamp: every timestamp can be printed');
SELECT throws_ok($$SELECT count(*) FROM risk.synthetic_orders(1000, first_order_id => 9223372036854775800)$$,
                 '22003', NULL, 'order ids past bigint: 22003 (were wrapped)');
SELECT is((SELECT max(order_id) FROM risk.synthetic_orders(8, first_order_id => 9223372036854775800)),
          9223372036854775807::bigint, 'the last order id bigint can hold');
-- a long call is cancelled as soon as it is asked
SET statement_timeout = '1s';
SELECT is(fx.cancelled($$SELECT count(*) FROM risk.synthetic_orders(900000000, days => 3000)$$), 'cancelled',
          'a call of 900 million orders is cancelled by statement_timeout');
RESET statement_timeout;
SELECT throws_ok($$SELECT * FROM risk.synthetic_orders(10, start_at => 'infinity')$$, '22023', NULL,
                 'an infinite start: 22023');
-- tiny worlds: the abuse that wants old or heavy accounts settles for what there is
SET statement_timeout = '60s';
SELECT is((SELECT count(*) FROM generate_series(1, 30) s, risk.synthetic_orders(2000, s::int, buyers => 10)),
          60000::bigint, 'ten buyers, thirty seeds: every call finishes');
SELECT is((SELECT count(*) FROM risk.synthetic_orders(5000, -7) WHERE buyer_id < 1 OR shop_id < 1), 0::bigint,
          'a negative seed: ids from 1');
RESET statement_timeout;

DROP FUNCTION best_precision(float8[], boolean[], float8[]);
DROP TABLE syn, leak, no_leak;
