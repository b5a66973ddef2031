-- pg_dump / pg_restore keep the registry: every model version, byte for
-- byte, with its feature names, metadata, creator and time, and the restored
-- models score exactly as before; new imports go on from the last version.
-- And the rules and lists, and the model cycle: training records and logs,
-- aliases and their history (dumped in foreign-key order).
\getenv work RISK_WORK
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(18);

SELECT is(risk.import_model('dump_m', bytes, metadata => '{"owner": "risk-team", "note": "first"}'), 1,
          'dump_m version 1')
  FROM fx.files WHERE file = 'orders.json';
SELECT is(risk.import_model('dump_m', bytes, metadata => '{"note": "retrained"}'), 2, 'dump_m version 2')
  FROM fx.files WHERE file = 'orders_v2.json';
SELECT is(risk.import_model('dump_bin', bytes,
                            ARRAY['amount', 'account_age_days', 'is_new_device', 'orders_1h']), 1,
          'dump_bin: old binary format with feature names given')
  FROM fx.files WHERE file = 'orders.bin';

-- and the model cycle: trained versions, their records and logs, aliases and their history
SET client_min_messages = warning;
SELECT risk.train('dump_t', 'SELECT amount, account_age_days, expected > 0.5 AS y FROM fx.orders', 'y',
                  rounds => r, params => '{"nthread": 1}') FROM unnest(ARRAY[3, 5]) r \g /dev/null
RESET client_min_messages;
SELECT risk.set_alias('dump_t', 'champion', v) FROM unnest(ARRAY[1, 2]) v \g /dev/null
SELECT risk.rollback_alias('dump_t', 'champion') \g /dev/null
CREATE TEMP VIEW cycle_digest AS
  SELECT (SELECT count(*) FROM risk.model_training_rounds) + (SELECT count(*) FROM risk.model_alias_history) AS n,
         concat_ws(' ',
           (SELECT md5(string_agg(t::text, ',' ORDER BY name, version)) FROM risk.model_training t),
           (SELECT md5(string_agg(r::text, ',' ORDER BY name, version, round, dataset, metric)) FROM risk.model_training_rounds r),
           (SELECT md5(string_agg(a::text, ',' ORDER BY name, alias)) FROM risk.model_aliases a),
           (SELECT md5(string_agg(h::text, ',' ORDER BY name, alias, seq)) FROM risk.model_alias_history h)) AS md5;
SELECT n, md5 FROM cycle_digest \gset cycle_
SELECT ok(:cycle_n > 0, 'there are trainings and alias moves to dump');

-- everything the registry holds, as one digest
CREATE TEMP VIEW registry_digest AS
  SELECT count(*) AS n,
         md5(string_agg(concat_ws('|', name, version, format, md5(model), feature_names,
                                  feature_types, num_features, objective, num_trees, num_classes,
                                  metadata, extract(epoch FROM created_at), created_by),
                           E'\n' ORDER BY name, version)) AS md5
    FROM risk.model_registry;
