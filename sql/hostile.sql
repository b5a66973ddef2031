-- A hostile search_path: another role owns the schema first on the path and
-- shadows operators (=, <, >), common functions and the extension's own
-- function names with objects that record every call.  The user-facing
-- surface (the README's examples: the registry, scoring by array and by
-- row, explanations, the scoring trigger, velocity features in batch and
-- online, metrics and summaries, synthetic orders, a SECURITY DEFINER
-- wrapper as README's Privileges section shows it, rules and lists, the
-- model cycle: training, importance, aliases, shadow and canary in the
-- trigger, comparisons and drift; feature sets: declaration, batch, the
-- trigger serving one, entity_features, rebuild) runs once under the
-- default path and once under the hostile one: the results are identical
-- and no shadow object ever runs.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(6);

CREATE ROLE regress_risk_hostile;
CREATE SCHEMA hostile AUTHORIZATION regress_risk_hostile;
CREATE TABLE hostile.calls (what text, by_role name);
GRANT INSERT, SELECT ON hostile.calls TO PUBLIC;

SET ROLE regress_risk_hostile;
CREATE FUNCTION hostile.record(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hostile.calls VALUES (what, current_user);
END $$;
-- operators that answer right, after recording the call
CREATE FUNCTION hostile.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('=(text,text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION hostile.eq(a integer, b integer) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('=(integer,integer)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION hostile.eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('=(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION hostile.eq(a name, b name) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('=(name,name)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION hostile.eq(a oid, b oid) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('=(oid,oid)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION hostile.lt(a integer, b integer) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('<(integer,integer)'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE FUNCTION hostile.lt(a float8, b float8) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('<(float8,float8)'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE FUNCTION hostile.gt(a float8, b float8) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('>(float8,float8)'); RETURN a OPERATOR(pg_catalog.>) b; END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.eq);
CREATE OPERATOR hostile.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = hostile.eq);
CREATE OPERATOR hostile.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.eq);
CREATE OPERATOR hostile.= (LEFTARG = name, RIGHTARG = name, FUNCTION = hostile.eq);
CREATE OPERATOR hostile.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = hostile.eq);
CREATE OPERATOR hostile.< (LEFTARG = integer, RIGHTARG = integer, FUNCTION = hostile.lt);
CREATE OPERATOR hostile.< (LEFTARG = float8, RIGHTARG = float8, FUNCTION = hostile.lt);
CREATE OPERATOR hostile.> (LEFTARG = float8, RIGHTARG = float8, FUNCTION = hostile.gt);
-- common functions, an aggregate and a type
CREATE FUNCTION hostile.octet_length(b bytea) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('octet_length(bytea)'); RETURN pg_catalog.octet_length(b); END $$;
CREATE FUNCTION hostile.hashtext(t text) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('hashtext(text)'); RETURN pg_catalog.hashtext(t); END $$;
CREATE FUNCTION hostile.pg_advisory_xact_lock(a integer, b integer) RETURNS void LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('pg_advisory_xact_lock(integer,integer)'); END $$;
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION hostile.unnest(a anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('unnest(anyarray)'); RETURN QUERY SELECT * FROM pg_catalog.unnest(a); END $$;
CREATE FUNCTION hostile.max_step(s integer, v integer) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('max(integer)'); RETURN pg_catalog.greatest(s, v); END $$;
CREATE AGGREGATE hostile.max(integer) (SFUNC = hostile.max_step, STYPE = integer);
CREATE DOMAIN hostile.jsonb AS text;
-- the extension's own names
CREATE FUNCTION hostile.score(m text, f real[]) RETURNS double precision LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('score(text,real[])'); RETURN 0; END $$;
CREATE FUNCTION hostile.import_model(n text, b bytea) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('import_model(text,bytea)'); RETURN 0; END $$;
CREATE FUNCTION hostile.model_features(n text) RETURNS SETOF text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('model_features(text)'); END $$;
CREATE FUNCTION hostile.velocity_read(s risk.velocity_state, t timestamptz, c boolean) RETURNS float8[] LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('velocity_read'); RETURN NULL; END $$;
CREATE FUNCTION hostile.velocity_init(w interval[], m integer) RETURNS risk.velocity_state LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('velocity_init'); RETURN NULL; END $$;
CREATE FUNCTION hostile.score_trigger() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('score_trigger()'); RETURN NEW; END $$;
RESET ROLE;

-- what the cases use: a model's bytes, thresholds, a table with the trigger,
-- a store, a SECURITY DEFINER wrapper without SET search_path (as in README)
CREATE FUNCTION public.hostile_model_bytes() RETURNS bytea LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT bytes FROM fx.files WHERE file = 'orders.json';
END;
CREATE FUNCTION public.hostile_multi_bytes() RETURNS bytea LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT bytes FROM fx.files WHERE file = 'softprob4.json';
END;
\set orders_file :fx '/orders.json'
CREATE FUNCTION public.hostile_model_path() RETURNS text LANGUAGE sql IMMUTABLE
  RETURN :'orders_file';
INSERT INTO risk.decision_thresholds (model, review, block, reasons) VALUES ('hostile_m', 0.2, 0.6, 2);
CREATE TABLE public.hostile_orders (order_id int, amount real, account_age_days real, is_new_device real,
                                    orders_1h real, score float8, decision text, reasons text[]);
CREATE FUNCTION public.hostile_features(o public.hostile_orders) RETURNS real[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h];
CREATE TRIGGER score BEFORE INSERT ON public.hostile_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('hostile_m', 'hostile_features', 'score', 'decision', 'reasons');
SET ROLE regress_risk_hostile;
CREATE FUNCTION hostile.hostile_features(o public.hostile_orders) RETURNS real[] LANGUAGE plpgsql AS
  $$ BEGIN PERFORM hostile.record('hostile_features(hostile_orders)'); RETURN '{0,900,0,0}'; END $$;
RESET ROLE;
CREATE TABLE public.hostile_store (id bigint PRIMARY KEY, state risk.velocity_state NOT NULL);
CREATE ROLE regress_risk_lender;
GRANT SELECT ON risk.model_registry TO regress_risk_lender;
CREATE FUNCTION public.hostile_wrapper(f real[]) RETURNS double precision LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT risk.score('hostile_m', f) $$;
ALTER FUNCTION public.hostile_wrapper(real[]) OWNER TO regress_risk_lender;

-- a rule set on a table with the trigger, lists, a history for the backtest
SELECT risk.import_model('hostile_rules_m', public.hostile_model_bytes()) IS NOT NULL AS imported \gset
INSERT INTO risk.decision_thresholds (model, review, block, reasons) VALUES ('hostile_rules_m', 0.2, 0.6, 2);
CREATE TABLE public.hostile_rule_orders (order_id int, device text, ip inet, created_at timestamptz, is_fraud boolean,
    amount real, account_age_days real, is_new_device real, orders_1h real,
    score float8, decision text, reasons text[], hits text[], shadow_hits text[], rules_version int);
CREATE FUNCTION public.hostile_rule_features(o public.hostile_rule_orders) RETURNS real[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h];
CREATE TRIGGER score BEFORE INSERT ON public.hostile_rule_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('hostile_rules_m', 'hostile_rule_features', 'score', 'decision', 'reasons',
    'rules=hostile_rules', 'hits=hits', 'shadow_hits=shadow_hits', 'rules_version=rules_version');
SELECT risk.create_rule_set('hostile_rules', 'public.hostile_rule_orders', 'hostile_rules_m');
SELECT risk.create_list('hostile_list');
SELECT risk.create_list('hostile_nets', 'inet');
SELECT risk.add_to_list('hostile_list', 'dev-1', 'x', valid_from => '2026-01-01') IS NOT NULL AS added \gset
SELECT risk.add_to_list('hostile_nets', '203.0.113.0/24'::cidr, 'x', valid_from => '2026-01-01') IS NOT NULL AS added \gset
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description) VALUES
  ('hostile_rules', 'listed', $$risk.in_list('hostile_list', device) AND amount > 10$$, 'block', 'enforce', 1, 'listed device'),
  ('hostile_rules', 'young', 'account_age_days < 5 AND now() > created_at', 'review', 'enforce', 2, 'young account'),
  ('hostile_rules', 'net', $$risk.in_list('hostile_nets', ip)$$, 'review', 'shadow', 3, 'proxy'),
  ('hostile_rules', 'ratio', 'amount / orders_1h > 100', 'review', 'shadow', 4, 'ratio');
SELECT risk.publish_rules('hostile_rules') AS v \gset
CREATE TABLE public.hostile_rule_history AS
SELECT v.*, ARRAY[v.amount, v.account_age_days, v.is_new_device, v.orders_1h] AS features
  FROM (VALUES (1, 'dev-1', '203.0.113.5'::inet, '2026-02-01 10:00+00'::timestamptz, true, 420::real, 2::real, 1::real, 1::real),
               (2, 'dev-2', '198.51.100.1', '2026-02-01 11:00+00', false, 35, 800, 0, 0),
               (3, 'dev-1', '198.51.100.2', '2025-12-01 11:00+00', true, 90, 3, 1, 2)) v
       (order_id, device, ip, created_at, is_fraud, amount, account_age_days, is_new_device, orders_1h);

-- the model cycle: rows to train on, a table whose trigger scores with a
-- challenger in shadow and a canary, two slices for the drift functions
CREATE TABLE public.hostile_train AS
SELECT (i % 97)::real AS amount, (i * 7 % 31)::real AS account_age_days, (i % 3 = 0) AS is_new_device,
       (i % 5)::real AS orders_1h, (i % 11 = 0 OR i % 97 > 80) AS is_fraud,
       risk.bucket('hostile-split', i, 10) = 0 AS holdout, i > 300 AS recent
  FROM generate_series(1, 600) i;
INSERT INTO risk.decision_thresholds (model, review, block, reasons) VALUES ('hostile_t', 0.3, 0.7, 0);
CREATE TABLE public.hostile_cycle_orders (order_id int, buyer_id int, amount real, account_age_days real,
                                          is_new_device real, orders_1h real, score float8, decision text,
                                          champion_score float8, challenger_score float8, in_canary boolean,
                                          model_version int);
CREATE FUNCTION public.hostile_cycle_features(o public.hostile_cycle_orders) RETURNS real[] LANGUAGE sql IMMUTABLE
  RETURN ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h];
