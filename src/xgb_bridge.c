/*-------------------------------------------------------------------------
 * xgb_bridge.c
 *	  Everything that calls libxgboost.
 *
 * libxgboost catches its own C++ exceptions and returns -1 with a message
 * in XGBGetLastError(); we turn that into an ereport after the call has
 * returned, never from inside C++ code.  A booster handle is owned by a
 * PostgreSQL memory context: a reset callback frees it, so an error between
 * creating and using a booster leaks nothing.
 *
 * Bytes from users never reach libxgboost in the backend: its readers crash
 * (SIGSEGV) or hang on some damaged JSON, UBJSON and binary models.  A
 * forked child reads them and writes back libxgboost's own JSON; a child
 * that crashes, hangs or is cancelled costs an ERROR, never the server.  In
 * the backend, libxgboost only ever reads JSON that libxgboost wrote.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
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

#include "xgb_bridge.h"

struct XgbBooster
{
	BoosterHandle handle;
	DMatrixHandle proxy;		/* reused by every in-place prediction */
	MemoryContextCallback free_cb;
};

/* Longest a child may take to read a model, in seconds. */
#define CHILD_TIMEOUT	300

/*
 * libxgboost quotes bytes of the model in its messages: anything but
 * printable ASCII becomes \xNN, valid in every server and client encoding.
 */
static char *
printable(const char *s, size_t len)
{
	StringInfoData out;

	initStringInfo(&out);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7F)
			appendStringInfoChar(&out, (char) c);
		else
			appendStringInfo(&out, "\\x%02x", c);
	}
	return out.data;
}

/*
 * libxgboost messages start with "[hh:mm:ss] /path/file.cc:123: " and may
 * carry a stack trace; keep the first line without the prefix.
 */
char *
xgb_clean_message(const char *msg)
{
	const char *p = msg;
	const char *end;

	if (msg == NULL || *msg == '\0')
		return pstrdup("unknown libxgboost error");
	if (*p == '[')
	{
		const char *close = strchr(p, ']');

		if (close)
			p = close + 1;
		while (*p == ' ')
			p++;
		/* skip "file.cc:123: " */
		{
			const char *colon = strstr(p, ": ");

			if (colon && colon - p < 200 && memchr(p, ' ', colon - p) == NULL)
				p = colon + 2;
		}
	}
	end = strchr(p, '\n');
	if (end == NULL)
		end = p + strlen(p);
	return printable(p, end - p);
}

static char *
last_error(void)
{
	return xgb_clean_message(XGBGetLastError());
}

static void
check(int rc, const char *what)
{
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("libxgboost failed to %s", what),
				 errdetail("%s", last_error())));
}

void
xgb_init(void)
{
	/*
	 * One thread: a backend must never start OpenMP workers.  Besides
	 * competing with other backends for the CPUs, a process with a thread
	 * pool cannot safely fork, and xgb_read_model forks.
	 */
	omp_set_num_threads(1);
	/* silence libxgboost's own logging; errors reach us as return codes */
	check(XGBSetGlobalConfig("{\"verbosity\": 0}"), "set its global configuration");
}

char *
xgb_version_string(void)
{
	int			major,
				minor,
				patch;

	XGBoostVersion(&major, &minor, &patch);
	return psprintf("%d.%d.%d", major, minor, patch);
}

