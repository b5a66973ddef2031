/*-------------------------------------------------------------------------
 * xgb_train.c
 *	  Training with libxgboost, in a child process.
 *
 * Why a child: libxgboost trains with a pool of OpenMP threads, and a
 * backend must never start threads (PostgreSQL's signal handling, its
 * error recovery and our own fork of the model reader all assume one
 * thread).  In a child the threads, libxgboost's allocations (outside
 * PostgreSQL's memory contexts) and any crash stay out of the backend:
 * the child's memory is capped with RLIMIT_AS, its death costs an ERROR,
 * and a cancel kills it at once, between rounds or inside one.  fork()
 * shares the rows the backend read (copy-on-write), so nothing is copied.
 *
 * The child calls no PostgreSQL function: only libxgboost, the pure
 * early-stopping rule of train_set.c, write() and _exit().  It reports on
 * a pipe in messages of one type byte, a length (size_t) and the payload:
 *	 'R' a round: int32 round, then libxgboost's evaluation line
 *	 'W' a warning of libxgboost
 *	 'U' parameters libxgboost does not use
 *	 'E' an error of libxgboost ("std::bad_alloc": out of memory)
 *	 'M' the model kept, as libxgboost's JSON
 *	 'P' its predictions on the validation rows (float32)
 *	 'D' the end: TrainStats
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>
#include <xgboost/c_api.h>

#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "train.h"
#include "xgb_bridge.h"

typedef struct TrainStats
{
	int32		rounds_trained;
	int32		best_round;
	double		seconds;
	int64		start_rss;
	int64		peak_rss;
} TrainStats;

struct XgbTraining
{
	pid_t		pid;			/* 0 once waited for */
	int			fd;				/* -1 once closed */
	int64		num_valid;
	StringInfoData buf;			/* bytes read, not yet returned */
	int			consumed;		/* bytes of buf returned as the last event */
	bool		done;
	MemoryContextCallback cleanup;
};

/* ---- the child ---- */

static int	child_fd = -1;
static char child_unused[4096];

static void
child_send(char type, const void *data, size_t len)
{
	if (!xgb_write_all(child_fd, &type, 1) ||
		!xgb_write_all(child_fd, (const char *) &len, sizeof(len)) ||
		!xgb_write_all(child_fd, data, len))
		_exit(1);				/* the backend is gone */
}

static void
child_fail(void)
{
	const char *msg = XGBGetLastError();

	child_send('E', msg ? msg : "", msg ? strlen(msg) : 0);
	_exit(0);
}

/*
 * libxgboost's log, in the child's main thread.  The warning of unused
 * parameters reads: Parameters: { "a", "b" } are not used.
 */
static void
child_log(const char *msg)
{
	const char *open = strstr(msg, "Parameters: {");
	const char *close = open ? strstr(open, "} are not used") : NULL;

	if (open && close)
	{
		size_t		len;

		open += strlen("Parameters: {");
		len = Min((size_t) (close - open), sizeof(child_unused) - 1);
		memcpy(child_unused, open, len);
		child_unused[len] = '\0';
		return;
	}
	child_send('W', msg, strlen(msg));
}

static int64
resident_bytes(pid_t pid)
{
	char		path[64];
	char		buf[128];
	int			fd;
	ssize_t		n;
	unsigned long long size,
				resident;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int) pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (int64) resident * (int64) sysconf(_SC_PAGESIZE);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static DMatrixHandle
child_matrix(const XgbTrainSpec *s, int64 from, int64 n)
{
	DMatrixHandle h;
	char		array[200];
	char		config[100];

	snprintf(array, sizeof(array),
			 "{\"data\": [%lu, true], \"shape\": [%lld, %d], \"typestr\": \"<f4\", \"version\": 3}",
			 (unsigned long) (uintptr_t) (s->x + from * s->num_features), (long long) n, s->num_features);
	snprintf(config, sizeof(config), "{\"missing\": NaN, \"nthread\": %d}", s->threads);
	if (XGDMatrixCreateFromDense(array, config, &h) != 0 ||
		XGDMatrixSetFloatInfo(h, "label", s->label + from, (bst_ulong) n) != 0 ||
		(s->weight && XGDMatrixSetFloatInfo(h, "weight", s->weight + from, (bst_ulong) n) != 0) ||
		XGDMatrixSetStrFeatureInfo(h, "feature_name", (const char **) s->feature_names,
								   (bst_ulong) s->num_features) != 0 ||
		(s->feature_types &&
		 XGDMatrixSetStrFeatureInfo(h, "feature_type", (const char **) s->feature_types,
									(bst_ulong) s->num_features) != 0))
		child_fail();
	return h;
}

