-- Privileges: scoring, listing and describing need SELECT on the registry,
-- importing INSERT, dropping DELETE, loading server files also
-- pg_read_server_files; a model compiled in this session's cache is not a
-- way around any of them; a SECURITY DEFINER function can lend scoring.
\getenv fx RISK_FIXTURES
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(37);

SET client_min_messages = warning;
CREATE ROLE regress_risk_nobody;
CREATE ROLE regress_risk_analyst;
CREATE ROLE regress_risk_modeler;
CREATE ROLE regress_risk_loader IN ROLE pg_read_server_files;
RESET client_min_messages;
GRANT SELECT ON risk.model_registry TO regress_risk_analyst;
GRANT SELECT, INSERT, DELETE ON risk.model_registry TO regress_risk_modeler, regress_risk_loader;

SELECT is(risk.import_model('priv_m', bytes), 1, 'superuser imports priv_m')
  FROM fx.files WHERE file = 'orders.json';
-- compiled into this session's cache, by array and by row
SELECT is(risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[]) > 0, true, 'superuser scores');
SELECT is(risk.score_xgboost('priv_m', ARRAY[250, 3, 1, 0]::real[]) > 0, true, 'and through libxgboost');
SELECT is(count(*), 1::bigint, 'priv_m is cached') FROM risk.cached_models() WHERE name = 'priv_m';

-- no privilege at all: nothing, even with the model cached in this session
SET ROLE regress_risk_nobody;
SELECT throws_ok($$SELECT risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42501', 'permission denied for table model_registry', 'nobody: score (array)');
SELECT throws_ok($$SELECT risk.score('priv_m', o) FROM (SELECT 250 AS amount, 3 AS account_age_days,
                                                               1 AS is_new_device, 0 AS orders_1h) o$$,
                 '42501', 'permission denied for table model_registry', 'nobody: score (row)');
SELECT throws_ok($$SELECT risk.score_margin('priv_m', ARRAY[250, 3, 1, 0]::float8[])$$,
                 '42501', 'permission denied for table model_registry', 'nobody: score_margin');
SELECT throws_ok($$SELECT risk.score_classes('priv_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42501', 'permission denied for table model_registry', 'nobody: score_classes');
SELECT throws_ok($$SELECT risk.score_xgboost('priv_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42501', 'permission denied for table model_registry', 'nobody: score_xgboost');
SELECT throws_ok($$SELECT * FROM risk.models$$,
                 '42501', 'permission denied for table model_registry', 'nobody: list models (the view reads as its caller)');
SELECT throws_ok($$SELECT * FROM risk.describe_model('priv_m')$$,
                 '42501', 'permission denied for table model_registry', 'nobody: describe_model');
SELECT throws_ok($$SELECT * FROM risk.model_features('priv_m')$$,
                 '42501', 'permission denied for table model_registry', 'nobody: model_features');
-- refused before any byte is read: no libxgboost work for those who may not import
SELECT throws_ok($$SELECT risk.import_model('priv_x', '\x00'::bytea)$$,
                 '42501', 'permission denied for table model_registry', 'nobody: import_model');
SELECT throws_ok($$SELECT risk.drop_model('priv_m')$$,
                 '42501', 'permission denied for table model_registry', 'nobody: drop_model');
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'priv_x', :'fx' || '/orders.json'),
                 '42501', 'permission denied to load a model from a server file', 'nobody: load_model');
RESET ROLE;

-- an analyst scores, lists and describes, and changes nothing
SET ROLE regress_risk_analyst;
SELECT is(risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[]) > 0, true, 'analyst: score (array)');
SELECT is(count(*), 0::bigint, 'analyst: score (row) as expected on the 200 reference orders')
  FROM fx.orders o
 WHERE risk.score('priv_m', (SELECT r FROM (SELECT o.amount, o.account_age_days, o.is_new_device,
                                                   o.orders_1h) r)) IS DISTINCT FROM o.expected;
SELECT is(risk.score_xgboost('priv_m', ARRAY[250, 3, 1, 0]::real[]),
          risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[]), 'analyst: score_xgboost');
