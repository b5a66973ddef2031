-- On a Citus cluster: DROP EXTENSION risk leaves nothing of its tables on
-- any node, and a DROP that fails leaves everything as it was.  Runs last
-- (make test-citus): it drops the extension, and installs it again.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(7);

CREATE FUNCTION copies() RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(result ORDER BY nodeid) FROM run_command_on_all_nodes($q$
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'risk' AND c.relkind = 'r' AND c.relname ~ '_[0-9]+$' $q$) $$;

SELECT risk.distribute_catalog() \g /dev/null
SELECT is(copies(), '{16,16,16}', 'every node holds a copy of each of the 16 tables');

-- a view of the user's on the registry: DROP EXTENSION without CASCADE fails
CREATE VIEW my_models AS SELECT name, version FROM risk.models;
SELECT throws_ok('DROP EXTENSION risk', '2BP01', NULL, 'DROP EXTENSION with a view of the user''s on it: refused');
SELECT is(copies(), '{16,16,16}', '... and every copy is still there');
SELECT is((SELECT count(*) FROM pg_dist_shard s JOIN pg_class c ON c.oid = s.logicalrelid
            WHERE c.relnamespace = 'risk'::regnamespace), 16::bigint, '... and Citus still knows them');
SELECT is((SELECT count(*) FROM my_models WHERE name = 'orders_fraud'), 1::bigint,
          '... and the models are still readable');

SET client_min_messages = warning;
DROP EXTENSION risk CASCADE;
RESET client_min_messages;
SELECT is(copies(), '{0,0,0}', 'DROP EXTENSION risk CASCADE: no copy of its tables left on any node');
SELECT is((SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
            WHERE c.relname IN ('model_registry', 'decision_thresholds', 'rule_sets')), 0::bigint,
          '... nor in Citus''s metadata');

CREATE EXTENSION risk;
SELECT * FROM finish();
