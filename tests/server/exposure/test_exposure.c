/*
 * The exposure analysis (server/exposure/exposure.h) and `veil-admin
 * exposure analyze`.
 *
 * Library cases: the digests against qlog.h's definition (recomputed by
 * tests/lib/log_digest.h); the readers (refusals name the line); the
 * counting against brute force on a synthetic log, one prefix length and
 * several, and narrowed by the clients database's last charges (A4); the
 * baseline log; the wiretap (A5); tokens mode (hand-built exports whose
 * header says "auth": "tokens": every adversary, A0 to A5 and the
 * issuer's state I, finds every account behind every entry, beside the
 * same entries in keys mode); the issuer's records read from a real
 * clients database; the chart.
 *
 * Program cases (arguments: veil-admin veild): the digests of a real
 * qlog.c log, exported by `veil-admin log`, match; `veil-admin exposure
 * analyze` on a tokens-mode export with --issuer-state. The simulation that
 * runs a synthetic population end to end is tested with its program
 * (tests/bench/test_exposure_sim.c).
 */
#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sys/stat.h>

#include "chart.h"
#include "clients.h"
#include "entry.h"
#include "exposure.h"
#include "file.h"
#include "harness.h"
#include "json.h"
#include "log_digest.h"
#include "oprf.h"
#include "proc.h"
#include "qlog.h"

static const char *admin_path;

static void
fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + 7 * i);
}

/* ------------------------------------------------------------------ */
/* Digests */

static void
case_digests(void)
{
	uint8_t salt[32], key[32];
	fill(salt, sizeof(salt), 1);
	fill(key, sizeof(key), 2);
	CHECK(exposure_requester_lead(salt, key) == log_digest_requester(salt, key, 32));
	CHECK(exposure_bucket_lead(salt, 12, 0xabc00000u) ==
	      log_digest_bucket(salt, 12, 0xabc00000u, 32));

	CHECK(exposure_truncate(0xdeadbeefu, 0) == 0);
	CHECK(exposure_truncate(0xdeadbeefu, 4) == 0xd);
	CHECK(exposure_truncate(0xdeadbeefu, 31) == 0xdeadbeefu >> 1);
	CHECK(exposure_truncate(0xdeadbeefu, 32) == 0xdeadbeefu);

	CHECK(fabs(exposure_expected_requester(1001, 3) - 126.0) < 1e-9);
	/* t >= p: each of 2^p prefixes stands alone but for collisions. */
	CHECK(fabs(exposure_expected_handle(1 << 20, 4, 4) - (65536.0 * (1 + 15.0 / 16))) < 1e-6);
}

/* ------------------------------------------------------------------ */
/* The population */

/* ------------------------------------------------------------------ */
/* Readers */

#define HEADER                                                                                     \
	"{\"schema\":\"veil-log-v2\",\"t_r\":3,\"t_b\":5,\"k_r\":2,\"k_b\":10,\"accounts\":8,"     \
	"\"universe\":1000,\"entry_retention_days\":30,\"salt_retention_days\":2,"                 \
	"\"fields\":[\"day\"]}\n"

static veil_err
parse_log(const char *text, char *why, size_t why_len)
{
	exposure_log *log = NULL;
	veil_err err = exposure_log_parse(text, strlen(text), &log, why, why_len);
	CHECK((err == VEIL_OK) == (log != NULL));
	exposure_log_free(log);
	return err;
}

static void
case_log_reader(void)
{
	const char *good =
	        HEADER "{\"day\":5,\"hour\":3,\"requester\":7,\"items\":2,\"buckets\":[31,0],"
	               "\"status\":0}\n"
	               "\r\n"
	               "{\"day\":6,\"hour\":23,\"requester\":1,\"items\":1,\"buckets\":[3],"
	               "\"status\":4,\"t_b\":2}\r\n";
	exposure_log *log = NULL;
	char why[160];
	REQUIRE(exposure_log_parse(good, strlen(good), &log, why, sizeof(why)) == VEIL_OK);
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	CHECK(h.t_r == 3 && h.t_b == 5 && h.accounts == 8 && h.universe == 1000);
	CHECK(h.entries == 2 && h.items == 3 && h.first_day == 5 && h.last_day == 6);
	exposure_log_free(log);

	/* An export of the older format (with "seq") is read too. */
	const char *old =
	        "{\"schema\":\"veil-log-v1\",\"t_r\":3,\"t_b\":5,\"k_r\":2,\"k_b\":10,"
	        "\"accounts\":8,\"universe\":1000}\n"
	        "{\"day\":5,\"seq\":0,\"hour\":3,\"requester\":7,\"items\":3,\"buckets\":[31,0,"
	        "4],\"status\":0}\n";
	REQUIRE(exposure_log_parse(old, strlen(old), &log, why, sizeof(why)) == VEIL_OK);
	exposure_log_header_get(log, &h);
	CHECK(h.entries == 1 && h.items == 3 && h.first_day == 5);
	exposure_log_free(log);

	/* "auth": a missing member is keys mode. */
	static const struct {
		const char *name, *member;
		int tokens;
	} auth[] = {
	        {"no auth member", "", 0},
	        {"auth keys", "\"auth\":\"keys\",", 0},
	        {"auth tokens", "\"auth\":\"tokens\",", 1},
	};
	for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text),
		         "{\"schema\":\"veil-log-v2\",%s\"t_r\":0,\"t_b\":5,\"k_r\":2,"
		         "\"k_b\":10,\"accounts\":8,\"universe\":1000}\n",
		         auth[i].member);
		log = NULL;
		const veil_err err = exposure_log_parse(text, strlen(text), &log, why, sizeof(why));
		if (err == VEIL_OK)
			exposure_log_header_get(log, &h);
		if (err != VEIL_OK || h.tokens != auth[i].tokens)
			fprintf(stderr, "# %s: %s (%s)\n", auth[i].name, veil_strerror(err), why);
		CHECK(err == VEIL_OK && h.tokens == auth[i].tokens);
		exposure_log_free(log);
	}

	static const struct {
		const char *name, *text, *line;
	} bad[] = {
	        {"no header", "", "no header"},
	        {"auth neither keys nor tokens",
	         "{\"schema\":\"veil-log-v2\",\"auth\":\"token\",\"t_r\":0,\"t_b\":5,\"k_r\":2,"
	         "\"k_b\":10,\"accounts\":8,\"universe\":1000}\n",
	         "line 1: auth"},
	        {"auth not a string",
	         "{\"schema\":\"veil-log-v2\",\"auth\":1,\"t_r\":0,\"t_b\":5,\"k_r\":2,"
	         "\"k_b\":10,\"accounts\":8,\"universe\":1000}\n",
	         "line 1: auth"},
	        {"other schema", "{\"schema\":\"veil-log-v3\"}\n", "line 1"},
	        {"not JSON", HEADER "{\"day\":5,\n", "line 2"},
	        {"requester too wide",
	         HEADER "{\"day\":5,\"hour\":3,\"requester\":8,\"items\":0,\"buckets\":[],"
	                "\"status\":0}\n",
	         "line 2"},
	        {"bucket too wide",
	         HEADER "{\"day\":5,\"hour\":3,\"requester\":1,\"items\":1,\"buckets\":[32],"
	                "\"status\":0}\n",
	         "line 2"},
	        {"entry width narrower",
	         HEADER "{\"day\":5,\"hour\":3,\"requester\":1,\"items\":1,\"buckets\":[4],"
	                "\"status\":0,\"t_b\":2}\n",
	         "line 2"},
	        {"items disagree",
	         HEADER "{\"day\":5,\"hour\":3,\"requester\":1,\"items\":2,\"buckets\":[1],"
	                "\"status\":0}\n",
	         "line 2"},
	        {"hour 24",
	         HEADER "{\"day\":5,\"hour\":24,\"requester\":1,\"items\":0,\"buckets\":[],"
	                "\"status\":0}\n",
	         "line 2"},
	        {"negative digest",
	         HEADER "{\"day\":5,\"hour\":2,\"requester\":1,\"items\":1,\"buckets\":[-1],"
	                "\"status\":0}\n",
	         "line 2"},
	        {"width 33",
	         "{\"schema\":\"veil-log-v2\",\"t_r\":33,\"t_b\":5,\"k_r\":2,\"k_b\":10,"
	         "\"accounts\":8,\"universe\":1000}\n",
	         "line 1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		const veil_err err = parse_log(bad[i].text, why, sizeof(why));
		if (err != VEIL_ERR_PARSE || strstr(why, bad[i].line) == NULL)
			fprintf(stderr, "# %s: %s (%s)\n", bad[i].name, veil_strerror(err), why);
		CHECK(err == VEIL_ERR_PARSE);
		CHECK(strstr(why, bad[i].line) != NULL);
	}
}

