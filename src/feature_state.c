/*-------------------------------------------------------------------------
 * feature_state.c
 *	  risk.feature_state: one entity's state for a feature set, and the
 *	  step that computes an event's features from it and adds the event.
 *	  The batch window function and the scoring trigger both run this step,
 *	  one in memory over an entity's events in order, the other on the
 *	  state read from the entity's row in the store: the same features by
 *	  construction.
 *
 * A state holds one track per (filter, amount, key, cap) of the entity
 * kind's features (feature_set.h): a velocity state (velocity_state.c)
 * of the track's windows, and the first, latest and previous times of the
 * track's events.  Features strictly before an event read the velocity
 * state at the event's time, leaving out the events at that time unless
 * the set has a tie-break (then the events already added come first);
 * features that include the event add its own contribution to that read.
 * A delayed window (t - d - w, t - d] is the difference of the track's
 * windows of widths d + w and d.
 *
 * Stored form (8-byte aligned): a header (version, number of tracks, the
 * layout fingerprint of the declaration), then per track its three times,
 * the length of its velocity state and the velocity state's stored bytes.
 * The portable form (send/receive; text is its hex) holds the same, each
 * velocity state in its own portable form, checked in full when read.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "feature_set.h"

#define DISK_VERSION 1
#define FORM_VERSION 1
#define NO_TIME PG_INT64_MIN

typedef struct TrackState
{
	VelocityState *vs;
	TimestampTz first;			/* NO_TIME: no event yet */
	TimestampTz last;
	TimestampTz prev;			/* the latest time before `last`; NO_TIME: none */
} TrackState;

struct EntityState
{
	uint32		layout;
	int			ntracks;
	TrackState *tracks;
};

typedef struct StateHeader
{
	int32		vl_len_;
	uint8		version;
	uint8		ntracks;
	uint16		unused;
	uint32		layout;
	uint32		unused2;
} StateHeader;

typedef struct TrackHeader
{
	int64		first;
	int64		last;
	int64		prev;
	int32		len;			/* of the velocity state's stored bytes that follow */
	int32		unused;
} TrackHeader;

#define ALIGN8(n) (((n) + 7) & ~((Size) 7))

/* ------------------------------------------------------------------------
 * States and their stored form
 * ------------------------------------------------------------------------
 */

EntityState *
feature_state_new(const FeatureEntity *e)
{
	EntityState *st = palloc(sizeof(EntityState));

	st->layout = e->layout;
	st->ntracks = e->ntracks;
	st->tracks = palloc(sizeof(TrackState) * Max(1, e->ntracks));
	for (int k = 0; k < e->ntracks; k++)
	{
		const FeatureTrack *t = &e->tracks[k];

		st->tracks[k].vs = velocity_state_create(t->nwindows, t->widths, t->max_distinct);
		st->tracks[k].first = st->tracks[k].last = st->tracks[k].prev = NO_TIME;
	}
	return st;
}

static void pg_attribute_noreturn()
damaged(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("damaged risk.feature_state"),
			 errdetail("%s", detail),
			 errhint("Rebuild the feature set's states with risk.rebuild_feature_states.")));
}

/*
 * The state of a stored value; *other_layout (and NULL returned) when it
 * was made for another declaration of the entity kind.
 */
EntityState *
feature_state_load(const FeatureEntity *e, Datum stored, bool *other_layout)
{
	bytea	   *b = (bytea *) PG_DETOAST_DATUM(stored);
	StateHeader *h = (StateHeader *) b;
	Size		size = VARSIZE(b);
	Size		off = sizeof(StateHeader);
	EntityState *st;

	*other_layout = false;
	if (size < sizeof(StateHeader) || h->version != DISK_VERSION)
		damaged("Its stored layout is unknown.");
	if (h->layout != e->layout || h->ntracks != e->ntracks)
	{
		*other_layout = true;
		return NULL;
	}
	st = palloc(sizeof(EntityState));
	st->layout = h->layout;
	st->ntracks = h->ntracks;
	st->tracks = palloc(sizeof(TrackState) * Max(1, st->ntracks));
	for (int k = 0; k < st->ntracks; k++)
	{
		TrackHeader th;
		const FeatureTrack *t = &e->tracks[k];

		if (off + sizeof(TrackHeader) > size)
			damaged("It ends too soon.");
		memcpy(&th, (char *) b + off, sizeof(TrackHeader));
		off += sizeof(TrackHeader);
		if (th.len < (int32) VARHDRSZ || off + th.len > size)
			damaged("It ends too soon.");
		st->tracks[k].vs = velocity_state_load((char *) b + off);
		off += ALIGN8(th.len);
		st->tracks[k].first = th.first;
		st->tracks[k].last = th.last;
		st->tracks[k].prev = th.prev;
		if (!velocity_state_has_windows(st->tracks[k].vs, t->nwindows, t->widths, t->max_distinct))
		{
			*other_layout = true;
			return NULL;
		}
	}
	return st;
}

