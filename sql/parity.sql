-- Parity: risk.score against libxgboost on 12,000 rows per model, for the
-- JSON, UBJSON and old binary copies of every model (bit-exact: 0 mismatches).
\set ON_ERROR_STOP 1
\getenv fx RISK_FIXTURES

-- every model in each format it was saved in (categorical models: no old binary)
SELECT count(*) AS imported
  FROM (SELECT risk.load_model(m.model || '_' || e.ext, :'fx' || '/' || m.model || '.' || e.ext)
          FROM fx.manifest m, unnest(string_to_array(m.formats, ' ')) e(ext)) s;

SELECT r.name, r.format, r.objective, r.booster, r.num_trees, r.max_depth,
       'c' = ANY (r.feature_types) AS categorical
  FROM risk.model_registry r WHERE r.name LIKE '%\_json' OR r.name LIKE 'bin_d6%' ORDER BY r.name;

-- risk.score vs xgboost's predict() from Python: exact float32 equality
CREATE TEMP TABLE parity AS
SELECT m.model, e.ext, count(*) AS rows,
       count(*) FILTER (WHERE
         CASE m.kind
           WHEN 'value' THEN risk.score(m.model || '_' || e.ext, f.x)::real IS DISTINCT FROM p.value::real
           ELSE risk.score_classes(m.model || '_' || e.ext, f.x)::real[] IS DISTINCT FROM p.value::real[]
         END) AS mismatches
  FROM fx.manifest m
 CROSS JOIN unnest(string_to_array(m.formats, ' ')) e(ext)
  JOIN fx.predictions p ON p.model = m.model
  JOIN fx.features f ON f.id = p.id
 GROUP BY m.model, e.ext;

SELECT model, objective,
       max(rows) AS rows,
       sum(mismatches) FILTER (WHERE ext = 'json') AS json,
       sum(mismatches) FILTER (WHERE ext = 'ubj') AS ubjson,
       sum(mismatches) FILTER (WHERE ext = 'bin') AS binary
  FROM parity JOIN fx.manifest USING (model)
 GROUP BY model, objective ORDER BY model;

SELECT sum(rows) AS rows_compared, sum(mismatches) AS total_mismatches FROM parity;

-- feature importance against get_score() of every importance type, every model
-- in every format: exactly (libxgboost sums in float, in the same order)
SELECT count(*) AS features_compared,
       count(*) FILTER (WHERE (r.weight::float8, r.gain, r.cover, r.total_gain, r.total_cover)
                        IS DISTINCT FROM (i.weight, i.gain, i.cover, i.total_gain, i.total_cover)) AS mismatches,
       count(*) FILTER (WHERE i.weight = 0) AS never_split
  FROM fx.manifest m
 CROSS JOIN unnest(string_to_array(m.formats, ' ')) e(ext)
  JOIN fx.importance i ON i.model = m.model
  JOIN LATERAL risk.feature_importance(m.model || '_' || e.ext) r ON r.ordinal = i.ordinal;

-- raw margins of every single-output model
SELECT g.model,
       count(*) FILTER (WHERE risk.score_margin(g.model || '_json', f.x)::real
                              IS DISTINCT FROM g.margin) AS margin_mismatches
  FROM fx.margins g JOIN fx.features f USING (id)
 GROUP BY g.model
HAVING count(*) FILTER (WHERE risk.score_margin(g.model || '_json', f.x)::real
                              IS DISTINCT FROM g.margin) > 0;

-- against libxgboost's in-place predict in this backend (risk.score_xgboost).
-- DART models are left out: libxgboost 1.7.4's in-place predict itself
-- differs from its predict() in the last bits when the base margin is not 0
-- (it adds each tree's weighted output differently); risk.score follows
-- predict(), checked above.
SELECT m.model,
       count(*) FILTER (WHERE
         CASE m.kind
           WHEN 'value' THEN risk.score(m.model || '_json', f.x) IS DISTINCT FROM risk.score_xgboost(m.model || '_json', f.x)
           ELSE risk.score_classes(m.model || '_json', f.x) IS DISTINCT FROM risk.score_xgboost_classes(m.model || '_json', f.x)
         END) AS mismatches_vs_inplace
  FROM fx.manifest m CROSS JOIN fx.features f
 WHERE m.model NOT LIKE 'dart%'
 GROUP BY m.model
 ORDER BY m.model;

-- the float8[] overload rounds each value to float32 first, as xgboost does
SELECT count(*) FILTER (WHERE risk.score('bin_d6_json', f.x::float8[]) IS DISTINCT FROM p.value::real::float8) AS float8_mismatches
  FROM fx.features f JOIN fx.predictions p ON p.model = 'bin_d6' AND p.id = f.id;
