-- make demo: a marketplace in a box.  A month of synthetic orders with
-- planted abuse, scored in batch; their entities' velocity states built
-- from that history; the analysts' rules published; new orders streamed
-- through risk.score_trigger, each scored, decided by the model and the
-- rules and explained as it is inserted; a new attack in the stream, found
-- by an analyst's query, stopped by a rule backtested, shadowed, then
-- enforced; a challenger model trained in SQL on the labels known on 6
-- February, scored in shadow and decided for a canary of buyers, compared
-- with the champion and promoted, a rollback rehearsed; a daily risk
-- dashboard on score summaries, rolled up to weeks;
-- the catch rate per pattern.
--   variables: model_path (models/marketplace.json), history (orders),
--   stream (orders); run from the repository's top directory
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;

\echo
\echo == 1. The marketplace (models/marketplace_setup.sql): the model, its thresholds, the features, the trigger
CREATE EXTENSION risk;
\set model marketplace
\i models/marketplace_setup.sql
SELECT name, objective, num_features, num_trees, max_depth FROM risk.describe_model('marketplace');
SELECT * FROM risk.decision_thresholds;

\echo
\echo == 2. History: :history orders of January 2026 (risk.synthetic_orders, seed 42)
-- the history is scored in batch below: the trigger waits
ALTER TABLE marketplace.orders DISABLE TRIGGER score;
INSERT INTO marketplace.orders SELECT *, NULL, NULL, NULL FROM risk.synthetic_orders(:history, 42);
SELECT pattern, count(*) AS orders, round(avg(amount)::numeric, 2) AS avg_amount
  FROM marketplace.orders GROUP BY pattern ORDER BY orders DESC;

\echo
\echo == 3. Score the history in batch (velocity features of every order, then the model)
\timing on
CREATE TABLE marketplace.history_scores AS
SELECT order_id, features::real[] AS features, risk.score('marketplace', features) AS score
  FROM marketplace.order_features;
\timing off
-- each order keeps the features it was scored with, for backtests (the trigger keeps them too: features=)
ALTER TABLE marketplace.orders ADD COLUMN features real[];
UPDATE marketplace.orders o
   SET score = h.score, features = h.features,
       decision = CASE WHEN h.score >= 0.8 THEN 'block' WHEN h.score >= 0.3 THEN 'review' ELSE 'allow' END
  FROM marketplace.history_scores h WHERE h.order_id = o.order_id;
DROP TABLE marketplace.history_scores;
VACUUM marketplace.orders;

\echo
\echo == 4. The online state of every entity, built from the history (risk.rebuild_feature_states)
\timing on
SELECT risk.rebuild_feature_states('marketplace') AS entities;
\timing off
VACUUM ANALYZE marketplace.marketplace_buyer_id, marketplace.marketplace_device_id, marketplace.marketplace_address_id,
  marketplace.marketplace_payment_id, marketplace.marketplace_network, marketplace.marketplace_sku_id,
  marketplace.marketplace_shop_id;
SELECT kind, count(*) AS entities, pg_size_pretty(sum(pg_column_size(state))) AS state_size
  FROM marketplace.entity_state GROUP BY kind ORDER BY kind;

\echo
\echo '== 5. The analysts'' rules (models/marketplace_rules.sql), published as version 1'
\i models/marketplace_rules.sql
SELECT priority, key, action, mode, expression FROM risk.published_rules
 WHERE rule_set = 'marketplace' AND version = :rules_version ORDER BY priority;
SELECT count(*) AS trusted_buyers FROM risk.list_members WHERE list = 'trusted_buyers';

\echo
\echo == 6. Stream :stream new orders (1 to 3 February) through the scoring trigger, 1,000 per transaction
-- the same world continued: seed 42, the same buyers, numbers after the history's; and from
-- noon on 1 February a staff coupon has leaked (coupon_leak), which the model has never seen
CREATE TABLE marketplace.incoming AS
SELECT * FROM risk.synthetic_orders(:stream, 42, start_at => '2026-02-01 00:00:00+00', days => 3,
                                    buyers => :history / 6, first_order_id => :history + 1,
                                    coupon_leak_at => '2026-02-01 12:00:00+00');
