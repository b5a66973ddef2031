# risk: PGXS build, plus the two commands a new user needs (make demo, make test)
# and the benchmark (make bench).  See README.md.

EXTENSION   = risk
EXTVERSION  = 0.2.0
MODULE_big  = risk
OBJS        = src/risk.o src/xgb_bridge.o src/model_json.o src/forest.o \
              src/registry.o src/model_cache.o src/feature_array.o src/score.o \
              src/velocity_distinct.o src/velocity_hll.o src/velocity_moments.o \
              src/velocity_pack.o src/velocity_names.o src/velocity_windows.o src/velocity_state.o src/velocity_store.o \
              src/feature_state.o src/feature_set.o src/feature_set_declare.o \
              src/agg_state.o src/metrics_sample.o src/metrics_state.o src/metrics_rank.o src/metrics_threshold.o src/metrics_loss.o \
              src/metrics_curve.o src/metrics_summary.o \
              src/metrics_drift.o src/metrics_compare.o src/synthetic.o \
              src/forest_explain.o src/forest_importance.o src/catalog.o src/catalog_citus.o src/lists.o src/rules_policy.o src/rules_compile.o \
              src/rules_eval.o src/rules_catalog.o src/decision.o src/rules_sql.o src/backtest.o src/rules_stats.o src/trigger.o \
              src/bucket.o src/train_set.o src/xgb_train.o src/train_progress.o src/train.o src/model_alias.o src/metrics_paired.o src/model_drift.o
DATA        = sql/risk--0.1.0.sql sql/risk--$(EXTVERSION).sql sql/risk--0.1.0--$(EXTVERSION).sql
PGFILEDESC  = "risk - risk-control engine for PostgreSQL"

# Regression tests, in the order they run (sql/NAME.sql, expected/NAME.out).
REGRESS     = setup parity explain score trigger rules backtest registry readme errors cache privileges hostile limits \
              dump_restore upgrade velocity velocity_online velocity_store feature_set metrics metric_summary metric_compare bucket train deploy experiment synthetic marketplace walkthrough concurrency rules_concurrency
# the distributed suite, on a coordinator and two workers (make test-citus)
CITUS_REGRESS = citus_registry citus_trigger citus_metrics citus_velocity citus_feature_set citus_train citus_drop citus_upgrade

PG_CPPFLAGS = -I$(srcdir)/include
# Bit-exact float32 arithmetic with libxgboost: no fused multiply-add.
PG_CFLAGS   = -ffp-contract=off
ifdef CI
PG_CFLAGS  += -Werror
endif
SHLIB_LINK  = -lxgboost -lgomp

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

# every object is rebuilt when a header changes (PGXS does not track them)
$(OBJS): $(wildcard include/*.h)

.PHONY: deps test test-citus demo bench bench-citus fuzz test-asan soak

# Debian packages the build, the tests and the demo need (installed when missing).
deps:
	@.ci/deps

# Build, install, start a throwaway cluster, run every regression test, stop it.
test: deps
	$(MAKE) all
	$(MAKE) install
	RISK_TESTS="$(REGRESS)" RISK_FUZZ_SECONDS=$${RISK_FUZZ_SECONDS:-10} .ci/regress

# The distributed suite on a throwaway Citus cluster: a coordinator and two
# workers on loopback; Citus is built from ../shared/vendor/citus when it is
# not installed, and the suite is skipped when neither is there.
test-citus: deps
	$(MAKE) all
	$(MAKE) install
	RISK_CITUS_TESTS="$(CITUS_REGRESS)" .ci/citus_regress

demo: deps
	$(MAKE) all
	$(MAKE) install
	.ci/demo

bench: deps
	$(MAKE) all
	$(MAKE) install
	bench/run

# risk on a throwaway 3-node Citus cluster against one node (bench/citus).
bench-citus: deps
	$(MAKE) all
	$(MAKE) install
	bench/citus

# The libFuzzer harnesses over the model reader and compiler and the readers
# of the stored types (fuzz/README.md): FUZZ_SECONDS per harness, default
# 900 (an hour in all).  make test runs them for 10 seconds each.
fuzz: deps
	fuzz/run

# The whole suite against an UndefinedBehaviorSanitizer build of the
# extension (AddressSanitizer too with RISK_ASAN=1, see .ci/asan); the normal
# build is installed after.
test-asan: deps
	RISK_TESTS="$(REGRESS)" .ci/asan

# Sixteen clients insert through the scoring trigger for ten minutes while new
# versions of the model are imported (bench/soak: SOAK_SECONDS, SOAK_CLIENTS).
soak: deps
	$(MAKE) all
	$(MAKE) install
	bench/soak