static void
case_salts_and_accounts(void)
{
	char hex[65], text[512], why[160];
	uint8_t salt[32];
	fill(salt, 32, 9);
	sodium_bin2hex(hex, sizeof(hex), salt, 32);
	snprintf(text, sizeof(text), "{\"day\":9,\"salt\":\"%s\"}\n{\"day\":4,\"salt\":\"%s\"}\n",
	         hex, hex);
	exposure_salts *s = NULL;
	REQUIRE(exposure_salts_parse(text, strlen(text), &s, why, sizeof(why)) == VEIL_OK);
	CHECK(exposure_salts_count(s) == 2);
	CHECK(exposure_salts_get(s, 4) != NULL && memcmp(exposure_salts_get(s, 9), salt, 32) == 0);
	CHECK(exposure_salts_get(s, 5) == NULL);
	exposure_salts_free(s);

	snprintf(text, sizeof(text), "{\"day\":9,\"salt\":\"%s\"}\n{\"day\":9,\"salt\":\"%s\"}\n",
	         hex, hex);
	CHECK(exposure_salts_parse(text, strlen(text), &s, why, sizeof(why)) == VEIL_ERR_PARSE);
	CHECK(s == NULL && strstr(why, "two salts") != NULL);
	snprintf(text, sizeof(text), "{\"day\":9,\"salt\":\"%.62s\"}\n", hex);
	CHECK(exposure_salts_parse(text, strlen(text), &s, why, sizeof(why)) == VEIL_ERR_PARSE);
	CHECK(strstr(why, "line 1") != NULL);

	uint8_t *keys = NULL;
	size_t count = 0;
	snprintf(text, sizeof(text), "# enrolled\n  %s \n\n%s\n", hex, hex);
	REQUIRE(exposure_accounts_parse(text, strlen(text), &keys, &count, why, sizeof(why)) ==
	        VEIL_OK);
	CHECK(count == 2 && memcmp(keys + 32, salt, 32) == 0);
	free(keys);
	snprintf(text, sizeof(text), "%s\n%sz\n", hex, hex);
	CHECK(exposure_accounts_parse(text, strlen(text), &keys, &count, why, sizeof(why)) ==
	      VEIL_ERR_PARSE);
	CHECK(keys == NULL && count == 0 && strstr(why, "line 2") != NULL);
}

/* ------------------------------------------------------------------ */
/* Counting against brute force */

#define ACCOUNTS 64
#define UNIVERSE 1000000ULL

/*
 * A log of one salted day and one unsalted, written with the digests of
 * qlog.h: account i looks up buckets (i * 2654435761) and two more.
 */
static char *
synthetic_log_auth(const uint8_t *accounts, const uint8_t salt[32], unsigned t_r, unsigned t_b,
                   unsigned p, const char *auth)
{
	/* Tokens mode: veild records no requester (t_r 0, digest 0). */
	const int tokens = auth != NULL && strcmp(auth, "tokens") == 0;
	if (tokens)
		t_r = 0;
	buf b;
	buf_init(&b);
	buf_printf(&b, "{\"schema\":\"veil-log-v2\",");
	if (auth != NULL)
		buf_printf(&b, "\"auth\":\"%s\",", auth);
	buf_printf(&b,
	           "\"t_r\":%u,\"t_b\":%u,\"k_r\":1,\"k_b\":1,"
	           "\"accounts\":%d,\"universe\":%llu}\n",
	           t_r, t_b, ACCOUNTS, UNIVERSE);
	for (unsigned day = 100; day <= 101; day++)
		for (uint32_t i = 0; i < ACCOUNTS; i++) {
			const uint32_t lead = exposure_requester_lead(salt, accounts + 32 * i);
			buf_printf(&b,
			           "{\"day\":%u,\"hour\":1,\"requester\":%u,\"items\":3,"
			           "\"buckets\":[",
			           day, exposure_truncate(lead, t_r));
			for (uint32_t k = 0; k < 3; k++) {
				const uint32_t bucket = (i + 977 * k) * 2654435761u;
				const uint32_t prefix = entry_prefix(bucket, p);
				buf_printf(&b, "%s%u", k ? "," : "",
				           exposure_truncate(exposure_bucket_lead(salt, p, prefix),
				                             t_b));
			}
			buf_printf(&b, "],\"status\":0}\n");
		}
	char *text = strdup(buf_data(&b));
	buf_free(&b);
	return text;
}

/* The log of the other cases, without an "auth" member (keys mode). */
static char *
synthetic_log(const uint8_t *accounts, const uint8_t salt[32], unsigned t_r, unsigned t_b,
              unsigned p)
{
	return synthetic_log_auth(accounts, salt, t_r, t_b, p, NULL);
}

