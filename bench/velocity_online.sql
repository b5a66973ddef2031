-- Online velocity state benchmark (run by bench/run after bench/velocity.sql,
-- on its ev_bench table): the states of every entity built from history by
-- risk.velocity_state_agg, then the cost of one event at insert time: an
-- UPSERT that adds it to the entity's state and returns the features before
-- it, one committed transaction per event (synchronous_commit off, so that
-- the disk's flush time is not what is measured), for a hot and a cold
-- entity, against the same UPSERT of a plain counter (count and sum); and
-- the same events through risk.velocity_track (what the scoring trigger's
-- features function calls) instead of the UPSERT.
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET work_mem = '2GB';
SET synchronous_commit = off;
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

\echo -- backfilling the states of every entity (risk.velocity_state_agg)
-- states up to 8 kB stay in the row, and half of each page is left for
-- updates, so that a state of up to 4 kB is rewritten in its page (README)
CREATE TABLE online_state (entity bigint PRIMARY KEY, state risk.velocity_state NOT NULL)
  WITH (fillfactor = 50, toast_tuple_target = 8160);
SELECT clock_timestamp() AS t0 \gset
INSERT INTO online_state
SELECT entity, risk.velocity_state_agg(at, amount, device, '{10 minutes,1 hour,24 hours,7 days}')
  FROM ev_bench GROUP BY entity;
SELECT 1000 * extract(epoch FROM clock_timestamp() - :'t0') AS backfill_ms \gset
-- a hot entity's events without their devices: counts and sums alone
INSERT INTO online_state
SELECT -1, risk.velocity_state_agg(at, amount, NULL::text, '{10 minutes,1 hour,24 hours,7 days}')
  FROM ev_bench WHERE entity = 1;
-- another hot entity with its distinct devices capped at 100 (max_distinct)
INSERT INTO online_state
SELECT -2, risk.velocity_state_agg(at, amount, device, '{10 minutes,1 hour,24 hours,7 days}', 100)
  FROM ev_bench WHERE entity = 2;
CREATE TABLE online_count AS SELECT entity, count(*) AS n, sum(amount) AS s FROM ev_bench GROUP BY entity;
ALTER TABLE online_count ADD PRIMARY KEY (entity);
VACUUM ANALYZE online_state, online_count;

SELECT max(at) AS last_at FROM ev_bench \gset
SELECT count(*) AS hot_week FROM ev_bench WHERE entity = 0 AND at > :'last_at'::timestamptz - interval '7 days' \gset
SELECT count(DISTINCT device) AS hot_devices FROM ev_bench WHERE entity = 0 AND at > :'last_at'::timestamptz - interval '7 days' \gset
SELECT pg_column_size(state) AS hot_bytes FROM online_state WHERE entity = 0 \gset
SELECT pg_column_size(state) AS capped_bytes FROM online_state WHERE entity = -2 \gset
SELECT pg_column_size(state) AS counts_bytes FROM online_state WHERE entity = -1 \gset
SELECT round(avg(pg_column_size(state))) AS cold_bytes FROM online_state WHERE entity >= 5 \gset

CREATE TABLE online_result (what text PRIMARY KEY, us float8);
-- n events for one kind of entity, one transaction each; microseconds per event
CREATE PROCEDURE online_run(what text, n int) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  at timestamptz;
  e bigint;
  f float8[];
  c bigint;
BEGIN
  FOR i IN 1..n LOOP
    at := timestamptz '2026-11-01' + i * interval '10 seconds';
    e := CASE WHEN what LIKE 'hot%' THEN 0 WHEN what LIKE 'counts%' THEN -1 WHEN what LIKE 'capped%' THEN -2
              ELSE 5 + (i::bigint * 7919) % 999990 END;
    IF what LIKE '%tracked' THEN
      f := risk.velocity_read(risk.velocity_track('online_state', e, at, i % 200,
                                                  CASE WHEN e >= 0 THEN 'dev-' || (i * 31) % 5000 END,
                                                  '{10 minutes,1 hour,24 hours,7 days}', CASE WHEN e = -2 THEN 100 END),
                              at);
    ELSIF what LIKE '%counter' THEN
      INSERT INTO online_count AS s VALUES (e, 1, i % 200)
      ON CONFLICT (entity) DO UPDATE SET n = s.n + 1, s = s.s + i % 200
      RETURNING s.n INTO c;
    ELSE
      INSERT INTO online_state AS s
      VALUES (e, risk.velocity_add(risk.velocity_init('{10 minutes,1 hour,24 hours,7 days}'),
                                   at, i % 200, 'dev-' || (i * 31) % 5000))
      ON CONFLICT (entity) DO UPDATE
        SET state = risk.velocity_add(s.state, at, i % 200, CASE WHEN e >= 0 THEN 'dev-' || (i * 31) % 5000 END)
      RETURNING risk.velocity_read(s.state, at) INTO f;
    END IF;
    COMMIT;
  END LOOP;
  INSERT INTO online_result VALUES (what, 1e6 * extract(epoch FROM clock_timestamp() - t0) / n);
  COMMIT;
END $$;

\echo -- timing inserts (one committed UPSERT per event)
CALL online_run('cold warm-up', 2000);
CALL online_run('cold', 20000);
CALL online_run('cold counter', 20000);
CALL online_run('hot', 5000);
CALL online_run('hot counter', 5000);
CALL online_run('counts hot', 5000);
CALL online_run('capped hot', 5000);
CALL online_run('cold tracked', 20000);
CALL online_run('capped hot tracked', 5000);

\pset footer off
WITH r AS (SELECT max(us) FILTER (WHERE what = 'cold') AS cold,
                  max(us) FILTER (WHERE what = 'cold counter') AS cold_c,
                  max(us) FILTER (WHERE what = 'hot') AS hot,
                  max(us) FILTER (WHERE what = 'hot counter') AS hot_c,
                  max(us) FILTER (WHERE what = 'counts hot') AS counts_hot,
                  max(us) FILTER (WHERE what = 'capped hot') AS capped_hot,
                  max(us) FILTER (WHERE what = 'cold tracked') AS cold_t,
                  max(us) FILTER (WHERE what = 'capped hot tracked') AS capped_hot_t
             FROM online_result)
SELECT v.* FROM r, LATERAL (VALUES
  ('backfill: risk.velocity_state_agg of every entity', round((:backfill_ms * 1000 / (SELECT count(*) FROM ev_bench))::numeric, 3) || ' us/event',
   to_char((SELECT count(*) FROM online_state WHERE entity >= 0), 'FM9,999,999') || ' states'),
  ('cold entity: insert-and-read', round(cold::numeric, 1) || ' us', 'target <= 50 us; state ' || :cold_bytes || ' bytes'),
  ('cold entity: plain counter UPSERT', round(cold_c::numeric, 1) || ' us', 'baseline'),
  ('cold: insert-and-read / counter', round((cold / cold_c)::numeric, 2) || 'x', ''),
  ('hot entity, max_distinct 100: insert-and-read', round(capped_hot::numeric, 1) || ' us',
   'target <= 50 us; ' || :hot_week || ' events in 7 days, state ' || :capped_bytes || ' bytes'),
  ('hot entity: plain counter UPSERT', round(hot_c::numeric, 1) || ' us', 'baseline'),
  ('hot, max_distinct 100: insert-and-read / counter', round((capped_hot / hot_c)::numeric, 2) || 'x', ''),
  ('hot entity, counts and sums only', round(counts_hot::numeric, 1) || ' us', 'no keys; state ' || :counts_bytes || ' bytes'),
  ('hot entity, exact distinct counts', round(hot::numeric, 1) || ' us',
   :hot_devices || ' distinct devices in 7 days, state ' || :hot_bytes || ' bytes'),
  ('cold entity: risk.velocity_track, then read', round(cold_t::numeric, 1) || ' us',
   round((cold_t / cold_c)::numeric, 2) || 'x the counter; ' || round((cold_t / cold)::numeric, 2) || 'x the UPSERT'),
  ('hot entity, max_distinct 100: risk.velocity_track, then read', round(capped_hot_t::numeric, 1) || ' us',
   round((capped_hot_t / hot_c)::numeric, 2) || 'x the counter; ' || round((capped_hot_t / capped_hot)::numeric, 2) || 'x the UPSERT')
) v(measure, value, note);
