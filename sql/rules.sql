-- Rules as data: the decision policy on a table of cases (each action and
-- mode, NULL results, erroring rules, allow against block, rules against
-- thresholds), the trigger against risk.decide on the same rows, every
-- publish-time error with its SQLSTATE (a failed publish changes nothing),
-- versions, rollback and four eyes, lists with their history, privileges,
-- a cancel inside a rule.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SET client_min_messages = warning;
SELECT plan(75);

\set model_file :fx '/orders_fraud.json'
SELECT risk.load_model('rules_m', :'model_file') IS NOT NULL AS loaded \gset
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('rules_m', 0.2, 0.6);
CREATE SCHEMA rs;
-- profile 1, 2, 3: the model allows (0.0085), reviews (0.5312), blocks (0.6244)
CREATE TABLE rs.profiles (profile int PRIMARY KEY, amount numeric(12,2), account_age_days int, is_new_device boolean,
    orders_1h int, distinct_cards_24h int, ip_country_mismatch boolean, hour_of_day int, coupon_used boolean);
INSERT INTO rs.profiles VALUES (1, 35.90, 812, false, 0, 1, false, 14, false),
                               (2, 420.00, 2, true, 1, 1, true, 3, false),
                               (3, 900.00, 0, true, 6, 3, true, 3, false);
CREATE TABLE rs.orders (
    order_id int PRIMARY KEY, amount numeric(12,2), account_age_days int, is_new_device boolean,
    orders_1h int, distinct_cards_24h int, ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    f_block boolean, f_allow boolean, f_review boolean, f_shadow boolean, f_error boolean, device text,
    score double precision, decision text, reasons text[], hits text[], shadow_hits text[], rule_errors text[],
    rules_version int);
CREATE FUNCTION rs.features(o rs.orders) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int]::float8[];
CREATE TRIGGER score BEFORE INSERT ON rs.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('rules_m', 'rs.features', 'score', 'decision', 'reasons',
    'rules=rs_rules', 'hits=hits', 'shadow_hits=shadow_hits', 'rule_errors=rule_errors', 'rules_version=rules_version');

SELECT lives_ok($$SELECT risk.create_rule_set('rs_rules', 'rs.orders', 'rules_m', 'the cases')$$, 'create_rule_set');
SELECT throws_ok($$SELECT risk.create_rule_set('rs_rules', 'rs.orders', 'rules_m')$$, '42710',
                 'rule set "rs_rules" already exists', 'a rule set twice: 42710');
SELECT throws_ok($$SELECT risk.create_rule_set('bad name', 'rs.orders', 'rules_m')$$, '42602',
                 'invalid rule set name "bad name"', 'a bad name: 42602');
SELECT throws_ok($$SELECT risk.create_rule_set('x', 'rs.orders', 'no_model')$$, '42704', NULL, 'an unknown model: 42704');

-- nothing published: the thresholds decide, no version
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used)
SELECT 1000 + profile, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
       ip_country_mismatch, hour_of_day, coupon_used FROM rs.profiles;
SELECT is((SELECT string_agg(decision || ':' || coalesce(rules_version::text, '-'), ',' ORDER BY order_id)
             FROM rs.orders WHERE order_id > 1000), 'allow:-,review:-,block:-',
          'before the first publish the thresholds decide and no version is recorded');

-- the rules of the cases: each flag column drives one rule
SELECT risk.create_list('rs_devices');
SELECT risk.add_to_list('rs_devices', 'dev-bad', 'chargeback');
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('rs_rules', 'block_flag', 'f_block', 'block', 'enforce', 10, 'block flag'),
  ('rs_rules', 'block_list', $$risk.in_list('rs_devices', device)$$, 'block', 'enforce', 5, 'device on the list'),
  ('rs_rules', 'allow_flag', 'f_allow', 'allow', 'enforce', 20, 'trusted lane'),
  ('rs_rules', 'review_flag', 'new.f_review', 'review', 'enforce', 30, 'review flag'),
  ('rs_rules', 'shadow_flag', 'f_shadow', 'block', 'shadow', 40, 'shadow block'),
  ('rs_rules', 'off_rule', 'true', 'block', 'off', 1, 'never runs'),
  ('rs_rules', 'error_flag', 'CASE WHEN f_error THEN 1 / (orders_1h - orders_1h) > 0 END', 'block', 'enforce', 50, 'divides by zero');
