-- Soak test, set-up (run by bench/soak): the demo's marketplace with the
-- model :model loaded from :model_path, :incoming orders staged for
-- pgbench, and the trigger keeping the features it served per order
-- (marketplace.orders.served), so that every stored score can be checked against the versions that may
-- have made it.  Two further model names hold the two variants the soak
-- re-imports: soak_a (the shipped model) and soak_b (its base_score moved:
-- every score differs).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS risk;
\i models/marketplace_setup.sql
CREATE SCHEMA soak;
CREATE TABLE soak.model_bytes (variant text PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO soak.model_bytes
SELECT 'a', pg_read_binary_file(:'model_path')
UNION ALL
SELECT 'b', convert_to(replace(convert_from(pg_read_binary_file(:'model_path'), 'UTF8'),
                               '"base_score":"5E-1"', '"base_score":"4E-1"'), 'UTF8')
UNION ALL
SELECT 'c', convert_to(replace(convert_from(pg_read_binary_file(:'model_path'), 'UTF8'),
                               '"base_score":"5E-1"', '"base_score":"3E-1"'), 'UTF8');
SELECT risk.import_model('soak_' || variant, bytes) FROM soak.model_bytes \g /dev/null
ALTER TABLE marketplace.orders ADD COLUMN served float8[];
DROP TRIGGER score ON marketplace.orders;
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger(:'model', 'marketplace', 'score', 'decision', 'reasons', 'features=served');
CREATE TABLE marketplace.incoming AS
SELECT * FROM risk.synthetic_orders(:incoming, 42, days => 30);
CREATE UNIQUE INDEX ON marketplace.incoming (order_id);
CREATE SEQUENCE marketplace.next_order;
CREATE TABLE soak.imports (at timestamptz DEFAULT clock_timestamp(), variant text, committed boolean);
CREATE TABLE soak.rss (at timestamptz, backends int, max_kb bigint, sum_kb bigint);
VACUUM ANALYZE;
