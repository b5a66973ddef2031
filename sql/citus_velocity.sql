-- On a Citus cluster: the velocity pack over a distributed table equals
-- the same query on a local table, row for row: partitioned by the
-- distribution column (run in the tasks on the workers) and by another
-- column (Citus brings the rows to the coordinator first).  (After
-- citus_registry: its plan_of.)
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(5);

CREATE TABLE events_local (id bigint PRIMARY KEY, buyer bigint, device bigint, at timestamptz, amount double precision);
INSERT INTO events_local
SELECT g, g % 997, g % 313, timestamptz '2026-03-01' + (g * 37 % 20000) * interval '1 minute', (g * 7919 % 1000) / 10.0
  FROM generate_series(1, 40000) g;
CREATE TABLE events_dist (LIKE events_local);
SELECT create_distributed_table('events_dist', 'buyer') \g /dev/null
INSERT INTO events_dist SELECT * FROM events_local;
SELECT is((SELECT count(*) FROM events_dist), 40000::bigint, 'the events in the distributed table');


-- by buyer, the distribution column
CREATE TEMP TABLE by_buyer_local AS
SELECT id, risk.velocity(at, amount, device, '{1 hour,1 day,7 days}') OVER (PARTITION BY buyer ORDER BY at) AS v
  FROM events_local;
CREATE TEMP TABLE by_buyer_dist AS
SELECT id, risk.velocity(at, amount, device, '{1 hour,1 day,7 days}') OVER (PARTITION BY buyer ORDER BY at) AS v
  FROM events_dist;
SELECT is((SELECT count(*) FROM by_buyer_local l FULL JOIN by_buyer_dist d USING (id) WHERE l.v IS DISTINCT FROM d.v),
          0::bigint, 'by the distribution column: the local table''s packs, row for row (40,000 events)');
SELECT ok(plan_of($$SELECT id, risk.velocity(at, amount, device, '{1 hour,1 day,7 days}') OVER (PARTITION BY buyer ORDER BY at)
                          FROM events_dist$$) ~ 'Query: SELECT [^\n]*risk\.velocity\(',
          '... computed in the tasks on the workers');

-- by device, another column
CREATE TEMP TABLE by_device_local AS
SELECT id, risk.velocity(at, amount, buyer, '{1 hour,1 day}', include_current => true) OVER (PARTITION BY device ORDER BY at, id) AS v
  FROM events_local;
CREATE TEMP TABLE by_device_dist AS
SELECT id, risk.velocity(at, amount, buyer, '{1 hour,1 day}', include_current => true) OVER (PARTITION BY device ORDER BY at, id) AS v
  FROM events_dist;
SELECT is((SELECT count(*) FROM by_device_local l FULL JOIN by_device_dist d USING (id) WHERE l.v IS DISTINCT FROM d.v),
          0::bigint, 'by another column: the local table''s packs, row for row');
SELECT ok((SELECT count(*) FROM by_buyer_dist WHERE v[3] > 0) > 1000 AND (SELECT count(*) FROM by_device_dist WHERE v[2] > 1) > 1000,
          '... with windows that hold events');

SELECT * FROM finish();
