-- Upgrade from the released 0.1.0: a database made with 0.1.0 holds models,
-- decision thresholds, velocity states and score summaries; ALTER EXTENSION
-- risk UPDATE brings it to 0.2.0.  Afterwards its objects (every function,
-- aggregate, type, table, view, trigger, comment and grant of the extension)
-- equal those of a fresh 0.2.0 install, and the stored data reads and scores
-- exactly as before the update and as the same data stored under 0.2.0.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(13);

-- The extension's objects, one line each, by name (OIDs differ between databases).
CREATE FUNCTION public.risk_catalog() RETURNS SETOF text LANGUAGE sql STABLE AS $catalog$
WITH members AS (
  SELECT d.classid, d.objid, d.objsubid
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND e.extname = 'risk' AND d.deptype = 'e'),
procs AS (
  SELECT p.* FROM members m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::regclass
                                                      AND p.oid = m.objid),
rels AS (
  SELECT c.* FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::regclass
                                                       AND c.oid = m.objid),
types AS (
  SELECT t.* FROM members m JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::regclass
                                                      AND t.oid = m.objid)
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) || ' -- ' ||
       coalesce(obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)), '(no comment)')
  FROM members
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, 'default')
  FROM procs p WHERE p.prokind <> 'a'
UNION ALL
SELECT concat_ws(' ', 'aggregate', p.oid::regprocedure, pg_get_function_result(p.oid), p.proparallel,
                 p.proacl, a.aggkind, a.aggnumdirectargs, a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                 a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn,
                 a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
                 a.aggsortop::regoperator, a.aggtranstype::regtype, a.aggtransspace,
                 a.aggmtranstype::regtype, a.aggmtransspace, a.agginitval, a.aggminitval)
  FROM procs p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
UNION ALL
SELECT concat_ws(' ', 'relation', c.oid::regclass, c.relkind, c.relpersistence, c.reloptions, c.relacl,
                 c.relrowsecurity, c.relreplident)
  FROM rels c
UNION ALL
SELECT concat_ws(' ', 'column', a.attrelid::regclass, a.attnum, a.attname,
                 format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated, a.attidentity,
                 pg_get_expr(d.adbin, d.adrelid), a.attacl, col_description(a.attrelid, a.attnum))
  FROM rels c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
UNION ALL
SELECT concat_ws(' ', 'constraint', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid))
  FROM rels c JOIN pg_catalog.pg_constraint co ON co.conrelid = c.oid
UNION ALL
SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid))
  FROM rels c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
UNION ALL
SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
  FROM rels c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid
 WHERE NOT t.tgisinternal  -- foreign keys' triggers: named by OID, compared as constraints above
UNION ALL
SELECT concat_ws(' ', 'view', c.oid::regclass, pg_get_viewdef(c.oid))
  FROM rels c WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT concat_ws(' ', 'type', t.oid::regtype, t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage,
                 t.typcategory, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
                 t.typanalyze, t.typsubscript, t.typelem::regtype, t.typdelim, t.typacl)
  FROM types t
UNION ALL
SELECT concat_ws(' ', 'composite', t.oid::regtype, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod))
  FROM types t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0
UNION ALL
SELECT concat_ws(' ', 'config', cfg::regclass, cond)
  FROM pg_catalog.pg_extension e, unnest(e.extconfig, e.extcondition) AS x(cfg, cond)
 WHERE e.extname = 'risk'
UNION ALL
SELECT concat_ws(' ', 'schema', n.nspname, n.nspacl)
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'risk'
$catalog$;