CREATE UNIQUE INDEX ON marketplace.incoming (order_id);
CREATE PROCEDURE marketplace.stream(first bigint, last bigint) LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    FOR chunk IN 0..(last - first) / 1000 LOOP
        INSERT INTO marketplace.orders
        SELECT *, NULL, NULL, NULL FROM marketplace.incoming
         WHERE order_id >= first + chunk * 1000 AND order_id < least(first + chunk * 1000 + 1000, last + 1)
         ORDER BY order_id;
        COMMIT;
        IF (chunk + 1) % 10 = 0 OR first + chunk * 1000 + 1000 > last THEN
            RAISE NOTICE '% orders streamed, % orders/s', least((chunk + 1) * 1000, last - first + 1),
                round(least((chunk + 1) * 1000, last - first + 1)
                      / extract(epoch FROM clock_timestamp() - started));
        END IF;
    END LOOP;
END $$;
SELECT min(order_id) AS first,
       max(order_id) FILTER (WHERE created_at < '2026-02-02') AS day1,
       max(order_id) FILTER (WHERE created_at < '2026-02-03') AS day2,
       max(order_id) AS last
  FROM marketplace.incoming \gset
\echo 1 February
SET client_min_messages = notice;
\timing on
CALL marketplace.stream(:first, :day1);
\timing off
SET client_min_messages = warning;
\echo 'the first order of each pattern sent to review or blocked as it came in, with the rules that hit and the reasons'
SELECT DISTINCT ON (pattern) order_id, created_at, pattern, round(score::numeric, 3) AS score, decision, hits, reasons
  FROM marketplace.orders WHERE order_id > :history AND decision <> 'allow'
 ORDER BY pattern, order_id;

-- the dashboard: a materialized view of score summaries per day and pattern
CREATE MATERIALIZED VIEW marketplace.daily_risk AS
SELECT created_at::date AS day, pattern,
       count(*) AS orders,
       count(*) FILTER (WHERE decision = 'review') AS reviewed,
       count(*) FILTER (WHERE decision = 'block') AS blocked,
       sum(amount) AS amount,
       coalesce(sum(amount) FILTER (WHERE is_fraud AND decision = 'allow'), 0) AS fraud_amount_allowed,
       risk.score_summary(score, is_fraud) AS summary
  FROM marketplace.orders GROUP BY 1, 2;

\echo
\echo == 7. A new attack: the dashboard shows fraud let through on 1 February, which the model does not see
SELECT pattern, orders, reviewed + blocked AS held, fraud_amount_allowed::numeric(12,2) AS fraud_usd_allowed
  FROM marketplace.daily_risk WHERE day = '2026-02-01' AND pattern <> 'normal'
 ORDER BY fraud_amount_allowed DESC;
\echo 'an analyst''s query: the coupons of 1 February against January''s'
SELECT coupon, count(*) FILTER (WHERE created_at < '2026-02-01') AS january,
       count(*) FILTER (WHERE created_at >= '2026-02-01') AS february_1,
       count(DISTINCT buyer_id) FILTER (WHERE created_at >= '2026-02-01') AS buyers,
       round(avg(discount) FILTER (WHERE created_at >= '2026-02-01')::numeric, 2) AS discount,
       round(avg(amount) FILTER (WHERE created_at >= '2026-02-01')::numeric, 2) AS avg_amount,
       string_agg(DISTINCT decision, ',') FILTER (WHERE created_at >= '2026-02-01') AS decisions
  FROM marketplace.orders WHERE created_at < '2026-02-02' AND coupon IS NOT NULL
 GROUP BY coupon ORDER BY february_1 DESC;
\echo a rule for it, backtested on the history and 1 February (planted labels), against version 1
INSERT INTO risk.rules (rule_set, key, expression, action, mode, priority, description)
VALUES ('marketplace', 'staff_coupon', $$coupon = 'STAFF50'$$, 'block', 'enforce', 5, 'staff coupon on a customer''s order');
\timing on
CREATE TABLE marketplace.backtest AS SELECT risk.backtest('marketplace', 'marketplace.orders', score => 'score') AS report;
\timing off
SELECT key, mode, hits, fraud_hits, good_hits, round("precision"::numeric, 3) AS precision,
       round(recall::numeric, 4) AS recall, unique_fraud_hits, unique_fraud_amount::numeric(12,2) AS unique_fraud_usd
  FROM marketplace.backtest, risk.backtest_rules(report);
