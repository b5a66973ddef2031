-- risk 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION risk UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Model registry: SQL-standard bodies, immune to the caller's search_path
------------------------------------------------------------------------------

-- SQL-standard bodies: parsed here, under the extension's own search_path, so no
-- caller's search_path changes what they run (no operator or function of
-- another schema can take the place of ours).
CREATE OR REPLACE FUNCTION @extschema@.describe_model(name text, version integer DEFAULT NULL)
  RETURNS TABLE (name text, version integer, is_current boolean, objective text,
                 booster text, format text, num_features integer,
                 feature_names text[], feature_types text[], num_trees integer,
                 num_classes integer, max_depth integer, num_leaves integer,
                 base_score float8, xgboost_version text, size_bytes integer,
                 created_at timestamptz, created_by name, metadata jsonb)
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.name, r.version,
           r.version = (SELECT max(c.version) FROM @extschema@.model_registry c
                         WHERE c.name = r.name),
           r.objective, r.booster, r.format, r.num_features, r.feature_names,
           r.feature_types, r.num_trees, r.num_classes, r.max_depth, r.num_leaves,
           r.base_score, r.xgboost_version, octet_length(r.model), r.created_at,
           r.created_by, r.metadata
      FROM @extschema@.model_registry r
     WHERE r.name = describe_model.name
       AND r.version = coalesce(describe_model.version,
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = describe_model.name));
END;

CREATE OR REPLACE FUNCTION @extschema@.model_features(name text, version integer DEFAULT NULL)
  RETURNS TABLE (ordinal integer, feature text, type text)
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT f.ordinal::integer, f.feature, f.type
      FROM @extschema@.model_registry r,
           unnest(r.feature_names, r.feature_types) WITH ORDINALITY AS f(feature, type, ordinal)
     WHERE r.name = model_features.name
       AND r.version = coalesce(model_features.version,
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = model_features.name))
     ORDER BY f.ordinal;
END;

