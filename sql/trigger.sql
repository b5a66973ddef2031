-- risk.score_trigger: rows inserted one by one, by INSERT ... SELECT and by
-- COPY get the score risk.score gives the same features, the decision of
-- the thresholds table, and as reasons the top positive SHAP values of
-- risk.score_contributions; a threshold changed in another session holds
-- at once; bad arguments are clear errors on first use.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SET client_min_messages = warning;
SELECT plan(30);

\set model_file :fx '/orders_fraud.json'
SELECT risk.load_model('trig_m', :'model_file') IS NOT NULL AS loaded \gset
CREATE SCHEMA trig;
CREATE TABLE trig.orders (
    order_id int PRIMARY KEY, amount numeric(12,2), account_age_days int, is_new_device boolean,
    orders_1h int, distinct_cards_24h int, ip_country_mismatch boolean, hour_of_day int, coupon_used boolean,
    score double precision, decision text, reasons text[]);
CREATE FUNCTION trig.features(o trig.orders) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int]::float8[];
CREATE TRIGGER score BEFORE INSERT ON trig.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('trig_m', 'trig.features', 'score', 'decision', 'reasons');

SELECT throws_ok($$INSERT INTO trig.orders (order_id, amount) VALUES (0, 10)$$, 'P0002',
                 'model "trig_m" has no decision thresholds', 'no thresholds for the model: P0002, with a hint');
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('trig_m', 0.2, 0.6);

-- 3,000 rows: one INSERT ... SELECT, then COPY, then rows one by one
INSERT INTO trig.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                         ip_country_mismatch, hour_of_day, coupon_used)
SELECT g, round((exp(3.5 + 1.2 * sin(g * 12.9898)) )::numeric, 2), (g * 37) % 900, CASE WHEN g % 17 = 0 THEN NULL ELSE g % 7 = 0 END,
       g % 5, 1 + (g % 11 = 0)::int, g % 13 = 0, g % 24, g % 9 = 0
  FROM generate_series(1, 2000) g;
COPY trig.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                  ip_country_mismatch, hour_of_day, coupon_used) FROM STDIN;
2001	420.00	2	t	1	1	t	3	f
2002	18.50	45	f	5	3	f	22	t
2003	129.99	0	\N	2	2	\N	11	t
2004	35.90	812	f	0	1	f	14	f
\.
DO $$
BEGIN
    FOR g IN 2005..3000 LOOP
        INSERT INTO trig.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                                 ip_country_mismatch, hour_of_day, coupon_used)
        VALUES (g, 5 + (g % 97) * 7.5, g % 400, g % 3 = 0, g % 8, 1 + g % 4, g % 6 = 0, g % 24, g % 2 = 0);
    END LOOP;
END $$;

SELECT is((SELECT count(*) FROM trig.orders WHERE score = risk.score('trig_m', trig.features(orders))), 3000::bigint,
          'every inserted row''s score = risk.score of its features (INSERT ... SELECT, COPY, one by one)');
SELECT is((SELECT count(*) FROM trig.orders
            WHERE decision = CASE WHEN score >= 0.6 THEN 'block' WHEN score >= 0.2 THEN 'review' ELSE 'allow' END),
          3000::bigint, 'decisions by the thresholds: block at 0.6, review at 0.2');
SELECT ok((SELECT count(DISTINCT decision) = 3 FROM trig.orders), '(all three decisions occur)');
SELECT is((SELECT count(*) FROM trig.orders WHERE decision = 'allow' AND reasons IS NOT NULL), 0::bigint,
          'no reasons for allowed rows');
SELECT is((SELECT count(*) FROM trig.orders o
            WHERE decision <> 'allow'
              AND reasons IS NOT DISTINCT FROM
                  (SELECT coalesce(array_agg(f.feature ORDER BY c.phi DESC), '{}')
                     FROM (SELECT phi, ordinal FROM unnest(risk.score_contributions('trig_m', trig.features(o)))
                                                WITH ORDINALITY u(phi, ordinal)
                            WHERE ordinal <= 8 AND phi > 0 ORDER BY phi DESC LIMIT 3) c
                     JOIN risk.model_features('trig_m') f USING (ordinal))),
          (SELECT count(*) FROM trig.orders WHERE decision <> 'allow'),
          'reasons for review and block: the three largest positive SHAP values, largest first');

-- a change of thresholds holds from the next statement, in this session and in others
UPDATE risk.decision_thresholds SET review = 0.001 WHERE model = 'trig_m';
INSERT INTO trig.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                         ip_country_mismatch, hour_of_day, coupon_used) VALUES (3001, 35.90, 812, false, 0, 1, false, 14, false);
SELECT is((SELECT decision FROM trig.orders WHERE order_id = 3001), 'review', 'a lower review threshold, at once');
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_exec(format('dbname=%s host=%s port=%s', current_database(),
                          current_setting('unix_socket_directories'), current_setting('port')),
                   $$UPDATE risk.decision_thresholds SET review = 0.5, block = 0.99, reasons = 1 WHERE model = 'trig_m'$$)
  AS updated \gset