SELECT is(risk.publish_rules('rs_rules', 'the cases'), 1, 'the first publish is version 1');

CREATE TABLE rs.cases (order_id int, profile int, f_block boolean, f_allow boolean, f_review boolean,
                       f_shadow boolean, f_error boolean, device text,
                       decision text, hits text, shadow_hits text, rule_errors text);
INSERT INTO rs.cases VALUES
  -- nothing hits: the thresholds decide
  (1, 1, false, false, false, false, false, NULL, 'allow', NULL, NULL, NULL),
  (2, 2, false, false, false, false, false, NULL, 'review', NULL, NULL, NULL),
  (3, 3, false, false, false, false, false, NULL, 'block', NULL, NULL, NULL),
  -- a block rule blocks whatever the model says
  (4, 1, true, false, false, false, false, NULL, 'block', 'block_flag', NULL, NULL),
  (5, 1, false, false, false, false, false, 'dev-bad', 'block', 'block_list', NULL, NULL),
  -- an allow rule wins over the model and over review rules ...
  (6, 3, false, true, false, false, false, NULL, 'allow', 'allow_flag', NULL, NULL),
  (7, 2, false, true, true, false, false, NULL, 'allow', 'allow_flag,review_flag', NULL, NULL),
  -- ... but not over a block rule
  (8, 1, true, true, false, false, false, NULL, 'block', 'block_flag,allow_flag', NULL, NULL),
  -- a review rule raises an allow, never lowers a block
  (9, 1, false, false, true, false, false, NULL, 'review', 'review_flag', NULL, NULL),
  (10, 3, false, false, true, false, false, NULL, 'block', 'review_flag', NULL, NULL),
  -- shadow and off rules never act
  (11, 1, false, false, false, true, false, NULL, 'allow', NULL, 'shadow_flag', NULL),
  -- NULL is not a hit
  (12, 1, NULL, NULL, NULL, NULL, NULL, NULL, 'allow', NULL, NULL, NULL),
  -- a rule that raises is recorded; the row is decided without it
  (13, 1, false, false, false, false, true, NULL, 'allow', NULL, NULL, 'error_flag'),
  (14, 1, true, false, false, false, true, NULL, 'block', 'block_flag', NULL, 'error_flag'),
  (15, 2, false, true, false, true, true, 'dev-bad', 'block', 'block_list,allow_flag', 'shadow_flag', 'error_flag');
SET client_min_messages = error;
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used, f_block, f_allow, f_review, f_shadow, f_error, device)
SELECT c.order_id, p.amount, p.account_age_days, p.is_new_device, p.orders_1h, p.distinct_cards_24h,
       p.ip_country_mismatch, p.hour_of_day, p.coupon_used, c.f_block, c.f_allow, c.f_review, c.f_shadow, c.f_error, c.device
  FROM rs.cases c JOIN rs.profiles p USING (profile) ORDER BY c.order_id;
SET client_min_messages = warning;

-- the whole table of outcomes (the expected file shows it), then each case checked
SELECT o.order_id, o.decision, array_to_string(o.hits, ','), array_to_string(o.shadow_hits, ','),
       array_to_string(o.rule_errors, ','), o.rules_version, array_to_string(o.reasons, ',')
  FROM rs.orders o WHERE o.order_id < 1000 ORDER BY o.order_id;
