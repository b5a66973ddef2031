-- The marketplace model's features (models/marketplace_features.sql): the
-- online path, one order at a time through the entities' velocity states,
-- gives exactly the batch view's values, order by order.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(4);

CREATE SCHEMA marketplace;
CREATE TABLE marketplace.orders AS SELECT * FROM risk.synthetic_orders(20000, 5);
\set ECHO none
\i models/marketplace_features.sql
\set ECHO all

CREATE TABLE marketplace.batch AS SELECT order_id, features FROM marketplace.order_features;
CREATE TABLE marketplace.online (order_id bigint PRIMARY KEY, features float8[]);
-- a stream of orders, committed ten at a time (as inserts would be)
CREATE PROCEDURE marketplace.stream() LANGUAGE plpgsql AS $$
DECLARE
    o marketplace.orders;
    i int := 0;
BEGIN
    FOR o IN SELECT * FROM marketplace.orders ORDER BY created_at, order_id LOOP
        INSERT INTO marketplace.online VALUES (o.order_id, marketplace.features(o));
        i := i + 1;
        IF i % 10 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END $$;
CALL marketplace.stream();

SELECT is((SELECT count(*) FROM marketplace.batch b JOIN marketplace.online o USING (order_id)
            WHERE b.features IS NOT DISTINCT FROM o.features), 20000::bigint,
          'online features = batch features, for every one of 20,000 orders');
SELECT is((SELECT count(*) FROM marketplace.batch WHERE cardinality(features) <> cardinality(marketplace.feature_names())),
          0::bigint, 'one value per named feature');
SELECT ok((SELECT max(features[19]) >= 10 AND max(features[23]) >= 2 AND sum(features[15]) > 100
                  AND max(features[26]) >= 5
             FROM marketplace.batch),
          '(the features see rings: devices with ten buyers, shared cards, new devices, SKU bursts)');
SELECT is((SELECT array_agg(n ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM marketplace.entity_state GROUP BY kind) s),
          (SELECT ARRAY[count(DISTINCT address_id), count(DISTINCT buyer_id), count(DISTINCT buyer_id),
                        count(DISTINCT payment_id), count(DISTINCT device_id), count(DISTINCT marketplace.network(ip)),
                        count(DISTINCT shop_id), count(DISTINCT sku_id)]
             FROM marketplace.orders),
          'one state per entity of each kind (a recount of the orders)');

DROP SCHEMA marketplace CASCADE;
