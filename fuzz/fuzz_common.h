/*-------------------------------------------------------------------------
 * fuzz_common.h
 *	  Calling the project's SQL-callable functions directly, without fmgr:
 *	  a function call info with no lookup behind it, as the type input and
 *	  output functions are called.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_FUZZ_COMMON_H
#define RISK_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "pg_shim.h"

/* A finding: says which property broke, then aborts (libFuzzer keeps the input). */
static inline void pg_attribute_noreturn()
finding(const char *what)
{
	fprintf(stderr, "finding: %s\n", what);
	abort();
}

/* fn(args...): the result, *isnull set; errors jump out as any ERROR does */
static inline Datum
fuzz_call(PGFunction fn, int nargs, const Datum *args, bool *isnull)
{
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, 4);
	Datum		result;

	memset(&flinfo, 0, sizeof(flinfo));
	flinfo.fn_nargs = nargs;
	InitFunctionCallInfoData(*fcinfo, &flinfo, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = false;
	}
	result = fn(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

static inline Datum
fuzz_call1(PGFunction fn, Datum a, bool *isnull)
{
	return fuzz_call(fn, 1, &a, isnull);
}

/* A StringInfo over a copy of the bytes, as a receive function gets them. */
static inline StringInfo
fuzz_message(const uint8_t *data, size_t size)
{
	StringInfo	buf = palloc(sizeof(StringInfoData));

	buf->data = palloc(size + 1);
	memcpy(buf->data, data, size);
	buf->data[size] = '\0';
	buf->len = (int) size;
	buf->maxlen = (int) size + 1;
	buf->cursor = 0;
	return buf;
}

/* The bytes of a bytea as a message again (send, then receive). */
static inline StringInfo
fuzz_message_of(bytea *b)
{
	return fuzz_message((const uint8_t *) VARDATA(b), VARSIZE(b) - VARHDRSZ);
}

/*
 * The value of a type an input holds: the rest of it as text, through
 * `in`, when its first byte is even; as binary, through `recv`, when odd.
 * 0 when the type refused it with an ERROR.
 */
static inline Datum
fuzz_read_value(const uint8_t *data, size_t size, PGFunction in, PGFunction recv)
{
	volatile Datum value = 0;

	if (data[0] % 2 == 0)
	{
		char	   *text = palloc(size);

		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		(void) SHIM_TRY({
			bool		isnull;

			value = fuzz_call1(in, CStringGetDatum(text), &isnull);
		});
	}
	else
		(void) SHIM_TRY({
			bool		isnull;

			value = fuzz_call1(recv, PointerGetDatum(fuzz_message(data + 1, size - 1)), &isnull);
		});
	return value;
}

#endif
