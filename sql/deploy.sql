-- Deployment: aliases (name@alias) in scoring and in the trigger, atomic moves
-- undone by ROLLBACK and seen by another session at its next statement, a
-- rollback that walks the history of three moves; the trigger's shadow
-- challenger (its score equals risk.score with it, from the one call of the
-- features function) and its canary (exactly the units risk.bucket puts
-- there, within the binomial bound of the share on 100,000 buyers).
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(40);
SET client_min_messages = warning;

-- three versions that score differently: 3, 6 and 9 rounds
CREATE TABLE dp_rows AS SELECT id, x1, x2, x3, y FROM train_rows;
SELECT risk.train('dp', 'SELECT x1, x2, x3, y FROM dp_rows', 'y', rounds => r, params => '{"nthread": 1}')
  FROM unnest(ARRAY[3, 6, 9]) r \g /dev/null
-- how many rows a reference scores otherwise than a version
CREATE FUNCTION differ(ref text, v integer) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM dp_rows r WHERE risk.score(ref, r) IS DISTINCT FROM risk.score('dp@' || v, r) $$;
SELECT is((SELECT count(*) FROM dp_rows r WHERE risk.score('dp@1', r) = risk.score('dp@3', r)) < 100, true,
          '(the versions score differently)');

-- references
SELECT is(differ('dp', 3), 0::bigint, 'a name scores with its current version');
SELECT is(risk.set_alias('dp', 'champion', 1), NULL, 'a new alias: no previous version');
SELECT is(differ('dp@champion', 1), 0::bigint, 'name@alias scores with the version it points at');
SELECT is((SELECT array_agg(version ORDER BY version) FROM risk.cached_models() WHERE name = 'dp'), '{1,3}'::integer[],
          'the versions in use stay compiled side by side');
SELECT throws_ok($$SELECT risk.score('dp@challenger', ARRAY[1, 2, 3]::real[])$$, '42704', 'model "dp" has no alias "challenger"',
                 'an alias not set');
SELECT throws_ok($$SELECT risk.score('dp@7', ARRAY[1, 2, 3]::real[])$$, '42704', NULL, 'a version not stored');
SELECT throws_ok($$SELECT risk.score('dp@', ARRAY[1, 2, 3]::real[])$$, '42602', NULL, 'an empty alias');
SELECT throws_ok($$SELECT risk.score('dp@0', ARRAY[1, 2, 3]::real[])$$, '42602', NULL, 'version 0');
SELECT throws_ok($$SELECT risk.score('nope@champion', ARRAY[1, 2, 3]::real[])$$, '42704', 'model "nope" does not exist',
                 'an alias of a model that does not exist');
SELECT throws_ok($$SELECT risk.set_alias('dp', '1st', 1)$$, '42602', NULL, 'an alias starts with a letter');
SELECT throws_ok($$SELECT risk.set_alias('dp', 'champion', 9)$$, '42704', NULL, 'an alias points at a stored version');

-- a move inside a rolled-back transaction changes nothing
BEGIN;
SELECT risk.set_alias('dp', 'champion', 2) \g /dev/null
SELECT is(differ('dp@champion', 2), 0::bigint, 'inside the transaction, the move holds at the next statement');
ROLLBACK;
SELECT is(differ('dp@champion', 1), 0::bigint, 'after ROLLBACK, the alias points where it did');
SELECT is((SELECT count(*) FROM risk.model_alias_history WHERE name = 'dp'), 1::bigint, 'and the history holds no move');
-- in a DO block or a procedure (non-atomic), the planner of the next
-- statement evaluates the inlined describe_model's and model_features's alias
-- lookup with a snapshot from before the move: a new alias is found all the same
CREATE TEMP TABLE moved (result text);
DO $$
BEGIN
  PERFORM risk.set_alias('dp', 'candidate', 2);
  INSERT INTO moved SELECT (SELECT version FROM risk.describe_model('dp@candidate')) || ' ' ||
                           (SELECT max(ordinal) FROM risk.model_features('dp@candidate'));
END $$;
SELECT is((SELECT result FROM moved), '2 3',
          'in a DO block, describe_model and model_features see a new alias at the next statement');
SELECT risk.remove_alias('dp', 'candidate') \g /dev/null

-- another session sees a committed move at its next statement, never an uncommitted one
SELECT format('dbname=%s host=%s port=%s', current_database(),
              current_setting('unix_socket_directories'), current_setting('port')) AS conn \gset
SELECT dblink_connect('other', :'conn') \g /dev/null
CREATE FUNCTION other_version() RETURNS integer LANGUAGE sql AS $$
  SELECT v FROM dblink('other', $q$SELECT (SELECT count(*) FROM dp_rows r
                                  WHERE risk.score('dp@champion', r) = risk.score('dp@2', r))::integer$q$) AS t(v integer) $$;
SELECT is(other_version() < 100, true, 'the other session scores dp@champion with version 1');
BEGIN;
SELECT risk.set_alias('dp', 'champion', 2) \g /dev/null
SELECT is(other_version() < 100, true, 'an uncommitted move is not seen by the other session');
COMMIT;
SELECT is(other_version(), 8000, 'a committed move is seen at its next statement');
SELECT dblink_exec('other', 'BEGIN') \g /dev/null
SELECT is(other_version(), 8000, '(the other session opens a transaction)');
SELECT risk.set_alias('dp', 'champion', 3) \g /dev/null
SELECT is((SELECT v FROM dblink('other', $q$SELECT (SELECT count(*) FROM dp_rows r
             WHERE risk.score('dp@champion', r) = risk.score('dp@3', r))::integer$q$) AS t(v integer)), 8000,
          'inside its open transaction too (READ COMMITTED), from its next statement');
