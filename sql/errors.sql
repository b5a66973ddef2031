-- Errors: every user error of the risk API with its SQLSTATE and message
-- (scoring, named binding, import, model names, feature names, metadata,
-- drop, server files, the internal trigger function, unsupported models),
-- that failed imports leave the registry untouched, and a robustness sweep
-- of truncated and corrupted model files.  Uses the models parity loaded.
\getenv fx RISK_FIXTURES
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(103);

-- a named-feature model for the row tests
SELECT is(risk.import_model('errors_orders', bytes), 1, 'errors_orders imported')
  FROM fx.files WHERE file = 'orders.json';

------------------------------------------------------------------------------
-- Scoring
------------------------------------------------------------------------------

SELECT throws_ok($$SELECT risk.score('errors_nope', array_fill(0::real, ARRAY[20]))$$,
                 '42704', 'model "errors_nope" does not exist',
                 'score: unknown model');
SELECT throws_ok($$SELECT risk.score_classes('errors_nope', array_fill(0::float8, ARRAY[20]))$$,
                 '42704', 'model "errors_nope" does not exist',
                 'score_classes: unknown model');
SELECT throws_ok($$SELECT risk.score('', array_fill(0::real, ARRAY[20]))$$,
                 '42602', 'invalid model name ""',
                 'score: empty model name');

-- shape of the feature array
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::real, ARRAY[19]))$$,
                 '22023', 'model "bin_d3_json" expects 20 features, got 19',
                 'real[]: too few features');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::float8, ARRAY[21]))$$,
                 '22023', 'model "bin_d3_json" expects 20 features, got 21',
                 'float8[]: too many features');
SELECT throws_ok($$SELECT risk.score_margin('bin_d3_json', '{}'::real[])$$,
                 '22023', 'model "bin_d3_json" expects 20 features, got 0',
                 'empty array');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::real, ARRAY[4, 5]))$$,
                 '2202E', 'features must be a one-dimensional array',
                 'real[]: 2-D array of 20 elements');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::float8, ARRAY[2, 10]))$$,
                 '2202E', 'features must be a one-dimensional array',
                 'float8[]: 2-D array of 20 elements');

-- infinite and out-of-range values
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::real, ARRAY[19]) || 'Infinity'::real)$$,
                 '22003', 'feature 20 ("x19") of model "bin_d3_json" is infinite or out of float4 range',
                 'real[]: +Infinity');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', '-Infinity'::real || array_fill(0::real, ARRAY[19]))$$,
                 '22003', 'feature 1 ("x00") of model "bin_d3_json" is infinite or out of float4 range',
                 'real[]: -Infinity');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::float8, ARRAY[19]) || 'Infinity'::float8)$$,
                 '22003', 'feature 20 ("x19") of model "bin_d3_json" is infinite or out of float4 range',
                 'float8[]: +Infinity');
SELECT throws_ok($$SELECT risk.score_margin('bin_d3_json', '-Infinity'::float8 || array_fill(0::float8, ARRAY[19]))$$,
                 '22003', 'feature 1 ("x00") of model "bin_d3_json" is infinite or out of float4 range',
                 'float8[]: -Infinity');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::float8, ARRAY[4]) || 1e39::float8 || array_fill(0::float8, ARRAY[15]))$$,
                 '22003', 'feature 5 ("x04") of model "bin_d3_json" is infinite or out of float4 range',
                 'float8[]: 1e39 is too large for real');
SELECT throws_ok($$SELECT risk.score('bin_d3_json', array_fill(0::float8, ARRAY[4]) || -1e300::float8 || array_fill(0::float8, ARRAY[15]))$$,
                 '22003', 'feature 5 ("x04") of model "bin_d3_json" is infinite or out of float4 range',
                 'float8[]: -1e300 is too large for real');
SELECT throws_ok($$SELECT risk.score('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device, 'Infinity'::float8 AS orders_1h
                             FROM fx.orders WHERE id = 1) o$$,
                 '22003', 'feature 4 ("orders_1h") of model "errors_orders" is infinite or out of float4 range',
                 'record: float8 +Infinity column');
SELECT throws_ok($$SELECT risk.score('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device, 1e39::numeric AS orders_1h
                             FROM fx.orders WHERE id = 1) o$$,
                 '22003', 'feature 4 ("orders_1h") of model "errors_orders" is infinite or out of float4 range',
                 'record: numeric 1e39 column is too large for real');

