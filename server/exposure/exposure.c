/*
 * Exposure analysis (exposure.h): the readers of an adversary's holdings,
 * the per-adversary figures, and the table, JSON and chart made of them.
 */
#include "exposure.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "array.h"
#include "chart.h"
#include "entry.h"
#include "json.h"
#include "qlog_store.h"

#define REQUESTER_LABEL "veil-log-requester-v1"
#define BUCKET_LABEL    "veil-log-bucket-v1"

/* Entries (items) the by-width figures are measured over, at most. */
#define WIDTH_SAMPLE        50000
/* Handle figures are memoized per digest value up to this width. */
#define MEMO_MAX_WIDTH      20
/* An entry's LMDB key: day u32 | id u64 (qlog_store.h). */
#define QLOG_ENTRY_KEY_SIZE 12
/* ------------------------------------------------------------------ */
/* Digests */

static void
put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

static uint32_t
hmac_lead(const uint8_t salt[EXPOSURE_SALT_SIZE], const uint8_t *a, size_t a_len, const uint8_t *b,
          size_t b_len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, salt, EXPOSURE_SALT_SIZE);
	crypto_auth_hmacsha256_update(&st, a, a_len);
	crypto_auth_hmacsha256_update(&st, b, b_len);
	crypto_auth_hmacsha256_final(&st, mac);
	const uint32_t lead = get_be32(mac);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	return lead;
}

uint32_t
exposure_requester_lead(const uint8_t salt[static EXPOSURE_SALT_SIZE],
                        const uint8_t key[static EXPOSURE_KEY_SIZE])
{
	return hmac_lead(salt, (const uint8_t *)REQUESTER_LABEL, strlen(REQUESTER_LABEL), key,
	                 EXPOSURE_KEY_SIZE);
}

uint32_t
exposure_bucket_lead(const uint8_t salt[static EXPOSURE_SALT_SIZE], unsigned prefix_bits,
                     uint32_t prefix)
{
	uint8_t field[5];
	field[0] = (uint8_t)prefix_bits;
	put_be32(field + 1, prefix);
	return hmac_lead(salt, (const uint8_t *)BUCKET_LABEL, strlen(BUCKET_LABEL), field,
	                 sizeof(field));
}

uint32_t
exposure_truncate(uint32_t lead, unsigned width)
{
	/* The lead's prefix of width bits (entry.h), moved down. */
	const uint32_t prefix = entry_prefix(lead, width);
	return width > 0 && width < 32 ? prefix >> (32 - width) : prefix;
}

/* A digest of width from cut down to width to (to <= from). */
static uint32_t
cut(uint32_t digest, unsigned from, unsigned to)
{
	return to == 0 ? 0 : digest >> (from - to);
}

/* The 32-bit range [lo, hi) of leads whose top width bits are value. */
static void
lead_range(uint32_t value, unsigned width, uint64_t *lo, uint64_t *hi)
{
	const unsigned shift = 32 - width;
	*lo = (uint64_t)value << shift;
	*hi = ((uint64_t)value + 1) << shift;
}

