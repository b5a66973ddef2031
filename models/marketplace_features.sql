-- The marketplace model's features, two ways that give the same values: in
-- batch over a table of orders (history, training), and online, one order
-- at a time, keeping each entity's velocity state in a store table with
-- risk.velocity_track (what the scoring trigger calls).
--
-- Every feature is computed strictly before the order (include_current
-- false): per buyer (orders, spend, devices, and whether the device or the
-- address is new to the buyer in 30 days), per device, address, card, /24
-- network, SKU and shop (orders and distinct buyers over short and long
-- windows), and the order's own columns.  Windows are tiled, as the online
-- state keeps them (risk.velocity_tiled = risk.velocity_read); distinct
-- counts are capped at 100, as the states keep them, so that no entity's
-- state grows without bound (a buyer cycling through device ids).
--
-- Needs: CREATE EXTENSION risk; a schema marketplace with a table
-- marketplace.orders shaped like risk.synthetic_orders' rows.

-- the entity kinds, their windows and their cap; each kind keeps its
-- entities' states in a store of its own, marketplace.<kind>_velocity,
-- keyed by the entity (risk.velocity_track's stores)
CREATE FUNCTION marketplace.windows(kind text) RETURNS interval[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN CASE kind WHEN 'buyer_device' THEN '{1 hour,1 day,30 days}'
                   WHEN 'buyer_address' THEN '{30 days}'
                   WHEN 'device' THEN '{1 hour,1 day,7 days}'
                   WHEN 'address' THEN '{1 day,30 days}'
                   WHEN 'card' THEN '{1 day,7 days}'
                   WHEN 'network' THEN '{10 minutes,1 hour}'
                   WHEN 'sku' THEN '{10 minutes,1 hour,7 days}'
                   WHEN 'shop' THEN '{1 hour,1 day,30 days}' END::interval[];
CREATE VIEW marketplace.entity_kinds AS
SELECT kind, marketplace.windows(kind) AS windows, 100 AS max_distinct, format('marketplace.%s_velocity', kind)::regclass AS store
  FROM unnest(ARRAY['buyer_device', 'buyer_address', 'device', 'address', 'card', 'network', 'sku', 'shop']) kind;

-- the stores: fillfactor 50 keeps updates HOT, toast_tuple_target keeps
-- states in the row (README, "Online velocity features")
CREATE TABLE marketplace.buyer_device_velocity (buyer_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.buyer_address_velocity (buyer_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.device_velocity (device_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.address_velocity (address_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.card_velocity (payment_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.network_velocity (network bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.sku_velocity (sku_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE TABLE marketplace.shop_velocity (shop_id bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);

-- every entity's state, of every kind
CREATE VIEW marketplace.entity_state AS
          SELECT 'buyer_device' AS kind, buyer_id AS entity, state FROM marketplace.buyer_device_velocity
UNION ALL SELECT 'buyer_address', buyer_id, state FROM marketplace.buyer_address_velocity
UNION ALL SELECT 'device', device_id, state FROM marketplace.device_velocity
UNION ALL SELECT 'address', address_id, state FROM marketplace.address_velocity
UNION ALL SELECT 'card', payment_id, state FROM marketplace.card_velocity
UNION ALL SELECT 'network', network, state FROM marketplace.network_velocity
UNION ALL SELECT 'sku', sku_id, state FROM marketplace.sku_velocity
UNION ALL SELECT 'shop', shop_id, state FROM marketplace.shop_velocity;

-- the /24 network of an IPv4 address, as a number
CREATE FUNCTION marketplace.network(ip inet) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (ip - '0.0.0.0'::inet) >> 8;

CREATE FUNCTION marketplace.feature_names() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY['amount', 'quantity', 'discount', 'list_price', 'account_age_days', 'hour_of_day',
               'datacenter_ip', 'has_coupon',
               'buyer_orders_1h', 'buyer_orders_1d', 'buyer_orders_30d', 'buyer_amount_1d',
               'amount_vs_buyer_avg', 'buyer_devices_30d', 'new_device', 'new_address',
               'device_orders_1h', 'device_buyers_1d', 'device_buyers_7d',
               'address_orders_1d', 'address_buyers_30d', 'card_orders_1d', 'card_buyers_7d',
               'net_orders_10m', 'net_buyers_1h',
               'sku_orders_10m', 'sku_orders_1h', 'sku_orders_7d', 'sku_buyers_1h',
               'shop_orders_1h', 'shop_buyers_1d', 'shop_orders_30d'];

-- the feature vector from an order and its entities' velocity packs (each
-- laid out as risk.velocity's: counts, sums, distincts per window); the
-- buyer's packs before the order (bd, ba) and up to it (bd_now, ba_now)
CREATE FUNCTION marketplace.feature_vector(
    o marketplace.orders, bd float8[], bd_now float8[], ba float8[], ba_now float8[],
    dv float8[], ad float8[], cd float8[], nt float8[], sk float8[], sh float8[])
  RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY[
    o.amount, o.quantity, o.discount, o.list_price,
    extract(epoch FROM o.created_at - o.account_created_at) / 86400,
    extract(hour FROM o.created_at AT TIME ZONE 'UTC'),
    (o.ip << '185.0.0.0/8'::inet)::int, (o.coupon IS NOT NULL)::int,
    bd[1], bd[2], bd[3], bd[5],
    CASE WHEN bd[3] > 0 AND bd[6] > 0 THEN o.amount / (bd[6] / bd[3]) END,
    bd[9], (bd_now[9] > bd[9])::int, (ba_now[3] > ba[3])::int,
    dv[1], dv[8], dv[9],
    ad[1], ad[6], cd[1], cd[6],
    nt[1], nt[6],
    sk[1], sk[2], sk[3], sk[8],
    sh[1], sh[8], sh[3]]::float8[];

-- batch: every order of marketplace.orders
CREATE VIEW marketplace.order_features AS
SELECT o.order_id, o.created_at, o.is_fraud, o.pattern,
       marketplace.feature_vector(o,
         risk.velocity_tiled(o.created_at, o.amount, o.device_id, marketplace.windows('buyer_device'), false, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.device_id, marketplace.windows('buyer_device'), true, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.address_id, marketplace.windows('buyer_address'), false, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.address_id, marketplace.windows('buyer_address'), true, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('device'), false, 100)
           OVER (PARTITION BY o.device_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('address'), false, 100)
           OVER (PARTITION BY o.address_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('card'), false, 100)
           OVER (PARTITION BY o.payment_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('network'), false, 100)
           OVER (PARTITION BY marketplace.network(o.ip) ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('sku'), false, 100)
           OVER (PARTITION BY o.sku_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, marketplace.windows('shop'), false, 100)
           OVER (PARTITION BY o.shop_id ORDER BY o.created_at)) AS features
  FROM marketplace.orders o;

-- online: adds the order to each of its entities' states and returns its
-- features, read before it (and up to it for the buyer's new device and
-- address).  risk.velocity_track takes the states' rows in the order of
-- the calls, the same for every order, so that concurrent orders of the
-- same entities wait for each other without deadlocks.  Its own search_path:
-- the inserting session's cannot change what it calls (feature_vector and
-- network have SQL-standard bodies, parsed once, for the same reason)
CREATE FUNCTION marketplace.features(o marketplace.orders) RETURNS float8[] LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bd risk.velocity_state := risk.velocity_track('marketplace.buyer_device_velocity', o.buyer_id, o.created_at,
                                                  o.amount, o.device_id, marketplace.windows('buyer_device'), 100);
    ba risk.velocity_state := risk.velocity_track('marketplace.buyer_address_velocity', o.buyer_id, o.created_at,
                                                  o.amount, o.address_id, marketplace.windows('buyer_address'), 100);
    dv risk.velocity_state := risk.velocity_track('marketplace.device_velocity', o.device_id, o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('device'), 100);
    ad risk.velocity_state := risk.velocity_track('marketplace.address_velocity', o.address_id, o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('address'), 100);
    cd risk.velocity_state := risk.velocity_track('marketplace.card_velocity', o.payment_id, o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('card'), 100);
    nt risk.velocity_state := risk.velocity_track('marketplace.network_velocity', marketplace.network(o.ip), o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('network'), 100);
    sk risk.velocity_state := risk.velocity_track('marketplace.sku_velocity', o.sku_id::bigint, o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('sku'), 100);
    sh risk.velocity_state := risk.velocity_track('marketplace.shop_velocity', o.shop_id::bigint, o.created_at,
                                                  o.amount, o.buyer_id, marketplace.windows('shop'), 100);
    t timestamptz := o.created_at;
BEGIN
    RETURN marketplace.feature_vector(o, risk.velocity_read(bd, t), risk.velocity_read(bd, t, true),
                                      risk.velocity_read(ba, t), risk.velocity_read(ba, t, true),
                                      risk.velocity_read(dv, t), risk.velocity_read(ad, t), risk.velocity_read(cd, t),
                                      risk.velocity_read(nt, t), risk.velocity_read(sk, t), risk.velocity_read(sh, t));
END $$;

-- every entity's state rebuilt from the stored orders: the recount the
-- online states must equal
CREATE VIEW marketplace.entity_state_rebuilt AS
SELECT k.kind, e.entity, e.state
  FROM (SELECT * FROM marketplace.entity_kinds OFFSET 0) k,	-- (each kind's windows computed once, not per order)
       LATERAL (SELECT CASE k.kind WHEN 'buyer_device' THEN buyer_id WHEN 'buyer_address' THEN buyer_id
                                   WHEN 'device' THEN device_id WHEN 'address' THEN address_id
                                   WHEN 'card' THEN payment_id WHEN 'network' THEN marketplace.network(ip)
                                   WHEN 'sku' THEN sku_id WHEN 'shop' THEN shop_id END AS entity,
                       risk.velocity_state_agg(created_at, amount,
                                               CASE k.kind WHEN 'buyer_device' THEN device_id
                                                           WHEN 'buyer_address' THEN address_id
                                                           ELSE buyer_id END,
                                               k.windows, k.max_distinct) AS state
                  FROM marketplace.orders GROUP BY 1) e;

-- the backfill of a history: every store emptied and filled with the
-- states the stored orders leave
CREATE PROCEDURE marketplace.backfill_velocity() LANGUAGE plpgsql AS $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT * FROM marketplace.entity_kinds LOOP
        EXECUTE format('TRUNCATE %s', k.store);
        EXECUTE format('INSERT INTO %s SELECT entity, state FROM marketplace.entity_state_rebuilt WHERE kind = %L',
                       k.store, k.kind);
    END LOOP;
END $$;
