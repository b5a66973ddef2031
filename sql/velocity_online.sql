-- Online velocity state against the batch functions on one event stream
-- (ties, NULL keys and amounts, a burst, a gap of days): risk.velocity_tiled
-- against a plain-SQL recount; a trigger's UPSERT of risk.velocity_add
-- against risk.velocity_tiled, event by event; states built in any order,
-- by the aggregate, under a parallel plan, equal; rolled-back inserts leave
-- no trace; concurrent sessions end as a serial order would; text and
-- binary round trips; errors.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(58);

\set windows '''{10 minutes,1 hour,1 day,7 days}''::interval[]'

-- 12,000 events of 150 buyers; times on a 10-second grid (ties), a burst
-- of 1,500 events in one minute, a gap of 3 days; 6% NULL devices, 2% NULL
-- amounts (multiples of 1/64: binary fractions, so that sums are exact both ways)
CREATE TABLE ev AS
SELECT g AS id,
       ((g / 3)::bigint * 7919) % 150 AS buyer,
       CASE WHEN g BETWEEN 4000 AND 5499 THEN timestamptz '2026-03-01 12:00' + (g % 6) * interval '10 seconds'
            WHEN g > 8000 THEN timestamptz '2026-03-05' + (((g / 3) * 31) % 20000) * interval '10 seconds'
            ELSE timestamptz '2026-03-01' + (((g / 3) * 13) % 8000) * interval '10 seconds' END AS ts,
       CASE WHEN g % 17 = 0 THEN NULL ELSE 'dev-' || ((g::bigint * 104729) % 40) END AS device,
       CASE WHEN g % 53 = 0 THEN NULL ELSE (((g * 37) % 100000) / 64.0)::float8 END AS amount
  FROM generate_series(1, 12000) g;
CREATE INDEX ON ev (buyer, ts);
ANALYZE ev;

-- the tiled window's start, restated from the README: hop = the largest of
-- 1 day, 6 h, 2 h, 1 h, 30/10/5/1 min, 30/10/5/1 s at most window/12, tiles
-- from midnight
CREATE FUNCTION tile_start(t timestamptz, w interval) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN w < interval '12 seconds' THEN t - w
              ELSE date_bin((SELECT max(h) FROM unnest('{1 day,6 hours,2 hours,1 hour,30 minutes,10 minutes,
                                                           5 minutes,1 minute,30 seconds,10 seconds,
                                                           5 seconds,1 second}'::interval[]) h
                              WHERE h * 12 <= w),
                            t - w, timestamptz '2000-01-01 00:00+00') END $$;

-- counts, sums, distinct counts of the buyer's events in [tile start, ts)
-- (or up to ts itself), by plain SQL
CREATE FUNCTION recount(e ev, ws interval[], incl boolean) RETURNS float8[]
  LANGUAGE sql STABLE AS $$
  SELECT array_agg(c ORDER BY part, i) FROM (
    SELECT i, part, c FROM unnest(ws) WITH ORDINALITY AS w(w, i),
      LATERAL (SELECT count(*)::float8 AS n, coalesce(sum(o.amount::numeric), 0)::float8 AS s,
                      count(DISTINCT o.device)::float8 AS d
                 FROM ev o WHERE o.buyer = e.buyer AND o.ts >= tile_start(e.ts, w.w)
                  AND (o.ts < e.ts OR (incl AND o.ts = e.ts))) r,
      LATERAL (VALUES (1, r.n), (2, r.s), (3, r.d)) v(part, c)) t $$;

CREATE TABLE batch AS
SELECT id, buyer, ts,
       risk.velocity_tiled(ts, amount, device, :windows) OVER w AS excl,
       risk.velocity_tiled(ts, amount, device, :windows, true) OVER w AS incl
  FROM ev WINDOW w AS (PARTITION BY buyer ORDER BY ts);

SELECT is(count(*) FILTER (WHERE b.excl IS DISTINCT FROM recount(e, :windows, false)), 0::bigint,
          'risk.velocity_tiled (before the event) = plain-SQL recount, 12,000 events x 4 windows')
  FROM batch b JOIN ev e USING (id);
SELECT is(count(*) FILTER (WHERE b.incl IS DISTINCT FROM recount(e, :windows, true)), 0::bigint,
          'risk.velocity_tiled, include_current (ties included) = plain-SQL recount')
  FROM batch b JOIN ev e USING (id);
SELECT ok(count(*) FILTER (WHERE excl <> risk_excl) > 20,
          'tiled windows differ from exact ones here (the test is not vacuous)')
  FROM (SELECT excl, risk.velocity(ts, amount, device, :windows) OVER (PARTITION BY buyer ORDER BY ts) AS risk_excl
          FROM batch JOIN ev USING (id, buyer, ts)) t;
SELECT is((SELECT count(*) FROM (SELECT risk.velocity_tiled(ts, amount, device, '{5 seconds,11 seconds}') OVER w
                                        IS DISTINCT FROM risk.velocity(ts, amount, device, '{5 seconds,11 seconds}') OVER w AS diff
                                   FROM ev WINDOW w AS (PARTITION BY buyer ORDER BY ts)) t WHERE diff),
          0::bigint, 'windows under 12 seconds are not tiled: equal to risk.velocity');

-- the online path: a trigger scores each order as it is inserted
CREATE TABLE buyer_velocity (buyer bigint PRIMARY KEY, state risk.velocity_state NOT NULL);
CREATE SEQUENCE applied;
CREATE TABLE orders (id int PRIMARY KEY, buyer bigint, ts timestamptz, amount float8, device text,
                     feats float8[], feats_incl float8[], seq bigint);
CREATE FUNCTION orders_velocity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s risk.velocity_state;
BEGIN
  INSERT INTO buyer_velocity AS v
  VALUES (NEW.buyer, risk.velocity_add(risk.velocity_init('{10 minutes,1 hour,1 day,7 days}'),
                                       NEW.ts, NEW.amount, NEW.device))
  ON CONFLICT (buyer) DO UPDATE SET state = risk.velocity_add(v.state, NEW.ts, NEW.amount, NEW.device)
  RETURNING state INTO s;
  NEW.feats := risk.velocity_read(s, NEW.ts);
  NEW.feats_incl := risk.velocity_read(s, NEW.ts, true);
  NEW.seq := nextval('applied');   -- the buyer's row is locked: this is the order of its events
  RETURN NEW;
END $$;
CREATE TRIGGER orders_velocity BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_velocity();

-- in time order (ties in id order)
INSERT INTO orders (id, buyer, ts, amount, device) SELECT id, buyer, ts, amount, device FROM ev ORDER BY ts, id;
SELECT is(count(*), 12000::bigint, 'every order went through the trigger') FROM orders WHERE feats IS NOT NULL;
SELECT is(count(*) FILTER (WHERE o.feats IS DISTINCT FROM b.excl), 0::bigint,
          'online, before the event = risk.velocity_tiled, every one of 12,000 events (ties included)')
  FROM orders o JOIN batch b USING (id);
SELECT is(count(*) FILTER (WHERE o.feats_incl IS DISTINCT FROM b.incl), 0::bigint,
          'online, include_current = risk.velocity_tiled where no tied event is still to come')
  FROM orders o JOIN batch b USING (id)
 WHERE NOT EXISTS (SELECT FROM ev x WHERE x.buyer = o.buyer AND x.ts = o.ts AND x.id > o.id);
SELECT ok(count(*) > 100, 'and it differs where one is (tied events inserted later are not known yet)')
  FROM orders o JOIN batch b USING (id) WHERE o.feats_incl IS DISTINCT FROM b.incl;

-- the same states from history, in any order, also in parallel
CREATE TABLE agg AS
SELECT buyer, risk.velocity_state_agg(ts, amount, device, :windows)::text AS state FROM ev GROUP BY buyer;
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM v.state::text), 0::bigint,
          'risk.velocity_state_agg = the states the trigger built, all 150 buyers')
  FROM agg a FULL JOIN buyer_velocity v USING (buyer);
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM s.state::text), 0::bigint,
          'events aggregated in a shuffled order give the same states')
  FROM agg a JOIN (SELECT buyer, risk.velocity_state_agg(ts, amount, device, :windows ORDER BY md5(id::text)) AS state
                     FROM ev GROUP BY buyer) s USING (buyer);

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT ok(fx.plan_of($$SELECT buyer % 3, risk.velocity_state_agg(ts, amount, device, '{1 hour,7 days}') FROM ev GROUP BY 1$$)
            ~ 'Partial (Hash|Group)?Aggregate',
          'risk.velocity_state_agg splits into partial aggregates');
CREATE TABLE agg_parallel AS
SELECT buyer % 3 AS g, risk.velocity_state_agg(ts, amount, device, '{1 hour,7 days}')::text AS state FROM ev GROUP BY 1;
SELECT is(risk.velocity_state_agg(ts, amount, device, '{1 hour,7 days}'), NULL,
          'no row in any parallel worker: NULL, and no crash')
  FROM ev WHERE amount + 0 < -1;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT is(count(*) FILTER (WHERE p.state IS DISTINCT FROM s.state), 0::bigint,
          'merged partial states (parallel workers) = one serial state')
  FROM agg_parallel p JOIN (SELECT buyer % 3 AS g, risk.velocity_state_agg(ts, amount, device, '{1 hour,7 days}')::text AS state
                              FROM ev GROUP BY 1) s USING (g);
RESET max_parallel_workers_per_gather;

-- reads after the last event
SELECT is(count(*) FILTER (WHERE risk.velocity_read(v.state, e.ts + interval '2 hours') IS DISTINCT FROM
                                  recount(ROW(0, e.buyer, e.ts + interval '2 hours', NULL, NULL)::ev, :windows, false)),
          0::bigint, 'a read two hours after a buyer''s last event = recount')
  FROM buyer_velocity v JOIN (SELECT DISTINCT ON (buyer) * FROM ev ORDER BY buyer, ts DESC) e USING (buyer);

-- transactions: a rolled-back insert leaves no trace
SELECT state::text AS before FROM buyer_velocity WHERE buyer = 7 \gset
BEGIN;
INSERT INTO orders (id, buyer, ts, amount, device) VALUES (100001, 7, '2026-03-09', 99, 'new-device');
SELECT isnt(state::text, :'before', 'inside the transaction the state has the new event') FROM buyer_velocity WHERE buyer = 7;
ROLLBACK;
SELECT is(state::text, :'before', 'rolled back: the state is as it was') FROM buyer_velocity WHERE buyer = 7;
BEGIN;
SAVEPOINT s;
INSERT INTO orders (id, buyer, ts, amount, device) VALUES (100001, 7, '2026-03-09', 99, 'new-device');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT is(state::text, :'before', 'rolled back to a savepoint: the state is as it was') FROM buyer_velocity WHERE buyer = 7;

-- late events: inserted in a shuffled order, the states end the same, and
-- a read at each buyer's last time equals the batch value there
TRUNCATE orders, buyer_velocity;
INSERT INTO orders (id, buyer, ts, amount, device) SELECT id, buyer, ts, amount, device FROM ev ORDER BY md5(id::text);
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM v.state::text), 0::bigint,
          'events inserted out of order: the same states as in order')
  FROM agg a FULL JOIN buyer_velocity v USING (buyer);
SELECT is(count(*) FILTER (WHERE risk.velocity_read(v.state, b.ts) IS DISTINCT FROM b.excl), 0::bigint,
          'and the features at each buyer''s latest time = risk.velocity_tiled')
  FROM buyer_velocity v JOIN (SELECT DISTINCT ON (buyer) * FROM batch ORDER BY buyer, ts DESC) b USING (buyer);

-- concurrent sessions: four sessions insert a quarter of the events each,
-- one committed transaction per event, all at once
TRUNCATE orders, buyer_velocity;
ALTER SEQUENCE applied RESTART;
CREATE PROCEDURE insert_quarter(q int) LANGUAGE plpgsql AS $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT * FROM ev WHERE id % 4 = q ORDER BY ts, id LOOP
    INSERT INTO orders (id, buyer, ts, amount, device) VALUES (e.id, e.buyer, e.ts, e.amount, e.device);
    COMMIT;
  END LOOP;
END $$;
SELECT format('dbname=%s host=%s port=%s', current_database(),
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT count(*) FROM (SELECT dblink_connect('s' || q, :'conn') FROM generate_series(0, 3) q) t \g /dev/null
SELECT is(sum(dblink_send_query('s' || q, format('CALL insert_quarter(%s)', q))), 4::bigint,
          'four sessions inserting at once')
  FROM generate_series(0, 3) q;
SELECT is(count(*), 4::bigint, 'all four finished without error')
  FROM generate_series(0, 3) q, LATERAL dblink_get_result('s' || q) AS r(status text) WHERE r.status = 'CALL';
SELECT count(*) FROM (SELECT dblink_get_result('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
SELECT count(*) FROM (SELECT dblink_disconnect('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
SELECT is(count(*), 12000::bigint, 'no event lost') FROM orders;
SELECT ok(count(*) > 100, 'the sessions interleaved: events of one buyer arrived out of time order')
  FROM (SELECT ts < max(ts) OVER (PARTITION BY buyer ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS late
          FROM orders) t WHERE late;
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM v.state::text), 0::bigint,
          'concurrent inserts: the same states as one session in time order')
  FROM agg a FULL JOIN buyer_velocity v USING (buyer);
-- every event's features are what a serial replay in the order the events
-- took the buyer's row gives
CREATE FUNCTION replay() RETURNS TABLE (id int, feats float8[], feats_incl float8[])
  LANGUAGE plpgsql AS $$
DECLARE
  e record;
  s risk.velocity_state;
  cur bigint;
BEGIN
  FOR e IN SELECT * FROM orders ORDER BY buyer, seq LOOP
    IF cur IS DISTINCT FROM e.buyer THEN
      s := risk.velocity_init('{10 minutes,1 hour,1 day,7 days}');
      cur := e.buyer;
    END IF;
    s := risk.velocity_add(s, e.ts, e.amount, e.device);
    id := e.id;
    feats := risk.velocity_read(s, e.ts);
    feats_incl := risk.velocity_read(s, e.ts, true);
    RETURN NEXT;
  END LOOP;
END $$;
SELECT is(count(*) FILTER (WHERE o.feats IS DISTINCT FROM r.feats OR o.feats_incl IS DISTINCT FROM r.feats_incl),
          0::bigint, 'each event''s features = a serial replay in the order the sessions applied them')
  FROM orders o JOIN replay() r USING (id);

-- distinct counts capped at 5: the state keeps the keys of the latest
-- events and the 5 most recent others (more between trims), and both sides
-- give min(distinct, 5)
CREATE FUNCTION replay_ordered(k int, shuffled boolean) RETURNS TABLE (id int, feats float8[], state text)
  LANGUAGE plpgsql AS $$
DECLARE
  e record;
  s risk.velocity_state;
  cur bigint;
BEGIN
  FOR e IN SELECT * FROM ev ORDER BY buyer, CASE WHEN shuffled THEN md5(ev.id::text) END, ts, ev.id LOOP
    IF cur IS DISTINCT FROM e.buyer THEN
      IF cur IS NOT NULL THEN
        id := NULL; feats := NULL; state := s::text;
        RETURN NEXT;
      END IF;
      s := risk.velocity_init('{10 minutes,1 hour,1 day,7 days}', k);
      cur := e.buyer;
    END IF;
    s := risk.velocity_add(s, e.ts, e.amount, e.device);
    id := e.id;
    feats := risk.velocity_read(s, e.ts);
    state := NULL;
    RETURN NEXT;
  END LOOP;
  id := NULL; feats := NULL; state := s::text;
  RETURN NEXT;
END $$;
CREATE TABLE capped AS
SELECT id, risk.velocity_tiled(ts, amount, device, :windows, false, 5) OVER w AS excl
  FROM ev WINDOW w AS (PARTITION BY buyer ORDER BY ts);
SELECT ok(count(*) FILTER (WHERE b.excl[12] > 5) > 1000, 'the cap binds on many events (the test is not vacuous)')
  FROM batch b;
SELECT is(count(*) FILTER (WHERE c.excl IS DISTINCT FROM b.excl[1:8] || ARRAY[least(b.excl[9], 5), least(b.excl[10], 5),
                                                                              least(b.excl[11], 5), least(b.excl[12], 5)]),
          0::bigint, 'risk.velocity_tiled with max_distinct = the uncapped values, distinct counts capped')
  FROM capped c JOIN batch b USING (id);
SELECT is(count(*) FILTER (WHERE r.feats IS DISTINCT FROM c.excl), 0::bigint,
          'online with max_distinct 5, event by event = risk.velocity_tiled with max_distinct 5')
  FROM replay_ordered(5, false) r JOIN capped c USING (id);
SELECT is((SELECT array_agg(state ORDER BY state) FROM replay_ordered(5, true) WHERE id IS NULL),
          (SELECT array_agg(state ORDER BY state) FROM replay_ordered(5, false) WHERE id IS NULL),
          'capped states built in a shuffled order print the same as in time order');
SELECT is((SELECT array_agg(s::text ORDER BY s::text)
             FROM (SELECT risk.velocity_state_agg(ts, amount, device, :windows, 5) AS s FROM ev GROUP BY buyer) t),
          (SELECT array_agg(state ORDER BY state) FROM replay_ordered(5, false) WHERE id IS NULL),
          'risk.velocity_state_agg with max_distinct 5 = the same states');
SELECT ok((SELECT max(length(state)) FROM replay_ordered(5, false) WHERE id IS NULL)
          < (SELECT max(length(state)) FROM agg), 'and capped states are smaller');
-- a cap of 1: each insert forgets a key, and a key entering the head keeps its rank
SELECT is(count(*) FILTER (WHERE r.feats IS DISTINCT FROM b.excl[1:8] || ARRAY[least(b.excl[9], 1), least(b.excl[10], 1),
                                                                              least(b.excl[11], 1), least(b.excl[12], 1)]),
          0::bigint, 'online with max_distinct 1, event by event = the batch distinct counts capped at 1')
  FROM replay_ordered(1, false) r JOIN batch b USING (id);
SELECT is((SELECT array_agg(state ORDER BY state) FROM replay_ordered(1, true) WHERE id IS NULL),
          (SELECT array_agg(state ORDER BY state) FROM replay_ordered(1, false) WHERE id IS NULL),
          'max_distinct 1: states built in a shuffled order print the same as in time order');

-- text and binary forms
SELECT is(count(*) FILTER (WHERE state::text::risk.velocity_state::text IS DISTINCT FROM state::text), 0::bigint,
          'text form reads back to the same state')
  FROM buyer_velocity;
\getenv work RISK_WORK
\set f :work '/velocity_state.bin'
COPY buyer_velocity TO :'f' (FORMAT binary);
CREATE TABLE copied (LIKE buyer_velocity);
COPY copied FROM :'f' (FORMAT binary);
SELECT is(count(*) FILTER (WHERE c.state::text IS DISTINCT FROM v.state::text), 0::bigint,
          'binary form (COPY BINARY out and in) reads back to the same state')
  FROM buyer_velocity v JOIN copied c USING (buyer);
SELECT is(substr(risk.velocity_state_send(risk.velocity_init('{1 hour}')), 1, 1), '\x01'::bytea,
          'the binary form starts with its format version');

-- errors
SELECT throws_ok($$SELECT risk.velocity_add(NULL, now(), 1, 'a'::text)$$, '22004', NULL,
                 'a NULL state: 22004 (start from risk.velocity_init)');
SELECT throws_ok($$SELECT risk.velocity_init('{0 seconds}')$$, '22023', NULL, 'a zero window: 22023');
SELECT throws_ok($$SELECT risk.velocity_init('{-1 hour}')$$, '22023', NULL, 'a negative window: 22023');
SELECT throws_ok($$SELECT risk.velocity_init('{1 month}')$$, '22023', NULL, 'a window in months: 22023');
SELECT throws_ok($$SELECT risk.velocity_init('{1 hour}', 0)$$, '22023', NULL, 'max_distinct 0: 22023');
SELECT throws_ok($$SELECT risk.velocity_tiled(now(), 1, 1, '{1 hour}', false, -1) OVER ()$$, '22023', NULL,
                 'risk.velocity_tiled max_distinct -1: 22023');
SELECT throws_ok($$SELECT risk.velocity_add(risk.velocity_init('{1 hour}'), 'infinity', 1, 'a'::text)$$,
                 '22008', NULL, 'an infinite time: 22008');
SELECT throws_ok($$SELECT risk.velocity_add(risk.velocity_init('{1 hour}'), now(), 'NaN', 'a'::text)$$,
                 '22003', NULL, 'a NaN amount: 22003');
SELECT throws_ok($$SELECT risk.velocity_add(risk.velocity_init('{1 hour}'), now(), 1, point(1, 2))$$,
                 '42883', NULL, 'a key type without a hash: 42883');
SELECT throws_ok($$SELECT risk.velocity_state_agg(at, 1, NULL::text, w::interval[])
                     FROM (VALUES (now(), '{1 hour}'), (now(), '{2 hours}')) v(at, w)$$,
                 '22023', NULL, 'risk.velocity_state_agg with other windows on a later row: 22023');
SELECT throws_ok($$SELECT risk.velocity_state_agg(at, 1, NULL::text, '{1 hour}', k)
                     FROM (VALUES (now(), 5), (now(), 6)) v(at, k)$$,
                 '22023', NULL, 'risk.velocity_state_agg with another max_distinct on a later row: 22023');
SELECT throws_ok($$SELECT 'nonsense'::risk.velocity_state$$, '22P02', NULL, 'text that is not a state: 22P02');
SELECT throws_ok($$SELECT ('\x' || substr(encode(risk.velocity_state_send(state), 'hex'), 1, 200))::risk.velocity_state
                     FROM buyer_velocity WHERE buyer = 7$$,
                 '22P02', NULL, 'a cut state: 22P02');
SELECT throws_ok($$SELECT ('\x02' || substr(encode(risk.velocity_state_send(state), 'hex'), 3))::risk.velocity_state
                     FROM buyer_velocity WHERE buyer = 7$$,
                 '22P02', NULL, 'a state of an unknown format version: 22P02');
-- the binary form: errors are 22P03 (were 22P02)
CREATE TABLE states_in (state risk.velocity_state);
\set f :work '/state_in.bin'
SELECT fx.binary_copy_file(:'f', risk.velocity_state_send(state)) FROM buyer_velocity WHERE buyer = 7 \g /dev/null
COPY states_in FROM :'f' WITH (FORMAT binary);
SELECT is((SELECT state::text FROM states_in), (SELECT state::text FROM buyer_velocity WHERE buyer = 7),
          'a binary COPY file made by hand reads back');
SELECT fx.binary_copy_file(:'f', substr(risk.velocity_state_send(state), 1, 100)) FROM buyer_velocity WHERE buyer = 7 \g /dev/null
SELECT throws_ok(format('COPY states_in FROM %L WITH (FORMAT binary)', :'f'), '22P03', 'invalid risk.velocity_state',
                 'a truncated binary state: 22P03 (was 22P02)');
SELECT fx.binary_copy_file(:'f', '\x02' || substr(risk.velocity_state_send(state), 2)) FROM buyer_velocity WHERE buyer = 7 \g /dev/null
SELECT throws_ok(format('COPY states_in FROM %L WITH (FORMAT binary)', :'f'), '22P03', 'invalid risk.velocity_state',
                 'a binary state of an unknown format version: 22P03');
\! rm -f "$RISK_WORK/state_in.bin"
DROP TABLE states_in;
-- the binary form: version, 4 windows (width, hop), max_distinct, flags,
-- latest time, head count, head sum (2 x 8), then each level's tile count
-- and tiles (idx, count, sum hi, sum lo, distinct)
\set head_at '(1 + 2 * (1 + 1 + 4 * 16 + 4 + 1 + 8))'
\set distinct_at '(1 + 2 * (1 + 1 + 4 * 16 + 4 + 1 + 8 + 8 + 16 + 8 + 32))'
SELECT is(ARRAY[substr(h, :head_at, 16), substr(h, :distinct_at, 16)],
          ARRAY['0000000000000001', '0000000000000001'],
          'those offsets find the head count and the first tile''s distinct count (one event, one key)')
  FROM encode(risk.velocity_state_send(risk.velocity_add(risk.velocity_init('{10 minutes,1 hour,1 day,7 days}'),
                                                         now(), 1, 'a'::text)), 'hex') h;
SELECT throws_ok($$SELECT ('\x' || overlay(encode(risk.velocity_state_send(state), 'hex')
                                           placing '00000000000003e7' from $$ || :'distinct_at' || $$ for 16))::risk.velocity_state
                     FROM buyer_velocity WHERE buyer = 7$$,
                 '22P02', 'invalid risk.velocity_state', 'a tile''s distinct count changed: 22P02');
SELECT throws_ok($$SELECT ('\x' || overlay(encode(risk.velocity_state_send(state), 'hex')
                                           placing '00000000000f4240' from $$ || :'head_at' || $$ for 16))::risk.velocity_state
                     FROM buyer_velocity WHERE buyer = 7$$,
                 '22P02', 'invalid risk.velocity_state', 'a count of latest events beyond the latest tile''s: 22P02');

-- tile counts beyond 32 bits (stored wider): a one-window state whose
-- head and tile count 3,000,000,000 events
\set wide_head '(1 + 2 * (1 + 1 + 16 + 4 + 1 + 8))'
\set wide_count '(1 + 2 * (1 + 1 + 16 + 4 + 1 + 8 + 8 + 16 + 8 + 8))'
CREATE TABLE wide AS
SELECT ('\x' || overlay(overlay(h placing '00000000b2d05e00' from :wide_head for 16)
                        placing '00000000b2d05e00' from :wide_count for 16))::risk.velocity_state AS state
  FROM encode(risk.velocity_state_send(risk.velocity_add(risk.velocity_init('{1 hour}'),
                                                         '2026-11-24 10:00+00', 2, NULL::text)), 'hex') h;
SELECT is(ARRAY[risk.velocity_read(state, '2026-11-24 10:00+00', true),
                risk.velocity_read(risk.velocity_add(state, '2026-11-24 10:05+00', 1, NULL::text), '2026-11-24 10:10+00')],
          ARRAY[ARRAY[3e9, 2, 0], ARRAY[3e9 + 1, 3, 0]]::float8[],
          'a tile of 3,000,000,000 events reads and adds up')
  FROM wide;
SELECT is(state::text::risk.velocity_state::text, state::text, 'and its text form reads back to the same state')
  FROM wide;

DROP PROCEDURE insert_quarter(int);
DROP FUNCTION replay();
DROP FUNCTION replay_ordered(int, boolean);
DROP FUNCTION recount(ev, interval[], boolean);
DROP FUNCTION tile_start(timestamptz, interval);
DROP TABLE wide, capped, copied, agg, agg_parallel, orders, buyer_velocity, batch, ev;
DROP FUNCTION orders_velocity();
DROP SEQUENCE applied;
SELECT * FROM finish();
