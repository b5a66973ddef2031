-- Feature sets: a model's features declared once, computed in batch
-- (<set>_features) and online (the scoring trigger) by the same code.
-- Declaration errors with their SQLSTATEs; batch = a plain-SQL recount for
-- every kind of feature (windows, filters, delays, caps, ties, first and
-- last seen, is-new, ratio to the mean, entity expressions, jsonb); online
-- = batch for every order of a 20,000-order stream with ties, late events,
-- NULL entities, a rolled-back chunk and four concurrent sessions; the
-- states as a rebuild from the events leaves them; stores with a generated
-- column, a CHECK constraint and a publication; bound by name.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA fst;
SET search_path = fst, public;

-- 20,000 orders on 10-minute times: many same-time events per shop, some
-- per buyer; 1 in 37 without a device, 1 in 53 without an amount; whole
-- amounts, so that sums are exact in double precision
CREATE TABLE ev AS
SELECT order_id,
       date_trunc('hour', created_at) + floor(extract(minute FROM created_at) / 10) * interval '10 minutes' AS created_at,
       buyer_id, CASE WHEN order_id % 37 = 0 THEN NULL ELSE device_id END AS device_id, ip,
       jsonb_build_object('fp', 'fp' || (device_id % 700), 'channel', CASE WHEN order_id % 3 = 0 THEN 'app' ELSE 'web' END) AS payload,
       CASE WHEN order_id % 53 = 0 THEN NULL ELSE round(amount)::float8 END AS amount, declined, shop_id, is_fraud
  FROM risk.synthetic_orders(20000, 11);
ALTER TABLE ev ADD PRIMARY KEY (order_id);
CREATE INDEX ON ev (buyer_id, created_at);
CREATE INDEX ON ev (device_id, created_at);
CREATE INDEX ON ev (shop_id, created_at);
CREATE INDEX ON ev (((ip - '0.0.0.0'::inet) >> 8), created_at);
CREATE INDEX ON ev ((payload->>'fp'), created_at);
ANALYZE ev;

SELECT plan(78);

-- ------------------------------------------------------------------------
-- The declaration
-- ------------------------------------------------------------------------
SELECT lives_ok($$SELECT risk.create_feature_set('fsb', 'fst.ev', 'created_at', tie_break => 'order_id')$$,
                'a feature set over the orders, same-time orders ordered by order_id');
SELECT risk.add_entity('fsb', 'network', '(ip - ''0.0.0.0''::inet) >> 8');
SELECT risk.add_entity('fsb', 'fp', 'payload->>''fp''');
CREATE TABLE decl (name text, expression text, per text, within interval, delay interval,
                   include_current boolean DEFAULT false, max_distinct integer, n serial);
INSERT INTO decl (name, expression, per, within, delay, include_current, max_distinct) VALUES
  ('amount', 'amount', NULL, NULL, NULL, false, NULL),
  ('hour_of_day', 'extract(hour FROM created_at AT TIME ZONE ''UTC'')', NULL, NULL, NULL, false, NULL),
  ('app', '(payload->>''channel'') = ''app''', NULL, NULL, NULL, false, NULL),
  ('buyer_orders_1h', 'count(*)', 'buyer_id', '1 hour', NULL, false, NULL),
  ('buyer_orders_1d_incl', 'count(*)', 'buyer_id', '1 day', NULL, true, NULL),
  ('buyer_spend_1d', 'sum(amount)', 'buyer_id', '1 day', NULL, false, NULL),
  ('buyer_avg_7d', 'avg(amount)', 'buyer_id', '7 days', NULL, false, NULL),
  ('buyer_declines_7d_late', 'count(*) FILTER (WHERE declined)', 'buyer_id', '7 days', '1 day', false, NULL),
  ('buyer_spend_7d_late', 'sum(amount)', 'buyer_id', '7 days', '1 day', false, NULL),
  ('buyer_devices_1d', 'count(distinct device_id)', 'buyer_id', '1 day', NULL, false, NULL),
  ('buyer_devices_7d_cap', 'count(distinct device_id)', 'buyer_id', '7 days', NULL, false, 3),
  ('buyer_new_device', 'is_new(device_id)', 'buyer_id', '7 days', NULL, false, NULL),
  ('buyer_since_first', 'seconds_since_first()', 'buyer_id', NULL, NULL, false, NULL),
  ('buyer_since_last', 'seconds_since_last()', 'buyer_id', NULL, NULL, false, NULL),
  ('buyer_ratio_7d', 'ratio_to_avg(amount)', 'buyer_id', '7 days', NULL, false, NULL),
  ('device_orders_1h', 'count(*)', 'device_id', '1 hour', NULL, false, NULL),
  ('device_spend_incl_1d', 'sum(amount)', 'device_id', '1 day', NULL, true, NULL),
  ('net_orders_1h', 'count(*)', 'network', '1 hour', NULL, false, NULL),
  ('fp_buyers_1d', 'count(distinct buyer_id)', 'fp', '1 day', NULL, false, NULL),
  ('shop_orders_10m', 'count(*)', 'shop_id', '10 minutes', NULL, false, NULL),
  ('shop_app_orders_1h', 'count(*) FILTER (WHERE payload->>''channel'' = ''app'')', 'shop_id', '1 hour', NULL, false, NULL);
