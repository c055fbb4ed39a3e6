/*
 * The exposure analysis (server/exposure/exposure.h) and `veil-admin
 * exposure analyze`.
 *
 * Library cases: the digests against qlog.h's definition (recomputed by
 * tests/lib/log_digest.h); the readers (refusals name the line); the
 * counting against brute force on a synthetic log, one prefix length and
 * several, and narrowed by the clients database's last charges (A4); the
 * baseline log; the wiretap (A5); the chart.
 *
 * Program case (arguments: veil-admin veild): the digests of a real
 * qlog.c log, exported by `veil-admin log`, match. The simulation that
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

#include "chart.h"
#include "entry.h"
#include "exposure.h"
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

	static const struct {
		const char *name, *text, *line;
	} bad[] = {
	        {"no header", "", "no header"},
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
synthetic_log(const uint8_t *accounts, const uint8_t salt[32], unsigned t_r, unsigned t_b,
              unsigned p)
{
	buf b;
	buf_init(&b);
	buf_printf(&b,
	           "{\"schema\":\"veil-log-v2\",\"t_r\":%u,\"t_b\":%u,\"k_r\":1,\"k_b\":1,"
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

static const test_case cases[] = {
        {"digests follow qlog.h", case_digests},
        {"log export reader", case_log_reader},
        {"salts and accounts readers", case_salts_and_accounts},
        {"counting against brute force", case_counting},
        {"baseline log", case_baseline},
        {"wiretap (A5)", case_tap},
        {"chart", case_chart},
        {"digests of a real qlog.c log", case_real_log},
};

static void
setup(void)
{
	admin_path = test_argv[0];
}

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN VEILD", .arguments = 2, .setup = setup)