SELECT is((SELECT count(*) FROM rs.orders o JOIN rs.cases c USING (order_id)
            WHERE o.decision IS NOT DISTINCT FROM c.decision
              AND array_to_string(o.hits, ',') IS NOT DISTINCT FROM c.hits
              AND array_to_string(o.shadow_hits, ',') IS NOT DISTINCT FROM c.shadow_hits
              AND array_to_string(o.rule_errors, ',') IS NOT DISTINCT FROM c.rule_errors
              AND o.rules_version = 1), 15::bigint, 'the 15 cases: decision, hits, shadow hits, errors and version as the policy says');
SELECT is((SELECT array_to_string(reasons, ',') FROM rs.orders WHERE order_id = 8),
          'block flag,amount,coupon_used', 'reasons: the deciding rule''s description first, then the features');
SELECT is((SELECT reasons FROM rs.orders WHERE order_id = 6), ARRAY['trusted lane'],
          'an allow by a rule names the rule');
SELECT is((SELECT array_to_string(reasons, ',') FROM rs.orders WHERE order_id = 10),
          'orders_1h,is_new_device,distinct_cards_24h', 'a block by the model names the features only');

-- the same evaluation in a query: the trigger's decisions, hits and reasons exactly
SELECT is((SELECT count(*) FROM rs.orders o, LATERAL risk.decide('rs_rules', o, rs.features(o)) d
            WHERE d.decision IS NOT DISTINCT FROM o.decision AND d.hits IS NOT DISTINCT FROM o.hits
              AND d.shadow_hits IS NOT DISTINCT FROM o.shadow_hits AND d.rule_errors IS NOT DISTINCT FROM o.rule_errors
              AND d.reasons IS NOT DISTINCT FROM o.reasons AND d.rules_version = 1),
          (SELECT count(*) FROM rs.orders), 'risk.decide gives every row what the trigger gave it');
SELECT is((SELECT count(*) FROM rs.orders o, LATERAL risk.decide('rs_rules', o, rs.features(o)::real[], o.score) d
            WHERE d.decision IS NOT DISTINCT FROM o.decision AND d.hits IS NOT DISTINCT FROM o.hits),
          (SELECT count(*) FROM rs.orders), 'risk.decide with real[] features and the stored score: the same');
SELECT is((SELECT string_agg(key || ':' || outcome, ',' ORDER BY priority)
             FROM risk.explain_rules('rs_rules', (SELECT o FROM rs.orders o WHERE order_id = 15),
                                     (SELECT rs.features(o) FROM rs.orders o WHERE order_id = 15))),
          'off_rule:off,block_list:hit,block_flag:miss,allow_flag:hit,review_flag:miss,shadow_flag:hit,error_flag:error',
          'explain_rules: each rule''s outcome in priority order');
SELECT is((SELECT error FROM risk.explain_rules('rs_rules', (SELECT o FROM rs.orders o WHERE order_id = 15),
                                     (SELECT rs.features(o) FROM rs.orders o WHERE order_id = 15)) WHERE key = 'error_flag'),
          'division by zero', 'explain_rules: the message of the rule that raised');
SELECT throws_ok($$SELECT risk.decide('rs_rules', p, ARRAY[1.0]::float8[]) FROM rs.profiles p$$, '42804', NULL,
                 'risk.decide of a row of another table: 42804');
SELECT throws_ok($$SELECT risk.decide('rs_rules', o, ARRAY[1.0]::float8[]) FROM rs.orders o$$, '22023', NULL,
                 'risk.decide with the wrong number of features: 22023, as risk.score');
SELECT throws_ok($$SELECT risk.decide('nope', o, rs.features(o)) FROM rs.orders o$$, '42704',
                 'rule set "nope" does not exist', 'risk.decide of an unknown rule set: 42704');

-- one warning per statement and rule that raises
SELECT is((SELECT count(*) FROM rs.orders WHERE rule_errors IS NOT NULL), 3::bigint, 'three rows recorded the error');

