-- bench.reset() for the insert benchmarks that run several configurations
-- (bench/rules.sql, bench/shadow.sql): schema bench must exist and the
-- history be loaded (bench/insert.sql).
-- each run inserts the same orders from the same states: bench.reset() takes
-- back what the last run inserted and restores the states as they were
\o /dev/null
SELECT max(order_id) AS history_end FROM marketplace.orders \gset
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['buyer_id', 'device_id', 'address_id', 'payment_id', 'network', 'sku_id', 'shop_id'] LOOP
    EXECUTE format('CREATE TABLE bench.saved_%s AS SELECT * FROM marketplace.marketplace_%s', t, t);
  END LOOP;
END $$;
SELECT format($f$CREATE FUNCTION bench.reset() RETURNS void LANGUAGE plpgsql AS $b$
DECLARE t text;
BEGIN
  DELETE FROM marketplace.orders WHERE order_id > %s;
  FOREACH t IN ARRAY ARRAY['buyer_id', 'device_id', 'address_id', 'payment_id', 'network', 'sku_id', 'shop_id'] LOOP
    EXECUTE format('TRUNCATE marketplace.marketplace_%%s', t);
    EXECUTE format('INSERT INTO marketplace.marketplace_%%s SELECT * FROM bench.saved_%%s', t, t);
  END LOOP;
  PERFORM setval('marketplace.next_scored', %s, false);
END $b$$f$, :history_end, :history_end + 1) \gexec
\o