INSERT INTO trig.orders (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                         ip_country_mismatch, hour_of_day, coupon_used) VALUES (3002, 35.90, 812, false, 0, 1, false, 14, false),
                                                                               (3003, 900, 0, true, 6, 3, true, 3, false);
SELECT is((SELECT array_agg(decision || ':' || coalesce(cardinality(reasons), 0) ORDER BY order_id)
             FROM trig.orders WHERE order_id IN (3002, 3003)),
          (SELECT array_agg(CASE WHEN score >= 0.99 THEN 'block:1' WHEN score >= 0.5 THEN 'review:1' ELSE 'allow:0' END
                            ORDER BY order_id)
             FROM trig.orders WHERE order_id IN (3002, 3003)),
          'thresholds changed by another session hold at once, with their number of reasons');

-- bad arguments: clear errors on first use
CREATE TABLE trig.other (order_id int, amount real, score double precision, decision text);
CREATE FUNCTION trig.other_features(o trig.other) RETURNS float8[] LANGUAGE sql RETURN ARRAY[o.amount];
CREATE FUNCTION trig.text_features(o trig.other) RETURNS text LANGUAGE sql RETURN 'x';
CREATE PROCEDURE trig.try(args text, timing text DEFAULT 'BEFORE INSERT') LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'DROP TRIGGER IF EXISTS t ON trig.other';
    EXECUTE format('CREATE TRIGGER t %s ON trig.other FOR EACH ROW EXECUTE FUNCTION risk.score_trigger(%s)', timing, args);
    INSERT INTO trig.other VALUES (1, 10);
END $$;
SELECT throws_ok($$CALL trig.try($a$'no_such_model', 'trig.other_features', 'score'$a$)$$, '42704', NULL,
                 'an unknown model: 42704');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.nope', 'score'$a$)$$, '42883', NULL,
                 'an unknown features function: 42883');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.text_features', 'score'$a$)$$, '42804', NULL,
                 'a features function returning text: 42804');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.other_features', 'no_column'$a$)$$, '42703',
                 'risk.score_trigger t: table "other" has no column "no_column" for the score', 'a missing column: 42703');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.other_features', 'decision'$a$)$$, '42804',
                 'risk.score_trigger t: column "decision" of "other" must be double precision for the score, not text',
                 'a column of the wrong type: 42804');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.other_features', 'score'$a$)$$, '22023',
                 'model "trig_m" expects 8 features, got 1',
                 'the wrong number of features: 22023, as risk.score says it');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.other_features'$a$)$$, '22023', NULL, 'too few arguments: 22023');
SELECT throws_ok($$CALL trig.try($a$'trig_m', 'trig.other_features', 'score'$a$, 'AFTER INSERT')$$, '39P01',
                 'risk.score_trigger must be fired BEFORE INSERT FOR EACH ROW', 'an AFTER trigger: 39P01');


-- the features are checked as risk.score checks an array: the same error, the same SQLSTATE
CREATE TABLE trig.raw (order_id int, features float8[], score double precision);
CREATE FUNCTION trig.raw_features(o trig.raw) RETURNS float8[] LANGUAGE sql RETURN o.features;
CREATE TRIGGER t BEFORE INSERT ON trig.raw FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('trig_m', 'trig.raw_features', 'score');
CREATE FUNCTION trig.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT is(trig.error_of(format('INSERT INTO trig.raw VALUES (1, %L)', a)),
          trig.error_of(format('SELECT risk.score(%L, %L::float8[])', 'trig_m', a)),
          'trigger and risk.score: ' || trig.error_of(format('SELECT risk.score(%L, %L::float8[])', 'trig_m', a)))
  FROM unnest(ARRAY['{1,2,3}', '{Infinity,1,1,1,1,1,1,1}', '{1,1,1,1e300,1,1,1,1}', '{1,1,1,1,1,1,1,-Infinity}',
                    '{{1,1,1,1},{1,1,1,1}}']) a;
SELECT is((SELECT count(*) FROM trig.raw), 0::bigint, 'no row with refused features was stored');
INSERT INTO trig.raw VALUES (2, '{420,2,NULL,1,1,NaN,3,0}');
SELECT is((SELECT score FROM trig.raw WHERE order_id = 2), risk.score('trig_m', '{420,2,NULL,1,1,NaN,3,0}'::float8[]),
          'NULL and NaN are missing values, in the trigger as in risk.score');

-- features=column: each row keeps the features it was scored with, as the model read them
CREATE TABLE trig.kept (order_id int, features float8[], score double precision, decision text, reasons text[],
                        kept real[], kept8 float8[]);
