-- The per-session cache of compiled models, seen from a second session
-- (dblink): a model is compiled once and reused; another session's commit is
-- seen by our next statement; an uncommitted or rolled-back import changes
-- nothing anyone sees; REPEATABLE READ keeps one version for the whole
-- transaction; a drop by another session is a clear error here.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(58);

SELECT format('dbname=%s host=%s port=%s', current_database(),
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT is(dblink_connect('other', :'conn'), 'OK', 'a second session');

-- how many of the 200 reference orders a version does not score as expected
CREATE TEMP VIEW v1_wrong AS
  SELECT count(*) FROM (SELECT o.expected, (SELECT risk.score('cache_m', r)
                                              FROM (SELECT o.amount, o.account_age_days,
                                                           o.is_new_device, o.orders_1h) r) AS s
                          FROM fx.orders o) q
   WHERE s IS DISTINCT FROM expected;
CREATE TEMP VIEW v2_wrong AS
  SELECT count(*) FROM (SELECT o.expected_v2, (SELECT risk.score('cache_m', r)
                                                 FROM (SELECT o.amount, o.account_age_days,
                                                              o.is_new_device, o.orders_1h) r) AS s
                          FROM fx.orders o) q
   WHERE s IS DISTINCT FROM expected_v2;
SELECT is((SELECT count(*) FROM fx.orders WHERE expected IS NOT DISTINCT FROM expected_v2), 0::bigint,
          'the two versions score every reference order differently');

-- the other session imports version 1
SELECT is(v, 1, 'other session: import version 1')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'this session scores with version 1') FROM v1_wrong;

-- compiled once, then reused by the next queries
SELECT version, compiled_at, uses FROM risk.cached_models() WHERE name = 'cache_m' \gset first_
SELECT is(:first_version, 1, 'version 1 is in this session''s cache');
SELECT is(count, 0::bigint, 'scored again') FROM v1_wrong;
SELECT is(count(*), 0::bigint, 'and a third time, by array')
  FROM fx.orders o
 WHERE risk.score('cache_m', ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h])
       IS DISTINCT FROM o.expected;
SELECT is(compiled_at, :'first_compiled_at'::timestamptz, 'not compiled again'),
       cmp_ok(uses, '>', :first_uses::bigint, 'but used again')
  FROM risk.cached_models() WHERE name = 'cache_m';
SELECT is(count(*), 1::bigint, 'one compiled copy') FROM risk.cached_models() WHERE name = 'cache_m';
-- registry changes that do not touch it leave it compiled
SELECT is(v, 1, 'other session: import another model')
  FROM dblink('other', $$SELECT risk.import_model('cache_other', bytes) FROM fx.files
                         WHERE file = 'orders_v2.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'scored after that import') FROM v1_wrong;
SELECT is(d, 1, 'other session: drop the other model')
  FROM dblink('other', $$SELECT risk.drop_model('cache_other')$$) AS t(d int);
SELECT is(count, 0::bigint, 'scored after that drop') FROM v1_wrong;
SELECT is(compiled_at, :'first_compiled_at'::timestamptz, 'still not compiled again')
  FROM risk.cached_models() WHERE name = 'cache_m';
SELECT ok(memory_bytes > 0 AND NOT has_xgboost_copy, 'its memory; no libxgboost copy until score_xgboost')
  FROM risk.cached_models() WHERE name = 'cache_m';
SELECT is(risk.score_xgboost('cache_m', ARRAY[250, 3, 1, 0]::real[]),
          risk.score('cache_m', ARRAY[250, 3, 1, 0]::real[]), 'score_xgboost agrees');
SELECT ok(has_xgboost_copy, 'now libxgboost''s copy is cached too')
  FROM risk.cached_models() WHERE name = 'cache_m';

-- a version committed by the other session is seen by our next statement
SELECT is(v, 2, 'other session: import version 2')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders_v2.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'the next statement scores with version 2') FROM v2_wrong;
SELECT is(array_agg(version), ARRAY[2], 'version 1 left the cache')
  FROM risk.cached_models() WHERE name = 'cache_m';

-- a prepared statement follows too
PREPARE scored AS SELECT risk.score('cache_m', ARRAY[250, 3, 1, 0]::real[]);
SELECT is(d, 1, 'other session: drop version 2')
  FROM dblink('other', $$SELECT risk.drop_model('cache_m', 2)$$) AS t(d int);
SELECT is(count, 0::bigint, 'after the other session drops version 2: version 1 again') FROM v1_wrong;
CREATE TEMP TABLE prepared_v1 AS EXECUTE scored;
SELECT is(count(*), 1::bigint, 'other session: version 2 again')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders_v2.json'$$) AS t(v int);
CREATE TEMP TABLE prepared_v2 AS EXECUTE scored;
SELECT isnt((SELECT * FROM prepared_v1), (SELECT * FROM prepared_v2),
            'a prepared statement executed again uses the new version');

-- a version number reused by a new import is a new model: the other session
-- drops version 2 and imports other bytes as version 2 in one transaction
SELECT is(count, 0::bigint, 'version 2 as compiled here') FROM v2_wrong;
SELECT is(dblink_exec('other', $$BEGIN; SELECT risk.drop_model('cache_m', 2);
                                 SELECT risk.import_model('cache_m', bytes) FROM fx.files
                                  WHERE file = 'orders.json'; COMMIT$$), 'COMMIT',
          'other session: version 2 replaced by other bytes');
