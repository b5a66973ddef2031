-- Rules under concurrency: four pgbench clients insert orders three to a
-- statement through the scoring trigger while they also publish new
-- versions of the rule set and roll back to older ones.  Every row is
-- decided by exactly one committed version, recorded in the row, the same
-- for all rows of a statement, with the decision and hits that version
-- gives it (recomputed afterwards with risk.decide).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(5);

\set model_file :fx '/orders_fraud.json'
SELECT risk.load_model('rc_m', :'model_file') IS NOT NULL AS loaded \gset
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('rc_m', 0.2, 0.6);
CREATE SCHEMA rc;
CREATE TABLE rc.src AS
SELECT g AS n, (abs(hashint4(g)) % 900)::numeric(12,2) AS amount, abs(hashint4(-g)) % 400 AS account_age_days,
       g % 3 = 0 AS is_new_device, g % 5 AS orders_1h, g % 4 AS distinct_cards_24h, g % 7 = 0 AS ip_country_mismatch,
       g % 24 AS hour_of_day, g % 2 = 0 AS coupon_used
  FROM generate_series(1, 30000) g;
CREATE TABLE rc.orders (
    batch bigint, n int, amount numeric(12,2), account_age_days int, is_new_device boolean, orders_1h int,
    distinct_cards_24h int, ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    score double precision, decision text, reasons text[], hits text[], shadow_hits text[], rules_version int);
CREATE FUNCTION rc.features(o rc.orders) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int]::float8[];
CREATE TRIGGER score BEFORE INSERT ON rc.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('rc_m', 'rc.features', 'score', 'decision', 'reasons',
    'rules=rc', 'hits=hits', 'shadow_hits=shadow_hits', 'rules_version=rules_version');
SELECT risk.create_rule_set('rc', 'rc.orders', 'rc_m');
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('rc', 'big', 'amount > 500', 'block', 'enforce', 1, 'big'),
  ('rc', 'young', 'account_age_days < 100', 'review', 'enforce', 2, 'young'),
  ('rc', 'night', 'hour_of_day < 5', 'allow', 'shadow', 3, 'night');
SELECT risk.publish_rules('rc') AS v1 \gset
CREATE SEQUENCE rc.next_batch;
-- a new version (thresholds drawn at random, modes swapped) or a rollback to an older one
CREATE FUNCTION rc.change() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  IF random() < 0.5 AND (SELECT max(version) FROM risk.rule_versions WHERE rule_set = 'rc') > 1 THEN
    RETURN risk.rollback_rules('rc', 1 + floor(random() * (SELECT max(version) FROM risk.rule_versions WHERE rule_set = 'rc'))::int);
  END IF;
  UPDATE risk.rules SET expression = format('amount > %s', 100 + floor(random() * 800)) WHERE rule_set = 'rc' AND key = 'big';
  UPDATE risk.rules SET expression = format('account_age_days < %s', floor(random() * 400)),
                        mode = CASE WHEN random() < 0.5 THEN 'enforce' ELSE 'shadow' END
   WHERE rule_set = 'rc' AND key = 'young';
  UPDATE risk.rules SET mode = CASE WHEN mode = 'shadow' THEN 'enforce' ELSE 'shadow' END WHERE rule_set = 'rc' AND key = 'night';
  RETURN risk.publish_rules('rc');
END $$;

\set insert_script :fx '/rules_insert.pgbench'
\set change_script :fx '/rules_change.pgbench'
\set out :fx '/rules_concurrency.log'
\setenv RISK_INSERT_SCRIPT :insert_script
\setenv RISK_CHANGE_SCRIPT :change_script
\setenv RISK_PGBENCH_OUT :out
\setenv RISK_PGBENCH_DB :DBNAME
\! echo "WITH b AS (SELECT nextval('rc.next_batch') AS b) INSERT INTO rc.orders (batch, n, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h, ip_country_mismatch, hour_of_day, coupon_used) SELECT b.b, s.* FROM b, rc.src s WHERE s.n BETWEEN 3 * b.b - 2 AND 3 * b.b;" > "$RISK_INSERT_SCRIPT"
\! echo "SELECT rc.change();" > "$RISK_CHANGE_SCRIPT"
\! "$(pg_config --bindir)/pgbench" -n -c 4 -j 2 -t 600 -f "$RISK_INSERT_SCRIPT@9" -f "$RISK_CHANGE_SCRIPT@1" "$RISK_PGBENCH_DB" > "$RISK_PGBENCH_OUT" 2>&1

SELECT ok((SELECT count(DISTINCT rules_version) FROM rc.orders) >= 5,
          'the rows were decided by several versions, published and rolled back while they were inserted');
SELECT is((SELECT count(*) FROM rc.orders WHERE rules_version IS NULL
              OR rules_version NOT IN (SELECT version FROM risk.rule_versions WHERE rule_set = 'rc')), 0::bigint,
          'every row records a committed version');
SELECT is((SELECT count(*) FROM (SELECT batch FROM rc.orders GROUP BY batch HAVING count(DISTINCT rules_version) > 1) x),
          0::bigint, 'the three rows of a statement: one version');
SELECT is((SELECT count(*) FROM rc.orders o, LATERAL risk.decide('rc', o, rc.features(o), o.score, version => o.rules_version) d
            WHERE d.decision IS DISTINCT FROM o.decision OR d.hits IS DISTINCT FROM o.hits
               OR d.shadow_hits IS DISTINCT FROM o.shadow_hits), 0::bigint,
          'every row has the decision and hits of its version, recomputed');
SELECT ok((SELECT count(*) FROM rc.orders) >= 3 * 1800 AND (SELECT count(*) FROM risk.rule_publications WHERE rule_set = 'rc') >= 20,
          'thousands of rows and tens of publications');

SELECT * FROM finish();