SELECT is(array_agg(risk.add_feature('fsb', name, expression, per, within, delay, include_current, max_distinct) ORDER BY n),
          array_agg(n ORDER BY n), 'each feature added at its position')
  FROM decl;
SELECT is((SELECT array_agg(name ORDER BY position) FROM risk.feature_set_features WHERE feature_set = 'fsb'),
          (SELECT array_agg(name ORDER BY n) FROM decl), 'the catalog lists them in order');
SELECT is((SELECT array_agg(entity || ': ' || expression || ' -> ' || store::text ORDER BY entity)
             FROM risk.feature_set_entities WHERE feature_set = 'fsb'),
          ARRAY['buyer_id: buyer_id -> fsb_buyer_id', 'device_id: device_id -> fsb_device_id',
                'fp: (payload ->> ''fp''::text) -> fsb_fp', 'network: ((ip - ''0.0.0.0''::inet) >> 8) -> fsb_network',
                'shop_id: shop_id -> fsb_shop_id'],
          'entities: columns named in per, and declared expressions (canonical text), each with its store');
SELECT is((SELECT array_agg(a ORDER BY n) FROM pg_proc p, unnest(p.proargnames) WITH ORDINALITY u(a, n)
            WHERE p.oid = 'fst.fsb_features(timestamptz, timestamptz)'::regprocedure AND n > 2),
          (SELECT array['order_id', 'created_at'] || array_agg(name ORDER BY n) FROM decl),
          'the batch function fsb_features(since, until) returns the key, the time and each feature by name');

-- errors at declaration time, each with its SQLSTATE
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'sum(amount_usd)', per => 'buyer_id', within => '1 day')$$,
                 '42703', NULL, 'an unknown column: 42703');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'count(*)', per => 'buyer_id', within => '1 month')$$,
                 '22023', 'feature "x": a window cannot be in months or years', 'a window in months: 22023');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'count(*)', per => 'buyer_id', delay => '7 days')$$,
                 '22023', NULL, 'a delay without a window: 22023');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'buyer_orders_1h', 'count(*)', per => 'buyer_id', within => '2 hours')$$,
                 '42701', 'feature set "fsb" already has a feature "buyer_orders_1h"', 'a duplicate name: 42701');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'count(*)', per => 'coupon_id', within => '1 day')$$,
                 '42703', NULL, 'per names neither an entity nor a column: 42703');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'count(distinct device_id)', per => 'buyer_id', within => '1 day', delay => '1 day')$$,
                 '0A000', NULL, 'a delayed distinct count: 0A000');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'is_new(device_id)', per => 'buyer_id', within => '1 day', include_current => true)$$,
                 '22023', NULL, 'is_new including the current event: 22023');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'max(amount)', per => 'buyer_id', within => '1 day')$$,
                 '22023', NULL, 'an aggregate features do not have: 22023');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'amount * 2', within => '1 day')$$,
                 '22023', NULL, 'a row expression with a window: 22023');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'random()')$$, '42P17', NULL, 'a volatile expression: 42P17');
SELECT throws_ok($$SELECT risk.add_feature('fsb', 'x', 'count(*)', per => 'buyer_id', within => '1 day', max_distinct => 5)$$,
                 '22023', NULL, 'max_distinct on a count: 22023');
SELECT throws_ok($$SELECT risk.create_feature_set('fsb', 'fst.ev', 'created_at')$$, '42710', NULL, 'a duplicate set: 42710');
SELECT throws_ok($$SELECT risk.create_feature_set('fsx', 'fst.ev', 'order_id')$$, '42804', NULL,
                 'a time column that is not timestamptz: 42804');
SELECT throws_ok($$SELECT risk.create_feature_set('Bad Name', 'fst.ev', 'created_at')$$, '42602', NULL, 'a bad name: 42602');
SELECT is((SELECT count(*) FROM risk.feature_set_features WHERE feature_set = 'fsb'), 21::bigint,
          'the refused declarations left nothing behind');

