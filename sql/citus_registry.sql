-- On a Citus cluster (a coordinator and two workers, make test-citus): the
-- extension's tables become reference tables, copied to every node; a model
-- imported on the coordinator scores on the workers, next to the data, with
-- the same scores and contributions as on a local table; a new version
-- committed on the coordinator holds for the next statement on every
-- worker and every connection, with no row scored by the old one.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv work RISK_WORK

SELECT plan(15);

SELECT is(risk.distribute_catalog(), 16, 'the 16 tables of the extension become reference tables');
SELECT is(risk.distribute_catalog(), 0, 'a second call has nothing left to do');
SELECT is((SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
            WHERE c.relnamespace = 'risk'::regnamespace AND p.partmethod = 'n' AND p.repmodel = 't'), 16::bigint,
          '... each with a copy on every node');
SELECT is((SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
            $$SELECT count(*) FROM pg_dist_shard s JOIN pg_class c ON c.oid = s.logicalrelid
               WHERE c.relnamespace = 'risk'::regnamespace$$)), '{16,16,16}',
          '... known to every node');

\set model :work '/orders_fraud.json'
\set model_v2 :work '/orders_fraud_v2.json'
SELECT is(risk.load_model('orders_fraud', :'model'), 1, 'a model imported on the coordinator');
SELECT is((SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
            $$SELECT string_agg(name || '@' || version, ',') FROM risk.models$$)), '{orders_fraud@1,orders_fraud@1,orders_fraud@1}',
          '... is on every node');

-- the same orders in a distributed table and in a local one
CREATE TABLE orders_local (order_id bigint PRIMARY KEY, amount numeric(12,2), account_age_days integer,
                           is_new_device boolean, orders_1h integer, distinct_cards_24h integer,
                           ip_country_mismatch boolean, hour_of_day integer, coupon_used boolean);
INSERT INTO orders_local
SELECT g, (g * 7919 % 50000) / 100.0, g * 31 % 900, g % 3 = 0, g % 5, g % 4, g % 7 = 0, g % 24,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END
  FROM generate_series(1, 20000) g;
CREATE TABLE orders (LIKE orders_local INCLUDING ALL);
SELECT create_distributed_table('orders', 'order_id') \g /dev/null
INSERT INTO orders SELECT * FROM orders_local;

SELECT ok(EXISTS (SELECT FROM (SELECT DISTINCT nodeport FROM citus_shards WHERE table_name = 'orders'::regclass) n
                   HAVING count(*) = 2),
          'the orders are on both workers');

-- scores computed on the shards, against the local table's
CREATE TEMP TABLE local_scores AS
SELECT order_id, risk.score('orders_fraud', o) AS score, risk.score_contributions('orders_fraud', o) AS contributions
  FROM orders_local o;
CREATE TEMP TABLE dist_scores AS
SELECT order_id, risk.score('orders_fraud', o) AS score, risk.score_contributions('orders_fraud', o) AS contributions
  FROM orders o;
SELECT is((SELECT count(*) FROM local_scores l FULL JOIN dist_scores d USING (order_id)
            WHERE l.score IS DISTINCT FROM d.score), 0::bigint,
          'scores on the workers = scores on a local table, row for row (20,000 rows)');
SELECT is((SELECT count(*) FROM local_scores l FULL JOIN dist_scores d USING (order_id)
            WHERE l.contributions IS DISTINCT FROM d.contributions), 0::bigint,
          'contributions on the workers = on a local table, row for row');
CREATE FUNCTION plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
SELECT ok(plan ~ 'Task Count: 32' AND plan ~ 'Query: SELECT order_id, risk\.score\(''orders_fraud''::text, o\.\*\) AS score FROM public\.orders_\d+ o',
          'the score is computed by the tasks on the shards, next to the rows')
  FROM plan_of($$SELECT order_id, risk.score('orders_fraud', o) FROM orders o$$) plan;

-- a second version, with another base score: every row of the next statement,
-- on every worker connection, is scored by it
SELECT count(*) FROM orders WHERE risk.score('orders_fraud', orders) > 0.5 \g /dev/null
SELECT is(risk.load_model('orders_fraud', :'model_v2'), 2, 'a second version imported on the coordinator');
SELECT is((SELECT count(*) FROM orders o WHERE risk.score('orders_fraud', o) IS DISTINCT FROM risk.score('orders_fraud@2', o)),
          0::bigint, 'the next statement scores every row on every worker with version 2');
SELECT isnt((SELECT count(*) FROM orders o WHERE risk.score('orders_fraud@1', o) IS DISTINCT FROM risk.score('orders_fraud@2', o)),
            0::bigint, '... which scores otherwise than version 1');
SELECT is(risk.drop_model('orders_fraud', 2), 1, 'version 2 dropped on the coordinator');
SELECT is((SELECT count(*) FROM orders o WHERE risk.score('orders_fraud', o) IS DISTINCT FROM risk.score('orders_fraud@1', o)),
          0::bigint, 'the next statement scores every row with version 1 again');

SELECT * FROM finish();