-- publish-time errors, each with its SQLSTATE; a failed publish changes nothing
CREATE FUNCTION rs.publish_error(expression text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  UPDATE risk.rules SET expression = publish_error.expression WHERE rule_set = 'rs_rules' AND key = 'candidate';
  PERFORM risk.publish_rules('rs_rules');
  RETURN 'published';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
CREATE FUNCTION rs.stable_raise(x numeric) RETURNS boolean LANGUAGE plpgsql STABLE AS
  $$BEGIN IF x > 100 THEN RAISE EXCEPTION 'too big: %', x; END IF; RETURN x > 10; END$$;
INSERT INTO risk.rules (rule_set, key, expression, action, description)
VALUES ('rs_rules', 'candidate', 'true', 'review', 'the candidate');
SELECT is(rs.publish_error('amount >'), '42601 rule set "rs_rules", rule "candidate": syntax error at end of input', 'a syntax error: 42601');
SELECT is(rs.publish_error('true; DROP TABLE rs.orders'), '42601 rule set "rs_rules", rule "candidate" is not one expression', 'two statements: 42601');
SELECT is(rs.publish_error('true FROM pg_authid'), '42601 rule set "rs_rules", rule "candidate" is not one expression', 'a FROM clause: 42601');
SELECT is(rs.publish_error('amount + 1'), '42804 rule set "rs_rules", rule "candidate" is of type numeric, not boolean', 'not boolean: 42804');
SELECT is(rs.publish_error('no_such_column > 1'), '42703 rule set "rs_rules", rule "candidate": column "no_such_column" does not exist', 'an unknown column or feature: 42703');
SELECT is(rs.publish_error('features.f_block'), '42703 rule set "rs_rules", rule "candidate": model "rules_m" has no feature "f_block"', 'a column is not a feature: 42703');
SELECT is(rs.publish_error('no_such_function(amount)'), '42883 rule set "rs_rules", rule "candidate": function no_such_function(numeric) does not exist', 'an unknown function: 42883');
SELECT is(rs.publish_error('random() > 0.5'), '42P17 rule set "rs_rules", rule "candidate" uses a volatile function', 'a volatile function: 42P17');
SELECT is(rs.publish_error('amount > (SELECT 1)'), '0A000 rule set "rs_rules", rule "candidate" uses a subquery', 'a subquery: 0A000');
SELECT is(rs.publish_error('EXISTS (SELECT FROM rs.profiles)'), '0A000 rule set "rs_rules", rule "candidate" uses a subquery', 'EXISTS: 0A000');
SELECT is(rs.publish_error('count(*) > 1'), '42803 rule set "rs_rules", rule "candidate" uses an aggregate function', 'an aggregate: 42803');
SELECT is(rs.publish_error('row_number() OVER () > 1'), '42P20 rule set "rs_rules", rule "candidate" uses a window function', 'a window function: 42P20');
SELECT is(rs.publish_error('generate_series(1, 2) > 1'), '0A000 rule set "rs_rules", rule "candidate" uses a set-returning function', 'a set-returning function: 0A000');
SELECT is(rs.publish_error($$risk.in_list('no_such_list', device)$$), '42704 rule set "rs_rules", rule "candidate" reads list "no_such_list", which does not exist', 'an unknown list: 42704');
SELECT is(rs.publish_error('current_date > ''2020-01-01'''), '42P17 rule set "rs_rules", rule "candidate" reads the clock', 'the wall clock: 42P17');
SELECT is(rs.publish_error('$1 > 0'), '42P02 rule set "rs_rules", rule "candidate": there is no parameter $1', 'a parameter: 42P02');
SELECT is((SELECT count(*) FROM risk.rule_versions WHERE rule_set = 'rs_rules'), 1::bigint, 'no failed publish made a version');
SELECT is((SELECT current_version FROM risk.rule_sets WHERE name = 'rs_rules'), 1, 'nor changed the current version');
UPDATE risk.rules SET expression = 'amount / 0' WHERE rule_set = 'rs_rules' AND key = 'candidate';
SELECT is((SELECT string_agg(key || ' ' || sqlstate, ',') FROM risk.check_rules('rs_rules')), 'candidate 42804',
          'check_rules lists the invalid draft rules with their SQLSTATE');

-- version 2: the candidate enforced, through a stable function that raises; changes hold from the next statement
SELECT is(rs.publish_error('rs.stable_raise(amount)'), 'published', 'a stable function in a rule publishes');
UPDATE risk.rules SET mode = 'enforce' WHERE rule_set = 'rs_rules' AND key = 'candidate';
SELECT is(risk.publish_rules('rs_rules', 'candidate enforced'), 3, 'version 3');
SET client_min_messages = error;
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used)
SELECT 2000 + profile, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
       ip_country_mismatch, hour_of_day, coupon_used FROM rs.profiles;
