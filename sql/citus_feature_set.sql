-- On a Citus cluster: a feature set over a distributed table.  The store of
-- an entity that is the table's distribution column is distributed with the
-- table's shards (co-located), and the scoring trigger on each shard keeps
-- its states in the store's shard next to it, on the worker: scores,
-- decisions, features and states equal those of the same feature set on a
-- local table, row for row.  An entity whose events are on every shard (a
-- device of buyers on different shards) keeps its store on the coordinator:
-- the trigger on a shard refuses it (0A000), and the batch function computes
-- it exactly.  (After citus_trigger: orders_fraud and its thresholds.)
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(12);

CREATE TABLE fs_local (order_id int, buyer_id int, device_id text, created_at timestamptz, amount float8,
                       coupon boolean, score float8, decision text, features jsonb, PRIMARY KEY (buyer_id, order_id));
CREATE TABLE fs_dist (LIKE fs_local INCLUDING ALL);
SELECT create_distributed_table('fs_dist', 'buyer_id') \g /dev/null
-- a table of the coordinator only: the catalog's rows, on every node, cannot name it
CREATE TABLE fs_plain (LIKE fs_local);
SELECT throws_ok($$SELECT risk.create_feature_set('fs_p', 'fs_plain', 'created_at', tie_break => 'order_id')$$, '0A000',
                 'feature set "fs_p": table fs_plain is on the coordinator only',
                 'a feature set over a table of the coordinator only: 0A000');
DROP TABLE fs_plain;
-- the local one is added to Citus's metadata (a feature set's table is named in the catalog every node holds)
SELECT citus_add_local_table_to_metadata('fs_local') \g /dev/null

-- the model's eight features, the same declaration over each table
CREATE FUNCTION declare_set(set text, events regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM risk.create_feature_set(set, events, 'created_at', tie_break => 'order_id');
    PERFORM risk.add_feature(set, 'amount', 'amount');
    PERFORM risk.add_feature(set, 'account_age_days', 'order_id % 400');
    PERFORM risk.add_feature(set, 'is_new_device', 'is_new(device_id)', per => 'buyer_id', within => '30 days');
    PERFORM risk.add_feature(set, 'orders_1h', 'count(*)', per => 'buyer_id', within => '1 hour');
    PERFORM risk.add_feature(set, 'distinct_cards_24h', 'count(distinct device_id)', per => 'buyer_id', within => '24 hours');
    PERFORM risk.add_feature(set, 'ip_country_mismatch', 'sum(amount)', per => 'buyer_id', within => '6 hours');
    PERFORM risk.add_feature(set, 'hour_of_day', 'order_id % 24');
    PERFORM risk.add_feature(set, 'coupon_used', 'coupon::int');
END $$;
SELECT declare_set('fs_l', 'fs_local');
SELECT declare_set('fs_d', 'fs_dist');
CREATE TRIGGER score BEFORE INSERT ON fs_local FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'fs_l', 'score', 'decision', '', 'features=features');
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER score BEFORE INSERT ON fs_dist FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'fs_d', 'score', 'decision', '', 'features=features');
RESET citus.enable_unsafe_triggers;

SELECT is((SELECT array_agg(p.partmethod::text || (p.colocationid = d.colocationid)::text)
             FROM pg_dist_partition p, pg_dist_partition d
            WHERE p.logicalrelid = 'fs_d_buyer_id'::regclass AND d.logicalrelid = 'fs_dist'::regclass),
          ARRAY['htrue'], 'the buyer store is distributed with the table''s shards');

-- 4,000 orders of 300 buyers (one every 50 minutes each) from 500 devices, in time order
CREATE FUNCTION fs_orders(lo int, hi int) RETURNS TABLE (order_id int, buyer_id int, device_id text, created_at timestamptz,
                                                          amount float8, coupon boolean) LANGUAGE sql AS $$
  SELECT g, g % 300, 'd-' || (g * 7 % 500), timestamptz '2026-03-05' + g * interval '10 seconds',
         (g * 7919 % 90000) / 100.0, CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END
    FROM generate_series(lo, hi) g ORDER BY g $$;
INSERT INTO fs_local (order_id, buyer_id, device_id, created_at, amount, coupon) SELECT * FROM fs_orders(1, 2000);
INSERT INTO fs_dist (order_id, buyer_id, device_id, created_at, amount, coupon) SELECT * FROM fs_orders(1, 2000);
INSERT INTO fs_local (order_id, buyer_id, device_id, created_at, amount, coupon) SELECT * FROM fs_orders(2001, 4000);
INSERT INTO fs_dist (order_id, buyer_id, device_id, created_at, amount, coupon) SELECT * FROM fs_orders(2001, 4000);

SELECT is((SELECT count(*) FROM fs_dist WHERE score IS NOT NULL AND features IS NOT NULL), 4000::bigint,
          '4,000 orders scored on the shards');
