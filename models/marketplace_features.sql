-- The marketplace model's features (issue 5, in progress), two ways that
-- give the same values: in batch over a table of orders (history,
-- training), and online, one order at a time, keeping each entity's
-- velocity state (what the scoring trigger calls).
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

-- the entities, their windows, what they count as distinct, and their cap
CREATE TABLE marketplace.entity_kinds (
  kind text PRIMARY KEY, windows interval[] NOT NULL, max_distinct int
);
INSERT INTO marketplace.entity_kinds VALUES
  ('buyer_device',  '{1 hour,1 day,30 days}', 100),
  ('buyer_address', '{30 days}', 100),
  ('device',  '{1 hour,1 day,7 days}', 100),
  ('address', '{1 day,30 days}', 100),
  ('card',    '{1 day,7 days}', 100),
  ('network', '{10 minutes,1 hour}', 100),
  ('sku',     '{10 minutes,1 hour,7 days}', 100),
  ('shop',    '{1 hour,1 day,30 days}', 100);

-- one velocity state per entity; fillfactor 50 keeps updates HOT (README)
CREATE TABLE marketplace.entity_state (
  kind text NOT NULL, entity bigint NOT NULL, state risk.velocity_state NOT NULL,
  last_key bigint,				-- the key of the last event added (for ON CONFLICT)
  PRIMARY KEY (kind, entity)
) WITH (fillfactor = 50, toast_tuple_target = 8160);

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
WITH k AS (SELECT kind, windows, max_distinct FROM marketplace.entity_kinds)
SELECT o.order_id, o.created_at, o.is_fraud, o.pattern,
       marketplace.feature_vector(o,
         risk.velocity_tiled(o.created_at, o.amount, o.device_id, (SELECT windows FROM k WHERE kind = 'buyer_device'), false, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.device_id, (SELECT windows FROM k WHERE kind = 'buyer_device'), true, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.address_id, (SELECT windows FROM k WHERE kind = 'buyer_address'), false, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.address_id, (SELECT windows FROM k WHERE kind = 'buyer_address'), true, 100)
           OVER (PARTITION BY o.buyer_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'device'), false, 100)
           OVER (PARTITION BY o.device_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'address'), false, 100)
           OVER (PARTITION BY o.address_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'card'), false, 100)
           OVER (PARTITION BY o.payment_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'network'), false, 100)
           OVER (PARTITION BY marketplace.network(o.ip) ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'sku'), false, 100)
           OVER (PARTITION BY o.sku_id ORDER BY o.created_at),
         risk.velocity_tiled(o.created_at, o.amount, o.buyer_id, (SELECT windows FROM k WHERE kind = 'shop'), false, 100)
           OVER (PARTITION BY o.shop_id ORDER BY o.created_at)) AS features
  FROM marketplace.orders o;

-- online: adds the order to its entities' states (one statement) and
-- returns its features, read before it (and up to it for the buyer's
-- new device and address).  The one statement takes the states in the
-- same order for every order, so that concurrent orders wait for each
-- other without deadlocks (an UPDATE, then an INSERT of the entities seen
-- for the first time, deadlocked in sql/concurrency.sql)
CREATE FUNCTION marketplace.features(o marketplace.orders) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    r record;
    packs jsonb := '{}';
    p float8[];
    bd float8[]; bd_now float8[]; ba float8[]; ba_now float8[];
    dv float8[]; ad float8[]; cd float8[]; nt float8[]; sk float8[]; sh float8[];
BEGIN
    FOR r IN
        INSERT INTO marketplace.entity_state AS s (kind, entity, state, last_key)
        SELECT v.kind, v.entity,
               risk.velocity_add(risk.velocity_init(k.windows, k.max_distinct), o.created_at, o.amount, v.key), v.key
          FROM (VALUES ('buyer_device', o.buyer_id, o.device_id),
                       ('buyer_address', o.buyer_id, o.address_id),
                       ('device', o.device_id, o.buyer_id),
                       ('address', o.address_id, o.buyer_id),
                       ('card', o.payment_id, o.buyer_id),
                       ('network', marketplace.network(o.ip), o.buyer_id),
                       ('sku', o.sku_id::bigint, o.buyer_id),
                       ('shop', o.shop_id::bigint, o.buyer_id)) v(kind, entity, key)
          JOIN marketplace.entity_kinds k USING (kind)
        ON CONFLICT (kind, entity) DO UPDATE
           SET state = risk.velocity_add(s.state, o.created_at, o.amount, excluded.last_key),
               last_key = excluded.last_key
        RETURNING s.kind, risk.velocity_read(s.state, o.created_at, false) AS before,
                  risk.velocity_read(s.state, o.created_at, true) AS upto
    LOOP
        CASE r.kind
            WHEN 'buyer_device' THEN bd := r.before; bd_now := r.upto;
            WHEN 'buyer_address' THEN ba := r.before; ba_now := r.upto;
            WHEN 'device' THEN dv := r.before;
            WHEN 'address' THEN ad := r.before;
            WHEN 'card' THEN cd := r.before;
            WHEN 'network' THEN nt := r.before;
            WHEN 'sku' THEN sk := r.before;
            WHEN 'shop' THEN sh := r.before;
        END CASE;
    END LOOP;
    RETURN marketplace.feature_vector(o, bd, bd_now, ba, ba_now, dv, ad, cd, nt, sk, sh);
END $$;

-- every entity's state rebuilt from the stored orders: the backfill of a
-- history, and the recount the online states must equal
CREATE VIEW marketplace.entity_state_rebuilt AS
SELECT k.kind, e.entity, e.state
  FROM marketplace.entity_kinds k,
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
