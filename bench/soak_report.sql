-- Soak test, the checks (run by bench/soak): no row lost, every row scored
-- by a committed version (a or b, never the rolled-back c), every velocity
-- state equal to a recount, the backends' memory flat.
\set ON_ERROR_STOP 1
\pset footer off
SELECT :transactions AS pgbench_transactions,
       (SELECT count(*) FROM marketplace.orders) AS rows_stored,
       (SELECT count(*) FROM marketplace.orders) - :transactions AS lost
\gset
CREATE TEMP TABLE scored AS
SELECT o.order_id, o.score,
       o.score = risk.score('soak_a', o.served) AS by_a,
       o.score = risk.score('soak_b', o.served) AS by_b,
       o.score = risk.score('soak_c', o.served) AS by_c
  FROM marketplace.orders o WHERE o.served IS NOT NULL;
CREATE TEMP TABLE recount AS SELECT * FROM marketplace.entity_state_rebuilt;
SELECT 'rows inserted (pgbench transactions)' AS check, :pgbench_transactions::text AS value
UNION ALL SELECT 'rows stored', :rows_stored::text
UNION ALL SELECT 'rows lost', :lost::text
UNION ALL SELECT 'model versions imported (committed / rolled back)',
                 (SELECT count(*) FILTER (WHERE committed) || ' / ' || count(*) FILTER (WHERE NOT committed) FROM soak.imports)
UNION ALL SELECT 'rows scored by variant a / b', (SELECT count(*) FILTER (WHERE by_a) || ' / ' || count(*) FILTER (WHERE by_b) FROM scored)
UNION ALL SELECT 'rows scored by no committed version', (SELECT count(*) FILTER (WHERE NOT coalesce(by_a OR by_b, false))::text FROM scored)
UNION ALL SELECT 'rows scored by the rolled-back version', (SELECT count(*) FILTER (WHERE by_c AND NOT by_a AND NOT by_b)::text FROM scored)
UNION ALL SELECT 'rows without recorded features', ((SELECT count(*) FROM marketplace.orders) - (SELECT count(*) FROM scored))::text
UNION ALL SELECT 'entity states', (SELECT count(*)::text FROM marketplace.entity_state)
UNION ALL SELECT 'entity states unlike the recount',
                 ((SELECT count(*) FROM recount r FULL JOIN marketplace.entity_state s USING (kind, entity)
                    WHERE r.state::text IS DISTINCT FROM s.state::text))::text
UNION ALL SELECT 'memory samples of the inserting backends', (SELECT count(*)::text FROM soak.rss)
UNION ALL SELECT 'private memory (RssAnon) of the largest backend, first and last sample (kB)',
                 (SELECT (array_agg(max_kb ORDER BY at))[1] || ' / ' || (array_agg(max_kb ORDER BY at DESC))[1] FROM soak.rss)
UNION ALL SELECT 'private memory of the largest backend over the run (kB)', (SELECT max(max_kb)::text FROM soak.rss);
SELECT (:lost = 0
        AND (SELECT count(*) FILTER (WHERE NOT coalesce(by_a OR by_b, false)) FROM scored) = 0
        AND (SELECT count(*) FROM marketplace.orders) = (SELECT count(*) FROM scored)
        AND (SELECT count(*) FROM recount r FULL JOIN marketplace.entity_state s USING (kind, entity)
              WHERE r.state::text IS DISTINCT FROM s.state::text) = 0
        -- flat: the last sample within 25% (and 10 MB) of the first after a warm-up of a sixth of the run
        AND coalesce((SELECT (array_agg(max_kb ORDER BY at DESC))[1] <= 1.25 * (array_agg(max_kb ORDER BY at))[1] + 10240
                        FROM soak.rss
                       WHERE at >= (SELECT min(at) + (max(at) - min(at)) / 6 FROM soak.rss)), false)) AS soak_passed \gset
\echo soak passed: :soak_passed
