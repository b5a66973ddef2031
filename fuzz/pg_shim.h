/*-------------------------------------------------------------------------
 * pg_shim.h
 *	  The fuzz harnesses' stand-in for a backend (pg_shim.c).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_PG_SHIM_H
#define RISK_PG_SHIM_H

/* The most one input may allocate: more is an ERROR, as palloc's limit is. */
#define SHIM_MEMORY_LIMIT ((Size) 512 * 1024 * 1024)

/* Frees everything palloc'd since the last call: after each input. */
extern void shim_free_all(void);

/*
 * Runs `body` (a statement); true when it finished, false when it raised
 * an ERROR (which is not a finding: refusing bad input is the point).
 */
#define SHIM_TRY(body) \
	({ \
		sigjmp_buf	_jb; \
		bool		_ok = false; \
		PG_exception_stack = &_jb; \
		if (sigsetjmp(_jb, 0) == 0) \
		{ \
			body; \
			_ok = true; \
		} \
		PG_exception_stack = NULL; \
		_ok; \
	})

#endif