SELECT is(array_agg(version), ARRAY[1], 'analyst: list models') FROM risk.models WHERE name = 'priv_m';
SELECT is(num_features, 4, 'analyst: describe_model') FROM risk.describe_model('priv_m');
SELECT is(count(*), 4::bigint, 'analyst: model_features') FROM risk.model_features('priv_m');
SELECT throws_ok($$SELECT risk.import_model('priv_m', bytes) FROM fx.files WHERE file = 'orders_v2.json'$$,
                 '42501', 'permission denied for table model_registry', 'analyst: import_model');
SELECT throws_ok($$SELECT risk.drop_model('priv_m')$$,
                 '42501', 'permission denied for table model_registry', 'analyst: drop_model');
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'priv_m', :'fx' || '/orders_v2.json'),
                 '42501', 'permission denied to load a model from a server file', 'analyst: load_model');
SELECT throws_ok($$UPDATE risk.model_registry SET metadata = '{}' WHERE name = 'priv_m'$$,
                 '42501', 'permission denied for table model_registry', 'analyst: no UPDATE of the registry');
RESET ROLE;

-- a SECURITY DEFINER function owned by the analyst lends scoring to others
CREATE FUNCTION priv_score_order(amount real, age real, new_device real, orders_1h real)
  RETURNS double precision LANGUAGE sql STABLE SECURITY DEFINER
  AS $$ SELECT risk.score('priv_m', ARRAY[amount, age, new_device, orders_1h]) $$;
ALTER FUNCTION priv_score_order(real, real, real, real) OWNER TO regress_risk_analyst;
SELECT risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[]) AS s250 \gset
SET ROLE regress_risk_nobody;
SELECT is(priv_score_order(250, 3, 1, 0), :s250::float8, 'nobody: scores through a definer function');
SELECT throws_ok($$SELECT risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42501', 'permission denied for table model_registry', 'but still not directly');
RESET ROLE;

-- a modeler imports and drops; without pg_read_server_files, no server files
SET ROLE regress_risk_modeler;
SELECT is(risk.import_model('priv_m', bytes), 2, 'modeler: import_model')
  FROM fx.files WHERE file = 'orders_v2.json';
SELECT is(count(*), 0::bigint, 'modeler: the next statement scores with version 2')
  FROM fx.orders o
 WHERE risk.score('priv_m', ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h])
       IS DISTINCT FROM o.expected_v2;
SELECT is(created_by, 'regress_risk_modeler', 'created_by records who imported it')
  FROM risk.models WHERE name = 'priv_m' AND version = 2;
SELECT is(risk.drop_model('priv_m', 2), 1, 'modeler: drop_model');
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'priv_m', :'fx' || '/orders_v2.json'),
                 '42501', 'permission denied to load a model from a server file', 'modeler: load_model');
RESET ROLE;

-- a loader (pg_read_server_files) reads server files
SET ROLE regress_risk_loader;
SELECT is(risk.load_model('priv_m', :'fx' || '/orders_v2.json'), 2, 'loader: load_model');
SELECT is(format, 'json', 'loaded as JSON') FROM risk.models WHERE name = 'priv_m' AND version = 2;
RESET ROLE;

-- the analyst's session-level view follows the loader's change
SET ROLE regress_risk_analyst;
SELECT is(count(*), 0::bigint, 'analyst: now scores with version 2')
  FROM fx.orders o
 WHERE risk.score('priv_m', ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h])
       IS DISTINCT FROM o.expected_v2;
RESET ROLE;

-- revoking takes effect at once, cached or not
REVOKE SELECT ON risk.model_registry FROM regress_risk_analyst;
SET ROLE regress_risk_analyst;
SELECT throws_ok($$SELECT risk.score('priv_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42501', 'permission denied for table model_registry', 'analyst after REVOKE: score');
RESET ROLE;

SELECT is(risk.drop_model('priv_m'), 2, 'clean up');
DROP FUNCTION priv_score_order(real, real, real, real);
REVOKE ALL ON risk.model_registry FROM regress_risk_modeler, regress_risk_loader;
DROP ROLE regress_risk_nobody, regress_risk_analyst, regress_risk_modeler, regress_risk_loader;
SELECT * FROM finish();
