-- The marketplace model's features, batch path (DRAFT for issue 5: the
-- online path in the scoring trigger must give the same values).
-- Over a table orders shaped like risk.synthetic_orders' rows, every
-- feature is computed strictly before the order (include_current false):
-- per buyer (orders, spend, devices; a device or an address new in 30
-- days), per device, address, card, /24 network, SKU and shop (orders and
-- distinct buyers over short and long windows), and the order's own
-- columns.  Distinct counts of hot entities are capped at 1,000, as the
-- online state will be.
CREATE VIEW order_features AS
WITH v AS (
SELECT o.order_id, o.is_fraud, o.pattern, o.created_at,
  o.amount, o.quantity::float8 AS quantity, o.discount, o.list_price,
  extract(epoch FROM o.created_at - o.account_created_at) / 86400 AS account_age_days,
  extract(hour FROM o.created_at AT TIME ZONE 'UTC') AS hour_of_day,
  (o.ip << '185.0.0.0/8'::inet)::int AS datacenter_ip,
  (o.coupon IS NOT NULL)::int AS has_coupon,
  risk.velocity(created_at, amount, device_id, '{1 hour,1 day,30 days}', false) OVER (PARTITION BY buyer_id ORDER BY created_at) AS bd,
  risk.velocity(created_at, amount, device_id, '{30 days}', true) OVER (PARTITION BY buyer_id ORDER BY created_at) AS bd_now,
  risk.velocity(created_at, amount, address_id, '{30 days}', false) OVER (PARTITION BY buyer_id ORDER BY created_at) AS ba,
  risk.velocity(created_at, amount, address_id, '{30 days}', true) OVER (PARTITION BY buyer_id ORDER BY created_at) AS ba_now,
  risk.velocity(created_at, amount, buyer_id, '{1 hour,1 day,7 days}', false, 1000) OVER (PARTITION BY device_id ORDER BY created_at) AS dv,
  risk.velocity(created_at, amount, buyer_id, '{1 day,30 days}', false, 1000) OVER (PARTITION BY address_id ORDER BY created_at) AS ad,
  risk.velocity(created_at, amount, buyer_id, '{1 day,7 days}', false, 1000) OVER (PARTITION BY payment_id ORDER BY created_at) AS cd,
  risk.velocity(created_at, amount, buyer_id, '{10 minutes,1 hour}', false, 1000) OVER (PARTITION BY set_masklen(ip::cidr, 24) ORDER BY created_at) AS nt,
  risk.velocity(created_at, amount, buyer_id, '{10 minutes,1 hour,7 days}', false, 1000) OVER (PARTITION BY sku_id ORDER BY created_at) AS sk,
  risk.velocity(created_at, amount, buyer_id, '{1 hour,1 day,30 days}', false, 1000) OVER (PARTITION BY shop_id ORDER BY created_at) AS sh
FROM orders o)
SELECT order_id, is_fraud, pattern, created_at,
  amount, quantity, discount, list_price, account_age_days, hour_of_day, datacenter_ip, has_coupon,
  bd[1] buyer_orders_1h, bd[2] buyer_orders_1d, bd[3] buyer_orders_30d, bd[5] buyer_amount_1d,
  CASE WHEN bd[3] > 0 THEN amount / (bd[6] / bd[3]) END AS amount_vs_buyer_avg,
  bd[9] buyer_devices_30d, (bd_now[3] > bd[9])::int new_device, (ba_now[3] > ba[3])::int new_address,
  dv[1] device_orders_1h, dv[8] device_buyers_1d, dv[9] device_buyers_7d,
  ad[1] address_orders_1d, ad[6] address_buyers_30d,
  cd[1] card_orders_1d, cd[6] card_buyers_7d,
  nt[1] net_orders_10m, nt[6] net_buyers_1h,
  sk[1] sku_orders_10m, sk[2] sku_orders_1h, sk[3] sku_orders_7d, sk[8] sku_buyers_1h,
  sh[1] shop_orders_1h, sh[8] shop_buyers_1d, sh[3] shop_orders_30d
FROM v;
