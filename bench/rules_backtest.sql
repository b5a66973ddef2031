-- Backtest benchmark (run by bench/run after bench/rules.sql): risk.backtest
-- of the 100 rules over the history against the plain SQL that computes the
-- same per-rule figures (hits, fraud hits, fraud and good amounts, fraud
-- only that rule catches) in one scan, each rule evaluated once per row; both
-- with the parallel workers PostgreSQL plans.  Then four rule sets at once:
-- four backtests against one plain query with the four sets' figures.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;
\ir best_ms.sql
SELECT bench.publish(100, true) AS version \gset

-- the plain SQL: each rule once per row (OFFSET 0 keeps the inner query
-- whole), then five filtered aggregates per rule, as five arrays
CREATE FUNCTION bench.plain_sql(sets int) RETURNS text LANGUAGE sql AS $$
  WITH r AS (SELECT i, s, regexp_replace(expression, $r$risk\.in_list\(('[a-z_]+'), ([a-z_]+)\)$r$,
                                         $r$risk.in_list(\1, \2, created_at)$r$, 'g') AS plain,
                    action
               FROM bench.backtest_rules, generate_series(1, sets) s)
  SELECT format('SELECT ARRAY[%s] AS hits, ARRAY[%s] AS fraud_hits, ARRAY[%s] AS fraud_amount, ARRAY[%s] AS good_amount, '
                'ARRAY[%s] AS unique_fraud FROM (SELECT %s, is_fraud AS f, amount AS a, %s FROM bench.plain_history OFFSET 0) x',
                string_agg(format('count(*) FILTER (WHERE r%s_%s)', i, s), ', ' ORDER BY s, i),
                string_agg(format('count(*) FILTER (WHERE r%s_%s AND f)', i, s), ', ' ORDER BY s, i),
                string_agg(format('sum(a) FILTER (WHERE r%s_%s AND f)', i, s), ', ' ORDER BY s, i),
                string_agg(format('sum(a) FILTER (WHERE r%s_%s AND NOT f)', i, s), ', ' ORDER BY s, i),
                string_agg(format('count(*) FILTER (WHERE r%1$s_%2$s AND f AND c%2$s = 1)', i, s), ', ' ORDER BY s, i),
                string_agg(format('coalesce(%s, false) AS r%s_%s', plain, i, s), ', ' ORDER BY s, i),
                (SELECT string_agg(format('(%s) AS c%s', c, s), ', ')
                   FROM (SELECT s, string_agg(format('coalesce(%s, false)::int', plain), ' + ') c
                           FROM r WHERE action <> 'allow' GROUP BY s) cs))
    FROM r;
$$;

-- the same figures first
SELECT format('CREATE TEMP TABLE plain_figures AS %s', bench.plain_sql(1)) \gexec
CREATE TEMP TABLE report AS
SELECT risk.backtest('bench', 'bench.history', version => :version, baseline => 0, score => 'score') AS r;
SELECT (SELECT array_agg(hits ORDER BY key) FROM risk.backtest_rules((SELECT r FROM report))) = hits
       AND (SELECT array_agg(fraud_hits ORDER BY key) FROM risk.backtest_rules((SELECT r FROM report))) = fraud_hits
       AND (SELECT array_agg(unique_fraud_hits ORDER BY key) FROM risk.backtest_rules((SELECT r FROM report))) = unique_fraud
       AS same_figures,
       (SELECT sum(h) FROM unnest(hits) h) AS hits_of_all_rules
  FROM plain_figures;

CREATE TABLE bench.backtest_result (what text PRIMARY KEY, ms float8);

INSERT INTO bench.backtest_result VALUES
  ('risk.backtest, 100 rules', pg_temp.best_ms(format(
     'SELECT risk.backtest(%L, %L, version => %s, baseline => 0, score => %L)', 'bench', 'bench.history', :version, 'score'))),
  ('plain SQL, 100 rules', pg_temp.best_ms(bench.plain_sql(1)));
-- four rule sets at once: four backtests, one plain query with 400 rules
INSERT INTO bench.backtest_result VALUES
  ('risk.backtest, 4 x 100 rules', pg_temp.best_ms(format(
     'SELECT risk.backtest(%1$L, %2$L, version => %3$s, baseline => 0, score => %4$L), '
     'risk.backtest(%1$L, %2$L, version => %3$s, baseline => 0, score => %4$L), '
     'risk.backtest(%1$L, %2$L, version => %3$s, baseline => 0, score => %4$L), '
     'risk.backtest(%1$L, %2$L, version => %3$s, baseline => 0, score => %4$L)',
     'bench', 'bench.history', :version, 'score'), 1)),
  ('plain SQL, 4 x 100 rules', pg_temp.best_ms(bench.plain_sql(4), 1));
\pset footer off
SELECT what, round(ms) AS ms FROM bench.backtest_result ORDER BY what;
SELECT round((b.ms / p.ms)::numeric, 2) AS backtest_vs_plain_100_rules, 'target <= 1.5' AS target,
       round((b4.ms / p4.ms)::numeric, 2) AS backtest_vs_plain_4_sets, 'target < 1' AS target_4_sets
  FROM bench.backtest_result b, bench.backtest_result p, bench.backtest_result b4, bench.backtest_result p4
 WHERE b.what = 'risk.backtest, 100 rules' AND p.what = 'plain SQL, 100 rules'
   AND b4.what = 'risk.backtest, 4 x 100 rules' AND p4.what = 'plain SQL, 4 x 100 rules';