-- STRICT: a NULL argument gives NULL
SELECT is(risk.score('bin_d3_json', NULL::real[]), NULL, 'real[]: NULL array scores NULL');
SELECT is(risk.score('bin_d3_json', NULL::float8[]), NULL, 'float8[]: NULL array scores NULL');
SELECT is(risk.score(NULL, array_fill(0::real, ARRAY[20])), NULL, 'NULL model name scores NULL');
SELECT is(risk.score('errors_orders', NULL::record), NULL, 'record: NULL row scores NULL');

-- NULL and NaN elements are both missing values: same scores, every row
CREATE TEMP TABLE missing_forms AS
SELECT f.id,
       array_replace(f.x, NULL, 'NaN'::real) AS as_nan,
       ARRAY(SELECT nullif(v, 'NaN'::real) FROM unnest(f.x) WITH ORDINALITY u(v, i) ORDER BY i) AS as_null
  FROM fx.features f
 WHERE array_position(f.x, NULL) IS NOT NULL OR 'NaN'::real = ANY (f.x);
SELECT ok(count(*) > 5000 AND bool_and(array_position(as_null, NULL) IS NOT NULL)
          AND bool_and(array_position(as_nan, NULL) IS NULL),
          'rows with missing values, as NULL and as NaN')
  FROM missing_forms;
SELECT is(count(*) FILTER (WHERE risk.score('bin_d6_json', as_null) IS DISTINCT FROM risk.score('bin_d6_json', as_nan)),
          0::bigint, 'real[]: a NULL element scores like NaN')
  FROM missing_forms;
SELECT is(count(*) FILTER (WHERE risk.score('bin_d6_json', as_null::float8[]) IS DISTINCT FROM risk.score('bin_d6_json', as_nan::float8[])),
          0::bigint, 'float8[]: a NULL element scores like NaN')
  FROM missing_forms;
SELECT ok(count(*) FILTER (WHERE risk.score('bin_d6_json', as_nan) IS DISTINCT FROM
                                 risk.score('bin_d6_json', array_replace(as_nan, 'NaN'::real, 0::real))) > 0,
          'missing is not the same as 0 (the comparison above can fail)')
  FROM missing_forms;
SELECT is(risk.score('errors_orders', a), risk.score('errors_orders', b),
          'record: a NULL column scores like NaN')
  FROM (SELECT amount, NULL::real AS account_age_days, is_new_device, orders_1h FROM fx.orders WHERE id = 3) a,
       (SELECT amount, 'NaN'::float8 AS account_age_days, is_new_device, orders_1h FROM fx.orders WHERE id = 3) b;

-- binding a row's columns by name
SELECT throws_ok($$SELECT risk.score('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device FROM fx.orders WHERE id = 1) o$$,
                 '42703', 'row has no column "orders_1h", a feature of model "errors_orders"',
                 'record: missing column');
SELECT throws_ok($$SELECT risk.score('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device, orders_1h, 0 AS orders_1h
                             FROM fx.orders WHERE id = 1) o$$,
                 '42702', 'row has more than one column "orders_1h", a feature of model "errors_orders"',
                 'record: two columns of a feature''s name: 42702 (was scored with the first)');
SELECT throws_ok($$SELECT risk.score('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device, orders_1h::text AS orders_1h
                             FROM fx.orders WHERE id = 1) o$$,
                 '42804', 'column "orders_1h" has type text, which model "errors_orders" cannot use as a feature',
                 'record: text column');

-- the right function for the model's output
SELECT throws_ok($$SELECT risk.score('softprob4_json', array_fill(0::real, ARRAY[20]))$$,
                 '42809', 'model "softprob4_json" (multi:softprob) predicts one value per class',
                 'score: multi-class model');
SELECT throws_ok($$SELECT risk.score_classes('bin_d3_json', array_fill(0::real, ARRAY[20]))$$,
                 '42809', 'model "bin_d3_json" (binary:logistic) is not multi-class',
                 'score_classes: binary model');
SELECT throws_ok($$SELECT risk.score_classes('errors_orders', o)
                     FROM (SELECT amount, account_age_days, is_new_device, orders_1h FROM fx.orders WHERE id = 1) o$$,
                 '42809', 'model "errors_orders" (binary:logistic) is not multi-class',
                 'score_classes: binary model, record');
SELECT throws_ok($$SELECT risk.score_margin('softprob4_json', array_fill(0::float8, ARRAY[20]))$$,
                 '42809', 'model "softprob4_json" (multi:softprob) predicts one value per class',
                 'score_margin: multi:softprob');
SELECT throws_ok($$SELECT risk.score_margin('softmax3_json', array_fill(0::real, ARRAY[20]))$$,
                 '42809', 'model "softmax3_json" (multi:softmax) predicts one value per class',
                 'score_margin: multi:softmax');
SELECT throws_ok($$SELECT risk.score_xgboost('softprob4_json', array_fill(0::real, ARRAY[20]))$$,
                 '42809', 'model "softprob4_json" (multi:softprob) predicts one value per class',
                 'score_xgboost: multi-class model');
-- (the message of this one, "predicts one value per class", is odd for a
-- function that returns one value per class: only the SQLSTATE is checked)
SELECT throws_ok($$SELECT risk.score_xgboost_classes('softmax3_json', array_fill(0::real, ARRAY[20]))$$,
                 '42809', NULL,
                 'score_xgboost_classes: multi:softmax (libxgboost predicts the class only)');

------------------------------------------------------------------------------
-- Import: none of these may change the registry
------------------------------------------------------------------------------

SELECT count(*) AS registry_rows,
       md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', name, version, format, md5(model),
                             feature_names, metadata, created_at), E'\n' ORDER BY name, version)) AS registry_md5
  FROM risk.model_registry \gset before_