static void
child_train(const XgbTrainSpec *s)
{
	int			sigs[] = {SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE};
	double		started = now_seconds();
	TrainStats	stats = {0};
	DMatrixHandle dtrain,
				dvalid = NULL;
	DMatrixHandle cache[2];
	DMatrixHandle evals[1];
	const char *eval_names[1];
	BoosterHandle booster;
	BoosterHandle kept;
	EarlyStop	stop;
	bst_ulong	len;
	const char *out;

	for (int i = 0; i < lengthof(sigs); i++)
		signal(sigs[i], SIG_DFL);
	stats.start_rss = resident_bytes(getpid());
	if (s->memory_limit > 0)
	{
		struct rlimit rl;

		rl.rlim_cur = rl.rlim_max = xgb_address_space_in_use() + s->memory_limit;
		setrlimit(RLIMIT_AS, &rl);
	}
	omp_set_num_threads(s->threads);
	XGBSetGlobalConfig("{\"verbosity\": 1}");
	XGBRegisterLogCallback(child_log);

	dtrain = child_matrix(s, 0, s->num_train);
	cache[0] = dtrain;
	if (s->num_valid > 0)
		cache[1] = dvalid = child_matrix(s, s->num_train, s->num_valid);
	evals[0] = dvalid ? dvalid : dtrain;
	eval_names[0] = dvalid ? "valid" : "train";

	/* as python3-xgboost's Booster(): the booster takes the training data's feature names and types */
	if (XGBoosterCreate(cache, dvalid ? 2 : 1, &booster) != 0 ||
		XGBoosterSetStrFeatureInfo(booster, "feature_name", (const char **) s->feature_names,
								   (bst_ulong) s->num_features) != 0 ||
		(s->feature_types &&
		 XGBoosterSetStrFeatureInfo(booster, "feature_type", (const char **) s->feature_types,
									(bst_ulong) s->num_features) != 0))
		child_fail();
	for (int i = 0; i < s->num_params; i++)
		if (XGBoosterSetParam(booster, s->param_keys[i], s->param_values[i]) != 0)
			child_fail();
	/* configuring reports the parameters libxgboost does not use */
	if (XGBoosterSaveJsonConfig(booster, &len, &out) != 0)
		child_fail();
	if (child_unused[0] != '\0')
	{
		child_send('U', child_unused, strlen(child_unused));
		_exit(0);
	}

	for (int round = 0; round < s->rounds; round++)
	{
		const char *line;
		int32		r = round;
		char		msg[8192];
		size_t		n;

		if (XGBoosterUpdateOneIter(booster, round, dtrain) != 0 ||
			XGBoosterEvalOneIter(booster, round, evals, eval_names, 1, &line) != 0)
			child_fail();
		n = Min(strlen(line), sizeof(msg) - sizeof(r) - 1);
		memcpy(msg, &r, sizeof(r));
		memcpy(msg + sizeof(r), line, n);
		child_send('R', msg, sizeof(r) + n);
		stats.rounds_trained = round + 1;
		stats.best_round = round;

		if (s->early_stopping_rounds > 0)
		{
			char		name[256];
			double		value = NAN;
			int			last = 0;

			while (eval_line_entry(line, last + 1, name, sizeof(name), &value))
				last++;
			if (!eval_line_entry(line, last, name, sizeof(name), &value))
				break;
			if (round == 0)
			{
				const char *dash = strchr(name, '-');

				early_stop_init(&stop, s->early_stopping_rounds, dash ? dash + 1 : name);
			}
			if (early_stop_update(&stop, round, value))
			{
				stats.best_round = stop.best_round;
				break;
			}
			stats.best_round = stop.best_round;
		}
	}

	kept = booster;
	if (stats.best_round + 1 < stats.rounds_trained &&
		XGBoosterSlice(booster, 0, stats.best_round + 1, 1, &kept) != 0)
		child_fail();
	/* what python3-xgboost's train() leaves on every model it returns */
	{
		char		best[32];
		char		limit[32];

		snprintf(best, sizeof(best), "%d", stats.best_round);
		snprintf(limit, sizeof(limit), "%d", (stats.best_round + 1) * s->trees_per_round);
		if (XGBoosterSetAttr(kept, "best_iteration", best) != 0 ||
			XGBoosterSetAttr(kept, "best_ntree_limit", limit) != 0)
			child_fail();
	}
	if (XGBoosterSaveModelToBuffer(kept, "{\"format\": \"json\"}", &len, &out) != 0)
		child_fail();
	child_send('M', out, len);
	if (dvalid)
	{
		const bst_ulong *shape;
		bst_ulong	dim;
		const float *pred;
		bst_ulong	total = 1;

		if (XGBoosterPredictFromDMatrix(kept, dvalid,
										"{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
										"\"iteration_end\": 0, \"strict_shape\": false}",
										&shape, &dim, &pred) != 0)
			child_fail();
		for (bst_ulong i = 0; i < dim; i++)
			total *= shape[i];
		/* one score per row (binary and regression objectives); none for multi-class */
		if (total == (bst_ulong) s->num_valid)
			child_send('P', pred, sizeof(float) * total);
	}
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		stats.peak_rss = (int64) ru.ru_maxrss * 1024;
	}
	stats.seconds = now_seconds() - started;
	child_send('D', &stats, sizeof(stats));
	_exit(0);
}

