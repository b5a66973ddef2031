/*-------------------------------------------------------------------------
 * stubs.c
 *	  Backend functions the fuzzed files name on paths the harnesses never
 *	  take (aggregates' memory, fmgr lookups, type caches): each aborts if
 *	  it is ever called, so a harness that strays is a finding, not a
 *	  silent wrong answer.  And json_errdetail, which PostgreSQL 15's
 *	  frontend libpgcommon leaves out.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "common/jsonapi.h"

char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	return "malformed JSON";
}

#define STUB(name) void name(void); void name(void) { abort(); }
STUB(AggCheckCallContext)
STUB(FunctionCall2Coll)
STUB(fmgr_info_copy)
STUB(format_type_be)
STUB(get_fn_expr_argtype)
STUB(lookup_type_cache)
STUB(deconstruct_array)
STUB(get_call_result_type)
STUB(BlessTupleDesc)
STUB(heap_form_tuple)
STUB(InitMaterializedSRF)
STUB(tuplestore_putvalues)
STUB(get_fn_expr_arg_stable)
STUB(AggGetAggref)
STUB(HeapTupleHeaderGetDatum)
STUB(cstring_to_text)
STUB(get_element_type)
STUB(get_fn_expr_rettype)
STUB(get_func_name)
STUB(get_typlenbyvalalign)
STUB(hash_create)
STUB(hash_get_num_entries)
STUB(hash_search)
STUB(hash_seq_init)
STUB(hash_seq_search)
STUB(lookup_rowtype_tupdesc_copy)
STUB(pq_getmsgbytes)
STUB(pq_getmsgstring)
STUB(pq_sendstring)
STUB(text_to_cstring)
STUB(type_is_rowtype)
STUB(SearchSysCache1)
STUB(ReleaseSysCache)
STUB(get_func_rettype)
STUB(EOH_init_header)
STUB(DatumGetEOHP)
STUB(EOH_get_flat_size)
STUB(EOH_flatten_into)
STUB(AllocSetContextCreateInternal)
STUB(MemoryContextGetParent)
/* agg_state.c: a polymorphic input's type, and types and collations named in a state */
STUB(exprType)
STUB(exprCollation)
STUB(get_namespace_name)
STUB(get_namespace_oid)
STUB(get_collation_oid)
STUB(SearchSysCacheExists)
STUB(GetSysCacheOid)
STUB(makeString)
STUB(list_make2_impl)