-- The data a 0.1.0 user has stored, and what it reads and scores: each
-- database gets the same rows, made by the same statements.
CREATE PROCEDURE public.risk_store_data(model bytea) LANGUAGE plpgsql AS $store$
BEGIN
  PERFORM risk.import_model('upgrade_m', model, metadata => '{"owner": "risk-team"}');
  COMMIT;
  PERFORM risk.import_model('upgrade_m', model);
  INSERT INTO risk.decision_thresholds (model, review, block, reasons) VALUES ('upgrade_m', 0.2, 0.6, 2);
  CREATE TABLE public.events AS
    SELECT i, timestamptz '2026-11-24 08:00+00' + i * interval '7 minutes' AS at,
           (i * 37 % 101)::float8 AS amount, i % 3 AS card, i % 5 AS device
      FROM generate_series(1, 300) i;
  CREATE TABLE public.states (card int PRIMARY KEY, state risk.velocity_state NOT NULL);
  INSERT INTO public.states
    SELECT card, risk.velocity_state_agg(at, amount, device, '{1 hour,24 hours}', 100 ORDER BY at, i)
      FROM public.events GROUP BY card;
  CREATE TABLE public.summaries (day date PRIMARY KEY, summary risk.score_summary NOT NULL);
  INSERT INTO public.summaries
    SELECT at::date, risk.score_summary(amount / 101, device < 2) FROM public.events GROUP BY 1;
  -- a dashboard's view over the metric aggregates: it stays through the update, which changes their state type
  CREATE VIEW public.daily_metrics AS
    SELECT at::date AS day, risk.auc(amount / 101, device < 2) AS auc, risk.ks(amount / 101, device < 2) AS ks,
           risk.lift(amount / 101, device < 2, 0.2) AS lift, risk.stddev(amount) AS sd,
           (risk.auc_test(amount / 101, device / 5.0, device < 2)).p_value AS auc_p,
           risk.csi(device::text, amount > 50) AS csi
      FROM public.events GROUP BY 1;
END $store$;

-- Everything the stored data gives, one line each.
CREATE FUNCTION public.risk_results() RETURNS SETOF text LANGUAGE plpgsql STABLE AS $results$
BEGIN
RETURN QUERY
SELECT 'registry ' || concat_ws(' ', name, version, format, md5(model), feature_names, num_features,
                                objective, num_trees, metadata)
  FROM risk.model_registry
UNION ALL
SELECT 'score ' || e.i || ' ' ||
       risk.score('upgrade_m', ARRAY[e.amount, e.i, e.card, e.device]::real[]) || ' ' ||
       risk.score_margin('upgrade_m', ARRAY[e.amount, e.i, e.card, e.device]::float8[]) || ' ' ||
       array_to_string(risk.score_contributions('upgrade_m', ARRAY[e.amount, e.i, e.card, e.device]::real[]), ',')
  FROM public.events e WHERE e.i % 10 = 0
UNION ALL
SELECT 'thresholds ' || concat_ws(' ', model, review, block, reasons) FROM risk.decision_thresholds
UNION ALL
SELECT 'state ' || card || ' ' || state::text || ' ' ||
       risk.velocity_read(state, '2026-11-25 08:00+00')::text || ' ' ||
       risk.velocity_read(risk.velocity_add(state, '2026-11-25 09:00+00', 5, 7), '2026-11-25 09:00+00', true)::text
  FROM public.states
UNION ALL
SELECT 'summary ' || day || ' ' || summary::text || ' ' ||
       concat_ws(' ', risk.auc(summary), risk.log_loss(summary), risk.rows(summary))
  FROM public.summaries
UNION ALL
SELECT 'rollup ' || concat_ws(' ', risk.auc(s), risk.ks(s), risk.rows(s), s::text)
  FROM (SELECT risk.rollup(summary) s FROM public.summaries) r
UNION ALL
SELECT 'view ' || concat_ws(' ', day, auc, ks, lift, sd, auc_p, csi) FROM public.daily_metrics;
END
$results$;

CREATE TEMP TABLE model_bytes AS SELECT bytes FROM fx.files WHERE file = 'orders.json';
SELECT format('host=%s port=%s dbname=', current_setting('unix_socket_directories'),
              current_setting('port')) AS conn \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS risk_upgraded;
DROP DATABASE IF EXISTS risk_fresh;
RESET client_min_messages;
CREATE DATABASE risk_upgraded;
CREATE DATABASE risk_fresh;
SELECT dblink_connect('upgraded', :'conn' || 'risk_upgraded') \g /dev/null
SELECT dblink_connect('fresh', :'conn' || 'risk_fresh') \g /dev/null

-- the helper functions in both databases
SELECT dblink_exec(c, pg_get_functiondef(f::regprocedure))
  FROM unnest(ARRAY['upgraded', 'fresh']) c,
       unnest(ARRAY['public.risk_catalog()', 'public.risk_store_data(bytea)', 'public.risk_results()']) f
