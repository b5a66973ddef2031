-- risk.train: models trained in the database equal the models python3-xgboost
-- trains on the same rows, order and parameters (same bytes, same prediction
-- of every row), with and without early stopping, weights and a categorical
-- feature; the rows are read in their canonical order whatever the query's
-- order, and their fingerprint equals a plain-SQL recount; each kind of
-- validation split holds out exactly its rows; the record's metrics equal our
-- aggregates over the model's scores; progress is visible from another
-- session, and a cancel stops the training; errors with their SQLSTATE and
-- nothing registered.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(50);
SET client_min_messages = warning;

CREATE TABLE train_rows (id integer, x1 real, x2 real, x3 real, x4 real, x5 real, cat integer,
                         w real, y integer, holdout boolean);
CREATE TABLE train_pred (model text, id integer, pred real);
CREATE TABLE train_cases (model text, trained integer, best integer, best_score text);
CREATE TABLE train_importance (model text, ordinal integer, weight float8, gain float8, cover float8,
                               total_gain float8, total_cover float8);
SELECT :'fx' || '/train_rows.csv' AS f \gset
COPY train_rows FROM :'f' CSV;
SELECT :'fx' || '/train_predictions.csv' AS f \gset
COPY train_pred FROM :'f' CSV;
SELECT :'fx' || '/train_cases.csv' AS f \gset
COPY train_cases FROM :'f' CSV;
SELECT :'fx' || '/train_importance.csv' AS f \gset
COPY train_importance FROM :'f' CSV;