-- bytes that are no model
SELECT throws_ok($$SELECT risk.import_model('errors_bad', '\xdeadbeef'::bytea)$$,
                 '22023', 'could not read XGBoost model', 'garbage bytes');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', ''::bytea)$$,
                 '22023', 'could not read XGBoost model', 'empty bytea');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', convert_to('{"learner": {}}', 'UTF8'))$$,
                 '22023', 'could not read XGBoost model', 'JSON that is no model');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', substring(bytes FROM 1 FOR octet_length(bytes) / 2))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '22023', 'could not read XGBoost model', 'truncated JSON');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', substring(bytes FROM 1 FOR octet_length(bytes) / 2))
                     FROM fx.files WHERE file = 'bin_d3.ubj'$$,
                 '22023', 'could not read XGBoost model', 'truncated UBJSON');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', substring(bytes FROM 1 FOR octet_length(bytes) / 2))
                     FROM fx.files WHERE file = 'bin_d3.bin'$$,
                 '22023', 'could not read XGBoost model', 'truncated old binary');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', NULL::bytea)$$,
                 '22004', 'model bytes must not be NULL', 'NULL bytes');

-- model names
SELECT throws_ok(format('SELECT risk.import_model(%L, bytes) FROM fx.files WHERE file = %L', n, 'orders.json'),
                 '42602', format('invalid model name "%s"', n), d)
  FROM (VALUES ('', 'empty name'),
               (repeat('m', 64), 'name of 64 bytes'),
               (repeat('é', 32), 'name of 32 characters but 64 bytes'),
               ('errors@1', 'name with "@"'),
               (' errors', 'name with a leading space'),
               ('errors ', 'name with a trailing space'),
               (E'errors\tname', 'name with a control character')) AS t(n, d);
SELECT throws_ok($$SELECT risk.import_model(NULL, bytes) FROM fx.files WHERE file = 'orders.json'$$,
                 '22004', 'model name must not be NULL', 'NULL name');

-- feature names
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, ARRAY['amount', 'account_age_days', 'is_new_device'])
                     FROM fx.files WHERE file = 'orders.json'$$,
                 '22023', 'feature_names has 3 names but the model has 4 features',
                 'feature_names: wrong length');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, ARRAY['amount', NULL, 'is_new_device', 'orders_1h'])
                     FROM fx.files WHERE file = 'orders.bin'$$,
                 '22004', 'feature name 2 is NULL or empty',
                 'feature_names: NULL element');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, ARRAY['amount', 'amount', 'is_new_device', 'orders_1h'])
                     FROM fx.files WHERE file = 'orders.bin'$$,
                 '22023', 'the given feature names repeat "amount"',
                 'feature_names: duplicated name');
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                            convert_to(replace(convert_from(bytes, 'UTF8'), '"account_age_days"', '""'), 'UTF8'))
                     FROM fx.files WHERE file = 'orders.json'$$,
                 '22023', 'malformed XGBoost model', 'a model whose own feature name 2 is empty: 22023 (was accepted)');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, ARRAY['amount', 'age', 'is_new_device', 'orders_1h'])
                     FROM fx.files WHERE file = 'orders.json'$$,
                 '22023', 'feature_names do not match the names stored in the model',
                 'feature_names: different from the model''s own names');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, ARRAY[['amount', 'account_age_days'], ['is_new_device', 'orders_1h']])
                     FROM fx.files WHERE file = 'orders.bin'$$,
                 '2202E', 'feature_names must be a one-dimensional array',
                 'feature_names: 2-D array');
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(replace(convert_from(bytes, 'UTF8'), '"x01"', '"x00"'), 'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '22023', 'the model''s feature names repeat "x00"',
                 'a model whose own feature names repeat');