SET client_min_messages = warning;
SELECT is((SELECT string_agg(order_id || ':' || decision || ':' || coalesce(array_to_string(hits, ','), '')
                             || ':' || coalesce(array_to_string(rule_errors, ','), '') || ':' || rules_version, ' ' ORDER BY order_id)
             FROM rs.orders WHERE order_id > 2000),
          '2001:review:candidate::3 2002:review::candidate:3 2003:block::candidate:3',
          'a stable function that raises (in a subtransaction): recorded, the rows decided without it');
SELECT is(risk.rollback_rules('rs_rules', 1, 'back to the cases'), 1, 'rollback to version 1');
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used, f_block)
VALUES (3001, 35.90, 812, false, 0, 1, false, 14, false, true);
SELECT is((SELECT decision || ':' || rules_version FROM rs.orders WHERE order_id = 3001), 'block:1',
          'the next statement decides with the rolled-back version');
SELECT is((SELECT string_agg(seq || ':' || version || ':' || event, ',' ORDER BY seq) FROM risk.rule_publications
            WHERE rule_set = 'rs_rules'), '1:1:publish,2:2:publish,3:3:publish,4:1:rollback',
          'every publish and rollback recorded');
SELECT throws_ok($$UPDATE risk.published_rules SET expression = 'false' WHERE rule_set = 'rs_rules'$$, '0A000', NULL,
                 'published rules never change');
SELECT throws_ok($$DELETE FROM risk.rule_versions WHERE rule_set = 'rs_rules'$$, '0A000', NULL,
                 'versions are never deleted');

-- lists keep their history
SELECT risk.create_list('rs_nets', 'inet', 'proxies');
SELECT risk.add_to_list('rs_nets', '203.0.113.0/24'::cidr, 'proxy range', valid_from => '2026-01-01', expires_at => '2026-02-01');
SELECT risk.add_to_list('rs_nets', '198.51.100.7', 'one proxy', valid_from => '2026-01-15');
SELECT is(ARRAY[risk.in_list('rs_nets', '203.0.113.9'::inet, '2026-01-10'), risk.in_list('rs_nets', '203.0.113.9'::inet, '2026-02-10'),
                risk.in_list('rs_nets', '203.0.113.9'::inet, '2025-12-31'), risk.in_list('rs_nets', '198.51.100.7'::inet, '2026-01-20'),
                risk.in_list('rs_nets', '198.51.100.8'::inet, '2026-01-20'), risk.in_list('rs_nets', '203.0.114.1'::inet, '2026-01-10')],
          ARRAY[true, false, false, true, false, false], 'an inet list: networks contain addresses, within their time');
SELECT is(risk.remove_from_list('rs_devices', 'dev-bad', 'false positive'), 1, 'remove_from_list marks one item');
SELECT is((SELECT ARRAY[risk.in_list('rs_devices', 'dev-bad'), risk.in_list('rs_devices', 'dev-bad', removed_at - interval '1 microsecond'),
                        risk.in_list('rs_devices', 'dev-bad', removed_at)]
             FROM risk.list_items WHERE list = 'rs_devices'),
          ARRAY[false, true, false], 'a removed item: on the list until its removal, not from it');
