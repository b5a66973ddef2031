/*-------------------------------------------------------------------------
 * bucket.c
 *	  risk.bucket(salt, unit, buckets): a unit's bucket for canaries and
 *	  experiments, the same on every platform and in every version.
 *
 * The bucket is the first eight bytes of SHA-256 over the salt's UTF-8
 * bytes, a zero byte, and the unit's UTF-8 bytes, read as a big-endian
 * unsigned 64-bit integer, modulo buckets.  The zero byte keeps ('ab', 'c')
 * and ('a', 'bc') apart; a unit of another type is hashed as its text form,
 * so 12345::bigint and '12345' share a bucket.  SHA-256 is specified
 * byte for byte and available everywhere (Python: hashlib.sha256), so an
 * assignment can be recomputed outside the database; its bias modulo any
 * int4 number of buckets is below 2^-32.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "bucket.h"

/* The UTF-8 bytes of a string of len bytes in the server's encoding; *out_len their number. */
static const char *
utf8_bytes(const char *str, int len, int *out_len)
{
	const char *u = pg_server_to_any(str, len, PG_UTF8);

	/* unconverted, it is the input itself, not terminated */
	*out_len = u == str ? len : (int) strlen(u);
	return u;
}

int32
bucket_of(const char *salt, int salt_len, const char *unit, int unit_len, int32 buckets)
{
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	uint8		zero = 0;
	uint64		h = 0;
	int			slen;
	int			ulen;
	const char *s;
	const char *u;

	if (buckets < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.bucket needs at least 1 bucket, not %d", buckets)));
	s = utf8_bytes(salt, salt_len, &slen);
	u = utf8_bytes(unit, unit_len, &ulen);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) s, slen) < 0 ||
		pg_cryptohash_update(ctx, &zero, 1) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) u, ulen) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute a SHA-256 hash: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < 8; i++)
		h = (h << 8) | digest[i];
	return (int32) (h % (uint64) buckets);
}

/* risk.bucket(salt text, unit text, buckets integer) */
PG_FUNCTION_INFO_V1(risk_bucket_text);
Datum
risk_bucket_text(PG_FUNCTION_ARGS)
{
	text	   *salt = PG_GETARG_TEXT_PP(0);
	text	   *unit = PG_GETARG_TEXT_PP(1);

	PG_RETURN_INT32(bucket_of(VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt),
							  VARDATA_ANY(unit), VARSIZE_ANY_EXHDR(unit), PG_GETARG_INT32(2)));
}

/* risk.bucket(salt text, unit anyelement, buckets integer): the unit's text form */
PG_FUNCTION_INFO_V1(risk_bucket_any);
Datum
risk_bucket_any(PG_FUNCTION_ARGS)
{
	text	   *salt = PG_GETARG_TEXT_PP(0);
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			out;
	bool		varlena;
	char	   *unit;

	if (!OidIsValid(type))
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("risk.bucket could not determine the type of the unit")));
	getTypeOutputInfo(type, &out, &varlena);
	unit = OidOutputFunctionCall(out, PG_GETARG_DATUM(1));
	PG_RETURN_INT32(bucket_of(VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt), unit, strlen(unit), PG_GETARG_INT32(2)));
}