-- metadata
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, NULL, '[1, 2]') FROM fx.files WHERE file = 'orders.json'$$,
                 '22023', 'metadata must be a JSON object', 'metadata: JSON array');
SELECT throws_ok($$SELECT risk.import_model('errors_bad', bytes, NULL, '"text"') FROM fx.files WHERE file = 'orders.json'$$,
                 '22023', 'metadata must be a JSON object', 'metadata: JSON scalar');

-- feature importance of an unknown model
SELECT throws_ok($$SELECT * FROM risk.feature_importance('errors_no_such_model')$$, '42704', NULL,
                 'feature importance of an unknown model: 42704');

-- models we cannot score, made by editing bin_d3.json
-- an objective libxgboost 1.7.4 itself does not know: it refuses the model
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(replace(convert_from(bytes, 'UTF8'), '"name":"binary:logistic"',
                                             '"name":"reg:quantileerror"'), 'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '22023', 'could not read XGBoost model',
                 'objective unknown to libxgboost (reg:quantileerror)');
-- a booster we do not evaluate
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(jsonb_set(convert_from(bytes, 'UTF8')::jsonb, '{learner,gradient_booster}',
                                               jsonb_build_object('name', 'gblinear', 'model',
                                                 jsonb_build_object('weights', (SELECT jsonb_agg(0.25) FROM generate_series(1, 21)))))::text,
                                     'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '0A000', 'XGBoost booster "gblinear" is not supported',
                 'booster not supported (gblinear)');
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(replace(convert_from(bytes, 'UTF8'), '"num_target":"1"', '"num_target":"2"'), 'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '0A000', 'XGBoost models with 2 targets are not supported',
                 'multi-target model');
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(replace(convert_from(bytes, 'UTF8'),
                                             '"num_trees":"20","size_leaf_vector":"0"',
                                             '"num_trees":"20","size_leaf_vector":"2"'), 'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '0A000', 'XGBoost trees with vector leaves (size_leaf_vector 2) are not supported',
                 'vector leaves');
-- a parent link that disagrees with the children: libxgboost 1.7.4 itself
-- crashes predicting with such a tree, so it must never be stored
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(regexp_replace(convert_from(bytes, 'UTF8'),
                                                    '"parents":\[2147483647,0,0,1,1,',
                                                    '"parents":[2147483647,0,0,1,5,'), 'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '22023', 'malformed XGBoost model',
                 'a tree whose parent links disagree with its children');
-- a multi:softprob objective on a model whose learner has num_class 0:
-- libxgboost reads it but cannot write it back; a bad model is a 22023
SELECT throws_ok($$SELECT risk.import_model('errors_bad',
                          convert_to(replace(convert_from(bytes, 'UTF8'),
                                             '"objective":{"name":"binary:logistic","reg_loss_param":{"scale_pos_weight":"1"}}',
                                             '"objective":{"name":"multi:softprob","softmax_multiclass_param":{"num_class":"3"}}'),
                                     'UTF8'))
                     FROM fx.files WHERE file = 'bin_d3.json'$$,
                 '22023', NULL,
                 'inconsistent multi-class model: invalid parameter value, not an external routine exception');

-- server files
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'errors_bad', :'fx' || '/no_such_model.json'),
                 '58P01', format('could not open model file "%s": No such file or directory', :'fx' || '/no_such_model.json'),
                 'load_model: missing file');
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'errors_bad', :'fx'),
                 '42809', format('model file "%s" is a directory', :'fx'),
                 'load_model: a directory');
SELECT throws_ok($$SELECT risk.load_model('errors_bad', NULL)$$,
                 '22004', 'model file path must not be NULL',
                 'load_model: NULL path');
SELECT throws_ok(format('SELECT risk.load_model(%L, %L)', 'errors@bad', :'fx' || '/orders.json'),
                 '42602', 'invalid model name "errors@bad"',
                 'load_model: invalid name');