SELECT from_decision, to_decision, orders, fraud_orders, fraud_amount::numeric(12,2) AS fraud_usd,
       orders - fraud_orders AS good_orders, good_amount::numeric(12,2) AS good_usd
  FROM marketplace.backtest, risk.backtest_changes(report) WHERE orders > 0;
\echo shadowed first: published as version 2, it records its hits and acts on nothing
UPDATE risk.rules SET mode = 'shadow' WHERE rule_set = 'marketplace' AND key = 'staff_coupon';
SELECT risk.publish_rules('marketplace', 'staff_coupon in shadow') AS version;
\echo 2 February
SET client_min_messages = notice;
CALL marketplace.stream(:day1 + 1, :day2);
SET client_min_messages = warning;

\echo then enforced: version 3
UPDATE risk.rules SET mode = 'enforce' WHERE rule_set = 'marketplace' AND key = 'staff_coupon';
SELECT risk.publish_rules('marketplace', 'staff_coupon enforced') AS version;
\echo 3 February
SET client_min_messages = notice;
CALL marketplace.stream(:day2 + 1, :last);
SET client_min_messages = warning;
\echo 'the rules'' live hits per day (risk.rule_stats; precision and recall of the planted labels)'
SELECT day, key, mode, hits, fraud_hits, round("precision"::numeric, 3) AS precision,
       round(recall::numeric, 3) AS recall, unique_fraud_hits
  FROM risk.rule_stats('marketplace.orders', since => '2026-02-01', until => '2026-02-04', label => 'is_fraud')
 ORDER BY day, key, mode;
\echo 'the leak''s orders per day, and how they were decided'
SELECT created_at::date AS day, rules_version, count(*) AS orders, count(*) FILTER (WHERE decision = 'block') AS blocked,
       sum(amount) FILTER (WHERE decision = 'allow')::numeric(12,2) AS allowed_usd
  FROM marketplace.orders WHERE pattern = 'coupon_leak' GROUP BY 1, 2 ORDER BY 1, 2;
\echo rolling back is publishing an older version again; the log keeps every step
SELECT risk.rollback_rules('marketplace', 2, 'rehearsal: back to shadow') AS version;
SELECT seq, version, event, note FROM risk.rule_publications WHERE rule_set = 'marketplace' ORDER BY seq;
SELECT risk.rollback_rules('marketplace', 3, 'rehearsal over') AS version;

\echo
\echo == 8. The model cycle: a challenger trained in SQL, scored in shadow and in a canary, compared, promoted
\echo 'production names its model by alias: the trigger scores with marketplace@champion (version 1)'
SELECT risk.set_alias('marketplace', 'champion', 1, 'the shipped model') AS previous;
ALTER TABLE marketplace.orders ADD COLUMN model_version integer, ADD COLUMN champion_score float8,
  ADD COLUMN challenger_score float8, ADD COLUMN in_canary boolean;
\echo 'on 6 February, a challenger: trained on 8 January to 3 February, on the features the trigger kept and the'
\echo 'labels reported by then (the leak''s first reports are in), 10% of buyers held out (risk.bucket)'
SELECT format($q$SELECT %s, coalesce(is_fraud AND reported_at < '2026-02-06', false) AS known_fraud,
                       risk.bucket('demo-split', buyer_id, 10) = 0 AS holdout
                  FROM marketplace.orders WHERE created_at >= '2026-01-08' AND created_at < '2026-02-04'$q$,
              string_agg(format('features[%s] AS %I', ordinal, feature), ', ' ORDER BY ordinal)) AS training_query
  FROM risk.model_features('marketplace@champion') \gset
\timing on
SELECT risk.train('marketplace', :'training_query', label => 'known_fraud', validation => 'holdout',
  rounds => 300, early_stopping_rounds => 30,
  params => '{"max_depth": 5, "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.8, "min_child_weight": 5, "nthread": 2, "seed": 42}',
  metadata => '{"trained_on": "labels reported by 6 February"}') AS version \gset
\timing off
SELECT version, train_rows, train_positives, valid_rows, rounds_trained, best_round,
       round(valid_auc::numeric, 4) AS valid_auc, round(valid_average_precision::numeric, 4) AS valid_ap,
       round(seconds::numeric, 1) AS seconds, pg_size_pretty(libxgboost_peak_bytes) AS libxgboost_memory
  FROM risk.model_training WHERE name = 'marketplace' AND version = :version;
