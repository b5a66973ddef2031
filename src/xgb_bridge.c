/*-------------------------------------------------------------------------
 * xgb_bridge.c
 *	  Everything that calls libxgboost.
 *
 * libxgboost catches its own C++ exceptions and returns -1 with a message
 * in XGBGetLastError(); we turn that into an ereport after the call has
 * returned, never from inside C++ code.  A booster handle is owned by a
 * PostgreSQL memory context: a reset callback frees it, so an error between
 * creating and using a booster leaks nothing.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <xgboost/c_api.h>

#include "utils/memutils.h"

#include "xgb_bridge.h"

struct XgbBooster
{
	BoosterHandle handle;
	DMatrixHandle proxy;		/* reused by every in-place prediction */
	MemoryContextCallback free_cb;
};

/*
 * libxgboost messages start with "[hh:mm:ss] /path/file.cc:123: " and may
 * carry a stack trace; keep the first line without the prefix.
 */
static char *
last_error(void)
{
	const char *msg = XGBGetLastError();
	const char *p = msg;
	const char *end;

	if (msg == NULL)
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
	return end ? pnstrdup(p, end - p) : pstrdup(p);
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
