-- pg_dump / pg_restore keep the registry: every model version, byte for
-- byte, with its feature names, metadata, creator and time, and the restored
-- models score exactly as before; new imports go on from the last version.
\getenv work RISK_WORK
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(11);

SELECT is(risk.import_model('dump_m', bytes, metadata => '{"owner": "risk-team", "note": "first"}'), 1,
          'dump_m version 1')
  FROM fx.files WHERE file = 'orders.json';
SELECT is(risk.import_model('dump_m', bytes, metadata => '{"note": "retrained"}'), 2, 'dump_m version 2')
  FROM fx.files WHERE file = 'orders_v2.json';
SELECT is(risk.import_model('dump_bin', bytes,
                            ARRAY['amount', 'account_age_days', 'is_new_device', 'orders_1h']), 1,
          'dump_bin: old binary format with feature names given')
  FROM fx.files WHERE file = 'orders.bin';

-- everything the registry holds, as one digest
CREATE TEMP VIEW registry_digest AS
  SELECT count(*) AS n,
         md5(string_agg(concat_ws('|', name, version, format, md5(model), feature_names,
                                  feature_types, num_features, objective, num_trees, num_classes,
                                  metadata, extract(epoch FROM created_at), created_by),
                           E'\n' ORDER BY name, version)) AS md5
    FROM risk.model_registry;
SELECT n, md5 FROM registry_digest \gset before_

\set dumpfile :work '/regress.dump'
\setenv RISK_DUMP :dumpfile
\! "$(pg_config --bindir)/pg_dump" -Fc -f "$RISK_DUMP" risk_regress; echo "pg_dump exit $?"
SET client_min_messages = warning;
DROP DATABASE IF EXISTS risk_restored;
RESET client_min_messages;
CREATE DATABASE risk_restored;
\! "$(pg_config --bindir)/pg_restore" -d risk_restored "$RISK_DUMP"; echo "pg_restore exit $?"

SELECT format('dbname=risk_restored host=%s port=%s',
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT is(dblink_connect('restored', :'conn'), 'OK', 'connected to the restored database');

SELECT is(n, :before_n::bigint, 'restored: as many model versions'),
       is(md5, :'before_md5', 'restored: the same versions, bytes, names, metadata, creators and times')
  FROM dblink('restored', 'SELECT n, md5 FROM (' || rtrim(pg_get_viewdef('registry_digest'), E'; \n') || ') d')
       AS t(n bigint, md5 text);

SELECT is(bad, 0::bigint, 'restored: dump_m scores the 200 reference orders exactly as version 2 did')
  FROM dblink('restored', $$SELECT count(*) FROM fx.orders o
                            WHERE risk.score('dump_m', ARRAY[o.amount, o.account_age_days,
                                                             o.is_new_device, o.orders_1h])
                                  IS DISTINCT FROM o.expected_v2$$) AS t(bad bigint);
SELECT is(bad, 0::bigint, 'restored: dump_bin scores by column name exactly as before')
  FROM dblink('restored', $$SELECT count(*) FROM fx.orders o
                            WHERE risk.score('dump_bin', (SELECT r FROM (SELECT o.amount,
                                  o.account_age_days, o.is_new_device, o.orders_1h) r))
                                  IS DISTINCT FROM o.expected$$) AS t(bad bigint);
SELECT is(v, 3, 'restored: the next import of dump_m is version 3')
  FROM dblink('restored', $$SELECT risk.import_model('dump_m', bytes) FROM fx.files
                            WHERE file = 'orders.json'$$) AS t(v int);

SELECT dblink_disconnect('restored') \g /dev/null
DROP DATABASE risk_restored;
\! rm -f "$RISK_DUMP"

SELECT is(risk.drop_model('dump_m'), 2, 'clean up dump_m');
SELECT is(risk.drop_model('dump_bin'), 1, 'clean up dump_bin');
SELECT * FROM finish();
