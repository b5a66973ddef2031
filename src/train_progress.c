/*-------------------------------------------------------------------------
 * train_progress.c
 *	  The progress of each running risk.train, for every session to read
 *	  (risk.training_progress).
 *
 * The extension needs no shared_preload_libraries, so it has no shared
 * memory of its own: each training writes its progress to a small file,
 * pg_stat_tmp/risk_train.<pid>, replaced whole (written aside, renamed) at
 * each step, so a reader sees one step or the next, never half of one.
 * The file goes when the training ends, fails or is cancelled (a reset
 * callback of the training's memory); a file whose backend is gone (after
 * a crash) is skipped and removed by the reader.  pg_stat_tmp is the
 * directory PostgreSQL keeps for such transient files: base backups leave
 * its contents out.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "train_progress.h"

#define PROGRESS_VERSION 1
#define PROGRESS_PREFIX "risk_train."

typedef struct ProgressFile
{
	uint8		version;
	int32		pid;
	Oid			userid;
	char		model[64];
	char		phase[16];
	int64		rows;
	int32		round;
	int32		rounds;
	int32		best_round;
	char		metric[64];
	double		value;
	double		best_value;
	int64		memory;
	TimestampTz started;
	TimestampTz updated;
} ProgressFile;

static ProgressFile current;
static bool active;
static MemoryContextCallback end_cb;

static void
progress_path(char *path, size_t size, int pid, bool temp)
{
	snprintf(path, size, "%s/" PROGRESS_PREFIX "%d%s", PG_STAT_TMP_DIR, pid, temp ? ".tmp" : "");
}

/* Writes the file; a failure only costs the view this step (a WARNING-free no-op). */
static void
progress_write(void)
{
	char		path[MAXPGPATH];
	char		temp[MAXPGPATH];
	int			fd;
	bool		ok;

	current.updated = GetCurrentTimestamp();
	progress_path(path, sizeof(path), MyProcPid, false);
	progress_path(temp, sizeof(temp), MyProcPid, true);
	fd = OpenTransientFile(temp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		return;
	ok = write(fd, &current, sizeof(current)) == sizeof(current);
	CloseTransientFile(fd);
	if (ok)
		(void) rename(temp, path);
	else
		(void) unlink(temp);
}

static void
progress_end(void *arg)
{
	char		path[MAXPGPATH];

	if (!active)
		return;
	active = false;
	progress_path(path, sizeof(path), MyProcPid, false);
	(void) unlink(path);
}

void
train_progress_begin(const char *model)
{
	memset(&current, 0, sizeof(current));
	current.version = PROGRESS_VERSION;
	current.pid = MyProcPid;
	current.userid = GetUserId();
	strlcpy(current.model, model, sizeof(current.model));
	strlcpy(current.phase, "reading", sizeof(current.phase));
	current.best_round = -1;
	current.started = GetCurrentTimestamp();
	active = true;
	end_cb.func = progress_end;
	end_cb.arg = NULL;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &end_cb);
	progress_write();
}

void
train_progress_rows(const char *phase, int64 rows, int64 memory)
{
	strlcpy(current.phase, phase, sizeof(current.phase));
	current.rows = rows;
	current.memory = memory;
	progress_write();
}

void
train_progress_round(int round, int rounds, const char *metric, double value,
					 int best_round, double best_value, int64 memory)
{
	strlcpy(current.phase, "training", sizeof(current.phase));
	current.round = round;
	current.rounds = rounds;
	strlcpy(current.metric, metric, sizeof(current.metric));
	current.value = value;
	current.best_round = best_round;
	current.best_value = best_value;
	current.memory = memory;
	progress_write();
}

void
train_progress_phase(const char *phase)
{
	strlcpy(current.phase, phase, sizeof(current.phase));
	progress_write();
}

/* ---- risk.training_progress() ---- */

PG_FUNCTION_INFO_V1(risk_training_progress);

Datum
risk_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DIR		   *dir;
	struct dirent *de;

	InitMaterializedSRF(fcinfo, 0);
	dir = AllocateDir(PG_STAT_TMP_DIR);
	while ((de = ReadDir(dir, PG_STAT_TMP_DIR)) != NULL)
	{
		char		path[MAXPGPATH];
		ProgressFile p;
		int			fd;
		int			pid;
		char		tail;
		PGPROC	   *proc;
		Datum		values[13];
		bool		nulls[13];

		if (sscanf(de->d_name, PROGRESS_PREFIX "%d%c", &pid, &tail) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", PG_STAT_TMP_DIR, de->d_name);
		fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
		if (fd < 0)
			continue;
		if (read(fd, &p, sizeof(p)) != sizeof(p) || p.version != PROGRESS_VERSION || p.pid != pid)
		{
			CloseTransientFile(fd);
			continue;
		}
		CloseTransientFile(fd);
		proc = BackendPidGetProc(pid);
		if (proc == NULL)
		{
			/* its backend is gone: a crash left the file */
			(void) unlink(path);
			continue;
		}
		/* as pg_stat_activity: a role sees its own trainings, pg_read_all_stats all */
		if (!has_privs_of_role(GetUserId(), p.userid) &&
			!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
			continue;
		p.model[sizeof(p.model) - 1] = '\0';
		p.phase[sizeof(p.phase) - 1] = '\0';
		p.metric[sizeof(p.metric) - 1] = '\0';
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(pid);
		values[1] = CStringGetTextDatum(p.model);
		values[2] = CStringGetTextDatum(p.phase);
		values[3] = Int64GetDatum(p.rows);
		values[4] = Int32GetDatum(p.round);
		nulls[4] = p.rounds == 0;
		values[5] = Int32GetDatum(p.rounds);
		nulls[5] = p.rounds == 0;
		values[6] = CStringGetTextDatum(p.metric);
		nulls[6] = p.metric[0] == '\0';
		values[7] = Float8GetDatum(p.value);
		nulls[7] = p.rounds == 0;
		values[8] = Int32GetDatum(p.best_round);
		nulls[8] = p.best_round <= 0;
		values[9] = Float8GetDatum(p.best_value);
		nulls[9] = p.best_round <= 0;
		values[10] = Int64GetDatum(p.memory);
		values[11] = TimestampTzGetDatum(p.started);
		values[12] = TimestampTzGetDatum(p.updated);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	FreeDir(dir);
	return (Datum) 0;
}