SELECT count(*) AS registry_rows,
       md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', name, version, format, md5(model),
                             feature_names, metadata, created_at), E'\n' ORDER BY name, version)) AS registry_md5
  FROM risk.model_registry \gset after_
SELECT is(:after_registry_rows, :before_registry_rows, 'failed imports: registry row count unchanged');
SELECT is(:'after_registry_md5'::text, :'before_registry_md5'::text, 'failed imports: registry contents unchanged');
SELECT is(count(*), 0::bigint, 'no errors_bad model') FROM risk.models WHERE name LIKE 'errors\_bad%';

-- the longest name is 63 bytes
SELECT is(risk.import_model(repeat('é', 31) || 'x', bytes), 1, 'a name of 63 bytes is accepted')
  FROM fx.files WHERE file = 'orders.json';
SELECT is(risk.drop_model(repeat('é', 31) || 'x'), 1, 'and dropped');

------------------------------------------------------------------------------
-- Drop and the internal trigger function
------------------------------------------------------------------------------

SELECT throws_ok($$SELECT risk.drop_model('errors_nope')$$,
                 '42704', 'model "errors_nope" does not exist', 'drop_model: unknown model');
SELECT throws_ok($$SELECT risk.drop_model('errors_orders', 99)$$,
                 '42704', 'model "errors_orders" has no version 99', 'drop_model: unknown version');
SELECT throws_ok($$SELECT risk.drop_model('errors_orders', 0)$$,
                 '42704', 'model "errors_orders" has no version 0',
                 'drop_model: version 0 of a model that exists');
SELECT throws_ok($$SELECT risk.drop_model(NULL, 1)$$,
                 '22004', 'model name must not be NULL', 'drop_model: NULL name');
SELECT throws_ok($$SELECT risk.drop_model('errors orders@1')$$,
                 '42602', 'invalid model name "errors orders@1"', 'drop_model: invalid name');
SELECT throws_ok($$SELECT risk._registry_changed()$$,
                 '39P01', 'risk._registry_changed() must be called as a trigger',
                 '_registry_changed() called directly');
SELECT is(count(*), 1::bigint, 'errors_orders is still there') FROM risk.models WHERE name = 'errors_orders';

------------------------------------------------------------------------------
-- Robustness: every 97th prefix of bin_d3 as JSON, UBJSON and old binary,
-- and 40 single-byte corruptions of each; the backend must survive,
-- truncated files must be refused, every failure must be a clean 22023 or
-- 0A000, and every corrupted model accepted must score as libxgboost does.
-- (libxgboost 1.7.4 reads past the end of truncated UBJSON and crashes on
-- some damaged files: import_model reads them in a child process.)
------------------------------------------------------------------------------

SELECT pg_backend_pid() AS pid \gset sweep_
CREATE TEMP TABLE sweep (file text, size int, kind text, len int, pos int, outcome text);
DO $$
DECLARE
  f record;
  n int;
  b bytea;
  k int;
  v int;
  st text;