-- how many rows a model scores otherwise than python3-xgboost's predict()
CREATE FUNCTION mismatches(m text, case_name text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM train_rows r JOIN train_pred p ON p.id = r.id AND p.model = case_name
   WHERE risk.score(m, r)::real IS DISTINCT FROM p.pred
      OR risk.score_xgboost(m, ARRAY[r.x1, r.x2, r.x3, r.x4, r.x5, r.cat]::real[])::real IS DISTINCT FROM p.pred $$;
CREATE FUNCTION same_bytes(m text, case_name text) RETURNS boolean LANGUAGE sql AS $$
  SELECT model = pg_read_binary_file(current_setting('risk_test.fx') || '/train_' || case_name || '.json')
    FROM risk.model_registry WHERE name = m AND version = (SELECT max(version) FROM risk.model_registry WHERE name = m) $$;
SELECT set_config('risk_test.fx', :'fx', false) \g /dev/null

-- 1. no validation, 20 rounds
SELECT is(risk.train('tp_plain', 'SELECT x1, x2, x3, x4, x5, cat, y FROM train_rows', 'y', rounds => 20,
                     params => '{"max_depth": 4, "eta": 0.3, "nthread": 2}'), 1, 'plain: version 1');
SELECT ok(same_bytes('tp_plain', 'plain'), 'plain: the same bytes as python3-xgboost''s model');
SELECT is(mismatches('tp_plain', 'plain'), 0::bigint, 'plain: risk.score and libxgboost give python''s prediction for all 8,000 rows');

-- 2. early stopping on the validation rows' aucpr
SELECT is(risk.train('tp_early', 'SELECT x1, x2, x3, x4, x5, cat, y, holdout FROM train_rows', 'y',
                     validation => 'holdout', rounds => 300, early_stopping_rounds => 10,
                     params => '{"max_depth": 5, "eta": 0.3, "nthread": 2}'), 1, 'early stopping: version 1');
SELECT ok(same_bytes('tp_early', 'early'), 'early stopping: the same bytes as python3-xgboost''s (EarlyStopping, save_best)');
SELECT is(mismatches('tp_early', 'early'), 0::bigint, 'early stopping: the same prediction of every row');
SELECT is((SELECT (t.rounds_trained, t.best_round) FROM risk.model_training t WHERE name = 'tp_early'),
          (SELECT (c.trained, c.best + 1) FROM train_cases c WHERE model = 'early'),
          'early stopping: the rounds trained and the best round are xgboost''s');
SELECT ok((SELECT best_round < rounds_trained AND rounds_trained < rounds FROM risk.model_training WHERE name = 'tp_early'),
          '(it did stop early, and kept fewer rounds than it trained)');
SELECT is((SELECT num_trees FROM risk.model_registry WHERE name = 'tp_early'),
          (SELECT best_round FROM risk.model_training WHERE name = 'tp_early'), 'the model keeps the best round''s trees');
SELECT is((SELECT best_score FROM risk.model_training WHERE name = 'tp_early'),
          (SELECT max(value) FROM risk.model_training_rounds WHERE name = 'tp_early'), 'best_score is the best round''s aucpr');

-- 3. weights, a categorical feature, two metrics
SELECT is(risk.train('tp_wcat', 'SELECT x1, x2, x3, x4, x5, cat, w, y, holdout FROM train_rows', 'y',
                     weight => 'w', validation => 'holdout', rounds => 30, categorical => '{cat}',
                     params => '{"max_depth": 4, "eta": 0.2, "nthread": 1, "eval_metric": ["logloss", "auc"]}'),
          1, 'weights and a categorical feature: version 1');
SELECT ok(same_bytes('tp_wcat', 'weighted_cat'), 'weights and a categorical feature: the same bytes as python3-xgboost''s');
SELECT is(mismatches('tp_wcat', 'weighted_cat'), 0::bigint, 'weights and a categorical feature: the same prediction of every row');
SELECT is((SELECT feature_types FROM risk.model_registry WHERE name = 'tp_wcat'), '{q,q,q,q,q,c}'::text[],
          'cat is categorical in the model');
SELECT is((SELECT array_agg(DISTINCT metric ORDER BY metric) || count(*)::text FROM risk.model_training_rounds WHERE name = 'tp_wcat'),
          '{auc,logloss,60}'::text[], 'the per-round log: both metrics for each of 30 rounds');
SELECT is((SELECT stopping_metric FROM risk.model_training WHERE name = 'tp_wcat'), NULL, 'no stopping metric without early stopping');

-- 4. balance_classes: scale_pos_weight = negatives / positives of the training rows
SELECT is(risk.train('tp_bal', 'SELECT x1, x2, x3, x4, x5, cat, y FROM train_rows', 'y', rounds => 15, balance_classes => true,
                     params => '{"max_depth": 3, "eta": 0.3, "nthread": 2, "seed": 7, "subsample": 0.8}'),
          1, 'balance_classes: version 1');
SELECT ok(same_bytes('tp_bal', 'balanced'), 'balance_classes (and seeded subsampling): the same bytes as python3-xgboost''s');
SELECT is((SELECT (params->>'scale_pos_weight')::float8 FROM risk.model_training WHERE name = 'tp_bal'),
          (SELECT count(*) FILTER (WHERE y = 0)::float8 / count(*) FILTER (WHERE y = 1) FROM train_rows),
          'scale_pos_weight is negatives / positives');

-- feature importance of the models trained here equals python3-xgboost's
-- get_score() of each importance type, for every feature of every case
SELECT is((SELECT count(*) FILTER (WHERE (r.weight::float8, r.gain, r.cover, r.total_gain, r.total_cover)
                                   IS DISTINCT FROM (i.weight, i.gain, i.cover, i.total_gain, i.total_cover))
                  || '/' || count(*) || '/' || count(*) FILTER (WHERE r.weight > 0)
             FROM (VALUES ('tp_plain', 'plain'), ('tp_early', 'early'), ('tp_wcat', 'weighted_cat'),
                          ('tp_bal', 'balanced')) m(model, case_name)
             JOIN train_importance i ON i.model = m.case_name
             JOIN LATERAL risk.feature_importance(m.model) r ON r.ordinal = i.ordinal),
          '0/24/' || (SELECT count(*) FILTER (WHERE weight > 0) FROM train_importance),
          'feature importance: get_score of weight, gain, cover, total_gain and total_cover, 24 features of 4 models');

-- the order of the query's rows does not matter: the same bytes, the same fingerprint
SELECT is(risk.train('tp_plain', 'SELECT x1, x2, x3, x4, x5, cat, y FROM train_rows ORDER BY x5 DESC NULLS FIRST, id', 'y',
                     rounds => 20, params => '{"max_depth": 4, "eta": 0.3, "nthread": 2}'), 2, 'the same rows in another order: version 2');
SELECT ok(same_bytes('tp_plain', 'plain'), 'version 2 has the same bytes');
SELECT is((SELECT count(DISTINCT data_sha256) FROM risk.model_training WHERE name = 'tp_plain'), 1::bigint, 'and the same fingerprint');

-- the fingerprint, recounted in SQL: SHA-256 of the rows in canonical order,
-- each a validation byte and label, weight and features as little-endian float32
CREATE FUNCTION le(v real) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT substr(b, 4, 1) || substr(b, 3, 1) || substr(b, 2, 1) || substr(b, 1, 1)
    FROM float4send(coalesce(v, 'NaN')) b $$;
CREATE FUNCTION fingerprint(split text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
  EXECUTE format($q$SELECT encode(sha256(string_agg(CASE WHEN v THEN '\x01' ELSE '\x00' END::bytea || le(y) || le(1)
                        || le(x1) || le(x2) || le(x3) || le(x4) || le(x5) || le(cat), '' ORDER BY v, y, x1, x2, x3, x4, x5, cat)), 'hex')
                      FROM (SELECT %s AS v, y::real AS y, x1, x2, x3, x4, x5, cat::real AS cat FROM train_rows) r$q$, split) INTO h;
  RETURN h;
END $$;
SELECT is((SELECT data_sha256 FROM risk.model_training WHERE name = 'tp_plain' AND version = 1), fingerprint('false'),
          'the fingerprint equals a plain-SQL recount (no validation rows)');
SELECT is((SELECT data_sha256 FROM risk.model_training WHERE name = 'tp_early'), fingerprint('holdout'),
          'the fingerprint equals a plain-SQL recount (a boolean split)');

-- each kind of split holds out exactly its rows: by time, by a hash of an id, by a boolean column
SELECT risk.train('tp_time', $$SELECT x1, x2, x3, x4, x5, cat, y,
                    timestamptz '2026-01-01' + id * interval '1 minute' >= timestamptz '2026-01-05' AS late FROM train_rows$$,
                  'y', validation => 'late', rounds => 3, params => '{"nthread": 1}') \g /dev/null
SELECT is((SELECT (valid_rows, valid_positives, data_sha256) FROM risk.model_training WHERE name = 'tp_time'),
          (SELECT (count(*) FILTER (WHERE v), count(*) FILTER (WHERE v AND y = 1), fingerprint($$timestamptz '2026-01-01' + id * interval '1 minute' >= timestamptz '2026-01-05'$$))
             FROM (SELECT timestamptz '2026-01-01' + id * interval '1 minute' >= timestamptz '2026-01-05' AS v, y FROM train_rows) r),
          'a time split: the validation rows are exactly the later ones');
SELECT risk.train('tp_hash', $$SELECT x1, x2, x3, x4, x5, cat, y, risk.bucket('split-1', id, 100) < 20 AS held FROM train_rows$$,
                  'y', validation => 'held', rounds => 3, params => '{"nthread": 1}') \g /dev/null
SELECT is((SELECT (valid_rows, valid_positives, data_sha256) FROM risk.model_training WHERE name = 'tp_hash'),
          (SELECT (count(*) FILTER (WHERE v), count(*) FILTER (WHERE v AND y = 1), fingerprint($$risk.bucket('split-1', id, 100) < 20$$))
             FROM (SELECT risk.bucket('split-1', id, 100) < 20 AS v, y FROM train_rows) r),
          'a hash split: the validation rows are exactly those of buckets 0 to 19');
SELECT is((SELECT (train_rows, train_positives, valid_rows, valid_positives) FROM risk.model_training WHERE name = 'tp_early'),
          (SELECT (count(*) FILTER (WHERE NOT holdout), count(*) FILTER (WHERE NOT holdout AND y = 1),
                   count(*) FILTER (WHERE holdout), count(*) FILTER (WHERE holdout AND y = 1)) FROM train_rows),
          'a boolean split: the counts of each part');

-- the record's metrics are our aggregates over the model's scores of the validation rows
SELECT ok((SELECT abs(t.valid_auc - m.auc) < 1e-12 AND abs(t.valid_average_precision - m.ap) < 1e-12
              AND abs(t.valid_ks - m.ks) < 1e-12 AND abs(t.valid_log_loss - m.ll) < 1e-12
             FROM risk.model_training t,
                  (SELECT risk.auc(s, y, w) AS auc, risk.average_precision(s, y, w) AS ap, risk.ks(s, y, w) AS ks,
                          risk.log_loss(s, y, w) AS ll
                     FROM (SELECT risk.score('tp_wcat', r) AS s, y, w::float8 AS w FROM train_rows r WHERE holdout) v) m
            WHERE t.name = 'tp_wcat'),
          'valid_auc, valid_average_precision, valid_ks, valid_log_loss: risk.auc and its siblings over risk.score');
SELECT is((SELECT (libxgboost_peak_bytes > 0, rows_bytes >= 8000 * (4 * 8 + 1), train_seconds > 0, seconds >= train_seconds, threads)
             FROM risk.model_training WHERE name = 'tp_wcat'), (true, true, true, true, 1), 'time, memory and threads are recorded');
SELECT is((SELECT params FROM risk.model_training WHERE name = 'tp_wcat'),
          '{"eta": "0.2", "nthread": "1", "max_depth": "4", "objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "tree_method": "hist", "validate_parameters": "true"}'::jsonb,
          'the parameters passed to libxgboost, defaults included');

-- a table's name is a query of all its columns
CREATE TABLE train_small AS SELECT x1, x2, cat, y FROM train_rows WHERE id <= 2000;
SELECT is(risk.train('tp_table', 'train_small', 'y', rounds => 2, params => '{"nthread": 1}'), 1, 'a table''s name');
SELECT is((SELECT feature_names FROM risk.model_registry WHERE name = 'tp_table'), '{x1,x2,cat}'::text[], 'its columns but the label are the features');

-- a rolled-back training leaves nothing
BEGIN;
SELECT risk.train('tp_rolled', 'train_small', 'y', rounds => 2, params => '{"nthread": 1}') \g /dev/null
ROLLBACK;
SELECT is((SELECT count(*) FROM risk.model_registry WHERE name = 'tp_rolled') + (SELECT count(*) FROM risk.model_training WHERE name = 'tp_rolled'),
          0::bigint, 'a rolled-back training registers nothing');
-- dropping a version drops its record and log
SELECT risk.drop_model('tp_table') \g /dev/null
SELECT is((SELECT count(*) FROM risk.model_training WHERE name = 'tp_table') + (SELECT count(*) FROM risk.model_training_rounds WHERE name = 'tp_table'),
          0::bigint, 'risk.drop_model drops the record and the per-round log');

-- errors: each with its SQLSTATE, nothing registered
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y * 2 AS y FROM train_rows', 'y')$$, '22023', NULL, 'a label other than 0/1');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, CASE WHEN id = 7 THEN ''NaN''::float8 ELSE y END AS y FROM train_rows', 'y')$$,
                 '22023', NULL, 'a NaN label');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, CASE WHEN id <> 7 THEN y END AS y FROM train_rows', 'y')$$,
                 '22004', NULL, 'a NULL label');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y, w - 1 AS w FROM train_rows', 'y', weight => 'w')$$,
                 '22023', NULL, 'a negative weight');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows WHERE false', 'y')$$, '22023',
                 'the training query returned no rows', 'no rows');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows WHERE y = 0', 'y')$$, '22023', NULL, 'one class');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows', 'y', params => '{"max_dept": 4}')$$, '22023',
                 'libxgboost does not use the parameter "max_dept"', 'an unknown parameter');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, id::text AS t, y FROM train_rows', 'y')$$, '42804', NULL, 'a non-numeric feature');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows', 'label')$$, '42703', NULL, 'no label column');
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows', 'y', early_stopping_rounds => 5)$$, '22023', NULL,
                 'early stopping without validation rows');
