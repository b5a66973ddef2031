-- risk.score_contributions (TreeSHAP) against XGBoost's
-- predict(pred_contribs=True), for 1,000 rows of every single-output model
-- (depths 3 to 12, lossguide, DART, categorical splits, missing values);
-- the contributions add up to the margin; the errors.
\set VERBOSITY terse
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
\getenv fx RISK_FIXTURES

SELECT plan(8);

CREATE TABLE shap_ref (model text, id int, phi float8[], PRIMARY KEY (model, id));
\set f :fx '/contributions.csv'
COPY shap_ref FROM :'f' CSV;
SELECT count(*) > 0 AS loaded
  FROM (SELECT risk.load_model('shap_' || model, :'fx' || '/' || model || '.json')
          FROM (SELECT DISTINCT model FROM shap_ref) m) s \gset
CREATE TABLE shap_ours AS
SELECT r.model, r.id, r.phi AS ref, risk.score_contributions('shap_' || r.model, f.x) AS ours,
       risk.score_margin('shap_' || r.model, f.x) AS margin
  FROM shap_ref r JOIN fx.features f USING (id);

-- XGBoost sums in float32 and we in double: the values agree to about 1e-5
-- of their scale (the largest gap, 2.7e-5 on 2.14, is reg_huber's)
SELECT is((SELECT count(*) FROM shap_ours, unnest(ours, ref) u(o, x)
            WHERE abs(o - x) > 5e-5 * greatest(1, abs(x))), 0::bigint,
          'every contribution = pred_contribs within 5e-5 (relative above 1)');
SELECT ok((SELECT count(*) FILTER (WHERE abs(o - x) > 1e-6 * greatest(1, abs(x)))::float8 / count(*) < 0.01
             FROM shap_ours, unnest(ours, ref) u(o, x)),
          'and 99% of them within 1e-6');
SELECT is((SELECT count(DISTINCT model) FROM shap_ours), 23::bigint,
          '(23 single-output models: depths 3 to 12, lossguide, DART, categorical, every objective)');
SELECT is((SELECT count(*) FROM shap_ours WHERE cardinality(ours) <> 21), 0::bigint,
          'one value per feature, then the bias');
SELECT is((SELECT count(*) FROM shap_ours
            WHERE abs((SELECT sum(o) FROM unnest(ours) o) - margin) > 1e-5 * greatest(1, abs(margin))), 0::bigint,
          'they add up to risk.score_margin');
SELECT ok((SELECT count(*) FILTER (WHERE ours[7] <> 0) > 100 FROM shap_ours WHERE model = 'categorical'),
          '(a categorical feature gets its share)');

-- by column name, as risk.score takes rows
SELECT risk.load_model('shap_orders', :'fx' || '/orders.json') IS NOT NULL AS loaded \gset
SELECT is((SELECT count(*) FROM fx.orders o
            WHERE risk.score_contributions('shap_orders', o) IS DISTINCT FROM
                  risk.score_contributions('shap_orders',
                    ARRAY[o.amount, o.account_age_days, o.is_new_device, o.orders_1h])),
          0::bigint, 'a row by column names = the same features as an array');

-- errors
SELECT risk.load_model('shap_multi', :'fx' || '/softprob4.json') IS NOT NULL AS loaded \gset
SELECT throws_ok($$SELECT risk.score_contributions('shap_multi', x) FROM fx.features WHERE id = 1$$, '0A000', NULL,
                 'a multi-class model: 0A000');

SELECT count(risk.drop_model(name)) AS dropped FROM risk.models WHERE name LIKE 'shap\_%' \gset
DROP TABLE shap_ref, shap_ours;
