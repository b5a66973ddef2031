-- risk.velocity_track: an entity's velocity state kept in a store table and
-- updated from C.  An event stream tracked event by event in one statement
-- (each buyer many times): the states returned read as risk.velocity_tiled,
-- and the stores end as risk.velocity_state_agg builds them, with and
-- without keys, with a cap; NULLs; entities of other types; updates that
-- leave their page (new index entries); rollbacks; four sessions at once,
-- on the same rows and on the same new entities; REPEATABLE READ; errors
-- with their SQLSTATE.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(63);

\set windows '''{10 minutes,1 hour,1 day,7 days}''::interval[]'

-- 6,000 events of 100 buyers: ties on a 10-second grid, a burst, a gap of
-- days; 6% NULL devices, 2% NULL amounts (binary fractions: exact sums)
CREATE TABLE ev AS
SELECT g AS id,
       ((g / 3)::bigint * 7919) % 100 AS buyer,
       CASE WHEN g BETWEEN 2000 AND 2999 THEN timestamptz '2026-03-01 12:00' + (g % 6) * interval '10 seconds'
            WHEN g > 4000 THEN timestamptz '2026-03-05' + (((g / 3) * 31) % 20000) * interval '10 seconds'
            ELSE timestamptz '2026-03-01' + (((g / 3) * 13) % 8000) * interval '10 seconds' END AS ts,
       CASE WHEN g % 17 = 0 THEN NULL ELSE 'dev-' || ((g::bigint * 104729) % 40) END AS device,
       CASE WHEN g % 53 = 0 THEN NULL ELSE (((g * 37) % 100000) / 64.0)::float8 END AS amount
  FROM generate_series(1, 6000) g;
CREATE TABLE batch AS
SELECT id, risk.velocity_tiled(ts, amount, device, :windows) OVER w AS excl,
       risk.velocity_tiled(ts, amount, device, :windows, false, 5) OVER w AS capped
  FROM ev WINDOW w AS (PARTITION BY buyer ORDER BY ts);

-- a trigger tracks each order's buyer three ways: with its device as the
-- key, without a key, with distinct devices capped at 5
CREATE TABLE buyer_store (buyer bigint PRIMARY KEY, state risk.velocity_state NOT NULL);
CREATE TABLE buyer_counts (buyer_id bigint PRIMARY KEY, note text, state risk.velocity_state);
CREATE TABLE buyer_capped (state risk.velocity_state NOT NULL, buyer bigint PRIMARY KEY);
CREATE SEQUENCE applied;
CREATE TABLE orders (id int PRIMARY KEY, buyer bigint, ts timestamptz, amount float8, device text,
                     feats float8[], counts float8[], capped float8[], seq bigint);
CREATE FUNCTION orders_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s risk.velocity_state := risk.velocity_track('buyer_store', NEW.buyer, NEW.ts, NEW.amount, NEW.device,
                                               '{10 minutes,1 hour,1 day,7 days}');
  c risk.velocity_state := risk.velocity_track('buyer_counts', NEW.buyer, NEW.ts, NEW.amount,
                                               '{10 minutes,1 hour,1 day,7 days}');
  k risk.velocity_state := risk.velocity_track('buyer_capped', NEW.buyer, NEW.ts, NEW.amount, NEW.device,
                                               '{10 minutes,1 hour,1 day,7 days}', 5);
BEGIN
  NEW.feats := risk.velocity_read(s, NEW.ts);
  NEW.counts := risk.velocity_read(c, NEW.ts);
  NEW.capped := risk.velocity_read(k, NEW.ts);
  NEW.seq := nextval('applied');   -- the buyer's rows are locked: the order its events were applied in
  RETURN NEW;
END $$;
CREATE TRIGGER orders_track BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_track();

-- one statement, in time order: each buyer's rows updated 60 times in it
INSERT INTO orders (id, buyer, ts, amount, device) SELECT id, buyer, ts, amount, device FROM ev ORDER BY ts, id;
SELECT is(count(*), 6000::bigint, 'one statement of 6,000 orders: every one tracked') FROM orders WHERE feats IS NOT NULL;
SELECT is(count(*) FILTER (WHERE o.feats IS DISTINCT FROM b.excl), 0::bigint,
          'each state returned, read before its event = risk.velocity_tiled, all 6,000 events')
  FROM orders o JOIN batch b USING (id);
SELECT is(count(*) FILTER (WHERE o.counts IS DISTINCT FROM b.excl[1:8] || '{0,0,0,0}'::float8[]), 0::bigint,
          'without a key: the same counts and sums, no distinct counts')
  FROM orders o JOIN batch b USING (id);
SELECT is(count(*) FILTER (WHERE o.capped IS DISTINCT FROM b.capped), 0::bigint,
          'max_distinct 5 = risk.velocity_tiled with max_distinct 5')
  FROM orders o JOIN batch b USING (id);
SELECT ok(count(*) FILTER (WHERE b.excl[12] > 5) > 1000, '(the cap binds on many events)') FROM batch b;
SELECT is((SELECT count(*) FROM buyer_store), (SELECT count(DISTINCT buyer) FROM ev), 'one row per buyer');
CREATE TABLE agg AS
SELECT buyer, risk.velocity_state_agg(ts, amount, device, :windows)::text AS state,
       risk.velocity_state_agg(ts, amount, NULL::text, :windows)::text AS counts,
       risk.velocity_state_agg(ts, amount, device, :windows, 5)::text AS capped
  FROM ev GROUP BY buyer;
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM s.state::text), 0::bigint,
          'the store''s states = risk.velocity_state_agg of the events, every buyer')
  FROM agg a FULL JOIN buyer_store s USING (buyer);
SELECT is(count(*) FILTER (WHERE a.counts IS DISTINCT FROM c.state::text), 0::bigint,
          'and without a key (another column order, another key name)')
  FROM agg a FULL JOIN buyer_counts c ON c.buyer_id = a.buyer;
SELECT is(count(*) FILTER (WHERE a.capped IS DISTINCT FROM c.state::text), 0::bigint, 'and capped at 5')
  FROM agg a FULL JOIN buyer_capped c USING (buyer);

-- NULLs and other entity types
SELECT ok(risk.velocity_track('buyer_store', NULL::bigint, now(), 1, 'd'::text, :windows) IS NULL,
          'a NULL entity: no event, NULL');
SELECT ok(risk.velocity_track('buyer_store', 7, NULL, 1, 'd'::text, :windows) IS NULL, 'a NULL time: no event, NULL');
SELECT is((SELECT count(*) FROM buyer_store), 100::bigint, 'and nothing written');
SELECT is(risk.velocity_read(risk.velocity_track('buyer_store', 1000::int, '2026-03-09', 5, 'd'::text, :windows),
                             '2026-03-09', true),
          '{1,1,1,1,5,5,5,5,1,1,1,1}', 'an integer entity in a bigint store: a new entity, its first event');
CREATE TABLE email_store (email text PRIMARY KEY, state risk.velocity_state NOT NULL);
SELECT is(risk.velocity_read(risk.velocity_track('email_store', e, '2026-03-09', 2, '{1 day}'), '2026-03-10', false),
          '{1,2,0}', 'a text entity: ' || e)
  FROM (VALUES ('a@example.com'), ('b@example.com')) v(e);
SELECT is(risk.velocity_read(risk.velocity_track('email_store', 'a@example.com'::text, '2026-03-09 01:00', 3, '{1 day}'),
                             '2026-03-10', false),
          '{2,5,0}', 'its second event updates its row');

-- rollbacks
SELECT state::text AS before FROM buyer_store WHERE buyer = 7 \gset
BEGIN;
SELECT risk.velocity_track('buyer_store', 7, '2026-03-09', 99, 'new'::text, :windows) \g /dev/null
SELECT isnt(state::text, :'before', 'in the transaction the state has the event') FROM buyer_store WHERE buyer = 7;
ROLLBACK;
SELECT is(state::text, :'before', 'rolled back: the state is as it was') FROM buyer_store WHERE buyer = 7;
BEGIN;
SAVEPOINT s;
SELECT risk.velocity_track('buyer_store', 7, '2026-03-09', 99, 'new'::text, :windows) \g /dev/null
SELECT risk.velocity_track('buyer_store', 5000, '2026-03-09', 99, 'new'::text, :windows) \g /dev/null
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT is(state::text, :'before', 'rolled back to a savepoint: the state is as it was') FROM buyer_store WHERE buyer = 7;
SELECT is((SELECT count(*) FROM buyer_store WHERE buyer = 5000), 0::bigint, 'and the new entity is gone');

-- one transaction changes the same rows again and again (found again
-- where it wrote them, not through the index), rolls back a savepoint of
-- further changes, then goes on; another truncates the store between two
-- runs of changes: the states are those of the events that stayed
CREATE TABLE again_store (id bigint PRIMARY KEY, state risk.velocity_state NOT NULL) WITH (fillfactor = 100);
CREATE FUNCTION again(lo int, hi int) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(risk.velocity_track('again_store', g % 7, timestamptz '2026-03-01' + g * interval '1 minute', g, '{1 day}'))
    FROM generate_series(lo, hi) g $$;
CREATE FUNCTION again_recount(VARIADIC ranges int[]) RETURNS TABLE (id bigint, state text) LANGUAGE sql AS $$
  SELECT g % 7, risk.velocity_state_agg(timestamptz '2026-03-01' + g * interval '1 minute', g, NULL::text, '{1 day}')::text
    FROM generate_series(1, 2000) g
   WHERE EXISTS (SELECT 1 FROM generate_subscripts(ranges, 1) i WHERE i % 2 = 1 AND g BETWEEN ranges[i] AND ranges[i + 1])
   GROUP BY 1 $$;
BEGIN;
SELECT again(1, 300) \g /dev/null
SAVEPOINT s;
SELECT again(301, 400) \g /dev/null
ROLLBACK TO SAVEPOINT s;
SELECT again(401, 700) \g /dev/null
SAVEPOINT t;
SELECT again(701, 750) \g /dev/null
RELEASE SAVEPOINT t;
SELECT ok(n_tup_upd - n_tup_hot_upd > 10, '(many of its row versions on other pages)')
  FROM pg_stat_xact_user_tables WHERE relname = 'again_store';
COMMIT;
SELECT is(count(*) FILTER (WHERE r.state IS DISTINCT FROM s.state::text), 0::bigint,
          'rows changed 100 times in a transaction, a savepoint rolled back between: the states of the events kept')
  FROM again_recount(1, 300, 401, 750) r FULL JOIN again_store s USING (id);
BEGIN;
SELECT again(751, 900) \g /dev/null
TRUNCATE again_store;
SELECT again(901, 1000) \g /dev/null
COMMIT;
SELECT is(count(*) FILTER (WHERE r.state IS DISTINCT FROM s.state::text), 0::bigint,
          'a store truncated in the transaction that wrote it: the states of the events after')
  FROM again_recount(901, 1000) r FULL JOIN again_store s USING (id);
DROP TABLE again_store;
DROP FUNCTION again(int, int), again_recount(int[]);

-- updates that no longer fit in their page: new row versions elsewhere,
-- with new entries in every index of the store
CREATE TABLE wide_store (id bigint PRIMARY KEY, tag text NOT NULL DEFAULT 'w', state risk.velocity_state NOT NULL)
  WITH (fillfactor = 100);
CREATE INDEX ON wide_store (tag);
BEGIN;
SELECT count(risk.velocity_track('wide_store', g % 20, timestamptz '2026-03-01' + g * interval '1 minute', 1, g, '{7 days}'))
  FROM generate_series(1, 4000) g \g /dev/null
SELECT ok(n_tup_upd - n_tup_hot_upd > 100, 'many updates left their page (not HOT)')
  FROM pg_stat_xact_user_tables WHERE relname = 'wide_store';
COMMIT;
SET enable_seqscan = off;
SELECT is((SELECT array_agg(n ORDER BY id) FROM (SELECT id, count(*) AS n FROM wide_store WHERE id = ANY (ARRAY(SELECT generate_series(0, 19))) GROUP BY id) t),
          array_fill(1::bigint, ARRAY[20]), 'the primary key finds each entity''s one row');
SELECT is((SELECT count(*) FROM wide_store WHERE tag = 'w'), 20::bigint, 'so does the other index');
RESET enable_seqscan;
SELECT is((SELECT array_agg(risk.velocity_read(state, '2026-03-04')::text ORDER BY id) FROM wide_store WHERE id IN (0, 7)),
          ARRAY['{200,200,200}', '{200,200,200}'], 'each holds its 200 events and 200 keys');

-- four sessions at once, one committed transaction per order
TRUNCATE orders, buyer_store, buyer_counts, buyer_capped;
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
SELECT is(count(*), 4::bigint, 'all four finished without error (no deadlock)')
  FROM generate_series(0, 3) q, LATERAL dblink_get_result('s' || q) AS r(status text) WHERE r.status = 'CALL';
SELECT count(*) FROM (SELECT dblink_get_result('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
SELECT is(count(*), 6000::bigint, 'no order lost') FROM orders;
SELECT is(count(*) FILTER (WHERE a.state IS DISTINCT FROM s.state::text), 0::bigint,
          'concurrent sessions: the same states as one session in time order')
  FROM agg a FULL JOIN buyer_store s USING (buyer);
SELECT is(count(*) FILTER (WHERE a.capped IS DISTINCT FROM c.state::text), 0::bigint, 'and capped')
  FROM agg a FULL JOIN buyer_capped c USING (buyer);
-- each order's features are those of a serial replay in the order the
-- sessions applied the events
CREATE FUNCTION replay() RETURNS TABLE (id int, feats float8[]) LANGUAGE plpgsql AS $$
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
    RETURN NEXT;
  END LOOP;
END $$;
SELECT is(count(*) FILTER (WHERE o.feats IS DISTINCT FROM r.feats), 0::bigint,
          'each order''s features = a serial replay in the order the sessions applied them')
  FROM orders o JOIN replay() r USING (id);
SELECT ok(count(*) > 100, '(the sessions interleaved: events of one buyer arrived out of time order)')
  FROM (SELECT ts < max(ts) OVER (PARTITION BY buyer ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS late
          FROM orders) t WHERE late;

-- four sessions tracking the same 300 new entities at once: each first
-- insert races with three others, and every entity ends with four events
CREATE TABLE race_store (id bigint PRIMARY KEY, state risk.velocity_state NOT NULL);
CREATE PROCEDURE track_all(q int) LANGUAGE plpgsql AS $$
BEGIN
  FOR e IN 1..300 LOOP
    PERFORM risk.velocity_track('race_store', e, timestamptz '2026-03-01 00:00+00' + q * interval '1 second', 1, q, '{1 hour}');
    COMMIT;
  END LOOP;
END $$;
SELECT is(sum(dblink_send_query('s' || q, format('CALL track_all(%s)', q))), 4::bigint, 'four sessions, the same new entities')
  FROM generate_series(0, 3) q;
SELECT is(count(*), 4::bigint, 'all four finished without error (no duplicate key)')
  FROM generate_series(0, 3) q, LATERAL dblink_get_result('s' || q) AS r(status text) WHERE r.status = 'CALL';
SELECT count(*) FROM (SELECT dblink_get_result('s' || q) FROM generate_series(0, 3) q) t \g /dev/null
SELECT is((SELECT array_agg(DISTINCT risk.velocity_read(state, '2026-03-01 00:10+00')::text) FROM race_store),
          ARRAY['{4,4,4}'], 'every one of the 300 entities: one row, four events, four keys');
SELECT is((SELECT count(*) FROM race_store), 300::bigint, 'one row each');

-- REPEATABLE READ: a row another transaction changed after the snapshot
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM race_store \g /dev/null
SELECT * FROM dblink('s0', $$SELECT risk.velocity_track('race_store', 1, '2026-03-01 00:20+00', 1, 9, '{1 hour}')::text$$)
  AS t(state text) \g /dev/null
SELECT throws_ok($$SELECT risk.velocity_track('race_store', 1, '2026-03-01 00:21+00', 1, 8, '{1 hour}')$$, '40001', NULL,
                 'REPEATABLE READ, the row changed since the snapshot: 40001, as for an UPDATE');
ROLLBACK;
SELECT count(*) FROM (SELECT dblink_disconnect('s' || q) FROM generate_series(0, 3) q) t \g /dev/null

-- errors
CREATE VIEW store_view AS SELECT * FROM buyer_store;
CREATE TABLE no_state (id bigint PRIMARY KEY, n int);
CREATE TABLE two_states (id bigint PRIMARY KEY, a risk.velocity_state, b risk.velocity_state);
CREATE TABLE no_key (kind text, id bigint, state risk.velocity_state, PRIMARY KEY (kind, id));
CREATE TABLE with_trigger (id bigint PRIMARY KEY, state risk.velocity_state);
CREATE TRIGGER t BEFORE UPDATE ON with_trigger FOR EACH ROW EXECUTE FUNCTION orders_track();
CREATE TABLE with_expression (id bigint PRIMARY KEY, state risk.velocity_state, note text);
CREATE INDEX ON with_expression (lower(note));
CREATE TABLE null_state (id bigint PRIMARY KEY, state risk.velocity_state);
INSERT INTO null_state VALUES (1, NULL);
SELECT throws_ok($$SELECT risk.velocity_track(NULL, 1, now(), 1, '{1 hour}')$$, '22004', NULL, 'a NULL store: 22004');
SELECT throws_ok($$SELECT risk.velocity_track('buyer_store', 1, now(), 1, NULL)$$, '22004', NULL, 'NULL windows: 22004');
SELECT throws_ok($$SELECT risk.velocity_track('store_view', 1, now(), 1, '{1 hour}')$$, '42809', NULL,
                 'a view: 42809, not a table');
SELECT throws_ok($$SELECT risk.velocity_track(1::oid::regclass, 1, now(), 1, '{1 hour}')$$, '42P01', NULL,
                 'a table that does not exist: 42P01');
SELECT throws_ok($$SELECT risk.velocity_track('no_state', 1, now(), 1, '{1 hour}')$$, '42703', NULL,
                 'no column of type risk.velocity_state: 42703');
SELECT throws_ok($$SELECT risk.velocity_track('two_states', 1, now(), 1, '{1 hour}')$$, '42702', NULL,
                 'two of them: 42702');
SELECT throws_ok($$SELECT risk.velocity_track('no_key', 1, now(), 1, '{1 hour}')$$, '42P10', NULL,
                 'no primary key on one column: 42P10');
SELECT throws_ok($$SELECT risk.velocity_track('with_trigger', 1, now(), 1, '{1 hour}')$$, '55000', NULL,
                 'a store with a trigger: 55000 (its rows are written directly)');
SELECT throws_ok($$SELECT risk.velocity_track('with_trigger', 1, now(), 1, '{1 hour}')$$, '55000',
                 'risk.velocity_track: store "with_trigger" has triggers (or foreign keys)',
                 '(with the reason in its message)');
-- rows are written through the executor's pieces: constraints, generated
-- columns and every kind of index hold for tracking as for an UPDATE
CREATE TABLE checked_store (
    id bigint PRIMARY KEY,
    state risk.velocity_state NOT NULL CHECK (octet_length(risk.velocity_state_send(state)) < 400),
    size int GENERATED ALWAYS AS (octet_length(risk.velocity_state_send(state))) STORED,
    note text);
CREATE INDEX checked_size ON checked_store (octet_length(risk.velocity_state_send(state)));
CREATE INDEX checked_partial ON checked_store (id) WHERE note IS NULL;
SELECT risk.velocity_track('checked_store', 1, '2026-03-01 00:00+00'::timestamptz + i * interval '1 minute', 1,
                           i::text, '{1 hour}') IS NOT NULL
  FROM generate_series(1, 5) i \g /dev/null
SELECT is((SELECT size FROM checked_store WHERE id = 1),
          (SELECT octet_length(risk.velocity_state_send(state)) FROM checked_store WHERE id = 1),
          'a stored generated column is computed at every update (was left stale)');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM checked_store WHERE octet_length(risk.velocity_state_send(state)) = size), 1::bigint,
          'an index on an expression of the state has the updated row''s entry (such stores were refused)');
SELECT is((SELECT count(*) FROM checked_store WHERE note IS NULL AND id = 1), 1::bigint,
          'a partial index finds it too');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT throws_ok($$SELECT risk.velocity_track('checked_store', 1, '2026-03-01 00:00+00'::timestamptz + i * interval '1 minute', 1,
                                              i::text, '{1 hour}') FROM generate_series(6, 40) i$$,
                 '23514', 'new row for relation "checked_store" violates check constraint "checked_store_state_check"',
                 'a CHECK constraint on the state holds for tracking (was skipped)');
SELECT is((SELECT size < 400 FROM checked_store WHERE id = 1), true, '(the stored state still satisfies it)');
SELECT throws_ok($$UPDATE checked_store SET state = risk.velocity_track('checked_store', id, '2026-03-01 01:00+00', 1,
                                                                         'z'::text, '{1 hour}')$$,
                 '27000', NULL, 'an UPDATE of the store that tracks into its own rows: an error (was UPDATE 0)');
SELECT throws_ok($$SELECT risk.velocity_track('buyer_store', 'x'::text, now(), 1, '{1 hour}')$$, '42804', NULL,
                 'a text entity for a bigint store: 42804');
SELECT throws_ok($$SELECT risk.velocity_track('buyer_store', 7, now(), 1, 'd'::text, '{1 hour}')$$, '22023', NULL,
                 'windows other than the stored state''s: 22023');
SELECT throws_ok($$SELECT risk.velocity_track('null_state', 1, now(), 1, '{1 hour}')$$, '22004', NULL,
                 'a NULL state stored: 22004');
CREATE TABLE other_unique (id bigint PRIMARY KEY, tag text UNIQUE DEFAULT 'same', state risk.velocity_state);
SELECT risk.velocity_track('other_unique', 1, now(), 1, '{1 hour}') \g /dev/null
SELECT throws_ok($$SELECT risk.velocity_track('other_unique', 2, now(), 1, '{1 hour}')$$, '23505', NULL,
                 'a new entity that breaks another unique index: 23505, not an endless retry');
BEGIN READ ONLY;
SELECT throws_ok($$SELECT risk.velocity_track('buyer_store', 7, now(), 1, 'd'::text, '{1 hour}')$$, '25006', NULL,
                 'a read-only transaction: 25006');
ROLLBACK;
CREATE ROLE regress_risk_reader;
GRANT SELECT ON buyer_store TO regress_risk_reader;
SET ROLE regress_risk_reader;
SELECT throws_ok($$SELECT risk.velocity_track('buyer_store', 7, now(), 1, 'd'::text, '{10 minutes,1 hour,1 day,7 days}')$$,
                 '42501', NULL, 'no UPDATE on the store: 42501');
SELECT throws_ok($$SELECT risk.velocity_track('pg_authid', 7, now(), 1, '{1 hour}')$$, '42501',
                 'risk.velocity_track: permission denied to read store "pg_authid"',
                 'a table the role may not read: 42501 before it is opened (was 42703 about its columns)');
SELECT throws_ok($$SELECT risk.velocity_track(1::oid::regclass, 1, now(), 1, '{1 hour}')$$, '42P01', NULL,
                 'a table that does not exist: 42P01, for any role');
RESET ROLE;
DROP OWNED BY regress_risk_reader;
DROP ROLE regress_risk_reader;

SELECT * FROM finish();