SELECT is((SELECT count(*) FROM fs_local l FULL JOIN (SELECT * FROM fs_dist OFFSET 0) d USING (order_id)
            WHERE (l.score, l.decision, l.features) IS DISTINCT FROM (d.score, d.decision, d.features)),
          0::bigint, '... their scores, decisions and features = the same feature set''s on a local table, row for row');
SELECT ok((SELECT count(*) FROM fs_dist WHERE (features->>'orders_1h')::float8 >= 1) > 100
          AND (SELECT count(DISTINCT decision) FROM fs_dist) >= 2,
          '... with buyers'' velocity in them (orders in the same hour) and more than one decision');
SELECT is((SELECT count(*) FROM fs_l_buyer_id l FULL JOIN (SELECT * FROM fs_d_buyer_id OFFSET 0) d USING (entity)
            WHERE l.state::text IS DISTINCT FROM d.state::text),
          0::bigint, 'the 300 buyers'' states = the local store''s, byte for byte');
SELECT is((SELECT count(DISTINCT p.nodeport)::int
             FROM run_command_on_shards('fs_d_buyer_id', 'SELECT count(*) FROM %s') r
             JOIN pg_dist_shard_placement p USING (shardid)
            WHERE r.success AND r.result::int > 0), 2,
          '... kept on both workers, in the store''s shards next to the orders''');

-- the batch function, run from the coordinator over the distributed table: the local one's
SELECT is((SELECT count(*) FROM fs_l_features() l FULL JOIN fs_d_features() d USING (order_id)
            WHERE to_jsonb(l) IS DISTINCT FROM to_jsonb(d)),
          0::bigint, 'the batch function over the distributed table = over the local table');

-- a device: its events are on every shard, its store stays on the coordinator
CREATE TABLE fs_dist2 (LIKE fs_local INCLUDING ALL);
SELECT create_distributed_table('fs_dist2', 'buyer_id', colocate_with => 'fs_dist') \g /dev/null
SELECT declare_set('fs_dev', 'fs_dist2');
SELECT risk.add_feature('fs_dev', 'device_buyers_1d', 'count(distinct buyer_id)', per => 'device_id', within => '1 day') \g /dev/null
SELECT is((SELECT partmethod::text FROM pg_dist_partition WHERE logicalrelid = 'fs_dev_device_id'::regclass), 'n',
          'the device store is a table of the coordinator, known to every node');
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER score BEFORE INSERT ON fs_dist2 FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('orders_fraud', 'fs_dev', 'score', 'decision');
RESET citus.enable_unsafe_triggers;
SELECT throws_ok($$INSERT INTO fs_dist2 (order_id, buyer_id, device_id, created_at, amount, coupon)
                   VALUES (1, 1, 'd-1', '2026-03-05', 10, true)$$,
                 '0A000', NULL, 'a trigger on the shards with the device''s entity: 0A000');

-- how the workers' error reaches the client: with its SQLSTATE from a row
-- or rows of VALUES, but as XX000 (its message and detail kept) from an
-- INSERT ... SELECT whose rows Citus sends to the shards by COPY: Citus's
-- COPY drops a worker's SQLSTATE (ReportCopyError); README says so
-- (the shard's trigger, named in the message, is any of the shards')
SET citus.enable_ddl_propagation = off;
CREATE FUNCTION error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM, 'score_[0-9]+', 'score_<shard>');
END $$;
RESET citus.enable_ddl_propagation;
SELECT is(error_of($$INSERT INTO fs_dist2 (order_id, buyer_id, device_id, created_at, amount, coupon)
                              VALUES (1, 1, 'd-1', '2026-03-05', 10, true), (2, 2, 'd-1', '2026-03-05', 10, true)$$),
          (SELECT e FROM error_of($$INSERT INTO fs_dist2 (order_id, buyer_id, device_id, created_at, amount, coupon)
                                     VALUES (1, 1, 'd-1', '2026-03-05', 10, true)$$) e WHERE e LIKE '0A000: %'),
          'rows of VALUES: the worker''s 0A000 and message');
SELECT is(error_of($$INSERT INTO fs_dist2 (order_id, buyer_id, device_id, created_at, amount, coupon)
                              SELECT i, i, 'd-1', '2026-03-05', 10, true FROM generate_series(1, 2) i$$),
          replace(error_of($$INSERT INTO fs_dist2 (order_id, buyer_id, device_id, created_at, amount, coupon)
                                      VALUES (1, 1, 'd-1', '2026-03-05', 10, true)$$), '0A000: ', 'XX000: '),
          'INSERT ... SELECT through Citus''s COPY: the same message, as XX000 (Citus drops the SQLSTATE)');

SET client_min_messages = warning;
DROP TABLE fs_local, fs_dist, fs_dist2 CASCADE;
RESET client_min_messages;
DROP FUNCTION declare_set(text, regclass);
DROP FUNCTION error_of(text);
DROP FUNCTION fs_orders(int, int);
SELECT * FROM finish();