static int
compare_u32s(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
compare_doubles(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
case_counting(void)
{
	uint8_t accounts[ACCOUNTS * 32], salt[32];
	for (size_t i = 0; i < ACCOUNTS; i++)
		fill(accounts + 32 * i, 32, (uint8_t)(i * 3 + 1));
	fill(salt, 32, 77);
	char hex[65], salts_text[128], why[160];
	sodium_bin2hex(hex, sizeof(hex), salt, 32);
	snprintf(salts_text, sizeof(salts_text), "{\"day\":101,\"salt\":\"%s\"}\n", hex);

	const unsigned t_r = 3, t_b = 4, p = 7;
	char *text = synthetic_log(accounts, salt, t_r, t_b, p);
	exposure_log *log = NULL;
	exposure_salts *salts = NULL;
	REQUIRE(exposure_log_parse(text, strlen(text), &log, why, sizeof(why)) == VEIL_OK);
	REQUIRE(exposure_salts_parse(salts_text, strlen(salts_text), &salts, why, sizeof(why)) ==
	        VEIL_OK);

	/* Brute force: per entry, accounts and prefixes with the same digest. */
	double req[ACCOUNTS], handle[3 * ACCOUNTS];
	for (uint32_t i = 0; i < ACCOUNTS; i++) {
		const uint32_t mine =
		        exposure_truncate(exposure_requester_lead(salt, accounts + 32 * i), t_r);
		int n = 0;
		for (uint32_t j = 0; j < ACCOUNTS; j++)
			n += exposure_truncate(exposure_requester_lead(salt, accounts + 32 * j),
			                       t_r) == mine;
		req[i] = n;
		for (uint32_t k = 0; k < 3; k++) {
			const uint32_t bucket = (i + 977 * k) * 2654435761u;
			const uint32_t want = exposure_truncate(
			        exposure_bucket_lead(salt, p, entry_prefix(bucket, p)), t_b);
			int m = 0;
			for (uint32_t q = 0; q < (1u << p); q++)
				m += exposure_truncate(exposure_bucket_lead(salt, p, q << (32 - p)),
				                       t_b) == want;
			handle[3 * i + k] = (double)m * (double)UNIVERSE / (double)(1u << p);
		}
	}
	qsort(req, ACCOUNTS, sizeof(double), compare_doubles);
	qsort(handle, 3 * ACCOUNTS, sizeof(double), compare_doubles);

	/* Pairs: account 5 looked up its bucket 0; account 6 a bucket of nobody's. */
	exposure_pair pairs[2] = {{5, 5 * 2654435761u, "x", 1, 101}, {6, 0x12345678u, "y", 0, 0}};
	const exposure_view view = {log,  salts, accounts,     ACCOUNTS, UNIVERSE, (uint64_t)1 << p,
	                            NULL, 0,     strlen(text), NULL};
	exposure_figures f;
	REQUIRE(exposure_analyze(&view, pairs, 2, &f) == VEIL_OK);
	CHECK(f.entries == 2 * ACCOUNTS && f.entries_salted == ACCOUNTS &&
	      f.lookups == 6 * ACCOUNTS);
	CHECK(f.requester_measured && f.requester.count == ACCOUNTS);
	CHECK(f.requester.median == (req[31] + req[32]) / 2 && f.requester.min == req[0]);
	CHECK(f.handle.median == (handle[95] + handle[96]) / 2 && f.handle.min == handle[0]);
	CHECK(f.unmatched_requesters == 0 && f.unmatched_items == 0);
	CHECK(f.pair_test_possible && f.true_pairs == 1 && f.false_pairs == 1 && f.tpr == 1.0);
	CHECK(f.true_pairs_salted == 1 && f.tpr_salted == 1.0);
	CHECK(f.export_bytes_per_lookup == (double)strlen(text) / (6 * ACCOUNTS));
	/* Key 12 bytes; value: version, hour, status 2, t_r, t_b, count 2,
	 * one byte of requester digest, three of bucket digests. */
	CHECK(f.bytes_per_lookup == (12.0 + 12.0) / 3);
	CHECK(f.bits_per_entry > 0);
	/* Cut to width 0, every entry fits everyone. */
	CHECK(f.requester_by_width[0].median == ACCOUNTS);
	CHECK(fabs(f.handle_by_width[0].median - (double)UNIVERSE) < 1e-3);
	CHECK(f.requester_by_width[t_r].median == f.requester.median);
	CHECK(f.requester_by_width[t_r + 1].count == 0);
	CHECK(fabs(f.requester_expected - exposure_expected_requester(ACCOUNTS, t_r)) < 1e-9);

	/* No salt: all accounts, the whole universe, no test. */
	const exposure_view blind = {log,  NULL, accounts,     ACCOUNTS, UNIVERSE, (uint64_t)1 << p,
	                             NULL, 0,    strlen(text), NULL};
	REQUIRE(exposure_analyze(&blind, pairs, 2, &f) == VEIL_OK);
	CHECK(!f.pair_test_possible && isnan(f.tpr) && f.bits_per_entry == 0);
	CHECK(f.requester.median == ACCOUNTS && f.handle.min == (double)UNIVERSE);

	/* Several prefix lengths: the union, against brute force at the finest. */
	const exposure_view both = {log,      salts,    accounts,
	                            ACCOUNTS, UNIVERSE, (uint64_t)1 << p | (uint64_t)1 << (p - 1),
	                            NULL,     0,        1,
	                            NULL};
	REQUIRE(exposure_analyze(&both, NULL, 0, &f) == VEIL_OK);
	double unions[3 * ACCOUNTS];
	for (uint32_t i = 0; i < ACCOUNTS; i++)
		for (uint32_t k = 0; k < 3; k++) {
			const uint32_t bucket = (i + 977 * k) * 2654435761u;
			const uint32_t want = exposure_truncate(
			        exposure_bucket_lead(salt, p, entry_prefix(bucket, p)), t_b);
			int m = 0;
			for (uint32_t q = 0; q < (1u << p); q++) {
				const uint32_t fine = q << (32 - p);
				m += exposure_truncate(exposure_bucket_lead(salt, p, fine), t_b) ==
				             want ||
				     exposure_truncate(
				             exposure_bucket_lead(salt, p - 1,
				                                  entry_prefix(fine, p - 1)),
				             t_b) == want;
			}
			unions[3 * i + k] = (double)m * (double)UNIVERSE / (double)(1u << p);
		}
	qsort(unions, 3 * ACCOUNTS, sizeof(double), compare_doubles);
	CHECK(fabs(f.handle.median - (unions[95] + unions[96]) / 2) < 1e-3);
	CHECK(fabs(f.handle.min - unions[0]) < 1e-3);
	CHECK(isnan(f.handle_expected));

	/* A4: odd accounts were last charged on day 100, before the salted
	 * day, account 0 never: an entry of day 101 fits only the even ones
	 * from 2 on whose digest matches (brute force), and the pair test
	 * sees no odd account on day 101. */
	uint32_t last_use[ACCOUNTS];
	for (uint32_t i = 0; i < ACCOUNTS; i++)
		last_use[i] = i == 0 ? 0 : i % 2 == 1 ? 100 : 101;
	double narrowed[ACCOUNTS];
	uint64_t none = 0;
	for (uint32_t i = 0; i < ACCOUNTS; i++) {
		const uint32_t mine =
		        exposure_truncate(exposure_requester_lead(salt, accounts + 32 * i), t_r);
		int n = 0;
		for (uint32_t j = 0; j < ACCOUNTS; j++)
			n += last_use[j] >= 101 &&
			     exposure_truncate(exposure_requester_lead(salt, accounts + 32 * j),
			                       t_r) == mine;
		narrowed[i] = n;
		none += n == 0;
	}
	qsort(narrowed, ACCOUNTS, sizeof(double), compare_doubles);
	exposure_pair a4_pairs[3] = {{5, 5 * 2654435761u, "x", 1, 101},
	                             {4, 4 * 2654435761u, "w", 1, 101},
	                             {0, 0, "v", 1, 101}};
	exposure_view a4 = view;
	a4.last_use = last_use;
	exposure_figures g, a1;
	REQUIRE(exposure_analyze(&view, a4_pairs, 3, &a1) == VEIL_OK);
	REQUIRE(exposure_analyze(&a4, a4_pairs, 3, &g) == VEIL_OK);
	CHECK(g.requester.median == (narrowed[31] + narrowed[32]) / 2);
	CHECK(g.requester.min == narrowed[0] && g.unmatched_requesters == none);
	CHECK(g.requester.median < a1.requester.median && a1.tpr == 1.0);
	CHECK(g.handle.median == a1.handle.median);
	/* Account 4 shows; 5 (last charged before) and 0 (never) do not. */
	CHECK(g.true_pairs == 3 && fabs(g.tpr - 1.0 / 3) < 1e-9);
	a4.accounts = NULL;
	CHECK(exposure_analyze(&a4, NULL, 0, &g) == VEIL_ERR_ARGUMENT);

	/* The widths clients sent, recovered from the digests. */
	const uint64_t inferred = exposure_infer_prefix_widths(log, salts, 12);
	CHECK((inferred >> p) & 1);

	/* Misuse is refused. */
	const exposure_view no_widths = {log, salts, accounts, ACCOUNTS, UNIVERSE,
	                                 0,   NULL,  0,        0,        NULL};
	CHECK(exposure_analyze(&no_widths, NULL, 0, &f) == VEIL_ERR_ARGUMENT);
	exposure_pair stranger = {ACCOUNTS, 0, "z", 1, 0};
	CHECK(exposure_analyze(&view, &stranger, 1, &f) == VEIL_ERR_ARGUMENT);

	exposure_log_free(log);
	exposure_salts_free(salts);
	free(text);
}

static void
case_baseline(void)
{
	uint8_t keys[3 * 32];
	for (int i = 0; i < 3; i++)
		fill(keys + 32 * i, 32, (uint8_t)(40 + i));
	buf b;
	buf_init(&b);
	exposure_baseline_append(&b, 1700000000.25, keys, 0x64400000u, "tel:+14155550100");
	exposure_baseline_append(&b, 1700000001.5, keys + 32, 0x64400001u,
	                         "mailto:ann@example.org");
	exposure_baseline *base = NULL;
	char why[160];
	REQUIRE(exposure_baseline_parse(buf_data(&b), buf_len(&b), &base, why, sizeof(why)) ==
	        VEIL_OK);
	const exposure_pair pairs[3] = {{0, 0, "tel:+14155550100", 1, 0},
	                                {1, 0, "mailto:ann@example.org", 1, 0},
	                                {2, 0, "tel:+14155550100", 0, 0}};
	exposure_figures f;
	REQUIRE(exposure_analyze_baseline(base, keys, 3, UNIVERSE, buf_len(&b), pairs, 3, &f) ==
	        VEIL_OK);
	CHECK(f.baseline && f.entries == 2 && f.requester.median == 1 && f.handle.median == 1);
	CHECK(f.tpr == 1.0 && f.fpr == 0.0 && f.pair_test_possible);
	CHECK(fabs(f.bits_per_entry - (log2(3.0) + log2((double)UNIVERSE))) < 1e-9);
	exposure_baseline_free(base);
	buf_free(&b);
}

/* A5: a wiretap names the requester and sees each item's prefix. */
static void
case_tap(void)
{
	const unsigned p = 8;
	const uint32_t step = 1u << (32 - p); /* one prefix */
	/* Account 0 looks up prefixes 1 and 2 (padded with 9) on day 5;
	 * account 1 prefix 3 on day 6, then prefixes 3 and 4 on day 40. */
	const uint32_t prefixes[] = {1 * step + 77, 2 * step, 9 * step,
	                             3 * step + 1,  3 * step, 4 * step};
	const exposure_tap_request requests[] = {{0, 5, 3, 0}, {1, 6, 1, 3}, {1, 40, 2, 4}};
	/* Registered: two handles under prefix 1, one under prefix 4. */
	const uint32_t registered[] = {1 * step + 5, 1 * step + 9, 4 * step + 3};
	const exposure_tap tap = {requests, 3, prefixes, p, 10, UNIVERSE, registered, 3};
	const exposure_pair pairs[] = {
	        {0, 2 * step + 123, "a", 1, 5}, /* true: shown */
	        {1, 4 * step + 1, "b", 1, 40},  /* true, a later day: shown */
	        {0, 9 * step + 4, "c", 0, 0},   /* false: the padding shares its prefix */
	        {0, 3 * step, "d", 0, 0},       /* false: another account's prefix */
	        {1, 200 * step, "e", 0, 0},     /* false */
	};
	exposure_figures f;
	REQUIRE(exposure_analyze_tap(&tap, 6, pairs, 5, &f) == VEIL_OK);
	CHECK(f.entries == 3 && f.entries_salted == 3 && f.lookups == 6);
	CHECK(f.requester.median == 1 && f.requester.min == 1 && f.requester.count == 3);
	CHECK(f.handle.median == (double)UNIVERSE / 256 && f.handle.min == (double)UNIVERSE / 256);
	CHECK(f.handle.count == 6 && f.handle_expected == (double)UNIVERSE / 256);
	/* Per item 2, 0, 0, 0, 0, 1 registered. */
	CHECK(f.has_registered && f.registered.median == 0 && f.registered.p95 == 2);
	CHECK(f.pair_test_possible && f.true_pairs == 2 && f.false_pairs == 3);
	CHECK(f.tpr == 1.0 && fabs(f.fpr - 1.0 / 3) < 1e-9);
	CHECK(fabs(f.bits_per_entry - (log2(10.0) + 2.0 * p)) < 1e-9);
	CHECK(isnan(f.bytes_per_lookup));

	/* From an export: one request per entry, prefixes unknown, no pair scored. */
	uint8_t accounts[ACCOUNTS * 32], salt[32];
	for (size_t i = 0; i < ACCOUNTS; i++)
		fill(accounts + 32 * i, 32, (uint8_t)(i * 3 + 1));
	fill(salt, 32, 77);
	char *text = synthetic_log(accounts, salt, 3, 4, 7);
	exposure_log *log = NULL;
	char why[160];
	REQUIRE(exposure_log_parse(text, strlen(text), &log, why, sizeof(why)) == VEIL_OK);
	exposure_tap_request *derived = NULL;
	size_t count = 0;
	REQUIRE(exposure_log_tap(log, &derived, &count) == VEIL_OK);
	CHECK(count == 2 * ACCOUNTS && derived[0].item_count == 3);
	const exposure_tap from_log = {derived, count, NULL, 7, ACCOUNTS, UNIVERSE, NULL, 0};
	REQUIRE(exposure_analyze_tap(&from_log, 0, NULL, 0, &f) == VEIL_OK);
	CHECK(f.requester.median == 1 && f.lookups == 6 * ACCOUNTS);
	CHECK(f.handle.median == (double)UNIVERSE / 128 && !f.has_registered);
	CHECK(isnan(f.tpr) && isnan(f.fpr));

	/* Misuse is refused. */
	CHECK(exposure_analyze_tap(&from_log, 0, pairs, 1, &f) == VEIL_ERR_ARGUMENT);
	CHECK(exposure_analyze_tap(&tap, 5, NULL, 0, &f) == VEIL_ERR_ARGUMENT);
	const exposure_pair stranger = {10, 0, "z", 1, 0};
	CHECK(exposure_analyze_tap(&tap, 6, &stranger, 1, &f) == VEIL_ERR_ARGUMENT);
	free(derived);
	CHECK(exposure_log_tap(NULL, &derived, &count) == VEIL_ERR_ARGUMENT && derived == NULL);
	exposure_log_free(log);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Tokens mode */

/* The holdings every adversary case below is computed from. */
typedef struct holdings {
	uint8_t accounts[ACCOUNTS * 32], salt[32];
	exposure_salts *salts, *other_salts; /* the salted day; a day without entries */
	uint32_t registered[3];              /* sorted */
	uint32_t last_use[ACCOUNTS];
	exposure_pair pairs[2];
	exposure_tap_request *requests;
	size_t request_count;
	uint32_t *prefixes; /* the tap's, by request: each entry's three buckets */
} holdings;

enum adversary { ADV_A0, ADV_A1, ADV_A2, ADV_A3, ADV_A4, ADV_NO_LIST, ADV_A5, ADV_I };

/* One adversary's figures on log (tokens or keys mode, per its header). */
static veil_err
adversary_figures(enum adversary a, const holdings *hd, const exposure_log *log,
                  exposure_figures *f)
{
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	exposure_view v = {log, NULL, hd->accounts, ACCOUNTS, UNIVERSE, (uint64_t)1 << 7, NULL,
	                   0,   1,    NULL};
	const exposure_tap tap = {hd->requests, hd->request_count, hd->prefixes,   7,
	                          ACCOUNTS,     UNIVERSE,          hd->registered, 3};
	switch (a) {
	case ADV_A0:
		break;
	case ADV_A1:
		v.salts = hd->salts;
		break;
	case ADV_A2:
		v.salts = hd->salts;
		v.registered_buckets = hd->registered;
		v.registered_count = 3;
		break;
	case ADV_A3:
		v.salts = hd->other_salts;
		break;
	case ADV_A4:
		v.salts = hd->salts;
		v.last_use = hd->last_use;
		break;
	case ADV_NO_LIST:
		v.salts = hd->salts;
		v.accounts = NULL;
		v.account_count = 0;
		return exposure_analyze(&v, NULL, 0, f);
	case ADV_A5:
		return h.tokens
		               ? exposure_analyze_tap_anonymous(&tap, 3 * hd->request_count, f)
		               : exposure_analyze_tap(&tap, 3 * hd->request_count, hd->pairs, 2, f);
	case ADV_I:
		return exposure_analyze_issuer(log, ACCOUNTS, UNIVERSE, f);
	}
	return exposure_analyze(&v, hd->pairs, 2, f);
}

static void
same_stat(const exposure_stat *a, const exposure_stat *b)
{
	CHECK(a->count == b->count);
	CHECK(a->median == b->median && a->min == b->min && a->p5 == b->p5);
}

/*
 * The same entries logged by a veild in tokens mode and in keys mode:
 * in tokens mode every adversary's requester figure is every account and
 * the pair test does not apply; the handle figures are those of keys
 * mode; and keys mode is the same with "auth": "keys" as without it.
 */
static void
case_tokens_mode(void)
{
	holdings *hd = test_keep(calloc(1, sizeof(holdings)));
	REQUIRE(hd != NULL);
	for (size_t i = 0; i < ACCOUNTS; i++)
		fill(hd->accounts + 32 * i, 32, (uint8_t)(i * 3 + 1));
	fill(hd->salt, 32, 77);
	char hex[65], text[160], why[160];
	sodium_bin2hex(hex, sizeof(hex), hd->salt, 32);
	snprintf(text, sizeof(text), "{\"day\":101,\"salt\":\"%s\"}\n", hex);
	REQUIRE(exposure_salts_parse(text, strlen(text), &hd->salts, why, sizeof(why)) == VEIL_OK);
	snprintf(text, sizeof(text), "{\"day\":300,\"salt\":\"%s\"}\n", hex);
	REQUIRE(exposure_salts_parse(text, strlen(text), &hd->other_salts, why, sizeof(why)) ==
	        VEIL_OK);
	for (uint32_t i = 0; i < ACCOUNTS; i++)
		hd->last_use[i] = i % 2 == 0 ? 100 : 101; /* 5 on the salted day */
	hd->pairs[0] = (exposure_pair){5, 5 * 2654435761u, "x", 1, 101};
	hd->pairs[1] = (exposure_pair){6, 0x12345678u, "y", 0, 0};
	hd->registered[0] = 3 * 2654435761u;
	hd->registered[1] = 0x80000000u;
	hd->registered[2] = 0xf0000000u;
	qsort(hd->registered, 3, sizeof(uint32_t), compare_u32s);

	/* keys mode without "auth", with "auth": "keys", and tokens mode. */
	char *keys_text = synthetic_log(hd->accounts, hd->salt, 3, 4, 7);
	char *keys_auth_text = synthetic_log_auth(hd->accounts, hd->salt, 3, 4, 7, "keys");
	char *tokens_text = synthetic_log_auth(hd->accounts, hd->salt, 3, 4, 7, "tokens");
	exposure_log *keys = NULL, *keys_auth = NULL, *tokens = NULL;
	REQUIRE(exposure_log_parse(keys_text, strlen(keys_text), &keys, why, sizeof(why)) ==
	        VEIL_OK);
	REQUIRE(exposure_log_parse(keys_auth_text, strlen(keys_auth_text), &keys_auth, why,
	                           sizeof(why)) == VEIL_OK);
	REQUIRE(exposure_log_parse(tokens_text, strlen(tokens_text), &tokens, why, sizeof(why)) ==
	        VEIL_OK);
	/* The wiretap's requests: one per entry, its buckets as prefixes. */
	REQUIRE(exposure_log_tap(keys, &hd->requests, &hd->request_count) == VEIL_OK);
	hd->prefixes = malloc(3 * hd->request_count * sizeof(uint32_t));
	REQUIRE(hd->prefixes != NULL);
	for (size_t r = 0; r < hd->request_count; r++) {
		const uint32_t i = (uint32_t)(r % ACCOUNTS);
		hd->requests[r].account = i;
		hd->requests[r].first_prefix = 3 * r;
		for (uint32_t k = 0; k < 3; k++)
			hd->prefixes[3 * r + k] = entry_prefix((i + 977 * k) * 2654435761u, 7);
	}

	static const struct {
		const char *name;
		enum adversary adversary;
		int salted;        /* digests recomputed: keys mode narrows the requester */
		double requesters; /* tokens mode: every one of them */
	} cases[] = {
	        {"A0 export", ADV_A0, 0, ACCOUNTS},
	        {"A1 export + salts", ADV_A1, 1, ACCOUNTS},
	        {"A2 + registry", ADV_A2, 1, ACCOUNTS},
	        {"A3 salts erased", ADV_A3, 0, ACCOUNTS},
	        {"A4 state copy (last charges ignored)", ADV_A4, 1, ACCOUNTS},
	        {"A1 without an account list", ADV_NO_LIST, 1, 5000},
	        {"A5 wiretap", ADV_A5, 1, ACCOUNTS},
	        {"I issuer's state", ADV_I, 0, ACCOUNTS},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const enum adversary a = cases[c].adversary;
		/* Without an account list the population is the header's: set to
		 * the issuer's 5000 enrolled in tokens mode. */
		exposure_log_set_accounts(tokens, a == ADV_NO_LIST ? 5000 : ACCOUNTS);
		exposure_figures t, k, k_auth;
		const veil_err te = adversary_figures(a, hd, tokens, &t);
		const veil_err ke = adversary_figures(a, hd, keys, &k);
		const veil_err ka = adversary_figures(a, hd, keys_auth, &k_auth);
		const int ok = te == VEIL_OK && t.requester.min == cases[c].requesters &&
		               t.requester.median == cases[c].requesters && t.no_requester &&
		               !t.pair_test_possible && isnan(t.tpr) && isnan(t.fpr);
		if (!ok)
			fprintf(stderr, "# %s: %s, requester min %g median %g, no_requester %d\n",
			        cases[c].name, veil_strerror(te), t.requester.min,
			        t.requester.median, t.no_requester);
		CHECK(te == VEIL_OK && ke == VEIL_OK && ka == VEIL_OK);
		CHECK(ok);
		CHECK(t.entries == 2 * ACCOUNTS && t.lookups == 6 * ACCOUNTS);
		CHECK(t.bits_per_entry * (double)t.entries <= k.bits_per_entry * (double)k.entries);
		/* The handle figures do not depend on the mode. */
		if (a != ADV_I) {
			same_stat(&t.handle, &k.handle);
			CHECK(t.has_registered == k.has_registered);
			if (t.has_registered)
				same_stat(&t.registered, &k.registered);
		}
		/* Keys mode: "auth": "keys" reads as no member, and names more
		 * (I holds the issuer's records: tokens mode only). */
		if (a == ADV_I)
			continue;
		same_stat(&k.requester, &k_auth.requester);
		same_stat(&k.handle, &k_auth.handle);
		CHECK(k.pair_test_possible == k_auth.pair_test_possible && !k.no_requester);
		CHECK((isnan(k.tpr) && isnan(k_auth.tpr)) || k.tpr == k_auth.tpr);
		if (cases[c].salted && a != ADV_NO_LIST)
			CHECK(k.requester.median < ACCOUNTS && k.pair_test_possible &&
			      k.tpr == 1.0);
	}
	exposure_log_set_accounts(tokens, ACCOUNTS);

	/* A tokens-mode export that still holds an entry of keys-mode days (a
	 * requester digest of 3 bits): that entry alone is tested and
	 * narrowed; the others fit everyone. */
	const uint32_t lead5 = exposure_requester_lead(hd->salt, hd->accounts + 5 * 32);
	buf b;
	buf_init(&b);
	buf_append_str(&b, tokens_text);
	buf_printf(&b,
	           "{\"day\":101,\"hour\":2,\"requester\":%u,\"items\":1,\"buckets\":[%u],"
	           "\"status\":0,\"t_r\":3}\n",
	           exposure_truncate(lead5, 3),
	           exposure_truncate(
	                   exposure_bucket_lead(hd->salt, 7, entry_prefix(5 * 2654435761u, 7)), 4));
	exposure_log *mixed = NULL;
	REQUIRE(exposure_log_parse(buf_data(&b), buf_len(&b), &mixed, why, sizeof(why)) == VEIL_OK);
	exposure_figures m;
	REQUIRE(adversary_figures(ADV_A1, hd, mixed, &m) == VEIL_OK);
	if (!(m.pair_test_possible && !m.no_requester && m.tpr == 1.0))
		fprintf(stderr, "# mixed: possible %d no_requester %d tpr %g fpr %g\n",
		        m.pair_test_possible, m.no_requester, m.tpr, m.fpr);
	CHECK(m.pair_test_possible && !m.no_requester && m.tpr == 1.0);
	CHECK(m.requester.median == ACCOUNTS && m.requester.min < ACCOUNTS);
	exposure_log_free(mixed);
	buf_free(&b);

	exposure_log_free(keys);
	exposure_log_free(keys_auth);
	exposure_log_free(tokens);
	exposure_salts_free(hd->salts);
	exposure_salts_free(hd->other_salts);
	free(hd->requests);
	free(hd->prefixes);
	free(keys_text);
	free(keys_auth_text);
	free(tokens_text);
}

/* A client key of the issuer's accounts. */
static const uint8_t *
issuer_key(uint8_t key[32], uint8_t seed)
{
	fill(key, 32, seed);
	return key;
}

/* Enrols four accounts in dir's clients database at day 20000 and charges
 * three: 5 tokens on day 20000, 7 and 1 on day 20002. */
static void
write_issuer_records(const char *dir)
{
	clients *c = NULL;
	REQUIRE(clients_open(dir, NULL, &c) == VEIL_OK);
	uint8_t key[32];
	const int64_t day = 86400;
	for (uint8_t i = 0; i < 4; i++)
		CHECK(clients_enrol(c, issuer_key(key, (uint8_t)(50 + i)), 0, 20000 * day, NULL) ==
		      VEIL_OK);
	uint32_t retry = 0;
	CHECK(clients_charge(c, issuer_key(key, 50), 5, 20000 * day + 100, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, issuer_key(key, 51), 7, 20002 * day + 5, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, issuer_key(key, 52), 1, 20002 * day + 9, &retry) == CLIENTS_OK);
	clients_close(c);
}

/* I: the issuer's records, read from a real clients database, summed up and reported. */
static void
case_issuer_records(void)
{
	const char *dir = test_case_path("issuer");
	REQUIRE(mkdir(dir, 0700) == 0);
	exposure_issuer_record *records = NULL;
	size_t count = 0;
	char why[200];
	/* No clients database yet: refused, and none is made. */
	CHECK(exposure_issuer_load(dir, &records, &count, why, sizeof(why)) == VEIL_ERR_NOT_FOUND);
	CHECK(records == NULL && count == 0 && strstr(why, "no clients database") != NULL);
	struct stat st;
	CHECK(stat(test_case_path("issuer/clients.key"), &st) != 0);

	write_issuer_records(dir);
	REQUIRE(exposure_issuer_load(dir, &records, &count, why, sizeof(why)) == VEIL_OK);
	CHECK(count == 4);
	exposure_issuer is;
	REQUIRE(exposure_issuer_summarize(records, count, &is) == VEIL_OK);
	CHECK(is.records == 4 && is.enrolled == 4 && is.fetched == 3 && is.day_count == 2);
	if (is.day_count == 2) {
		const uint32_t full = CLIENTS_DEFAULT_CAPACITY;
		CHECK(is.days[0].day == 20000 && is.days[0].accounts == 1);
		CHECK(is.days[0].tokens_left == full - 5);
		CHECK(is.days[1].day == 20002 && is.days[1].accounts == 2);
		CHECK(is.days[1].tokens_left == (full - 7) + (full - 1));
	}
	free(records);

	/* The report of a tokens-mode export with I beside it. */
	uint8_t accounts[ACCOUNTS * 32], salt[32];
	for (size_t i = 0; i < ACCOUNTS; i++)
		fill(accounts + 32 * i, 32, (uint8_t)(i * 3 + 1));
	fill(salt, 32, 77);
	char *text = synthetic_log_auth(accounts, salt, 3, 4, 7, "tokens");
	exposure_log *log = NULL;
	REQUIRE(exposure_log_parse(text, strlen(text), &log, why, sizeof(why)) == VEIL_OK);
	exposure_row rows[2] = {{"A0", "export", {0}}, {"I", "issuer's state copy", {0}}};
	const exposure_view view = {log,  NULL, NULL, 0,   UNIVERSE, (uint64_t)1 << 7,
	                            NULL, 0,    1,    NULL};
	REQUIRE(exposure_analyze(&view, NULL, 0, &rows[0].figures) == VEIL_OK);
	REQUIRE(exposure_analyze_issuer(log, ACCOUNTS, UNIVERSE, &rows[1].figures) == VEIL_OK);
	CHECK(rows[1].figures.requester.min == ACCOUNTS && rows[1].figures.no_requester);
	CHECK(rows[1].figures.handle.min == (double)UNIVERSE &&
	      rows[1].figures.bits_per_entry == 0);
	exposure_figures scratch;
	CHECK(exposure_analyze_issuer(NULL, 1, 1, &scratch) == VEIL_ERR_ARGUMENT);
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	const char *const notes[] = {exposure_note_tokens, exposure_note_issuer};
	const exposure_report report = {.source = "analyze",
	                                .header = h,
	                                .universe = UNIVERSE,
	                                .accounts = ACCOUNTS,
	                                .prefix_widths = (uint64_t)1 << 7,
	                                .rows = rows,
	                                .row_count = 2,
	                                .notes = notes,
	                                .note_count = 2,
	                                .issuer = &is};
	buf out;
	buf_init(&out);
	exposure_report_table(&report, &out);
	const char *table = buf_data(&out);
	CHECK(strstr(table, "log: auth tokens") != NULL);
	CHECK(strstr(table, "n/a: anonymous") != NULL);
	CHECK(strstr(table, "issuer's records (I): 4 accounts with a record, 4 enrolled, 3 with a "
	                    "fetch on record; accounts by day of last fetch: day 20000: 1, day "
	                    "20002: 2") != NULL);
	buf_reset(&out);
	exposure_report_json(&report, &out);
	json_value *doc = NULL;
	REQUIRE(json_parse(buf_data(&out), buf_len(&out), &doc) == VEIL_OK);
	int64_t n = -1;
	CHECK(strcmp(json_string(json_object_get(json_object_get(doc, "log"), "auth"), NULL),
	             "tokens") == 0);
	const json_value *issuer = json_object_get(doc, "issuer");
	CHECK(json_integer(json_object_get(issuer, "fetched"), &n) == 0 && n == 3);
	CHECK(json_array_size(json_object_get(issuer, "last_fetch")) == 2);
	const json_value *i_row = json_array_get(json_object_get(doc, "adversaries"), 1);
	CHECK(json_type_of(json_object_get(json_object_get(i_row, "pair_test"), "applicable")) ==
	      JSON_FALSE);
	json_free(doc);
	buf_reset(&out);
	REQUIRE(exposure_report_chart(&report, &out) == VEIL_OK);
	CHECK(strstr(buf_data(&out), "tokens mode") != NULL);
	buf_free(&out);
	exposure_issuer_free(&is);
	CHECK(is.days == NULL && is.day_count == 0);
	exposure_log_free(log);
	free(text);
}

/* `veil-admin exposure analyze` on a tokens-mode export, with the issuer's state. */
static void
case_tokens_program(void)
{
	uint8_t accounts[ACCOUNTS * 32], salt[32];
	for (size_t i = 0; i < ACCOUNTS; i++)
		fill(accounts + 32 * i, 32, (uint8_t)(i * 3 + 1));
	fill(salt, 32, 77);
	char hex[65], salts_text[128];
	sodium_bin2hex(hex, sizeof(hex), salt, 32);
	snprintf(salts_text, sizeof(salts_text), "{\"day\":101,\"salt\":\"%s\"}\n", hex);
	char *tokens_text = synthetic_log_auth(accounts, salt, 3, 4, 7, "tokens");
	char *keys_text = synthetic_log_auth(accounts, salt, 3, 4, 7, "keys");
	const char *tokens_path = test_case_path("tokens.jsonl");
	const char *keys_path = test_case_path("keys.jsonl");
	const char *salts_path = test_case_path("salts.jsonl");
	const char *idir = test_case_path("issuer");
	REQUIRE(file_write_all(tokens_path, tokens_text, strlen(tokens_text), 0600) == 0);
	REQUIRE(file_write_all(keys_path, keys_text, strlen(keys_text), 0600) == 0);
	REQUIRE(file_write_all(salts_path, salts_text, strlen(salts_text), 0600) == 0);
	REQUIRE(mkdir(idir, 0700) == 0);
	write_issuer_records(idir);

	proc_result r =
	        proc_call(admin_path, "exposure", "analyze", "--export", tokens_path, "--salts",
	                  salts_path, "--prefix-bits", "7", "--issuer-state", idir, "--json", NULL);
	CHECK(r.status == 0);
	json_value *doc = NULL;
	REQUIRE(json_parse(r.out, strlen(r.out), &doc) == VEIL_OK);
	CHECK(strcmp(json_string(json_object_get(json_object_get(doc, "log"), "auth"), NULL),
	             "tokens") == 0);
	/* Without --accounts, the population is the issuer's 4 enrolled accounts. */
	const json_value *rows = json_object_get(doc, "adversaries");
	static const char *const want[] = {"A0", "A1", "A5", "I"};
	CHECK(json_array_size(rows) == 4);
	for (size_t i = 0; i < json_array_size(rows) && i < 4; i++) {
		const json_value *row = json_array_get(rows, i);
		const json_value *req = json_object_get(row, "requester_anonymity");
		int64_t min = -1, median = -1;
		CHECK(strcmp(json_string(json_object_get(row, "name"), NULL), want[i]) == 0);
		CHECK(json_integer(json_object_get(req, "min"), &min) == 0 && min == 4);
		CHECK(json_integer(json_object_get(req, "median"), &median) == 0 && median == 4);
		CHECK(json_type_of(json_object_get(json_object_get(row, "pair_test"),
		                                   "applicable")) == JSON_FALSE);
	}
	int64_t fetched = -1;
	CHECK(json_integer(json_object_get(json_object_get(doc, "issuer"), "fetched"), &fetched) ==
	              0 &&
	      fetched == 3);
	json_free(doc);
	proc_result_free(&r);

	/* The table labels the mode. */
	r = proc_call(admin_path, "exposure", "analyze", "--export", tokens_path, "--salts",
	              salts_path, "--prefix-bits", "7", NULL);
	CHECK(r.status == 0 && strstr(r.out, "auth tokens") != NULL);
	CHECK(strstr(r.out, "it needs --issuer-state") != NULL);
	proc_result_free(&r);

	/* The issuer's records go with a tokens-mode export only. */
	r = proc_call(admin_path, "exposure", "analyze", "--export", keys_path, "--issuer-state",
	              idir, NULL);
	CHECK(r.status != 0 && strstr(r.err, "tokens mode") != NULL);
	proc_result_free(&r);
	free(tokens_text);
	free(keys_text);
}

/* ------------------------------------------------------------------ */
/* The chart */

static void
case_chart(void)
{
	chart *c = NULL;
	REQUIRE(chart_new(400, 300, "a <b> & \"c\"", &c) == VEIL_OK);
	const chart_axis x = {"x", 0, 10, CHART_LINEAR}, y = {"y", 1, 1e6, CHART_LOG10};
	const chart_axis bad = {"bad", 0, 10, CHART_LOG10};
	const int p = chart_panel(c, 50, 40, 300, 200, "panel", &x, &y);
	CHECK(p == 0);
	CHECK(chart_panel(c, 50, 40, 300, 200, "bad", &x, &bad) == -1);
	const double xs[] = {0, 1, 2, 3}, ys[] = {1e5, NAN, 1e3, -1};
	chart_line(c, p, xs, ys, 4, CHART_BLUE, 1, "line");
	chart_points(c, p, xs, ys, ys, ys, 4, "#00ff00\"/><script>", "points");
	chart_hline(c, p, 1, CHART_RED, "one");
	chart_vline(c, p, 3, CHART_BLACK, "three");
	const double values[] = {0.5, NAN};
	const char *const groups[] = {"A1"}, *const series[] = {"s", "t"};
	chart_bars(c, p, 1, groups, 2, series, NULL, values, NULL);
	buf out;
	buf_init(&out);
	REQUIRE(chart_write(c, &out) == VEIL_OK);
	const char *svg = buf_data(&out);
	CHECK(strncmp(svg, "<?xml", 5) == 0);
	CHECK(strstr(svg, "</svg>\n") != NULL);
	CHECK(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot;") != NULL);
	CHECK(strstr(svg, "<script>") == NULL); /* a colour is not markup */
	CHECK(strstr(svg, "<polyline") != NULL && strstr(svg, "<circle") != NULL);
	buf_free(&out);
	chart_free(c);
	chart_free(NULL);
	CHECK(chart_new(0, 10, NULL, &c) == VEIL_ERR_ARGUMENT && c == NULL);
}

/* ------------------------------------------------------------------ */
/* The programs */

/* qlog.c's digests, exported by veil-admin, are those exposure.c computes. */
static void
case_real_log(void)
{
	const char *dir = test_case_dir();
	qlog_config cfg;
	qlog_config_defaults(&cfg);
	cfg.accounts = 100;
	cfg.k_r = 10;
	cfg.universe = 1000000000ULL;
	cfg.k_b = 1000;
	cfg.max_prefix_bits = 12;
	const int64_t now = (int64_t)time(NULL);
	qlog *log = NULL;
	char why[200];
	REQUIRE(qlog_open(dir, &cfg, now, &log, why, sizeof(why)) == VEIL_OK);
	uint8_t keys[5 * 32];
	uint32_t prefixes[6];
	for (int i = 0; i < 5; i++) {
		fill(keys + 32 * i, 32, (uint8_t)(90 + i));
		for (int k = 0; k < 6; k++)
			prefixes[k] = entry_prefix((uint32_t)(i * 6 + k) * 2654435761u, 10);
		qlog_record(log, now, keys + 32 * i, 10, prefixes, 6, 0);
	}
	qlog_close(log);

	proc_result exported = proc_call(admin_path, "log", "export", "--state", dir, NULL);
	proc_result salted = proc_call(admin_path, "log", "salts", "--state", dir, NULL);
	CHECK(exported.status == 0);
	CHECK(salted.status == 0);
	const char *export_text = exported.out, *salts_text = salted.out;
	exposure_log *parsed = NULL;
	exposure_salts *salts = NULL;
	CHECK(exposure_log_parse(export_text, strlen(export_text), &parsed, why, sizeof(why)) ==
	      VEIL_OK);
	CHECK(exposure_salts_parse(salts_text, strlen(salts_text), &salts, why, sizeof(why)) ==
	      VEIL_OK);
	if (parsed != NULL && salts != NULL) {
		const exposure_view view = {parsed,  salts, keys, 5, 1000000000ULL,
		                            1 << 10, NULL,  0,    1, NULL};
		exposure_pair pair = {3, 20 * 2654435761u, "h", 1, (uint32_t)(now / 86400)};
		exposure_figures f;
		CHECK(exposure_analyze(&view, &pair, 1, &f) == VEIL_OK);
		/* Six items padded to their class, 8: the padding is the digests of
		 * random prefixes, so it matches prefixes as the real digests do
		 * (at p = 10 about a third of the digest values are no prefix's:
		 * ten uniformly random values would show as unmatched). */
		CHECK(f.entries == 5 && f.entries_salted == 5 && f.lookups == 40);
		CHECK(f.unmatched_requesters == 0 && f.unmatched_items == 0);
		CHECK(f.tpr == 1.0);
	}
	exposure_log_free(parsed);
	exposure_salts_free(salts);
	proc_result_free(&exported);
	proc_result_free(&salted);
}

/* A header of an export of several replicas: replica i of 2. */
#define SECTION(i)                                                                                 \
	"{\"schema\":\"veil-log-v2\",\"replica\":" #i ",\"replicas\":2,\"t_r\":3,\"t_b\":5,"       \
	"\"k_r\":2,\"k_b\":10,\"accounts\":8,\"universe\":1000}\n"
#define ENTRY(day)                                                                                 \
	"{\"day\":" #day                                                                           \
	",\"hour\":3,\"requester\":7,\"items\":2,\"buckets\":[31,0],\"status\":0}\n"

static void
case_several_replicas(void)
{
	const char *two = SECTION(0) ENTRY(5) ENTRY(6) SECTION(1) ENTRY(7);
	char why[200];
	exposure_log *log = NULL;
	exposure_log_header h;
	/* Never read as one log: the sections' digests are under different salts. */
	CHECK(exposure_log_parse(two, strlen(two), &log, why, sizeof(why)) == VEIL_ERR_PARSE);
	CHECK(log == NULL && strstr(why, "several replicas") != NULL);
	static const struct {
		uint32_t replica;
		uint64_t entries;
		uint32_t first_day, last_day;
	} sections[] = {{0, 2, 5, 6}, {1, 1, 7, 7}};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		REQUIRE(exposure_log_parse_replica(two, strlen(two), sections[i].replica, &log, why,
		                                   sizeof(why)) == VEIL_OK);
		exposure_log_header_get(log, &h);
		CHECK(h.replica == sections[i].replica && h.replicas == 2);
		CHECK(h.entries == sections[i].entries && h.first_day == sections[i].first_day &&
		      h.last_day == sections[i].last_day && h.t_r == 3 && h.accounts == 8);
		exposure_log_free(log);
	}
	static const struct {
		const char *name, *text;
		uint32_t replica;
		const char *why;
	} bad[] = {
	        {"a replica it does not hold", SECTION(0) ENTRY(5) SECTION(1), 2, "no replica 2"},
	        {"a replica of a single export", HEADER ENTRY(5), 0, "not an export of several"},
	        {"two sections of one replica", SECTION(1) SECTION(1), 1, "second section"},
	        {"a second header in a single export", HEADER ENTRY(5) HEADER, EXPOSURE_NO_REPLICA,
	         "line 3: a second header"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		log = NULL;
		const veil_err err = exposure_log_parse_replica(
		        bad[i].text, strlen(bad[i].text), bad[i].replica, &log, why, sizeof(why));
		if (err != VEIL_ERR_PARSE || strstr(why, bad[i].why) == NULL)
			fprintf(stderr, "# %s: %s (%s)\n", bad[i].name, veil_strerror(err), why);
		CHECK_ROW(err == VEIL_ERR_PARSE && log == NULL && strstr(why, bad[i].why) != NULL,
		          bad[i].name);
	}

	/* Salts: one day in both sections, each replica's own salt. */
	char hex[2][65], text[512];
	uint8_t salt[2][32];
	for (int i = 0; i < 2; i++) {
		fill(salt[i], 32, (uint8_t)(20 + i));
		sodium_bin2hex(hex[i], sizeof(hex[i]), salt[i], 32);
	}
	snprintf(text, sizeof(text),
	         "{\"replica\":0,\"replicas\":2}\n{\"day\":9,\"salt\":\"%s\"}\n"
	         "{\"replica\":1,\"replicas\":2}\n{\"day\":9,\"salt\":\"%s\"}\n"
	         "{\"day\":10,\"salt\":\"%s\"}\n",
	         hex[0], hex[1], hex[1]);
	exposure_salts *s = NULL;
	CHECK(exposure_salts_parse(text, strlen(text), &s, why, sizeof(why)) == VEIL_ERR_PARSE);
	CHECK(s == NULL && strstr(why, "several replicas") != NULL);
	for (uint32_t r = 0; r < 2; r++) {
		REQUIRE(exposure_salts_parse_replica(text, strlen(text), r, &s, why, sizeof(why)) ==
		        VEIL_OK);
		CHECK(exposure_salts_count(s) == 1 + r);
		CHECK(exposure_salts_get(s, 9) != NULL &&
		      memcmp(exposure_salts_get(s, 9), salt[r], 32) == 0);
		exposure_salts_free(s);
	}
	CHECK(exposure_salts_parse_replica(text, strlen(text), 2, &s, why, sizeof(why)) ==
	      VEIL_ERR_PARSE);
	CHECK(s == NULL && strstr(why, "no replica 2") != NULL);
	sodium_memzero(text, sizeof(text));
}

static const test_case cases[] = {
        {"digests follow qlog.h", case_digests},
        {"log export reader", case_log_reader},
        {"salts and accounts readers", case_salts_and_accounts},
        {"an export of several replicas: one section at a time", case_several_replicas},
        {"counting against brute force", case_counting},
        {"baseline log", case_baseline},
        {"wiretap (A5)", case_tap},
        {"tokens mode: every adversary, beside keys mode", case_tokens_mode},
        {"issuer's records (I)", case_issuer_records},
        {"veil-admin exposure analyze in tokens mode", case_tokens_program},
        {"chart", case_chart},
        {"digests of a real qlog.c log", case_real_log},
};

static void
setup(void)
{
	admin_path = test_argv[0];
}

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN VEILD", .arguments = 2, .setup = setup)
