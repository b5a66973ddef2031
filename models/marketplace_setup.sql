-- The demo marketplace, empty and ready: schema marketplace, its orders
-- table (the columns of risk.synthetic_orders, then score, decision and
-- reasons; keyed by order_id), the feature set of marketplace_features.sql,
-- the model file :model_path loaded as :model (checked against the set's
-- features) with thresholds (review 0.3, block 0.8, three reasons), and the
-- scoring trigger on the orders, which serves the feature set.  Used
-- by make demo, the tests and the insert benchmark:
--   psql -v model=marketplace -v model_path=/path/marketplace.json -f models/marketplace_setup.sql
CREATE SCHEMA marketplace;
CREATE TABLE marketplace.orders AS
SELECT *, NULL::float8 AS score, NULL::text AS decision, NULL::text[] AS reasons
  FROM risk.synthetic_orders(0);
ALTER TABLE marketplace.orders ADD PRIMARY KEY (order_id);
\ir marketplace_features.sql
SELECT risk.load_model(:'model', :'model_path') IS NOT NULL AS loaded \gset
SELECT risk.check_feature_set('marketplace', :'model') AS checked \gset
INSERT INTO risk.decision_thresholds (model, review, block, reasons) VALUES (:'model', 0.3, 0.8, 3);
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger(:'model', 'marketplace', 'score', 'decision', 'reasons');
