-- Scoring: arrays of real or double precision, rows bound by column name,
-- missing values, multi-class outputs, views, and parallel query.
\set ON_ERROR_STOP 1
SELECT risk.import_model('orders', bytes) AS version FROM fx.files WHERE file = 'orders.json';
SELECT * FROM risk.model_features('orders');

-- by name: a row whose columns are named like the features, in any order,
-- with any other columns around them
SELECT count(*) AS rows,
       count(*) FILTER (WHERE risk.score('orders', o)::real IS DISTINCT FROM o.expected) AS mismatches
  FROM (SELECT id, orders_1h, is_new_device, account_age_days, amount, expected FROM fx.orders) o;

-- the same rows as real[] and double precision[] in the model's order
SELECT count(*) FILTER (WHERE risk.score('orders', ARRAY[amount, account_age_days, is_new_device, orders_1h])::real
                              IS DISTINCT FROM expected) AS real_mismatches,
       count(*) FILTER (WHERE risk.score('orders', ARRAY[amount, account_age_days, is_new_device, orders_1h]::float8[])::real
                              IS DISTINCT FROM expected) AS float8_mismatches
  FROM fx.orders;

-- a table's own rows; integer, numeric and boolean columns are features too
CREATE TABLE orders_typed (
    order_id bigint PRIMARY KEY,
    amount numeric(12,2),
    account_age_days integer,
    is_new_device boolean,
    orders_1h smallint,
    note text
);
INSERT INTO orders_typed VALUES
    (1, 250.00, 3, true, 0, 'new account, new device'),
    (2, 35.50, 900, false, 1, 'regular'),
    (3, 80.00, NULL, NULL, 7, 'burst of orders'),
    (4, NULL, 12, false, NULL, 'mostly unknown');
SELECT o.order_id, o.note,
       round(risk.score('orders', o)::numeric, 6) AS score,
       risk.score('orders', o) = risk.score('orders', ARRAY[o.amount, o.account_age_days,
                                        o.is_new_device::int, o.orders_1h]::float8[]) AS same_as_array
  FROM orders_typed o ORDER BY o.order_id;

-- NULL and NaN both mean missing
SELECT risk.score('orders', ARRAY[80, NULL, NULL, 7]::real[])
     = risk.score('orders', ARRAY[80, 'NaN', 'NaN', 7]::real[]) AS null_is_nan;

-- STRICT: a NULL array or row gives NULL
SELECT risk.score('orders', NULL::real[]) IS NULL AS null_array,
       risk.score(NULL, ARRAY[1, 2, 3, 4]::real[]) IS NULL AS null_model;

-- margins: the logistic objective's sigmoid of the margin
SELECT count(*) FILTER (WHERE abs(risk.score('orders', o) - 1 / (1 + exp(-risk.score_margin('orders', o)))) > 1e-6) AS off
  FROM (SELECT amount, account_age_days, is_new_device, orders_1h FROM fx.orders) o;

-- multi-class: probabilities per class; multi:softmax returns the best class
SELECT array_length(risk.score_classes('softprob4_json', x), 1) AS classes,
       round(sum(p)::numeric, 5) AS total
  FROM fx.features f, unnest(risk.score_classes('softprob4_json', f.x)) p
 WHERE f.id = 1 GROUP BY 1;
SELECT count(*) FILTER (WHERE risk.score('softmax3_json', x) <> (
         SELECT i - 1 FROM unnest(risk.score_classes('softmax3_json', x)) WITH ORDINALITY u(p, i)
          ORDER BY p DESC, i LIMIT 1)) AS argmax_disagreements
  FROM fx.features WHERE id < 2000;

-- in a view and a materialized view
CREATE VIEW scored_orders AS
  SELECT o.order_id, risk.score('orders', o) AS score FROM orders_typed o;
CREATE MATERIALIZED VIEW scored_orders_mv AS SELECT * FROM scored_orders;
SELECT count(*) FILTER (WHERE v.score IS DISTINCT FROM m.score) AS view_mismatches
  FROM scored_orders v JOIN scored_orders_mv m USING (order_id);

-- parallel query: workers score too, with the same results
CREATE TABLE many AS SELECT f.id, f.x FROM fx.features f, generate_series(1, 10) g;
ANALYZE many;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (integer sums, so the order rows are added in does not matter)
EXPLAIN (COSTS OFF) SELECT sum((risk.score('bin_d6_json', x) * 1e9)::bigint) FROM many;
SELECT sum((risk.score('bin_d6_json', x) * 1e9)::bigint) AS parallel_sum FROM many \gset
SET max_parallel_workers_per_gather = 0;
SELECT sum((risk.score('bin_d6_json', x) * 1e9)::bigint) = :parallel_sum AS parallel_equals_serial
  FROM many;
RESET ALL;

DROP MATERIALIZED VIEW scored_orders_mv;
DROP VIEW scored_orders;
DROP TABLE orders_typed, many;