SELECT is(version, 2, 'still version 2') FROM risk.models WHERE name = 'cache_m' AND is_current;
SELECT is(count, 0::bigint, 'the new version 2 is scored, not the one compiled before') FROM v1_wrong;
SELECT is(dblink_exec('other', $$BEGIN; SELECT risk.drop_model('cache_m', 2);
                                 SELECT risk.import_model('cache_m', bytes) FROM fx.files
                                  WHERE file = 'orders_v2.json'; COMMIT$$), 'COMMIT',
          'other session: and back');
SELECT is(count, 0::bigint, 'back to the first bytes') FROM v2_wrong;

-- an import the other session has not committed is not seen; rolled back, it never was
SELECT is(dblink_exec('other', 'BEGIN'), 'BEGIN', 'other session: BEGIN');
SELECT is(v, 3, 'other session: import version 3, uncommitted')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'uncommitted: we still score with version 2') FROM v2_wrong;
SELECT is(dblink_exec('other', 'ROLLBACK'), 'ROLLBACK', 'other session: ROLLBACK');
SELECT is(count, 0::bigint, 'rolled back: still version 2') FROM v2_wrong;
SELECT is(array_agg(version ORDER BY version), ARRAY[1, 2], 'the registry holds versions 1 and 2')
  FROM risk.models WHERE name = 'cache_m';

-- our own rollback
BEGIN;
SELECT is(risk.import_model('cache_m', bytes), 3, 'this session: import version 3 in a transaction')
  FROM fx.files WHERE file = 'orders.json';
SELECT is(count, 0::bigint, 'our own next statement sees it') FROM v1_wrong;
ROLLBACK;
SELECT is(count, 0::bigint, 'rolled back: version 2 again') FROM v2_wrong;

-- REPEATABLE READ: one version for the whole transaction
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT is(count, 0::bigint, 'repeatable read: version 2') FROM v2_wrong;
SELECT is(v, 3, 'other session: import version 3 and commit')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'still version 2 in this transaction') FROM v2_wrong;
COMMIT;
SELECT is(count, 0::bigint, 'after commit: version 3') FROM v1_wrong;

-- READ COMMITTED inside a transaction: every statement sees the latest commit
BEGIN;
SELECT is(count, 0::bigint, 'read committed: version 3') FROM v1_wrong;
SELECT is(v, 4, 'other session: import version 4 and commit')
  FROM dblink('other', $$SELECT risk.import_model('cache_m', bytes) FROM fx.files
                         WHERE file = 'orders_v2.json'$$) AS t(v int);
SELECT is(count, 0::bigint, 'the next statement of the same transaction: version 4') FROM v2_wrong;
COMMIT;

-- a model dropped by the other session is an error here, not a stale score
SELECT is(d, 4, 'other session: drop the model')
  FROM dblink('other', $$SELECT risk.drop_model('cache_m')$$) AS t(d int);
SELECT throws_ok($$SELECT risk.score('cache_m', ARRAY[250, 3, 1, 0]::real[])$$,
                 '42704', 'model "cache_m" does not exist', 'scoring a dropped model');
SELECT is(count(*), 0::bigint, 'and it left the cache') FROM risk.cached_models() WHERE name = 'cache_m';

-- the cache is bounded by risk.model_cache_size: least recently used models
-- that no query holds are freed, and compiled again at their next use
SELECT is(current_setting('risk.model_cache_size'), '128MB', 'risk.model_cache_size: 128MB by default');
SELECT risk.import_model('cache_a', bytes) AS a, risk.import_model('cache_b', bytes) AS b,
       risk.import_model('cache_c', bytes) AS c
  FROM fx.files WHERE file = 'orders.json' \gset
SET risk.model_cache_size = '1MB';
SELECT risk.score('cache_a', ARRAY[250, 3, 1, 0]::real[]) AS sa \gset
SELECT risk.score('cache_b', ARRAY[250, 3, 1, 0]::real[]) AS sb \gset
SELECT ok((SELECT sum(memory_bytes) FROM risk.cached_models()) <= 1024 * 1024,
          'within 1MB: what is cached fits the setting');
SET risk.model_cache_size = 0;
SELECT is(risk.score('cache_c', ARRAY[250, 3, 1, 0]::real[]), :sa::float8, 'a model scores with a cache of 0 kB');
SELECT is(array_agg(name), ARRAY['cache_c'], 'and only the model just used stays cached')
  FROM risk.cached_models();
SELECT is((SELECT count(*) FROM (VALUES ('cache_a'), ('cache_b'), ('cache_a')) v(m)
            WHERE risk.score(m, ARRAY[250, 3, 1, 0]::real[]) IS DISTINCT FROM :sb::float8), 0::bigint,
          'models evicted and compiled again score the same');
RESET risk.model_cache_size;
SELECT is(risk.drop_model(m), 1, 'drop ' || m) FROM unnest(ARRAY['cache_a', 'cache_b', 'cache_c']) m;

SELECT dblink_disconnect('other') \g /dev/null
SELECT * FROM finish();
