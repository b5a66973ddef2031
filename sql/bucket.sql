-- risk.bucket: the known values of its documented hash (computed with
-- Python's hashlib, outside the database); the same buckets as a plain-SQL
-- recount with PostgreSQL's own sha256; a unit of another type hashed as
-- its text; shares within their binomial bounds on 100,000 units; another
-- salt, an independent assignment; errors with their SQLSTATE.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(10);

-- hashlib.sha256(salt.encode() + b'\0' + unit.encode()).digest()[:8], big-endian, % buckets
SELECT is((SELECT array_agg(risk.bucket(s, u, n) = b ORDER BY i)
             FROM (VALUES (1, 'exp1', 'buyer-42', 100, 79), (2, 'exp1', '12345', 100, 53),
                          (3, 'canary-2026', 'ü', 1000, 855), (4, '', '', 7, 4),
                          (5, 'a b', 'c', 2147483647, 1628429745), (6, 'ab', 'c', 1000000, 305165),
                          (7, 'a', 'bc', 1000000, 237297),
                          (8, 'checkout-v2', '550e8400-e29b-41d4-a716-446655440000', 10, 7),
                          (9, '営業', '買い手', 97, 9)) v(i, s, u, n, b)),
          array_fill(true, ARRAY[9]), 'known values, computed with Python''s hashlib (UTF-8, a zero byte between)');

-- a plain-SQL recount with the server's sha256, for 2,000 units and several numbers of buckets
CREATE TABLE units AS SELECT g AS id, 'buyer-' || g AS name FROM generate_series(1, 100000) g;
CREATE FUNCTION plain_bucket(salt text, unit text, n integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN
  ((('x' || substr(sha256(convert_to(salt, 'UTF8') || '\x00'::bytea || convert_to(unit, 'UTF8'))::text, 3, 16))::bit(64)::bigint::numeric
    + CASE WHEN substr(sha256(convert_to(salt, 'UTF8') || '\x00'::bytea || convert_to(unit, 'UTF8'))::text, 3, 1) >= '8'
           THEN 18446744073709551616 ELSE 0 END) % n)::integer;
SELECT is((SELECT count(*) FROM units, unnest(ARRAY[1, 2, 10, 100, 1000, 2147483647]) n
            WHERE id <= 2000 AND risk.bucket('exp', name, n) <> plain_bucket('exp', name, n)), 0::bigint,
          'every bucket equals a plain-SQL recount with PostgreSQL''s sha256');
SELECT is((SELECT count(*) FROM units WHERE id <= 2000 AND risk.bucket('exp', id, 100) <> risk.bucket('exp', id::text, 100)),
          0::bigint, 'a bigint unit is hashed as its text: 12345 and ''12345'' share a bucket');
SELECT is(risk.bucket('exp', '10.1.2.3'::inet, 10), risk.bucket('exp', '10.1.2.3', 10), '(and an inet, as its text)');

-- shares: each of 100 buckets within 5 standard deviations of 1,000 units, a 5% canary within 4
SELECT is((SELECT count(*) FROM (SELECT risk.bucket('exp', name, 100) AS b, count(*) AS n FROM units GROUP BY 1) c
            WHERE abs(n - 1000) > 5 * sqrt(100000 * 0.01 * 0.99)), 0::bigint,
          'each of 100 buckets holds 1,000 of 100,000 units, within its binomial bound');
SELECT ok((SELECT abs(count(*) FILTER (WHERE risk.bucket('canary', name, 100) < 5) - 5000) <= 4 * sqrt(100000 * 0.05 * 0.95)
             FROM units), 'a 5% canary (buckets 0 to 4 of 100) takes 5% of the units, within its binomial bound');
SELECT ok((SELECT abs(count(*) - 250) <= 4 * sqrt(100000 * 0.0025 * 0.9975) FROM units
            WHERE risk.bucket('canary', name, 100) < 5 AND risk.bucket('other experiment', name, 100) < 5),
          'another salt assigns independently: 5% of one canary is in the other');

SELECT is(risk.bucket('exp', NULL::text, 10), NULL, 'a NULL unit has no bucket');
SELECT throws_ok($$SELECT risk.bucket('exp', 'u', 0)$$, '22023', 'risk.bucket needs at least 1 bucket, not 0',
                 'no buckets: 22023');
SELECT throws_ok($$SELECT risk.bucket('exp', 7, -3)$$, '22023', 'risk.bucket needs at least 1 bucket, not -3',
                 'a negative number of buckets: 22023');

SELECT * FROM finish();
DROP FUNCTION plain_bucket(text, text, integer);
DROP TABLE units;
