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

-- ---------------------------------------------------------------------------
-- Rules as data: rule sets, their drafts and published versions, lists
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.rule_sets (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
  relation regclass NOT NULL,
  model text NOT NULL,
  description text,
  require_approval boolean NOT NULL DEFAULT false,
  current_version integer,
  created_by name NOT NULL,
  created_at timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.rule_sets IS
  'Rule sets: the rules of one table (relation) scored by one model, whose columns, features and score the rules read. current_version is the published version the scoring trigger decides with. Written by risk.create_rule_set, risk.publish_rules, risk.approve_rules and risk.rollback_rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule_sets', '');

CREATE TABLE @extschema@.rules (
  rule_set text NOT NULL REFERENCES @extschema@.rule_sets (name),
  key text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.:-]{1,63}$'),
  expression text NOT NULL,
  action text NOT NULL CHECK (action IN ('block', 'review', 'allow')),
  mode text NOT NULL DEFAULT 'shadow' CHECK (mode IN ('enforce', 'shadow', 'off')),
  priority integer NOT NULL DEFAULT 100,
  description text NOT NULL CHECK (description <> ''),
  updated_by name NOT NULL DEFAULT CURRENT_USER,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_set, key)
);
COMMENT ON TABLE @extschema@.rules IS
  'The draft rules of each rule set, edited with INSERT, UPDATE and DELETE: a stable key, a boolean SQL expression over the row''s columns, the model''s features and score and risk.in_list, an action (block, review, allow), a mode (enforce, shadow, off; new rules start in shadow), a priority (1 first) and the description shown as the reason. Nothing here acts until risk.publish_rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rules', '');

CREATE FUNCTION @extschema@._rule_touched() RETURNS trigger
  AS 'MODULE_PATHNAME', 'risk_rule_touched' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._rule_touched() IS
  'BEFORE UPDATE trigger of risk.rules: records who changed a draft rule, and when.';
CREATE TRIGGER rule_touched BEFORE UPDATE ON @extschema@.rules
  FOR EACH ROW EXECUTE FUNCTION @extschema@._rule_touched();

CREATE TABLE @extschema@.rule_versions (
  rule_set text NOT NULL REFERENCES @extschema@.rule_sets (name),
  version integer NOT NULL CHECK (version > 0),
  created_by name NOT NULL,
  created_at timestamptz NOT NULL,
  approved_by name,
  approved_at timestamptz,
  note text,
  PRIMARY KEY (rule_set, version)
);
COMMENT ON TABLE @extschema@.rule_versions IS
  'Published versions of each rule set, immutable: who published each and when, and who approved it when the set requires a second role (approved_by NULL: waiting for risk.approve_rules).';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule_versions', '');

CREATE TABLE @extschema@.published_rules (
  rule_set text NOT NULL,
  version integer NOT NULL,
  key text NOT NULL,
  expression text NOT NULL,
  action text NOT NULL CHECK (action IN ('block', 'review', 'allow')),
  mode text NOT NULL CHECK (mode IN ('enforce', 'shadow', 'off')),
  priority integer NOT NULL,
  description text NOT NULL,
  PRIMARY KEY (rule_set, version, key),
  FOREIGN KEY (rule_set, version) REFERENCES @extschema@.rule_versions (rule_set, version)
);
COMMENT ON TABLE @extschema@.published_rules IS
  'The rules of each published version, as they were validated at publishing; immutable.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.published_rules', '');

CREATE TABLE @extschema@.rule_publications (
  rule_set text NOT NULL REFERENCES @extschema@.rule_sets (name),
  seq integer NOT NULL,
  version integer NOT NULL,
  event text NOT NULL CHECK (event IN ('publish', 'approve', 'rollback')),
  published_by name NOT NULL,
  published_at timestamptz NOT NULL,
  note text,
  PRIMARY KEY (rule_set, seq),
  FOREIGN KEY (rule_set, version) REFERENCES @extschema@.rule_versions (rule_set, version)
);
COMMENT ON TABLE @extschema@.rule_publications IS
  'Every time a version of a rule set became current (publish, approve, rollback): who, when, why.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule_publications', '');

CREATE TABLE @extschema@.lists (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
  kind text NOT NULL CHECK (kind IN ('text', 'inet')),
  description text,
  revision bigint NOT NULL DEFAULT 0,
  created_by name NOT NULL,
  created_at timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.lists IS
  'Named lists (devices, cards, emails, IP addresses and networks, buyers) that rules test with risk.in_list. kind text compares values as text; kind inet holds addresses and networks and matches an address inside any of them. revision counts the list''s changes.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lists', '');

CREATE TABLE @extschema@.list_items (
  id bigserial PRIMARY KEY,
  list text NOT NULL REFERENCES @extschema@.lists (name),
  value text NOT NULL,
  reason text,
  valid_from timestamptz NOT NULL,
  expires_at timestamptz,
  added_by name NOT NULL,
  added_at timestamptz NOT NULL,
  removed_by name,
  removed_at timestamptz,
  removed_reason text,
  CHECK (expires_at > valid_from),
  CHECK ((removed_at IS NULL) = (removed_by IS NULL))
);
CREATE INDEX list_items_value ON @extschema@.list_items (list, value);
COMMENT ON TABLE @extschema@.list_items IS
  'Every item ever put on a list, never deleted: a value is on its list from valid_from until expires_at or its removal, whichever comes first. Written by risk.add_to_list and risk.remove_from_list, which record who and when.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.list_items', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.list_items_id_seq', '');

CREATE FUNCTION @extschema@._history_kept() RETURNS trigger
  AS 'MODULE_PATHNAME', 'risk_history_kept' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._history_kept() IS
  'BEFORE UPDATE OR DELETE trigger of the published rules and of list items: published versions never change, list items are only ever marked removed.';
CREATE TRIGGER history_kept BEFORE UPDATE OR DELETE ON @extschema@.rule_versions
  FOR EACH ROW EXECUTE FUNCTION @extschema@._history_kept();
CREATE TRIGGER history_kept BEFORE UPDATE OR DELETE ON @extschema@.published_rules
  FOR EACH ROW EXECUTE FUNCTION @extschema@._history_kept();
CREATE TRIGGER history_kept BEFORE UPDATE OR DELETE ON @extschema@.rule_publications
  FOR EACH ROW EXECUTE FUNCTION @extschema@._history_kept();
CREATE TRIGGER history_kept BEFORE UPDATE OR DELETE ON @extschema@.list_items
  FOR EACH ROW EXECUTE FUNCTION @extschema@._history_kept();
CREATE TRIGGER history_kept_truncate BEFORE TRUNCATE ON @extschema@.list_items
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._history_kept();
CREATE TRIGGER history_kept_truncate BEFORE TRUNCATE ON @extschema@.published_rules
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._history_kept();

-- every backend's caches of rule sets and lists hear of a change at commit
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rule_sets
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.published_rules
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();
CREATE TRIGGER lists_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.lists
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();

CREATE VIEW @extschema@.list_members AS
SELECT list, value, reason, valid_from, expires_at, added_by, added_at
  FROM @extschema@.list_items
 WHERE valid_from <= now() AND (expires_at IS NULL OR expires_at > now()) AND removed_at IS NULL;
COMMENT ON VIEW @extschema@.list_members IS
  'The items on each list now (risk.list_items keeps every item ever listed).';

-- Lists
CREATE FUNCTION @extschema@.create_list(name text, kind text DEFAULT 'text', description text DEFAULT NULL)
  RETURNS void AS 'MODULE_PATHNAME', 'risk_create_list' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.create_list(text, text, text) IS
  'Creates an empty list: kind text (values compared as text) or inet (IP addresses and networks; an address matches any network that contains it). Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.add_to_list(list text, value anyelement, reason text DEFAULT NULL,
                                        expires_at timestamptz DEFAULT NULL, valid_from timestamptz DEFAULT NULL)
  RETURNS bigint AS 'MODULE_PATHNAME', 'risk_add_to_list' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_to_list(text, anyelement, text, timestamptz, timestamptz) IS
  'Puts a value (as its text; an address or network on an inet list) on a list from valid_from (default now) until expires_at (default never), with a reason; records who added it and when; returns the item''s id. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.remove_from_list(list text, value anyelement, reason text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_remove_from_list' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.remove_from_list(text, anyelement, text) IS
  'Takes a value off a list from now: marks its items removed (who, when, why) and returns how many; they stay in risk.list_items. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.in_list(list text, value anyelement)
  RETURNS boolean AS 'MODULE_PATHNAME', 'risk_in_list' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_list(text, anyelement) IS
  'Whether the value is on the list at the start of the statement; in a rule, at the decision''s time (the order''s time in a backtest). A hash lookup in this session''s copy of the list.';
CREATE FUNCTION @extschema@.in_list(list text, value anyelement, at timestamptz)
  RETURNS boolean AS 'MODULE_PATHNAME', 'risk_in_list_at' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_list(text, anyelement, timestamptz) IS
  'Whether the value was on the list at the given time: added (valid_from) at or before it, neither expired nor removed by then.';
CREATE FUNCTION @extschema@.add_to_list(list text, value text, reason text DEFAULT NULL,
                                        expires_at timestamptz DEFAULT NULL, valid_from timestamptz DEFAULT NULL)
  RETURNS bigint AS 'MODULE_PATHNAME', 'risk_add_to_list' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_to_list(text, text, text, timestamptz, timestamptz) IS
  'Puts a text value (or an address or network, on an inet list) on a list; see add_to_list(text, anyelement, ...).';