Datum
feature_state_store(EntityState *st)
{
	bytea	  **parts = palloc(sizeof(bytea *) * Max(1, st->ntracks));
	Size		size = sizeof(StateHeader);
	StateHeader *h;
	Size		off;

	for (int k = 0; k < st->ntracks; k++)
	{
		parts[k] = velocity_state_store(st->tracks[k].vs);
		size += sizeof(TrackHeader) + ALIGN8(VARSIZE(parts[k]));
	}
	h = palloc0(size);
	SET_VARSIZE(h, size);
	h->version = DISK_VERSION;
	h->ntracks = st->ntracks;
	h->layout = st->layout;
	off = sizeof(StateHeader);
	for (int k = 0; k < st->ntracks; k++)
	{
		TrackHeader th;

		memset(&th, 0, sizeof(th));
		th.first = st->tracks[k].first;
		th.last = st->tracks[k].last;
		th.prev = st->tracks[k].prev;
		th.len = VARSIZE(parts[k]);
		memcpy((char *) h + off, &th, sizeof(th));
		off += sizeof(th);
		memcpy((char *) h + off, parts[k], VARSIZE(parts[k]));
		off += ALIGN8(VARSIZE(parts[k]));
		pfree(parts[k]);
	}
	pfree(parts);
	return PointerGetDatum(h);
}

/* ------------------------------------------------------------------------
 * The step
 * ------------------------------------------------------------------------
 */

/* The current row's event as track k sees it: whether it is in the track, its amount and key. */
typedef struct TrackEvent
{
	bool		in;
	VelocityEvent ev;
} TrackEvent;

static void
track_event(const FeatureSet *fs, const FeatureTrack *t, TimestampTz at, TrackEvent *te)
{
	memset(te, 0, sizeof(*te));
	te->ev.at = at;
	te->in = true;
	if (t->filter >= 0)
		te->in = !fs->nulls[t->filter] && DatumGetBool(fs->values[t->filter]);
	if (t->amount >= 0 && !fs->nulls[t->amount])
	{
		te->ev.has_amount = true;
		te->ev.amount = DatumGetFloat8(fs->values[t->amount]);
		if (isnan(te->ev.amount) || isinf(te->ev.amount))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("feature set \"%s\" cannot sum an infinite or NaN value", fs->name),
					 errdetail("The value is \"%s\".", fs->exprtexts[t->amount])));
	}
	if (t->amount_required && !te->ev.has_amount)
		te->in = false;
	if (t->key >= 0 && !fs->nulls[t->key])
	{
		uint64		h = DatumGetUInt64(FunctionCall2Coll(&fs->key_hash[t->key], fs->exprcolls[t->key],
														 fs->values[t->key], UInt64GetDatum(0)));

		te->ev.has_key = true;
		te->ev.hash = h == 0 ? 1 : h;	/* as the velocity functions hash keys */
	}
}

/*
 * The features of entity kind e read from st at time `at` (out/isnull by
 * the set's feature index); with an event (tev, per track), features that
 * include it count it.
 */