BEGIN
  FOR f IN SELECT file, bytes FROM fx.files WHERE file IN ('bin_d3.json', 'bin_d3.ubj', 'bin_d3.bin') ORDER BY file LOOP
    n := octet_length(f.bytes);
    FOR k IN SELECT generate_series(0, n, 97) UNION SELECT n - 1 UNION SELECT n LOOP
      BEGIN
        v := risk.import_model('errors_sweep', substring(f.bytes FROM 1 FOR k));
        st := 'ok';
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      END;
      INSERT INTO sweep VALUES (f.file, n, 'prefix', k, NULL, st);
    END LOOP;
    FOR i IN 1..40 LOOP
      k := (i * 7919) % n;
      BEGIN
        v := risk.import_model('errors_flip', set_byte(f.bytes, k, get_byte(f.bytes, k) # 255));
        st := 'ok';
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      END;
      INSERT INTO sweep VALUES (f.file, n, 'flip', n, k, st);
    END LOOP;
  END LOOP;
END $$;
SELECT is(pg_backend_pid(), :sweep_pid, 'the backend survived the sweep');
SELECT is(count(*) FILTER (WHERE kind = 'flip'), 120::bigint, 'all 120 corruptions were tried')
  FROM sweep;
SELECT ok(count(*) FILTER (WHERE kind = 'prefix') > 650, 'over 650 prefixes were tried')
  FROM sweep;
SELECT is(array_agg(file || ':' || len ORDER BY file, len), NULL,
          'no truncated file was imported')
  FROM sweep WHERE kind = 'prefix' AND outcome = 'ok' AND len < size;
SELECT is(array_agg(file ORDER BY file), ARRAY['bin_d3.bin', 'bin_d3.json', 'bin_d3.ubj'],
          'the whole files were imported')
  FROM sweep WHERE kind = 'prefix' AND outcome = 'ok' AND len = size;
SELECT is(array_agg(DISTINCT outcome), NULL,
          'every failed import was a clean 22023 or 0A000')
  FROM sweep WHERE outcome NOT IN ('ok', '22023', '0A000');
SELECT ok(count(*) FILTER (WHERE outcome <> 'ok') >= 30, 'most corruptions of the JSON are refused')
  FROM sweep WHERE kind = 'flip' AND file = 'bin_d3.json';
SELECT is(risk.drop_model('errors_sweep'), 3, 'errors_sweep: just the three whole files');
-- whatever corrupted model was accepted scores like libxgboost scores it
-- (each one imported under its own name first, then all scored)
SELECT is(sum(risk.import_model('errors_flip_' || version, model)), count(*)::bigint,
          'accepted corruptions imported one by one')
  FROM risk.model_registry WHERE name = 'errors_flip';
SELECT is(array_agg(DISTINCT m.name), NULL,
          'accepted corruptions: risk.score = risk.score_xgboost on 2,000 rows')
  FROM risk.models m CROSS JOIN fx.features f
 WHERE m.name LIKE 'errors\_flip\_%' AND f.id < 2000
   AND risk.score(m.name, f.x) IS DISTINCT FROM risk.score_xgboost(m.name, f.x);
SELECT is(sum(risk.drop_model(name)), count(*)::bigint, 'and dropped')
  FROM (SELECT DISTINCT name FROM risk.models WHERE name LIKE 'errors\_flip\_%') s;
SELECT is(risk.drop_model('errors_flip'), count(*)::int, 'errors_flip: one version per accepted corruption')
  FROM sweep WHERE kind = 'flip' AND outcome = 'ok';

-- libxgboost ran in this backend (risk.score_xgboost above): importing
-- still works, and promptly
SET statement_timeout = '30s';
SELECT lives_ok($$SELECT risk.import_model('errors_again', bytes) FROM fx.files WHERE file = 'bin_d3.json'$$,
                'import after risk.score_xgboost in the same session');
RESET statement_timeout;
SELECT is(risk.drop_model('errors_again'), 1, 'errors_again dropped');

-- bytes damaged in the registry itself (written there directly, not through
-- import_model) are read as carefully when a session compiles them
INSERT INTO risk.model_registry (name, version, format, model, feature_names, num_features,
                                 objective, booster, num_trees, max_depth, num_leaves, xgboost_version)
SELECT 'errors_direct', 1, 'json', substring(bytes FROM 1 FOR 5000), feature_names, 20,
       'binary:logistic', 'gbtree', 20, 3, 160, '1.7.4'
  FROM fx.files, (SELECT feature_names FROM risk.model_registry WHERE name = 'bin_d3_json') n
 WHERE file = 'bin_d3.json';
SELECT throws_ok($$SELECT risk.score('errors_direct', array_fill(0::real, ARRAY[20]))$$,
                 '22023', 'could not read XGBoost model', 'damaged bytes in the registry: score');
SELECT throws_ok($$SELECT risk.score_xgboost('errors_direct', array_fill(0::real, ARRAY[20]))$$,
                 '22023', 'could not read XGBoost model', 'damaged bytes in the registry: score_xgboost');
SELECT is(risk.drop_model('errors_direct'), 1, 'errors_direct dropped');

-- A failed import's message reaches a client in any encoding: libxgboost
-- quotes model bytes (here 0xff) in its messages, which come out as \xNN.
SET client_encoding = 'LATIN1';
\set VERBOSITY default
SELECT risk.import_model('errors_bad', substring(bytes FROM 1 FOR position('],"right_children":'::bytea IN bytes) + 1))
  FROM fx.files WHERE file = 'bin_d3.json';
\set VERBOSITY terse
RESET client_encoding;

SELECT is(risk.drop_model('errors_orders'), 1, 'errors_orders dropped');
SELECT is(count(*), 0::bigint, 'no errors_ model left') FROM risk.models WHERE name LIKE 'errors%';
SELECT * FROM finish();