CREATE TRIGGER score BEFORE INSERT ON public.hostile_cycle_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('hostile_rules_m', 'hostile_cycle_features', 'score', 'decision', '',
    'challenger=hostile_t@champion', 'champion_score=champion_score', 'challenger_score=challenger_score',
    'canary_unit=buyer_id', 'canary_percent=50', 'canary_salt=hostile-canary', 'in_canary=in_canary',
    'model_version=model_version');

-- a feature set over a table whose trigger serves it (and keeps what it
-- served), its states built from the table's first 40 orders
CREATE TABLE public.hostile_fs_orders (id bigint PRIMARY KEY, created_at timestamptz, buyer bigint, device text,
                                       amount real, account_age_days real, score float8, decision text,
                                       reasons text[], served jsonb);
INSERT INTO public.hostile_fs_orders (id, created_at, buyer, device, amount, account_age_days)
SELECT i, timestamptz '2026-11-24 08:00+00' + (i / 2) * interval '7 minutes', i % 4, 'd' || (i % 6), i * 37 % 50, i % 9
  FROM generate_series(1, 40) i;
SELECT risk.create_feature_set('hostile_fs', 'public.hostile_fs_orders', 'created_at', tie_break => 'id') IS NULL AS created \gset
SELECT risk.add_feature('hostile_fs', 'amount', 'amount') AS p \gset
SELECT risk.add_feature('hostile_fs', 'account_age_days', 'account_age_days') AS p \gset
SELECT risk.add_feature('hostile_fs', 'is_new_device', 'is_new(device)', per => 'buyer', within => '1 day') AS p \gset
SELECT risk.add_feature('hostile_fs', 'orders_1h', 'count(*) FILTER (WHERE amount > 1 AND device <> ''d0'')',
                        per => 'buyer', within => '1 hour') AS p \gset