ModelFormat
xgb_detect_format(const char *bytes, size_t len)
{
	size_t		i = 1;

	/* libxgboost's own rule: '{' then '"' is JSON, '{' then anything else UBJSON */
	if (len < 2 || bytes[0] != '{')
		return FORMAT_BINARY;
	while (i < len && (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t'))
		i++;
	if (i < len && (bytes[i] == '"' || bytes[i] == '}'))
		return FORMAT_JSON;
	return FORMAT_UBJSON;
}

const char *
xgb_format_name(ModelFormat format)
{
	switch (format)
	{
		case FORMAT_JSON:
			return "json";
		case FORMAT_UBJSON:
			return "ubjson";
		case FORMAT_BINARY:
			return "binary";
	}
	return "unknown";
}

static void
booster_free(void *arg)
{
	XgbBooster *booster = (XgbBooster *) arg;

	if (booster->proxy)
		XGDMatrixFree(booster->proxy);
	if (booster->handle)
		XGBoosterFree(booster->handle);
	booster->proxy = NULL;
	booster->handle = NULL;
}

/* A booster from JSON that libxgboost wrote (see xgb_read_model). */
XgbBooster *
xgb_load(const char *bytes, size_t len)
{
	XgbBooster *booster = palloc0(sizeof(XgbBooster));
	int			rc;

	booster->free_cb.func = booster_free;
	booster->free_cb.arg = booster;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &booster->free_cb);

	check(XGBoosterCreate(NULL, 0, &booster->handle), "create a booster");
	rc = XGBoosterLoadModelFromBuffer(booster->handle, bytes, (bst_ulong) len);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read XGBoost model"),
				 errdetail("libxgboost: %s", last_error()),
				 errhint("Pass the bytes of a model saved by XGBoost as JSON, UBJSON or its binary format.")));
	check(XGBoosterSetParam(booster->handle, "nthread", "1"), "set nthread");
	return booster;
}

/* The proxy DMatrix in-place prediction passes, made on first use. */
static DMatrixHandle
booster_proxy(XgbBooster *booster)
{
	if (booster->proxy == NULL)
		check(XGProxyDMatrixCreate(&booster->proxy), "create a proxy DMatrix");
	return booster->proxy;
}

bool
xgb_write_all(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= n;
	}
	return true;
}

/* The child's mapped address space now, from /proc/self/statm (0 if unknown). */
size_t
xgb_address_space_in_use(void)
{
	char		buf[64];
	int			fd = open("/proc/self/statm", O_RDONLY);
	ssize_t		n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t) strtoull(buf, NULL, 10) * (size_t) sysconf(_SC_PAGESIZE);
}

/*
 * In the child: no PostgreSQL calls at all, only libxgboost, write() and
 * _exit().  Sends 'J' and the JSON, or 'E' and libxgboost's message.
 */
static void
child_read_model(int fd, const char *bytes, size_t len)
{
	int			sigs[] = {SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE};
	BoosterHandle h;
	BoosterHandle again;
	bst_ulong	out_len;
	const char *out;
	struct rlimit rl;

	for (int i = 0; i < lengthof(sigs); i++)
		signal(sigs[i], SIG_DFL);
	alarm(CHILD_TIMEOUT);
	/*
	 * A damaged size field must not make the machine swap: the child may map
	 * this much more than it inherited (shared_buffers counts in RLIMIT_AS).
	 */
	rl.rlim_cur = rl.rlim_max = xgb_address_space_in_use() +
		(rlim_t) 1024 * 1024 * 1024 + (rlim_t) len * 64;
	setrlimit(RLIMIT_AS, &rl);

	/*
	 * The JSON must read back: libxgboost writes some damaged models (a
	 * negative size_leaf_vector, say) that it then refuses to read, and the
	 * backend's own copy (xgb_load) is made from this JSON.
	 */
	if (XGBoosterCreate(NULL, 0, &h) != 0 ||
		XGBoosterLoadModelFromBuffer(h, bytes, (bst_ulong) len) != 0 ||
		XGBoosterSaveModelToBuffer(h, "{\"format\": \"json\"}", &out_len, &out) != 0 ||
		XGBoosterCreate(NULL, 0, &again) != 0 ||
		XGBoosterLoadModelFromBuffer(again, out, out_len) != 0)
	{
		const char *msg = XGBGetLastError();

		if (xgb_write_all(fd, "E", 1) && msg)
			xgb_write_all(fd, msg, strlen(msg));
		_exit(0);
	}
	if (xgb_write_all(fd, "J", 1))
		xgb_write_all(fd, out, out_len);
	_exit(0);
}

void
xgb_stop_child(pid_t pid)
{
	int			status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* In the parent: everything the child wrote, until it closes the pipe. */
static void
read_from_child(int fd, StringInfo buf)
{
	time_t		deadline = time(NULL) + CHILD_TIMEOUT;

	for (;;)
	{
		struct pollfd pfd = {.fd = fd,.events = POLLIN};
		int			rc = poll(&pfd, 1, 100);
		ssize_t		n;

		/* on any error the caller stops the child */
		CHECK_FOR_INTERRUPTS();
		if (time(NULL) > deadline)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("reading the XGBoost model took more than %d seconds", CHILD_TIMEOUT)));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		if (buf->len > MaxAllocSize - 65536 - 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("XGBoost model is too large"),
					 errdetail("Its JSON form exceeds 1 GB.")));
		enlargeStringInfo(buf, 65536);
		n = read(fd, buf->data + buf->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf->len += n;
		buf->data[buf->len] = '\0';
	}
}