/* How many of the sorted n values lie in [lo, hi). */
static size_t
lower_bound32(const uint32_t *v, size_t n, uint64_t x)
{
	size_t a = 0, b = n;
	while (a < b) {
		const size_t m = a + (b - a) / 2;
		if ((uint64_t)v[m] < x)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static size_t
count_in_range(const uint32_t *v, size_t n, uint64_t lo, uint64_t hi)
{
	return lower_bound32(v, n, hi) - lower_bound32(v, n, lo);
}

double
exposure_expected_requester(uint64_t accounts, unsigned width)
{
	if (accounts == 0)
		return 0;
	return 1.0 + (double)(accounts - 1) / ldexp(1.0, (int)width);
}

double
exposure_expected_handle(uint64_t universe, unsigned prefix_bits, unsigned width)
{
	/* The true prefix, plus each other one whose digest collides. */
	const double prefixes = ldexp(1.0, (int)prefix_bits);
	return (double)universe / prefixes * (1.0 + (prefixes - 1.0) / ldexp(1.0, (int)width));
}

/* ------------------------------------------------------------------ */
/* Reading JSON Lines */

typedef struct line_reader {
	const char *text;
	size_t len, at;
	uint64_t number; /* of the line last returned, from 1 */
} line_reader;

/* The next line without its newline (CR too); 0 at the end. */
static int
next_line(line_reader *lr, const char **line, size_t *line_len)
{
	if (lr->at >= lr->len)
		return 0;
	const char *start = lr->text + lr->at;
	const char *nl = memchr(start, '\n', lr->len - lr->at);
	size_t n = nl != NULL ? (size_t)(nl - start) : lr->len - lr->at;
	lr->at += n + (nl != NULL);
	lr->number++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	*line_len = n;
	return 1;
}

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* An integer member in [0, max]; -1 when missing or not such an integer. */
static int
member_uint(const json_value *obj, const char *key, uint64_t max, uint64_t *out)
{
	int64_t v;
	if (json_integer(json_object_get(obj, key), &v) != 0 || v < 0 || (uint64_t)v > max)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static void say(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	if (why == NULL || why_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* Lines in text: one more than its newlines. */
static size_t
count_lines(const char *text, size_t len)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	return lines;
}

/*
 * A reader's view of one line that is not blank: v, the line parsed as
 * JSON, or NULL with parsed the error when it is not JSON.
 */
typedef veil_err (*json_line_visitor)(void *reader, const json_value *v, veil_err parsed,
                                      uint64_t line, char *why, size_t why_len);

/* Hands each line of text that is not blank to visit, until it fails. */
static veil_err
for_each_json_line(const char *text, size_t len, json_line_visitor visit, void *reader, char *why,
                   size_t why_len)
{
	line_reader lr = {text, len, 0, 0};
	const char *line;
	size_t line_len;
	veil_err err = VEIL_OK;
	while (err == VEIL_OK && next_line(&lr, &line, &line_len)) {
		if (blank(line, line_len))
			continue;
		json_value *v = NULL;
		const veil_err parsed = json_parse(line, line_len, &v);
		err = visit(reader, v, parsed, lr.number, why, why_len);
		json_free(v);
	}
	return err;
}

/* Whether v is a JSON object; when not, says so for line. */
static int
is_object(const json_value *v, veil_err parsed, uint64_t line, char *why, size_t why_len)
{
	if (parsed == VEIL_OK && json_type_of(v) == JSON_OBJECT)
		return 1;
	say(why, why_len, "line %llu: not a JSON object", (unsigned long long)line);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The log export */

typedef struct log_entry {
	uint32_t day;
	uint8_t hour, t_r, t_b;
	uint16_t status;
	uint32_t requester;
	uint32_t item_count;
	size_t first_item;
} log_entry;

struct exposure_log {
	exposure_log_header header;
	log_entry *entries;
	size_t entry_count, entry_cap;
	uint32_t *items;
	size_t item_count, item_cap;
};

static veil_err
parse_header(const json_value *v, exposure_log_header *h, char *why, size_t why_len)
{
	size_t n = 0;
	const char *schema = json_string(json_object_get(v, "schema"), &n);
	if (schema == NULL ||
	    (strcmp(schema, "veil-log-v2") != 0 && strcmp(schema, "veil-log-v1") != 0)) {
		say(why, why_len, "line 1: not a veil-log-v2 (or v1) header");
		return VEIL_ERR_PARSE;
	}
	uint64_t t_r, t_b, k_r, k_b, accounts, universe, er, sr;
	if (member_uint(v, "t_r", EXPOSURE_MAX_WIDTH, &t_r) != 0 ||
	    member_uint(v, "t_b", EXPOSURE_MAX_WIDTH, &t_b) != 0 ||
	    member_uint(v, "k_r", UINT32_MAX, &k_r) != 0 ||
	    member_uint(v, "k_b", UINT32_MAX, &k_b) != 0 ||
	    member_uint(v, "accounts", INT64_MAX, &accounts) != 0 ||
	    member_uint(v, "universe", INT64_MAX, &universe) != 0) {
		say(why, why_len,
		    "line 1: t_r, t_b, k_r, k_b, accounts or universe missing or "
		    "out of range");
		return VEIL_ERR_PARSE;
	}
	/* "auth": "keys" or "tokens"; exports made before tokens mode have none: keys. */
	const json_value *auth = json_object_get(v, "auth");
	if (auth != NULL) {
		size_t auth_len = 0;
		const char *a = json_string(auth, &auth_len);
		const int keys = a != NULL && auth_len == 4 && memcmp(a, "keys", 4) == 0;
		const int tokens = a != NULL && auth_len == 6 && memcmp(a, "tokens", 6) == 0;
		if (!keys && !tokens) {
			say(why, why_len, "line 1: auth is neither \"keys\" nor \"tokens\"");
			return VEIL_ERR_PARSE;
		}
		h->tokens = tokens;
	}
	/* The retentions are informative; tolerate their absence. */
	h->entry_retention_days =
	        member_uint(v, "entry_retention_days", UINT32_MAX, &er) == 0 ? (uint32_t)er : 0;
	h->salt_retention_days =
	        member_uint(v, "salt_retention_days", UINT32_MAX, &sr) == 0 ? (uint32_t)sr : 0;
	h->t_r = (uint32_t)t_r;
	h->t_b = (uint32_t)t_b;
	h->k_r = (uint32_t)k_r;
	h->k_b = (uint32_t)k_b;
	h->accounts = accounts;
	h->universe = universe;
	return VEIL_OK;
}

static int
fits_width(uint64_t v, uint64_t width)
{
	return width >= 32 ? v <= UINT32_MAX : v < ((uint64_t)1 << width);
}

static veil_err
parse_entry(exposure_log *log, const json_value *v, uint64_t line, char *why, size_t why_len)
{
	uint64_t day, hour, requester, items, status, t_r, t_b;
	const json_value *buckets = json_object_get(v, "buckets");
	/* A veil-log-v1 entry also has "seq", which nothing here uses. */
	if (member_uint(v, "day", UINT32_MAX - 1, &day) != 0 ||
	    member_uint(v, "hour", 23, &hour) != 0 ||
	    member_uint(v, "requester", UINT32_MAX, &requester) != 0 ||
	    member_uint(v, "items", UINT32_MAX, &items) != 0 ||
	    member_uint(v, "status", UINT16_MAX, &status) != 0 || buckets == NULL ||
	    json_type_of(buckets) != JSON_ARRAY) {
		say(why, why_len,
		    "line %llu: an entry needs day, hour, requester, items, buckets and "
		    "status",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	t_r = log->header.t_r;
	t_b = log->header.t_b;
	if ((json_object_get(v, "t_r") != NULL &&
	     member_uint(v, "t_r", EXPOSURE_MAX_WIDTH, &t_r) != 0) ||
	    (json_object_get(v, "t_b") != NULL &&
	     member_uint(v, "t_b", EXPOSURE_MAX_WIDTH, &t_b) != 0)) {
		say(why, why_len, "line %llu: a width above 32", (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	const size_t n = json_array_size(buckets);
	if (n != items) {
		say(why, why_len, "line %llu: items is %llu but %zu bucket digests follow",
		    (unsigned long long)line, (unsigned long long)items, n);
		return VEIL_ERR_PARSE;
	}
	if (!fits_width(requester, t_r)) {
		say(why, why_len, "line %llu: requester digest wider than t_r",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	if (array_reserve((void **)&log->entries, &log->entry_cap, log->entry_count + 1,
	                  sizeof(log_entry), 64) != VEIL_OK ||
	    array_reserve((void **)&log->items, &log->item_cap, log->item_count + n,
	                  sizeof(uint32_t), 64) != VEIL_OK)
		return VEIL_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t d;
		int64_t signed_d;
		if (json_integer(json_array_get(buckets, i), &signed_d) != 0 || signed_d < 0 ||
		    !fits_width(d = (uint64_t)signed_d, t_b)) {
			say(why, why_len, "line %llu: bucket digest %zu is not below 2^t_b",
			    (unsigned long long)line, i);
			return VEIL_ERR_PARSE;
		}
		log->items[log->item_count + i] = (uint32_t)d;
	}
	log_entry *e = &log->entries[log->entry_count++];
	e->day = (uint32_t)day;
	e->hour = (uint8_t)hour;
	e->t_r = (uint8_t)t_r;
	e->t_b = (uint8_t)t_b;
	e->status = (uint16_t)status;
	e->requester = (uint32_t)requester;
	e->item_count = (uint32_t)n;
	e->first_item = log->item_count;
	log->item_count += n;
	return VEIL_OK;
}

typedef struct log_reader {
	exposure_log *log;
	int have_header; /* the first line, the header, is read */
	uint32_t want;   /* the replica whose section is read, or EXPOSURE_NO_REPLICA */
	int in_wanted;   /* the section being read is want's */
	int found;       /* want's header was read */
} log_reader;

/*
 * A section's header line in an export of several replicas: which one it
 * is, for a reader that chose a replica (r->want); the wanted one's
 * header goes to the log.
 */
static veil_err
section_header(log_reader *r, const json_value *v, uint64_t line, char *why, size_t why_len)
{
	uint64_t replica, replicas;
	if (r->want == EXPOSURE_NO_REPLICA) {
		say(why, why_len,
		    "line %llu: an export of several replicas, each under its own salts: their "
		    "digests cannot be joined, so analyze one replica at a time",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	if (member_uint(v, "replica", UINT32_MAX - 1, &replica) != 0 ||
	    member_uint(v, "replicas", UINT32_MAX, &replicas) != 0 || replica >= replicas) {
		say(why, why_len, "line %llu: replica and replicas missing or out of range",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	r->in_wanted = replica == r->want;
	if (!r->in_wanted)
		return VEIL_OK;
	if (r->found) {
		say(why, why_len, "line %llu: a second section of replica %u",
		    (unsigned long long)line, r->want);
		return VEIL_ERR_PARSE;
	}
	r->found = 1;
	const veil_err err = parse_header(v, &r->log->header, why, why_len);
	r->log->header.replica = (uint32_t)replica;
	r->log->header.replicas = (uint32_t)replicas;
	return err;
}

static veil_err
log_line(void *reader, const json_value *v, veil_err parsed, uint64_t line, char *why,
         size_t why_len)
{
	log_reader *r = reader;
	if (!is_object(v, parsed, line, why, why_len))
		return parsed == VEIL_ERR_NOMEM || parsed == VEIL_ERR_LIMIT ? parsed
		                                                            : VEIL_ERR_PARSE;
	const int is_header = !r->have_header || json_object_get(v, "schema") != NULL;
	const int sectioned = json_object_get(v, "replica") != NULL;
	if (is_header && (sectioned || r->want != EXPOSURE_NO_REPLICA)) {
		if (!sectioned) {
			say(why, why_len, "line %llu: not an export of several replicas",
			    (unsigned long long)line);
			return VEIL_ERR_PARSE;
		}
		r->have_header = 1;
		return section_header(r, v, line, why, why_len);
	}
	if (r->have_header && !is_header)
		return r->want == EXPOSURE_NO_REPLICA || r->in_wanted
		               ? parse_entry(r->log, v, line, why, why_len)
		               : VEIL_OK;
	if (r->have_header) {
		say(why, why_len, "line %llu: a second header", (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	r->have_header = 1;
	return parse_header(v, &r->log->header, why, why_len);
}

veil_err
exposure_log_parse(const char *text, size_t len, exposure_log **out, char *why, size_t why_len)
{
	return exposure_log_parse_replica(text, len, EXPOSURE_NO_REPLICA, out, why, why_len);
}

veil_err
exposure_log_parse_replica(const char *text, size_t len, uint32_t replica, exposure_log **out,
                           char *why, size_t why_len)
{
	if (out == NULL || (text == NULL && len > 0))
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	say(why, why_len, "%s", "");
	exposure_log *log = calloc(1, sizeof(*log));
	if (log == NULL)
		return VEIL_ERR_NOMEM;
	log_reader reader = {log, 0, replica, 0, 0};
	veil_err err = for_each_json_line(text, len, log_line, &reader, why, why_len);
	if (err == VEIL_OK && !reader.have_header) {
		say(why, why_len, "no header line: not a log export");
		err = VEIL_ERR_PARSE;
	}
	if (err == VEIL_OK && replica != EXPOSURE_NO_REPLICA && !reader.found) {
		say(why, why_len, "no replica %u in the export", replica);
		err = VEIL_ERR_PARSE;
	}
	if (err != VEIL_OK) {
		exposure_log_free(log);
		return err;
	}
	log->header.entries = log->entry_count;
	log->header.items = log->item_count;
	for (size_t i = 0; i < log->entry_count; i++) {
		const uint32_t d = log->entries[i].day;
		if (i == 0 || d < log->header.first_day)
			log->header.first_day = d;
		if (i == 0 || d > log->header.last_day)
			log->header.last_day = d;
	}
	*out = log;
	return VEIL_OK;
}

void
exposure_log_free(exposure_log *log)
{
	if (log == NULL)
		return;
	free(log->entries);
	free(log->items);
	free(log);
}

void
exposure_log_header_get(const exposure_log *log, exposure_log_header *out)
{
	*out = log->header;
}

/* ------------------------------------------------------------------ */
/* Salts */

struct exposure_salts {
	size_t count;
	uint32_t *days; /* ascending */
	uint8_t *salts; /* guarded, count * 32 */
};

size_t
exposure_salted_days(const exposure_log *log, const exposure_salts *salts, uint32_t *days,
                     size_t cap)
{
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	size_t n = 0;
	if (h.entries == 0 || salts == NULL)
		return 0;
	/* The salts held are few and sorted: walk them, not the days. */
	for (size_t i = 0; i < salts->count && n < cap; i++)
		if (salts->days[i] >= h.first_day && salts->days[i] <= h.last_day)
			days[n++] = salts->days[i];
	return n;
}

/* Reading a salts export, maybe one replica's section of it. */
typedef struct salts_reader {
	exposure_salts *s;
	uint32_t want; /* EXPOSURE_NO_REPLICA: a single state's salts */
	int in_wanted, found;
} salts_reader;

/*
 * A line {"day": D, "salt": "<64 hex>"}, into the next slot, when its
 * section is the one wanted; a line {"replica": i, ...} starts a
 * section; others are skipped.
 */
static veil_err
salt_line(void *reader, const json_value *v, veil_err parsed, uint64_t line, char *why,
          size_t why_len)
{
	salts_reader *r = reader;
	exposure_salts *s = r->s;
	if (!is_object(v, parsed, line, why, why_len))
		return VEIL_ERR_PARSE;
	if (json_object_get(v, "replica") != NULL) {
		uint64_t replica;
		if (r->want == EXPOSURE_NO_REPLICA) {
			say(why, why_len,
			    "line %llu: the salts of several replicas: choose one replica, whose "
			    "export they go with",
			    (unsigned long long)line);
			return VEIL_ERR_PARSE;
		}
		if (member_uint(v, "replica", UINT32_MAX - 1, &replica) != 0) {
			say(why, why_len, "line %llu: replica out of range",
			    (unsigned long long)line);
			return VEIL_ERR_PARSE;
		}
		r->in_wanted = replica == r->want;
		if (r->in_wanted && r->found) {
			say(why, why_len, "line %llu: a second section of replica %u",
			    (unsigned long long)line, r->want);
			return VEIL_ERR_PARSE;
		}
		r->found |= r->in_wanted;
		return VEIL_OK;
	}
	if (json_object_get(v, "salt") == NULL && json_object_get(v, "day") == NULL)
		return VEIL_OK;
	if (r->want != EXPOSURE_NO_REPLICA && !r->in_wanted)
		return VEIL_OK;
	size_t hex_len = 0, bin_len = 0;
	uint64_t day;
	const char *hex = json_string(json_object_get(v, "salt"), &hex_len);
	uint8_t *slot = s->salts + s->count * EXPOSURE_SALT_SIZE;
	if (member_uint(v, "day", UINT32_MAX - 1, &day) != 0 || hex == NULL ||
	    hex_len != 2 * EXPOSURE_SALT_SIZE ||
	    sodium_hex2bin(slot, EXPOSURE_SALT_SIZE, hex, hex_len, NULL, &bin_len, NULL) != 0 ||
	    bin_len != EXPOSURE_SALT_SIZE) {
		say(why, why_len, "line %llu: a salt needs a day and 64 hex digits",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	s->days[s->count++] = (uint32_t)day;
	return VEIL_OK;
}

void
exposure_salts_free(exposure_salts *s)
{
	if (s == NULL)
		return;
	if (s->salts != NULL)
		sodium_free(s->salts); /* wipes */
	free(s->days);
	free(s);
}

veil_err
exposure_salts_parse(const char *text, size_t len, exposure_salts **out, char *why, size_t why_len)
{
	return exposure_salts_parse_replica(text, len, EXPOSURE_NO_REPLICA, out, why, why_len);
}

veil_err
exposure_salts_parse_replica(const char *text, size_t len, uint32_t replica, exposure_salts **out,
                             char *why, size_t why_len)
{
	if (out == NULL || (text == NULL && len > 0))
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	say(why, why_len, "%s", "");
	const size_t lines = count_lines(text, len);
	exposure_salts *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return VEIL_ERR_NOMEM;
	s->days = malloc(lines * sizeof(uint32_t));
	s->salts = sodium_malloc(lines * EXPOSURE_SALT_SIZE);
	if (s->days == NULL || s->salts == NULL) {
		exposure_salts_free(s);
		return VEIL_ERR_NOMEM;
	}
	salts_reader reader = {s, replica, 0, 0};
	veil_err err = for_each_json_line(text, len, salt_line, &reader, why, why_len);
	if (err == VEIL_OK && replica != EXPOSURE_NO_REPLICA && !reader.found) {
		say(why, why_len, "no replica %u in the salts", replica);
		err = VEIL_ERR_PARSE;
	}
	/* Insertion sort by day, moving salts with their days; few lines. */
	for (size_t i = 1; err == VEIL_OK && i < s->count; i++) {
		for (size_t j = i; j > 0 && s->days[j - 1] >= s->days[j]; j--) {
			if (s->days[j - 1] == s->days[j]) {
				say(why, why_len, "two salts for day %u", s->days[j]);
				err = VEIL_ERR_PARSE;
				break;
			}
			uint8_t t[EXPOSURE_SALT_SIZE];
			uint8_t *a = s->salts + (j - 1) * EXPOSURE_SALT_SIZE;
			uint8_t *b = s->salts + j * EXPOSURE_SALT_SIZE;
			memcpy(t, a, sizeof(t));
			memcpy(a, b, sizeof(t));
			memcpy(b, t, sizeof(t));
			sodium_memzero(t, sizeof(t));
			const uint32_t d = s->days[j - 1];
			s->days[j - 1] = s->days[j];
			s->days[j] = d;
		}
	}
	if (err != VEIL_OK) {
		exposure_salts_free(s);
		return err;
	}
	*out = s;
	return VEIL_OK;
}

size_t
exposure_salts_count(const exposure_salts *s)
{
	return s != NULL ? s->count : 0;
}

const uint8_t *
exposure_salts_get(const exposure_salts *s, uint32_t day)
{
	if (s == NULL)
		return NULL;
	size_t a = 0, b = s->count;
	while (a < b) {
		const size_t m = a + (b - a) / 2;
		if (s->days[m] < day)
			a = m + 1;
		else
			b = m;
	}
	return a < s->count && s->days[a] == day ? s->salts + a * EXPOSURE_SALT_SIZE : NULL;
}

/* ------------------------------------------------------------------ */
/* Accounts */

veil_err
exposure_accounts_parse(const char *text, size_t len, uint8_t **keys, size_t *count, char *why,
                        size_t why_len)
{
	if (keys == NULL || count == NULL || (text == NULL && len > 0))
		return VEIL_ERR_ARGUMENT;
	*keys = NULL;
	*count = 0;
	say(why, why_len, "%s", "");
	uint8_t *k = malloc(count_lines(text, len) * EXPOSURE_KEY_SIZE);
	if (k == NULL)
		return VEIL_ERR_NOMEM;
	line_reader lr = {text, len, 0, 0};
	const char *line;
	size_t line_len, n = 0;
	while (next_line(&lr, &line, &line_len)) {
		while (line_len > 0 && (line[0] == ' ' || line[0] == '\t')) {
			line++;
			line_len--;
		}
		while (line_len > 0 && (line[line_len - 1] == ' ' || line[line_len - 1] == '\t'))
			line_len--;
		if (line_len == 0 || line[0] == '#')
			continue;
		size_t bin_len = 0;
		if (line_len != 2 * EXPOSURE_KEY_SIZE ||
		    sodium_hex2bin(k + n * EXPOSURE_KEY_SIZE, EXPOSURE_KEY_SIZE, line, line_len,
		                   NULL, &bin_len, NULL) != 0 ||
		    bin_len != EXPOSURE_KEY_SIZE) {
			say(why, why_len, "line %llu: not a public key of 64 hex digits",
			    (unsigned long long)lr.number);
			free(k);
			return VEIL_ERR_PARSE;
		}
		n++;
	}
	*keys = k;
	*count = n;
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* The baseline log */

void
exposure_baseline_append(buf *out, double time, const uint8_t key[static EXPOSURE_KEY_SIZE],
                         uint32_t address, const char *handle)
{
	char hex[2 * EXPOSURE_KEY_SIZE + 1];
	sodium_bin2hex(hex, sizeof(hex), key, EXPOSURE_KEY_SIZE);
	buf_printf(out,
	           "{\"time\":%.3f,\"requester\":\"%s\",\"ip\":\"%u.%u.%u.%u\",\"handle\":", time,
	           hex, address >> 24, (address >> 16) & 255, (address >> 8) & 255, address & 255);
	json_write_string(out, handle, strlen(handle));
	buf_append_str(out, "}\n");
}

/* An interning table: distinct strings (or keys) get dense ids. */
typedef struct intern {
	char **text;
	size_t *len;
	size_t count, cap;
	uint32_t *slots; /* id + 1; 0 empty */
	size_t mask;
} intern;

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
intern_free(intern *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->text[i]);
	free(t->text);
	free(t->len);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int
intern_rehash(intern *t, size_t slot_count)
{
	uint32_t *slots = calloc(slot_count, sizeof(uint32_t));
	if (slots == NULL)
		return -1;
	for (size_t id = 0; id < t->count; id++) {
		size_t i = (size_t)hash_bytes(t->text[id], t->len[id]) & (slot_count - 1);
		while (slots[i] != 0)
			i = (i + 1) & (slot_count - 1);
		slots[i] = (uint32_t)id + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = slot_count - 1;
	return 0;
}

/* The id of s, or -1 when it is not in t. */
static int64_t
intern_find(const intern *t, const char *s, size_t n)
{
	if (t->slots == NULL)
		return -1;
	size_t i = (size_t)hash_bytes(s, n) & t->mask;
	while (t->slots[i] != 0) {
		const uint32_t id = t->slots[i] - 1;
		if (t->len[id] == n && memcmp(t->text[id], s, n) == 0)
			return id;
		i = (i + 1) & t->mask;
	}
	return -1;
}

/* The id of s, added when new; -1 when out of memory. */
static int64_t
intern_add(intern *t, const char *s, size_t n)
{
	const int64_t found = intern_find(t, s, n);
	if (found >= 0)
		return found;
	if ((t->slots == NULL || (t->count + 1) * 2 > t->mask + 1) &&
	    intern_rehash(t, t->slots == NULL ? 1024 : (t->mask + 1) * 2) != 0)
		return -1;
	if (array_reserve((void **)&t->text, &t->cap, t->count + 1, sizeof(char *), 64) != VEIL_OK)
		return -1;
	size_t *lens = realloc(t->len, t->cap * sizeof(size_t));
	if (lens == NULL)
		return -1;
	t->len = lens;
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, s, n);
	copy[n] = '\0';
	size_t i = (size_t)hash_bytes(s, n) & t->mask;
	while (t->slots[i] != 0)
		i = (i + 1) & t->mask;
	t->text[t->count] = copy;
	t->len[t->count] = n;
	t->slots[i] = (uint32_t)t->count + 1;
	return (int64_t)t->count++;
}

typedef struct baseline_line {
	uint32_t requester, handle; /* intern ids */
} baseline_line;

struct exposure_baseline {
	intern requesters; /* binary keys */
	intern handles;
	baseline_line *lines;
	size_t count, cap;
};

static veil_err
baseline_line_read(void *reader, const json_value *v, veil_err parsed, uint64_t line, char *why,
                   size_t why_len)
{
	exposure_baseline *b = reader;
	size_t hex_len = 0, handle_len = 0, bin_len = 0;
	uint8_t key[EXPOSURE_KEY_SIZE];
	const char *hex, *handle;
	if (parsed != VEIL_OK || json_number_text(json_object_get(v, "time"), NULL) == NULL ||
	    (hex = json_string(json_object_get(v, "requester"), &hex_len)) == NULL ||
	    (handle = json_string(json_object_get(v, "handle"), &handle_len)) == NULL ||
	    json_string(json_object_get(v, "ip"), NULL) == NULL ||
	    sodium_hex2bin(key, sizeof(key), hex, hex_len, NULL, &bin_len, NULL) != 0 ||
	    bin_len != sizeof(key) || hex_len != 2 * sizeof(key)) {
		say(why, why_len, "line %llu: a baseline line needs time, requester, ip and handle",
		    (unsigned long long)line);
		return VEIL_ERR_PARSE;
	}
	if (array_reserve((void **)&b->lines, &b->cap, b->count + 1, sizeof(baseline_line), 64) !=
	    VEIL_OK)
		return VEIL_ERR_NOMEM;
	const int64_t r = intern_add(&b->requesters, (const char *)key, sizeof(key));
	const int64_t h = intern_add(&b->handles, handle, handle_len);
	if (r < 0 || h < 0)
		return VEIL_ERR_NOMEM;
	b->lines[b->count++] = (baseline_line){(uint32_t)r, (uint32_t)h};
	return VEIL_OK;
}

void
exposure_baseline_free(exposure_baseline *b)
{
	if (b == NULL)
		return;
	intern_free(&b->requesters);
	intern_free(&b->handles);
	free(b->lines);
	free(b);
}

veil_err
exposure_baseline_parse(const char *text, size_t len, exposure_baseline **out, char *why,
                        size_t why_len)
{
	if (out == NULL || (text == NULL && len > 0))
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	say(why, why_len, "%s", "");
	exposure_baseline *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = for_each_json_line(text, len, baseline_line_read, b, why, why_len);
	if (err != VEIL_OK) {
		exposure_baseline_free(b);
		return err;
	}
	*out = b;
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* Statistics */

static int
compare_u32(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
compare_u64(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
compare_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts values in place and summarizes them. */
static exposure_stat
summarize(double *values, size_t n)
{
	exposure_stat s = {NAN, NAN, NAN, NAN, n};
	if (n == 0)
		return s;
	qsort(values, n, sizeof(double), compare_double);
	s.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
	s.p5 = values[(size_t)floor(0.05 * (double)(n - 1))];
	s.p95 = values[(size_t)ceil(0.95 * (double)(n - 1))];
	s.min = values[0];
	return s;
}

static exposure_stat
constant_stat(double v, uint64_t n)
{
	return (exposure_stat){v, v, v, v, n};
}

/* ------------------------------------------------------------------ */
/* Analysis of a veil log */

typedef struct width_table {
	uint32_t *by_prefix; /* 2^p leads, by prefix index */
	uint32_t *leads;     /* sorted leads */
	uint32_t *prefixes;  /* the prefix (in place) of leads[i] */
} width_table;

typedef struct day_tables {
	uint32_t day;
	const uint8_t *salt;
	uint32_t *account_leads;  /* by account */
	uint32_t *account_sorted; /* sorted: those that may have made an entry of the day */
	size_t account_sorted_count;
	width_table width[EXPOSURE_MAX_PREFIX_BITS + 1];
	double *memo[MEMO_MAX_WIDTH + 1]; /* handle measure by digest value; NaN unknown */
	double *memo_registered;          /* at memo_width */
	unsigned memo_registered_width;
	size_t *by_requester; /* entry indices of the day, by (t_r, requester) */
	size_t entry_count;
} day_tables;

typedef struct analysis {
	const exposure_view *view;
	const exposure_log *log;
	uint64_t accounts_total;
	unsigned single_p; /* the one width, or 255 when several */
	size_t day_count;
	day_tables *days;
	veil_err error;
	/* scratch for interval unions */
	uint64_t (*intervals)[2];
	size_t interval_cap;
} analysis;

static veil_err
width_table_build(width_table *w, const uint8_t *salt, unsigned p)
{
	const size_t n = (size_t)1 << p;
	/* lead << 32 | prefix: sorted by lead, then by prefix */
	uint64_t *pairs = malloc(n * sizeof(*pairs));
	w->by_prefix = malloc(n * sizeof(uint32_t));
	w->leads = malloc(n * sizeof(uint32_t));
	w->prefixes = malloc(n * sizeof(uint32_t));
	if (pairs == NULL || w->by_prefix == NULL || w->leads == NULL || w->prefixes == NULL) {
		free(pairs);
		return VEIL_ERR_NOMEM;
	}
	/* The HMAC key schedule once, then a copy per prefix. */
	crypto_auth_hmacsha256_state base, st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES], field[5];
	crypto_auth_hmacsha256_init(&base, salt, EXPOSURE_SALT_SIZE);
	crypto_auth_hmacsha256_update(&base, (const uint8_t *)BUCKET_LABEL, strlen(BUCKET_LABEL));
	field[0] = (uint8_t)p;
	for (size_t i = 0; i < n; i++) {
		const uint32_t prefix = p == 0 ? 0 : (uint32_t)(i << (32 - p));
		put_be32(field + 1, prefix);
		st = base;
		crypto_auth_hmacsha256_update(&st, field, sizeof(field));
		crypto_auth_hmacsha256_final(&st, mac);
		w->by_prefix[i] = get_be32(mac);
		pairs[i] = (uint64_t)w->by_prefix[i] << 32 | prefix;
	}
	sodium_memzero(&base, sizeof(base));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	qsort(pairs, n, sizeof(*pairs), compare_u64);
	for (size_t i = 0; i < n; i++) {
		w->leads[i] = (uint32_t)(pairs[i] >> 32);
		w->prefixes[i] = (uint32_t)pairs[i];
	}
	free(pairs);
	return VEIL_OK;
}

static void
width_table_free(width_table *w)
{
	free(w->by_prefix);
	free(w->leads);
	free(w->prefixes);
}

static void
day_tables_free(day_tables *d)
{
	free(d->account_leads);
	free(d->account_sorted);
	for (unsigned p = 0; p <= EXPOSURE_MAX_PREFIX_BITS; p++)
		width_table_free(&d->width[p]);
	for (unsigned w = 0; w <= MEMO_MAX_WIDTH; w++)
		free(d->memo[w]);
	free(d->memo_registered);
	free(d->by_requester);
}

/* An entry's place in a day's order by (t_r, requester). */
typedef struct requester_key {
	uint64_t key; /* t_r << 32 | requester */
	size_t entry;
} requester_key;

static int
compare_requester_key(const void *a, const void *b)
{
	const requester_key *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static veil_err
build_day(analysis *an, day_tables *d)
{
	const exposure_view *v = an->view;
	const exposure_log *log = an->log;
	veil_err err;
	if (v->accounts != NULL) {
		d->account_leads = malloc((v->account_count + 1) * sizeof(uint32_t));
		d->account_sorted = malloc((v->account_count + 1) * sizeof(uint32_t));
		if (d->account_leads == NULL || d->account_sorted == NULL)
			return VEIL_ERR_NOMEM;
		for (size_t i = 0; i < v->account_count; i++) {
			d->account_leads[i] = exposure_requester_lead(
			        d->salt, v->accounts + i * EXPOSURE_KEY_SIZE);
			/* A4: an account last charged before the day made none of its entries. */
			if (v->last_use == NULL || v->last_use[i] >= d->day)
				d->account_sorted[d->account_sorted_count++] = d->account_leads[i];
		}
		qsort(d->account_sorted, d->account_sorted_count, sizeof(uint32_t), compare_u32);
	}
	for (unsigned p = 0; p <= EXPOSURE_MAX_PREFIX_BITS; p++)
		if ((v->prefix_widths >> p) & 1)
			if ((err = width_table_build(&d->width[p], d->salt, p)) != VEIL_OK)
				return err;
	d->by_requester = malloc((log->entry_count + 1) * sizeof(size_t));
	requester_key *order = malloc((log->entry_count + 1) * sizeof(*order));
	if (d->by_requester == NULL || order == NULL) {
		free(order);
		return VEIL_ERR_NOMEM;
	}
	for (size_t i = 0; i < log->entry_count; i++) {
		const log_entry *e = &log->entries[i];
		if (e->day == d->day)
			order[d->entry_count++] =
			        (requester_key){(uint64_t)e->t_r << 32 | e->requester, i};
	}
	qsort(order, d->entry_count, sizeof(*order), compare_requester_key);
	for (size_t i = 0; i < d->entry_count; i++)
		d->by_requester[i] = order[i].entry;
	free(order);
	return VEIL_OK;
}

/* Accounts whose requester digest at width is value, on day d. */
static double
requester_count(const analysis *an, const day_tables *d, unsigned width, uint32_t value)
{
	if (d->account_sorted == NULL)
		return exposure_expected_requester(an->accounts_total, width);
	uint64_t lo, hi;
	lead_range(value, width, &lo, &hi);
	return (double)count_in_range(d->account_sorted, d->account_sorted_count, lo, hi);
}

static int
compare_interval(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * The handles of the numbering space whose bucket digest at width is
 * value on day d (and, when registered is not NULL, the registered
 * handles among them): the union, over the prefix widths, of the bucket
 * intervals of the matching prefixes, as a share of the 2^32 buckets.
 */
static double
handle_measure(analysis *an, const day_tables *d, unsigned width, uint32_t value,
               double *registered)
{
	const exposure_view *v = an->view;
	uint64_t lo, hi;
	lead_range(value, width, &lo, &hi);
	if (an->single_p != 255 && registered == NULL) {
		const width_table *w = &d->width[an->single_p];
		const size_t n = (size_t)1 << an->single_p;
		return (double)count_in_range(w->leads, n, lo, hi) *
		       ((double)v->universe / ldexp(1.0, (int)an->single_p));
	}
	size_t count = 0;
	for (unsigned p = 0; p <= EXPOSURE_MAX_PREFIX_BITS; p++) {
		if (!((v->prefix_widths >> p) & 1))
			continue;
		const width_table *w = &d->width[p];
		const size_t n = (size_t)1 << p;
		const size_t first = lower_bound32(w->leads, n, lo),
		             last = lower_bound32(w->leads, n, hi);
		if (array_reserve((void **)&an->intervals, &an->interval_cap,
		                  count + (last - first), sizeof(an->intervals[0]),
		                  64) != VEIL_OK) {
			an->error = VEIL_ERR_NOMEM;
			return NAN;
		}
		for (size_t i = first; i < last; i++) {
			an->intervals[count][0] = w->prefixes[i];
			an->intervals[count][1] =
			        (uint64_t)w->prefixes[i] + ((uint64_t)1 << (32 - p));
			count++;
		}
	}
	qsort(an->intervals, count, sizeof(an->intervals[0]), compare_interval);
	uint64_t covered = 0, end = 0;
	size_t in_registry = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t a = an->intervals[i][0];
		const uint64_t b = an->intervals[i][1];
		if (b <= end)
			continue;
		if (a < end)
			a = end;
		covered += b - a;
		if (registered != NULL)
			in_registry +=
			        count_in_range(v->registered_buckets, v->registered_count, a, b);
		end = b;
	}
	if (registered != NULL)
		*registered = (double)in_registry;
	return (double)covered / ldexp(1.0, 32) * (double)v->universe;
}

/*
 * A memo of 2^width figures, each NaN (not known yet); NULL, with
 * an->error set, when memory runs out.
 */
static double *
memo_new(analysis *an, unsigned width)
{
	const size_t n = (size_t)1 << width;
	double *memo = malloc(n * sizeof(double));
	if (memo == NULL) {
		an->error = VEIL_ERR_NOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		memo[i] = NAN;
	return memo;
}

static double
handle_measure_memo(analysis *an, day_tables *d, unsigned width, uint32_t value)
{
	if (width > MEMO_MAX_WIDTH)
		return handle_measure(an, d, width, value, NULL);
	if (d->memo[width] == NULL && (d->memo[width] = memo_new(an, width)) == NULL)
		return NAN;
	if (isnan(d->memo[width][value]))
		d->memo[width][value] = handle_measure(an, d, width, value, NULL);
	return d->memo[width][value];
}

static double
registered_memo(analysis *an, day_tables *d, unsigned width, uint32_t value)
{
	double registered = NAN;
	if (width > MEMO_MAX_WIDTH) {
		handle_measure(an, d, width, value, &registered);
		return registered;
	}
	if (d->memo_registered == NULL || d->memo_registered_width != width) {
		free(d->memo_registered);
		if ((d->memo_registered = memo_new(an, width)) == NULL)
			return NAN;
		d->memo_registered_width = width;
	}
	if (isnan(d->memo_registered[value])) {
		handle_measure(an, d, width, value, &registered);
		d->memo_registered[value] = registered;
	}
	return d->memo_registered[value];
}

static day_tables *
day_of(const analysis *an, uint32_t day)
{
	for (size_t i = 0; i < an->day_count; i++)
		if (an->days[i].day == day)
			return &an->days[i];
	return NULL;
}

/* The pair test: does a salted entry show "account looked up bucket"? */
static int
pair_shown(const analysis *an, const exposure_pair *pair)
{
	const exposure_view *v = an->view;
	const exposure_log *log = an->log;
	for (size_t k = 0; k < an->day_count; k++) {
		const day_tables *d = &an->days[k];
		if (d->entry_count == 0 ||
		    (v->last_use != NULL && v->last_use[pair->account] < d->day))
			continue;
		const uint32_t lead =
		        d->account_leads != NULL
		                ? d->account_leads[pair->account]
		                : exposure_requester_lead(d->salt,
		                                          v->accounts + (size_t)pair->account *
		                                                                EXPOSURE_KEY_SIZE);
		uint32_t bucket_leads[EXPOSURE_MAX_PREFIX_BITS + 1];
		for (unsigned p = 0; p <= EXPOSURE_MAX_PREFIX_BITS; p++)
			if ((v->prefix_widths >> p) & 1)
				bucket_leads[p] =
				        d->width[p]
				                .by_prefix[p == 0 ? 0 : pair->bucket >> (32 - p)];
		/* Entries sorted by (t_r, requester): find this account's run per t_r. */
		size_t i = 0;
		while (i < d->entry_count) {
			const unsigned t_r = log->entries[d->by_requester[i]].t_r;
			const uint32_t want = exposure_truncate(lead, t_r);
			size_t j = i;
			/* Tokens mode: an entry of 0 requester bits names nobody (and
			 * would show "A looked up B" for every A): not tested. */
			if (t_r == 0 && log->header.tokens) {
				while (j < d->entry_count &&
				       log->entries[d->by_requester[j]].t_r == 0)
					j++;
				i = j;
				continue;
			}
			while (j < d->entry_count && log->entries[d->by_requester[j]].t_r == t_r &&
			       log->entries[d->by_requester[j]].requester < want)
				j++;
			for (; j < d->entry_count && log->entries[d->by_requester[j]].t_r == t_r &&
			       log->entries[d->by_requester[j]].requester == want;
			     j++) {
				const log_entry *e = &log->entries[d->by_requester[j]];
				for (uint32_t it = 0; it < e->item_count; it++) {
					const uint32_t got = log->items[e->first_item + it];
					for (unsigned p = 0; p <= EXPOSURE_MAX_PREFIX_BITS; p++)
						if (((v->prefix_widths >> p) & 1) &&
						    exposure_truncate(bucket_leads[p], e->t_b) ==
						            got)
							return 1;
				}
			}
			while (j < d->entry_count && log->entries[d->by_requester[j]].t_r == t_r)
				j++;
			i = j;
		}
	}
	return 0;
}

static double
bits(double population, double anonymity)
{
	return anonymity > 0 && population > anonymity ? log2(population / anonymity) : 0.0;
}

/* A share, NaN when there is nothing to share. */
static double
rate(uint64_t part, uint64_t whole)
{
	return whole > 0 ? (double)part / (double)whole : NAN;
}

/* The pair test's positives: pairs shown, among the true and the false ones. */
typedef struct pair_tally {
	uint64_t true_shown, false_shown;
} pair_tally;

/* Counts one suspected pair in f and t: its truth, and whether it is shown. */
static void
pair_count_one(exposure_figures *f, pair_tally *t, int looked_up, int shown)
{
	if (looked_up) {
		f->true_pairs++;
		t->true_shown += (uint64_t)shown;
	} else {
		f->false_pairs++;
		t->false_shown += (uint64_t)shown;
	}
}

/* The true and false positive rates of the pairs counted. */
static void
pair_rates(exposure_figures *f, const pair_tally *t)
{
	f->tpr = rate(t->true_shown, f->true_pairs);
	f->fpr = rate(t->false_shown, f->false_pairs);
}

/*
 * Whether an entry of the log (of a day whose salt is held, when salted)
 * carries a requester: in keys mode always; in tokens mode only one with
 * a requester digest of more than 0 bits.
 */
static int
any_requester(const analysis *an, int salted)
{
	const exposure_log *log = an->log;
	if (!log->header.tokens)
		return 1;
	for (size_t i = 0; i < log->entry_count; i++)
		if (log->entries[i].t_r > 0 && (!salted || day_of(an, log->entries[i].day) != NULL))
			return 1;
	return 0;
}

/* The figures of an adversary holding no usable salt. */
static void
figures_unsalted(const analysis *an, exposure_figures *f)
{
	const double accounts = (double)an->accounts_total;
	const double universe = (double)an->view->universe;
	f->requester = constant_stat(accounts, an->log->entry_count);
	f->handle = constant_stat(universe, an->log->item_count);
	f->requester_expected = accounts;
	f->handle_expected = universe;
	f->requester_measured = an->view->accounts != NULL;
	f->pair_test_possible = 0;
	f->no_requester = !any_requester(an, 0);
	f->tpr = f->fpr = f->tpr_salted = NAN;
	f->bits_per_entry = f->bits_per_lookup = 0;
	f->requester_by_width[0] = constant_stat(accounts, an->log->entry_count);
	f->handle_by_width[0] = constant_stat(universe, an->log->item_count);
}

static veil_err
measure_entries(analysis *an, exposure_figures *f)
{
	const exposure_log *log = an->log;
	const exposure_view *v = an->view;
	double *req = malloc((log->entry_count + 1) * sizeof(double));
	double *handles = malloc((log->item_count + 1) * sizeof(double));
	double *registered = v->registered_buckets != NULL
	                             ? malloc((log->item_count + 1) * sizeof(double))
	                             : NULL;
	double *sample = malloc((WIDTH_SAMPLE + 1) * sizeof(double));
	if (req == NULL || handles == NULL || sample == NULL ||
	    (v->registered_buckets != NULL && registered == NULL)) {
		free(req);
		free(handles);
		free(registered);
		free(sample);
		return VEIL_ERR_NOMEM;
	}
	size_t nr = 0, nh = 0;
	double total_bits = 0;
	for (size_t i = 0; i < log->entry_count && an->error == VEIL_OK; i++) {
		const log_entry *e = &log->entries[i];
		day_tables *d = day_of(an, e->day);
		if (d == NULL)
			continue; /* no salt: anonymous among all, adds no bits */
		f->entries_salted++;
		const double r = requester_count(an, d, e->t_r, e->requester);
		req[nr++] = r;
		f->unmatched_requesters += r == 0;
		total_bits += bits((double)an->accounts_total, r);
		for (uint32_t it = 0; it < e->item_count; it++) {
			const uint32_t value = log->items[e->first_item + it];
			const double h = handle_measure_memo(an, d, e->t_b, value);
			if (registered != NULL)
				registered[nh] = registered_memo(an, d, e->t_b, value);
			handles[nh++] = h;
			f->unmatched_items += h == 0;
			total_bits += bits((double)v->universe, h);
		}
	}
	f->requester = summarize(req, nr);
	f->handle = summarize(handles, nh);
	if (registered != NULL) {
		f->has_registered = 1;
		f->registered = summarize(registered, nh);
	}
	f->bits_per_entry = log->entry_count > 0 ? total_bits / (double)log->entry_count : 0;
	f->bits_per_lookup = log->item_count > 0 ? total_bits / (double)log->item_count : 0;

	/* By width: the salted entries' digests cut down, over a sample. */
	const size_t entry_stride = f->entries_salted / WIDTH_SAMPLE + 1;
	const size_t item_stride = nh / WIDTH_SAMPLE + 1;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH && an->error == VEIL_OK; w++) {
		size_t n = 0, seen = 0;
		for (size_t i = 0; i < log->entry_count && n < WIDTH_SAMPLE; i++) {
			const log_entry *e = &log->entries[i];
			day_tables *d = w <= e->t_r ? day_of(an, e->day) : NULL;
			if (d != NULL && seen++ % entry_stride == 0)
				sample[n++] =
				        requester_count(an, d, w, cut(e->requester, e->t_r, w));
		}
		f->requester_by_width[w] = summarize(sample, n);
		n = seen = 0;
		for (size_t i = 0; i < log->entry_count && n < WIDTH_SAMPLE; i++) {
			const log_entry *e = &log->entries[i];
			day_tables *d = w <= e->t_b ? day_of(an, e->day) : NULL;
			for (uint32_t it = 0; d != NULL && it < e->item_count && n < WIDTH_SAMPLE;
			     it++)
				if (seen++ % item_stride == 0)
					sample[n++] = handle_measure_memo(
					        an, d, w,
					        cut(log->items[e->first_item + it], e->t_b, w));
		}
		f->handle_by_width[w] = summarize(sample, n);
	}
	free(req);
	free(handles);
	free(registered);
	free(sample);
	return an->error;
}

veil_err
exposure_analyze(const exposure_view *view, const exposure_pair *pairs, size_t pair_count,
                 exposure_figures *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (view == NULL || view->log == NULL || view->prefix_widths == 0 ||
	    (pair_count > 0 && (pairs == NULL || view->accounts == NULL)) ||
	    (view->last_use != NULL && view->accounts == NULL))
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < pair_count; i++)
		if (pairs[i].account >= view->account_count)
			return VEIL_ERR_ARGUMENT;
	const exposure_log *log = view->log;
	/* Tokens mode: no charge is tied to an entry (exposure_view.last_use). */
	exposure_view tokens_view = *view;
	if (log->header.tokens) {
		tokens_view.last_use = NULL;
		view = &tokens_view;
	}
	const uint64_t accounts =
	        view->accounts != NULL ? view->account_count : log->header.accounts;
	analysis an = {view, log, accounts, 255, 0, NULL, VEIL_OK, NULL, 0};
	if ((view->prefix_widths & (view->prefix_widths - 1)) == 0)
		for (unsigned p = 0; p < 64; p++)
			if (view->prefix_widths >> p == 1)
				an.single_p = p;

	exposure_figures *f = out;
	f->entries = log->entry_count;
	f->lookups = log->item_count;
	uint64_t stored = 0;
	for (size_t i = 0; i < log->entry_count; i++) {
		const log_entry *e = &log->entries[i];
		stored += QLOG_ENTRY_KEY_SIZE + qlog_value_size(e->t_r, e->t_b, e->item_count);
	}
	f->bytes_per_lookup = log->item_count > 0 ? (double)stored / (double)log->item_count : NAN;
	f->export_bytes_per_lookup =
	        log->item_count > 0 ? (double)view->export_bytes / (double)log->item_count : NAN;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH; w++)
		f->requester_by_width[w] = f->handle_by_width[w] = constant_stat(NAN, 0);

	/* The days that have both entries and a salt. */
	veil_err err = VEIL_OK;
	if (view->salts != NULL && view->salts->count > 0) {
		if (view->prefix_widths >> (EXPOSURE_MAX_PREFIX_BITS + 1) != 0)
			return VEIL_ERR_ARGUMENT;
		an.days = calloc(view->salts->count, sizeof(day_tables));
		if (an.days == NULL)
			return VEIL_ERR_NOMEM;
		for (size_t i = 0; i < view->salts->count; i++) {
			const uint32_t day = view->salts->days[i];
			size_t n = 0;
			for (size_t k = 0; k < log->entry_count && n == 0; k++)
				n += log->entries[k].day == day;
			if (n == 0)
				continue;
			day_tables *d = &an.days[an.day_count++];
			d->day = day;
			d->salt = view->salts->salts + i * EXPOSURE_SALT_SIZE;
			if ((err = build_day(&an, d)) != VEIL_OK)
				goto out;
		}
	}
	if (an.day_count == 0) {
		figures_unsalted(&an, f);
		goto out;
	}

	f->requester_measured = view->accounts != NULL;
	f->requester_expected = exposure_expected_requester(an.accounts_total, log->header.t_r);
	/* An entry's bucket width is min(t_b, p): never more than the server saw. */
	f->handle_expected =
	        an.single_p != 255
	                ? exposure_expected_handle(view->universe, an.single_p,
	                                           log->header.t_b < an.single_p ? log->header.t_b
	                                                                         : an.single_p)
	                : NAN;
	if ((err = measure_entries(&an, f)) != VEIL_OK)
		goto out;

	if (!any_requester(&an, 1)) {
		/* Tokens mode: no salted entry names anybody. */
		f->no_requester = 1;
		f->tpr = f->fpr = f->tpr_salted = NAN;
		goto out;
	}
	f->pair_test_possible = 1;
	pair_tally tally = {0, 0};
	uint64_t tp_salted = 0;
	for (size_t i = 0; i < pair_count; i++) {
		const int shown = pair_shown(&an, &pairs[i]);
		pair_count_one(f, &tally, pairs[i].looked_up, shown);
		if (pairs[i].looked_up &&
		    exposure_salts_get(view->salts, pairs[i].last_day) != NULL) {
			f->true_pairs_salted++;
			tp_salted += shown;
		}
	}
	pair_rates(f, &tally);
	f->tpr_salted = rate(tp_salted, f->true_pairs_salted);
out:
	for (size_t i = 0; i < an.day_count; i++)
		day_tables_free(&an.days[i]);
	free(an.days);
	free(an.intervals);
	return err;
}

uint64_t
exposure_infer_prefix_widths(const exposure_log *log, const exposure_salts *salts,
                             unsigned max_bits)
{
	if (log == NULL || salts == NULL || max_bits > EXPOSURE_MAX_PREFIX_BITS)
		return 0;
	uint64_t mask = 0;
	int any_salted = 0;
	for (unsigned p = 0; p <= max_bits; p++) {
		int fits = 1;
		for (size_t k = 0; k < salts->count && fits; k++) {
			const uint32_t day = salts->days[k];
			width_table w;
			memset(&w, 0, sizeof(w));
			int built = 0;
			for (size_t i = 0; i < log->entry_count && fits; i++) {
				const log_entry *e = &log->entries[i];
				if (e->day != day || e->item_count == 0)
					continue;
				if (!built) {
					if (width_table_build(&w,
					                      salts->salts + k * EXPOSURE_SALT_SIZE,
					                      p) != VEIL_OK) {
						fits = 0;
						mask = 0;
						p = max_bits;
						break;
					}
					built = any_salted = 1;
				}
				for (uint32_t it = 0; it < e->item_count && fits; it++) {
					uint64_t lo, hi;
					lead_range(log->items[e->first_item + it], e->t_b, &lo,
					           &hi);
					fits = count_in_range(w.leads, (size_t)1 << p, lo, hi) > 0;
				}
			}
			width_table_free(&w);
		}
		if (fits)
			mask |= (uint64_t)1 << p;
	}
	return any_salted ? mask : 0;
}

/* ------------------------------------------------------------------ */
/* Analysis of the baseline log */

static int
compare_key(const void *a, const void *b)
{
	return memcmp(a, b, EXPOSURE_KEY_SIZE);
}

veil_err
exposure_analyze_baseline(const exposure_baseline *b, const uint8_t *accounts, size_t account_count,
                          uint64_t universe, uint64_t bytes, const exposure_pair *pairs,
                          size_t pair_count, exposure_figures *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (b == NULL || accounts == NULL || (pair_count > 0 && pairs == NULL))
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < pair_count; i++)
		if (pairs[i].account >= account_count)
			return VEIL_ERR_ARGUMENT;
	veil_err err = VEIL_ERR_NOMEM;
	uint8_t *sorted = malloc((account_count + 1) * EXPOSURE_KEY_SIZE);
	double *per_requester = malloc((b->requesters.count + 1) * sizeof(double));
	double *req = malloc((b->count + 1) * sizeof(double));
	double *handles = malloc((b->count + 1) * sizeof(double));
	uint64_t *shown = malloc((b->count + 1) * sizeof(uint64_t));
	if (sorted == NULL || per_requester == NULL || req == NULL || handles == NULL ||
	    shown == NULL)
		goto out;
	memcpy(sorted, accounts, account_count * EXPOSURE_KEY_SIZE);
	qsort(sorted, account_count, EXPOSURE_KEY_SIZE, compare_key);

	/* Requester anonymity: the accounts whose key the line names. */
	for (size_t id = 0; id < b->requesters.count; id++) {
		const uint8_t *key = (const uint8_t *)b->requesters.text[id];
		size_t lo = 0, hi = account_count;
		while (lo < hi) {
			const size_t m = lo + (hi - lo) / 2;
			if (memcmp(sorted + m * EXPOSURE_KEY_SIZE, key, EXPOSURE_KEY_SIZE) < 0)
				lo = m + 1;
			else
				hi = m;
		}
		size_t n = 0;
		while (lo + n < account_count &&
		       memcmp(sorted + (lo + n) * EXPOSURE_KEY_SIZE, key, EXPOSURE_KEY_SIZE) == 0)
			n++;
		per_requester[id] = (double)n;
	}
	double total_bits = 0;
	for (size_t i = 0; i < b->count; i++) {
		req[i] = per_requester[b->lines[i].requester];
		/* The handle is written out: one handle of the numbering space is it. */
		handles[i] = 1.0;
		total_bits += bits((double)account_count, req[i]) + bits((double)universe, 1.0);
		shown[i] = (uint64_t)b->lines[i].requester << 32 | b->lines[i].handle;
	}
	qsort(shown, b->count, sizeof(uint64_t), compare_u64);

	exposure_figures *f = out;
	f->baseline = 1;
	f->entries = f->entries_salted = f->lookups = b->count;
	f->requester = summarize(req, b->count);
	f->handle = summarize(handles, b->count);
	f->requester_measured = 1;
	f->requester_expected = f->handle_expected = 1.0;
	f->bits_per_entry = f->bits_per_lookup = b->count > 0 ? total_bits / (double)b->count : 0;
	f->bytes_per_lookup = f->export_bytes_per_lookup =
	        b->count > 0 ? (double)bytes / (double)b->count : NAN;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH; w++)
		f->requester_by_width[w] = f->handle_by_width[w] = constant_stat(NAN, 0);

	/* The pair test: a line names this requester and this handle. */
	f->pair_test_possible = 1;
	pair_tally tally = {0, 0};
	for (size_t i = 0; i < pair_count; i++) {
		const exposure_pair *p = &pairs[i];
		const int64_t r =
		        intern_find(&b->requesters,
		                    (const char *)accounts + (size_t)p->account * EXPOSURE_KEY_SIZE,
		                    EXPOSURE_KEY_SIZE);
		const int64_t h = intern_find(&b->handles, p->handle, strlen(p->handle));
		int found = 0;
		if (r >= 0 && h >= 0) {
			const uint64_t want = (uint64_t)r << 32 | (uint64_t)h;
			found = bsearch(&want, shown, b->count, sizeof(uint64_t), compare_u64) !=
			        NULL;
		}
		pair_count_one(f, &tally, p->looked_up, found);
	}
	pair_rates(f, &tally);
	f->true_pairs_salted = f->true_pairs;
	f->tpr_salted = f->tpr;
	err = VEIL_OK;
out:
	free(sorted);
	free(per_requester);
	free(req);
	free(handles);
	free(shown);
	return err;
}

/* ------------------------------------------------------------------ */
/* Analysis of a wiretap */

/* A5's figures; anonymous: tokens mode (exposure_analyze_tap_anonymous()). */
static veil_err
analyze_tap(const exposure_tap *tap, size_t prefix_count, const exposure_pair *pairs,
            size_t pair_count, int anonymous, exposure_figures *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (tap == NULL || tap->prefix_bits > 32 ||
	    (tap->request_count > 0 && tap->requests == NULL) ||
	    (pair_count > 0 && (pairs == NULL || tap->prefixes == NULL)))
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < pair_count; i++)
		if (pairs[i].account >= tap->accounts)
			return VEIL_ERR_ARGUMENT;
	uint64_t items = 0;
	for (size_t i = 0; i < tap->request_count; i++) {
		const exposure_tap_request *q = &tap->requests[i];
		if (tap->prefixes != NULL && (q->first_prefix > prefix_count ||
		                              q->item_count > prefix_count - q->first_prefix))
			return VEIL_ERR_ARGUMENT;
		items += q->item_count;
	}
	const int with_registered = tap->prefixes != NULL && tap->registered_buckets != NULL;
	double *registered = with_registered ? malloc((items + 1) * sizeof(double)) : NULL;
	/* What was seen: account << 32 | item prefix, sorted. */
	uint64_t *seen = tap->prefixes != NULL ? malloc((items + 1) * sizeof(uint64_t)) : NULL;
	if ((with_registered && registered == NULL) || (tap->prefixes != NULL && seen == NULL)) {
		free(registered);
		free(seen);
		return VEIL_ERR_NOMEM;
	}
	const unsigned p = tap->prefix_bits;
	const double per_prefix = (double)tap->universe / ldexp(1.0, (int)p);
	size_t n = 0;
	for (size_t i = 0; i < tap->request_count && tap->prefixes != NULL; i++) {
		const exposure_tap_request *q = &tap->requests[i];
		for (uint32_t it = 0; it < q->item_count; it++) {
			const uint32_t prefix =
			        entry_prefix(tap->prefixes[q->first_prefix + it], p);
			if (registered != NULL) {
				const uint64_t lo = prefix, hi = lo + ((uint64_t)1 << (32 - p));
				registered[n] = (double)count_in_range(
				        tap->registered_buckets, tap->registered_count, lo, hi);
			}
			seen[n++] = (uint64_t)q->account << 32 | prefix;
		}
	}

	exposure_figures *f = out;
	/* Tokens mode: no sender named, so every request fits every account. */
	const double requester = anonymous ? (double)tap->accounts : 1.0;
	f->entries = f->entries_salted = tap->request_count;
	f->lookups = items;
	f->requester = constant_stat(requester, tap->request_count);
	f->handle = constant_stat(per_prefix, items);
	f->requester_measured = 1;
	f->requester_expected = requester;
	f->handle_expected = per_prefix;
	if (registered != NULL) {
		f->has_registered = 1;
		f->registered = summarize(registered, n);
	}
	const double total_bits =
	        (double)tap->request_count * bits((double)tap->accounts, requester) +
	        (double)items * bits((double)tap->universe, per_prefix);
	f->bits_per_entry = tap->request_count > 0 ? total_bits / (double)tap->request_count : 0;
	f->bits_per_lookup = items > 0 ? total_bits / (double)items : 0;
	f->bytes_per_lookup = f->export_bytes_per_lookup = NAN;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH; w++)
		f->requester_by_width[w] = f->handle_by_width[w] = constant_stat(NAN, 0);

	/* The pair test: one of A's requests carries B's prefix, any day. */
	f->pair_test_possible = !anonymous;
	f->no_requester = anonymous;
	pair_tally tally = {0, 0};
	if (seen != NULL)
		qsort(seen, n, sizeof(uint64_t), compare_u64);
	for (size_t i = 0; i < pair_count && !anonymous; i++) {
		const uint64_t want =
		        (uint64_t)pairs[i].account << 32 | entry_prefix(pairs[i].bucket, p);
		const int shown = bsearch(&want, seen, n, sizeof(uint64_t), compare_u64) != NULL;
		pair_count_one(f, &tally, pairs[i].looked_up, shown);
	}
	pair_rates(f, &tally);
	f->true_pairs_salted = f->true_pairs;
	f->tpr_salted = f->tpr;
	free(registered);
	free(seen);
	return VEIL_OK;
}

veil_err
exposure_analyze_tap(const exposure_tap *tap, size_t prefix_count, const exposure_pair *pairs,
                     size_t pair_count, exposure_figures *out)
{
	return analyze_tap(tap, prefix_count, pairs, pair_count, 0, out);
}

veil_err
exposure_analyze_tap_anonymous(const exposure_tap *tap, size_t prefix_count, exposure_figures *out)
{
	return analyze_tap(tap, prefix_count, NULL, 0, 1, out);
}

void
exposure_log_set_accounts(exposure_log *log, uint64_t accounts)
{
	if (log != NULL)
		log->header.accounts = accounts;
}

veil_err
exposure_log_tap(const exposure_log *log, exposure_tap_request **requests, size_t *count)
{
	if (requests != NULL)
		*requests = NULL;
	if (count != NULL)
		*count = 0;
	if (log == NULL || requests == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	if (log->entry_count == 0)
		return VEIL_OK;
	exposure_tap_request *q = calloc(log->entry_count, sizeof(*q));
	if (q == NULL)
		return VEIL_ERR_NOMEM;
	for (size_t i = 0; i < log->entry_count; i++) {
		q[i].day = log->entries[i].day;
		q[i].item_count = log->entries[i].item_count;
	}
	*requests = q;
	*count = log->entry_count;
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* The token issuer's records (tokens mode) */

static int
compare_issuer_day(const void *a, const void *b)
{
	const exposure_issuer_day *x = a, *y = b;
	return x->day < y->day ? -1 : x->day > y->day;
}

veil_err
exposure_issuer_summarize(const exposure_issuer_record *records, size_t count, exposure_issuer *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (records == NULL && count > 0)
		return VEIL_ERR_ARGUMENT;
	exposure_issuer_day *days = malloc((count + 1) * sizeof(*days));
	if (days == NULL)
		return VEIL_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		const exposure_issuer_record *r = &records[i];
		out->records++;
		out->enrolled += r->enrolled != 0;
		if (r->last_fetch_day == 0)
			continue;
		out->fetched++;
		days[n++] = (exposure_issuer_day){r->last_fetch_day, 1, r->tokens_left};
	}
	/* One entry per day: sort, then merge runs. */
	qsort(days, n, sizeof(*days), compare_issuer_day);
	size_t merged = 0;
	for (size_t i = 0; i < n; i++) {
		if (merged > 0 && days[merged - 1].day == days[i].day) {
			days[merged - 1].accounts++;
			days[merged - 1].tokens_left += days[i].tokens_left;
		} else {
			days[merged++] = days[i];
		}
	}
	out->days = days;
	out->day_count = merged;
	return VEIL_OK;
}

void
exposure_issuer_free(exposure_issuer *out)
{
	if (out == NULL)
		return;
	free(out->days);
	memset(out, 0, sizeof(*out));
}

veil_err
exposure_analyze_issuer(const exposure_log *log, uint64_t accounts, uint64_t universe,
                        exposure_figures *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (log == NULL)
		return VEIL_ERR_ARGUMENT;
	exposure_figures *f = out;
	f->entries = log->entry_count;
	f->lookups = log->item_count;
	/* No handle, no digest, no time finer than a day: nothing narrows an entry. */
	f->requester = constant_stat((double)accounts, log->entry_count);
	f->handle = constant_stat((double)universe, log->item_count);
	f->requester_measured = 1;
	f->requester_expected = (double)accounts;
	f->handle_expected = (double)universe;
	f->no_requester = 1;
	f->tpr = f->fpr = f->tpr_salted = NAN;
	f->bytes_per_lookup = f->export_bytes_per_lookup = NAN;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH; w++)
		f->requester_by_width[w] = f->handle_by_width[w] = constant_stat(NAN, 0);
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* The table */

const char exposure_note_a4[] =
        "A4 (a copy of the state directory) also reads, with clients.key, each candidate "
        "key's record in the clients database: an entry of day d fits only the accounts "
        "whose digest matches and whose last charge was on day d or later.";
const char exposure_note_a5[] =
        "A5 (a wiretap on veild for 30 days) sees the client each request is sealed by, its "
        "exact time and address, and every item's prefix, the client's padding among them: "
        "the requester is named, an item fits universe / 2^p handles, and the pair test "
        "runs over every day, salted or not.";

const char exposure_note_tokens[] =
        "tokens mode: veild learns no requester (each lookup redeems a token in a "
        "SEALED_ANONYMOUS frame; entries carry a requester digest of 0 bits), so every entry "
        "fits every account, whatever the day and whichever salts are held; the pair test "
        "\"A looked up B\" does not apply (n/a): it could only say that someone looked up "
        "B's bucket, the same answer for every A.";
const char exposure_note_a4_tokens[] =
        "A4 (a copy of the state directory) in tokens mode: veild's state holds no clients "
        "database (no account is enrolled or charged there), so A4 learns of requesters "
        "what A1 and A2 learn: nothing.";
const char exposure_note_a5_tokens[] =
        "A5 (a wiretap on veild for 30 days) in tokens mode: requests come in "
        "SEALED_ANONYMOUS frames under a fresh key and a token, naming no sender, so every "
        "request fits every account; it still sees every item's prefix. The peer address "
        "and the exact time are outside this model: a network that links them to a person "
        "links that person's requests.";
const char exposure_note_issuer[] =
        "I (a copy of the issuer's state directory) holds per account its enrolment, the "
        "day of its last fetch of tokens and the tokens it had left that day: with "
        "clients.key and candidate keys it names who fetched and how much on that day, and "
        "nothing of what was looked up or when (clients fetch at a random time of day). "
        "Issuance is blinded (VOPRF), so no record links a token to its redemption: I "
        "together with veild's log and salts (I + A2) still fits every account to every "
        "entry.";

/* An anonymity figure in at most 8 characters: 1, 1250, 3.4e7. */
static void
format_count(char *out, size_t cap, double v)
{
	if (isnan(v))
		snprintf(out, cap, "-");
	else if (v < 999999.5 && fabs(v - round(v)) < 0.005)
		snprintf(out, cap, "%.0f", v);
	else if (v < 1000)
		snprintf(out, cap, "%.1f", v);
	else if (v < 999999.5)
		snprintf(out, cap, "%.0f", v);
	else {
		const int exponent = (int)floor(log10(v));
		double mantissa = v / pow(10.0, exponent);
		snprintf(out, cap, "%.2ge%d", mantissa, exponent);
	}
}

static void
format_rate(char *out, size_t cap, double v)
{
	if (isnan(v))
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.3f", v);
}

static void
table_row(buf *out, const exposure_row *row)
{
	const exposure_figures *f = &row->figures;
	char label[40], c[6][16], tpr[16], fpr[16];
	snprintf(label, sizeof(label), "%s (%s)", row->name, row->holds);
	format_count(c[0], sizeof(c[0]), f->requester.median);
	format_count(c[1], sizeof(c[1]), f->requester.p5);
	format_count(c[2], sizeof(c[2]), f->requester.min);
	format_count(c[3], sizeof(c[3]), f->handle.median);
	format_count(c[4], sizeof(c[4]), f->handle.p5);
	format_count(c[5], sizeof(c[5]), f->handle.min);
	buf_printf(out, "%-34s %8s %8s %8s  %8s %8s %8s  ", label, c[0], c[1], c[2], c[3], c[4],
	           c[5]);
	if (f->no_requester) {
		buf_printf(out, "%-15s", "n/a: anonymous");
	} else if (f->pair_test_possible) {
		format_rate(tpr, sizeof(tpr), f->tpr);
		format_rate(fpr, sizeof(fpr), f->fpr);
		buf_printf(out, "%7s %7s", tpr, fpr);
	} else {
		buf_printf(out, "%-15s", "no test possible");
	}
	char bytes[16];
	if (isnan(f->bytes_per_lookup))
		snprintf(bytes, sizeof(bytes), "-");
	else
		snprintf(bytes, sizeof(bytes), "%.1f", f->bytes_per_lookup);
	buf_printf(out, "  %7.1f %8s\n", f->bits_per_entry, bytes);
}

/*
 * The first row measured from digests under held salts (A1 in both
 * modes): the baseline, a wiretap and I measure none (no figure by
 * width), A0 and A3 hold no salt.
 */
static const exposure_figures *
first_salted(const exposure_report *r)
{
	for (size_t i = 0; i < r->row_count; i++) {
		const exposure_figures *f = &r->rows[i].figures;
		if (!f->baseline && f->entries_salted > 0 &&
		    (f->requester_by_width[0].count > 0 || f->handle_by_width[0].count > 0))
			return f;
	}
	return NULL;
}

/* The issuer's fetch records, one line under the table. */
static void
issuer_lines(const exposure_issuer *is, buf *out)
{
	buf_printf(out,
	           "issuer's records (I): %llu accounts with a record, %llu enrolled, %llu with "
	           "a fetch on record; accounts by day of last fetch:",
	           (unsigned long long)is->records, (unsigned long long)is->enrolled,
	           (unsigned long long)is->fetched);
	for (size_t i = 0; i < is->day_count; i++)
		buf_printf(out, "%s day %u: %llu", i == 0 ? "" : ",", is->days[i].day,
		           (unsigned long long)is->days[i].accounts);
	if (is->day_count == 0)
		buf_append_str(out, " none");
	buf_append_byte(out, '\n');
}

static unsigned
single_prefix(uint64_t widths)
{
	for (unsigned p = 0; p < 64; p++)
		if (widths == (uint64_t)1 << p)
			return p;
	return 255;
}

void
exposure_report_table(const exposure_report *r, buf *out)
{
	const exposure_log_header *h = &r->header;
	char universe[16];
	format_count(universe, sizeof(universe), (double)r->universe);
	if (r->population != NULL)
		buf_printf(out,
		           "veil exposure simulation: %u users, %u contacts each, %.0f%% of their "
		           "handles registered (+%u outside), %u days, seed %llu\n",
		           r->population->users, r->population->contacts,
		           r->population->registered * 100, r->population->registry_padding,
		           r->population->days, (unsigned long long)r->population->seed);
	const unsigned single = single_prefix(r->prefix_widths);
	buf_printf(out, "log: auth %s; t_r = %u bits, t_b = %u bits",
	           h->tokens ? "tokens (no requester)" : "keys", h->t_r, h->t_b);
	if (single != 255 && single < h->t_b)
		buf_printf(out, " (%u in entries: never more than p)", single);
	buf_printf(out, " (targets k_r = %u, k_b = %u); prefix bits", h->k_r, h->k_b);
	for (unsigned p = 0; p < 64 && !r->prefix_unknown; p++)
		if ((r->prefix_widths >> p) & 1)
			buf_printf(out, " %u", p);
	if (r->prefix_note != NULL)
		buf_printf(out, " (%s)", r->prefix_note);
	buf_printf(out, "; %llu accounts; universe %s handles; %llu entries, %llu lookups\n",
	           (unsigned long long)r->accounts, universe, (unsigned long long)h->entries,
	           (unsigned long long)h->items);
	buf_printf(out, "\n%-34s %-26s  %-26s  %-15s  %7s %8s\n", "", "requester anonymity",
	           "handle anonymity", "pair test", "bits/", "bytes/");
	buf_printf(out, "%-34s %8s %8s %8s  %8s %8s %8s  %7s %7s  %7s %8s\n", "adversary (holds)",
	           "median", "p5", "min", "median", "p5", "min", "TPR", "FPR", "entry", "lookup");
	for (size_t i = 0; i < r->row_count; i++)
		table_row(out, &r->rows[i]);
	if (r->issuer != NULL) {
		buf_append_byte(out, '\n');
		issuer_lines(r->issuer, out);
	}

	const exposure_figures *s = first_salted(r);
	char a[16], b[16];
	if (s != NULL) {
		format_count(a, sizeof(a), s->requester_expected);
		format_count(b, sizeof(b), s->handle_expected);
		buf_printf(out, "%-34s %8s %8s %8s  %8s\n", "expected (closed form)", a, "", "", b);
	}
	buf_printf(out, "\nnotes:\n");
	buf_printf(out, "- anonymity: how many enrolled accounts (requester) or handles of the "
	                "numbering space (handle) an entry fits; the baseline names both.\n");
	if (s != NULL) {
		buf_printf(out,
		           "- with salts, figures are over the %llu of %llu entries whose day's "
		           "salt is held (days",
		           (unsigned long long)s->entries_salted, (unsigned long long)s->entries);
		for (size_t i = 0; i < r->salted_day_count; i++)
			buf_printf(out, " %u", r->salted_days[i]);
		buf_printf(out, "); the others fit every account and every handle.\n");
		buf_printf(
		        out,
		        "- expected: 1 + (accounts - 1) / 2^t_r; universe / 2^p * (1 + (2^p - 1) "
		        "/ 2^t_b) (the true prefix plus those colliding).\n");
		if (!isnan(s->tpr_salted))
			buf_printf(out,
			           "- pair test: TPR among pairs last looked up on a day whose "
			           "salt is "
			           "held: %.3f (%llu pairs); older lookups cannot be tested once "
			           "their "
			           "salt is erased.\n",
			           s->tpr_salted, (unsigned long long)s->true_pairs_salted);
		if (r->population == NULL && !s->no_requester)
			buf_printf(out, "- pair test: no ground truth for a real export; "
			                "veil-exposure-sim scores it on a synthetic population.\n");
		if (!s->requester_measured)
			buf_printf(out,
			           "- no account list: requester figures are the expected ones "
			           "for the header's accounts.\n");
	}
	/* Those holding the registry, in one note: "A2 2569, A5 79". */
	int registry_rows = 0;
	for (size_t i = 0; i < r->row_count; i++) {
		const exposure_figures *f = &r->rows[i].figures;
		if (!f->has_registered || f->registered.count == 0)
			continue;
		format_count(a, sizeof(a), f->registered.median);
		buf_printf(out, "%s%s %s",
		           registry_rows++ == 0 ? "- registered handles that fit an "
		                                  "item (its bucket digest; for a "
		                                  "wiretap, its prefix), median: "
		                                : ", ",
		           r->rows[i].name, a);
	}
	if (registry_rows > 0)
		buf_printf(out,
		           ". These hold the registry: they know which handles are registered and "
		           "every registered handle's bucket (buckets are public anyway), but "
		           "narrowing to them is not valid: %.0f%% of the handles looked up were "
		           "not registered.\n",
		           r->unregistered_share * 100);
	for (size_t i = 0; i < r->note_count; i++)
		buf_printf(out, "- %s\n", r->notes[i]);
	buf_printf(out, "- no test possible: without the salt of an entry's day, no digest can be "
	                "computed for a guess (A0, A3).\n");
	if (h->tokens)
		buf_printf(out, "- n/a: anonymous: nothing held names or digests a requester "
		                "(tokens mode).\n");
	buf_printf(out, "- bits/entry: what an entry tells about who and what, "
	                "log2(accounts / requester anonymity) + sum over items of "
	                "log2(universe / handle anonymity).\n");
	buf_printf(out, "- bytes/lookup: stored per looked-up handle: the log's LMDB key and "
	                "value, without page overhead; the baseline's log line.");
	for (size_t i = 0; i < r->row_count; i++)
		if (!r->rows[i].figures.baseline) {
			if (!isnan(r->rows[i].figures.export_bytes_per_lookup))
				buf_printf(out,
				           " The export handed over takes %.1f bytes per lookup.",
				           r->rows[i].figures.export_bytes_per_lookup);
			break;
		}
	buf_append_byte(out, '\n');
	if (r->seconds > 0)
		buf_printf(out, "- run took %.1f s.\n", r->seconds);
}

/* ------------------------------------------------------------------ */
/* JSON */

static void
json_number(buf *out, double v)
{
	if (isfinite(v))
		buf_printf(out, "%.6g", v);
	else
		buf_append_str(out, "null");
}

/* ,"name":v */
static void
json_field(buf *out, const char *name, double v)
{
	buf_printf(out, ",\"%s\":", name);
	json_number(out, v);
}

/* "median":m,"p5":a,"p95":b: the figures every stat shows. */
static void
json_quantiles(buf *out, const exposure_stat *s)
{
	buf_append_str(out, "\"median\":");
	json_number(out, s->median);
	json_field(out, "p5", s->p5);
	json_field(out, "p95", s->p95);
}

static void
json_stat(buf *out, const char *name, const exposure_stat *s, double expected, int measured)
{
	buf_printf(out, "\"%s\":{", name);
	json_quantiles(out, s);
	json_field(out, "min", s->min);
	buf_printf(out, ",\"count\":%llu", (unsigned long long)s->count);
	if (!isnan(expected))
		json_field(out, "expected", expected);
	if (measured >= 0)
		buf_printf(out, ",\"measured\":%s", measured ? "true" : "false");
	buf_append_byte(out, '}');
}

static void
json_by_width(buf *out, const char *name, const exposure_stat *by_width)
{
	buf_printf(out, "\"%s\":[", name);
	int first = 1;
	for (unsigned w = 0; w <= EXPOSURE_MAX_WIDTH; w++) {
		if (by_width[w].count == 0)
			continue;
		buf_printf(out, "%s{\"bits\":%u,", first ? "" : ",", w);
		json_quantiles(out, &by_width[w]);
		buf_append_byte(out, '}');
		first = 0;
	}
	buf_append_byte(out, ']');
}

static void
json_row(buf *out, const exposure_row *row)
{
	const exposure_figures *f = &row->figures;
	buf_append_str(out, "{\"name\":");
	json_write_string(out, row->name, strlen(row->name));
	buf_append_str(out, ",\"holds\":");
	json_write_string(out, row->holds, strlen(row->holds));
	buf_printf(out, ",\"entries\":%llu,\"entries_with_salt\":%llu,\"lookups\":%llu,",
	           (unsigned long long)f->entries, (unsigned long long)f->entries_salted,
	           (unsigned long long)f->lookups);
	json_stat(out, "requester_anonymity", &f->requester, f->requester_expected,
	          f->requester_measured);
	buf_append_byte(out, ',');
	json_stat(out, "handle_anonymity", &f->handle, f->handle_expected, 1);
	if (f->no_requester) {
		buf_append_str(out, ",\"pair_test\":{\"possible\":false,\"applicable\":false,"
		                    "\"why\":\"tokens mode: nothing held names or digests a "
		                    "requester\"}");
	} else if (f->pair_test_possible) {
		buf_append_str(out, ",\"pair_test\":{\"possible\":true");
		json_field(out, "tpr", f->tpr);
		json_field(out, "fpr", f->fpr);
		json_field(out, "tpr_salted_days", f->tpr_salted);
		buf_printf(out,
		           ",\"true_pairs\":%llu,\"false_pairs\":%llu,\"true_pairs_salted_days\":%"
		           "llu}",
		           (unsigned long long)f->true_pairs, (unsigned long long)f->false_pairs,
		           (unsigned long long)f->true_pairs_salted);
	} else {
		buf_append_str(out,
		               ",\"pair_test\":{\"possible\":false,\"why\":\"no test possible: "
		               "no salt for any entry's day\"}");
	}
	json_field(out, "bits_per_entry", f->bits_per_entry);
	json_field(out, "bits_per_lookup", f->bits_per_lookup);
	json_field(out, "bytes_per_lookup", f->bytes_per_lookup);
	json_field(out, "export_bytes_per_lookup", f->export_bytes_per_lookup);
	if (f->has_registered) {
		buf_append_byte(out, ',');
		json_stat(out, "registered_candidates", &f->registered, NAN, -1);
	}
	buf_append_str(out, ",\"by_width\":{");
	json_by_width(out, "requester", f->requester_by_width);
	buf_append_byte(out, ',');
	json_by_width(out, "handle", f->handle_by_width);
	buf_append_str(out, "}}");
}

void
exposure_report_json(const exposure_report *r, buf *out)
{
	const exposure_log_header *h = &r->header;
	buf_append_str(out, "{\"schema\":\"veil-exposure-v1\",\"source\":");
	json_write_string(out, r->source, strlen(r->source));
	if (r->population != NULL) {
		const exposure_population_config *p = r->population;
		buf_printf(out,
		           ",\"population\":{\"users\":%u,\"contacts\":%u,\"registered\":%.6g,"
		           "\"days\":%u,\"seed\":%llu,\"registry_padding\":%u,\"handles\":%llu,"
		           "\"lookups\":%llu,\"unregistered_share\":%.6g}",
		           p->users, p->contacts, p->registered, p->days,
		           (unsigned long long)p->seed, p->registry_padding,
		           (unsigned long long)r->population_handles,
		           (unsigned long long)r->population_lookups, r->unregistered_share);
	}
	buf_printf(out,
	           ",\"log\":{\"auth\":\"%s\",\"t_r\":%u,\"t_b\":%u,\"k_r\":%u,\"k_b\":%u,"
	           "\"accounts\":%llu,"
	           "\"universe\":%llu,\"entries\":%llu,\"items\":%llu,\"first_day\":%u,"
	           "\"last_day\":%u,\"prefix_bits\":[",
	           h->tokens ? "tokens" : "keys", h->t_r, h->t_b, h->k_r, h->k_b,
	           (unsigned long long)r->accounts, (unsigned long long)r->universe,
	           (unsigned long long)h->entries, (unsigned long long)h->items, h->first_day,
	           h->last_day);
	int first = 1;
	for (unsigned p = 0; p < 64 && !r->prefix_unknown; p++)
		if ((r->prefix_widths >> p) & 1) {
			buf_printf(out, "%s%u", first ? "" : ",", p);
			first = 0;
		}
	buf_append_byte(out, ']');
	if (r->prefix_note != NULL) {
		buf_append_str(out, ",\"prefix_bits_note\":");
		json_write_string(out, r->prefix_note, strlen(r->prefix_note));
	}
	buf_append_str(out, ",\"salted_days\":[");
	for (size_t i = 0; i < r->salted_day_count; i++)
		buf_printf(out, "%s%u", i == 0 ? "" : ",", r->salted_days[i]);
	buf_append_str(out, "]},\"adversaries\":[");
	for (size_t i = 0; i < r->row_count; i++) {
		if (i > 0)
			buf_append_byte(out, ',');
		json_row(out, &r->rows[i]);
	}
	buf_append_byte(out, ']');
	if (r->issuer != NULL) {
		const exposure_issuer *is = r->issuer;
		buf_printf(out,
		           ",\"issuer\":{\"records\":%llu,\"enrolled\":%llu,\"fetched\":%llu,"
		           "\"last_fetch\":[",
		           (unsigned long long)is->records, (unsigned long long)is->enrolled,
		           (unsigned long long)is->fetched);
		for (size_t i = 0; i < is->day_count; i++)
			buf_printf(out, "%s{\"day\":%u,\"accounts\":%llu,\"tokens_left\":%llu}",
			           i == 0 ? "" : ",", is->days[i].day,
			           (unsigned long long)is->days[i].accounts,
			           (unsigned long long)is->days[i].tokens_left);
		buf_append_str(out, "]}");
	}
	if (r->note_count > 0) {
		buf_append_str(out, ",\"notes\":[");
		for (size_t i = 0; i < r->note_count; i++) {
			if (i > 0)
				buf_append_byte(out, ',');
			json_write_string(out, r->notes[i], strlen(r->notes[i]));
		}
		buf_append_byte(out, ']');
	}
	if (r->seconds > 0)
		buf_printf(out, ",\"seconds\":%.1f", r->seconds);
	buf_append_str(out, "}\n");
}

/* ------------------------------------------------------------------ */
/* The chart */

#define CHART_WIDTH  1240
#define CHART_HEIGHT 520
#define PANEL_TOP    70
#define PANEL_SIZE   300

/* One anonymity-against-width panel. */
static void
width_panel(chart *c, double x, const char *title, const char *y_label, double population,
            unsigned width_in_use, double target, const char *target_label,
            const exposure_figures *measured, int handles, const exposure_report *r)
{
	const unsigned p = single_prefix(r->prefix_widths);
	unsigned x_max = width_in_use + 4;
	if (handles && p != 255 && p + 4 > x_max)
		x_max = p + 4;
	if (x_max < 8)
		x_max = 8;
	if (x_max > EXPOSURE_MAX_WIDTH)
		x_max = EXPOSURE_MAX_WIDTH;
	const chart_axis xa = {"digest width (bits)", 0, x_max, CHART_LINEAR};
	/* Head room above the whole population, for the legend. */
	const chart_axis ya = {y_label, 0.5, population > 1 ? population * 100 : 100, CHART_LOG10};
	const int panel = chart_panel(c, x, PANEL_TOP, PANEL_SIZE, PANEL_SIZE, title, &xa, &ya);

	double xs[EXPOSURE_MAX_WIDTH + 1], ys[EXPOSURE_MAX_WIDTH + 1];
	double lo[EXPOSURE_MAX_WIDTH + 1], hi[EXPOSURE_MAX_WIDTH + 1];
	size_t n = 0;
	for (unsigned w = 0; w <= x_max; w++) {
		xs[n] = w;
		if (!handles)
			ys[n] = exposure_expected_requester((uint64_t)population, w);
		else
			ys[n] = p != 255 ? exposure_expected_handle((uint64_t)population, p, w)
			                 : NAN;
		n++;
	}
	chart_line(c, panel, xs, ys, n, CHART_GREY, 1, "expected (closed form)");
	if (measured != NULL) {
		const exposure_stat *by =
		        handles ? measured->handle_by_width : measured->requester_by_width;
		n = 0;
		for (unsigned w = 0; w <= x_max; w++) {
			if (by[w].count == 0)
				continue;
			xs[n] = w;
			ys[n] = by[w].median;
			lo[n] = by[w].p5;
			hi[n] = by[w].p95;
			n++;
		}
		chart_points(c, panel, xs, ys, lo, hi, n, CHART_BLUE,
		             "measured median, p5-p95 (A1)");
	}
	chart_hline(c, panel, population, CHART_GREEN, "no salt (A0, A3): all");
	if (target > 0)
		chart_hline(c, panel, target, CHART_ORANGE, target_label);
	chart_hline(c, panel, 1.0, CHART_RED, "Apple-style baseline: 1 (named)");
	char label[48];
	snprintf(label, sizeof(label), "%s = %u in use", handles ? "t_b" : "t_r", width_in_use);
	chart_vline(c, panel, width_in_use, CHART_BLACK, label);
	if (handles && p != 255 && p != width_in_use) {
		snprintf(label, sizeof(label), "p = %u", p);
		chart_vline(c, panel, p, CHART_PURPLE, label);
	}
}

veil_err
exposure_report_chart(const exposure_report *r, buf *out)
{
	chart *c = NULL;
	veil_err err =
	        chart_new(CHART_WIDTH, CHART_HEIGHT,
	                  r->header.tokens ? "What a veil query log export reveals in tokens mode "
	                                     "(no requester), beside an Apple-style log"
	                                   : "What a veil query log export reveals, beside an "
	                                     "Apple-style log",
	                  &c);
	if (err != VEIL_OK)
		return err;
	const exposure_figures *measured = first_salted(r);
	char target[48];
	snprintf(target, sizeof(target), "k_r = %u target", r->header.k_r);
	width_panel(c, 90, "Requester anonymity", "accounts sharing the digest",
	            (double)r->accounts, r->header.t_r, r->header.k_r, target, measured, 0, r);
	snprintf(target, sizeof(target), "k_b = %u target", r->header.k_b);
	const unsigned p = single_prefix(r->prefix_widths);
	const unsigned t_b = p != 255 && p < r->header.t_b ? p : r->header.t_b;
	width_panel(c, 490, "Looked-up handle anonymity", "handles sharing the digest",
	            (double)r->universe, t_b, r->header.k_b, target, measured, 1, r);

	/* The suspected-pair test, per adversary. */
	const chart_axis ya = {"share of suspected pairs", 0, 1.1, CHART_LINEAR};
	const int panel = chart_panel(c, 890, PANEL_TOP, PANEL_SIZE, PANEL_SIZE,
	                              "Test \"A looked up B\"", NULL, &ya);
	const size_t rows = r->row_count < 8 ? r->row_count : 8;
	const char *groups[8], *notes[8];
	double values[16];
	for (size_t i = 0; i < rows; i++) {
		const exposure_figures *f = &r->rows[i].figures;
		groups[i] = r->rows[i].name;
		notes[i] = f->no_requester         ? "n/a:\nanonymous"
		           : f->pair_test_possible ? NULL
		                                   : "no test\npossible";
		values[2 * i] = f->pair_test_possible ? f->tpr : NAN;
		values[2 * i + 1] = f->pair_test_possible ? f->fpr : NAN;
	}
	static const char *const series[] = {"true positive rate", "false positive rate"};
	static const char *const colors[] = {CHART_BLUE, CHART_ORANGE};
	chart_legend_place_set(c, panel, CHART_LEGEND_BELOW);
	chart_bars(c, panel, rows, groups, 2, series, colors, values, notes);

	char line[200];
	char universe[16];
	format_count(universe, sizeof(universe), (double)r->universe);
	snprintf(line, sizeof(line),
	         "%llu accounts, universe %s handles, %llu entries (%llu lookups); points are "
	         "the real export's digests cut to each width.",
	         (unsigned long long)r->accounts, universe, (unsigned long long)r->header.entries,
	         (unsigned long long)r->header.items);
	chart_note(c, 90, CHART_HEIGHT - 90, line);
	chart_note(c, 90, CHART_HEIGHT - 74,
	           "Expected: 1 + (accounts - 1) / 2^t for requesters; universe / 2^p * (1 + "
	           "(2^p - 1) / 2^t) for handles (p: prefix bits clients send).");
	chart_note(c, 90, CHART_HEIGHT - 58,
	           "The baseline log names requester and handle (anonymity 1) and confirms every "
	           "true pair; without a salt no pair can be tested at all.");
	if (r->header.tokens) {
		chart_note(
		        c, 90, CHART_HEIGHT - 42,
		        "Tokens mode: no entry, state copy or wiretap on veild names a requester "
		        "(every account fits); the pair test does not apply (n/a).");
	} else if (measured != NULL && !isnan(measured->tpr_salted)) {
		snprintf(line, sizeof(line),
		         "A1 TPR among pairs last looked up on a day whose salt is held: %.3f; the "
		         "rest were looked up under salts already erased.",
		         measured->tpr_salted);
		chart_note(c, 90, CHART_HEIGHT - 42, line);
	}
	err = chart_write(c, out);
	chart_free(c);
	return err;
}
