-- risk 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION risk UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Model registry: SQL-standard bodies, immune to the caller's search_path
------------------------------------------------------------------------------

-- SQL-standard bodies: parsed here, under the extension's own search_path, so no
-- caller's search_path changes what they run (no operator or function of
-- another schema can take the place of ours).
CREATE OR REPLACE FUNCTION @extschema@.describe_model(name text, version integer DEFAULT NULL)
  RETURNS TABLE (name text, version integer, is_current boolean, objective text,
                 booster text, format text, num_features integer,
                 feature_names text[], feature_types text[], num_trees integer,
                 num_classes integer, max_depth integer, num_leaves integer,
                 base_score float8, xgboost_version text, size_bytes integer,
                 created_at timestamptz, created_by name, metadata jsonb)
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.name, r.version,
           r.version = (SELECT max(c.version) FROM @extschema@.model_registry c
                         WHERE c.name = r.name),
           r.objective, r.booster, r.format, r.num_features, r.feature_names,
           r.feature_types, r.num_trees, r.num_classes, r.max_depth, r.num_leaves,
           r.base_score, r.xgboost_version, octet_length(r.model), r.created_at,
           r.created_by, r.metadata
      FROM @extschema@.model_registry r
     WHERE r.name = describe_model.name
       AND r.version = coalesce(describe_model.version,
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = describe_model.name));
END;

CREATE OR REPLACE FUNCTION @extschema@.model_features(name text, version integer DEFAULT NULL)
  RETURNS TABLE (ordinal integer, feature text, type text)
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT f.ordinal::integer, f.feature, f.type
      FROM @extschema@.model_registry r,
           unnest(r.feature_names, r.feature_types) WITH ORDINALITY AS f(feature, type, ordinal)
     WHERE r.name = model_features.name
       AND r.version = coalesce(model_features.version,
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = model_features.name))
     ORDER BY f.ordinal;
END;
