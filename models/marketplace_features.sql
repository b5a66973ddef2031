-- The marketplace model's 32 features, declared once as the feature set
-- "marketplace" over marketplace.orders (README, "Feature sets").  From
-- this declaration risk derives both paths, equal by construction:
--   batch:  marketplace.marketplace_features(since, until), the features
--           of any slice of the orders, point in time (training, backfills);
--   online: risk.score_trigger(model, 'marketplace', ...), which updates
--           each entity's state in its store, marketplace.marketplace_<entity>,
--           and assembles the vector in C.
--
-- Every aggregate counts the entity's orders strictly before this one:
-- per buyer (orders, spend, devices, and whether the device or the address
-- is new to the buyer in 30 days), per device, address, card, /24 network,
-- SKU and shop (orders and distinct buyers over short and long windows),
-- and the order's own columns.  Distinct counts are capped at 100, as the
-- states keep them, so that no entity's state grows without bound (a buyer
-- cycling through device ids).
--
-- Needs: CREATE EXTENSION risk; a schema marketplace with a table
-- marketplace.orders shaped like risk.synthetic_orders' rows.

DO $$
BEGIN
    PERFORM risk.create_feature_set('marketplace', 'marketplace.orders', 'created_at',
                                    description => 'the marketplace model''s features (models/marketplace.json)');
    -- the /24 network of an IPv4 address, as a number
    PERFORM risk.add_entity('marketplace', 'network', '(ip - ''0.0.0.0''::inet) >> 8');

    -- the order itself
    PERFORM risk.add_feature('marketplace', 'amount', 'amount');
    PERFORM risk.add_feature('marketplace', 'quantity', 'quantity');
    PERFORM risk.add_feature('marketplace', 'discount', 'discount');
    PERFORM risk.add_feature('marketplace', 'list_price', 'list_price');
    PERFORM risk.add_feature('marketplace', 'account_age_days', 'extract(epoch FROM created_at - account_created_at) / 86400');
    PERFORM risk.add_feature('marketplace', 'hour_of_day', 'extract(hour FROM created_at AT TIME ZONE ''UTC'')');
    PERFORM risk.add_feature('marketplace', 'datacenter_ip', 'ip << ''185.0.0.0/8''::inet');
    PERFORM risk.add_feature('marketplace', 'has_coupon', 'coupon IS NOT NULL');

    -- the buyer
    PERFORM risk.add_feature('marketplace', 'buyer_orders_1h', 'count(*)', per => 'buyer_id', within => '1 hour');
    PERFORM risk.add_feature('marketplace', 'buyer_orders_1d', 'count(*)', per => 'buyer_id', within => '1 day');
    PERFORM risk.add_feature('marketplace', 'buyer_orders_30d', 'count(*)', per => 'buyer_id', within => '30 days');
    PERFORM risk.add_feature('marketplace', 'buyer_amount_1d', 'sum(amount)', per => 'buyer_id', within => '1 day');
    PERFORM risk.add_feature('marketplace', 'amount_vs_buyer_avg', 'ratio_to_avg(amount)', per => 'buyer_id',
                             within => '30 days');
    PERFORM risk.add_feature('marketplace', 'buyer_devices_30d', 'count(distinct device_id)', per => 'buyer_id',
                             within => '30 days', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'new_device', 'is_new(device_id)', per => 'buyer_id',
                             within => '30 days', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'new_address', 'is_new(address_id)', per => 'buyer_id',
                             within => '30 days', max_distinct => 100);

    -- the device, the address, the card and the network
    PERFORM risk.add_feature('marketplace', 'device_orders_1h', 'count(*)', per => 'device_id', within => '1 hour');
    PERFORM risk.add_feature('marketplace', 'device_buyers_1d', 'count(distinct buyer_id)', per => 'device_id',
                             within => '1 day', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'device_buyers_7d', 'count(distinct buyer_id)', per => 'device_id',
                             within => '7 days', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'address_orders_1d', 'count(*)', per => 'address_id', within => '1 day');
    PERFORM risk.add_feature('marketplace', 'address_buyers_30d', 'count(distinct buyer_id)', per => 'address_id',
                             within => '30 days', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'card_orders_1d', 'count(*)', per => 'payment_id', within => '1 day');
    PERFORM risk.add_feature('marketplace', 'card_buyers_7d', 'count(distinct buyer_id)', per => 'payment_id',
                             within => '7 days', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'net_orders_10m', 'count(*)', per => 'network', within => '10 minutes');
    PERFORM risk.add_feature('marketplace', 'net_buyers_1h', 'count(distinct buyer_id)', per => 'network',
                             within => '1 hour', max_distinct => 100);

    -- the SKU and the shop
    PERFORM risk.add_feature('marketplace', 'sku_orders_10m', 'count(*)', per => 'sku_id', within => '10 minutes');
    PERFORM risk.add_feature('marketplace', 'sku_orders_1h', 'count(*)', per => 'sku_id', within => '1 hour');
    PERFORM risk.add_feature('marketplace', 'sku_orders_7d', 'count(*)', per => 'sku_id', within => '7 days');
    PERFORM risk.add_feature('marketplace', 'sku_buyers_1h', 'count(distinct buyer_id)', per => 'sku_id',
                             within => '1 hour', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'shop_orders_1h', 'count(*)', per => 'shop_id', within => '1 hour');
    PERFORM risk.add_feature('marketplace', 'shop_buyers_1d', 'count(distinct buyer_id)', per => 'shop_id',
                             within => '1 day', max_distinct => 100);
    PERFORM risk.add_feature('marketplace', 'shop_orders_30d', 'count(*)', per => 'shop_id', within => '30 days');
