-- Set-up shared by the whole suite: extensions, and the reference data that
-- .ci/fixtures.py made with libxgboost (path in $RISK_FIXTURES).
\set ON_ERROR_STOP 1
\getenv fx RISK_FIXTURES
SET client_min_messages = warning;
CREATE EXTENSION risk;
CREATE EXTENSION pgtap;
CREATE EXTENSION dblink;
CREATE SCHEMA fx;

-- 12,000 rows of 20 features, about 5% missing (as NULL or NaN)
CREATE TABLE fx.features (id int PRIMARY KEY, x real[] NOT NULL);
\set f :fx '/features.csv'
COPY fx.features FROM :'f' CSV;

-- one row per model: name, objective, num_class, kind (value | classes),
-- and the formats it was saved in ('json ubj bin', or 'json ubj')
CREATE TABLE fx.manifest (model text PRIMARY KEY, objective text, num_class int, kind text,
                          formats text);
\set f :fx '/manifest.csv'
COPY fx.manifest FROM :'f' CSV;

-- what xgboost's predict() returned, as float32 text (an array for classes)
CREATE TABLE fx.predictions (model text, id int, value text, PRIMARY KEY (model, id));
\set f :fx '/predictions.csv'
COPY fx.predictions FROM :'f' CSV;

CREATE TABLE fx.margins (model text, id int, margin real, PRIMARY KEY (model, id));
\set f :fx '/margins.csv'
COPY fx.margins FROM :'f' CSV;

CREATE TABLE fx.importance (model text, ordinal int, weight float8, gain float8, cover float8,
                            total_gain float8, total_cover float8, PRIMARY KEY (model, ordinal));
\set f :fx '/importance.csv'
COPY fx.importance FROM :'f' CSV;

-- the small named-feature model's rows and its expected scores (v1, v2)
CREATE TABLE fx.orders (id int PRIMARY KEY, amount real, account_age_days real,
                        is_new_device real, orders_1h real, expected real, expected_v2 real);
\set f :fx '/orders.csv'
COPY fx.orders FROM :'f' CSV;

-- model files as bytes, for import_model and for the error tests
CREATE TABLE fx.files (file text PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO fx.files
SELECT m.model || '.' || e.ext, pg_read_binary_file(:'fx' || '/' || m.model || '.' || e.ext)
  FROM fx.manifest m, unnest(string_to_array(m.formats, ' ')) e(ext);
INSERT INTO fx.files
SELECT f, pg_read_binary_file(:'fx' || '/' || f)
  FROM unnest(ARRAY['orders.json', 'orders.bin', 'orders_v2.json']) f;
-- fx.plan_of(query): the query's plan on one line, for tests that check a
-- plan's shape (a Partial Aggregate under Gather)
CREATE FUNCTION fx.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    plan := plan || line || ' ';
  END LOOP;
  RETURN plan;
END $$;

-- fx.binary_copy_file(path, field): a COPY ... (FORMAT binary) file of one row
-- and one column whose bytes are `field`, for the tests of the types' binary input
CREATE FUNCTION fx.binary_copy_file(path text, field bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                             || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
BEGIN
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
END $$;

-- fx.cancelled(query): 'cancelled' when a statement_timeout (or a cancel)
-- stops the query within 5 seconds of its start, far more than a cancel
-- takes, 'cancelled late' after that, 'finished' when it was not stopped
CREATE FUNCTION fx.cancelled(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    EXECUTE query;
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN CASE WHEN clock_timestamp() - started < interval '5 seconds' THEN 'cancelled' ELSE 'cancelled late' END;
END $$;

GRANT USAGE ON SCHEMA fx TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA fx TO PUBLIC;

SELECT count(*) AS feature_rows, count(*) FILTER (WHERE array_position(x, NULL) IS NOT NULL) > 1000 AS has_nulls
  FROM fx.features;
SELECT count(*) AS models FROM fx.manifest;
SELECT count(*) AS model_files FROM fx.files;
