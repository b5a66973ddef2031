-- Insert-throughput benchmark, set-up (run by bench/run): the marketplace
-- of the demo with :history orders of history and their entities' states,
-- :incoming new orders staged, and two tables to insert them into: one
-- with the scoring trigger (marketplace.orders) and a plain copy
-- (marketplace.plain_orders).  Sequences hand out the staged orders.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
DROP SCHEMA IF EXISTS marketplace CASCADE;
CREATE SCHEMA marketplace;
CREATE TABLE marketplace.orders AS
SELECT *, NULL::float8 AS score, NULL::text AS decision, NULL::text[] AS reasons
  FROM risk.synthetic_orders(:history, 42);
\i models/marketplace_features.sql
SELECT risk.load_model('marketplace', :'model_path') IS NOT NULL AS loaded \gset
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('marketplace', 0.3, 0.8)
  ON CONFLICT (model) DO NOTHING;
INSERT INTO marketplace.entity_state (kind, entity, state)
SELECT kind, entity, state FROM marketplace.entity_state_rebuilt;
CREATE TABLE marketplace.plain_orders (LIKE marketplace.orders);
CREATE TABLE marketplace.incoming AS
SELECT * FROM risk.synthetic_orders(:incoming, 42, start_at => '2026-02-01 00:00:00+00', days => 3,
                                    buyers => :history / 6, first_order_id => 1);
CREATE UNIQUE INDEX ON marketplace.incoming (order_id);
CREATE SEQUENCE marketplace.next_scored;
CREATE SEQUENCE marketplace.next_plain;
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('marketplace', 'marketplace.features', 'score', 'decision', 'reasons');
VACUUM ANALYZE;
CREATE TABLE marketplace.bench_result (what text, clients int, tps float8);