/* ---- the backend ---- */

static void
training_cleanup(void *arg)
{
	XgbTraining *t = (XgbTraining *) arg;

	if (t->pid > 0)
		xgb_stop_child(t->pid);
	t->pid = 0;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

XgbTraining *
xgb_train_start(const XgbTrainSpec *spec)
{
	XgbTraining *t = palloc0(sizeof(XgbTraining));
	int			fds[2];
	pid_t		pid;

	t->fd = -1;
	t->num_valid = spec->num_valid;
	initStringInfo(&t->buf);
	pid = xgb_fork_with_pipe(fds, "train the model");
	if (pid == 0)
	{
		child_fd = fds[1];
		child_train(spec);
		_exit(1);
	}
	t->pid = pid;
	t->fd = fds[0];
	t->cleanup.func = training_cleanup;
	t->cleanup.arg = t;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &t->cleanup);
	return t;
}

int64
xgb_train_rss(XgbTraining *t)
{
	return t->pid > 0 ? resident_bytes(t->pid) : 0;
}

/* The child's end after its pipe closed; errors unless it exited cleanly. */
static void
wait_child(XgbTraining *t)
{
	int			status;
	pid_t		pid = t->pid;

	t->pid = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not wait for the training process: %m")));
	if (WIFSIGNALED(status))
		ereport(ERROR,
				(errcode(WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGABRT
						 ? ERRCODE_OUT_OF_MEMORY : ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("the training process of libxgboost died (%s)", pg_strsignal(WTERMSIG(status))),
				 errdetail("Nothing was registered."),
				 errhint("A process that reaches risk.train_memory_limit dies so: train on fewer rows or "
						 "features, lower max_bin or nthread, or raise the limit.")));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("the training process of libxgboost stopped without an answer"),
				 errdetail("Nothing was registered.")));
}