\echo 'what it learned: its five most important features (total gain) against the champion''s'
SELECT c.feature, round(c.total_gain::numeric) AS challenger_gain, round(p.total_gain::numeric) AS champion_gain
  FROM risk.feature_importance('marketplace@' || :version) c JOIN risk.feature_importance('marketplace@champion') p USING (feature)
 ORDER BY c.total_gain DESC LIMIT 5;
\echo 'it learned from the labels reported so far, fewer than the planted ones: its scores run lower. Its own'
\echo 'thresholds (a row for marketplace@2) keep the review and block queues the size the champion''s make on the held-out buyers'
WITH held AS (SELECT risk.score('marketplace@champion', features) AS champion, risk.score('marketplace@' || :version, features) AS challenger
                FROM marketplace.orders
               WHERE created_at >= '2026-01-08' AND created_at < '2026-02-04' AND risk.bucket('demo-split', buyer_id, 10) = 0),
     rates AS (SELECT avg((champion >= 0.3)::int)::float8 AS review, avg((champion >= 0.8)::int)::float8 AS block FROM held)
INSERT INTO risk.decision_thresholds (model, review, block, reasons)
SELECT 'marketplace@' || :version,
       (SELECT percentile_disc(1 - rates.review) WITHIN GROUP (ORDER BY challenger) FROM held),
       (SELECT percentile_disc(1 - rates.block) WITHIN GROUP (ORDER BY challenger) FROM held), 3
  FROM rates
RETURNING model, round(review::numeric, 4) AS review, round(block::numeric, 4) AS block;
SELECT block AS challenger_block FROM risk.decision_thresholds WHERE model = 'marketplace@' || :version \gset
SELECT risk.set_alias('marketplace', 'challenger', :version, 'trained on 6 February') AS previous;
\echo 'the trigger scores every order with both (one feature vector, one velocity update), and lets the challenger'
\echo 'decide for a canary: the 10% of buyers risk.bucket(''demo-canary'', buyer_id, 10000) puts below 1000'
DROP TRIGGER score ON marketplace.orders;
CREATE TRIGGER score BEFORE INSERT ON marketplace.orders FOR EACH ROW
  EXECUTE FUNCTION risk.score_trigger('marketplace@champion', 'marketplace', 'score', 'decision', 'reasons',
                                      'features=features', 'rules=marketplace', 'hits=hits',
                                      'shadow_hits=shadow_hits', 'rules_version=rules_version',
                                      'model_version=model_version', 'challenger=marketplace@challenger',
                                      'champion_score=champion_score', 'challenger_score=challenger_score',
                                      'canary_unit=buyer_id', 'canary_percent=10', 'canary_salt=demo-canary',
                                      'in_canary=in_canary');
\echo 6 February
CREATE TABLE marketplace.incoming_feb6 AS
SELECT * FROM risk.synthetic_orders(:stream / 3, 42, start_at => '2026-02-06 00:00:00+00', days => 1,
                                    buyers => :history / 6, first_order_id => :last + 1,
                                    coupon_leak_at => '2026-02-01 12:00:00+00');
SELECT min(order_id) AS first6, max(order_id) AS last6 FROM marketplace.incoming_feb6 \gset
INSERT INTO marketplace.incoming SELECT * FROM marketplace.incoming_feb6;
SET client_min_messages = notice;
CALL marketplace.stream(:first6, :last6);
SET client_min_messages = warning;
\echo 'champion against challenger on 6 February: the same orders, both scores, each at its block threshold (planted labels)'
\x on
SELECT (risk.compare_scores(champion_score, challenger_score, is_fraud, amount, 0.8, :challenger_block)).*
  FROM marketplace.orders WHERE order_id >= :first6;
\x off
\echo 'blocked by each, per pattern'
SELECT pattern, count(*) AS orders,
       count(*) FILTER (WHERE champion_score >= 0.8) AS champion_blocks,
       count(*) FILTER (WHERE challenger_score >= :challenger_block) AS challenger_blocks
  FROM marketplace.orders WHERE order_id >= :first6 AND pattern <> 'normal'
 GROUP BY pattern ORDER BY pattern;
\echo 'the canary: decided by version 2, with its thresholds; did it get its 10% of buyers?'
SELECT model_version, in_canary, count(*) AS orders, count(DISTINCT buyer_id) AS buyers,
       count(*) FILTER (WHERE decision = 'block') AS blocked
  FROM marketplace.orders WHERE order_id >= :first6 GROUP BY 1, 2 ORDER BY 1;
