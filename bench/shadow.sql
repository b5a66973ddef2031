-- Shadow benchmark, set-up (run by bench/run after bench/insert.sql): the
-- marketplace model imported a second time (version 2, the same trees: the
-- challenger costs what any model of its size costs), aliases champion (1)
-- and challenger (2), and bench.trigger(kind) to put the scoring trigger in
-- one of three configurations: champion only; the challenger in shadow
-- (both scored, from one feature vector); and a 10% canary of buyers;
-- bench.batch(n) times one INSERT of n orders.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA bench;
SELECT risk.import_model('marketplace', model) FROM risk.model_registry WHERE name = 'marketplace' AND version = 1 \g /dev/null
SELECT risk.set_alias('marketplace', 'champion', 1) \g /dev/null
SELECT risk.set_alias('marketplace', 'challenger', 2) \g /dev/null
ALTER TABLE marketplace.orders ADD COLUMN model_version integer, ADD COLUMN challenger_score float8,
  ADD COLUMN in_canary boolean;
\ir reset.sql
CREATE FUNCTION bench.trigger(kind text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TRIGGER score ON marketplace.orders;
  EXECUTE format('CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
                    EXECUTE FUNCTION risk.score_trigger(%L, %L, %L, %L, %L, %L%s)',
                 'marketplace@champion', 'marketplace', 'score', 'decision', 'reasons',
                 'model_version=model_version',
                 CASE kind WHEN 'champion' THEN ''
                           WHEN 'shadow' THEN ', ''challenger=marketplace@challenger'', ''challenger_score=challenger_score'''
                           ELSE ', ''challenger=marketplace@challenger'', ''challenger_score=challenger_score'', '
                                || '''canary_unit=buyer_id'', ''canary_percent=10'', ''in_canary=in_canary''' END);
END $$;
-- one statement inserting n orders (no commit per order): milliseconds
CREATE FUNCTION bench.batch(n integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  INSERT INTO marketplace.orders
  SELECT i.*, NULL, NULL, NULL FROM marketplace.incoming i ORDER BY i.order_id LIMIT n;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