-- ------------------------------------------------------------------------
-- Batch = a plain-SQL recount of every kind of feature
-- ------------------------------------------------------------------------
-- a tiled window of width w starts at the start of the tile holding t - w
-- (the hop: the largest of 1 day .. 1 second at most w/12)
CREATE FUNCTION hop(w interval) RETURNS float8 LANGUAGE sql IMMUTABLE
  RETURN CASE WHEN extract(epoch FROM w) >= 12 * 86400 THEN 86400 WHEN extract(epoch FROM w) >= 12 * 21600 THEN 21600
              WHEN extract(epoch FROM w) >= 12 * 7200 THEN 7200 WHEN extract(epoch FROM w) >= 12 * 3600 THEN 3600
              WHEN extract(epoch FROM w) >= 12 * 1800 THEN 1800 WHEN extract(epoch FROM w) >= 12 * 600 THEN 600
              WHEN extract(epoch FROM w) >= 12 * 300 THEN 300 WHEN extract(epoch FROM w) >= 12 * 60 THEN 60
              WHEN extract(epoch FROM w) >= 12 * 30 THEN 30 WHEN extract(epoch FROM w) >= 12 * 10 THEN 10
              WHEN extract(epoch FROM w) >= 12 * 5 THEN 5 ELSE 1 END;
CREATE FUNCTION ts(t timestamptz, w interval) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  RETURN to_timestamp(floor(extract(epoch FROM t - w) / hop(w)) * hop(w));

CREATE TABLE batch AS SELECT * FROM fsb_features();
CREATE TABLE recount AS
SELECT e.order_id, e.amount, extract(hour FROM e.created_at AT TIME ZONE 'UTC')::float8 AS hour_of_day,
       ((e.payload->>'channel') = 'app')::int::float8 AS app,
       b.orders_1h, b.orders_1d + 1 AS orders_1d_incl, b.spend_1d, b.avg_7d, b.declines_late, b.spend_late,
       b.devices_1d, least(b.devices_7d, 3) AS devices_7d_cap,
       CASE WHEN e.device_id IS NOT NULL THEN (NOT coalesce(b.seen_device, false))::int END AS new_device,
       extract(epoch FROM e.created_at - b.first_seen) AS since_first,
       extract(epoch FROM e.created_at - b.last_seen) AS since_last,
       CASE WHEN b.n_7d > 0 AND b.sum_7d > 0 THEN e.amount / (b.sum_7d / b.n_7d) END AS ratio_7d,
       CASE WHEN e.device_id IS NOT NULL THEN d.orders_1h END AS device_orders_1h,
       CASE WHEN e.device_id IS NOT NULL THEN d.spend_1d + coalesce(e.amount, 0) END AS device_spend_incl_1d,
       n.orders_1h AS net_orders_1h, f.buyers_1d AS fp_buyers_1d, s.orders_10m AS shop_orders_10m, s.app_1h AS shop_app_orders_1h
  FROM ev e
  CROSS JOIN LATERAL (SELECT ts(e.created_at, '10 minutes') AS m10, ts(e.created_at, '1 hour') AS h1,
                             ts(e.created_at, '1 day') AS d1, ts(e.created_at, '7 days') AS d7,
                             ts(e.created_at, '8 days') AS d8 OFFSET 0) w
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.created_at >= w.h1) AS orders_1h,
           count(*) FILTER (WHERE p.created_at >= w.d1) AS orders_1d,
           coalesce(sum(p.amount) FILTER (WHERE p.created_at >= w.d1), 0) AS spend_1d,
           avg(p.amount) FILTER (WHERE p.created_at >= w.d7) AS avg_7d,
           count(p.amount) FILTER (WHERE p.created_at >= w.d7) AS n_7d,
           sum(p.amount) FILTER (WHERE p.created_at >= w.d7) AS sum_7d,
           count(*) FILTER (WHERE p.declined AND p.created_at >= w.d8)
             - count(*) FILTER (WHERE p.declined AND p.created_at >= w.d1) AS declines_late,
           coalesce(sum(p.amount) FILTER (WHERE p.created_at >= w.d8), 0)
             - coalesce(sum(p.amount) FILTER (WHERE p.created_at >= w.d1), 0) AS spend_late,
           count(DISTINCT p.device_id) FILTER (WHERE p.created_at >= w.d1) AS devices_1d,
           count(DISTINCT p.device_id) FILTER (WHERE p.created_at >= w.d7) AS devices_7d,
           bool_or(p.device_id = e.device_id) FILTER (WHERE p.created_at >= w.d7) AS seen_device,
           min(p.created_at) AS first_seen, max(p.created_at) AS last_seen
      FROM ev p WHERE p.buyer_id = e.buyer_id AND (p.created_at, p.order_id) < (e.created_at, e.order_id)) b
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.created_at >= w.h1) AS orders_1h,
           coalesce(sum(p.amount) FILTER (WHERE p.created_at >= w.d1), 0) AS spend_1d
      FROM ev p WHERE p.device_id = e.device_id AND p.created_at >= w.d1 AND (p.created_at, p.order_id) < (e.created_at, e.order_id)) d
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.created_at >= w.h1) AS orders_1h
      FROM ev p WHERE (p.ip - '0.0.0.0'::inet) >> 8 = (e.ip - '0.0.0.0'::inet) >> 8
       AND p.created_at >= e.created_at - interval '2 hours' AND (p.created_at, p.order_id) < (e.created_at, e.order_id)) n
  CROSS JOIN LATERAL (
    SELECT count(DISTINCT p.buyer_id) AS buyers_1d
      FROM ev p WHERE p.payload->>'fp' = e.payload->>'fp' AND p.created_at >= w.d1
       AND (p.created_at, p.order_id) < (e.created_at, e.order_id)) f
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.created_at >= w.m10) AS orders_10m,
           count(*) FILTER (WHERE p.payload->>'channel' = 'app') AS app_1h
      FROM ev p WHERE p.shop_id = e.shop_id AND p.created_at >= w.h1
       AND (p.created_at, p.order_id) < (e.created_at, e.order_id)) s;