/* Reads until buf holds a whole message; false at the end of the pipe. */
static bool
read_message(XgbTraining *t, char *type, char **payload, size_t *len)
{
	const size_t head = 1 + sizeof(size_t);

	/* drop what the last event returned */
	if (t->consumed > 0)
	{
		memmove(t->buf.data, t->buf.data + t->consumed, t->buf.len - t->consumed);
		t->buf.len -= t->consumed;
		t->consumed = 0;
	}
	for (;;)
	{
		struct pollfd pfd = {.fd = t->fd,.events = POLLIN};
		ssize_t		n;
		int			rc;

		if ((size_t) t->buf.len >= head)
		{
			size_t		want;

			memcpy(&want, t->buf.data + 1, sizeof(size_t));
			if (want > MaxAllocSize - head - 65536 - 2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the trained model is too large"),
						 errdetail("A message of the trainer has %zu bytes; 1 GB can be kept.", want)));
			if ((size_t) t->buf.len >= head + want)
			{
				*type = t->buf.data[0];
				*payload = t->buf.data + head;
				*len = want;
				t->consumed = (int) (head + want);
				return true;
			}
		}
		CHECK_FOR_INTERRUPTS();
		rc = poll(&pfd, 1, 100);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		enlargeStringInfo(&t->buf, 65536);
		n = read(t->fd, t->buf.data + t->buf.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		t->buf.len += n;
		t->buf.data[t->buf.len] = '\0';
	}
}

static char *
payload_string(const char *p, size_t len)
{
	return pnstrdup(p, len);
}

void
xgb_train_next(XgbTraining *t, XgbTrainEvent *ev)
{
	memset(ev, 0, sizeof(*ev));
	for (;;)
	{
		char		type;
		char	   *p;
		size_t		len;

		if (!read_message(t, &type, &p, &len))
		{
			close(t->fd);
			t->fd = -1;
			wait_child(t);
			if (!t->done)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("the training process of libxgboost stopped without an answer"),
						 errdetail("Nothing was registered.")));
			elog(ERROR, "the trainer was read past its end");
		}
		switch (type)
		{
			case 'R':
				if (len < sizeof(int32))
					elog(ERROR, "a damaged message of the trainer");
				ev->kind = XGB_TRAIN_ROUND;
				memcpy(&ev->round, p, sizeof(int32));
				ev->text = payload_string(p + sizeof(int32), len - sizeof(int32));
				return;
			case 'W':
				ev->kind = XGB_TRAIN_WARNING;
				ev->text = xgb_clean_message(payload_string(p, len));
				return;
			case 'U':
				while (len > 0 && p[0] == ' ')
					p++, len--;
				while (len > 0 && p[len - 1] == ' ')
					len--;
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("libxgboost does not use the parameter%s %s",
								strchr(payload_string(p, len), ',') ? "s" : "",
								payload_string(p, len)),
						 errdetail("Nothing was registered."),
						 errhint("Check the names in params against libxgboost's parameters "
								 "(https://xgboost.readthedocs.io/en/release_1.7.0/parameter.html); "
								 "some apply only to another booster or tree_method.")));
				break;
			case 'E':
				{
					char	   *msg = payload_string(p, len);
					bool		oom = strstr(msg, "bad_alloc") != NULL;

					ereport(ERROR,
							(errcode(oom ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg(oom ? "training ran out of memory (risk.train_memory_limit)"
									: "libxgboost could not train the model"),
							 errdetail("libxgboost: %s Nothing was registered.", xgb_clean_message(msg))));
				}
				break;
			case 'M':
				ev->model = palloc_extended(len + 1, MCXT_ALLOC_HUGE);
				memcpy(ev->model, p, len);
				ev->model[len] = '\0';
				ev->model_len = len;
				break;
			case 'P':
				if (len != sizeof(float) * t->num_valid)
					elog(ERROR, "the trainer sent %zu bytes of predictions for %lld rows",
						 len, (long long) t->num_valid);
				ev->valid_predictions = palloc_extended(Max(len, 1), MCXT_ALLOC_HUGE);
				memcpy(ev->valid_predictions, p, len);
				break;
			case 'D':
				{
					TrainStats st;

					if (len != sizeof(st) || ev->model == NULL)
						elog(ERROR, "a damaged message of the trainer");
					memcpy(&st, p, sizeof(st));
					ev->kind = XGB_TRAIN_DONE;
					ev->rounds_trained = st.rounds_trained;
					ev->best_round = st.best_round;
					ev->seconds = st.seconds;
					ev->start_rss = st.start_rss;
					ev->peak_rss = st.peak_rss;
					t->done = true;
					/* the child exits now; reap it */
					close(t->fd);
					t->fd = -1;
					wait_child(t);
					return;
				}
			default:
				elog(ERROR, "an unknown message of the trainer (%d)", (int) type);
		}
	}
}
