-- On a Citus cluster: risk.train over a distributed table registers the same
-- model, byte for byte, as over a local copy of its rows, present on every
-- node and scoring on the workers.  A call that writes a catalog table that
-- others reference (the registry, lists, rule sets, feature sets) in a
-- transaction that has already run a query over a distributed table in
-- parallel, which Citus cannot do, fails at once with 25001 (not Citus's
-- XX000 after the work), and works after SET LOCAL
-- citus.multi_shard_modify_mode TO 'sequential'.  (After citus_registry:
-- orders_fraud and the distributed catalog.)
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(14);

CREATE TABLE tr_local AS SELECT * FROM risk.synthetic_orders(20000, 7);
CREATE TABLE tr_dist (LIKE tr_local);
SELECT create_distributed_table('tr_dist', 'buyer_id') \g /dev/null
INSERT INTO tr_dist SELECT * FROM tr_local;
SELECT is((SELECT count(DISTINCT nodename || nodeport) FROM citus_shards WHERE table_name = 'tr_dist'::regclass), 2::bigint,
          'the training rows on both workers');

SET client_min_messages = warning;
\set query 'SELECT amount, quantity, discount, declined, coupon IS NOT NULL AS has_coupon, is_fraud, risk.bucket(''split'', buyer_id, 100) < 20 AS holdout FROM '
\set params '{"max_depth": 3, "eta": 0.3, "nthread": 1}'
SELECT is(risk.train('tr_local', :'query' || 'tr_local', label => 'is_fraud', validation => 'holdout', rounds => 15,
                     params => :'params'), 1, 'trained over the local table');
SELECT is(risk.train('tr_dist', :'query' || 'tr_dist', label => 'is_fraud', validation => 'holdout', rounds => 15,
                     params => :'params'), 1, 'trained over the distributed table (its rows read over one connection per worker)');
SELECT is(current_setting('citus.multi_shard_modify_mode'), 'parallel', '... the session''s setting left as it was');
RESET client_min_messages;
SELECT is((SELECT model FROM risk.model_registry WHERE name = 'tr_dist'),
          (SELECT model FROM risk.model_registry WHERE name = 'tr_local'), 'the same model, byte for byte');
SELECT is((SELECT data_sha256 FROM risk.model_training WHERE name = 'tr_dist'),
          (SELECT data_sha256 FROM risk.model_training WHERE name = 'tr_local'), '... from the same rows (their fingerprint)');
SELECT is((SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
            $$SELECT count(*) FROM risk.models WHERE name = 'tr_dist'$$)), '{1,1,1}', '... on every node');
-- scored on the workers: every row as risk.score over the local table
CREATE TEMP TABLE tr_scores_local AS
  SELECT order_id, risk.score('tr_dist', ARRAY[amount, quantity, discount, declined::int, (coupon IS NOT NULL)::int]::float8[]) s
    FROM tr_local;
CREATE TEMP TABLE tr_scores_dist AS
  SELECT order_id, risk.score('tr_dist', ARRAY[amount, quantity, discount, declined::int, (coupon IS NOT NULL)::int]::float8[]) s
    FROM tr_dist;
SELECT is((SELECT count(*) FROM tr_scores_local l JOIN tr_scores_dist d USING (order_id) WHERE l.s = d.s), 20000::bigint,
          'the trained model scores the distributed rows on the workers as the local ones');

-- after a parallel query in the transaction: 25001 at once
CREATE FUNCTION tr_after_parallel(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count(*) FROM tr_dist;      -- every shard, several connections to each worker
    EXECUTE call;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT is(ARRAY[tr_after_parallel($$SELECT risk.train('tr_dist', 'SELECT amount, is_fraud FROM tr_dist', label => 'is_fraud', rounds => 2)$$),
                tr_after_parallel($$SELECT risk.drop_model('tr_local')$$),
                tr_after_parallel($$SELECT risk.create_list('tr_list')$$),
                tr_after_parallel($$SELECT risk.create_rule_set('tr_rules', 'tr_dist', 'tr_dist')$$)],
          ARRAY['25001', '25001', '25001', '25001'],
          'after a parallel query: train, drop_model, create_list, create_rule_set refused with 25001');
SELECT throws_ok($$SELECT tr_after_parallel('SELECT 1') || risk.train('tr_dist', 'SELECT amount, is_fraud FROM tr_dist', label => 'is_fraud', rounds => 2)::text$$,
                 '25001', NULL, '... the error a client sees');
SELECT risk.create_list('tr_list') \g /dev/null
SELECT is(tr_after_parallel($$SELECT risk.add_to_list('tr_list', 'x')$$), '25001', 'add_to_list too');
SELECT is((SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
            $$SELECT (SELECT count(*) FROM risk.model_registry WHERE name IN ('tr_local', 'tr_dist')) || '/' ||
                     (SELECT count(*) FROM risk.list_items WHERE list = 'tr_list')$$)), '{2/0,2/0,2/0}',
          'nothing stored, nothing lost, on any node');
-- with the sequential mode from the start: the transaction can do both
BEGIN;
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';
SET LOCAL client_min_messages = warning;
SELECT is(tr_after_parallel($$SELECT risk.train('tr_dist', 'SELECT amount, is_fraud FROM tr_dist', label => 'is_fraud', rounds => 2)$$),
          'no error', 'SET LOCAL citus.multi_shard_modify_mode TO ''sequential'' first: a query, then training');
COMMIT;
SELECT is((SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
            $$SELECT max(version) FROM risk.models WHERE name = 'tr_dist'$$)), '{2,2,2}', '... version 2 on every node');

DROP FUNCTION tr_after_parallel(text);
SELECT risk.drop_model('tr_local') \g /dev/null
SELECT risk.drop_model('tr_dist') \g /dev/null
DELETE FROM risk.list_items WHERE list = 'tr_list';
DELETE FROM risk.lists WHERE name = 'tr_list';
DROP TABLE tr_local, tr_dist;
SELECT * FROM finish();