CREATE FUNCTION differ(a float8, b float8) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN (a IS NULL) <> (b IS NULL) OR abs(a - b) > 1e-9 * greatest(1, abs(b));
SELECT is(count(*), 20000::bigint, 'the batch function gives every order') FROM batch;
SELECT is(count(*) FILTER (WHERE differ(b.amount, r.amount) OR differ(b.hour_of_day, r.hour_of_day) OR differ(b.app, r.app)),
          0::bigint, 'expressions of the row (a jsonb field too) = SQL') FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_orders_1h, r.orders_1h)), 0::bigint, 'count(*) within 1 hour = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_orders_1d_incl, r.orders_1d_incl)), 0::bigint,
          'count(*) including the current event = recount + 1') FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_spend_1d, r.spend_1d)), 0::bigint, 'sum(amount) = recount (NULL amounts not summed)')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_avg_7d, r.avg_7d)), 0::bigint, 'avg(amount) = recount (NULL when none)')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_declines_7d_late, r.declines_late)), 0::bigint,
          'count(*) FILTER (WHERE declined) over 7 days delayed 1 day = recount') FROM batch b JOIN recount r USING (order_id);
SELECT ok(count(*) FILTER (WHERE b.buyer_declines_7d_late > 0) > 100, '(delayed declines are counted: not all zero)')
  FROM batch b;
SELECT is(count(*) FILTER (WHERE differ(b.buyer_spend_7d_late, r.spend_late)), 0::bigint, 'delayed sum = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_devices_1d, r.devices_1d)), 0::bigint, 'count(distinct device_id) = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_devices_7d_cap, r.devices_7d_cap)), 0::bigint,
          'count(distinct device_id) capped at 3 = least(recount, 3)') FROM batch b JOIN recount r USING (order_id);
SELECT ok(count(*) FILTER (WHERE r.devices_7d_cap = 3) > 50, '(the cap is reached)') FROM recount r;
SELECT is(count(*) FILTER (WHERE differ(b.buyer_new_device, r.new_device)), 0::bigint,
          'is_new(device_id) = no earlier order of the buyer on that device in the window (NULL device: NULL)')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_since_first, r.since_first) OR differ(b.buyer_since_last, r.since_last)),
          0::bigint, 'seconds since first and last seen = recount (ties before the event: 0 seconds)')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.buyer_ratio_7d, r.ratio_7d)), 0::bigint, 'ratio_to_avg(amount) = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.device_orders_1h, r.device_orders_1h)), 0::bigint,
          'a NULL entity: NULL features, and not an entity of its own') FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.device_spend_incl_1d, r.device_spend_incl_1d)), 0::bigint,
          'sum including the current event = recount + its amount') FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.net_orders_1h, r.net_orders_1h)), 0::bigint, 'an entity expression (the /24) = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.fp_buyers_1d, r.fp_buyers_1d)), 0::bigint, 'a jsonb field as the entity = recount')
  FROM batch b JOIN recount r USING (order_id);
SELECT is(count(*) FILTER (WHERE differ(b.shop_orders_10m, r.shop_orders_10m) OR differ(b.shop_app_orders_1h, r.shop_app_orders_1h)),
          0::bigint, 'same-time orders of a shop: those with a lower order_id are before (the tie-break)')
  FROM batch b JOIN recount r USING (order_id);
