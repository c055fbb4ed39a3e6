/*
 * The synthetic population of the exposure simulation (exposure_population.h).
 */
#include "exposure_population.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "normalize.h"

#define NO_DAY UINT32_MAX

/* Address book mix: other users' phones, their emails, outsiders' numbers. */
#define SHARE_USER_PHONE 0.65
#define SHARE_USER_EMAIL 0.15
/* One user in this many has an email besides the phone number. */
#define EMAIL_EVERY      2
/* A user re-checks the whole book on a day after the first with 1 / this. */
#define RECHECK_EVERY    7

static const uint16_t area_codes[EXPOSURE_NANP_AREA_CODES] = {
        201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
        225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270,
        276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318,
        319, 320, 321, 323, 325, 330, 331, 334, 336, 337, 339, 347, 351, 352, 360, 361, 385, 386,
        401, 402, 404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 424, 425,
        430, 432, 434, 435, 440, 443, 469, 470, 475, 478, 479, 480, 484, 501, 502, 503, 504, 505,
        507, 508, 509, 510, 512, 513, 515, 516, 517, 518, 520, 530, 540, 541, 551, 559, 561, 562,
        563, 567, 570, 571, 573, 574, 575, 580, 585, 586, 601, 602, 603, 605, 606, 607, 608, 609,
        610, 612, 614, 615, 616, 617, 618, 619, 620, 623, 626, 630, 631, 636, 641, 646, 650, 651,
        660, 661, 662, 678, 682, 701, 702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716, 717,
        718, 719, 720, 724, 727, 731, 732, 734, 740, 754, 757, 760, 763, 765, 770, 772, 773, 774,
        775, 781, 785, 786, 801, 802, 803, 804, 805, 806, 808, 810, 812, 813, 814, 815, 816, 817,
        818, 828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857, 858, 859, 860, 862, 863, 864,
        865, 870, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916, 917, 918, 919,
        920, 925, 928, 931, 936, 937, 940, 941, 947, 949, 951, 952, 954, 956, 970, 971, 972, 973,
        978, 979, 980, 985, 989,
};

static const uint8_t hour_slots[EXPOSURE_HOUR_SLOTS] = {8, 12, 17, 21};

static const char *const first_names[] = {"ann",  "bo",   "chen", "dana",  "eli", "fatima", "gus",
                                          "hana", "ivan", "jo",   "kemal", "lea", "mo",     "nia"};
static const char *const last_names[] = {"smith", "garcia", "nguyen", "okafor", "kowalski",
                                         "silva", "tanaka", "ali",    "brown",  "muller"};
static const char *const domains[] = {"example.org", "example.com", "example.net", "mail.example",
                                      "post.example"};

unsigned
exposure_hour_slot(unsigned i)
{
	return i < EXPOSURE_HOUR_SLOTS ? hour_slots[i] : hour_slots[0];
}

/* ------------------------------------------------------------------ */
/* A deterministic generator: xoshiro256** seeded through splitmix64. */

typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(rng *r)
{
	const uint64_t result = rotl(r->s[1] * 5, 7) * 9;
	const uint64_t t = r->s[1] << 17;
	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

/* Uniform below n (n > 0), without modulo bias. */
static uint64_t
rng_below(rng *r, uint64_t n)
{
	const uint64_t threshold = (0 - n) % n;
	for (;;) {
		const uint64_t x = rng_next(r);
		if (x >= threshold)
			return x % n;
	}
}

static double
rng_unit(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------------ */
/* The population */

#define HANDLE_TEXT 64

typedef struct handle_rec {
	char normalized[HANDLE_TEXT];
	char written[HANDLE_TEXT];
	uint32_t bucket;
	uint8_t registered;
} handle_rec;

struct exposure_population {
	exposure_population_config config;
	uint8_t *secrets; /* guarded, users * 32 */
	uint8_t *publics; /* users * 32 */
	handle_rec *handles;
	size_t handle_count;
	uint32_t *user_phone, *user_email; /* UINT32_MAX: none */
	size_t outsiders_first, outsiders_count;
	size_t padding_first, padding_count;
	/* Address books: user u owns book[u * book_cap ...], book_len[u] used. */
	size_t book_cap;
	uint32_t *book;
	uint16_t *book_last_day; /* the last day each book entry was looked up */
	uint32_t *book_len;
	exposure_request *requests;
	size_t request_count;
	size_t *day_first; /* days + 1 */
	uint32_t *registered_buckets;
	size_t registered_count;
	uint64_t lookups, unregistered_lookups;
};

/* A set of 64-bit numbers, open addressing; 0 is never stored. */
typedef struct number_set {
	uint64_t *slots;
	size_t mask;
} number_set;

static int
number_set_init(number_set *s, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2 + 16)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
	return s->slots != NULL ? 0 : -1;
}

/* Adds x; returns 1 if it was new, 0 if present. */
static int
number_set_add(number_set *s, uint64_t x)
{
	size_t i = (size_t)((x * 0x9e3779b97f4a7c15ULL) >> 20) & s->mask;
	while (s->slots[i] != 0) {
		if (s->slots[i] == x)
			return 0;
		i = (i + 1) & s->mask;
	}
	s->slots[i] = x;
	return 1;
}

/* The ways address books write a 10-digit NANP number: what comes before
 * the area code, between it and the exchange, and before the line. */
static const struct phone_style {
	const char *lead, *after_area, *after_exchange;
} phone_styles[] = {
        {"(", ") ", "-"},  /* (415) 555-0100 */
        {"+1 ", "-", "-"}, /* +1 415-555-0100 */
        {"", ".", "."},    /* 415.555.0100 */
        {"1-", "-", "-"},  /* 1-415-555-0100 */
        {"", "", ""},      /* 4155550100 */
};
#define PHONE_STYLES (sizeof(phone_styles) / sizeof(phone_styles[0]))

/* Writes a 10-digit NANP number in one of the ways address books have it. */
static void
write_phone(char *out, size_t cap, unsigned area, unsigned exchange, unsigned line, unsigned style)
{
	const struct phone_style *s = &phone_styles[style % PHONE_STYLES];
	snprintf(out, cap, "%s%03u%s%03u%s%04u", s->lead, area, s->after_area, exchange,
	         s->after_exchange, line);
}

static veil_err
normalize_into(handle_rec *h)
{
	size_t len = 0;
	char out[NORMALIZE_MAX_HANDLE];
	if (normalize_handle(h->written, strlen(h->written), "US", out, sizeof(out), &len) !=
	            NORMALIZE_OK ||
	    len >= sizeof(h->normalized))
		return VEIL_ERR_INVALID_INPUT;
	memcpy(h->normalized, out, len + 1);
	h->bucket = entry_bucket(h->normalized, len);
	return VEIL_OK;
}

/* A new phone number of the plan, unique in seen and valid in libphonenumber. */
static veil_err
make_phone(rng *r, number_set *seen, handle_rec *h)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		const unsigned area = area_codes[rng_below(r, EXPOSURE_NANP_AREA_CODES)];
		unsigned exchange = 200 + (unsigned)rng_below(r, 800);
		if (exchange % 100 == 11)
			continue; /* N11 codes are services, not exchanges */
		const unsigned line = (unsigned)rng_below(r, 10000);
		const uint64_t number = (uint64_t)area * 10000000ULL + exchange * 10000ULL + line;
		if (!number_set_add(seen, number))
			continue;
		write_phone(h->written, sizeof(h->written), area, exchange, line,
		            (unsigned)rng_below(r, PHONE_STYLES));
		if (normalize_into(h) == VEIL_OK)
			return VEIL_OK;
		/* A block libphonenumber does not know (505-64x in 8.12): draw again. */
	}
	return VEIL_ERR_INVALID_INPUT;
}

