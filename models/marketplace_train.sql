-- Training data for the marketplace demo model (models/train_marketplace.py):
-- 1,000,000 synthetic orders (seed 42, January 2026), their features by the
-- batch path of models/marketplace_features.sql, written as CSV to :out
-- (order_id, day, is_fraud, pattern, then the 32 features), and the
-- features' names, one a line, to :out.names.
--   psql -v out=/tmp/marketplace_train.csv -f models/marketplace_train.sql
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
DROP SCHEMA IF EXISTS marketplace CASCADE;
CREATE SCHEMA marketplace;
CREATE TABLE marketplace.orders AS SELECT * FROM risk.synthetic_orders(1000000, 42);
\ir marketplace_features.sql
\set copy '\\copy (SELECT order_id, created_at::date, is_fraud, pattern, array_to_string(features, '','', '''') FROM marketplace.order_features ORDER BY order_id) TO ' :'out' ' CSV'
:copy
\set names :out '.names'
\set copy '\\copy (SELECT unnest(marketplace.feature_names())) TO ' :'names'
:copy
