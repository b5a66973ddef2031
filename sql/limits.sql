-- Long work can be cancelled: a statement_timeout (or pg_cancel_backend)
-- stops it within moments, wherever it is (reading a model's JSON, checking
-- its feature names, compiling its trees, explaining a deep tree, the
-- scoring trigger's reasons), and the session carries on.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(6);

-- one tree, a chain of 2,000 splits on 2,000 features: an explanation is
-- 2,000 leaves times 2,000^2 steps, about ten seconds
\set f :fx '/chain_2000.json'
SELECT is(risk.import_model('limits_chain', pg_read_binary_file(:'f')), 1, 'a chain of 2,000 splits imports');
SET statement_timeout = '1s';
SELECT is(fx.cancelled($$SELECT risk.score_contributions('limits_chain', array_fill(1, ARRAY[2000])::real[])$$),
          'cancelled', 'explaining the chain stops at a statement_timeout of 1 s');
RESET statement_timeout;

CREATE TABLE limits_orders (id int, score float8, decision text, reasons text[]);
CREATE FUNCTION limits_features(o limits_orders) RETURNS real[] LANGUAGE sql
  RETURN array_fill(1, ARRAY[2000])::real[];
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('limits_chain', 0, 1);
CREATE TRIGGER score BEFORE INSERT ON limits_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('limits_chain', 'limits_features', 'score', 'decision', 'reasons');
SET statement_timeout = '1s';
SELECT is(fx.cancelled($$INSERT INTO limits_orders (id) VALUES (1)$$), 'cancelled',
          'the scoring trigger''s reasons on the chain stop at a statement_timeout of 1 s');
RESET statement_timeout;
SELECT is((SELECT count(*) FROM limits_orders), 0::bigint, 'the cancelled insert stored nothing');

-- 100,000 feature names, the last repeating the first: found in moments
\set f :fx '/names_100000.json'
SET statement_timeout = '10s';
SELECT throws_ok(format('SELECT risk.import_model(%L, %L::bytea)', 'limits_names', pg_read_binary_file(:'f')),
                 '22023', 'the model''s feature names repeat "feature_0"',
                 '100,000 feature names checked for repeats, well within a statement_timeout of 10 s');
RESET statement_timeout;
SELECT is((SELECT count(*) FROM risk.models WHERE name LIKE 'limits%'), 1::bigint, 'only the chain was stored');

DROP FUNCTION limits_features(limits_orders);
DROP TABLE limits_orders;
DELETE FROM risk.decision_thresholds WHERE model = 'limits_chain';
SELECT risk.drop_model('limits_chain') AS dropped \gset
SELECT * FROM finish();
