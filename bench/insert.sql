-- Insert-throughput benchmark, set-up (run by bench/run): the marketplace
-- of the demo with :history orders of history and their entities' states,
-- :incoming new orders staged, and three tables to insert them into: one
-- with the scoring trigger (marketplace.orders), a plain copy
-- (marketplace.plain_orders), and a copy that tells the trigger's own cost
-- from the velocity states' (marketplace.model_only_orders).  Sequences
-- hand out the staged orders.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
\set model marketplace
\i models/marketplace_setup.sql
ALTER TABLE marketplace.orders DISABLE TRIGGER score;
INSERT INTO marketplace.orders SELECT *, NULL, NULL, NULL FROM risk.synthetic_orders(:history, 42);
ALTER TABLE marketplace.orders ENABLE TRIGGER score;
SELECT clock_timestamp() AS t0 \gset
SELECT risk.rebuild_feature_states('marketplace') AS states \gset
SELECT :history AS history_orders, :states AS entity_states,
       round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1) AS rebuild_s;
CREATE TABLE marketplace.plain_orders (LIKE marketplace.orders INCLUDING INDEXES);
-- and a copy with the same trigger and model whose features come from the
-- order's own columns only (the feature set's row features, its velocity
-- features NULL), no velocity state, and without reasons (their
-- velocity features missing, many more orders would be held and
-- explained): what the trigger and the model cost on their own
CREATE TABLE marketplace.model_only_orders (LIKE marketplace.orders INCLUDING INDEXES);
CREATE FUNCTION marketplace.order_columns_features(o marketplace.model_only_orders) RETURNS float8[]
  LANGUAGE plpgsql AS $$
BEGIN
    RETURN risk.feature_set_row('marketplace', ROW(o.*)::marketplace.orders) || array_fill(NULL::float8, ARRAY[24]);
END $$;
CREATE TRIGGER score BEFORE INSERT ON marketplace.model_only_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger(:'model', 'marketplace.order_columns_features', 'score', 'decision');
CREATE TABLE marketplace.incoming AS
SELECT * FROM risk.synthetic_orders(:incoming, 42, start_at => '2026-02-01 00:00:00+00', days => 3,
                                    buyers => :history / 6, first_order_id => :history + 1);
CREATE UNIQUE INDEX ON marketplace.incoming (order_id);
SELECT :history + 1 AS first_id \gset
CREATE SEQUENCE marketplace.next_scored START :first_id;
CREATE SEQUENCE marketplace.next_plain START :first_id;
CREATE SEQUENCE marketplace.next_model_only START :first_id;
VACUUM ANALYZE;
CREATE TABLE marketplace.bench_result (what text, clients int, tps float8);