static void
read_features(const FeatureSet *fs, const FeatureEntity *e, EntityState *st, TimestampTz at,
			  bool ties_before, const TrackEvent *tev, double *out, bool *isnull)
{
	double	  **reads = palloc0(sizeof(double *) * Max(1, e->ntracks));

	for (int i = 0; i < e->nfeatures; i++)
	{
		const FeatureDef *f = &fs->features[e->features[i]];
		const FeatureTrack *t = &e->tracks[f->track];
		TrackState *ts = &st->tracks[f->track];
		const TrackEvent *te = tev ? &tev[f->track] : NULL;
		bool		self = f->include_current && te && te->in;
		double	   *r;
		int			n = t->nwindows;
		double		count = 0,
					sum = 0,
					v = 0;
		bool		null = false;

		if (f->window >= 0 && reads[f->track] == NULL)
		{
			reads[f->track] = palloc(sizeof(double) * 3 * n);
			velocity_state_read(ts->vs, at, ties_before, reads[f->track]);
		}
		r = reads[f->track];
		if (f->window >= 0)
		{
			count = r[f->window];
			sum = r[n + f->window];
			if (f->delay_window >= 0)
			{
				count -= r[f->delay_window];
				sum -= r[n + f->delay_window];
			}
			if (self)
			{
				count += 1;
				if (te->ev.has_amount)
					sum += te->ev.amount;
			}
		}
		switch (f->kind)
		{
			case FEATURE_COUNT:
				v = count;
				break;
			case FEATURE_SUM:
				v = count > 0 ? sum : 0;
				break;
			case FEATURE_AVG:
				null = !(count > 0);
				v = null ? 0 : sum / count;
				break;
			case FEATURE_RATIO:
				{
					int			x = f->expr;

					null = !(tev && x >= 0 && !fs->nulls[x] && count > 0 && sum > 0);
					v = null ? 0 : DatumGetFloat8(fs->values[x]) / (sum / count);
				}
				break;
			case FEATURE_DISTINCT:
				v = r[2 * n + f->window];
				if (self && te->ev.has_key &&
					!velocity_state_holds_key(ts->vs, te->ev.hash, f->window, at, ties_before))
					v += 1;
				if (f->max_distinct > 0 && v > f->max_distinct)
					v = f->max_distinct;
				break;
			case FEATURE_IS_NEW:
				/* the row's value, whether or not the row is in the track */
				null = te == NULL || !te->ev.has_key;
				if (!null)
					v = velocity_state_holds_key(ts->vs, te->ev.hash, f->window, at, ties_before) ? 0 : 1;
				break;
			case FEATURE_FIRST_SEEN:
				{
					bool		before = ts->first != NO_TIME &&
						(ts->first < at || (ties_before && ts->first == at));

					null = !before;
					v = null ? 0 : (double) (at - ts->first) / USECS_PER_SEC;
				}
				break;
			case FEATURE_LAST_SEEN:
				{
					TimestampTz seen = NO_TIME;

					if (ts->last != NO_TIME)
					{
						if (ts->last < at || (ties_before && ts->last == at))
							seen = ts->last;
						else if (ts->last == at)
							seen = ts->prev;
						else
							seen = at;	/* a late event: seen since */
					}
					null = seen == NO_TIME;
					v = null ? 0 : (double) (at - seen) / USECS_PER_SEC;
				}
				break;
			case FEATURE_ROW:
				elog(ERROR, "a row feature in an entity's features");
		}
		out[e->features[i]] = v;
		isnull[e->features[i]] = null;
	}
	for (int k = 0; k < e->ntracks; k++)
		if (reads[k])
			pfree(reads[k]);
	pfree(reads);
}

void
feature_state_step(const FeatureSet *fs, const FeatureEntity *e, EntityState *st,
				   const FeatureEvent *ev, double *out, bool *isnull)
{
	TrackEvent *tev = palloc(sizeof(TrackEvent) * Max(1, e->ntracks));

	for (int k = 0; k < e->ntracks; k++)
		track_event(fs, &e->tracks[k], ev->at, &tev[k]);
	read_features(fs, e, st, ev->at, ev->ties_before, tev, out, isnull);
	for (int k = 0; k < e->ntracks; k++)
	{
		TrackState *ts = &st->tracks[k];
		TimestampTz t = ev->at;

		if (!tev[k].in)
			continue;
		velocity_state_add(ts->vs, &tev[k].ev);
		velocity_state_trim(ts->vs);	/* as storing does: the same keys in memory and on disk */
		if (ts->first == NO_TIME)
			ts->first = ts->last = t;
		else
		{
			if (t < ts->first)
				ts->first = t;
			if (t > ts->last)
			{
				ts->prev = ts->last;
				ts->last = t;
			}
			else if (t < ts->last && (ts->prev == NO_TIME || t > ts->prev))
				ts->prev = t;
		}
	}
	pfree(tev);
}

void
feature_state_peek(const FeatureSet *fs, const FeatureEntity *e, EntityState *st,
				   TimestampTz at, bool ties_before, double *out, bool *isnull)
{
	read_features(fs, e, st, at, ties_before, NULL, out, isnull);
}

/* ------------------------------------------------------------------------
 * Type I/O: the portable form
 *
 * version, number of tracks, layout, then per track: first, last, prev,
 * the length of the velocity state's portable form and that form.
 * ------------------------------------------------------------------------
 */