SELECT n, md5 FROM registry_digest \gset before_
-- and the rule sets, drafts, versions, their log, lists and every list item
CREATE TEMP VIEW rules_digest AS
  SELECT (SELECT count(*) FROM risk.published_rules) + (SELECT count(*) FROM risk.list_items) AS n,
         concat_ws(' ',
           'rule_sets:' || (SELECT md5(string_agg(concat_ws('|', name, relation::oid IN (SELECT oid FROM pg_class), model,
                                        description, require_approval, current_version, created_by, extract(epoch FROM created_at)), ',' ORDER BY name))
                      FROM risk.rule_sets),
           'rules:' || (SELECT md5(string_agg(concat_ws('|', rule_set, key, expression, action, mode, priority, description,
                                        updated_by, extract(epoch FROM updated_at)), ',' ORDER BY rule_set, key)) FROM risk.rules),
           'versions:' || (SELECT md5(string_agg(concat_ws('|', rule_set, version, created_by, extract(epoch FROM created_at), approved_by,
                                        extract(epoch FROM approved_at), note), ',' ORDER BY rule_set, version)) FROM risk.rule_versions),
           'published:' || (SELECT md5(string_agg(concat_ws('|', rule_set, version, key, expression, action, mode, priority,
                                        description), ',' ORDER BY rule_set, version, key)) FROM risk.published_rules),
           'log:' || (SELECT md5(string_agg(concat_ws('|', rule_set, seq, version, event, published_by, extract(epoch FROM published_at), note),
                                        ',' ORDER BY rule_set, seq)) FROM risk.rule_publications),
           'lists:' || (SELECT md5(string_agg(concat_ws('|', name, kind, description, revision, created_by, extract(epoch FROM created_at)),
                                        ',' ORDER BY name)) FROM risk.lists),
           'items:' || (SELECT md5(string_agg(concat_ws('|', id, list, value, reason, extract(epoch FROM valid_from), extract(epoch FROM expires_at), added_by,
                                        extract(epoch FROM added_at), removed_by, extract(epoch FROM removed_at), removed_reason), ',' ORDER BY id))
                          FROM risk.list_items)) AS md5;
SELECT n, md5 FROM rules_digest \gset rules_
SELECT ok(:rules_n > 0, 'there are rules and lists to dump');
SELECT max(id) AS last_item FROM risk.list_items \gset
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('rules_m', 0.2, 0.6) ON CONFLICT DO NOTHING;

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

SELECT is(md5, :'rules_md5', 'restored: the same rule sets, drafts, versions, log, lists and items')
  FROM dblink('restored', 'SELECT n, md5 FROM (' || rtrim(pg_get_viewdef('rules_digest'), E'; \n') || ') d')
       AS t(n bigint, md5 text);
-- the rows as text: in this session's time zone, date style and float digits
SELECT dblink_exec('restored', format('SET TimeZone = %L; SET DateStyle = %L; SET extra_float_digits = %s',
                                      current_setting('TimeZone'), current_setting('DateStyle'),
                                      current_setting('extra_float_digits'))) \g /dev/null
SELECT is(md5, :'cycle_md5', 'restored: the same training records, per-round logs, aliases and alias history')
  FROM dblink('restored', 'SELECT n, md5 FROM (' || rtrim(pg_get_viewdef('cycle_digest'), E'; \n') || ') d')
       AS t(n bigint, md5 text);
SELECT is(bad, 0::bigint, 'restored: dump_t@champion scores as version 1, where the rollback left it')
  FROM dblink('restored', $$SELECT count(*) FROM fx.orders o
                            WHERE risk.score('dump_t@champion', o) IS DISTINCT FROM risk.score('dump_t@1', o)$$) AS t(bad bigint);
SELECT dblink_exec('restored', 'SET statement_timeout = ''60s''') \g /dev/null
SELECT is(d, (SELECT 'block:' || current_version FROM risk.rule_sets WHERE name = 'rs_rules'),
          'restored: the trigger decides with the current version of its rules')
  FROM dblink('restored', $$INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h,
                              distinct_cards_24h, ip_country_mismatch, hour_of_day, coupon_used, f_block)
                            VALUES (9001, 35.90, 812, false, 0, 1, false, 14, false, true)
                            RETURNING decision || ':' || rules_version$$) AS t(d text);
SELECT ok(i > :last_item, 'restored: new list items go on from the last id')
  FROM dblink('restored', $$SELECT risk.add_to_list('rs_devices', 'after-restore')$$) AS t(i bigint);

SELECT dblink_disconnect('restored') \g /dev/null
DROP DATABASE risk_restored;
\! rm -f "$RISK_DUMP"

SELECT is(risk.drop_model('dump_m'), 2, 'clean up dump_m');
SELECT is(risk.drop_model('dump_bin'), 1, 'clean up dump_bin');
SELECT risk.remove_alias('dump_t', 'champion') \g /dev/null
SELECT risk.drop_model('dump_t') \g /dev/null
SELECT * FROM finish();