CREATE FUNCTION @extschema@.remove_from_list(list text, value text, reason text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_remove_from_list' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.remove_from_list(text, text, text) IS
  'Takes a text value off a list from now; see remove_from_list(text, anyelement, text).';
CREATE FUNCTION @extschema@.in_list(list text, value text)
  RETURNS boolean AS 'MODULE_PATHNAME', 'risk_in_list' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_list(text, text) IS
  'Whether the text value is on the list at the start of the statement (in a rule: at the decision''s time).';
CREATE FUNCTION @extschema@.in_list(list text, value text, at timestamptz)
  RETURNS boolean AS 'MODULE_PATHNAME', 'risk_in_list_at' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_list(text, text, timestamptz) IS
  'Whether the text value was on the list at the given time.';
REVOKE EXECUTE ON FUNCTION @extschema@.add_to_list(text, text, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.remove_from_list(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.create_list(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.add_to_list(text, anyelement, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.remove_from_list(text, anyelement, text) FROM PUBLIC;

-- Rule sets
CREATE FUNCTION @extschema@.create_rule_set(name text, relation regclass, model text, description text DEFAULT NULL,
                                            require_approval boolean DEFAULT false)
  RETURNS void AS 'MODULE_PATHNAME', 'risk_create_rule_set' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.create_rule_set(text, regclass, text, text, boolean) IS
  'Creates a rule set for the rows of a table scored by a model: its rules read the table''s columns, the model''s features and score. require_approval: each published version waits for risk.approve_rules by another role. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.publish_rules(rule_set text, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_publish_rules' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.publish_rules(text, text) IS
  'Validates every draft rule of the set (an error names its rule), stores them as a new immutable version and makes it current, in this transaction; returns the version. With require_approval the version waits for risk.approve_rules. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.approve_rules(rule_set text, version integer, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_approve_rules' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.approve_rules(text, integer, text) IS
  'Approves a version waiting for approval and makes it current: by another role than the one that published it. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.rollback_rules(rule_set text, version integer, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_rollback_rules' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rollback_rules(text, integer, text) IS
  'Makes an older approved version of the set current again, validated against today''s table and model. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.check_rules(rule_set text, version integer DEFAULT NULL,
                                        OUT key text, OUT sqlstate text, OUT message text, OUT hint text)
  RETURNS SETOF record AS 'MODULE_PATHNAME', 'risk_check_rules' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.check_rules(text, integer) IS
  'Every rule of the draft (or of a version) that would not publish, with its SQLSTATE and message; no rows when all are valid.';
CREATE FUNCTION @extschema@.checkout_rules(rule_set text, version integer) RETURNS integer
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    n integer;
BEGIN
  DELETE FROM @extschema@.rules r WHERE r.rule_set = checkout_rules.rule_set;
  INSERT INTO @extschema@.rules (rule_set, key, expression, action, mode, priority, description)
  SELECT p.rule_set, p.key, p.expression, p.action, p.mode, p.priority, p.description
    FROM @extschema@.published_rules p
   WHERE p.rule_set = checkout_rules.rule_set AND p.version = checkout_rules.version;
  SELECT count(*)::integer INTO n FROM @extschema@.rules r WHERE r.rule_set = checkout_rules.rule_set;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.checkout_rules(text, integer) IS
  'Replaces the draft of the set with the rules of a published version, to edit from it; returns how many rules the draft holds.';
REVOKE EXECUTE ON FUNCTION @extschema@.create_rule_set(text, regclass, text, text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.publish_rules(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.approve_rules(text, integer, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.rollback_rules(text, integer, text) FROM PUBLIC;

-- Decisions in a query
CREATE TYPE @extschema@.decision AS (
  decision text, hits text[], shadow_hits text[], rule_errors text[], rules_version integer, reasons text[]);
COMMENT ON TYPE @extschema@.decision IS
  'What risk.decide gives a row, as the scoring trigger writes it: the decision, the enforced and shadow rules that hit, the rules that raised, the rule set version, the reasons.';
CREATE FUNCTION @extschema@.decide(rule_set text, "row" anyelement, features double precision[],
                                   score double precision DEFAULT NULL, at timestamptz DEFAULT NULL,
                                   version integer DEFAULT NULL)
  RETURNS @extschema@.decision AS 'MODULE_PATHNAME', 'risk_decide' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decide(text, anyelement, double precision[], double precision, timestamptz, integer) IS
  'The decision the scoring trigger gives a row of the rule set''s table with these features: score (default: the model''s score of the features), at (default: the statement''s start) the time lists and now() are read at, version (default: the current one).';
CREATE FUNCTION @extschema@.decide(rule_set text, "row" anyelement, features real[],
                                   score double precision DEFAULT NULL, at timestamptz DEFAULT NULL,
                                   version integer DEFAULT NULL)
  RETURNS @extschema@.decision AS 'MODULE_PATHNAME', 'risk_decide' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decide(text, anyelement, real[], double precision, timestamptz, integer) IS
  'The decision the scoring trigger gives a row of the rule set''s table with these features (real[]).';
CREATE FUNCTION @extschema@.explain_rules(rule_set text, "row" anyelement, features double precision[],
                                          score double precision DEFAULT NULL, at timestamptz DEFAULT NULL,
                                          version integer DEFAULT NULL,
                                          OUT key text, OUT action text, OUT mode text, OUT priority integer,
                                          OUT outcome text, OUT error text)
  RETURNS SETOF record AS 'MODULE_PATHNAME', 'risk_explain_rules' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.explain_rules(text, anyelement, double precision[], double precision, timestamptz, integer) IS
  'Each rule of the version on a row, in priority order: hit, miss, error (with its message) or off.';

-- Backtests
CREATE FUNCTION @extschema@._backtest_add(internal, text, integer, integer, anyelement, double precision[],
                                          double precision, timestamptz, boolean, double precision, boolean)
  RETURNS internal AS 'MODULE_PATHNAME', 'risk_backtest_add' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._backtest_add(internal, text, integer, integer, anyelement, double precision[], double precision, timestamptz, boolean, double precision, boolean) IS
  'Transition function of risk._backtest: decides one history row by the tested version and the baseline, and counts.';
CREATE FUNCTION @extschema@._backtest_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_backtest_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._backtest_combine(internal, internal) IS
  'Combine function of risk._backtest: adds the counts of two parts of the history.';
CREATE FUNCTION @extschema@._backtest_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'risk_backtest_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._backtest_serialize(internal) IS
  'Serialize function of risk._backtest (format 1).';
CREATE FUNCTION @extschema@._backtest_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_backtest_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._backtest_deserialize(bytea, internal) IS
  'Deserialize function of risk._backtest.';
CREATE FUNCTION @extschema@._backtest_final(internal) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'risk_backtest_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._backtest_final(internal) IS
  'Final function of risk._backtest: the report.';
CREATE AGGREGATE @extschema@._backtest(rule_set text, version integer, baseline integer, "row" anyelement,
                                       features double precision[], score double precision, at timestamptz,
                                       fraud boolean, amount double precision, mature boolean) (
  SFUNC = @extschema@._backtest_add, STYPE = internal, FINALFUNC = @extschema@._backtest_final,
  COMBINEFUNC = @extschema@._backtest_combine, SERIALFUNC = @extschema@._backtest_serialize,
  DESERIALFUNC = @extschema@._backtest_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._backtest(text, integer, integer, anyelement, double precision[], double precision, timestamptz, boolean, double precision, boolean) IS
  'The scan of risk.backtest: version 0 is the draft, baseline 0 the thresholds alone; rows not mature are counted, not decided. Parallel workers split it.';
CREATE FUNCTION @extschema@.backtest(rule_set text, history text, version integer DEFAULT NULL, baseline integer DEFAULT NULL,
                                     labels_as_of timestamptz DEFAULT NULL, min_label_age interval DEFAULT NULL,
                                     label text DEFAULT 'is_fraud', amount text DEFAULT 'amount', at text DEFAULT 'created_at',
                                     label_known_at text DEFAULT NULL, features text DEFAULT 'features', score text DEFAULT NULL)
  RETURNS jsonb AS 'MODULE_PATHNAME', 'risk_backtest' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.backtest(text, text, integer, integer, timestamptz, interval, text, text, text, text, text, text) IS
  'Runs a version of the rule set (default: its draft) over history (a table, view or query with the table''s columns, the features of each order at its time, a label and an amount) in one scan, against the baseline (default: the current version), deciding each order at its time (lists as of then); orders placed later than labels_as_of - min_label_age are left out and counted, and a label counts only if known (label_known_at) by labels_as_of. Returns the report; risk.backtest_rules, backtest_decisions and backtest_changes read it.';
CREATE FUNCTION @extschema@.backtest_rules(report jsonb,
    OUT key text, OUT action text, OUT mode text, OUT priority integer, OUT hits bigint, OUT fraud_hits bigint,
    OUT good_hits bigint, OUT fraud_amount double precision, OUT good_amount double precision,
    OUT "precision" double precision, OUT recall double precision, OUT unique_fraud_hits bigint,
    OUT unique_fraud_amount double precision, OUT errors bigint)
  RETURNS SETOF record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT r OPERATOR(pg_catalog.->>) 'key', r OPERATOR(pg_catalog.->>) 'action', r OPERATOR(pg_catalog.->>) 'mode',
         (r OPERATOR(pg_catalog.->>) 'priority')::integer,
         (r OPERATOR(pg_catalog.#>>) '{hits,orders}')::bigint, (r OPERATOR(pg_catalog.#>>) '{hits,fraud_orders}')::bigint,
         (r OPERATOR(pg_catalog.#>>) '{hits,orders}')::bigint OPERATOR(pg_catalog.-) (r OPERATOR(pg_catalog.#>>) '{hits,fraud_orders}')::bigint,
         (r OPERATOR(pg_catalog.#>>) '{hits,fraud_amount}')::double precision,
         (r OPERATOR(pg_catalog.#>>) '{hits,good_amount}')::double precision,
         (r OPERATOR(pg_catalog.#>>) '{hits,fraud_orders}')::double precision OPERATOR(pg_catalog./)
           NULLIF((r OPERATOR(pg_catalog.#>>) '{hits,orders}')::double precision, 0::double precision),
         (r OPERATOR(pg_catalog.#>>) '{hits,fraud_orders}')::double precision OPERATOR(pg_catalog./)
           NULLIF((report OPERATOR(pg_catalog.->>) 'fraud_orders')::double precision, 0::double precision),
         CASE WHEN r OPERATOR(pg_catalog.->>) 'action' OPERATOR(pg_catalog.<>) 'allow'
              THEN (r OPERATOR(pg_catalog.#>>) '{unique,fraud_orders}')::bigint END,
         CASE WHEN r OPERATOR(pg_catalog.->>) 'action' OPERATOR(pg_catalog.<>) 'allow'
              THEN (r OPERATOR(pg_catalog.#>>) '{unique,fraud_amount}')::double precision END,
         (r OPERATOR(pg_catalog.->>) 'errors')::bigint
    FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'rules') WITH ORDINALITY AS e(r, n)
   ORDER BY n;
END;
COMMENT ON FUNCTION @extschema@.backtest_rules(jsonb) IS
  'The rules of a backtest report, in priority order: hits, the fraud and good orders among them and their amounts, precision, recall (of the fraud in the history), the fraud no other block or review rule of the set catches, errors.';
CREATE FUNCTION @extschema@.backtest_decisions(report jsonb,
    OUT version text, OUT decision text, OUT orders bigint, OUT fraud_orders bigint,
    OUT fraud_amount double precision, OUT good_amount double precision)
  RETURNS SETOF record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT r OPERATOR(pg_catalog.->>) 'version', r OPERATOR(pg_catalog.->>) 'decision',
         (r OPERATOR(pg_catalog.->>) 'orders')::bigint, (r OPERATOR(pg_catalog.->>) 'fraud_orders')::bigint,
         (r OPERATOR(pg_catalog.->>) 'fraud_amount')::double precision, (r OPERATOR(pg_catalog.->>) 'good_amount')::double precision
    FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'decisions') WITH ORDINALITY AS e(r, n)
   ORDER BY n;
END;
COMMENT ON FUNCTION @extschema@.backtest_decisions(jsonb) IS
  'The decisions of a backtest report: for the tested version and the baseline, the orders each decision takes, their fraud and amounts.';
CREATE FUNCTION @extschema@.backtest_changes(report jsonb,
    OUT from_decision text, OUT to_decision text, OUT orders bigint, OUT fraud_orders bigint,
    OUT fraud_amount double precision, OUT good_amount double precision)
  RETURNS SETOF record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT r OPERATOR(pg_catalog.->>) 'from', r OPERATOR(pg_catalog.->>) 'to',
         (r OPERATOR(pg_catalog.->>) 'orders')::bigint, (r OPERATOR(pg_catalog.->>) 'fraud_orders')::bigint,
         (r OPERATOR(pg_catalog.->>) 'fraud_amount')::double precision, (r OPERATOR(pg_catalog.->>) 'good_amount')::double precision
    FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'changes') WITH ORDINALITY AS e(r, n)
   ORDER BY n;
END;
COMMENT ON FUNCTION @extschema@.backtest_changes(jsonb) IS
  'How decisions change from the baseline to the tested version in a backtest report: orders moving from one decision to another, their fraud and amounts.';

-- Statistics of the rules on a decided table
CREATE FUNCTION @extschema@.rule_stats(relation regclass, since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                                       label text DEFAULT NULL, amount text DEFAULT 'amount', at text DEFAULT 'created_at',
                                       hits text DEFAULT 'hits', shadow_hits text DEFAULT 'shadow_hits',
                                       rule_set text DEFAULT NULL,
    OUT day date, OUT key text, OUT mode text, OUT orders bigint, OUT hits bigint, OUT hit_rate double precision,
    OUT fraud_hits bigint, OUT "precision" double precision, OUT recall double precision,
    OUT fraud_amount double precision, OUT good_amount double precision, OUT unique_fraud_hits bigint)
  RETURNS SETOF record AS 'MODULE_PATHNAME', 'risk_rule_stats' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.rule_stats(regclass, timestamptz, timestamptz, text, text, text, text, text, text) IS
  'Each rule''s hits per day (of the at column, in the session''s time zone) on a table the scoring trigger decided, enforced and shadow, from its hits and shadow_hits columns, with the day''s orders and the hit rate; with a label column: the fraud and good orders among the hits, their amounts, precision, recall of the day''s fraud, and the fraud no other recorded block or review rule hit (the actions of the rules of rule_set, default the table''s rule sets, each in its latest published version; none for allow rules).';

-- Synthetic orders: declined, card_testing, reported_at (when the abuse became known), coupon_leak_at
DROP FUNCTION @extschema@.synthetic_orders(bigint, integer, timestamptz, integer, bigint, bigint);
CREATE FUNCTION @extschema@.synthetic_orders(
    n bigint, seed integer DEFAULT 42, start_at timestamptz DEFAULT '2026-01-01 00:00:00+00',
    days integer DEFAULT 30, buyers bigint DEFAULT 0, first_order_id bigint DEFAULT 1,
    coupon_leak_at timestamptz DEFAULT 'infinity')
  RETURNS TABLE (order_id bigint, created_at timestamptz, buyer_id bigint, account_created_at timestamptz,
                 device_id bigint, ip inet, address_id bigint, payment_id bigint, shop_id integer,
                 sku_id integer, quantity integer, list_price double precision, discount double precision,
                 amount double precision, coupon text, review_stars integer, review_minutes integer,
                 declined boolean, is_fraud boolean, pattern text, reported_at timestamptz)
  AS 'MODULE_PATHNAME', 'risk_synthetic_orders' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION @extschema@.synthetic_orders(bigint, integer, timestamptz, integer, bigint, bigint, timestamptz) IS
  'n synthetic marketplace orders over days days from start_at, in time order, numbered from first_order_id: ordinary buyers (buyers of them; 0: n / 6) and labelled abuse (pattern: account_takeover, coupon_abuse, deal_hunting, scalping, brushing, click_farm, address_harvesting, card_testing; from coupon_leak_at, coupon_leak: a leaked staff coupon on ordinary accounts), whether the payment was declined, and reported_at, when the abuse became known (days to weeks later; NULL if never, and for ordinary orders). The same arguments give the same rows.';

-- Experiments: a unit's stable bucket
CREATE FUNCTION @extschema@.bucket(salt text, unit text, buckets integer) RETURNS integer
  AS 'MODULE_PATHNAME', 'risk_bucket_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bucket(text, text, integer) IS
  'The bucket, from 0 to buckets - 1, of a unit (a buyer, a device) for an experiment named by salt: the first 8 bytes of SHA-256 of the salt''s UTF-8 bytes, a zero byte and the unit''s UTF-8 bytes, as a big-endian unsigned integer, modulo buckets. The same on every platform and in every version.';
CREATE FUNCTION @extschema@.bucket(salt text, unit anyelement, buckets integer) RETURNS integer
  AS 'MODULE_PATHNAME', 'risk_bucket_any' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bucket(text, anyelement, integer) IS
  'risk.bucket of the unit''s text form: 12345::bigint and ''12345'' share a bucket.';

-- Feature importance
CREATE FUNCTION @extschema@.feature_importance(name text,
    OUT ordinal integer, OUT feature text, OUT weight bigint, OUT gain double precision, OUT cover double precision,
    OUT total_gain double precision, OUT total_cover double precision)
  RETURNS SETOF record AS 'MODULE_PATHNAME', 'risk_feature_importance' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 32;
COMMENT ON FUNCTION @extschema@.feature_importance(text) IS
  'Each feature of the current version of a tree model, in order, with its importance as libxgboost''s get_score counts it: weight (the splits on it), total_gain and total_cover (the sums of their loss changes and covers), gain and cover (per split); 0 for a feature no tree splits on.';

-- ---------------------------------------------------------------------------
-- Training: risk.train, its record and per-round log, its progress
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.model_training (
    name                    text        NOT NULL,
    version                 integer     NOT NULL,
    objective               text        NOT NULL,
    query                   text        NOT NULL,
    label                   text        NOT NULL,
    weight                  text,
    validation              text,
    categorical             text[]      NOT NULL,
    params                  jsonb       NOT NULL,
    rounds                  integer     NOT NULL,
    early_stopping_rounds   integer,
    rounds_trained          integer     NOT NULL,
    best_round              integer     NOT NULL,
    stopping_metric         text,
    best_score              float8,
    train_rows              bigint      NOT NULL,
    train_positives         bigint,
    valid_rows              bigint      NOT NULL,
    valid_positives         bigint,
    data_sha256             text        NOT NULL,
    valid_auc               float8,
    valid_average_precision float8,
    valid_ks                float8,
    valid_log_loss          float8,
    train_seconds           float8      NOT NULL,
    seconds                 float8      NOT NULL,
    rows_bytes              bigint      NOT NULL,
    libxgboost_peak_bytes   bigint      NOT NULL,
    threads                 integer     NOT NULL,
    trained_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version),
    FOREIGN KEY (name, version) REFERENCES @extschema@.model_registry (name, version) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.model_training IS
  'How each model version made by risk.train was trained: the query, label, split and parameters, the rounds trained and kept, the data''s fingerprint, the validation metrics (risk.auc, risk.average_precision, risk.ks, risk.log_loss), time and memory. Kept by pg_dump; gone with its version.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_training', '');

CREATE TABLE @extschema@.model_training_rounds (
    name        text    NOT NULL,
    version     integer NOT NULL,
    round       integer NOT NULL,
    dataset     text    NOT NULL,
    metric      text    NOT NULL,
    value       float8  NOT NULL,
    PRIMARY KEY (name, version, round, dataset, metric),
    FOREIGN KEY (name, version) REFERENCES @extschema@.model_training (name, version) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.model_training_rounds IS
  'The per-round log of each risk.train: every evaluation metric after each round (1-based) on the validation rows (dataset valid), or on the training rows without a split (dataset train), as libxgboost printed it.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_training_rounds', '');

CREATE FUNCTION @extschema@.train(name text, query text, label text,
                                  weight text DEFAULT NULL,
                                  validation text DEFAULT NULL,
                                  rounds integer DEFAULT 100,
                                  early_stopping_rounds integer DEFAULT NULL,
                                  params jsonb DEFAULT '{}',
                                  categorical text[] DEFAULT NULL,
                                  balance_classes boolean DEFAULT false,
                                  metadata jsonb DEFAULT NULL)
  RETURNS integer
  AS 'MODULE_PATHNAME', 'risk_train'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.train(text, text, text, text, text, integer, integer, jsonb, text[], boolean, jsonb) IS
  'Trains an XGBoost model with libxgboost on the rows of query (or a table): every column but label, weight and validation (a boolean column: true holds the row out) is a feature. Registers it as the next version of name and returns the version; risk.model_training records how.';

CREATE FUNCTION @extschema@._training_progress()
  RETURNS TABLE (pid integer, model text, phase text, rows_read bigint, round integer, rounds integer,
                 metric text, value double precision, best_round integer, best_value double precision,
                 memory_bytes bigint, started_at timestamptz, updated_at timestamptz)
  AS 'MODULE_PATHNAME', 'risk_training_progress'
  LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._training_progress() IS
  'Internal: the rows of the view risk.training_progress.';
CREATE VIEW @extschema@.training_progress AS
  SELECT * FROM @extschema@._training_progress();
COMMENT ON VIEW @extschema@.training_progress IS
  'Every risk.train running now, as pg_stat_activity shows sessions (your own, or all with pg_read_all_stats): its phase (reading, sorting, training, storing), rows read, the last round, its metric, the best so far, the training process''s memory.';
GRANT SELECT ON @extschema@.training_progress TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Deployment: aliases of model versions (name@alias in every scoring path)
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.model_aliases (
    name        text        NOT NULL,
    alias       text        NOT NULL CHECK (alias ~ '^[A-Za-z][A-Za-z0-9_.:-]{0,62}$'),
    version     integer     NOT NULL,
    moved_at    timestamptz NOT NULL,
    moved_by    name        NOT NULL,
    PRIMARY KEY (name, alias),
    -- a version an alias points at cannot be dropped
    FOREIGN KEY (name, version) REFERENCES @extschema@.model_registry (name, version)
);
COMMENT ON TABLE @extschema@.model_aliases IS
  'Where each alias of a model (champion, challenger, ...) points: risk.score(''name@alias'', ...) scores with that version. Change it with risk.set_alias, risk.rollback_alias, risk.remove_alias.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_aliases', '');

CREATE TABLE @extschema@.model_alias_history (
    name             text        NOT NULL,
    alias            text        NOT NULL,
    seq              integer     NOT NULL,
    version          integer,
    previous_version integer,
    action           text        NOT NULL CHECK (action IN ('set', 'rollback', 'remove')),
    moved_by         name        NOT NULL,
    moved_at         timestamptz NOT NULL,
    note             text,
    PRIMARY KEY (name, alias, seq)
);
COMMENT ON TABLE @extschema@.model_alias_history IS
  'Every move of every alias, in order (seq): the version it pointed at after (NULL: removed) and before, set, rollback or remove, who, when, why. risk.rollback_alias walks it back.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_alias_history', '');

-- every backend's model cache hears of a move at commit
CREATE TRIGGER model_aliases_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.model_aliases
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();

CREATE FUNCTION @extschema@.set_alias(name text, alias text, version integer, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_set_alias' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_alias(text, text, integer, text) IS
  'Points an alias of a model at a version, in this transaction (every session scores name@alias with it from its next statement after commit), and records the move; returns the version it pointed at before, or NULL. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.rollback_alias(name text, alias text, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_rollback_alias' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rollback_alias(text, text, text) IS
  'Undoes the latest move of an alias not yet undone (walking its history: v1, v2, v3 roll back to v2, then v1) and records it; returns the version it points at now. Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.remove_alias(name text, alias text, note text DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_remove_alias' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.remove_alias(text, text, text) IS
  'Removes an alias of a model and records it; returns the version it pointed at. Needs EXECUTE, which PUBLIC lacks.';
REVOKE EXECUTE ON FUNCTION @extschema@.set_alias(text, text, integer, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.rollback_alias(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.remove_alias(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Experiments: two scores of the same rows compared paired; a canary's share
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.score_comparison AS (
  rows bigint, labelled bigint, label_coverage double precision, positives bigint,
  auc_a double precision, auc_b double precision, auc_difference double precision,
  auc_ci_low double precision, auc_ci_high double precision, auc_p_value double precision,
  threshold_a double precision, threshold_b double precision,
  recall_a double precision, recall_b double precision, recall_p_value double precision,
  fpr_a double precision, fpr_b double precision, fpr_p_value double precision,
  caught_amount_a double precision, caught_amount_b double precision,
  declined_good_amount_a double precision, declined_good_amount_b double precision
);
COMMENT ON TYPE @extschema@.score_comparison IS
  'risk.compare_scores: rows, labelled rows and their share (label coverage), positives; both AUCs, auc_a - auc_b with DeLong''s paired 95% interval and p-value; at each threshold recall and false-positive rate, each pair with McNemar''s exact p-value on the paired decisions; the amount of positives each flags (caught) and of negatives each flags (good orders declined).';
CREATE FUNCTION @extschema@._paired_add(internal, double precision, double precision, boolean, double precision)
  RETURNS internal AS 'MODULE_PATHNAME', 'risk_paired_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_add(internal, double precision, double precision, boolean, double precision) IS
  'Transition function of risk.compare_scores.';
CREATE FUNCTION @extschema@._paired_add(internal, double precision, double precision, boolean, double precision,
                                        double precision, double precision)
  RETURNS internal AS 'MODULE_PATHNAME', 'risk_paired_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_add(internal, double precision, double precision, boolean, double precision, double precision, double precision) IS
  'Transition function of risk.compare_scores.';
CREATE FUNCTION @extschema@._paired_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_paired_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_combine(internal, internal) IS 'Combine function of risk.compare_scores.';
CREATE FUNCTION @extschema@._paired_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'risk_paired_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_serialize(internal) IS 'Serialize function of risk.compare_scores.';
CREATE FUNCTION @extschema@._paired_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_paired_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_deserialize(bytea, internal) IS 'Deserialize function of risk.compare_scores.';
CREATE FUNCTION @extschema@._paired_final(internal) RETURNS @extschema@.score_comparison
  AS 'MODULE_PATHNAME', 'risk_paired_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._paired_final(internal) IS 'Final function of risk.compare_scores.';
CREATE AGGREGATE @extschema@.compare_scores(score_a double precision, score_b double precision, label boolean,
                                           threshold double precision) (
  SFUNC = @extschema@._paired_add, STYPE = internal, FINALFUNC = @extschema@._paired_final,
  COMBINEFUNC = @extschema@._paired_combine, SERIALFUNC = @extschema@._paired_serialize,
  DESERIALFUNC = @extschema@._paired_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.compare_scores(double precision, double precision, boolean, double precision) IS
  'Two scores of the same rows (champion a, challenger b) compared paired, both flagging at threshold: risk.score_comparison (amounts NULL). A NULL label is a row not labelled yet.';
CREATE AGGREGATE @extschema@.compare_scores(score_a double precision, score_b double precision, label boolean,
                                           amount double precision, threshold_a double precision,
                                           threshold_b double precision) (
  SFUNC = @extschema@._paired_add, STYPE = internal, FINALFUNC = @extschema@._paired_final,
  COMBINEFUNC = @extschema@._paired_combine, SERIALFUNC = @extschema@._paired_serialize,
  DESERIALFUNC = @extschema@._paired_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.compare_scores(double precision, double precision, boolean, double precision, double precision, double precision) IS
  'Two scores of the same rows (champion a, challenger b) compared paired, each flagging at its own threshold, with the amounts of fraud caught and of good orders declined: risk.score_comparison. A NULL label is a row not labelled yet.';

CREATE TYPE @extschema@.sample_ratio AS (
  share_a double precision, expected_share_a double precision, chi_square double precision, p_value double precision
);
COMMENT ON TYPE @extschema@.sample_ratio IS
  'risk.sample_ratio_test: the share group A got, the share it should get, Pearson''s chi-square (1 degree of freedom) and its p-value.';
CREATE FUNCTION @extschema@.sample_ratio_test(rows_a bigint, rows_b bigint, expected_share_a double precision)
  RETURNS @extschema@.sample_ratio
  AS 'MODULE_PATHNAME', 'risk_sample_ratio_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sample_ratio_test(bigint, bigint, double precision) IS
  'Did a canary get its share? rows_a of rows_a + rows_b against expected_share_a: a small p-value is a sample ratio mismatch (the split is broken; compare nothing until it is fixed).';

-- ---------------------------------------------------------------------------
-- Monitoring a deployed model: feature and score drift between two slices
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.feature_drift(model text, reference_rows text, current_rows text, bins integer DEFAULT 10)
  RETURNS TABLE (rank integer, feature text, csi double precision, reference_count bigint, current_count bigint,
                 reference_missing double precision, current_missing double precision)
  AS 'MODULE_PATHNAME', 'risk_feature_drift' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.feature_drift(text, text, text, integer) IS
  'The CSI (risk.csi, bins at the reference''s quantiles) of every feature of a model between the rows of the query reference_rows (the training period, say) and those of current_rows (yesterday), ranked from the largest, with each side''s row count and share of missing values. One scan of each query, run as the caller.';
CREATE FUNCTION @extschema@.score_drift(model text, reference_rows text, current_rows text, bins integer DEFAULT 10,
                                        OUT psi double precision, OUT reference_count bigint, OUT current_count bigint,
                                        OUT reference_mean_score double precision, OUT current_mean_score double precision)
  RETURNS record
  AS 'MODULE_PATHNAME', 'risk_score_drift' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.score_drift(text, text, text, integer) IS
  'The PSI (risk.psi, bins at the reference''s quantiles) of a model''s score between the rows of the query reference_rows and those of current_rows, each row scored with risk.score(model, row); with each side''s row count and mean score.';

-- ---------------------------------------------------------------------------
-- describe_model and model_features take a model reference (name@3, name@alias)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@._reference_version(ref text) RETURNS integer
  AS 'MODULE_PATHNAME', 'risk_reference_version' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._reference_version(text) IS
  'Internal: the version a model reference names (name@3: 3; name@alias: the alias''s, read as the extension''s owner), NULL for a bare name.';

-- PL/pgSQL, not a SQL body: Citus plans a parameterized query over its
-- reference tables (risk.distribute_catalog) in PL/pgSQL only
CREATE FUNCTION @extschema@._describe_model(ref text, v integer)
  RETURNS TABLE (name text, version integer, is_current boolean, objective text,
                 booster text, format text, num_features integer,
                 feature_names text[], feature_types text[], num_trees integer,
                 num_classes integer, max_depth integer, num_leaves integer,
                 base_score float8, xgboost_version text, size_bytes integer,
                 created_at timestamptz, created_by name, metadata jsonb)
  LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT r.name, r.version,
           r.version = (SELECT max(c.version) FROM @extschema@.model_registry c
                         WHERE c.name = r.name),
           r.objective, r.booster, r.format, r.num_features, r.feature_names,
           r.feature_types, r.num_trees, r.num_classes, r.max_depth, r.num_leaves,
           r.base_score, r.xgboost_version, octet_length(r.model), r.created_at,
           r.created_by, r.metadata
      FROM @extschema@.model_registry r
     WHERE r.name = split_part(ref, '@', 1)
       AND r.version = coalesce(v,
                                @extschema@._reference_version(ref),
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = split_part(ref, '@', 1)));
END $$;
COMMENT ON FUNCTION @extschema@._describe_model(text, integer) IS
  'What risk.describe_model returns.';
CREATE OR REPLACE FUNCTION @extschema@.describe_model(name text, version integer DEFAULT NULL)
  RETURNS TABLE (name text, version integer, is_current boolean, objective text,
                 booster text, format text, num_features integer,
                 feature_names text[], feature_types text[], num_trees integer,
                 num_classes integer, max_depth integer, num_leaves integer,
                 base_score float8, xgboost_version text, size_bytes integer,
                 created_at timestamptz, created_by name, metadata jsonb)
  LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
    SELECT * FROM @extschema@._describe_model(describe_model.name, describe_model.version);
END;
COMMENT ON FUNCTION @extschema@.describe_model(text, integer) IS
  'One row describing a model version: the one a reference names (name: the current one; name@3; name@alias), or version.';

CREATE OR REPLACE FUNCTION @extschema@.model_features(name text, version integer DEFAULT NULL)
  RETURNS TABLE (ordinal integer, feature text, type text)
  LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT f.ordinal::integer, f.feature, f.type
      FROM @extschema@.model_registry r,
           unnest(r.feature_names, r.feature_types) WITH ORDINALITY AS f(feature, type, ordinal)
     WHERE r.name = split_part(model_features.name, '@', 1)
       AND r.version = coalesce(model_features.version,
                                @extschema@._reference_version(model_features.name),
                                (SELECT max(c.version) FROM @extschema@.model_registry c
                                  WHERE c.name = split_part(model_features.name, '@', 1)))
     ORDER BY f.ordinal;
END $$;
COMMENT ON FUNCTION @extschema@.model_features(text, integer) IS
  'The features of a model version (a reference: name, name@3, name@alias; or version), in the order risk.score expects them in an array.';

-- ------------------------------------------------------------------------
-- Feature sets: a model's features declared once, computed in batch
-- (<set>_features) and online (the scoring trigger) by the same code
-- ------------------------------------------------------------------------

CREATE TYPE @extschema@.feature_state;
CREATE FUNCTION @extschema@.feature_state_in(cstring) RETURNS @extschema@.feature_state
  AS 'MODULE_PATHNAME', 'risk_feature_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_state_in(cstring) IS
  'Input of risk.feature_state: \x and the hexadecimal of its binary form, checked in full.';
CREATE FUNCTION @extschema@.feature_state_out(@extschema@.feature_state) RETURNS cstring
  AS 'MODULE_PATHNAME', 'risk_feature_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_state_out(@extschema@.feature_state) IS
  'Output of risk.feature_state: \x and the hexadecimal of its binary form.';
CREATE FUNCTION @extschema@.feature_state_recv(internal) RETURNS @extschema@.feature_state
  AS 'MODULE_PATHNAME', 'risk_feature_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_state_recv(internal) IS
  'Binary input of risk.feature_state (portable, versioned, checked in full).';
CREATE FUNCTION @extschema@.feature_state_send(@extschema@.feature_state) RETURNS bytea
  AS 'MODULE_PATHNAME', 'risk_feature_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_state_send(@extschema@.feature_state) IS
  'Binary output of risk.feature_state (portable, versioned: its first byte is the format version).';
CREATE TYPE @extschema@.feature_state (
  INPUT = @extschema@.feature_state_in,
  OUTPUT = @extschema@.feature_state_out,
  RECEIVE = @extschema@.feature_state_recv,
  SEND = @extschema@.feature_state_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = extended
);
COMMENT ON TYPE @extschema@.feature_state IS
  'One entity''s state for a feature set: per track (filter, amount, key) a velocity state and the first, latest and previous times of its events. Kept in the feature set''s stores, one row per entity.';

CREATE TABLE @extschema@.feature_sets (
  name text PRIMARY KEY CHECK (name ~ '^[a-z_][a-z0-9_]{0,39}$'),
  events regclass NOT NULL,
  time_column name NOT NULL,
  tie_break name,
  arrival name,
  owner name NOT NULL,
  description text,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.feature_sets IS
  'Feature sets: the features of one event table, declared once (risk.create_feature_set, risk.add_feature): its time column, the tie-break that orders same-time events, the arrival column the trigger numbers rows in. Stores, the batch function <name>_features and the sequence <name>_arrival belong to owner.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature_sets', '');

CREATE TABLE @extschema@.feature_set_entities (
  feature_set text NOT NULL REFERENCES @extschema@.feature_sets (name),
  entity text NOT NULL CHECK (entity ~ '^[a-z_][a-z0-9_]{0,39}$'),
  expression text NOT NULL,
  store regclass NOT NULL,
  PRIMARY KEY (feature_set, entity)
);
COMMENT ON TABLE @extschema@.feature_set_entities IS
  'The entity kinds of each feature set: an expression of the event row (canonical text: names outside pg_catalog qualified) and the store table holding each entity''s risk.feature_state.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature_set_entities', '');

CREATE TABLE @extschema@.feature_set_features (
  feature_set text NOT NULL REFERENCES @extschema@.feature_sets (name),
  position integer NOT NULL CHECK (position > 0),
  name text NOT NULL,
  expression text NOT NULL,
  aggregate text CHECK (aggregate IN ('count', 'count_distinct', 'sum', 'avg', 'is_new', 'seconds_since_first',
                                      'seconds_since_last', 'ratio_to_avg')),
  argument text,
  filter text,
  entity text,
  within interval,
  delay interval,
  include_current boolean NOT NULL DEFAULT false,
  max_distinct integer,
  PRIMARY KEY (feature_set, position),
  UNIQUE (feature_set, name),
  FOREIGN KEY (feature_set, entity) REFERENCES @extschema@.feature_set_entities (feature_set, entity),
  CHECK ((aggregate IS NULL) = (entity IS NULL))
);
COMMENT ON TABLE @extschema@.feature_set_features IS
  'The features of each feature set, in order: an expression of the row (aggregate NULL), or an aggregate of the entity''s events before the row (within a window, delayed, filtered). expression is as written; argument and filter canonical.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature_set_features', '');

CREATE TRIGGER feature_sets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.feature_sets
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();
CREATE TRIGGER feature_sets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.feature_set_entities
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();
CREATE TRIGGER feature_sets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.feature_set_features
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();

CREATE FUNCTION @extschema@.create_feature_set(name text, events regclass, time_column text,
                                               tie_break text DEFAULT NULL, arrival text DEFAULT NULL,
                                               description text DEFAULT NULL)
  RETURNS void AS 'MODULE_PATHNAME', 'risk_create_feature_set' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.create_feature_set(text, regclass, text, text, text, text) IS
  'Creates a feature set over an event table: its timestamptz time column, the tie-break column that orders same-time events (without one, same-time events are never before each other), and a bigint arrival column the scoring trigger numbers rows in (<name>_features_served replays them in that order). Needs EXECUTE, which PUBLIC lacks.';
CREATE FUNCTION @extschema@.add_entity(feature_set text, entity text, expression text)
  RETURNS void AS 'MODULE_PATHNAME', 'risk_add_entity' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_entity(text, text, text) IS
  'Declares an entity kind of a feature set as an expression of the row (a /24 of an IP, a (buyer, device) pair, a jsonb field) and creates its store, <set>_<entity>. A column is an entity without it.';
CREATE FUNCTION @extschema@.add_feature(feature_set text, name text, expression text, per text DEFAULT NULL,
                                        within interval DEFAULT NULL, delay interval DEFAULT NULL,
                                        include_current boolean DEFAULT false, max_distinct integer DEFAULT NULL)
  RETURNS integer AS 'MODULE_PATHNAME', 'risk_add_feature' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_feature(text, text, text, text, interval, interval, boolean, integer) IS
  'Adds a feature, returns its position: an expression of the row, or per an entity an aggregate of its events before the row: count(*), count(distinct x), sum(x), avg(x), is_new(x), seconds_since_first(), seconds_since_last(), ratio_to_avg(x), with FILTER (WHERE ...), within a window, delayed (t - delay - within, t - delay], including the current event, distinct counts capped at max_distinct.';
CREATE FUNCTION @extschema@.drop_feature_set(name text)
  RETURNS void AS 'MODULE_PATHNAME', 'risk_drop_feature_set' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.drop_feature_set(text) IS
  'Drops a feature set, its stores and its batch function.';
CREATE FUNCTION @extschema@.feature_set_dropped()
  RETURNS event_trigger AS 'MODULE_PATHNAME', 'risk_feature_set_dropped' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.feature_set_dropped() IS
  'Event trigger function: drops the feature sets whose event table was dropped; refuses to drop a store alone.';
CREATE EVENT TRIGGER risk_feature_set_dropped ON sql_drop EXECUTE FUNCTION @extschema@.feature_set_dropped();
COMMENT ON EVENT TRIGGER risk_feature_set_dropped IS
  'A feature set goes with its event table (its stores and batch functions with it); a store is not dropped alone.';
CREATE FUNCTION @extschema@.check_feature_set(feature_set text, model text)
  RETURNS boolean AS 'MODULE_PATHNAME', 'risk_check_feature_set' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.check_feature_set(text, text) IS
  'True when the feature set has the model''s features, by name and in order; otherwise an error (42P17) naming the first difference.';
CREATE FUNCTION @extschema@.rebuild_feature_states(feature_set text)
  RETURNS bigint AS 'MODULE_PATHNAME', 'risk_rebuild_feature_states' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.rebuild_feature_states(text) IS
  'Empties each store of the feature set and fills it with the states the stored events leave; returns the number of states written. After a change to the declaration, or to backfill a history.';
REVOKE EXECUTE ON FUNCTION @extschema@.create_feature_set(text, regclass, text, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.add_entity(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.add_feature(text, text, text, text, interval, interval, boolean, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.drop_feature_set(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.rebuild_feature_states(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.feature_set_window(feature_set text, entity text, event anyelement)
  RETURNS double precision[] AS 'MODULE_PATHNAME', 'risk_feature_set_window' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_set_window(text, text, anyelement) IS
  'A window function over OVER (PARTITION BY the entity ORDER BY time, tie-break): the entity''s features of each event, from the events before it, as the online states give them (what <set>_features calls).';
CREATE FUNCTION @extschema@.feature_set_row(feature_set text, event anyelement)
  RETURNS double precision[] AS 'MODULE_PATHNAME', 'risk_feature_set_row' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_set_row(text, anyelement) IS
  'The feature set''s expressions of the row itself, in their order (what <set>_features calls).';
CREATE FUNCTION @extschema@._feature_state_step(internal, text, text, anyelement) RETURNS internal
  AS 'MODULE_PATHNAME', 'risk_feature_state_agg_step' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._feature_state_step(internal, text, text, anyelement) IS
  'Transition function of risk.feature_state_agg.';
CREATE FUNCTION @extschema@._feature_state_final(internal) RETURNS @extschema@.feature_state
  AS 'MODULE_PATHNAME', 'risk_feature_state_agg_final' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._feature_state_final(internal) IS
  'Final function of risk.feature_state_agg.';
CREATE AGGREGATE @extschema@.feature_state_agg(feature_set text, entity text, event anyelement) (
  SFUNC = @extschema@._feature_state_step,
  STYPE = internal,
  FINALFUNC = @extschema@._feature_state_final
);
COMMENT ON AGGREGATE @extschema@.feature_state_agg(text, text, anyelement) IS
  'The state an entity''s events leave, folded in the order given (ORDER BY time, tie-break): what risk.rebuild_feature_states writes to the stores. No combine function: the fold is ordered.';
CREATE FUNCTION @extschema@.entity_features(feature_set text, entity text, value anyelement,
                                            at timestamptz DEFAULT NULL)
  RETURNS TABLE (feature text, value double precision)
  AS 'MODULE_PATHNAME', 'risk_entity_features' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.entity_features(text, text, anyelement, timestamptz) IS
  'An entity''s features now (or at a time), from its state in the store, counting every event up to then: for an investigation ("device 123: orders in the last hour, ..."). Features of the current event (is_new, ratio_to_avg) are NULL.';

-- Reading a velocity pack (risk.velocity, risk.velocity_tiled, risk.velocity_read) by name
CREATE FUNCTION @extschema@.velocity_value(pack double precision[], windows interval[], measure text, within interval)
  RETURNS double precision AS 'MODULE_PATHNAME', 'risk_velocity_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.velocity_value(double precision[], interval[], text, interval) IS
  'One value of a velocity pack by name: measure count, sum, avg or distinct of the window within, given the windows the pack was computed with.';
CREATE FUNCTION @extschema@.velocity_unpack(pack double precision[], windows interval[])
  RETURNS TABLE (within interval, count double precision, sum double precision, avg double precision,
                 distinct_count double precision)
  AS 'MODULE_PATHNAME', 'risk_velocity_unpack' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.velocity_unpack(double precision[], interval[]) IS
  'A velocity pack as a row per window: count, sum, avg and distinct_count by name.';

-- Running on Citus: the extension's tables as reference tables, a copy on every node
CREATE FUNCTION @extschema@.distribute_catalog() RETURNS integer
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ext oid := (SELECT e.oid FROM pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'risk');
    t regclass;
    n integer := 0;
    unsafe_triggers text;
    local_keys text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RAISE EXCEPTION 'risk.distribute_catalog() needs Citus in this database'
          USING ERRCODE = 'feature_not_supported',
                HINT = 'On one server there is nothing to distribute: every query reads the tables where they are.';
    END IF;
    IF (SELECT g.groupid FROM pg_dist_local_group g) OPERATOR(pg_catalog.<>) 0 THEN
        RAISE EXCEPTION 'risk.distribute_catalog() runs on the coordinator'
          USING ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'Connect to the coordinator and run it there: the tables are copied to every node from it.';
    END IF;
    -- the tables' triggers tell each node's caches: Citus puts them on every copy
    unsafe_triggers := current_setting('citus.enable_unsafe_triggers');
    local_keys := current_setting('citus.enable_local_reference_table_foreign_keys');
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    -- every table becomes a reference table, referenced ones first: none is left a local table
    PERFORM set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    FOR t IN
        WITH RECURSIVE tables AS (
            SELECT c.oid FROM pg_depend d JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
             WHERE d.classid OPERATOR(pg_catalog.=) 'pg_class'::regclass AND d.refobjid OPERATOR(pg_catalog.=) ext
               AND d.deptype OPERATOR(pg_catalog.=) 'e' AND c.relkind OPERATOR(pg_catalog.=) 'r'),
        depth (oid, n) AS (
            SELECT oid, 0 FROM tables
            UNION ALL
            SELECT f.conrelid, depth.n OPERATOR(pg_catalog.+) 1
              FROM depth JOIN pg_constraint f ON f.contype OPERATOR(pg_catalog.=) 'f'
               AND f.confrelid OPERATOR(pg_catalog.=) depth.oid AND f.conrelid OPERATOR(pg_catalog.<>) f.confrelid)
        SELECT depth.oid::regclass FROM depth GROUP BY depth.oid
         ORDER BY max(depth.n), depth.oid::regclass::text
    LOOP
        IF NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) t) THEN
            PERFORM create_reference_table(t);
            n := n OPERATOR(pg_catalog.+) 1;
        END IF;
    END LOOP;
    PERFORM set_config('citus.enable_unsafe_triggers', unsafe_triggers, true);
    PERFORM set_config('citus.enable_local_reference_table_foreign_keys', local_keys, true);
    RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.distribute_catalog() IS
  'On a Citus coordinator: makes the extension''s tables (models, aliases, thresholds, rules, lists, feature sets) Citus reference tables, copied to every node and written on all of them in one distributed transaction, so that scores, decisions and features computed on the workers read what the coordinator committed. Returns how many tables it distributed (0 when they already are).';
CREATE FUNCTION @extschema@.extension_dropping() RETURNS event_trigger
  AS 'MODULE_PATHNAME', 'risk_extension_dropping' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.extension_dropping() IS
  'Event trigger function: on a Citus coordinator, DROP EXTENSION risk first drops the copies of the extension''s tables on every node.';
CREATE EVENT TRIGGER risk_extension_dropping ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
  EXECUTE FUNCTION @extschema@.extension_dropping();
COMMENT ON EVENT TRIGGER risk_extension_dropping IS
  'On a Citus coordinator, DROP EXTENSION risk drops the copies of the extension''s tables on every node (risk.distribute_catalog made them): none is left behind.';

------------------------------------------------------------------------------
-- The metric aggregates' sample as a type, so that Citus splits them
------------------------------------------------------------------------------

CREATE TYPE @extschema@.metric_sample;
CREATE FUNCTION @extschema@.metric_sample_in(cstring) RETURNS @extschema@.metric_sample
  AS 'MODULE_PATHNAME', 'risk_metric_sample_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metric_sample_in(cstring) IS
  'Input of risk.metric_sample: \x and the hexadecimal of its binary form, checked in full.';
CREATE FUNCTION @extschema@.metric_sample_out(@extschema@.metric_sample) RETURNS cstring
  AS 'MODULE_PATHNAME', 'risk_metric_sample_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metric_sample_out(@extschema@.metric_sample) IS
  'Output of risk.metric_sample: \x and the hexadecimal of its binary form.';
CREATE FUNCTION @extschema@.metric_sample_recv(internal) RETURNS @extschema@.metric_sample
  AS 'MODULE_PATHNAME', 'risk_metric_sample_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metric_sample_recv(internal) IS
  'Binary input of risk.metric_sample (portable, versioned, checked in full).';
CREATE FUNCTION @extschema@.metric_sample_send(@extschema@.metric_sample) RETURNS bytea
  AS 'MODULE_PATHNAME', 'risk_metric_sample_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metric_sample_send(@extschema@.metric_sample) IS
  'Binary output of risk.metric_sample (portable, versioned: its first byte is the format version).';
CREATE TYPE @extschema@.metric_sample (
  INPUT = @extschema@.metric_sample_in,
  OUTPUT = @extschema@.metric_sample_out,
  RECEIVE = @extschema@.metric_sample_recv,
  SEND = @extschema@.metric_sample_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = extended
);
COMMENT ON TYPE @extschema@.metric_sample IS
  'The exact sample of a rank metric (scores and weights by class): the state of risk.auc, ks, gini, average_precision, lift, capture_rate, recall_at_fpr, auc_ci, psi and the curves, so that parallel workers and Citus workers compute it and the leader or the coordinator combines it.';

-- The state of the aggregates whose state is another C structure.
CREATE TYPE @extschema@.aggregate_state;
CREATE FUNCTION @extschema@.aggregate_state_in(cstring) RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_aggregate_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aggregate_state_in(cstring) IS
  'Input of risk.aggregate_state: \x and the hexadecimal of its binary form (its envelope checked here, the rest by the aggregate that reads it).';
CREATE FUNCTION @extschema@.aggregate_state_out(@extschema@.aggregate_state) RETURNS cstring
  AS 'MODULE_PATHNAME', 'risk_aggregate_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aggregate_state_out(@extschema@.aggregate_state) IS
  'Output of risk.aggregate_state: \x and the hexadecimal of its binary form.';
CREATE FUNCTION @extschema@.aggregate_state_recv(internal) RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_aggregate_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aggregate_state_recv(internal) IS
  'Binary input of risk.aggregate_state (versioned; its envelope checked here, the rest by the aggregate that reads it).';
CREATE FUNCTION @extschema@.aggregate_state_send(@extschema@.aggregate_state) RETURNS bytea
  AS 'MODULE_PATHNAME', 'risk_aggregate_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aggregate_state_send(@extschema@.aggregate_state) IS
  'Binary output of risk.aggregate_state: the envelope''s version byte, the aggregate''s kind byte, the aggregate''s own versioned bytes.';
CREATE TYPE @extschema@.aggregate_state (
  INPUT = @extschema@.aggregate_state_in,
  OUTPUT = @extschema@.aggregate_state_out,
  RECEIVE = @extschema@.aggregate_state_recv,
  SEND = @extschema@.aggregate_state_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = extended
);
COMMENT ON TYPE @extschema@.aggregate_state IS
  'The partial state of risk.auc_test, compare_scores, csi and csi_table of a category, stddev and decayed_sum, so that parallel workers and Citus workers compute it and the leader or the coordinator combines it; a state of one aggregate is refused by another.';

-- Every aggregate over the sample takes it as its state, and the
-- aggregates above risk.aggregate_state: their support functions are
-- declared again for the type (the same C functions, which serve either),
-- and the aggregate is pointed at them in place, so that what depends on it
-- (a view, a materialized view) stays.  The same block in the install and
-- the update scripts: the same result.
DO $convert$
DECLARE
    conv record;
    a record;
    f oid;
    made oid;
    fns oid[];
    news oid[];
BEGIN
    FOR conv IN
        SELECT c.serial::pg_catalog.regprocedure::oid AS serial, c.deserial::pg_catalog.regprocedure::oid AS deserial,
               c.state::pg_catalog.regtype::oid AS state
          FROM (VALUES
                ('@extschema@._metric_serialize(internal)', '@extschema@._metric_deserialize(bytea, internal)', '@extschema@.metric_sample'),
                ('@extschema@._pairs_serialize(internal)', '@extschema@._pairs_deserialize(bytea, internal)', '@extschema@.aggregate_state'),
                ('@extschema@._paired_serialize(internal)', '@extschema@._paired_deserialize(bytea, internal)', '@extschema@.aggregate_state'),
                ('@extschema@._categories_serialize(internal)', '@extschema@._categories_deserialize(bytea, internal)', '@extschema@.aggregate_state'),
                ('@extschema@._moments_serialize(internal)', '@extschema@._moments_deserialize(bytea, internal)', '@extschema@.aggregate_state'),
                ('@extschema@._decay_serialize(internal)', '@extschema@._decay_deserialize(bytea, internal)', '@extschema@.aggregate_state'))
               c(serial, deserial, state)
    LOOP
        FOR a IN SELECT g.aggfnoid, g.aggtransfn, g.aggfinalfn, g.aggcombinefn
                   FROM pg_catalog.pg_aggregate g WHERE g.aggserialfn OPERATOR(pg_catalog.=) conv.serial
                  ORDER BY g.aggfnoid
        LOOP
            fns := ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn]::oid[];
            news := '{}';
            FOREACH f IN ARRAY fns LOOP
                -- the function's twin over the state type: found, or made like it
                FOR i IN 1..2 LOOP
                    made := NULL;
                    SELECT p2.oid INTO made
                      FROM pg_catalog.pg_proc p, pg_catalog.pg_proc p2
                     WHERE p.oid OPERATOR(pg_catalog.=) f AND p2.proname OPERATOR(pg_catalog.=) p.proname
                       AND p2.pronamespace OPERATOR(pg_catalog.=) p.pronamespace
                       AND p2.proargtypes::pg_catalog.text OPERATOR(pg_catalog.=) (
                           SELECT pg_catalog.string_agg((CASE WHEN t OPERATOR(pg_catalog.=) 'internal'::pg_catalog.regtype
                                                              THEN conv.state ELSE t END)::pg_catalog.text, ' ' ORDER BY n)
                             FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, n));
                    EXIT WHEN made IS NOT NULL OR i OPERATOR(pg_catalog.=) 2;
                    EXECUTE (SELECT pg_catalog.format(
                        'CREATE FUNCTION %I.%I(%s) RETURNS %s AS %L, %L LANGUAGE C %s %s PARALLEL %s',
                        n.nspname, p.proname,
                        (SELECT pg_catalog.string_agg(pg_catalog.format_type(
                                  CASE WHEN t OPERATOR(pg_catalog.=) 'internal'::pg_catalog.regtype THEN conv.state ELSE t END, NULL),
                                  ', ' ORDER BY k)
                           FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, k)),
                        pg_catalog.format_type(CASE WHEN p.prorettype OPERATOR(pg_catalog.=) 'internal'::pg_catalog.regtype
                                                    THEN conv.state ELSE p.prorettype END, NULL),
                        p.probin, p.prosrc,
                        CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
                        CASE WHEN p.proisstrict THEN 'STRICT' ELSE 'CALLED ON NULL INPUT' END,
                        CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END)
                      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
                     WHERE p.oid OPERATOR(pg_catalog.=) f);
                END LOOP;
                IF pg_catalog.obj_description(made, 'pg_proc') IS NULL THEN
                    EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', made::pg_catalog.regprocedure,
                                              pg_catalog.obj_description(f, 'pg_proc'));
                END IF;
                news := news OPERATOR(pg_catalog.||) made;
            END LOOP;
            UPDATE pg_catalog.pg_aggregate
               SET aggtranstype = conv.state, aggtransfn = news[1], aggfinalfn = news[2], aggcombinefn = news[3],
                   aggserialfn = 0, aggdeserialfn = 0
             WHERE aggfnoid OPERATOR(pg_catalog.=) a.aggfnoid;
            FOR i IN 1..3 LOOP
                UPDATE pg_catalog.pg_depend
                   SET refobjid = news[i]
                 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                   AND objid OPERATOR(pg_catalog.=) a.aggfnoid
                   AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                   AND refobjid OPERATOR(pg_catalog.=) fns[i];
            END LOOP;
            DELETE FROM pg_catalog.pg_depend
             WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
               AND objid OPERATOR(pg_catalog.=) a.aggfnoid
               AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
               AND refobjid IN (conv.serial, conv.deserial);
        END LOOP;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_aggregate g WHERE g.aggserialfn OPERATOR(pg_catalog.=) conv.serial) THEN
            EXECUTE pg_catalog.format('DROP FUNCTION %s', conv.serial::pg_catalog.regprocedure);
            EXECUTE pg_catalog.format('DROP FUNCTION %s', conv.deserial::pg_catalog.regprocedure);
        END IF;
    END LOOP;
    -- the internal versions no aggregate uses any more (a moving aggregate's
    -- functions keep theirs: a window's moving state stays internal)
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
              WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                AND p.proargtypes[0] OPERATOR(pg_catalog.=) 'internal'::pg_catalog.regtype
                AND p.prokind OPERATOR(pg_catalog.=) 'f'
                AND EXISTS (SELECT FROM pg_catalog.pg_proc p2
                             WHERE p2.proname OPERATOR(pg_catalog.=) p.proname
                               AND p2.pronamespace OPERATOR(pg_catalog.=) p.pronamespace
                               AND p2.proargtypes[0] IN ('@extschema@.metric_sample'::pg_catalog.regtype,
                                                         '@extschema@.aggregate_state'::pg_catalog.regtype))
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_aggregate g
                                 WHERE p.oid IN (g.aggtransfn, g.aggfinalfn, g.aggcombinefn,
                                                 g.aggmtransfn, g.aggminvtransfn, g.aggmfinalfn))
              ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', f::pg_catalog.regprocedure);
    END LOOP;
END $convert$;

-- The distinct counts and velocity_state_agg declared for the key types
-- analysts use, beside the polymorphic aggregates, with their state as
-- risk.aggregate_state: Citus splits an aggregate across its workers only
-- when the aggregate's declared argument types are the call's (it fails a
-- polymorphic aggregate of a concrete state, so those keep their internal
-- state, which Citus gathers to the coordinator).  The same C functions,
-- window support included; a key of another type (numeric, an enum, ...)
-- takes the polymorphic aggregate.  smallint and "char" are declared so
-- that their keys do not find two of the others equally good (integer and
-- bigint; text and anyelement).
CREATE FUNCTION @extschema@._count_distinct_add(@extschema@.aggregate_state, anyelement) RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_count_distinct_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._count_distinct_add(@extschema@.aggregate_state, anyelement) IS
  'Internal: risk.count_distinct transition (a row enters), its state a risk.aggregate_state.';
CREATE FUNCTION @extschema@._count_distinct_final(@extschema@.aggregate_state, anyelement) RETURNS bigint
  AS 'MODULE_PATHNAME', 'risk_count_distinct_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._count_distinct_final(@extschema@.aggregate_state, anyelement) IS
  'Internal: risk.count_distinct result, of a risk.aggregate_state.';
CREATE FUNCTION @extschema@._count_distinct_combine(@extschema@.aggregate_state, @extschema@.aggregate_state)
  RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_count_distinct_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._count_distinct_combine(@extschema@.aggregate_state, @extschema@.aggregate_state) IS
  'Internal: merges two risk.count_distinct states (parallel query, Citus).';
CREATE FUNCTION @extschema@._hll_add(@extschema@.aggregate_state, anyelement) RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_hll_add' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._hll_add(@extschema@.aggregate_state, anyelement) IS
  'Internal: risk.approx_count_distinct transition (a row enters), its state a risk.aggregate_state.';
CREATE FUNCTION @extschema@._hll_final(@extschema@.aggregate_state, anyelement) RETURNS bigint
  AS 'MODULE_PATHNAME', 'risk_hll_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._hll_final(@extschema@.aggregate_state, anyelement) IS
  'Internal: risk.approx_count_distinct estimate, of a risk.aggregate_state.';
CREATE FUNCTION @extschema@._hll_combine(@extschema@.aggregate_state, @extschema@.aggregate_state)
  RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_hll_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._hll_combine(@extschema@.aggregate_state, @extschema@.aggregate_state) IS
  'Internal: merges two risk.approx_count_distinct states (parallel query, Citus).';
CREATE FUNCTION @extschema@._velocity_state_add(@extschema@.aggregate_state, timestamptz, double precision, anyelement,
                                                interval[])
  RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_velocity_state_agg_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._velocity_state_add(@extschema@.aggregate_state, timestamptz, double precision, anyelement, interval[]) IS
  'Transition function of risk.velocity_state_agg, its state a risk.aggregate_state.';
CREATE FUNCTION @extschema@._velocity_state_add(@extschema@.aggregate_state, timestamptz, double precision, anyelement,
                                                interval[], integer)
  RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_velocity_state_agg_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._velocity_state_add(@extschema@.aggregate_state, timestamptz, double precision, anyelement, interval[], integer) IS
  'Transition function of risk.velocity_state_agg with max_distinct, its state a risk.aggregate_state.';
CREATE FUNCTION @extschema@._velocity_state_final(@extschema@.aggregate_state) RETURNS @extschema@.velocity_state
  AS 'MODULE_PATHNAME', 'risk_velocity_state_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._velocity_state_final(@extschema@.aggregate_state) IS
  'Final function of risk.velocity_state_agg, of a risk.aggregate_state.';
CREATE FUNCTION @extschema@._velocity_state_combine(@extschema@.aggregate_state, @extschema@.aggregate_state)
  RETURNS @extschema@.aggregate_state
  AS 'MODULE_PATHNAME', 'risk_velocity_state_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._velocity_state_combine(@extschema@.aggregate_state, @extschema@.aggregate_state) IS
  'Combine function of risk.velocity_state_agg (merges two partial states; parallel query, Citus).';
DO $overloads$
DECLARE
    t text;
    comment text;
BEGIN
    FOREACH t IN ARRAY ARRAY['text', 'bigint', 'integer', 'smallint', 'uuid', '"char"'] LOOP
        EXECUTE pg_catalog.format($sql$
CREATE AGGREGATE @extschema@.count_distinct(%1$s) (
  SFUNC = @extschema@._count_distinct_add, STYPE = @extschema@.aggregate_state,
  FINALFUNC = @extschema@._count_distinct_final, FINALFUNC_EXTRA, COMBINEFUNC = @extschema@._count_distinct_combine,
  MSFUNC = @extschema@._count_distinct_add, MINVFUNC = @extschema@._count_distinct_remove, MSTYPE = internal,
  MFINALFUNC = @extschema@._count_distinct_final, MFINALFUNC_EXTRA, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.approx_count_distinct(%1$s) (
  SFUNC = @extschema@._hll_add, STYPE = @extschema@.aggregate_state,
  FINALFUNC = @extschema@._hll_final, FINALFUNC_EXTRA, COMBINEFUNC = @extschema@._hll_combine,
  MSFUNC = @extschema@._hll_add, MINVFUNC = @extschema@._hll_remove, MSTYPE = internal,
  MFINALFUNC = @extschema@._hll_final, MFINALFUNC_EXTRA, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.velocity_state_agg(at timestamptz, amount double precision, key %1$s, windows interval[]) (
  SFUNC = @extschema@._velocity_state_add, STYPE = @extschema@.aggregate_state,
  FINALFUNC = @extschema@._velocity_state_final, COMBINEFUNC = @extschema@._velocity_state_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.velocity_state_agg(at timestamptz, amount double precision, key %1$s, windows interval[],
                                                max_distinct integer) (
  SFUNC = @extschema@._velocity_state_add, STYPE = @extschema@.aggregate_state,
  FINALFUNC = @extschema@._velocity_state_final, COMBINEFUNC = @extschema@._velocity_state_combine, PARALLEL = SAFE)
$sql$, t);
        comment := pg_catalog.format(' Declared for %s so that Citus splits it.', t);
        EXECUTE pg_catalog.format('COMMENT ON AGGREGATE @extschema@.count_distinct(%s) IS %L', t,
            pg_catalog.obj_description('@extschema@.count_distinct(anyelement)'::pg_catalog.regprocedure, 'pg_proc')
            OPERATOR(pg_catalog.||) comment);
        EXECUTE pg_catalog.format('COMMENT ON AGGREGATE @extschema@.approx_count_distinct(%s) IS %L', t,
            pg_catalog.obj_description('@extschema@.approx_count_distinct(anyelement)'::pg_catalog.regprocedure, 'pg_proc')
            OPERATOR(pg_catalog.||) comment);
        EXECUTE pg_catalog.format('COMMENT ON AGGREGATE @extschema@.velocity_state_agg(timestamptz, double precision, %s, interval[]) IS %L', t,
            pg_catalog.obj_description('@extschema@.velocity_state_agg(timestamptz, double precision, anyelement, interval[])'::pg_catalog.regprocedure, 'pg_proc')
            OPERATOR(pg_catalog.||) comment);
        EXECUTE pg_catalog.format('COMMENT ON AGGREGATE @extschema@.velocity_state_agg(timestamptz, double precision, %s, interval[], integer) IS %L', t,
            pg_catalog.obj_description('@extschema@.velocity_state_agg(timestamptz, double precision, anyelement, interval[], integer)'::pg_catalog.regprocedure, 'pg_proc')
            OPERATOR(pg_catalog.||) comment);
    END LOOP;
END $overloads$;
