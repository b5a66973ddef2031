-- On a Citus cluster: a cluster made with risk 0.1.0 is brought to 0.2.0 by
-- ALTER EXTENSION risk UPDATE on the coordinator.  Every node is updated in
-- the same statement, and its objects then equal a fresh 0.2.0 install's
-- on that node; the model the coordinator held under 0.1.0 is kept and,
-- once risk.distribute_catalog() has copied the tables, scores on the
-- workers; the aggregates the update changed split across the workers.
-- Runs after citus_drop (which leaves a fresh 0.2.0 install) and uses
-- citus_registry's tables orders and orders_local.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv work RISK_WORK

SELECT plan(10);

-- one digest per node of the extension's objects (OIDs differ between nodes)
CREATE FUNCTION digests() RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes($q$
    SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
      SELECT pg_describe_object(d.classid, d.objid, d.objsubid) || ' -- '
             || coalesce(obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)), '') AS x
        FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
       WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'risk' AND d.deptype = 'e'
      UNION ALL
      SELECT concat_ws(' ', p.oid::regprocedure, pg_get_function_result(p.oid), p.provolatile, p.proisstrict,
                       p.proparallel, p.prosrc)
        FROM pg_proc p WHERE p.pronamespace = 'risk'::regnamespace
      UNION ALL
      SELECT concat_ws(' ', a.aggfnoid::regprocedure, a.aggtransfn::regprocedure, a.aggfinalfn::regprocedure,
                       a.aggcombinefn::regprocedure, a.aggserialfn::regprocedure, a.aggdeserialfn::regprocedure,
                       a.aggmtransfn::regprocedure, a.aggminvtransfn::regprocedure, a.aggtranstype::regtype,
                       a.aggmtranstype::regtype, a.aggfinalextra)
        FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace = 'risk'::regnamespace) s $q$) $$;
CREATE FUNCTION versions() RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes(
    $q$SELECT extversion FROM pg_extension WHERE extname = 'risk'$q$) $$;

CREATE TEMP TABLE fresh AS SELECT digests() AS d;
SELECT ok((SELECT d[1] = d[2] AND d[2] = d[3] FROM fresh), 'a fresh 0.2.0 install: the same objects on every node');

SET client_min_messages = warning;
DROP EXTENSION risk CASCADE;
RESET client_min_messages;
CREATE EXTENSION risk VERSION '0.1.0';
SELECT is(versions(), '{0.1.0,0.1.0,0.1.0}', 'risk 0.1.0 on every node');
\set model :work '/orders_fraud.json'
SELECT is(risk.load_model('orders_fraud', :'model'), 1, 'a model imported on the coordinator under 0.1.0');

ALTER EXTENSION risk UPDATE;
SELECT is(versions(), '{0.2.0,0.2.0,0.2.0}', 'ALTER EXTENSION risk UPDATE on the coordinator: 0.2.0 on every node');
SELECT is(digests(), (SELECT d FROM fresh), '... each node''s objects = a fresh 0.2.0 install''s');
SELECT is((SELECT string_agg(name || '@' || version, ',') FROM risk.models), 'orders_fraud@1',
          '... the coordinator''s model kept');

SELECT is(risk.distribute_catalog(), 16, 'risk.distribute_catalog() copies the 16 tables to every node');
-- (each side scored by itself: Citus sends a joined local table's rows to the
-- workers with only the columns the join names)
CREATE TEMP TABLE dist_scores AS SELECT order_id, risk.score('orders_fraud', o) AS score FROM orders o;
CREATE TEMP TABLE local_scores AS SELECT order_id, risk.score('orders_fraud', o) AS score FROM orders_local o;
SELECT is((SELECT count(*) FROM dist_scores d FULL JOIN local_scores l USING (order_id)
            WHERE d.score IS DISTINCT FROM l.score OR d.score IS NULL), 0::bigint,
          'the model scores on the workers = on the local table (20,000 rows)');
SELECT is((SELECT array_agg(n ORDER BY k)
             FROM (SELECT order_id % 3 AS k, risk.count_distinct(amount::text) AS n FROM orders GROUP BY 1) d),
          (SELECT array_agg(n ORDER BY k)
             FROM (SELECT order_id % 3 AS k, count(DISTINCT amount::text) AS n FROM orders_local GROUP BY 1) l),
          'an aggregate the update declared (count_distinct(text)): count(DISTINCT) of the local table');
SELECT ok(plan_of($$SELECT order_id % 3, risk.count_distinct(amount::text) FROM orders GROUP BY 1$$)
          ~ 'worker_partial_agg', '... split across the workers');

SELECT * FROM finish();
