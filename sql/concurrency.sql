-- Concurrent inserts through risk.score_trigger: four pgbench clients insert
-- 8,000 orders of a marketplace, one per transaction, interleaved.  No row
-- is lost, every row is scored, and every entity's online velocity state
-- equals the state rebuilt from the stored orders (risk.feature_state_agg).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(4);

-- the marketplace of the demo, its model, thresholds and trigger
\set model concurrency_m
\set model_path :fx '/marketplace.json'
\set ECHO none
\i models/marketplace_setup.sql
\set ECHO all
CREATE TABLE marketplace.incoming AS SELECT * FROM risk.synthetic_orders(8000, 11);
CREATE UNIQUE INDEX ON marketplace.incoming (order_id);
CREATE SEQUENCE marketplace.next_order;

-- each pgbench transaction inserts the next order
\set script :fx '/concurrency.pgbench'
\set out :fx '/concurrency.log'
\setenv RISK_PGBENCH_SCRIPT :script
\setenv RISK_PGBENCH_OUT :out
\setenv RISK_PGBENCH_DB :DBNAME
\! echo "WITH n AS (SELECT nextval('marketplace.next_order') AS id) INSERT INTO marketplace.orders SELECT i.*, NULL, NULL, NULL FROM marketplace.incoming i, n WHERE i.order_id = n.id;" > "$RISK_PGBENCH_SCRIPT"
\! "$(pg_config --bindir)/pgbench" -n -c 4 -j 2 -t 2000 -f "$RISK_PGBENCH_SCRIPT" "$RISK_PGBENCH_DB" > "$RISK_PGBENCH_OUT" 2>&1

SELECT is((SELECT count(*) FROM marketplace.orders), 8000::bigint, 'four clients, 8,000 inserts: 8,000 rows, none lost');
SELECT is((SELECT count(*) FROM marketplace.orders WHERE score IS NULL OR decision IS NULL), 0::bigint,
          'every row scored and decided');
CREATE TABLE marketplace.recount AS SELECT * FROM marketplace.entity_state_rebuilt;
SELECT is((SELECT count(*) FROM marketplace.recount), (SELECT count(*) FROM marketplace.entity_state),
          'one online state per entity, as many as the recount');
SELECT is((SELECT count(*) FROM marketplace.recount r JOIN marketplace.entity_state s USING (kind, entity)
            WHERE r.state::text = s.state::text), (SELECT count(*) FROM marketplace.recount),
          'every online state = the state rebuilt from the stored orders');

DROP SCHEMA marketplace CASCADE;
DELETE FROM risk.decision_thresholds WHERE model = 'concurrency_m';
SELECT risk.drop_model('concurrency_m') AS dropped \gset