SELECT dblink_exec('other', 'COMMIT') \g /dev/null

-- three moves (1 -> 2 -> 3), rolled back: 2, then 1, then nothing left to undo
SELECT is(risk.rollback_alias('dp', 'champion', 'v3 misbehaves'), 2, 'rollback: back to version 2');
SELECT is(differ('dp@champion', 2), 0::bigint, '(and it scores so)');
SELECT is(risk.rollback_alias('dp', 'champion'), 1, 'rollback again: version 1, not a toggle back to 3');
SELECT throws_ok($$SELECT risk.rollback_alias('dp', 'champion')$$, '55000', NULL, 'nothing left to undo');
SELECT is((SELECT array_agg(action || ':' || coalesce(previous_version::text, '-') || '>' || coalesce(version::text, '-')
                            ORDER BY seq) FROM risk.model_alias_history WHERE name = 'dp' AND alias = 'champion'),
          '{set:->1,set:1>2,set:2>3,rollback:3>2,rollback:2>1}'::text[], 'the history of every move');
SELECT is(risk.set_alias('dp', 'champion', 3), 1, 'a new move after rollbacks');
SELECT is(risk.rollback_alias('dp', 'champion'), 1, 'undoes that move first');

-- a deployed version cannot be dropped; a removed alias no longer scores
SELECT throws_ok($$SELECT risk.drop_model('dp', 1)$$, '2BP01', NULL, 'a version an alias points at cannot be dropped');
SELECT is(risk.set_alias('dp', 'old', 2), NULL, '(another alias)');
SELECT is(risk.remove_alias('dp', 'old'), 2, 'remove_alias returns the version it pointed at');
SELECT throws_ok($$SELECT risk.score('dp@old', ARRAY[1, 2, 3]::real[])$$, '42704', NULL, 'a removed alias no longer scores');

-- deploying needs EXECUTE, which PUBLIC lacks
CREATE ROLE dp_analyst;
GRANT SELECT ON risk.model_registry, dp_rows TO dp_analyst;
SET ROLE dp_analyst;
SELECT throws_ok($$SELECT risk.set_alias('dp', 'champion', 2)$$, '42501', NULL, 'PUBLIC may not move an alias');
SELECT is(differ('dp@champion', 1), 0::bigint, 'a role that may score scores by alias (no privilege on the alias table)');
RESET ROLE;

-- the trigger: champion by alias, challenger in shadow and for a 5% canary of buyers
SELECT risk.set_alias('dp', 'challenger', 3) \g /dev/null
INSERT INTO risk.decision_thresholds (model, review, block) VALUES ('dp', 0.3, 0.6);
CREATE SEQUENCE dp_calls;
CREATE TABLE dp_orders (order_id bigint, buyer_id bigint, x1 real, x2 real, x3 real,
                        score float8, decision text, model_version integer, challenger_score float8,
                        champion_score float8, in_canary boolean);
CREATE FUNCTION dp_features(o dp_orders) RETURNS real[] LANGUAGE sql AS $$
  SELECT ARRAY[o.x1, o.x2, o.x3] FROM (SELECT nextval('dp_calls')) c $$;
CREATE TRIGGER dp_score BEFORE INSERT ON dp_orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('dp@champion', 'dp_features', 'score', 'decision', '',
                                      'model_version=model_version', 'challenger=dp@challenger',
                                      'challenger_score=challenger_score', 'champion_score=champion_score',
                                      'canary_unit=buyer_id', 'canary_percent=5', 'canary_salt=dp-canary-1',
                                      'in_canary=in_canary');
INSERT INTO dp_orders (order_id, buyer_id, x1, x2, x3)
SELECT g, 1000000 + g, r.x1, r.x2, r.x3 FROM generate_series(1, 100000) g JOIN dp_rows r ON r.id = 1 + g % 8000;
SELECT is((SELECT count(*) FROM dp_orders WHERE challenger_score IS DISTINCT FROM risk.score('dp@3', ARRAY[x1, x2, x3])),
          0::bigint, 'shadow: the challenger''s score equals risk.score with it, on every row');
SELECT is((SELECT count(*) FROM dp_orders WHERE champion_score IS DISTINCT FROM risk.score('dp@1', ARRAY[x1, x2, x3])),
          0::bigint, 'the champion''s score, on every row');
SELECT is(currval('dp_calls'), 100000::bigint, 'the features function ran once per row: one feature vector, one velocity update');
SELECT is((SELECT count(*) FROM dp_orders WHERE in_canary IS DISTINCT FROM (risk.bucket('dp-canary-1', buyer_id, 10000) < 500)),
          0::bigint, 'the canary is exactly the buyers risk.bucket(salt, buyer, 10000) puts below 500');
SELECT ok((SELECT abs(count(*) FILTER (WHERE in_canary) - 5000) <= 4 * sqrt(100000 * 0.05 * 0.95) FROM dp_orders),
          'its share of 100,000 buyers is within 4 standard deviations of 5%');
SELECT is((SELECT count(*) FROM dp_orders
            WHERE model_version IS DISTINCT FROM CASE WHEN in_canary THEN 3 ELSE 1 END
               OR score IS DISTINCT FROM CASE WHEN in_canary THEN challenger_score ELSE champion_score END
               OR decision IS DISTINCT FROM CASE WHEN score >= 0.6 THEN 'block' WHEN score >= 0.3 THEN 'review' ELSE 'allow' END),
          0::bigint, 'the canary''s rows are scored and decided by the challenger, the others by the champion, and say which version');

SELECT dblink_disconnect('other') \g /dev/null
REVOKE ALL ON risk.model_registry, dp_rows FROM dp_analyst;
DROP ROLE dp_analyst;
SELECT * FROM finish();