SELECT ok(count(*) > 1000, '(many orders share their shop''s time)')
  FROM ev e WHERE EXISTS (SELECT FROM ev p WHERE p.shop_id = e.shop_id AND p.created_at = e.created_at AND p.order_id < e.order_id);
SELECT is((SELECT count(*) FROM fsb_features('2026-01-20', '2026-01-21')),
          (SELECT count(*) FROM ev WHERE created_at >= '2026-01-20' AND created_at < '2026-01-21'), 'a slice: its orders only')
UNION ALL
SELECT is((SELECT count(*) FROM fsb_features('2026-01-20', '2026-01-21') s JOIN batch b USING (order_id)
            WHERE to_jsonb(s) IS DISTINCT FROM to_jsonb(b)), 0::bigint, 'a slice: point in time, the history before it counts');

-- without a tie-break, same-time events are never before each other
SELECT risk.create_feature_set('fsn', 'fst.ev', 'created_at');
SELECT risk.add_feature('fsn', 'shop_orders_10m', 'count(*)', per => 'shop_id', within => '10 minutes');
SELECT risk.add_feature('fsn', 'shop_orders_10m_incl', 'count(*)', per => 'shop_id', within => '10 minutes', include_current => true);
SELECT is(count(*) FILTER (WHERE n.shop_orders_10m IS DISTINCT FROM r.c OR n.shop_orders_10m_incl IS DISTINCT FROM r.c + 1),
          0::bigint, 'no tie-break: only earlier times count, and including adds the event itself')
  FROM fsn_features() n
  JOIN LATERAL (SELECT count(*)::float8 AS c FROM ev p, ev e WHERE e.order_id = n.order_id AND p.shop_id = e.shop_id
                   AND p.created_at >= ts(e.created_at, '10 minutes') AND p.created_at < e.created_at) r ON true;

-- ------------------------------------------------------------------------
-- Online = batch
-- ------------------------------------------------------------------------
-- a model of the set's features, by name
SELECT format('SELECT %s, e.is_fraud FROM fst.batch b JOIN fst.ev e USING (order_id)',
              string_agg('b.' || quote_ident(name), ', ' ORDER BY n)) AS training FROM decl \gset
SELECT risk.train('fs_model', :'training', 'is_fraud', rounds => 8, params => '{"max_depth": 3}') \g /dev/null
SELECT throws_ok($$SELECT risk.check_feature_set('fsn', 'fs_model')$$, '42P17', NULL,
                 'a declaration that disagrees with the model: 42P17');

CREATE TABLE live (LIKE ev INCLUDING ALL, score float8, served jsonb, arrival bigint);
SELECT risk.create_feature_set('live', 'fst.live', 'created_at', tie_break => 'order_id', arrival => 'arrival');
SELECT risk.add_entity('live', entity, expression) FROM risk.feature_set_entities
 WHERE feature_set = 'fsb' AND entity IN ('network', 'fp');
SELECT is(count(risk.add_feature('live', name, expression, entity, within, delay, include_current, max_distinct)), 21::bigint,
          'the same declaration over the live table')
  FROM (SELECT * FROM risk.feature_set_features WHERE feature_set = 'fsb' ORDER BY position) f;
SELECT ok(risk.check_feature_set('live', 'fs_model'), 'the declaration agrees with the model (names, order)');
CREATE TRIGGER score BEFORE INSERT ON live FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('fs_model', 'live', 'score', '', '', 'features=served');

-- a rolled-back chunk leaves no trace
BEGIN;
INSERT INTO live SELECT * FROM ev ORDER BY created_at, order_id LIMIT 1000;
ROLLBACK;
SELECT is((SELECT count(*) FROM live_buyer_id) + (SELECT count(*) FROM live_shop_id) + (SELECT count(*) FROM live_fp), 0::bigint,
          'a rolled-back chunk: no state written');

-- the stream: the first 40% in order, the next 40% from four sessions at
-- once (one committed transaction per order), the rest in order, then 2%
-- held back all along (late events)
CREATE TABLE stream AS
SELECT e.*, ntile(10) OVER (ORDER BY created_at, order_id) AS decile, order_id % 50 = 7 AS late FROM ev e;
INSERT INTO live SELECT order_id, created_at, buyer_id, device_id, ip, payload, amount, declined, shop_id, is_fraud
  FROM stream WHERE decile <= 4 AND NOT late ORDER BY created_at, order_id;
CREATE PROCEDURE insert_quarter(q int) LANGUAGE plpgsql AS $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT * FROM fst.stream WHERE decile BETWEEN 5 AND 8 AND NOT late AND order_id % 4 = q
            ORDER BY created_at, order_id LOOP
    INSERT INTO fst.live (order_id, created_at, buyer_id, device_id, ip, payload, amount, declined, shop_id, is_fraud)
    VALUES (e.order_id, e.created_at, e.buyer_id, e.device_id, e.ip, e.payload, e.amount, e.declined, e.shop_id, e.is_fraud);
    COMMIT;
  END LOOP;