SET risk.train_memory_limit = '64MB';
SELECT throws_ok($$SELECT risk.train('tp_err', 'SELECT x1, y FROM train_rows', 'y')$$, '54000', NULL,
                 'a training beyond risk.train_memory_limit is refused before it starts');
RESET risk.train_memory_limit;
SELECT is((SELECT count(*) FROM risk.model_registry WHERE name = 'tp_err'), 0::bigint, 'no failed training registered anything');

-- progress, seen from another session, and a cancel
SELECT format('dbname=%s host=%s port=%s', current_database(),
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT dblink_connect('trainer', :'conn') \g /dev/null
SELECT dblink_exec('trainer', 'SET client_min_messages = warning') \g /dev/null
SELECT dblink_send_query('trainer', $$SELECT risk.train('tp_long', 'SELECT x1, x2, x3, x4, x5, cat, y, holdout FROM train_rows', 'y',
                                      validation => 'holdout', rounds => 100000, params => '{"max_depth": 8, "eta": 0.001, "nthread": 1}')$$) \g /dev/null
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN EXISTS (SELECT FROM risk.training_progress WHERE model = 'tp_long' AND round >= 3);
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT is((SELECT (phase, rows_read, rounds, metric, memory_bytes > 0) FROM risk.training_progress WHERE model = 'tp_long'),
          ('training'::text, 8000::bigint, 100000, 'valid-aucpr'::text, true), 'another session sees the training''s progress');
SELECT dblink_cancel_query('trainer') \g /dev/null
SELECT is((SELECT count(*) FROM dblink_get_result('trainer', false) AS r(v integer)), 0::bigint, '(the cancelled call returns no row)');
SELECT count(*) FROM dblink_get_result('trainer', false) AS r(v integer) \g /dev/null
SELECT is((SELECT count(*) FROM risk.training_progress) + (SELECT count(*) FROM risk.model_registry WHERE name = 'tp_long'),
          0::bigint, 'a cancel stops the training: no progress left, nothing registered');
SELECT dblink_disconnect('trainer') \g /dev/null

SELECT * FROM finish();