CREATE FUNCTION trig.kept_features(o trig.kept) RETURNS float8[] LANGUAGE sql RETURN o.features;
CREATE TRIGGER t BEFORE INSERT ON trig.kept FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('trig_m', 'trig.kept_features', 'score', 'decision', 'reasons', 'features=kept');
CREATE TRIGGER u BEFORE INSERT ON trig.kept FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('trig_m', 'trig.kept_features', 'score', 'decision', 'reasons', 'features=kept8');
INSERT INTO trig.kept (order_id, features) VALUES (1, '{420,2,NULL,1,1,NaN,3,0}'), (2, '{0.1,812,0,0,1,0,14,1}'),
  (3, '{NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL}');
SELECT is((SELECT array_agg(kept::text ORDER BY order_id) FROM trig.kept),
          '{"{420,2,NULL,1,1,NULL,3,0}","{0.1,812,0,0,1,0,14,1}","{NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL}"}',
          'features=: a real[] column keeps the features, missing values (NULL or NaN) as NULL');
SELECT is((SELECT kept8 FROM trig.kept WHERE order_id = 2), ARRAY[0.1::real::float8, 812, 0, 0, 1, 0, 14, 1],
          'features=: a float8[] column keeps them as the model read them, rounded to real');
SELECT is((SELECT count(*) FROM trig.kept WHERE risk.score('trig_m', kept) = score AND risk.score('trig_m', kept8) = score),
          3::bigint, 'the kept features give the row''s score again');
SELECT throws_ok($$CREATE TRIGGER v BEFORE INSERT ON trig.kept FOR EACH ROW
                     EXECUTE FUNCTION risk.score_trigger('trig_m', 'trig.kept_features', 'score', 'decision', 'reasons',
                                                         'features=decision');
                   INSERT INTO trig.kept (order_id, features) VALUES (4, '{1,1,1,1,1,1,1,1}')$$, '42804',
                 'risk.score_trigger v: the features column "decision" is text, not real[], double precision[] or jsonb',
                 'features= names a column of another type: 42804');

-- an unqualified features function is the one in the table's schema, whatever
-- the inserting session's search_path: an inserting role cannot shadow it
CREATE TABLE trig.guarded (LIKE trig.orders);
CREATE FUNCTION trig.guarded_features(o trig.guarded) RETURNS float8[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device::int, o.orders_1h, o.distinct_cards_24h,
               o.ip_country_mismatch::int, o.hour_of_day, o.coupon_used::int]::float8[];
CREATE TRIGGER score BEFORE INSERT ON trig.guarded FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('trig_m', 'guarded_features', 'score', 'decision');
CREATE ROLE regress_risk_intruder;
GRANT USAGE ON SCHEMA trig TO regress_risk_intruder;
GRANT INSERT, SELECT ON trig.guarded TO regress_risk_intruder;
GRANT SELECT ON risk.model_registry, risk.decision_thresholds TO regress_risk_intruder;
CREATE SCHEMA intruder AUTHORIZATION regress_risk_intruder;
SET ROLE regress_risk_intruder;
CREATE FUNCTION intruder.guarded_features(o trig.guarded) RETURNS float8[] LANGUAGE sql
  RETURN '{0,900,0,0,1,0,14,0}'::float8[];
SET search_path = intruder, pg_catalog, trig, public;
INSERT INTO trig.guarded (order_id, amount, account_age_days, is_new_device, orders_1h, distinct_cards_24h,
                          ip_country_mismatch, hour_of_day, coupon_used) VALUES (1, 900, 0, true, 6, 3, true, 3, false);
RESET search_path;
RESET ROLE;
SELECT is((SELECT score FROM trig.guarded), (SELECT risk.score('trig_m', trig.guarded_features(g)) FROM trig.guarded g),
          'a role inserting under its own search_path is scored by the trigger''s features function, not its own');
SELECT is((SELECT decision FROM trig.guarded), 'review',
          '(its decision: review, where the intruder''s features would have allowed it)');
SELECT throws_ok($$CREATE TRIGGER t2 BEFORE INSERT ON trig.raw FOR EACH ROW
                     EXECUTE FUNCTION risk.score_trigger('trig_m', 'raw_features_elsewhere', 'score');
                   INSERT INTO trig.raw VALUES (3, '{1,1,1,1,1,1,1,1}')$$, '42883',
                 'risk.score_trigger t2: no function trig.raw_features_elsewhere(trig.raw)',
                 'an unqualified features function not in the table''s schema: 42883, naming where it was looked up');
DROP SCHEMA intruder CASCADE;
REVOKE ALL ON risk.model_registry, risk.decision_thresholds FROM regress_risk_intruder;

DROP SCHEMA trig CASCADE;
DROP ROLE regress_risk_intruder;
DELETE FROM risk.decision_thresholds WHERE model = 'trig_m';
SELECT risk.drop_model('trig_m') AS dropped \gset