END $$;
SELECT format('dbname=%s host=%s port=%s', current_database(),
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT count(*) FROM (SELECT dblink_connect('s' || q, :'conn') FROM generate_series(0, 3) q) t \g /dev/null
SELECT is(sum(dblink_send_query('s' || q, format('CALL fst.insert_quarter(%s)', q))), 4::bigint,
          'four sessions inserting at once') FROM generate_series(0, 3) q;
SELECT is(count(*), 4::bigint, 'all four finished without error (no deadlock)')
  FROM generate_series(0, 3) q, LATERAL dblink_get_result('s' || q) AS r(status text) WHERE r.status = 'CALL';
SELECT count(*) FROM (SELECT dblink_get_result('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
SELECT count(*) FROM (SELECT dblink_disconnect('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
INSERT INTO live SELECT order_id, created_at, buyer_id, device_id, ip, payload, amount, declined, shop_id, is_fraud
  FROM stream WHERE decile > 8 AND NOT late ORDER BY created_at, order_id;
INSERT INTO live SELECT order_id, created_at, buyer_id, device_id, ip, payload, amount, declined, shop_id, is_fraud
  FROM stream WHERE late ORDER BY created_at, order_id;
SELECT is(count(*), 20000::bigint, 'every order inserted and scored') FROM live WHERE score IS NOT NULL;

-- the served vector, as the model read it (float4), against a batch row
CREATE FUNCTION as_served(j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE
  RETURN (SELECT jsonb_object_agg(k, CASE WHEN jsonb_typeof(v) = 'null' THEN v ELSE to_jsonb(((v #>> '{}')::float4)::numeric) END)
            FROM jsonb_each(j - 'order_id' - 'created_at') e(k, v));
SELECT is(count(*) FILTER (WHERE l.served IS DISTINCT FROM as_served(to_jsonb(s))), 0::bigint,
          'online = batch replayed as served (<set>_features_served), for every order')
  FROM live_features_served() s JOIN live l USING (order_id);
SELECT is(count(*) FILTER (WHERE risk.score('fs_model', s) <> l.score), 0::bigint,
          'and the trigger''s score = risk.score of that batch row, bound by name')
  FROM live_features_served() s JOIN live l USING (order_id);

-- by event time: equal for every order whose entities' orders arrived in
-- their (time, order_id) order; the others, found in plain SQL, are those
-- served after a later order of one of their entities (read at its time)
-- or before an earlier one in reach of their windows arrived
CREATE TABLE mates AS
SELECT 'buyer' AS k, buyer_id::text AS entity, order_id, created_at, arrival, interval '100 years' AS reach FROM live UNION ALL
SELECT 'device', device_id::text, order_id, created_at, arrival, '2 days' FROM live WHERE device_id IS NOT NULL UNION ALL
SELECT 'shop', shop_id::text, order_id, created_at, arrival, '2 hours' FROM live UNION ALL
SELECT 'network', ((ip - '0.0.0.0'::inet) >> 8)::text, order_id, created_at, arrival, '2 hours' FROM live UNION ALL
SELECT 'fp', payload->>'fp', order_id, created_at, arrival, '2 days' FROM live;
-- late: an order of the entity that comes after it arrived first
CREATE TABLE lateness AS
SELECT *, ARRAY[extract(epoch FROM created_at)::bigint, order_id]
          < max(ARRAY[extract(epoch FROM created_at)::bigint, order_id])
              OVER (PARTITION BY k, entity ORDER BY arrival ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS late
  FROM mates;
CREATE TABLE affected AS
SELECT order_id FROM lateness WHERE late
UNION
SELECT e.order_id FROM lateness e JOIN lateness p USING (k, entity)
 WHERE p.late AND p.arrival > e.arrival AND (p.created_at, p.order_id) < (e.created_at, e.order_id)
   AND p.created_at >= e.created_at - e.reach;
SELECT is(count(*) FILTER (WHERE l.served IS DISTINCT FROM as_served(to_jsonb(b)) AND a.order_id IS NULL), 0::bigint,
          'online = batch by event time for every order not affected by a late arrival')
  FROM live_features() b JOIN live l USING (order_id) LEFT JOIN affected a USING (order_id);
SELECT ok((SELECT count(*) FROM affected) BETWEEN 400 AND 19000,
          '(late and interleaved arrivals affected some orders)');
SELECT ok(count(*) > 0, '(and changed some of their features)')
  FROM live_features() b JOIN live l USING (order_id) WHERE l.served IS DISTINCT FROM as_served(to_jsonb(b));
SELECT is(count(*) FILTER (WHERE (l.served->>'device_orders_1h') IS NULL), count(*) FILTER (WHERE l.device_id IS NULL),
          'no device: its features missing (NULL in the served vector)') FROM live l;

-- the states are those a rebuild from the events leaves
CREATE TABLE before_rebuild AS
SELECT 'buyer' AS k, entity::text, state::text FROM live_buyer_id UNION ALL
SELECT 'device', entity::text, state::text FROM live_device_id UNION ALL
SELECT 'shop', entity::text, state::text FROM live_shop_id UNION ALL
SELECT 'network', entity::text, state::text FROM live_network UNION ALL
SELECT 'fp', entity::text, state::text FROM live_fp;
SELECT is(risk.rebuild_feature_states('live'), (SELECT count(*) FROM before_rebuild), 'a rebuild writes every state again');
SELECT is(count(*), 0::bigint, 'the online states = the rebuilt ones, whatever order the orders arrived in')
  FROM (SELECT * FROM before_rebuild EXCEPT
        (SELECT 'buyer', entity::text, state::text FROM live_buyer_id UNION ALL
         SELECT 'device', entity::text, state::text FROM live_device_id UNION ALL
         SELECT 'shop', entity::text, state::text FROM live_shop_id UNION ALL
         SELECT 'network', entity::text, state::text FROM live_network UNION ALL
         SELECT 'fp', entity::text, state::text FROM live_fp)) d;
SELECT is(count(*), 0::bigint, 'states read back from their text form as they were')
  FROM live_buyer_id WHERE state::text::risk.feature_state::text <> state::text;

-- an entity's current features, for an investigation (read at or after its latest order)
SELECT is((SELECT value FROM risk.entity_features('live', 'buyer_id', b.buyer_id, b.at) WHERE feature = 'buyer_orders_1d_incl'),
          (SELECT count(*)::float8 FROM ev WHERE buyer_id = b.buyer_id AND created_at >= ts(b.at, '1 day')),
          'risk.entity_features: the buyer''s orders in the day up to then')
  FROM (SELECT buyer_id, max(created_at) + interval '30 minutes' AS at FROM ev
         GROUP BY 1 ORDER BY count(*) FILTER (WHERE created_at > '2026-01-28') DESC, 1 LIMIT 1) b;
SELECT is((SELECT array_agg(feature ORDER BY feature) FROM risk.entity_features('live', 'shop_id', 7, '2026-01-29')),
          ARRAY['shop_app_orders_1h', 'shop_orders_10m'], '... each of the entity''s features, by name');
SELECT throws_ok($$SELECT * FROM risk.entity_features('live', 'card', 1)$$, '42704', NULL, 'an unknown entity: 42704');

-- ------------------------------------------------------------------------
-- Stores behave as tables: a generated column, a CHECK, a publication
-- ------------------------------------------------------------------------
ALTER TABLE live_buyer_id ADD COLUMN bytes integer GENERATED ALWAYS AS (octet_length(risk.feature_state_send(state))) STORED;
INSERT INTO live (order_id, created_at, buyer_id, device_id, ip, payload, amount, declined, shop_id)
SELECT 100001, '2026-02-01', buyer_id, device_id, ip, payload, 10, false, shop_id FROM ev WHERE order_id = 1;
SELECT is((SELECT bytes FROM live_buyer_id WHERE entity = (SELECT buyer_id FROM ev WHERE order_id = 1)),
          (SELECT octet_length(risk.feature_state_send(state)) FROM live_buyer_id WHERE entity = (SELECT buyer_id FROM ev WHERE order_id = 1)),
          'a generated column of a store is computed as the state changes');
ALTER TABLE live_shop_id ADD CONSTRAINT tiny CHECK (octet_length(risk.feature_state_send(state)) < 20) NOT VALID;
SELECT throws_ok($$INSERT INTO fst.live (order_id, created_at, buyer_id, shop_id) VALUES (100002, '2026-02-01', 1, 7)$$,
                 '23514', NULL, 'a CHECK constraint of a store is checked: 23514');
SELECT is((SELECT count(*) FROM live WHERE order_id = 100002), 0::bigint, '... and the order is not stored');
ALTER TABLE live_shop_id DROP CONSTRAINT tiny;
CREATE PUBLICATION fst_states FOR TABLE live_device_id;
SELECT lives_ok($$INSERT INTO fst.live (order_id, created_at, buyer_id, device_id, shop_id) VALUES (100003, '2026-02-01', 1, 5, 7)$$,
                'a published store: updates through its primary key');
ALTER TABLE live_device_id REPLICA IDENTITY NOTHING;
SELECT throws_ok($$INSERT INTO fst.live (order_id, created_at, buyer_id, device_id, shop_id) VALUES (100004, '2026-02-01', 1, 5, 7)$$,
                 '55000', NULL, 'a published store without a replica identity refuses the update, as for an UPDATE: 55000');
DROP PUBLICATION fst_states;
CREATE TRIGGER audit BEFORE UPDATE ON live_device_id FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
SELECT throws_ok($$INSERT INTO fst.live (order_id, created_at, buyer_id, device_id, shop_id) VALUES (100005, '2026-02-01', 1, 5, 7)$$,
                 '55000', NULL, 'a store with a trigger is refused: 55000');
DROP TRIGGER audit ON live_device_id;

-- the trigger's binding: by name, with clear errors
SELECT throws_ok($$CREATE TRIGGER s2 BEFORE INSERT ON fst.live FOR EACH ROW
                     EXECUTE FUNCTION risk.score_trigger('fs_model', 'fsb', 'score');
                   INSERT INTO fst.live (order_id, created_at) VALUES (100006, '2026-02-01')$$,
                 '42P17', NULL, 'a feature set over another table: 42P17');
CREATE TABLE small (id bigint PRIMARY KEY, created_at timestamptz, a float8, score float8);
SELECT risk.create_feature_set('small', 'fst.small', 'created_at');
SELECT risk.add_feature('small', 'amount', 'a');
SELECT throws_ok($$CREATE TRIGGER s3 BEFORE INSERT ON fst.small FOR EACH ROW
                     EXECUTE FUNCTION risk.score_trigger('fs_model', 'small', 'score');
                   INSERT INTO fst.small VALUES (1, '2026-02-01', 1)$$,
                 '42703', NULL, 'a model feature the set lacks: 42703');

-- a features function may return a row: bound to the model's features by name
CREATE TYPE two_features AS (b float8, a float8);
SELECT risk.train('two', 'SELECT x AS a, x * 2 AS b, x > 5 AS y FROM generate_series(1, 10) x', 'y', rounds => 3) \g /dev/null
CREATE TABLE plain (id int, x float8, score float8);
CREATE FUNCTION plain_features(p plain) RETURNS two_features LANGUAGE sql RETURN ROW(p.x * 2, p.x)::two_features;
CREATE TRIGGER s BEFORE INSERT ON plain FOR EACH ROW EXECUTE FUNCTION risk.score_trigger('two', 'fst.plain_features', 'score');
INSERT INTO plain SELECT x, x FROM generate_series(1, 10) x;
SELECT is(count(*) FILTER (WHERE score = risk.score('two', ARRAY[x, x * 2])), 10::bigint,
          'a features function returning a row: its columns bound by name, whatever their order')
  FROM plain;

SELECT lives_ok($$SELECT risk.drop_feature_set('fsn')$$, 'risk.drop_feature_set');
SELECT is(to_regclass('fst.fsn_shop_id') IS NULL AND to_regprocedure('fst.fsn_features(timestamptz, timestamptz)') IS NULL,
          true, '... drops its stores and its batch function');

-- a set goes with its event table; a store does not go alone
CREATE TABLE drop_ev (id bigint PRIMARY KEY, at timestamptz, buyer bigint, seq bigint);
SELECT risk.create_feature_set('fsd', 'drop_ev', 'at', arrival => 'seq') \g /dev/null
SELECT risk.add_feature('fsd', 'n', 'count(*)', per => 'buyer', within => '1 day') \g /dev/null
SELECT throws_ok($$DROP TABLE fst.fsd_buyer$$, '2BP01', 'cannot drop fst.fsd_buyer: it is a store of feature set "fsd"',
                 'a store dropped alone: refused');
SELECT ok(to_regclass('fst.fsd_buyer') IS NOT NULL, '... and still there');
DROP TABLE drop_ev;
SELECT is((SELECT count(*) FROM risk.feature_sets WHERE name = 'fsd') +
          (SELECT count(*) FROM risk.feature_set_features WHERE feature_set = 'fsd') +
          (SELECT count(*) FROM risk.feature_set_entities WHERE feature_set = 'fsd'), 0::bigint,
          'the event table dropped: its feature set goes with it');
SELECT ok(to_regclass('fst.fsd_buyer') IS NULL AND to_regclass('fst.fsd_arrival') IS NULL
          AND to_regprocedure('fst.fsd_features(timestamptz, timestamptz)') IS NULL
          AND to_regprocedure('fst.fsd_features_served(timestamptz, timestamptz)') IS NULL,
          '... its store, arrival sequence and batch functions too');

SELECT * FROM finish();