SELECT risk.rebuild_feature_states('hostile_fs') AS n \gset
CREATE TRIGGER score BEFORE INSERT ON public.hostile_fs_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('hostile_rules_m', 'hostile_fs', 'score', 'decision', 'reasons', 'features=served');

-- the cases, in order: each a query of one text value (or none)
CREATE TABLE public.hostile_cases (n int PRIMARY KEY, query text);
INSERT INTO public.hostile_cases VALUES
  (10, $q$SELECT risk.import_model('hostile_m', public.hostile_model_bytes(), metadata => '{"owner": "x"}'::pg_catalog.jsonb)::text$q$),
  (11, $q$SELECT risk.import_model('hostile_m', public.hostile_model_bytes())::text$q$),
  (20, $q$SELECT risk.score('hostile_m', '{250,3,1,0}'::real[])::text$q$),
  (21, $q$SELECT risk.score('hostile_m', '{250,3,1,0}'::float8[])::text$q$),
  (22, $q$SELECT risk.score('hostile_m', r)::text
            FROM (SELECT 3 AS account_age_days, 250 AS amount, true AS is_new_device, 0 AS orders_1h) r$q$),
  (23, $q$SELECT risk.score_margin('hostile_m', '{250,3,1,NaN}'::real[])::text$q$),
  (24, $q$SELECT pg_catalog.array_to_string(risk.score_contributions('hostile_m', '{250,3,1,0}'::real[]), ',')$q$),
  (25, $q$SELECT risk.score_xgboost('hostile_m', '{250,3,1,0}'::real[])::text$q$),
  (26, $q$SELECT public.hostile_wrapper('{420,2,1,1}')::text$q$),
  (30, $q$SELECT pg_catalog.string_agg(ordinal || ':' || feature, ',' ORDER BY ordinal)
            FROM risk.model_features('hostile_m')$q$),
  (31, $q$SELECT pg_catalog.concat_ws(' ', name, version, is_current, num_features, objective, metadata)
            FROM risk.describe_model('hostile_m')$q$),
  (32, $q$SELECT pg_catalog.concat_ws(' ', name, version, is_current) FROM risk.describe_model('hostile_m', 1)$q$),
  (33, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', name, version, is_current, size_bytes), ','
                                       ORDER BY version)
            FROM risk.models WHERE name OPERATOR(pg_catalog.=) 'hostile_m'$q$),
  (34, $q$SELECT pg_catalog.string_agg(name || ' ' || version, ',')
            FROM risk.cached_models() WHERE name OPERATOR(pg_catalog.=) 'hostile_m'$q$),
  (40, $q$INSERT INTO public.hostile_orders (order_id, amount, account_age_days, is_new_device, orders_1h)
          VALUES (1, 420, 2, 1, 1) RETURNING pg_catalog.concat_ws(' ', score, decision, reasons)$q$),
  (41, $q$DELETE FROM public.hostile_orders RETURNING order_id::text$q$),
  (50, $q$SELECT risk.velocity_read(risk.velocity_add(risk.velocity_init('{1 hour,1 day}', 10),
                                                      '2026-11-24 08:00+00', 20, 'k'::text),
                                    '2026-11-24 09:00+00', true)::text$q$),
  (51, $q$SELECT pg_catalog.string_agg(v::text, ';' ORDER BY at)
            FROM (SELECT at, risk.velocity(at, amt, k, '{1 hour,1 day}', max_distinct => 5)
                               OVER (PARTITION BY c ORDER BY at) v
                    FROM (VALUES ('2026-11-24 08:00+00'::timestamptz, 10::float8, 'a'::text, 1),
                                 ('2026-11-24 08:30+00', 20, 'b', 1), ('2026-11-24 10:00+00', 5, 'a', 1),
                                 ('2026-11-24 08:10+00', 7, 'c', 2)) x(at, amt, k, c)) y$q$),
  (52, $q$SELECT risk.velocity_state_agg(at, amt, k, '{1 hour}', 5 ORDER BY at)::text
            FROM (VALUES ('2026-11-24 08:00+00'::timestamptz, 10::float8, 'a'::text),
                         ('2026-11-24 08:30+00', 20, 'b')) x(at, amt, k)$q$),
  (53, $q$SELECT risk.velocity_track('public.hostile_store', 1::bigint, '2026-11-24 08:00+00', 5, 'd'::text, '{1 hour}')::text$q$),
  (54, $q$SELECT risk.velocity_read(risk.velocity_track('public.hostile_store', 1::bigint, '2026-11-24 08:20+00', 7,
                                                       'e'::text, '{1 hour}'), '2026-11-24 08:20+00')::text$q$),
  (55, $q$DELETE FROM public.hostile_store RETURNING id::text$q$),
  (60, $q$SELECT pg_catalog.concat_ws(' ', risk.auc(s, l), risk.ks(s, l), risk.log_loss(s, l),
                                       risk.average_precision(s, l::numeric), risk.auc(s, l, w), risk.confusion(s, l, 0.5))
            FROM (VALUES (0.1::float8, 0, 1::float8), (0.4, 1, 2), (0.35, 0, 1), (0.8, 1, 3)) v(s, l, w)$q$),
  (61, $q$SELECT pg_catalog.concat_ws(' ', risk.auc(risk.rollup(x)), risk.rows(risk.rollup(x)), risk.rollup(x)::text)
            FROM (SELECT risk.score_summary(s, l) x
                    FROM (VALUES (0.1::float8, false, 1), (0.4, true, 1), (0.35, false, 2), (0.8, true, 2)) v(s, l, g)
                   GROUP BY g) y$q$),
  (62, $q$SELECT risk.psi(v, a)::text
            FROM (VALUES (0.1::float8, false), (0.4, true), (0.35, false), (0.8, true), (0.5, false)) x(v, a)$q$),
  (63, $q$SELECT risk.auc_test(a, b, l)::text
            FROM (VALUES (0.1::float8, 0.2::float8, false), (0.4, 0.3, true), (0.35, 0.1, false),
                         (0.8, 0.9, true)) x(a, b, l)$q$),
  (70, $q$SELECT pg_catalog.md5(pg_catalog.string_agg(t::text, ';')) FROM risk.synthetic_orders(2000, 7) t$q$),
  (12, $q$SELECT risk.load_model('hostile_file', public.hostile_model_path())::text$q$),
  (13, $q$SELECT risk.import_model('hostile_multi', public.hostile_multi_bytes())::text$q$),
  (27, $q$SELECT risk.score_classes('hostile_multi', pg_catalog.array_fill(0.5::real, ARRAY[20]))::text$q$),
  (28, $q$SELECT risk.score('hostile_file', '{250,3,1,0}'::real[])::text$q$),
  (56, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', d, n, a, sd, z, ds, lk, nw), ';' ORDER BY at)
            FROM (SELECT at,
                         risk.count_distinct(k) OVER w AS d, risk.approx_count_distinct(k) OVER w AS a,
                         risk.stddev(amt) OVER w AS sd, risk.zscore(amt) OVER w AS z,
                         risk.decayed_sum(amt, at, '1 hour') OVER w AS ds,
                         risk.last_k_distinct(k, 2) OVER w AS lk, risk.is_new(k) OVER w AS nw,
                         risk.velocity_tiled(at, amt, k, '{1 hour}') OVER (ORDER BY at) AS n
                    FROM (VALUES ('2026-11-24 08:00+00'::timestamptz, 10::float8, 'a'::text),
                                 ('2026-11-24 08:30+00', 20, 'b'), ('2026-11-24 10:00+00', 5, 'a')) x(at, amt, k)
                  WINDOW w AS (ORDER BY at RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW)) y$q$),
  (57, $q$SELECT risk.velocity_read(risk.velocity_add(risk.velocity_add(risk.velocity_init('{10 minutes,1 day}'),
                                                                        '2026-11-24 08:00+00', 3, 1::bigint),
                                                      '2026-11-24 08:05+00', 4, 2::bigint),
                                    '2026-11-24 08:06+00')::text$q$),
  (64, $q$SELECT pg_catalog.concat_ws(' ', risk.roc_curve(s, l), risk.pr_curve(s, l), risk.gains(s, l, 2),
                                       risk.calibration(s, l, 2), risk.auc_ci(s, l), risk.psi_table(s, l),
                                       risk.csi(c, l), risk.csi_table(c, l), risk.recall_at_fpr(s, l, 0.5),
                                       risk.lift(s, l, 0.5), risk.capture_rate(s, l, 0.5), risk.gini(s, l, w),
                                       risk.precision(s, l, 0.3), risk.recall(s, l, 0.3), risk.f1(s, l, 0.3),
                                       risk.accuracy(s, l, 0.3), risk.brier(s, l))
            FROM (VALUES (0.1::float8, false, 1::float8, 'x'::text), (0.4, true, 2, 'y'), (0.35, false, 1, 'x'),
                         (0.8, true, 3, 'y'), (0.2, true, 1, 'x'), (0.7, false, 2, 'y')) v(s, l, w, c)$q$),
  (65, $q$SELECT risk.proportion_test(30, 1000, 45, 1000)::text$q$),
  (66, $q$SELECT pg_catalog.concat_ws(' ', risk.psi(a, b), risk.gains(a, 2), risk.calibration(a, 2),
                                       risk.recall_at_fpr(a, 0.1), risk.confusion(a, 0.3))
            FROM (SELECT risk.score_summary(s, l) a, risk.score_summary(1 - s, l) b
                    FROM (VALUES (0.1::float8, false), (0.4, true), (0.35, false), (0.8, true)) v(s, l)) y$q$),
  (71, $q$SELECT pg_catalog.concat_ws(' ', risk.in_list('hostile_list', 'dev-1'), risk.in_list('hostile_list', 'dev-2'),
                                       risk.in_list('hostile_nets', '203.0.113.9'::inet),
                                       risk.in_list('hostile_list', 'dev-1', '2025-01-01'))$q$),
  (72, $q$SELECT (risk.add_to_list('hostile_list', 'dev-9', 'r') OPERATOR(pg_catalog.>) 0)::text$q$),
  (73, $q$SELECT risk.remove_from_list('hostile_list', 'dev-9', 'r')::text$q$),
  (74, $q$INSERT INTO public.hostile_rule_orders (order_id, device, ip, created_at, amount, account_age_days, is_new_device, orders_1h)
          VALUES (1, 'dev-1', '203.0.113.5', '2026-02-01 10:00+00', 420, 2, 1, 0)
          RETURNING pg_catalog.concat_ws(' ', decision, hits, shadow_hits, rules_version, reasons)$q$),
  (75, $q$SELECT pg_catalog.concat_ws(' ', d.decision, d.hits, d.shadow_hits, d.rule_errors, d.rules_version)
            FROM public.hostile_rule_orders o, risk.decide('hostile_rules', o, public.hostile_rule_features(o)) d$q$),
  (76, $q$SELECT pg_catalog.string_agg(key || ':' || outcome, ',')
            FROM risk.explain_rules('hostile_rules', (SELECT o FROM public.hostile_rule_orders o),
                                    (SELECT public.hostile_rule_features(o)::float8[] FROM public.hostile_rule_orders o))$q$),
  (77, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', day, key, mode, orders, hits), ',')
            FROM risk.rule_stats('public.hostile_rule_orders')$q$),
  (78, $q$DELETE FROM public.hostile_rule_orders RETURNING order_id::text$q$),
  (79, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', key, hits, fraud_hits, unique_fraud_hits, errors), ',')
            FROM risk.backtest_rules(risk.backtest('hostile_rules', 'public.hostile_rule_history'))$q$),
  (83, $q$SELECT pg_catalog.concat_ws(' ', risk.publish_rules('hostile_rules') OPERATOR(pg_catalog.>) 1,
                                       risk.rollback_rules('hostile_rules', 1),
                                       (SELECT pg_catalog.count(*) FROM risk.check_rules('hostile_rules')))$q$),
  (80, $q$SELECT risk.drop_model('hostile_m', 2)::text$q$),
  (81, $q$SELECT risk.drop_model('hostile_m')::text$q$),
  (82, $q$SELECT (risk.drop_model('hostile_file') + risk.drop_model('hostile_multi'))::text$q$),
  -- the model cycle; each run trains two versions of its own (1 and 2, then
  -- 3 and 4: the same bytes) and leaves no alias behind
  (89, $q$SELECT pg_catalog.string_agg((risk.train('hostile_t',
                                          'SELECT amount, account_age_days, is_new_device, orders_1h, is_fraud, holdout
                                             FROM public.hostile_train',
                                          'is_fraud', validation => 'holdout', rounds => 8, early_stopping_rounds => 3,
                                          params => '{"max_depth": 2, "eta": 0.5}') OPERATOR(pg_catalog.>) 0)::text, ',')
            FROM pg_catalog.generate_series(1, 2)$q$),
  (91, $q$SELECT pg_catalog.concat_ws(' ', t.objective, t.rounds_trained, t.best_round, t.train_rows, t.train_positives,
                                       t.valid_rows, t.valid_positives, t.data_sha256, t.valid_auc,
                                       t.valid_average_precision, t.valid_ks, t.valid_log_loss, t.params,
                                       pg_catalog.md5(r.model),
                                       (SELECT pg_catalog.count(*) FROM risk.model_training_rounds d
                                         WHERE d.name OPERATOR(pg_catalog.=) t.name
                                           AND d.version OPERATOR(pg_catalog.=) t.version))
            FROM risk.model_training t JOIN risk.model_registry r
              ON r.name OPERATOR(pg_catalog.=) t.name AND r.version OPERATOR(pg_catalog.=) t.version
           WHERE t.name OPERATOR(pg_catalog.=) 'hostile_t' ORDER BY t.version DESC LIMIT 1$q$),
  (92, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', ordinal, feature, weight, gain, cover, total_gain,
                                                           total_cover), ',' ORDER BY ordinal)
            FROM risk.feature_importance('hostile_t')$q$),
  (93, $q$SELECT pg_catalog.count(*)::text FROM risk.training_progress$q$),
  (94, $q$SELECT pg_catalog.concat_ws(' ', 'was', risk.set_alias('hostile_t', 'champion', 1, 'first'))$q$),
  (95, $q$SELECT pg_catalog.concat_ws(' ', risk.score('hostile_t@champion', '{90,3,1,2}'::real[]),
                                       risk.score('hostile_t@1', '{90,3,1,2}'::real[]),
                                       (SELECT risk.score('hostile_t@champion', r)
                                          FROM (SELECT 90 AS amount, 3 AS account_age_days, true AS is_new_device,
                                                       2 AS orders_1h) r),
                                       (SELECT version
                                          FROM risk.describe_model('hostile_t@champion')),
                                       (SELECT pg_catalog.string_agg(feature, ',' ORDER BY ordinal)
                                          FROM risk.model_features('hostile_t@champion')))$q$),
  (96, $q$INSERT INTO public.hostile_cycle_orders (order_id, buyer_id, amount, account_age_days, is_new_device, orders_1h)
          SELECT i, i % 40, i % 97, i * 7 % 31, (i % 3 OPERATOR(pg_catalog.=) 0)::int, i % 5 FROM pg_catalog.generate_series(1, 200) i
          RETURNING NULL$q$),
  (97, $q$SELECT pg_catalog.concat_ws(' ', pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE in_canary),
                                       pg_catalog.sum(model_version),
                                       pg_catalog.md5(pg_catalog.string_agg(pg_catalog.concat_ws(':', order_id, score,
                                           decision, champion_score, challenger_score), ',' ORDER BY order_id)),
                                       pg_catalog.bool_and(challenger_score IS NOT DISTINCT FROM
                                           risk.score('hostile_t@champion', public.hostile_cycle_features(o))),
                                       pg_catalog.bool_and(in_canary IS NOT DISTINCT FROM
                                           (risk.bucket('hostile-canary', buyer_id, 10000) OPERATOR(pg_catalog.<) 5000)))
            FROM public.hostile_cycle_orders o$q$),
  (98, $q$SELECT pg_catalog.concat_ws(' ', (c).rows, (c).labelled, (c).positives, (c).auc_a, (c).auc_b,
                                       (c).auc_p_value, (c).recall_a, (c).recall_b, (c).recall_p_value, (c).fpr_a,
                                       (c).fpr_b, (c).caught_amount_a, (c).declined_good_amount_b,
                                       risk.sample_ratio_test(12, 10, 0.5))
            FROM (SELECT risk.compare_scores(o.champion_score, o.challenger_score, t.is_fraud, o.amount::float8, 0.3, 0.5) c
                    FROM public.hostile_cycle_orders o
                    JOIN (SELECT i, (i % 11 OPERATOR(pg_catalog.=) 0 OR i % 97 OPERATOR(pg_catalog.>) 80) AS is_fraud FROM pg_catalog.generate_series(1, 200) i) t
                      ON t.i OPERATOR(pg_catalog.=) o.order_id) x$q$),
  (99, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', rank, feature, csi, reference_count, current_count,
                                                           reference_missing, current_missing), ',' ORDER BY rank)
            FROM risk.feature_drift('hostile_t@champion', 'SELECT * FROM public.hostile_train WHERE NOT recent',
                                    'SELECT * FROM public.hostile_train WHERE recent', 4)$q$),
  (100, $q$SELECT risk.score_drift('hostile_t@champion', 'SELECT * FROM public.hostile_train WHERE NOT recent',
                                   'SELECT * FROM public.hostile_train WHERE recent', 4)::text$q$),
  (101, $q$DELETE FROM public.hostile_cycle_orders RETURNING NULL$q$),
  (102, $q$SELECT pg_catalog.concat_ws(' ', risk.set_alias('hostile_t', 'champion', 2, 'again'),
                                        risk.bucket('hostile', 'buyer-1', 100), risk.bucket('hostile', 12345::bigint, 100))$q$),
  (103, $q$SELECT risk.rollback_alias('hostile_t', 'champion', 'back')::text$q$),
  (104, $q$SELECT risk.remove_alias('hostile_t', 'champion', 'done')::text$q$),
  (110, $q$SELECT pg_catalog.md5(pg_catalog.string_agg(pg_catalog.concat_ws(':', f.id, f.amount, f.account_age_days,
                                                                            f.is_new_device, f.orders_1h), ','
                                                        ORDER BY f.id))
             FROM public.hostile_fs_features() f$q$),
  (111, $q$WITH i AS (INSERT INTO public.hostile_fs_orders (id, created_at, buyer, device, amount, account_age_days)
                      VALUES (101, '2026-11-24 13:00+00', 1, 'new-dev', 420, 2), (102, '2026-11-24 13:00+00', 1, 'new-dev', 30, 2)
                      RETURNING id, score, decision, served)
           SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', id, score, decision, served), ';' ORDER BY id) FROM i$q$),
  (112, $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', f.id, f.amount, f.account_age_days,
                                                             f.is_new_device, f.orders_1h), ',' ORDER BY f.id)
             FROM public.hostile_fs_features('2026-11-24 13:00+00') f$q$),
  (113, $q$SELECT pg_catalog.string_agg(pg_catalog.concat(feature, '=', value), ',' ORDER BY feature)
             FROM risk.entity_features('hostile_fs', 'buyer', 1::bigint, '2026-11-24 13:30+00')$q$),
  (114, $q$WITH d AS (DELETE FROM public.hostile_fs_orders WHERE id OPERATOR(pg_catalog.>) 100 RETURNING id)
           SELECT pg_catalog.count(*)::text FROM d$q$),
  (115, $q$SELECT risk.rebuild_feature_states('hostile_fs')::text$q$),
  -- (a declaration's expressions are the user's SQL, resolved under the user's
  -- path as a view's are: qualified here, then stored qualified)
  (116, $q$SELECT pg_catalog.concat_ws(' ', risk.create_feature_set('hostile_fs2', 'public.hostile_fs_orders', 'created_at'),
                                        risk.add_feature('hostile_fs2', 'big', 'count(*) FILTER (WHERE amount OPERATOR(pg_catalog.>) 10 AND device OPERATOR(pg_catalog.=) ''d1'')',
                                                         per => 'buyer', within => '1 day'),
                                        risk.add_entity('hostile_fs2', 'pair', 'ARRAY[buyer::text, device]'))$q$),
  (117, $q$SELECT pg_catalog.concat_ws(' ', (SELECT pg_catalog.string_agg(expression, ',')
                                               FROM risk.feature_set_features WHERE feature_set OPERATOR(pg_catalog.=) 'hostile_fs2'),
                                        (SELECT pg_catalog.sum(big) FROM public.hostile_fs2_features()))$q$),
  (118, $q$SELECT risk.drop_feature_set('hostile_fs2')::text$q$);

-- runs every case under the session's search_path; its own statements use no
-- operator or function a search_path could change
CREATE TABLE public.hostile_results (run text, n int, result text);
CREATE PROCEDURE public.hostile_run(run text) LANGUAGE plpgsql AS $$
DECLARE
    c record;
    r text;
BEGIN
    FOR c IN SELECT n, query FROM public.hostile_cases ORDER BY n LOOP
        EXECUTE c.query INTO r;
        INSERT INTO public.hostile_results VALUES (run, c.n, r);
    END LOOP;
END $$;

SET client_min_messages = warning;  -- risk.train's rounds
CALL public.hostile_run('default');
SET search_path = hostile, pg_catalog, public;
CALL public.hostile_run('hostile');
RESET search_path;
RESET client_min_messages;

SELECT is((SELECT count(*) FROM hostile_results WHERE run = 'hostile'), (SELECT count(*) FROM hostile_cases),
          'every case ran under the hostile search_path');
SELECT set_eq($$SELECT n, result FROM hostile_results WHERE run = 'hostile'$$,
              $$SELECT n, result FROM hostile_results WHERE run = 'default'$$,
              'the same results as under the default search_path');
SELECT is((SELECT count(*) FROM hostile.calls), 0::bigint, 'no shadow object ran');
-- what ran, if any did
SELECT what, by_role, count(*) FROM hostile.calls GROUP BY 1, 2 ORDER BY 1, 2;
-- the shadow objects are live: a query of the user's own, with an unqualified
-- =, runs them under that path (so the check above could fail)
SET search_path = hostile, pg_catalog, public;
SELECT ('a' = 'b')::text AS shadowed \gset
RESET search_path;
SELECT is((SELECT count(*) FROM hostile.calls WHERE what = '=(text,text)'), 1::bigint,
          'an unqualified = of the user''s own under that path calls the shadow operator');
SELECT ok((SELECT result ~ '"is_new_device": 1' AND result ~ '"orders_1h": 1' FROM hostile_results WHERE run = 'hostile' AND n = 111),
          'the trigger served the feature set''s features (a new device, then the buyer''s order before it)');
SELECT is((SELECT split_part(result, ' ', 2) FROM hostile_results WHERE run = 'hostile' AND n = 40), 'block',
          'the trigger decided with its own features function (the shadow one would allow)');

DROP PROCEDURE public.hostile_run(text);
DROP TABLE public.hostile_results, public.hostile_cases, public.hostile_store;
DROP TABLE public.hostile_orders CASCADE;
DROP TABLE public.hostile_rule_orders CASCADE;
DROP TABLE public.hostile_rule_history;
DROP TABLE public.hostile_cycle_orders CASCADE;
DROP TABLE public.hostile_fs_orders;	-- and its feature set, by the sql_drop trigger
DROP TABLE public.hostile_train;
SELECT risk.drop_model('hostile_t') AS dropped \gset
DELETE FROM risk.decision_thresholds WHERE model IN ('hostile_rules_m', 'hostile_t');
DROP FUNCTION public.hostile_model_bytes(), public.hostile_multi_bytes(), public.hostile_model_path(),
              public.hostile_wrapper(real[]);
DELETE FROM risk.decision_thresholds WHERE model = 'hostile_m';
REVOKE ALL ON risk.model_registry FROM regress_risk_lender;
DROP SCHEMA hostile CASCADE;
DROP ROLE regress_risk_hostile, regress_risk_lender;
SELECT * FROM finish();
