-- Bulk-load benchmark (run by bench/run after the insert runs): COPY of
-- :rows new orders (4 to 13 February, the same world) from CSV files, into
-- the plain copy, then into marketplace.orders through the scoring trigger
-- (the feature set's states, the model, thresholds and reasons), in one
-- backend, rows per second.  The files hold :chunk orders each, one COPY
-- and one transaction per file, as a loader commits; and one file is also
-- loaded in a single transaction with :single orders, to show what a long
-- transaction costs the states (README, Performance).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SELECT max(order_id) + 1 AS first FROM marketplace.incoming \gset
CREATE UNLOGGED TABLE marketplace.copy_source AS
SELECT * FROM risk.synthetic_orders(:rows + :single, 42, start_at => '2026-02-04 00:00:00+00', days => 10,
                                    buyers => :history / 6, first_order_id => :first);
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS cols
  FROM pg_attribute WHERE attrelid = 'marketplace.copy_source'::regclass AND attnum > 0 AND NOT attisdropped \gset
-- the files: :dir/copy_<n>.csv, n = 0 .. rows / chunk - 1, then copy_single.csv
SELECT format('COPY (SELECT * FROM marketplace.copy_source WHERE order_id >= %s AND order_id < %s ORDER BY order_id) TO %L (FORMAT csv)',
              :first + n * :chunk, :first + (n + 1) * :chunk, :'dir' || '/copy_' || n || '.csv')
  FROM generate_series(0, :rows / :chunk - 1) n \gexec
SELECT format('COPY (SELECT * FROM marketplace.copy_source WHERE order_id >= %s ORDER BY order_id) TO %L (FORMAT csv)',
              :first + :rows, :'dir' || '/copy_single.csv') \gexec
CREATE PROCEDURE marketplace.load(target regclass, files int, cols text, dir text) LANGUAGE plpgsql AS $$
BEGIN
    FOR n IN 0..files - 1 LOOP
        EXECUTE format('COPY %s (%s) FROM %L (FORMAT csv)', target, cols, dir || '/copy_' || n || '.csv');
        COMMIT;
    END LOOP;
END $$;
TRUNCATE marketplace.plain_orders;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL marketplace.load('marketplace.plain_orders', :rows / :chunk, :'cols', :'dir');
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS plain_s \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL marketplace.load('marketplace.orders', :rows / :chunk, :'cols', :'dir');
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS scored_s \gset
-- one transaction of :single orders
\set f :dir '/copy_single.csv'
TRUNCATE marketplace.plain_orders;
SELECT clock_timestamp() AS t0 \gset
COPY marketplace.plain_orders (:cols) FROM :'f' (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS plain_single_s \gset
SELECT clock_timestamp() AS t0 \gset
COPY marketplace.orders (:cols) FROM :'f' (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS scored_single_s \gset
SELECT format('%s x %s', :rows / :chunk, :chunk) AS transactions_x_orders,
       round(:rows / :plain_s) AS plain_copy_rows_per_s, round(:rows / :scored_s) AS scored_copy_rows_per_s,
       round((100 * :plain_s / :scored_s)::numeric, 1) || '%' AS scored_vs_plain
UNION ALL
SELECT format('1 x %s', :single), round(:single / :plain_single_s), round(:single / :scored_single_s),
       round((100 * :plain_single_s / :scored_single_s)::numeric, 1) || '%';
SELECT count(*) AS loaded, count(*) FILTER (WHERE score IS NULL) AS unscored, count(*) FILTER (WHERE decision <> 'allow') AS held
  FROM marketplace.orders WHERE order_id >= :first;
DROP TABLE marketplace.copy_source;
DROP PROCEDURE marketplace.load(regclass, int, text, text);
\! rm -f "$RISK_BENCH_COPY_DIR"/copy_*.csv