-- ---------------------------------------------------------------------------
-- Labels of any numeric type: a double precision label takes numeric, bigint,
-- smallint and real labels through their implicit casts (a label is 0 or 1);
-- integer labels keep their own overloads, booleans theirs.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._metric_add(internal, double precision, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add(internal, double precision, double precision) IS
  'Transition function of the rank metrics (risk.auc, risk.ks, ...): keeps each score by class.';
CREATE FUNCTION @extschema@._metric_add_param(internal, double precision, double precision, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add_param' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add_param(internal, double precision, double precision, double precision) IS
  'Transition function of the rank metrics with a parameter (risk.recall_at_fpr, risk.lift, risk.capture_rate).';
CREATE FUNCTION @extschema@._metric_add(internal, double precision, double precision, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add(internal, double precision, double precision, double precision) IS
  'Transition function of the rank metrics (risk.auc, risk.ks, ...): keeps each score by class, with its weight.';
CREATE FUNCTION @extschema@._metric_add_param(internal, double precision, double precision, double precision, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add_param' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add_param(internal, double precision, double precision, double precision, double precision) IS
  'Transition function of the rank metrics with a parameter (risk.recall_at_fpr, risk.lift, risk.capture_rate), with a weight.';
CREATE AGGREGATE @extschema@.auc(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._auc_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc(double precision, double precision) IS
  'Area under the ROC curve: the chance that a positive scores above a negative, ties counted one half. NULL with a single class.';
CREATE AGGREGATE @extschema@.auc(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._auc_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc(double precision, double precision, double precision) IS
  'Weighted area under the ROC curve (dollar-weighted AUC: each positive-negative pair counts the product of their weights). NULL with a single class.';
CREATE AGGREGATE @extschema@.gini(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._gini_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gini(double precision, double precision) IS
  'Gini coefficient, 2 * AUC - 1. NULL with a single class.';
CREATE AGGREGATE @extschema@.gini(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._gini_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gini(double precision, double precision, double precision) IS
  'Weighted Gini coefficient, 2 * weighted AUC - 1. NULL with a single class.';
CREATE AGGREGATE @extschema@.average_precision(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._average_precision_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.average_precision(double precision, double precision) IS
  'Average precision as scikit-learn defines it: the sum over distinct scores of the recall each adds times the precision there. NULL with a single class.';
CREATE AGGREGATE @extschema@.average_precision(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._average_precision_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.average_precision(double precision, double precision, double precision) IS
  'Weighted average precision (scikit-learn''s, with sample weights). NULL with a single class.';
CREATE AGGREGATE @extschema@.ks(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._ks_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ks(double precision, double precision) IS
  'Kolmogorov-Smirnov statistic: the largest gap, over thresholds, between the shares of positives and of negatives scored at or above it. NULL with a single class.';
CREATE AGGREGATE @extschema@.ks(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._ks_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ks(double precision, double precision, double precision) IS
  'Weighted Kolmogorov-Smirnov statistic (shares of weight). NULL with a single class.';
CREATE AGGREGATE @extschema@.recall_at_fpr(score double precision, label double precision, max_fpr double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._recall_at_fpr_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.recall_at_fpr(double precision, double precision, double precision) IS
  'Recall (true-positive rate) at the lowest threshold whose false-positive rate is at most max_fpr (in [0, 1]); 0 when no threshold qualifies. NULL with a single class.';
CREATE AGGREGATE @extschema@.recall_at_fpr(score double precision, label double precision, max_fpr double precision, weight double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._recall_at_fpr_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.recall_at_fpr(double precision, double precision, double precision, double precision) IS
  'Weighted recall at a false-positive rate: shares of weight (dollar recall at a given share of good dollars flagged). NULL with a single class.';
CREATE AGGREGATE @extschema@.capture_rate(score double precision, label double precision, top_fraction double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._capture_rate_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.capture_rate(double precision, double precision, double precision) IS
  'Capture rate: the share of all positives among the top_fraction (in (0, 1]) of rows with the highest scores; a tied group across the cut counts in proportion. NULL with a single class.';
CREATE AGGREGATE @extschema@.capture_rate(score double precision, label double precision, top_fraction double precision, weight double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._capture_rate_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.capture_rate(double precision, double precision, double precision, double precision) IS
  'Dollar capture rate: the share of the positives'' weight (amount) among the top_fraction of rows by score. NULL with a single class.';
CREATE AGGREGATE @extschema@.lift(score double precision, label double precision, top_fraction double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._lift_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.lift(double precision, double precision, double precision) IS
  'Lift: the positive rate among the top_fraction (in (0, 1]) of rows by score over the overall positive rate, i.e. capture_rate / top_fraction. NULL with a single class.';
CREATE AGGREGATE @extschema@.lift(score double precision, label double precision, top_fraction double precision, weight double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._lift_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.lift(double precision, double precision, double precision, double precision) IS
  'Dollar lift: risk.capture_rate with weights over top_fraction. NULL with a single class.';
CREATE FUNCTION @extschema@._threshold_add(double precision[], double precision, double precision, double precision) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'risk_threshold_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._threshold_add(double precision[], double precision, double precision, double precision) IS
  'Transition function of the metrics at a threshold (risk.confusion, risk.precision, ...): state {threshold, tp, fp, tn, fn}.';
CREATE FUNCTION @extschema@._threshold_add(double precision[], double precision, double precision, double precision, double precision) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'risk_threshold_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._threshold_add(double precision[], double precision, double precision, double precision, double precision) IS
  'Transition function of the metrics at a threshold (risk.confusion, risk.precision, ...): state {threshold, tp, fp, tn, fn}, sums of weights.';
CREATE AGGREGATE @extschema@.confusion(score double precision, label double precision, threshold double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._confusion_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.confusion(double precision, double precision, double precision) IS
  'The confusion matrix at a threshold: tp, fp, tn, fn and precision, recall, f1, accuracy, fpr.';
CREATE AGGREGATE @extschema@.confusion(score double precision, label double precision, threshold double precision, weight double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._confusion_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.confusion(double precision, double precision, double precision, double precision) IS
  'The confusion matrix at a threshold with weights (amounts): sums of weight instead of counts.';
CREATE AGGREGATE @extschema@.precision(score double precision, label double precision, threshold double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._precision_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.precision(double precision, double precision, double precision) IS
  'Precision at a threshold: the share of positives among the rows scored at or above it. NULL when none is.';
CREATE AGGREGATE @extschema@.precision(score double precision, label double precision, threshold double precision, weight double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._precision_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.precision(double precision, double precision, double precision, double precision) IS
  'Dollar precision at a threshold: the share of the flagged rows'' weight (amount) that is positive. NULL when none is flagged.';
CREATE AGGREGATE @extschema@.recall(score double precision, label double precision, threshold double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._recall_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.recall(double precision, double precision, double precision) IS
  'Recall at a threshold: the share of positives scored at or above it. NULL without positives.';
CREATE AGGREGATE @extschema@.recall(score double precision, label double precision, threshold double precision, weight double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._recall_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.recall(double precision, double precision, double precision, double precision) IS
  'Dollar recall at a threshold: the share of the positives'' weight (amount) scored at or above it. NULL without positives.';
CREATE AGGREGATE @extschema@.f1(score double precision, label double precision, threshold double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._f1_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.f1(double precision, double precision, double precision) IS
  'F1 at a threshold: 2 tp / (2 tp + fp + fn). NULL when there is neither a positive nor a flagged row.';
CREATE AGGREGATE @extschema@.f1(score double precision, label double precision, threshold double precision, weight double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._f1_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.f1(double precision, double precision, double precision, double precision) IS
  'Weighted F1 at a threshold (sums of weight). NULL when there is neither a positive nor a flagged row.';
CREATE AGGREGATE @extschema@.accuracy(score double precision, label double precision, threshold double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._accuracy_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.accuracy(double precision, double precision, double precision) IS
  'Accuracy at a threshold: the share of rows flagged when positive and not flagged when negative.';
CREATE AGGREGATE @extschema@.accuracy(score double precision, label double precision, threshold double precision, weight double precision) (
  SFUNC = @extschema@._threshold_add, STYPE = double precision[], FINALFUNC = @extschema@._accuracy_final,
  COMBINEFUNC = @extschema@._threshold_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.accuracy(double precision, double precision, double precision, double precision) IS
  'Weighted accuracy at a threshold (shares of weight).';
CREATE FUNCTION @extschema@._loss_add(double precision[], double precision, double precision) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'risk_loss_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._loss_add(double precision[], double precision, double precision) IS
  'Transition function of risk.log_loss and risk.brier: state {weight, log loss sum (hi, lo), Brier sum (hi, lo)}.';
CREATE FUNCTION @extschema@._loss_add(double precision[], double precision, double precision, double precision) RETURNS double precision[]
  AS 'MODULE_PATHNAME', 'risk_loss_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._loss_add(double precision[], double precision, double precision, double precision) IS
  'Transition function of risk.log_loss and risk.brier: state {weight, log loss sum (hi, lo), Brier sum (hi, lo)}.';
CREATE AGGREGATE @extschema@.log_loss(score double precision, label double precision) (
  SFUNC = @extschema@._loss_add, STYPE = double precision[], FINALFUNC = @extschema@._log_loss_final,
  COMBINEFUNC = @extschema@._loss_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.log_loss(double precision, double precision) IS
  'Log loss (cross-entropy) of probabilities in [0, 1], clipped to [2.2e-16, 1 - 2.2e-16] as scikit-learn does: the mean of -ln(p) over positives and -ln(1 - p) over negatives.';
CREATE AGGREGATE @extschema@.log_loss(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._loss_add, STYPE = double precision[], FINALFUNC = @extschema@._log_loss_final,
  COMBINEFUNC = @extschema@._loss_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.log_loss(double precision, double precision, double precision) IS
  'Weighted log loss: the weighted mean of -ln(p) over positives and -ln(1 - p) over negatives.';
CREATE AGGREGATE @extschema@.brier(score double precision, label double precision) (
  SFUNC = @extschema@._loss_add, STYPE = double precision[], FINALFUNC = @extschema@._brier_final,
  COMBINEFUNC = @extschema@._loss_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.brier(double precision, double precision) IS
  'Brier score of probabilities in [0, 1]: the mean of (p - label)^2.';
CREATE AGGREGATE @extschema@.brier(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._loss_add, STYPE = double precision[], FINALFUNC = @extschema@._brier_final,
  COMBINEFUNC = @extschema@._loss_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.brier(double precision, double precision, double precision) IS
  'Weighted Brier score: the weighted mean of (p - label)^2.';
CREATE FUNCTION @extschema@._metric_add_bins(internal, double precision, double precision, integer) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add_bins' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add_bins(internal, double precision, double precision, integer) IS
  'Transition function of risk.gains and risk.calibration.';
CREATE FUNCTION @extschema@._metric_add_bins(internal, double precision, double precision, integer, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_metric_add_bins' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._metric_add_bins(internal, double precision, double precision, integer, double precision) IS
  'Transition function of risk.gains and risk.calibration, with a weight.';
CREATE AGGREGATE @extschema@.roc_curve(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._roc_curve_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.roc_curve(double precision, double precision) IS
  'The ROC curve: one point per distinct score from the highest down, from (+Infinity, 0, 0); unnest() it into rows. NULL with a single class.';
CREATE AGGREGATE @extschema@.roc_curve(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._roc_curve_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.roc_curve(double precision, double precision, double precision) IS
  'The ROC curve with weights (amounts): rates are shares of the weight. NULL with a single class.';
CREATE AGGREGATE @extschema@.pr_curve(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._pr_curve_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pr_curve(double precision, double precision) IS
  'The precision-recall curve: one point per distinct score from the highest down; unnest() it into rows. NULL with a single class.';
CREATE AGGREGATE @extschema@.pr_curve(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._pr_curve_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.pr_curve(double precision, double precision, double precision) IS
  'The precision-recall curve with weights (amounts). NULL with a single class.';
CREATE AGGREGATE @extschema@.gains(score double precision, label double precision, buckets integer) (
  SFUNC = @extschema@._metric_add_bins, STYPE = internal, FINALFUNC = @extschema@._gains_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gains(double precision, double precision, integer) IS
  'The gains table: rows ranked by score cut into buckets of equal row counts (10: deciles), tied scores in one bucket; unnest() it into rows. NULL with a single class.';
CREATE AGGREGATE @extschema@.gains(score double precision, label double precision, buckets integer, weight double precision) (
  SFUNC = @extschema@._metric_add_bins, STYPE = internal, FINALFUNC = @extschema@._gains_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gains(double precision, double precision, integer, double precision) IS
  'The gains table with weights (amounts): positives, rates, capture and KS in weight; buckets by row count. NULL with a single class.';
CREATE AGGREGATE @extschema@.calibration(score double precision, label double precision, bins integer) (
  SFUNC = @extschema@._metric_add_bins, STYPE = internal, FINALFUNC = @extschema@._calibration_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.calibration(double precision, double precision, integer) IS
  'The calibration table (reliability diagram): [0, 1] cut into equal bins, each non-empty one with its mean score and positive rate; unnest() it into rows. Scores must be probabilities.';
CREATE AGGREGATE @extschema@.calibration(score double precision, label double precision, bins integer, weight double precision) (
  SFUNC = @extschema@._metric_add_bins, STYPE = internal, FINALFUNC = @extschema@._calibration_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.calibration(double precision, double precision, integer, double precision) IS
  'The calibration table with weights: weighted mean score and positive rate per bin.';
CREATE FUNCTION @extschema@._summary_add(@extschema@.score_summary, double precision, double precision) RETURNS @extschema@.score_summary
  AS 'MODULE_PATHNAME', 'risk_summary_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._summary_add(@extschema@.score_summary, double precision, double precision) IS
  'Transition function of risk.score_summary.';
CREATE FUNCTION @extschema@._summary_add(@extschema@.score_summary, double precision, double precision, double precision) RETURNS @extschema@.score_summary
  AS 'MODULE_PATHNAME', 'risk_summary_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._summary_add(@extschema@.score_summary, double precision, double precision, double precision) IS
  'Transition function of risk.score_summary, with a weight.';
CREATE AGGREGATE @extschema@.score_summary(score double precision, label double precision) (
  SFUNC = @extschema@._summary_add, STYPE = @extschema@.score_summary, SSPACE = 41100, FINALFUNC = @extschema@._summary_final,
  COMBINEFUNC = @extschema@._summary_merge, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.score_summary(double precision, double precision) IS
  'A summary of probabilities and labels, to keep in a materialized view (one per day, shop, ...); the metric functions read it, risk.rollup merges it. NULL without rows.';
CREATE AGGREGATE @extschema@.score_summary(score double precision, label double precision, weight double precision) (
  SFUNC = @extschema@._summary_add, STYPE = @extschema@.score_summary, SSPACE = 41100, FINALFUNC = @extschema@._summary_final,
  COMBINEFUNC = @extschema@._summary_merge, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.score_summary(double precision, double precision, double precision) IS
  'A summary of probabilities and labels with weights (amounts), to keep in a materialized view; the metric functions read it, risk.rollup merges it. NULL without rows.';
CREATE AGGREGATE @extschema@.auc_ci(score double precision, label double precision) (
  SFUNC = @extschema@._metric_add, STYPE = internal, FINALFUNC = @extschema@._auc_ci_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc_ci(double precision, double precision) IS
  'AUC with its 95% DeLong confidence interval (risk.auc_interval). NULL with fewer than two rows of either class.';
CREATE AGGREGATE @extschema@.auc_ci(score double precision, label double precision, level double precision) (
  SFUNC = @extschema@._metric_add_param, STYPE = internal, FINALFUNC = @extschema@._auc_ci_final,
  COMBINEFUNC = @extschema@._metric_combine, SERIALFUNC = @extschema@._metric_serialize,
  DESERIALFUNC = @extschema@._metric_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc_ci(double precision, double precision, double precision) IS
  'AUC with its DeLong confidence interval at a level in (0, 1). NULL with fewer than two rows of either class.';
CREATE FUNCTION @extschema@._pairs_add(internal, double precision, double precision, double precision) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_pairs_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._pairs_add(internal, double precision, double precision, double precision) IS
  'Transition function of risk.auc_test.';
CREATE AGGREGATE @extschema@.auc_test(score_a double precision, score_b double precision, label double precision) (
  SFUNC = @extschema@._pairs_add, STYPE = internal, FINALFUNC = @extschema@._auc_test_final,
  COMBINEFUNC = @extschema@._pairs_combine, SERIALFUNC = @extschema@._pairs_serialize,
  DESERIALFUNC = @extschema@._pairs_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc_test(double precision, double precision, double precision) IS
  'DeLong''s test of two correlated scores (champion and challenger) of the same labelled rows (risk.auc_comparison). Rows with a NULL are skipped; NULL with fewer than two rows of either class.';