\g /dev/null

SELECT is(dblink_exec('upgraded', $$CREATE EXTENSION risk VERSION '0.1.0'$$), 'CREATE EXTENSION',
          'upgraded: 0.1.0 installs');
SELECT is(v, '0.1.0', 'upgraded: at 0.1.0')
  FROM dblink('upgraded', $$SELECT extversion FROM pg_extension WHERE extname = 'risk'$$) AS t(v text);
SELECT is(dblink_exec('upgraded', format('CALL public.risk_store_data(%L)', bytes)), 'CALL',
          'upgraded: models, thresholds, states and summaries stored under 0.1.0')
  FROM model_bytes;
CREATE TEMP TABLE results_010 AS
  SELECT * FROM dblink('upgraded', 'SELECT * FROM public.risk_results()') AS t(line text);

SELECT is(dblink_exec('upgraded', 'ALTER EXTENSION risk UPDATE'), 'ALTER EXTENSION',
          'ALTER EXTENSION risk UPDATE');
SELECT is(v, '0.2.0', 'upgraded: at 0.2.0')
  FROM dblink('upgraded', $$SELECT extversion FROM pg_extension WHERE extname = 'risk'$$) AS t(v text);

SELECT is(dblink_exec('fresh', 'CREATE EXTENSION risk'), 'CREATE EXTENSION', 'fresh: CREATE EXTENSION risk');
SELECT is(v, '0.2.0', 'fresh: the default version is 0.2.0')
  FROM dblink('fresh', $$SELECT extversion FROM pg_extension WHERE extname = 'risk'$$) AS t(v text);
SELECT is(dblink_exec('fresh', format('CALL public.risk_store_data(%L)', bytes)), 'CALL',
          'fresh: the same data stored under 0.2.0')
  FROM model_bytes;

CREATE TEMP TABLE catalog_upgraded AS
  SELECT * FROM dblink('upgraded', 'SELECT * FROM public.risk_catalog()') AS t(line text);
CREATE TEMP TABLE catalog_fresh AS
  SELECT * FROM dblink('fresh', 'SELECT * FROM public.risk_catalog()') AS t(line text);
CREATE TEMP TABLE results_upgraded AS
  SELECT * FROM dblink('upgraded', 'SELECT * FROM public.risk_results()') AS t(line text);
CREATE TEMP TABLE results_fresh AS
  SELECT * FROM dblink('fresh', 'SELECT * FROM public.risk_results()') AS t(line text);

SELECT cmp_ok((SELECT count(*) FROM catalog_fresh), '>', 400::bigint,
              'the catalog listing covers the extension''s objects');
SELECT set_eq('SELECT line FROM catalog_upgraded', 'SELECT line FROM catalog_fresh',
              'upgraded and fresh: the same objects, definitions, comments and grants');
SELECT cmp_ok((SELECT count(*) FROM results_010), '>', 35::bigint, 'the stored data gives results');
SELECT set_eq('SELECT line FROM results_upgraded', 'SELECT line FROM results_010',
              'upgraded: the stored models, states and summaries read and score as under 0.1.0');
SELECT set_eq('SELECT line FROM results_fresh', 'SELECT line FROM results_010',
              'fresh: the same data stored under 0.2.0 gives the same results');

-- what differs, if anything (no rows when the upgrade is complete)
\pset tuples_only off
(SELECT 'only upgraded' AS side, line FROM catalog_upgraded EXCEPT SELECT 'only upgraded', line FROM catalog_fresh)
UNION ALL
(SELECT 'only fresh', line FROM catalog_fresh EXCEPT SELECT 'only fresh', line FROM catalog_upgraded)
ORDER BY 2, 1;
\pset tuples_only on

SELECT dblink_disconnect('upgraded') \g /dev/null
SELECT dblink_disconnect('fresh') \g /dev/null
DROP DATABASE risk_upgraded;
DROP DATABASE risk_fresh;
DROP FUNCTION public.risk_catalog(), public.risk_results();
DROP PROCEDURE public.risk_store_data(bytea);
SELECT * FROM finish();
