/*-------------------------------------------------------------------------
 * synthetic.c
 *	  risk.synthetic_orders: a deterministic stream of marketplace orders,
 *	  mostly ordinary, with planted and labelled abuse, one pattern per risk
 *	  area, for demos, tests and developing detection.
 *
 * The world is a function of the seed, so nothing is stored: buyer b's
 * signup time, devices, home network, addresses and cards, a shop's
 * popularity, a SKU's price all come from hashes of (seed, what, id).
 * Orders are made a day at a time (the ordinary ones for that day and the
 * abuse episodes that start on it), sorted by time and numbered; a call
 * asks for n orders over days days from start_at and gets exactly n.
 *
 * Ordinary behaviour carries the same signals as abuse, so that no single
 * column gives a pattern away: ordinary buyers change devices and networks,
 * share addresses and cards in households, use the welcome coupon on their
 * first order, buy in bursts at a release, get deep discounts and review
 * with five stars.  What marks abuse is how orders relate: velocity and
 * linkage (README: "Synthetic orders").
 *
 * Patterns (the pattern column; is_fraud is true for all but 'normal'):
 *	account_takeover	an old account, at once a new device, a foreign
 *						datacenter IP and a new address, one to three
 *						expensive orders within the hour on its stored card
 *	coupon_abuse		10 to 40 accounts made in the last two days, sharing
 *						a few devices, addresses and cards, each redeeming
 *						the welcome coupon within six hours
 *	deal_hunting		a price error (85 to 95% off one SKU for two hours)
 *						sniped by 5 to 20 heavy buyers at high quantities
 *	scalping			a limited SKU's release: 5 to 15 accounts linked by
 *						cards and addresses buy the limit in the first
 *						minutes, among ordinary fans who buy it too
 *	brushing			a small shop and 5 to 20 young accounts: cheap orders
 *						to one or two shared addresses, five-star reviews
 *						within the hour
 *	click_farm			20 to 100 accounts on 2 to 5 devices in one /24,
 *						ordering cheap items of a few shops at a machine's
 *						regular pace
 *	address_harvesting	information leakage: a few accounts test leaked
 *						data with many tiny orders, each shipped to another
 *						buyer's address, at many shops
 *	card_testing		malicious activity: one device on one network tries
 *						15 to 60 stolen cards with tiny orders at a machine's
 *						pace, most of them declined
 *
 *	coupon_leak			only with coupon_leak_at: information leakage, a
 *						staff coupon used by ordinary accounts from then on,
 *						a pattern no model trained on the others has seen
 *
 * reported_at: when the abuse becomes known (a report, a chargeback, an
 * audit), days to weeks after the order, or never (NULL); NULL for
 * ordinary orders.  Drawn from a stream of its own, so that the other
 * columns are those the same arguments always gave.
 *
 * declined: the payment was refused.  Card testing's are the episode's;
 * every other order's are drawn from a stream of their own, a few in a
 * hundred.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#define SKUS_PER_SHOP 50
#define MAX_ORDERS INT64CONST(1000000000)	/* a call's */
#define MAX_ORDERS_A_DAY 1000000
#define EARLIEST_DAYS 1100		/* timestamps made: start_at - this, */
#define LATEST_DAYS 2			/* to start_at + days + this */
#define FRESH_IDS ((int64) 1000000000000)	/* ids of things abuse makes up */

typedef enum Pattern
{
	P_NORMAL,
	P_ACCOUNT_TAKEOVER,
	P_COUPON_ABUSE,
	P_DEAL_HUNTING,
	P_SCALPING,
	P_BRUSHING,
	P_CLICK_FARM,
	P_ADDRESS_HARVESTING,
	P_CARD_TESTING,
	P_COUNT
} Pattern;

/* The optional attack (coupon_leak_at): not one of the planned patterns. */
#define P_COUPON_LEAK P_COUNT
#define LEAKED_COUPON "STAFF50"

/*
 * Episodes' streams are keyed by number * EPISODE_KEYS + pattern: eight,
 * the number of patterns before card testing came, so that the first seven
 * patterns' episodes stayed as they were (card testing's keys are those
 * 'normal', which has no episodes, would have had).
 */
#define EPISODE_KEYS 8

static const char *const pattern_names[P_COUNT + 1] = {
	"normal", "account_takeover", "coupon_abuse", "deal_hunting", "scalping",
	"brushing", "click_farm", "address_harvesting", "card_testing", "coupon_leak"
};

/*
 * When abuse becomes known (reported_at): the chance that it ever is, and
 * the delay after the order, from lo to hi days (most early): a victim
 * reports a takeover within days, a price error is caught the same day,
 * chargebacks and audits take weeks, leaked data is found late.
 */
static const double report_chance[P_COUNT + 1] = {0, 0.9, 0.6, 0.95, 0.5, 0.5, 0.6, 0.4, 0.7, 0.8};
static const double report_days[P_COUNT + 1][2] = {
	{0, 0}, {0.5, 7}, {3, 30}, {0.1, 2}, {7, 45}, {10, 60}, {3, 30}, {14, 60}, {0.5, 10}, {1, 5}
};

/*
 * The chance that a payment is declined, but for card testing's (the
 * episode's own): a few in a hundred, more on a taken-over account, whose
 * bank sees an unusual charge.
 */
static const double decline_chance[P_COUNT + 1] = {0.02, 0.1, 0.03, 0.02, 0.03, 0.02, 0.03, 0.03, 0, 0.02};

/* Each pattern's share of all orders. */
static const double pattern_share[P_COUNT] = {0, 0.003, 0.006, 0.003, 0.004, 0.005, 0.005, 0.002, 0.004};

#define DECLINE_DRAWN 0
#define DECLINE_NO 1
#define DECLINE_YES 2