SELECT is((SELECT count(*) FROM risk.list_items WHERE list = 'rs_devices' AND removed_by IS NOT NULL), 1::bigint,
          'the removed item stays, with who removed it');
SELECT throws_ok($$DELETE FROM risk.list_items$$, '0A000', NULL, 'list items are never deleted');
SELECT throws_ok($$SELECT risk.in_list('rs_nets', 42)$$, '42804', NULL, 'an inet list takes addresses: 42804');
SELECT is(risk.in_list('rs_nets', '198.51.100.7'::text, '2026-01-20'), true, 'or their text');
SELECT throws_ok($$SELECT risk.in_list('rs_nets', 'not an address'::text)$$, '22P02', NULL,
                 'text that is no address: 22P02');
SELECT throws_ok($$SELECT risk.in_list('no_list', 'x')$$, '42704', 'list "no_list" does not exist', 'an unknown list: 42704');

-- privileges: who may read, edit, publish and approve; the inserting role needs nothing new
CREATE ROLE rs_reader;
CREATE ROLE rs_editor;
CREATE ROLE rs_publisher;
CREATE ROLE rs_approver;
CREATE ROLE rs_inserter;
GRANT USAGE ON SCHEMA rs TO rs_inserter, rs_publisher;
GRANT SELECT ON risk.rules, risk.published_rules, risk.rule_versions TO rs_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON risk.rules TO rs_editor;
GRANT SELECT ON risk.rules, risk.model_registry TO rs_publisher, rs_approver;
GRANT EXECUTE ON FUNCTION risk.publish_rules(text, text), risk.approve_rules(text, integer, text) TO rs_publisher, rs_approver;
GRANT INSERT ON rs.orders TO rs_inserter;
GRANT SELECT ON risk.model_registry, risk.decision_thresholds TO rs_inserter;
SET ROLE rs_reader;
SELECT is((SELECT count(*) FROM risk.rules WHERE rule_set = 'rs_rules'), 8::bigint, 'a reader reads the draft');
SELECT throws_ok($$UPDATE risk.rules SET mode = 'off'$$, '42501', NULL, 'a reader cannot edit: 42501');
RESET ROLE;
-- a function only the table's owner may run: the rules run as the owner
CREATE FUNCTION rs.big_amount(x numeric) RETURNS boolean LANGUAGE plpgsql STABLE AS $$BEGIN RETURN x > 800; END$$;
REVOKE EXECUTE ON FUNCTION rs.big_amount(numeric) FROM PUBLIC;
SET ROLE rs_editor;
SELECT lives_ok($$UPDATE risk.rules SET expression = 'rs.big_amount(amount)', mode = 'enforce' WHERE rule_set = 'rs_rules' AND key = 'candidate'$$,
                'an editor edits the draft');
SELECT is((SELECT updated_by::text FROM risk.rules WHERE rule_set = 'rs_rules' AND key = 'candidate'), 'rs_editor',
          'the draft records who changed a rule');
SELECT throws_ok($$SELECT risk.publish_rules('rs_rules')$$, '42501', NULL, 'an editor cannot publish: 42501');
SELECT throws_ok($$SELECT risk.add_to_list('rs_devices', 'x')$$, '42501', NULL, 'nor change a list: 42501');
RESET ROLE;
SET ROLE rs_publisher;
SELECT is(risk.publish_rules('rs_rules', 'by the publisher'), 4, 'a publisher publishes');
RESET ROLE;
SET ROLE rs_inserter;
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used)
VALUES (4001, 900.00, 812, false, 0, 1, false, 14, false);
RESET ROLE;
SELECT is((SELECT decision || ':' || array_to_string(hits, ',') || ':' || rules_version FROM rs.orders WHERE order_id = 4001),
          'review:candidate:4', 'the inserting role, with no privilege on the rules or what they call, gets their decision');