SELECT round(share_a::numeric, 4) AS canary_share, round(p_value::numeric, 3) AS p_value
  FROM (SELECT count(DISTINCT buyer_id) FILTER (WHERE in_canary) AS canary,
               count(DISTINCT buyer_id) FILTER (WHERE NOT in_canary) AS rest
          FROM marketplace.orders WHERE order_id >= :first6) c,
       LATERAL risk.sample_ratio_test(canary, rest, 0.1);
\echo 'the challenger wins: promoted (a row change, atomic at commit; every session''s next statement scores with it)'
SELECT risk.set_alias('marketplace', 'champion', :version, 'wins on 6 February') AS previous;
SELECT risk.score('marketplace@champion', features) = challenger_score AS champion_is_version_2
  FROM marketplace.orders WHERE order_id = :last6;
\echo 'and a rollback rehearsed: it walks the alias''s history'
SELECT risk.rollback_alias('marketplace', 'champion', 'rehearsal') AS now_champion;
SELECT seq, action, previous_version, version, note FROM risk.model_alias_history
 WHERE name = 'marketplace' AND alias = 'champion' ORDER BY seq;
SELECT risk.set_alias('marketplace', 'champion', :version, 'rehearsal over') AS previous;

\echo
\echo == 9. The daily risk dashboard (the materialized view, refreshed)
REFRESH MATERIALIZED VIEW marketplace.daily_risk;
-- the training window's score distribution, for drift
CREATE TABLE marketplace.training_summary AS
SELECT risk.rollup(summary) AS summary FROM marketplace.daily_risk WHERE day < '2026-01-22';

\echo per day (the last ten): volume, decisions, quality at the block threshold, AUC, drift, dollars let through
SELECT d.day, d.orders, round(100.0 * d.reviewed / d.orders, 2) AS review_pct,
       round(100.0 * d.blocked / d.orders, 2) AS block_pct,
       round(risk.precision(d.summary, 0.8)::numeric, 3) AS precision,
       round(risk.recall(d.summary, 0.8)::numeric, 3) AS recall,
       round(risk.auc(d.summary)::numeric, 4) AS auc,
       round(risk.psi(t.summary, d.summary)::numeric, 4) AS psi,
       d.fraud_amount_allowed AS fraud_usd_allowed
  FROM (SELECT day, sum(orders) AS orders, sum(reviewed) AS reviewed, sum(blocked) AS blocked,
               sum(fraud_amount_allowed)::numeric(12,2) AS fraud_amount_allowed, risk.rollup(summary) AS summary
          FROM marketplace.daily_risk GROUP BY day) d, marketplace.training_summary t
 ORDER BY d.day DESC LIMIT 10;

\echo per week (a rollup of the daily summaries, no rescan of the orders)
SELECT date_trunc('week', day)::date AS week, sum(orders) AS orders,
       round(100.0 * sum(blocked) / sum(orders), 2) AS block_pct,
       round(risk.auc(risk.rollup(summary))::numeric, 4) AS auc,
       round(risk.ks(risk.rollup(summary))::numeric, 4) AS ks,
       round(risk.recall(risk.rollup(summary), 0.8)::numeric, 3) AS recall_at_block,
       round(risk.log_loss(risk.rollup(summary))::numeric, 4) AS log_loss
  FROM marketplace.daily_risk GROUP BY 1 ORDER BY 1;

\echo
\echo == 10. Catch rate per pattern: history scored in batch, and new orders scored by the trigger
SELECT pattern,
       count(*) FILTER (WHERE order_id <= :history) AS history_orders,
       round(100.0 * avg((decision <> 'allow')::int) FILTER (WHERE order_id <= :history), 1) AS history_caught_pct,
       count(*) FILTER (WHERE order_id > :history) AS streamed_orders,
       round(100.0 * avg((decision <> 'allow')::int) FILTER (WHERE order_id > :history), 1) AS streamed_caught_pct,
       round(100.0 * avg((decision = 'block')::int) FILTER (WHERE order_id > :history), 1) AS streamed_blocked_pct
  FROM marketplace.orders GROUP BY pattern ORDER BY pattern = 'normal', pattern;
\echo (caught: sent to review or blocked; for normal orders, the false-positive rate)
