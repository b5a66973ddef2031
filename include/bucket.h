/*-------------------------------------------------------------------------
 * bucket.h
 *	  A unit's stable bucket (risk.bucket), for the canary of the scoring
 *	  trigger too: the same function, so a canary's rows are exactly those
 *	  risk.bucket puts there.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_BUCKET_H
#define RISK_BUCKET_H

/* The bucket (0 to buckets - 1) of (salt, unit), both in the server's encoding. */
extern int32 bucket_of(const char *salt, int salt_len, const char *unit, int unit_len, int32 buckets);

#endif							/* RISK_BUCKET_H */