static void pg_attribute_noreturn()
bad_form(bool binary, const char *detail)
{
	ereport(ERROR,
			(errcode(binary ? ERRCODE_INVALID_BINARY_REPRESENTATION : ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid risk.feature_state"),
			 errdetail("%s", detail)));
}

static bool
time_ok(int64 t)
{
	return t == NO_TIME || (!TIMESTAMP_NOT_FINITE(t) && IS_VALID_TIMESTAMP(t));
}

/* The stored value of a portable form (checked in full). */
static Datum
state_receive(const char *p, int len, bool binary)
{
	StringInfoData buf;
	EntityState st;
	int			version;

	buf.data = (char *) p;
	buf.len = len;
	buf.maxlen = len;
	buf.cursor = 0;
	if (len < 6)
		bad_form(binary, "It ends too soon.");
	version = pq_getmsgbyte(&buf);
	if (version != FORM_VERSION)
		bad_form(binary, "Its format version is unknown (this version of risk reads format 1).");
	st.ntracks = pq_getmsgbyte(&buf);
	st.layout = (uint32) pq_getmsgint(&buf, 4);
	st.tracks = palloc(sizeof(TrackState) * Max(1, st.ntracks));
	for (int k = 0; k < st.ntracks; k++)
	{
		TrackState *ts = &st.tracks[k];
		int32		n;

		if (buf.len - buf.cursor < 28)
			bad_form(binary, "It ends too soon.");
		ts->first = pq_getmsgint64(&buf);
		ts->last = pq_getmsgint64(&buf);
		ts->prev = pq_getmsgint64(&buf);
		n = pq_getmsgint(&buf, 4);
		if (!time_ok(ts->first) || !time_ok(ts->last) || !time_ok(ts->prev) ||
			(ts->first == NO_TIME) != (ts->last == NO_TIME) ||
			(ts->first != NO_TIME && ts->first > ts->last) ||
			(ts->prev != NO_TIME && (ts->last == NO_TIME || ts->prev >= ts->last || ts->prev < ts->first)))
			bad_form(binary, "A track's times are not in order.");
		if (n < 0 || n > buf.len - buf.cursor)
			bad_form(binary, "It ends too soon.");
		ts->vs = velocity_state_receive(buf.data + buf.cursor, n, binary);
		buf.cursor += n;
	}
	if (buf.cursor != buf.len)
		bad_form(binary, "It has bytes after its end.");
	return feature_state_store(&st);
}

static bytea *
state_send(Datum stored)
{
	bytea	   *b = (bytea *) PG_DETOAST_DATUM(stored);
	StateHeader *h = (StateHeader *) b;
	StringInfoData buf;
	Size		off = sizeof(StateHeader);

	if (VARSIZE(b) < sizeof(StateHeader) || h->version != DISK_VERSION)
		damaged("Its stored layout is unknown.");
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, FORM_VERSION);
	pq_sendbyte(&buf, h->ntracks);
	pq_sendint32(&buf, h->layout);
	for (int k = 0; k < h->ntracks; k++)
	{
		TrackHeader th;
		StringInfoData vs;

		if (off + sizeof(TrackHeader) > VARSIZE(b))
			damaged("It ends too soon.");
		memcpy(&th, (char *) b + off, sizeof(th));
		off += sizeof(th);
		if (th.len < (int32) VARHDRSZ || off + th.len > VARSIZE(b))
			damaged("It ends too soon.");
		initStringInfo(&vs);
		velocity_state_send(velocity_state_load((char *) b + off), &vs);
		off += ALIGN8(th.len);
		pq_sendint64(&buf, th.first);
		pq_sendint64(&buf, th.last);
		pq_sendint64(&buf, th.prev);
		pq_sendint32(&buf, vs.len);
		pq_sendbytes(&buf, vs.data, vs.len);
		pfree(vs.data);
	}
	return pq_endtypsend(&buf);
}

PG_FUNCTION_INFO_V1(risk_feature_state_in);
Datum
risk_feature_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	size_t		len = strlen(text);
	char	   *bytes;
	int			n;

	if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2 != 0)
		bad_form(false, "A risk.feature_state is written \\x and the hexadecimal of its binary form.");
	bytes = palloc(len / 2);
	n = hex_decode(text + 2, len - 2, bytes);
	PG_RETURN_DATUM(state_receive(bytes, n, false));
}

PG_FUNCTION_INFO_V1(risk_feature_state_out);
Datum
risk_feature_state_out(PG_FUNCTION_ARGS)
{
	bytea	   *form = state_send(PG_GETARG_DATUM(0));
	int			n = VARSIZE(form) - VARHDRSZ;
	char	   *text = palloc(2 * n + 3);

	text[0] = '\\';
	text[1] = 'x';
	text[2 + hex_encode(VARDATA(form), n, text + 2)] = '\0';
	PG_RETURN_CSTRING(text);
}

PG_FUNCTION_INFO_V1(risk_feature_state_recv);
Datum
risk_feature_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Datum		d = state_receive(buf->data + buf->cursor, buf->len - buf->cursor, true);

	buf->cursor = buf->len;
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(risk_feature_state_send);
Datum
risk_feature_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(state_send(PG_GETARG_DATUM(0)));
}