/*
 * Forks a child joined to us by a pipe: the child (0 returned) writes
 * fds[1], the parent (the child's pid returned) reads fds[0]; each end's
 * other side is closed.  Errors name what the child was for.
 */
pid_t
xgb_fork_with_pipe(int fds[2], const char *what)
{
	pid_t		pid;

	if (pipe(fds) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not create a pipe: %m")));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		close(fds[0]);
		close(fds[1]);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not fork a process to %s: %m", what)));
	}
	close(pid == 0 ? fds[0] : fds[1]);
	return pid;
}

char *
xgb_read_model(const char *bytes, size_t len, size_t *json_len)
{
	int			fds[2];
	pid_t		pid;
	int			status;
	StringInfoData buf;

	pid = xgb_fork_with_pipe(fds, "read the model");
	if (pid == 0)
		child_read_model(fds[1], bytes, len);

	initStringInfo(&buf);
	PG_TRY();
	{
		read_from_child(fds[0], &buf);
	}
	PG_CATCH();
	{
		xgb_stop_child(pid);
		close(fds[0]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not wait for the model reader: %m")));
	}

	if (WIFSIGNALED(status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read XGBoost model"),
				 errdetail("libxgboost failed on these bytes (%s); they are damaged or not an XGBoost model.",
						   pg_strsignal(WTERMSIG(status))),
				 errhint("Pass the bytes of a model saved by XGBoost as JSON, UBJSON or its binary format.")));
	if (buf.len == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		(buf.data[0] != 'J' && buf.data[0] != 'E'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read XGBoost model"),
				 errdetail("The model reader stopped without an answer."),
				 errhint("Pass the bytes of a model saved by XGBoost as JSON, UBJSON or its binary format.")));
	if (buf.data[0] == 'E')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read XGBoost model"),
				 errdetail("libxgboost: %s", xgb_clean_message(buf.data + 1)),
				 errhint("Pass the bytes of a model saved by XGBoost as JSON, UBJSON or its binary format.")));
	*json_len = buf.len - 1;
	return buf.data + 1;
}

char *
xgb_save_json(XgbBooster *booster, size_t *len)
{
	bst_ulong	out_len;
	const char *out;
	char	   *copy;

	check(XGBoosterSaveModelToBuffer(booster->handle, "{\"format\": \"json\"}", &out_len, &out),
		  "write the model as JSON");
	/* the buffer belongs to the booster: copy it before the next call */
	copy = palloc_extended(out_len + 1, MCXT_ALLOC_HUGE);
	memcpy(copy, out, out_len);
	copy[out_len] = '\0';
	*len = out_len;
	return copy;
}

/*
 * libxgboost's in-place prediction of one dense float32 row; returns the
 * number of outputs copied to out (at most max_out).
 */
int
xgb_predict_row(XgbBooster *booster, const float *row, int num_features,
				bool margin, float *out, int max_out)
{
	char		array[160];
	char		config[200];
	const bst_ulong *shape;
	bst_ulong	dim;
	const float *result;
	bst_ulong	n = 1;

	snprintf(array, sizeof(array),
			 "{\"data\": [%lu, true], \"shape\": [1, %d], \"typestr\": \"<f4\", \"version\": 3}",
			 (unsigned long) (uintptr_t) row, num_features);
	snprintf(config, sizeof(config),
			 "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
			 "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}",
			 margin ? 1 : 0);
	check(XGBoosterPredictFromDense(booster->handle, array, config, booster_proxy(booster),
									&shape, &dim, &result),
		  "predict");
	for (bst_ulong i = 0; i < dim; i++)
		n *= shape[i];
	if (n > (bst_ulong) max_out)
		n = max_out;
	memcpy(out, result, n * sizeof(float));
	return (int) n;
}