static veil_err
make_email(rng *r, uint32_t user, handle_rec *h)
{
	const char *first = first_names[rng_below(r, sizeof(first_names) / sizeof(first_names[0]))];
	const char *last = last_names[rng_below(r, sizeof(last_names) / sizeof(last_names[0]))];
	const char *domain = domains[rng_below(r, sizeof(domains) / sizeof(domains[0]))];
	/* The user number keeps addresses unique; the case is how people type it. */
	snprintf(h->written, sizeof(h->written), " %c%s.%s%u@%s ", first[0] - 'a' + 'A', first + 1,
	         last, user, domain);
	return normalize_into(h);
}

static int
compare_u32(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Marks of "in the current user's book", stamped so they need no clearing. */
typedef struct marks {
	uint64_t *stamp;
	uint64_t current;
} marks;

static void
marks_begin(marks *m, const exposure_population *pop, uint32_t user)
{
	m->current++;
	const uint32_t *book = pop->book + (size_t)user * pop->book_cap;
	for (uint32_t i = 0; i < pop->book_len[user]; i++)
		m->stamp[book[i]] = m->current;
	m->stamp[pop->user_phone[user]] = m->current;
	if (pop->user_email[user] != UINT32_MAX)
		m->stamp[pop->user_email[user]] = m->current;
}

/* A handle user does not have yet: another user's, or an outsider's. */
static uint32_t
draw_contact(exposure_population *pop, rng *r, marks *m, uint32_t user)
{
	const uint32_t users = pop->config.users;
	for (int attempt = 0; attempt < 64; attempt++) {
		const double kind = rng_unit(r);
		uint32_t h;
		if (kind < SHARE_USER_PHONE + SHARE_USER_EMAIL && users > 1) {
			uint32_t other = (uint32_t)rng_below(r, users);
			if (other == user)
				continue;
			h = pop->user_phone[other];
			if (kind >= SHARE_USER_PHONE && pop->user_email[other] != UINT32_MAX)
				h = pop->user_email[other];
		} else {
			h = (uint32_t)(pop->outsiders_first + rng_below(r, pop->outsiders_count));
		}
		if (m->stamp[h] != m->current) {
			m->stamp[h] = m->current;
			return h;
		}
	}
	/* A crowded book: the first outsider not in it (there are more outsiders
	 * than any book holds). */
	for (size_t i = 0; i < pop->outsiders_count; i++) {
		const uint32_t h = (uint32_t)(pop->outsiders_first + i);
		if (m->stamp[h] != m->current) {
			m->stamp[h] = m->current;
			return h;
		}
	}
	abort(); /* unreachable: outsiders_count exceeds book_cap */
}

static void
add_request(exposure_population *pop, uint32_t user, uint32_t day, uint8_t slot, uint32_t first,
            uint32_t count)
{
	exposure_request *q = &pop->requests[pop->request_count++];
	q->user = user;
	q->day = day;
	q->hour_slot = slot;
	q->first = first;
	q->count = count;
	const uint32_t *book = pop->book + (size_t)user * pop->book_cap;
	uint16_t *last = pop->book_last_day + (size_t)user * pop->book_cap;
	for (uint32_t i = first; i < first + count; i++) {
		last[i] = (uint16_t)day;
		pop->lookups++;
		if (!pop->handles[book[i]].registered)
			pop->unregistered_lookups++;
	}
}

/* Builds the plan day by day; requests of a day are then ordered by slot. */
static veil_err
build_plan(exposure_population *pop, rng *r)
{
	const exposure_population_config *cfg = &pop->config;
	marks m = {calloc(pop->handle_count, sizeof(uint64_t)), 0};
	exposure_request *sorted = malloc(cfg->users * sizeof(*sorted));
	if (m.stamp == NULL || sorted == NULL) {
		free(m.stamp);
		free(sorted);
		return VEIL_ERR_NOMEM;
	}
	for (uint32_t day = 0; day < cfg->days; day++) {
		const size_t day_start = pop->request_count;
		pop->day_first[day] = day_start;
		for (uint32_t u = 0; u < cfg->users; u++) {
			const uint8_t slot = (uint8_t)rng_below(r, EXPOSURE_HOUR_SLOTS);
			uint32_t *book = pop->book + (size_t)u * pop->book_cap;
			if (day == 0) {
				marks_begin(&m, pop, u);
				for (uint32_t i = 0; i < cfg->contacts; i++)
					book[i] = draw_contact(pop, r, &m, u);
				pop->book_len[u] = cfg->contacts;
				add_request(pop, u, day, slot, 0, cfg->contacts);
			} else if (rng_below(r, RECHECK_EVERY) == 0) {
				add_request(pop, u, day, slot, 0, pop->book_len[u]);
			} else {
				const uint32_t added =
				        (uint32_t)rng_below(r, EXPOSURE_MAX_NEW_CONTACTS + 1);
				if (added == 0)
					continue;
				marks_begin(&m, pop, u);
				const uint32_t first = pop->book_len[u];
				for (uint32_t i = 0; i < added; i++)
					book[first + i] = draw_contact(pop, r, &m, u);
				pop->book_len[u] = first + added;
				add_request(pop, u, day, slot, first, added);
			}
		}
		/* Stable counting sort by slot: veild runs slot after slot. */
		const size_t n = pop->request_count - day_start;
		size_t at = 0;
		for (uint8_t slot = 0; slot < EXPOSURE_HOUR_SLOTS; slot++)
			for (size_t i = 0; i < n; i++)
				if (pop->requests[day_start + i].hour_slot == slot)
					sorted[at++] = pop->requests[day_start + i];
		memcpy(pop->requests + day_start, sorted, n * sizeof(*sorted));
	}
	pop->day_first[cfg->days] = pop->request_count;
	free(m.stamp);
	free(sorted);
	return VEIL_OK;
}

static veil_err
make_users(exposure_population *pop, rng *r, number_set *seen)
{
	const exposure_population_config *cfg = &pop->config;
	veil_err err;
	size_t next = 0;
	for (uint32_t u = 0; u < cfg->users; u++) {
		pop->user_phone[u] = (uint32_t)next;
		if ((err = make_phone(r, seen, &pop->handles[next++])) != VEIL_OK)
			return err;
		pop->user_email[u] = UINT32_MAX;
		if (rng_below(r, EMAIL_EVERY) == 0) {
			pop->user_email[u] = (uint32_t)next;
			if ((err = make_email(r, u, &pop->handles[next++])) != VEIL_OK)
				return err;
		}
		/* Keys from the seed, so a run can be repeated exactly. */
		uint8_t material[16];
		memcpy(material, &cfg->seed, 8);
		memcpy(material + 8, &u, 4);
		memcpy(material + 12, "user", 4);
		crypto_generichash(pop->secrets + (size_t)u * EXPOSURE_KEY_SIZE, EXPOSURE_KEY_SIZE,
		                   material, sizeof(material), (const uint8_t *)"veil-exposure-v1",
		                   16);
		if (crypto_scalarmult_base(pop->publics + (size_t)u * EXPOSURE_KEY_SIZE,
		                           pop->secrets + (size_t)u * EXPOSURE_KEY_SIZE) != 0)
			return VEIL_ERR_CRYPTO;
	}
	pop->outsiders_first = next;
	for (size_t i = 0; i < pop->outsiders_count; i++)
		if ((err = make_phone(r, seen, &pop->handles[next++])) != VEIL_OK)
			return err;
	pop->padding_first = next;
	for (size_t i = 0; i < pop->padding_count; i++) {
		if ((err = make_phone(r, seen, &pop->handles[next])) != VEIL_OK)
			return err;
		pop->handles[next++].registered = 1;
	}
	pop->handle_count = next;

	/* Exactly round(F * n) of the population's own handles, by a partial shuffle. */
	const size_t own = pop->outsiders_first;
	const size_t chosen = (size_t)llround(cfg->registered * (double)own);
	uint32_t *order = malloc(own * sizeof(*order));
	if (order == NULL)
		return VEIL_ERR_NOMEM;
	for (size_t i = 0; i < own; i++)
		order[i] = (uint32_t)i;
	for (size_t i = 0; i < chosen; i++) {
		const size_t j = i + (size_t)rng_below(r, own - i);
		const uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
		pop->handles[order[i]].registered = 1;
	}
	free(order);

	pop->registered_count = chosen + pop->padding_count;
	pop->registered_buckets = malloc((pop->registered_count + 1) * sizeof(uint32_t));
	if (pop->registered_buckets == NULL)
		return VEIL_ERR_NOMEM;
	size_t at = 0;
	for (size_t i = 0; i < pop->handle_count; i++)
		if (pop->handles[i].registered)
			pop->registered_buckets[at++] = pop->handles[i].bucket;
	qsort(pop->registered_buckets, at, sizeof(uint32_t), compare_u32);
	return VEIL_OK;
}

void
exposure_population_free(exposure_population *pop)
{
	if (pop == NULL)
		return;
	sodium_free(pop->secrets); /* NULL ok */
	free(pop->publics);
	free(pop->handles);
	free(pop->user_phone);
	free(pop->user_email);
	free(pop->book);
	free(pop->book_last_day);
	free(pop->book_len);
	free(pop->requests);
	free(pop->day_first);
	free(pop->registered_buckets);
	free(pop);
}

veil_err
exposure_population_new(const exposure_population_config *config, exposure_population **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (config == NULL || config->users < 1 || config->users > EXPOSURE_MAX_USERS ||
	    config->contacts < 1 || config->contacts > EXPOSURE_MAX_CONTACTS || config->days < 1 ||
	    config->days > EXPOSURE_MAX_DAYS || !(config->registered >= 0.0) ||
	    !(config->registered <= 1.0) || config->registry_padding > EXPOSURE_MAX_PADDING)
		return VEIL_ERR_ARGUMENT;

	exposure_population *pop = calloc(1, sizeof(*pop));
	if (pop == NULL)
		return VEIL_ERR_NOMEM;
	pop->config = *config;
	const size_t users = config->users;
	pop->book_cap = config->contacts + (size_t)EXPOSURE_MAX_NEW_CONTACTS * (config->days - 1);
	/* More outsiders than any book holds, so a book can always grow. */
	pop->outsiders_count = 2 * users > pop->book_cap + 16 ? 2 * users : pop->book_cap + 16;
	pop->padding_count = config->registry_padding;
	const size_t most_handles = 2 * users + pop->outsiders_count + pop->padding_count;
	const size_t most_requests = users * (size_t)config->days;

	veil_err err = VEIL_ERR_NOMEM;
	pop->secrets = sodium_malloc(users * EXPOSURE_KEY_SIZE);
	pop->publics = malloc(users * EXPOSURE_KEY_SIZE);
	pop->handles = calloc(most_handles, sizeof(*pop->handles));
	pop->user_phone = malloc(users * sizeof(uint32_t));
	pop->user_email = malloc(users * sizeof(uint32_t));
	pop->book = malloc(users * pop->book_cap * sizeof(uint32_t));
	pop->book_last_day = malloc(users * pop->book_cap * sizeof(uint16_t));
	pop->book_len = calloc(users, sizeof(uint32_t));
	pop->requests = malloc(most_requests * sizeof(*pop->requests));
	pop->day_first = calloc(config->days + 1, sizeof(size_t));
	if (pop->secrets == NULL || pop->publics == NULL || pop->handles == NULL ||
	    pop->user_phone == NULL || pop->user_email == NULL || pop->book == NULL ||
	    pop->book_last_day == NULL || pop->book_len == NULL || pop->requests == NULL ||
	    pop->day_first == NULL)
		goto fail;

	rng r;
	number_set seen;
	rng_seed(&r, config->seed, 1);
	if (number_set_init(&seen, most_handles) != 0)
		goto fail;
	err = make_users(pop, &r, &seen);
	free(seen.slots);
	if (err != VEIL_OK)
		goto fail;
	rng_seed(&r, config->seed, 2);
	if ((err = build_plan(pop, &r)) != VEIL_OK)
		goto fail;
	*out = pop;
	return VEIL_OK;
fail:
	exposure_population_free(pop);
	return err;
}

uint32_t
exposure_population_users(const exposure_population *pop)
{
	return pop->config.users;
}

const uint8_t *
exposure_user_secret(const exposure_population *pop, uint32_t user)
{
	return pop->secrets + (size_t)user * EXPOSURE_KEY_SIZE;
}

const uint8_t *
exposure_user_public(const exposure_population *pop, uint32_t user)
{
	return pop->publics + (size_t)user * EXPOSURE_KEY_SIZE;
}

const uint8_t *
exposure_population_accounts(const exposure_population *pop)
{
	return pop->publics;
}

uint32_t
exposure_user_address(uint32_t user)
{
	/* 100.64.0.0/10, shared address space: plausible, and nobody's. */
	return 0x64400000u | ((user * 2654435761u) & 0x003fffffu);
}

size_t
exposure_population_handles(const exposure_population *pop)
{
	return pop->handle_count;
}

const char *
exposure_handle_normalized(const exposure_population *pop, uint32_t handle)
{
	return pop->handles[handle].normalized;
}

const char *
exposure_handle_written(const exposure_population *pop, uint32_t handle)
{
	return pop->handles[handle].written;
}

uint32_t
exposure_handle_bucket(const exposure_population *pop, uint32_t handle)
{
	return pop->handles[handle].bucket;
}

int
exposure_handle_registered(const exposure_population *pop, uint32_t handle)
{
	return pop->handles[handle].registered;
}

veil_err
exposure_population_registry_file(const exposure_population *pop, buf *out)
{
	buf_append_str(out, "# veil exposure simulation: the registered handles\n");
	for (size_t i = 0; i < pop->handle_count; i++)
		if (pop->handles[i].registered)
			buf_printf(out, "%s\n", pop->handles[i].normalized);
	return buf_error(out);
}

const uint32_t *
exposure_population_registered_buckets(const exposure_population *pop, size_t *count)
{
	*count = pop->registered_count;
	return pop->registered_buckets;
}

const exposure_request *
exposure_population_day(const exposure_population *pop, uint32_t day, size_t *count)
{
	if (day >= pop->config.days) {
		*count = 0;
		return NULL;
	}
	*count = pop->day_first[day + 1] - pop->day_first[day];
	return pop->requests + pop->day_first[day];
}

const uint32_t *
exposure_request_contacts(const exposure_population *pop, const exposure_request *request)
{
	return pop->book + (size_t)request->user * pop->book_cap + request->first;
}

uint64_t
exposure_population_lookups(const exposure_population *pop)
{
	return pop->lookups;
}

double
exposure_population_unregistered_share(const exposure_population *pop)
{
	return pop->lookups > 0 ? (double)pop->unregistered_lookups / (double)pop->lookups : 0.0;
}

void
exposure_population_pairs(const exposure_population *pop, uint64_t seed, uint32_t day_zero,
                          size_t count, exposure_pair *pairs)
{
	rng r;
	rng_seed(&r, seed, 3);
	const uint32_t users = pop->config.users;
	const size_t candidates = pop->padding_first; /* users' handles and outsiders */
	for (size_t i = 0; i < count; i++) {
		const uint32_t u = (uint32_t)rng_below(&r, users);
		const uint32_t j = (uint32_t)rng_below(&r, pop->book_len[u]);
		const uint32_t h = pop->book[(size_t)u * pop->book_cap + j];
		const uint32_t last = pop->book_last_day[(size_t)u * pop->book_cap + j];
		pairs[i] = (exposure_pair){u, pop->handles[h].bucket, pop->handles[h].normalized, 1,
		                           day_zero + last};
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t u, h;
		for (;;) {
			u = (uint32_t)rng_below(&r, users);
			h = (uint32_t)rng_below(&r, candidates);
			if (h == pop->user_phone[u] || h == pop->user_email[u])
				continue;
			const uint32_t *book = pop->book + (size_t)u * pop->book_cap;
			uint32_t k = 0;
			while (k < pop->book_len[u] && book[k] != h)
				k++;
			if (k == pop->book_len[u])
				break;
		}
		pairs[count + i] = (exposure_pair){u, pop->handles[h].bucket,
		                                   pop->handles[h].normalized, 0, NO_DAY};
	}
}