SELECT is((SELECT published_by::text FROM risk.rule_publications WHERE rule_set = 'rs_rules' AND version = 4),
          'rs_publisher', 'the log names the publisher');

-- four eyes: a version waits for another role
SELECT risk.create_rule_set('rs_four', 'rs.orders', 'rules_m', 'two roles', require_approval => true);
INSERT INTO risk.rules (rule_set, key, expression, action, mode, description)
VALUES ('rs_four', 'big', 'amount > 500', 'review', 'enforce', 'big order');
SET ROLE rs_publisher;
SELECT is(risk.publish_rules('rs_four'), 1, 'published, waiting');
SELECT throws_ok($$SELECT risk.approve_rules('rs_four', 1)$$, '42501',
                 'version 1 of rule set "rs_four" was published by rs_publisher, who cannot approve it',
                 'the publisher cannot approve: 42501');
RESET ROLE;
SELECT is((SELECT current_version FROM risk.rule_sets WHERE name = 'rs_four'), NULL, 'not current before approval');
SET ROLE rs_approver;
SELECT is(risk.approve_rules('rs_four', 1, 'looks right'), 1, 'another role approves');
SELECT throws_ok($$SELECT risk.approve_rules('rs_four', 1)$$, '55000', NULL, 'approved once: 55000');
RESET ROLE;
SELECT is((SELECT current_version || ':' || approved_by FROM risk.rule_sets s JOIN risk.rule_versions v
             ON v.rule_set = s.name AND v.version = s.current_version WHERE s.name = 'rs_four'), '1:rs_approver',
          'current once approved, with the approver recorded');

-- a cancel is never taken for a rule's error: statement_timeout stops the insert
CREATE FUNCTION rs.spin(x numeric) RETURNS boolean LANGUAGE plpgsql STABLE AS $$BEGIN LOOP PERFORM 1; END LOOP; END$$;
UPDATE risk.rules SET expression = 'rs.spin(amount)', mode = 'enforce' WHERE rule_set = 'rs_rules' AND key = 'candidate';
SELECT is(risk.publish_rules('rs_rules'), 5, 'a rule that never ends, published');
SET statement_timeout = '300ms';
SELECT is(fx.cancelled($$INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                                                ip_country_mismatch, hour_of_day, coupon_used)
                         VALUES (5001, 35.90, 812, false, 0, 1, false, 14, false)$$), 'cancelled',
          'statement_timeout stops an insert whose rule never ends: a cancel is not a rule''s error');
RESET statement_timeout;
SELECT is((SELECT count(*) FROM rs.orders WHERE order_id = 5001), 0::bigint, 'and nothing was inserted');
SELECT is(risk.rollback_rules('rs_rules', 4), 4, 'rolled back to version 4');

-- an inserting session's temporary objects do not change what a rule means
UPDATE risk.rules SET expression = $$now()::date > '2020-01-01'::date AND device IS NULL$$ WHERE rule_set = 'rs_rules' AND key = 'candidate';
SELECT is(risk.publish_rules('rs_rules'), 6, 'a rule with a cast');
SET ROLE rs_inserter;
CREATE DOMAIN pg_temp.date AS pg_catalog.date CHECK (VALUE IS NULL);
INSERT INTO rs.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                       ip_country_mismatch, hour_of_day, coupon_used)
VALUES (6001, 35.90, 812, false, 0, 1, false, 14, false);
DROP DOMAIN pg_temp.date;
RESET ROLE;
SELECT is((SELECT coalesce(array_to_string(hits, ','), '') || ':' || coalesce(array_to_string(rule_errors, ','), '')
             FROM rs.orders WHERE order_id = 6001), 'candidate:',
          'a temporary type named like the cast''s is not the rule''s: the rule hit, no error');

SELECT * FROM finish();