typedef struct Order
{
	TimestampTz created_at;
	int64		buyer_id;
	TimestampTz account_created_at;
	int64		device_id;
	uint32		ip;				/* IPv4, host order */
	int64		address_id;
	int64		payment_id;
	int32		shop_id;
	int32		sku_id;
	int32		quantity;
	double		list_price;
	double		discount;
	const char *coupon;
	int32		review_stars;	/* 0: no review */
	int32		review_minutes;
	int8		declined;		/* card testing's: DECLINE_*; others drawn */
	Pattern		pattern;
	int32		seq;			/* made this day: the last tie-breaker */
} Order;

/* ------------------------------------------------------------------------
 * Randomness: a splitmix64 stream per (seed, what, id)
 * ------------------------------------------------------------------------
 */

typedef struct Rng
{
	uint64		state;
} Rng;

static inline uint64
mix64(uint64 z)
{
	z = (z ^ (z >> 30)) * UINT64CONST(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64
rng_next(Rng *r)
{
	r->state += UINT64CONST(0x9e3779b97f4a7c15);
	return mix64(r->state);
}

static Rng
rng_for(int64 seed, uint64 what, int64 id)
{
	Rng			r = {mix64(mix64((uint64) seed * 31 + what) ^ (uint64) id)};

	return r;
}

/* uniform in [0, 1) */
static inline double
uniform(Rng *r)
{
	return (rng_next(r) >> 11) * (1.0 / (UINT64CONST(1) << 53));
}

/* uniform integer in [lo, hi] */
static inline int64
between(Rng *r, int64 lo, int64 hi)
{
	return lo + (int64) (uniform(r) * (double) (hi - lo + 1));
}

static inline bool
chance(Rng *r, double p)
{
	return uniform(r) < p;
}

static double
normal01(Rng *r)
{
	double		u = uniform(r);
	double		v = uniform(r);

	return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/*
 * Rank in [0, n) with probability about proportional to 1 / (rank + q)^s:
 * Zipf's law for q = 1, flattened at the head for a larger q.
 */
static int64
zipf_from(Rng *r, int64 n, double s, double q)
{
	double		u = uniform(r);
	double		x;

	if (fabs(s - 1) < 1e-9)
		x = q * exp(u * log(((double) n + q) / q)) - q;
	else
	{
		double		a = 1 - s;
		double		qa = pow(q, a);

		x = pow(u * (pow((double) n + q, a) - qa) + qa, 1 / a) - q;
	}
	return Min((int64) x, n - 1);
}

static int64
zipf(Rng *r, int64 n, double s)
{
	return zipf_from(r, n, s, 1);
}

/* ------------------------------------------------------------------------
 * The world: buyers, shops and SKUs, from hashes of their ids
 * ------------------------------------------------------------------------
 */

enum
{
	W_BUYER = 1, W_SKU, W_SHOP, W_DAY, W_EPISODE, W_RANK, W_ORDER, W_REPORT, W_LEAK, W_DECLINE
};

typedef struct World
{
	int64		seed;			/* the world: buyers, shops, SKUs */
	int64		stream;			/* this call's orders: the seed and start_at mixed */
	int64		buyers;
	int64		rank_step;		/* coprime with buyers: ranks scattered over ids */
	int32		shops;
	TimestampTz start;
	int32		days;
	TimestampTz leak_at;		/* the staff coupon leaks: DT_NOEND, never */
} World;

typedef struct Buyer
{
	int64		id;
	TimestampTz signup;
	int			devices;
	int			addresses;
	int			cards;
	int64		household;		/* shares addresses and cards with this buyer */
	uint32		home_net;		/* a /24 */
} Buyer;

static Buyer
buyer_of(const World *w, int64 id)
{
	Rng			r = rng_for(w->seed, W_BUYER, id);
	Buyer		b;
	double		age_days;

	b.id = id;
	/* a tenth sign up during the period; the others up to three years before */
	if (chance(&r, 0.1))
		age_days = -uniform(&r) * w->days;
	else
		age_days = 1095 * pow(uniform(&r), 1.5) + 1;
	b.signup = w->start - (TimestampTz) (age_days * USECS_PER_DAY);
	b.devices = chance(&r, 0.3) ? 2 : 1;
	b.addresses = chance(&r, 0.2) ? 2 : 1;
	b.cards = chance(&r, 0.35) ? 2 : 1;
	b.household = (id > 1 && chance(&r, 0.05)) ? id - 1 : id;
	b.home_net = (10u << 24) | (uint32) (between(&r, 0, 65535) << 8);
	return b;
}

static int64
gcd64(int64 a, int64 b)
{
	while (b != 0)
	{
		int64		t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A step coprime with the number of buyers, for buyer_at_rank. */
static int64
rank_step(int64 buyers)
{
	int64		step = 7919;

	while (gcd64(step, buyers) != 1)
		step += 2;
	return step;
}

/* Buyer of activity rank k: an affine permutation of [0, buyers) scatters ranks over the ids. */
static int64
buyer_at_rank(const World *w, int64 k)
{
	int64		at = (int64) (((__int128) k * w->rank_step + w->seed) % w->buyers);

	return (at < 0 ? at + w->buyers : at) + 1;
}

/*
 * The activity rank of an ordinary order's buyer: heavy-tailed, flattened
 * at the head so that the busiest buyers place a few orders a day, not a
 * tenth of all orders (in a month of a million orders, a median buyer
 * places 2, one in a hundred about 70, the busiest about 165).
 */
static int64
buyer_rank(const World *w, Rng *r)
{
	return zipf_from(r, w->buyers, 1.05, Max(w->buyers / 100.0, 1));
}

/* A SKU's price: log-normal, and one in twenty a cheap accessory under 3. */
static double
sku_price(const World *w, int32 sku)
{
	Rng			r = rng_for(w->seed, W_SKU, sku);

	if (chance(&r, 0.05))
		return round((0.49 + uniform(&r) * 2.5) * 100) / 100;
	return round(exp(3.0 + 1.1 * normal01(&r)) * 100) / 100 + 0.99;
}

static int32
shop_at_rank(const World *w, int64 k)
{
	int64		at = (k * 104729 + w->seed) % w->shops;

	return (int32) (at < 0 ? at + w->shops : at) + 1;
}

/* A time of day, more orders in the evening, few at night. */
static int64
time_of_day(Rng *r)
{
	for (;;)
	{
		double		h = uniform(r) * 24;
		double		intensity = 1 + 0.85 * sin(2 * M_PI * (h - 14) / 24);

		if (uniform(r) * 1.85 < intensity)
			return (int64) (h * USECS_PER_HOUR);
	}
}

static uint32
mobile_ip(Rng *r)
{
	return (100u << 24) | (64u << 16) | (uint32) between(r, 0, 65535);
}

static uint32
datacenter_ip(Rng *r)
{
	return (185u << 24) | (uint32) between(r, 0, (1 << 24) - 1);
}

/* An ordinary order by buyer b at time t: its usual devices, networks, addresses and cards. */
static void
ordinary_order(const World *w, Rng *r, const Buyer *b, TimestampTz t, Order *o)
{
	int64		rank = zipf(r, w->shops, 1.1);

	memset(o, 0, sizeof(*o));
	o->created_at = t;
	o->buyer_id = b->id;
	o->account_created_at = b->signup;
	o->device_id = chance(r, 0.03) ? FRESH_IDS + (int64) (rng_next(r) >> 24)
		: b->id * 4 + between(r, 0, b->devices - 1);
	o->ip = chance(r, 0.04) ? datacenter_ip(r)	/* a VPN */
		: chance(r, 0.2) ? mobile_ip(r) : b->home_net | (uint32) between(r, 1, 254);
	o->address_id = chance(r, 0.02) ? FRESH_IDS + (int64) (rng_next(r) >> 24)
		: b->household * 4 + between(r, 0, b->addresses - 1);
	o->payment_id = b->household * 4 + between(r, 0, b->cards - 1);
	o->shop_id = shop_at_rank(w, rank);
	o->sku_id = o->shop_id * 100 + (int32) zipf(r, SKUS_PER_SHOP, 1.0);
	o->list_price = sku_price(w, o->sku_id);
	o->quantity = chance(r, 0.85) ? 1 : chance(r, 0.67) ? 2 : chance(r, 0.9) ? (int32) between(r, 3, 5)
		: (int32) between(r, 5, 10);	/* a small reseller */
	if (chance(r, 0.015))
		o->list_price *= between(r, 2, 6);	/* a big-ticket variant */
	if (chance(r, 0.25))
		o->discount = round(uniform(r) * 25 + 5) / 100;
	else if (chance(r, 0.07))
		o->discount = round(uniform(r) * 30 + 30) / 100;
	else if (chance(r, 0.01))
		o->discount = round(uniform(r) * 25 + 70) / 100;	/* clearance */
	if (t - b->signup < 2 * USECS_PER_DAY && chance(r, 0.6))
		o->coupon = "WELCOME5";
	else if (chance(r, 0.06))
		o->coupon = chance(r, 0.5) ? "SAVE10" : "FREESHIP";
	if (chance(r, 0.25))
	{
		double		u = uniform(r);

		o->review_stars = u < 0.55 ? 5 : u < 0.8 ? 4 : u < 0.9 ? 3 : u < 0.94 ? 2 : 1;
		o->review_minutes = (int32) between(r, 24 * 60, 14 * 24 * 60);
		if (chance(r, 0.06))
			o->review_minutes = (int32) between(r, 10, 120);	/* a keen buyer */
	}
	o->pattern = P_NORMAL;
}

static Buyer fresh_account(const World *w, Rng *r, uint64 key, TimestampTz signup);

/*
 * An ordinary buyer active at time t (signed up before it); one order in
 * fifty is the first of an account made in the last two days.
 */
static Buyer
ordinary_buyer(const World *w, Rng *r, TimestampTz t)
{
	if (chance(r, 0.02))
		return fresh_account(w, r, rng_next(r), t - between(r, 5 * USECS_PER_MINUTE, 48 * USECS_PER_HOUR));
	/* nine in ten buyers signed up before the period: 64 draws all but always find one */
	for (int tries = 0; tries < 64; tries++)
	{
		Buyer		b = buyer_of(w, buyer_at_rank(w, buyer_rank(w, r)));

		if (b.signup < t - 10 * USECS_PER_MINUTE)
			return b;
	}
	return fresh_account(w, r, rng_next(r), t - between(r, 5 * USECS_PER_MINUTE, 48 * USECS_PER_HOUR));
}

/* ------------------------------------------------------------------------
 * Abuse episodes
 * ------------------------------------------------------------------------
 */

typedef struct Episode
{
	Pattern		pattern;
	int64		number;			/* of its pattern */
	int32		day;
	int32		orders;			/* orders it makes (its planned size) */
	int32		planned;		/* its place in the plan */
} Episode;

typedef struct OrderBuffer
{
	Order	   *orders;
	int			n;
	int			cap;
} OrderBuffer;

static Order *
buffer_add(OrderBuffer *buf)
{
	if (buf->n == buf->cap)
	{
		buf->cap = Max(buf->cap * 2, 1024);
		buf->orders = buf->orders ? repalloc_huge(buf->orders, sizeof(Order) * buf->cap)
			: palloc_extended(sizeof(Order) * buf->cap, MCXT_ALLOC_HUGE);
	}
	buf->orders[buf->n].seq = buf->n;
	return &buf->orders[buf->n++];
}

/*
 * An episode's stream: its first draws fix its shape (size), so that the
 * plan can count its orders before making them.
 */
static Rng
episode_rng(const World *w, Pattern p, int64 number)
{
	return rng_for(w->stream, W_EPISODE * 16 + p, number);
}

/*
 * A new account, beyond the ordinary pool: of an abuse ring (key from the
 * episode) or a new ordinary buyer (a random key), mixed in one id range.
 */
static Buyer
fresh_account(const World *w, Rng *r, uint64 key, TimestampTz signup)
{
	Buyer		b;

	b.id = w->buyers + 1 + (int64) (mix64(key ^ (uint64) w->stream) % (UINT64CONST(1) << 40));
	b.signup = signup;
	b.devices = b.addresses = b.cards = 1;
	b.household = b.id;
	b.home_net = (10u << 24) | (uint32) (between(r, 0, 65535) << 8);
	return b;
}

static uint64
ring_key(const Episode *e, int k)
{
	return ((uint64) e->number * EPISODE_KEYS + e->pattern) * 256 + k + (UINT64CONST(1) << 62);
}

static int64
fresh_id(const World *w, Pattern p, int64 number, int k)
{
	return FRESH_IDS * 2 + (int64) (mix64((uint64) w->stream ^ (((uint64) number * EPISODE_KEYS + p) * 256 + k)) % (uint64) FRESH_IDS);
}

/*
 * The orders of one episode; or, when buf is NULL, only their number, and
 * in *abusive those of them that are abuse (a release draws ordinary fans).
 */
static int
episode_orders(const World *w, const Episode *e, OrderBuffer *buf, int *abusive)
{
	Rng			r = episode_rng(w, e->pattern, e->number);
	TimestampTz day = w->start + (TimestampTz) e->day * USECS_PER_DAY;
	TimestampTz t0 = day + time_of_day(&r);
	int			made = 0;
	int			ignored;

	if (abusive == NULL)
		abusive = &ignored;
	switch (e->pattern)
	{
		case P_ACCOUNT_TAKEOVER:
			{
				int			n = (int) between(&r, 1, 3);
				Buyer		victim;
				int64		device = fresh_id(w, e->pattern, e->number, 0);
				int64		address = fresh_id(w, e->pattern, e->number, 1);
				uint32		ip = chance(&r, 0.7) ? datacenter_ip(&r) : mobile_ip(&r);

				if (buf == NULL)
					return *abusive = n;
				/* an account over a year old; in a tiny world, any old enough to order */
				for (int tries = 0;; tries++)
				{
					victim = tries < 1000 ? buyer_of(w, between(&r, 1, w->buyers)) : ordinary_buyer(w, &r, t0);
					if (tries >= 1000 || victim.signup <= t0 - 365 * USECS_PER_DAY)
						break;
				}
				for (int i = 0; i < n; i++)
				{
					Order	   *o = buffer_add(buf);
					int32		best = 0;

					ordinary_order(w, &r, &victim, t0 + between(&r, 0, USECS_PER_HOUR), o);
					/* the dearest of a few popular SKUs: electronics, gift cards */
					for (int k = 0; k < 8; k++)
					{
						int32		sku = shop_at_rank(w, zipf(&r, 20, 1.0)) * 100 + (int32) between(&r, 0, 9);

						if (best == 0 || sku_price(w, sku) > sku_price(w, best))
							best = sku;
					}
					o->sku_id = best;
					o->shop_id = best / 100;
					o->list_price = sku_price(w, best) * (1 + uniform(&r) * 2);
					o->quantity = 1;
					o->discount = 0;
					o->coupon = NULL;
					o->review_stars = 0;
					o->device_id = device;
					o->ip = ip | (uint32) between(&r, 0, 3);
					o->address_id = address;
					o->pattern = e->pattern;
					made++;
				}
				break;
			}
		case P_COUPON_ABUSE:
			{
				int			n = (int) between(&r, 10, 40);
				int			ndev = (int) between(&r, 1, 3);
				int			naddr = (int) between(&r, 1, 2);
				int			ncard = (int) between(&r, 1, 3);
				uint32		net = mobile_ip(&r) & ~0xffu;

				if (buf == NULL)
					return *abusive = n;
				for (int i = 0; i < n; i++)
				{
					TimestampTz t = t0 + between(&r, 0, 6 * USECS_PER_HOUR);
					Buyer		b = fresh_account(w, &r, ring_key(e, i),
												  t - between(&r, 10 * USECS_PER_MINUTE, 48 * USECS_PER_HOUR));
					Order	   *o = buffer_add(buf);

					ordinary_order(w, &r, &b, t, o);
					o->device_id = fresh_id(w, e->pattern, e->number, (int) between(&r, 0, ndev - 1));
					o->address_id = fresh_id(w, e->pattern, e->number, 10 + (int) between(&r, 0, naddr - 1));
					o->payment_id = fresh_id(w, e->pattern, e->number, 20 + (int) between(&r, 0, ncard - 1));
					o->ip = net | (uint32) between(&r, 1, 254);
					o->coupon = "WELCOME5";
					o->quantity = 1;
					o->review_stars = 0;
					o->pattern = e->pattern;
					made++;
				}
				break;
			}
		case P_DEAL_HUNTING:
			{
				int			hunters = (int) between(&r, 5, 20);
				int			per = (int) between(&r, 1, 3);
				int32		shop = shop_at_rank(w, zipf(&r, w->shops, 1.1));
				int32		sku = shop * 100 + (int32) between(&r, 0, SKUS_PER_SHOP - 1);
				double		off = round((85 + uniform(&r) * 10)) / 100;

				if (buf == NULL)
					return *abusive = hunters * per;
				for (int h = 0; h < hunters; h++)
				{
					/* heavy buyers: the top of the activity ranking, with old accounts */
					Buyer		b;

					for (int tries = 0;; tries++)
					{
						b = tries < 100 ? buyer_of(w, buyer_at_rank(w, zipf(&r, Max(w->buyers / 50, 1), 1.0)))
							: ordinary_buyer(w, &r, t0);
						if (tries >= 100 || b.signup <= t0 - 30 * USECS_PER_DAY)
							break;
					}

					for (int i = 0; i < per; i++)
					{
						Order	   *o = buffer_add(buf);

						ordinary_order(w, &r, &b, t0 + between(&r, 0, 2 * USECS_PER_HOUR), o);
						o->shop_id = shop;
						o->sku_id = sku;
						o->list_price = sku_price(w, sku);
						o->discount = off;
						o->quantity = (int32) between(&r, 5, 10);
						o->coupon = NULL;
						o->pattern = e->pattern;
						made++;
					}
				}
				break;
			}
		case P_SCALPING:
			{
				int			scalpers = (int) between(&r, 5, 15);
				int			fans = (int) between(&r, 10, 30);
				int			ncard = (int) between(&r, 2, 3);
				int			naddr = (int) between(&r, 1, 3);
				int32		shop = shop_at_rank(w, zipf(&r, 30, 1.0));
				int32		sku = shop * 100 + SKUS_PER_SHOP + (int32) (e->number % 50);	/* a new SKU */
				TimestampTz release = day + (chance(&r, 0.5) ? 10 : 20) * USECS_PER_HOUR;
				uint32		net = (chance(&r, 0.5) ? datacenter_ip(&r) : mobile_ip(&r)) & ~0xffu;
				int			per[15];
				int			n = 0;

				for (int i = 0; i < scalpers; i++)
					n += per[i] = (int) between(&r, 1, 2);
				if (buf == NULL)
				{
					*abusive = n;
					return n + fans;
				}
				for (int i = 0; i < scalpers; i++)
				{
					Buyer		b = fresh_account(w, &r, ring_key(e, i),
												  release - between(&r, 1, 60) * USECS_PER_DAY);

					for (int k = 0; k < per[i]; k++)
					{
						Order	   *o = buffer_add(buf);

						ordinary_order(w, &r, &b, release + between(&r, 0, 5 * USECS_PER_MINUTE), o);
						o->shop_id = shop;
						o->sku_id = sku;
						o->list_price = sku_price(w, sku) * 3;
						o->quantity = (int32) between(&r, 2, 4);
						o->discount = 0;
						o->coupon = NULL;
						o->payment_id = fresh_id(w, e->pattern, e->number, 20 + (int) between(&r, 0, ncard - 1));
						o->address_id = fresh_id(w, e->pattern, e->number, 10 + (int) between(&r, 0, naddr - 1));
						o->ip = net | (uint32) between(&r, 1, 254);
						o->pattern = e->pattern;
						made++;
					}
				}
				/* ordinary fans buy at the release too, one or two each */
				for (int i = 0; i < fans; i++)
				{
					TimestampTz t = release + (TimestampTz) (USECS_PER_HOUR * pow(uniform(&r), 3));
					Buyer		b = ordinary_buyer(w, &r, t);
					Order	   *o = buffer_add(buf);

					ordinary_order(w, &r, &b, t, o);
					o->shop_id = shop;
					o->sku_id = sku;
					o->list_price = sku_price(w, sku) * 3;
					o->quantity = chance(&r, 0.7) ? 1 : 2;
					o->discount = 0;
					made++;
				}
				break;
			}
		case P_BRUSHING:
			{
				int			ring = (int) between(&r, 5, 20);
				int			per = (int) between(&r, 3, 10);
				int32		shop = shop_at_rank(w, between(&r, w->shops / 2, w->shops - 1));
				int			naddr = (int) between(&r, 1, 2);
				int			ncard = (int) between(&r, 1, 3);

				if (buf == NULL)
					return *abusive = ring * per;
				for (int i = 0; i < ring; i++)
				{
					Buyer		b = fresh_account(w, &r, ring_key(e, i),
												  t0 - between(&r, 1, 30) * USECS_PER_DAY);

					for (int k = 0; k < per; k++)
					{
						Order	   *o = buffer_add(buf);

						ordinary_order(w, &r, &b, t0 + between(&r, 0, 16 * USECS_PER_HOUR), o);
						o->shop_id = shop;
						o->sku_id = shop * 100 + (int32) between(&r, 0, 4);
						o->list_price = round((1 + uniform(&r) * 4) * 100) / 100;
						o->quantity = 1;
						o->discount = 0;
						o->coupon = NULL;
						o->address_id = fresh_id(w, e->pattern, e->number, 10 + (int) between(&r, 0, naddr - 1));
						o->payment_id = fresh_id(w, e->pattern, e->number, 20 + (int) between(&r, 0, ncard - 1));
						if (chance(&r, 0.7))
						{
							o->review_stars = 5;
							o->review_minutes = (int32) between(&r, 10, 90);
						}
						else
							o->review_stars = 0;
						o->pattern = e->pattern;
						made++;
					}
				}
				break;
			}
		case P_CLICK_FARM:
			{
				int			accounts = (int) between(&r, 20, 100);
				int			per = (int) between(&r, 1, 3);
				int			ndev = (int) between(&r, 2, 5);
				int			nshops = (int) between(&r, 1, 3);
				int64		pace = between(&r, 20, 60) * 1000000;	/* one order every 20 to 60 s */
				uint32		net = (chance(&r, 0.6) ? datacenter_ip(&r) : mobile_ip(&r)) & ~0xffu;
				int32		shops[3];
				Buyer		farm[100];

				if (buf == NULL)
					return *abusive = accounts * per;
				for (int s = 0; s < nshops; s++)
					shops[s] = shop_at_rank(w, between(&r, w->shops / 3, w->shops - 1));
				for (int i = 0; i < accounts; i++)
					farm[i] = fresh_account(w, &r, ring_key(e, i),
											t0 - between(&r, 1, 10) * USECS_PER_DAY);
				for (int i = 0; i < accounts * per; i++)
				{
					Buyer	   *b = &farm[i % accounts];
					Order	   *o = buffer_add(buf);
					int32		shop = shops[between(&r, 0, nshops - 1)];

					ordinary_order(w, &r, b, t0 + i * pace + between(&r, 0, 1000000), o);
					o->shop_id = shop;
					o->sku_id = shop * 100 + (int32) between(&r, 0, 9);
					o->list_price = round((2 + uniform(&r) * 8) * 100) / 100;
					o->quantity = 1;
					o->discount = 0;
					o->coupon = NULL;
					o->device_id = fresh_id(w, e->pattern, e->number, (int) between(&r, 0, ndev - 1));
					o->ip = net | (uint32) between(&r, 1, 254);
					o->pattern = e->pattern;
					made++;
				}
				break;
			}
		case P_ADDRESS_HARVESTING:
			{
				int			accounts = (int) between(&r, 1, 3);
				int			per = (int) between(&r, 20, 60);

				if (buf == NULL)
					return *abusive = accounts * per;
				for (int a = 0; a < accounts; a++)
				{
					Buyer		b = fresh_account(w, &r, ring_key(e, a),
												  t0 - between(&r, 1, 90) * USECS_PER_DAY);

					for (int i = 0; i < per; i++)
					{
						Order	   *o = buffer_add(buf);
						Buyer		other = buyer_of(w, between(&r, 1, w->buyers));

						ordinary_order(w, &r, &b, t0 + between(&r, 0, 8 * USECS_PER_HOUR), o);
						o->list_price = round((0.2 + uniform(&r) * 1.5) * 100) / 100;
						o->quantity = 1;
						o->discount = 0;
						o->coupon = NULL;
						o->review_stars = 0;
						/* shipped to another buyer's address, from the leaked data */
						o->address_id = other.household * 4;
						o->pattern = e->pattern;
						made++;
					}
				}
				break;
			}
		case P_CARD_TESTING:
			{
				int			cards = (int) between(&r, 15, 60);
				int			retries = (int) between(&r, 0, cards / 3);
				int			accounts = (int) between(&r, 1, 2);
				int			ndev = (int) between(&r, 1, 2);
				int64		pace = between(&r, 15, 90) * 1000000;	/* a try every 15 to 90 s */
				double		works = 0.05 + uniform(&r) * 0.15;	/* the share of live cards */
				uint32		net = (chance(&r, 0.6) ? datacenter_ip(&r) : mobile_ip(&r)) & ~0xffu;
				int32		shop = shop_at_rank(w, zipf(&r, 30, 1.0));	/* digital goods */
				int64		address = fresh_id(w, e->pattern, e->number, 10);
				TimestampTz t = t0;
				Buyer		tester[2];

				if (buf == NULL)
					return *abusive = cards + retries;
				for (int a = 0; a < accounts; a++)
					tester[a] = fresh_account(w, &r, ring_key(e, a),
											  t0 - between(&r, 10 * USECS_PER_MINUTE, 3 * USECS_PER_DAY));
				for (int c = 0; c < cards; c++)
				{
					/* a live card goes through; a dead one is declined, and perhaps tried again */
					bool		live = chance(&r, works);
					int			tries = 1;

					/* the retries all made, as counted: the last cards all tried twice if need be */
					if (retries > 0 && (cards - c <= retries || (!live && chance(&r, 0.5))))
					{
						tries = 2;
						live = false;
						retries--;
					}
					for (int k = 0; k < tries; k++)
					{
						Order	   *o = buffer_add(buf);

						t += pace / 2 + between(&r, 0, pace);
						ordinary_order(w, &r, &tester[between(&r, 0, accounts - 1)], t, o);
						o->shop_id = shop;
						o->sku_id = shop * 100 + (int32) between(&r, 0, 4);
						o->list_price = round((0.5 + uniform(&r) * 2.5) * 100) / 100;
						o->quantity = 1;
						o->discount = 0;
						o->coupon = NULL;
						o->review_stars = 0;
						o->device_id = fresh_id(w, e->pattern, e->number, (int) between(&r, 0, ndev - 1));
						o->ip = net | (uint32) between(&r, 1, 254);
						o->address_id = address;
						o->payment_id = fresh_id(w, e->pattern, e->number, 100 + c);
						o->declined = live ? DECLINE_NO : DECLINE_YES;
						o->pattern = e->pattern;
						made++;
					}
				}
				break;
			}
		case P_NORMAL:
		case P_COUNT:
			elog(ERROR, "no episodes of pattern %d", (int) e->pattern);
	}
	return made;
}

/* ------------------------------------------------------------------------
 * The plan: episodes by day, ordinary orders filling each day
 * ------------------------------------------------------------------------
 */

typedef struct OrderPlan
{
	World		w;
	int64		n;
	Episode    *episodes;		/* by day, then in the order they were planned */
	int			num_episodes;
	int			next_episode;	/* the first of the next day's */
	int64	   *ordinary;		/* ordinary orders of each day */
	int32		day;			/* next day to make */
	OrderBuffer buf;
	int			at;				/* next order of buf to return */
	int			end;			/* orders of buf before the day's end */
	OrderBuffer carry;			/* episodes' orders past their day's end */
	int64		next_id;
} OrderPlan;

static int
cmp_episode(const void *a, const void *b)
{
	const Episode *x = a;
	const Episode *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->planned < y->planned ? -1 : x->planned > y->planned;
}

static void
plan_make(OrderPlan *plan)
{
	const World *w = &plan->w;
	int64		abuse = 0;
	int			cap = 64;
	double	   *weight = palloc(sizeof(double) * w->days);
	double		total = 0;
	int64		given = 0;

	plan->episodes = palloc(sizeof(Episode) * cap);
	plan->num_episodes = 0;
	for (Pattern p = P_ACCOUNT_TAKEOVER; p < P_COUNT; p++)
	{
		double		target = pattern_share[p] * plan->n;
		int64		made = 0;
		int			abusive;

		/* at least one episode of each pattern once there are 2,000 orders */
		for (int64 k = 0; made < target || (k == 0 && plan->n >= 2000); k++)
		{
			Rng			r = rng_for(w->stream, W_DAY, k * EPISODE_KEYS + p);
			Episode    *e;

			if (k % 1024 == 0)
				CHECK_FOR_INTERRUPTS();

			if (plan->num_episodes == cap)
			{
				cap *= 2;
				plan->episodes = repalloc_huge(plan->episodes, sizeof(Episode) * cap);
			}
			e = &plan->episodes[plan->num_episodes];
			e->pattern = p;
			e->number = k;
			e->day = (int32) between(&r, 0, w->days - 1);
			e->orders = episode_orders(w, e, NULL, &abusive);
			e->planned = plan->num_episodes;
			if (abuse + e->orders > plan->n / 10)
				break;			/* too few orders for this much abuse */
			made += abusive;
			abuse += e->orders;
			plan->num_episodes++;
		}
	}
	/* by day, keeping the planned order within a day (each day's orders come out as before) */
	qsort(plan->episodes, plan->num_episodes, sizeof(Episode), cmp_episode);
	plan->next_episode = 0;

	/* ordinary orders: more at weekends, growing a little over the period */
	for (int d = 0; d < w->days; d++)
	{
		int64		days_since_2000 = w->start / USECS_PER_DAY - (w->start % USECS_PER_DAY < 0);
		int			dow = (int) ((((days_since_2000 + d + 6) % 7) + 7) % 7);	/* 0: Sunday */

		weight[d] = (dow == 0 || dow == 6 ? 1.15 : 1.0) * (1 + 0.1 * d / w->days);
		total += weight[d];
	}
	plan->ordinary = palloc0(sizeof(int64) * w->days);
	for (int d = 0; d < w->days; d++)
	{
		plan->ordinary[d] = (int64) floor((plan->n - abuse) * weight[d] / total);
		given += plan->ordinary[d];
	}
	for (int d = 0; given < plan->n - abuse; d = (d + 1) % w->days, given++)
		plan->ordinary[d]++;
}

static int
cmp_order(const void *a, const void *b)
{
	const Order *x = a;
	const Order *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	if (x->buyer_id != y->buyer_id)
		return x->buyer_id < y->buyer_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Information leakage, after leak_at: a staff coupon (50% off) spreads on
 * forums, and ordinary accounts, on their own devices and networks, use it
 * on expensive items: at first a few orders in a thousand, then more each
 * day.  Drawn from a stream of its own, so that the orders before leak_at,
 * and the others after it, are those the same arguments give without it.
 */
static void
leaked_coupon(const World *w, int32 day, int64 i, Order *o)
{
	Rng			r = rng_for(w->stream, W_LEAK, (int64) day * MAX_ORDERS_A_DAY + i);
	double		days_since = (double) (o->created_at - w->leak_at) / USECS_PER_DAY;

	if (!chance(&r, Min(0.003 * (1 + days_since), 0.02)))
		return;
	o->coupon = LEAKED_COUPON;
	o->discount = 0.5;
	o->quantity = chance(&r, 0.7) ? 1 : 2;
	if (o->list_price < 80)
		o->list_price = round((80 + uniform(&r) * 320) * 100) / 100;
	o->pattern = P_COUPON_LEAK;
}

/* The next day's orders into the buffer, sorted by time. */
static void
plan_day(OrderPlan *plan)
{
	const World *w = &plan->w;
	int32		d = plan->day++;
	TimestampTz day = w->start + (TimestampTz) d * USECS_PER_DAY;
	Rng			r = rng_for(w->stream, W_DAY * 16, d);

	plan->buf.n = 0;
	plan->at = 0;
	for (int i = 0; i < plan->carry.n; i++)
		*buffer_add(&plan->buf) = plan->carry.orders[i];
	plan->carry.n = 0;
	for (; plan->next_episode < plan->num_episodes && plan->episodes[plan->next_episode].day == d;
		 plan->next_episode++)
		episode_orders(w, &plan->episodes[plan->next_episode], &plan->buf, NULL);
	for (int64 i = 0; i < plan->ordinary[d]; i++)
	{
		TimestampTz t = day + time_of_day(&r);
		Buyer		b;

		if (i % 4096 == 0)
			CHECK_FOR_INTERRUPTS();
		b = ordinary_buyer(w, &r, t);

		ordinary_order(w, &r, &b, t, buffer_add(&plan->buf));
		if (t >= w->leak_at)
			leaked_coupon(w, d, i, &plan->buf.orders[plan->buf.n - 1]);
	}
	qsort(plan->buf.orders, plan->buf.n, sizeof(Order), cmp_order);
	/* what runs past midnight comes with the next day's orders (the last day keeps all) */
	plan->end = plan->buf.n;
	if (plan->day < w->days)
		while (plan->end > 0 && plan->buf.orders[plan->end - 1].created_at >= day + USECS_PER_DAY)
			plan->end--;
	for (int i = plan->end; i < plan->buf.n; i++)
		*buffer_add(&plan->carry) = plan->buf.orders[i];
}

/* ------------------------------------------------------------------------
 * SQL: risk.synthetic_orders(n, seed, start_at, days, buyers, first_order_id)
 * ------------------------------------------------------------------------
 */

static Datum
ip_datum(uint32 ip)
{
	char		text[32];

	snprintf(text, sizeof(text), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return DirectFunctionCall1(inet_in, CStringGetDatum(text));
}

/* Device, address and card ids as a marketplace shows them: opaque, saying nothing of their origin. */
static int64
public_id(int64 id, uint64 kind)
{
	return (int64) (mix64((uint64) id * 4 + kind) >> 2) + 1;
}

static HeapTuple
order_tuple(TupleDesc desc, const World *w, const Order *o, int64 id)
{
	Datum		v[21];
	bool		nulls[21] = {false};
	double		price = round(o->list_price * 100) / 100;
	double		amount = round(o->quantity * price * (1 - o->discount) * 100) / 100;

	v[0] = Int64GetDatum(id);
	v[1] = TimestampTzGetDatum(o->created_at);
	v[2] = Int64GetDatum(o->buyer_id);
	v[3] = TimestampTzGetDatum(o->account_created_at);
	v[4] = Int64GetDatum(public_id(o->device_id, 1));
	v[5] = ip_datum(o->ip);
	v[6] = Int64GetDatum(public_id(o->address_id, 2));
	v[7] = Int64GetDatum(public_id(o->payment_id, 3));
	v[8] = Int32GetDatum(o->shop_id);
	v[9] = Int32GetDatum(o->sku_id);
	v[10] = Int32GetDatum(o->quantity);
	v[11] = Float8GetDatum(price);
	v[12] = Float8GetDatum(o->discount);
	v[13] = Float8GetDatum(amount);
	if (o->coupon)
		v[14] = CStringGetTextDatum(o->coupon);
	else
		nulls[14] = true;
	if (o->review_stars > 0)
	{
		v[15] = Int32GetDatum(o->review_stars);
		v[16] = Int32GetDatum(o->review_minutes);
	}
	else
		nulls[15] = nulls[16] = true;
	if (o->declined == DECLINE_DRAWN)
	{
		Rng			r = rng_for(w->stream, W_DECLINE, id);

		v[17] = BoolGetDatum(chance(&r, decline_chance[o->pattern]));
	}
	else
		v[17] = BoolGetDatum(o->declined == DECLINE_YES);
	v[18] = BoolGetDatum(o->pattern != P_NORMAL);
	v[19] = CStringGetTextDatum(pattern_names[o->pattern]);
	/* its own stream: the other columns are as they were without it */
	nulls[20] = true;
	if (o->pattern != P_NORMAL)
	{
		Rng			r = rng_for(w->stream, W_REPORT, id);

		if (chance(&r, report_chance[o->pattern]))
		{
			double		u = uniform(&r);
			double		days = report_days[o->pattern][0] +
				(report_days[o->pattern][1] - report_days[o->pattern][0]) * u * u;

			v[20] = TimestampTzGetDatum(o->created_at + (TimestampTz) (days * USECS_PER_DAY));
			nulls[20] = false;
		}
	}
	return heap_form_tuple(desc, v, nulls);
}

/*
 * Every timestamp made lies from start_at - 1,100 days (the oldest accounts
 * signed up three years before) to start_at + days + 2 days (episodes that
 * run past the last midnight): both ends must be timestamps.
 */
static void
check_time_range(TimestampTz start, int32 days)
{
	TimestampTz first;
	TimestampTz last;

	if (pg_sub_s64_overflow(start, EARLIEST_DAYS * USECS_PER_DAY, &first) ||
		pg_add_s64_overflow(start, (int64) (days + LATEST_DAYS) * USECS_PER_DAY, &last) ||
		!IS_VALID_TIMESTAMP(first) || !IS_VALID_TIMESTAMP(last))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("risk.synthetic_orders: start_at and days make timestamps out of range"),
				 errdetail("The orders and accounts span from start_at - %d days to start_at + days + %d days.",
						   EARLIEST_DAYS, LATEST_DAYS)));
}

PG_FUNCTION_INFO_V1(risk_synthetic_orders);
Datum
risk_synthetic_orders(PG_FUNCTION_ARGS)
{
	FuncCallContext *fc;
	OrderPlan	   *plan;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	desc;
		int64		n = PG_GETARG_INT64(0);
		int32		days = PG_GETARG_INT32(3);

		fc = SRF_FIRSTCALL_INIT();
		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders needs n >= 0, not " INT64_FORMAT, n)));
		if (days < 1 || days > 3660)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders needs days from 1 to 3660, not %d", days)));
		/* a day's orders are held in memory: about 120 bytes each */
		if (n > MAX_ORDERS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders makes at most 1,000,000,000 orders a call, not " INT64_FORMAT, n),
					 errhint("Call it several times with a later start_at and first_order_id.")));
		if (n / days > MAX_ORDERS_A_DAY)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders makes at most 1,000,000 orders a day, not " INT64_FORMAT, n / days),
					 errhint("Spread the orders over more days, or call it several times with a later start_at.")));
		if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders needs a finite start_at")));
		check_time_range(PG_GETARG_TIMESTAMPTZ(2), days);
		if (n > 0 && PG_GETARG_INT64(5) > PG_INT64_MAX - (n - 1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("risk.synthetic_orders: order ids from " INT64_FORMAT " for " INT64_FORMAT " orders are out of range for bigint",
							PG_GETARG_INT64(5), n)));
		old = MemoryContextSwitchTo(fc->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "risk.synthetic_orders must return a row type");
		fc->tuple_desc = BlessTupleDesc(desc);
		plan = palloc0(sizeof(OrderPlan));
		plan->n = n;
		plan->w.seed = PG_GETARG_INT32(1);
		plan->w.start = PG_GETARG_TIMESTAMPTZ(2);
		plan->w.leak_at = PG_NARGS() > 6 ? PG_GETARG_TIMESTAMPTZ(6) : DT_NOEND;
		/* another start_at, other orders of the same world: a history can be continued */
		plan->w.stream = (int64) mix64((uint64) plan->w.seed ^ mix64((uint64) plan->w.start));
		plan->w.days = days;
		plan->w.buyers = PG_GETARG_INT64(4) == 0 ? Max(n / 6, 100) : PG_GETARG_INT64(4);
		if (plan->w.buyers < 10 || plan->w.buyers > (INT64CONST(1) << 38))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.synthetic_orders needs from 10 to 2^38 buyers, not " INT64_FORMAT,
							plan->w.buyers)));
		plan->w.shops = (int32) Min(Max(plan->w.buyers / 300, 50), 1000000);
		plan->w.rank_step = rank_step(plan->w.buyers);
		plan->next_id = PG_GETARG_INT64(5);
		plan_make(plan);
		fc->user_fctx = plan;
		MemoryContextSwitchTo(old);
	}
	fc = SRF_PERCALL_SETUP();
	plan = fc->user_fctx;
	while (plan->at >= plan->end)
	{
		MemoryContext old;

		if (plan->day >= plan->w.days)
			SRF_RETURN_DONE(fc);
		old = MemoryContextSwitchTo(fc->multi_call_memory_ctx);
		plan_day(plan);
		MemoryContextSwitchTo(old);
	}
	{
		const Order *o = &plan->buf.orders[plan->at++];

		SRF_RETURN_NEXT(fc, HeapTupleGetDatum(order_tuple(fc->tuple_desc, &plan->w, o, plan->next_id++)));
	}
}
