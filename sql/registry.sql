-- The model registry: versions, formats, feature names, metadata, listing,
-- describing and dropping.
\set ON_ERROR_STOP 1
\getenv fx RISK_FIXTURES

-- each import of a name is its next version; the format is recognised
SELECT risk.import_model('fraud', bytes, metadata => '{"owner": "risk-team", "auc": 0.91}') AS v
  FROM fx.files WHERE file = 'orders.json';
SELECT risk.import_model('fraud', bytes) AS v FROM fx.files WHERE file = 'bin_d3.ubj';
-- the old binary format carries no feature names: give them, or get f0, f1, ...
SELECT risk.import_model('fraud', bytes,
                         ARRAY['amount', 'account_age_days', 'is_new_device', 'orders_1h']) AS v
  FROM fx.files WHERE file = 'orders.bin';
SELECT risk.import_model('unnamed', bytes) AS v FROM fx.files WHERE file = 'orders.bin';
-- names given for a model that has them must agree
SELECT risk.import_model('fraud', bytes,
                         ARRAY['amount', 'account_age_days', 'is_new_device', 'orders_1h']) AS v
  FROM fx.files WHERE file = 'orders.json';

SELECT name, version, is_current, objective, num_features, num_trees, num_classes,
       max_depth, format, size_bytes > 0 AS has_bytes, created_by = current_user AS by_me, metadata
  FROM risk.models WHERE name IN ('fraud', 'unnamed') ORDER BY name, version;

SELECT name, version, is_current, objective, booster, format, num_features, feature_names,
       feature_types, num_trees, num_classes, max_depth, num_leaves, base_score, xgboost_version
  FROM risk.describe_model('fraud');
SELECT version, feature_names FROM risk.describe_model('fraud', 2);
SELECT * FROM risk.model_features('unnamed');
SELECT * FROM risk.model_features('fraud', 3);

-- the current version is the one scored
SELECT risk.score('fraud', ARRAY[250, 3, 1, 0]::real[]) = risk.score('orders', ARRAY[250, 3, 1, 0]::real[]) AS v4_is_orders;

-- drop one version, then all
SELECT risk.drop_model('fraud', 4) AS dropped;
SELECT version FROM risk.models WHERE name = 'fraud' AND is_current;
SELECT risk.drop_model('fraud') AS dropped;
SELECT risk.drop_model('unnamed') AS dropped;
SELECT count(*) AS left_over FROM risk.models WHERE name IN ('fraud', 'unnamed');

-- the registry and the decision thresholds are extension configuration tables, kept by pg_dump
SELECT c.relname, e.extname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'risk';

-- every SQL function and aggregate is documented: none is listed here
CREATE VIEW risk_functions AS
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, p.prokind AS kind,
       p.provolatile AS vol, p.proisstrict AS strict, p.proparallel AS par,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'risk';
SELECT proname, args FROM risk_functions WHERE NOT commented ORDER BY 1, 2;
-- and labelled: all are IMMUTABLE and PARALLEL SAFE but those listed here,
-- which read or write the extension's tables (the registry, rules, lists) or its caches
SELECT proname, args, vol, strict, par FROM risk_functions WHERE vol <> 'i' OR par <> 's' ORDER BY 1, 2;
-- the functions of each kind (f: function, a: aggregate), and how many are STRICT
SELECT kind, count(*) AS functions, count(*) FILTER (WHERE strict) AS strict
  FROM risk_functions GROUP BY kind ORDER BY kind;
DROP VIEW risk_functions;