END $$;

-- the features by name, in the model's order (risk.check_feature_set
-- errors when they are not the model's)
CREATE FUNCTION marketplace.feature_names() RETURNS text[] LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT array_agg(name ORDER BY position) FROM risk.feature_set_features WHERE feature_set = 'marketplace';
  END;

-- batch, as a vector: every order of marketplace.orders with its features
-- in the model's order, for risk.score(model, features) and the training
-- export (the column list is read from the declaration, not written again)
DO $$
BEGIN
    EXECUTE format('CREATE VIEW marketplace.order_features AS
                    SELECT o.order_id, o.created_at, o.is_fraud, o.pattern, ARRAY[%s] AS features
                      FROM marketplace.orders o JOIN marketplace.marketplace_features() f USING (order_id)',
                   (SELECT string_agg(format('f.%I', name), ', ' ORDER BY position)
                      FROM risk.feature_set_features WHERE feature_set = 'marketplace'));
END $$;

-- every entity's state, of every kind, from the stores the trigger updates
CREATE VIEW marketplace.entity_state AS
          SELECT 'buyer_id' AS kind, entity, state FROM marketplace.marketplace_buyer_id
UNION ALL SELECT 'device_id', entity, state FROM marketplace.marketplace_device_id
UNION ALL SELECT 'address_id', entity, state FROM marketplace.marketplace_address_id
UNION ALL SELECT 'payment_id', entity, state FROM marketplace.marketplace_payment_id
UNION ALL SELECT 'network', entity, state FROM marketplace.marketplace_network
UNION ALL SELECT 'sku_id', entity, state FROM marketplace.marketplace_sku_id
UNION ALL SELECT 'shop_id', entity, state FROM marketplace.marketplace_shop_id;

-- every entity's state recounted from the stored orders, without touching
-- the stores: what the online states must equal (risk.rebuild_feature_states
-- writes the same states into the stores)
CREATE VIEW marketplace.entity_state_rebuilt AS
          SELECT 'buyer_id' AS kind, buyer_id AS entity,
                 risk.feature_state_agg('marketplace', 'buyer_id', o ORDER BY created_at) AS state
            FROM marketplace.orders o WHERE buyer_id IS NOT NULL GROUP BY buyer_id
UNION ALL SELECT 'device_id', device_id, risk.feature_state_agg('marketplace', 'device_id', o ORDER BY created_at)
            FROM marketplace.orders o WHERE device_id IS NOT NULL GROUP BY device_id
UNION ALL SELECT 'address_id', address_id, risk.feature_state_agg('marketplace', 'address_id', o ORDER BY created_at)
            FROM marketplace.orders o WHERE address_id IS NOT NULL GROUP BY address_id
UNION ALL SELECT 'payment_id', payment_id, risk.feature_state_agg('marketplace', 'payment_id', o ORDER BY created_at)
            FROM marketplace.orders o WHERE payment_id IS NOT NULL GROUP BY payment_id
UNION ALL SELECT 'network', (ip - '0.0.0.0'::inet) >> 8,
                 risk.feature_state_agg('marketplace', 'network', o ORDER BY created_at)
            FROM marketplace.orders o WHERE ip IS NOT NULL GROUP BY 2
UNION ALL SELECT 'sku_id', sku_id, risk.feature_state_agg('marketplace', 'sku_id', o ORDER BY created_at)
            FROM marketplace.orders o WHERE sku_id IS NOT NULL GROUP BY sku_id
UNION ALL SELECT 'shop_id', shop_id, risk.feature_state_agg('marketplace', 'shop_id', o ORDER BY created_at)
            FROM marketplace.orders o WHERE shop_id IS NOT NULL GROUP BY shop_id;
