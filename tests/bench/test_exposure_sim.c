/*
 * The exposure simulation (bench/exposure_population.h and
 * veil-exposure-sim).
 *
 * The population and its plan, deterministic for a seed. Then a
 * fixed-seed simulation (real veild, real client library, real LMDB
 * files in a temporary directory) agrees with the closed forms:
 * requester anonymity median within 30% of accounts / 2^t_r (20% of the
 * size-biased expected figure), handle anonymity median within 20% of
 * universe / 2^t_b (t_b <= p; 15% of the expected figure); the salts are
 * veild's own, so these are statistical; the baseline names everyone (1,
 * TPR 1, FPR 0); A0 and A3 can run no test; A4 narrows A2's requesters
 * by the clients database; A5 names every requester, sees every prefix
 * and finds every true pair. `veil-admin exposure analyze` on the kept
 * files gives A1's and A4's figures again, leaves the clients database
 * as it was, and says why A4 or A5 is missing when its inputs are. Then
 * the same in tokens mode: no requester for any adversary, and I's
 * records of every user's fetch.
 *
 * Arguments: veil-exposure-sim veil-admin veild.
 */
#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "exposure.h"
#include "exposure_population.h"
#include "harness.h"
#include "json.h"
#include "oprf.h"
#include "proc.h"

static const char *sim_path, *admin_path, *veild_path;

static void
setup(void)
{
	sim_path = test_argv[0];
	admin_path = test_argv[1];
	veild_path = test_argv[2];
}

/* ------------------------------------------------------------------ */
/* The population */

static void
case_population(void)
{
	const exposure_population_config cfg = {50, 12, 0.4, 4, 7, 30};
	exposure_population *a = NULL, *b = NULL;
	REQUIRE(exposure_population_new(&cfg, &a) == VEIL_OK);
	REQUIRE(exposure_population_new(&cfg, &b) == VEIL_OK);
	CHECK(exposure_population_users(a) == 50);

	/* Deterministic for a seed: same handles, same keys, same plan. */
	const size_t handles = exposure_population_handles(a);
	CHECK(handles == exposure_population_handles(b));
	for (uint32_t h = 0; h < handles; h++) {
		CHECK(strcmp(exposure_handle_normalized(a, h), exposure_handle_normalized(b, h)) ==
		      0);
		const char *n = exposure_handle_normalized(a, h);
		CHECK(strncmp(n, "tel:+1", 6) == 0 || strncmp(n, "mailto:", 7) == 0);
		CHECK(exposure_handle_bucket(a, h) == entry_bucket(n, strlen(n)));
	}
	CHECK(memcmp(exposure_population_accounts(a), exposure_population_accounts(b), 50 * 32) ==
	      0);
	for (uint32_t u = 0; u < 50; u++) {
		uint8_t pk[32];
		REQUIRE(crypto_scalarmult_base(pk, exposure_user_secret(a, u)) == 0);
		CHECK(memcmp(pk, exposure_user_public(a, u), 32) == 0);
	}

	/* The registry: round(0.4 * own handles) plus the 30 outside. */
	size_t registered = 0, own_registered = 0;
	const uint32_t *buckets = exposure_population_registered_buckets(a, &registered);
	for (size_t i = 1; i < registered; i++)
		CHECK(buckets[i - 1] <= buckets[i]);
	for (uint32_t h = 0; h < handles; h++)
		own_registered += exposure_handle_registered(a, h) != 0;
	CHECK(own_registered == registered);
	buf file;
	buf_init(&file);
	REQUIRE(exposure_population_registry_file(a, &file) == VEIL_OK);
	size_t lines = 0;
	for (size_t i = 0; i < buf_len(&file); i++)
		lines += buf_data(&file)[i] == '\n';
	CHECK(lines == registered + 1); /* and a comment */
	buf_free(&file);

	/* Day 0: everyone checks the whole book; later days fewer, smaller. */
	uint64_t lookups = 0;
	for (uint32_t day = 0; day < 4; day++) {
		size_t n = 0, n_b = 0;
		const exposure_request *q = exposure_population_day(a, day, &n);
		const exposure_request *q_b = exposure_population_day(b, day, &n_b);
		CHECK(n == n_b);
		CHECK(day > 0 || n == 50);
		for (size_t i = 0; i < n; i++) {
			CHECK(q[i].user == q_b[i].user && q[i].count == q_b[i].count);
			CHECK(q[i].day == day);
			CHECK(i == 0 || q[i - 1].hour_slot <= q[i].hour_slot);
			CHECK(day > 0 || (q[i].first == 0 && q[i].count == 12));
			CHECK(day == 0 || q[i].count >= 1);
			const uint32_t *c = exposure_request_contacts(a, &q[i]);
			for (uint32_t k = 0; k < q[i].count; k++) {
				CHECK(c[k] < handles);
				for (uint32_t j = 0; j < k; j++)
					CHECK(c[j] != c[k]);
			}
			lookups += q[i].count;
		}
	}
	CHECK(lookups == exposure_population_lookups(a));
	const double share = exposure_population_unregistered_share(a);
	CHECK(share > 0 && share < 1);

	/* Pairs: the true ones were looked up, the false ones never. */
	exposure_pair pairs[40];
	exposure_population_pairs(a, 9, 1000, 20, pairs);
	for (size_t i = 0; i < 40; i++) {
		const exposure_pair *p = &pairs[i];
		int seen = 0;
		for (uint32_t day = 0; day < 4; day++) {
			size_t n = 0;
			const exposure_request *q = exposure_population_day(a, day, &n);
			for (size_t r = 0; r < n; r++) {
				if (q[r].user != p->account)
					continue;
				const uint32_t *c = exposure_request_contacts(a, &q[r]);
				for (uint32_t k = 0; k < q[r].count; k++)
					if (strcmp(exposure_handle_normalized(a, c[k]),
					           p->handle) == 0) {
						seen = 1;
						CHECK(p->last_day >= 1000 + day);
					}
			}
		}
		CHECK(seen == p->looked_up);
		CHECK(p->looked_up == (i < 20));
		CHECK(p->bucket == entry_bucket(p->handle, strlen(p->handle)));
	}

	const exposure_population_config bad = {0, 12, 0.4, 4, 7, 0};
	exposure_population *none = a; /* cleared on error */
	CHECK(exposure_population_new(&bad, &none) == VEIL_ERR_ARGUMENT && none == NULL);
	exposure_population_free(a);
	exposure_population_free(b);
	exposure_population_free(NULL);
}

/* ------------------------------------------------------------------ */
/* The simulation */

/* Runs argv; returns its stdout (heap), *status its exit status. */
static char *
run(const char *const argv[], int *status)
{
	proc_result r = proc_call_args(argv[0], argv + 1, NULL);
	if (r.status != 0 && r.status != 2)
		fprintf(stderr, "# %s %s: exit %d: %s\n", argv[0], argv[1], r.status, r.err);
	*status = r.status;
	free(r.err);
	return r.out;
}

static const json_value *
adversary(const json_value *doc, const char *name)
{
	const json_value *list = json_object_get(doc, "adversaries");
	for (size_t i = 0; i < json_array_size(list); i++) {
		size_t len;
		const char *n = json_string(json_object_get(json_array_get(list, i), "name"), &len);
		if (n != NULL && strcmp(n, name) == 0)
			return json_array_get(list, i);
	}
	return NULL;
}

static double
number(const json_value *v, const char *a, const char *b)
{
	const json_value *x = a != NULL ? json_object_get(v, a) : v;
	if (b != NULL)
		x = json_object_get(x, b);
	const char *text = json_number_text(x, NULL);
	return text != NULL ? strtod(text, NULL) : NAN;
}

static int
is_true(const json_value *v, const char *a, const char *b)
{
	const json_value *x = json_object_get(json_object_get(v, a), b);
	return x != NULL && json_type_of(x) == JSON_TRUE;
}

static int
within(double got, double want, double tolerance)
{
	const int ok = fabs(got - want) <= tolerance * want;
	if (!ok)
		fprintf(stderr, "# %g is not within %.0f%% of %g\n", got, tolerance * 100, want);
	return ok;
}

static void
case_simulate(void)
{
	const char *dir = test_case_dir();
	char *work = NULL, *chart_path = NULL, *path = NULL;
	REQUIRE(asprintf(&work, "%s/work", dir) > 0 && asprintf(&chart_path, "%s/c.svg", dir) > 0);
	/* 40,000 registered outside the population: the prefix length is
	 * then 9, and t_b = 4 leaves 32 prefixes per digest value. The salts
	 * are veild's own (random), so the figures vary from run to run: the
	 * median of ~2^(p+1) prefix counts has a spread of about 4%, that of
	 * the 2^(t_r+1) requester counts about 6%; the tolerances are 3.5 to
	 * 5 of those. */
	const char *const argv[] = {
	        sim_path,   "--users",      "200", "--contacts",     "20",       "--days",
	        "3",        "--registered", "0.3", "--pad-registry", "40000",    "--k-r",
	        "5",        "--t-b",        "4",   "--seed",         "11",       "--pairs",
	        "300",      "--threads",    "4",   "--veild",        veild_path, "--admin",
	        admin_path, "--work-dir",   work,  "--json",         "--chart",  chart_path,
	        NULL};
	int status;
	char *out = run(argv, &status);
	REQUIRE(status == 0);
	json_value *doc = NULL;
	REQUIRE(json_parse(out, strlen(out), &doc) == VEIL_OK);
	const json_value *log = json_object_get(doc, "log");
	const double t_r = number(log, "t_r", NULL), t_b = number(log, "t_b", NULL);
	const double p = number(json_array_get(json_object_get(log, "prefix_bits"), 0), NULL, NULL);
	const double accounts = 200, universe = (double)EXPOSURE_NANP_UNIVERSE;
	CHECK(t_b == 4 && p == 9);
	CHECK(t_r >= 1);

	const json_value *base = adversary(doc, "baseline");
	CHECK(number(base, "requester_anonymity", "median") == 1);
	CHECK(number(base, "requester_anonymity", "min") == 1);
	CHECK(number(base, "handle_anonymity", "median") == 1);
	CHECK(is_true(base, "pair_test", "possible"));
	CHECK(number(base, "pair_test", "tpr") == 1 && number(base, "pair_test", "fpr") == 0);

	for (int i = 0; i < 2; i++) {
		const json_value *blind = adversary(doc, i == 0 ? "A0" : "A3");
		REQUIRE(blind != NULL);
		const json_value *test = json_object_get(blind, "pair_test");
		CHECK(json_type_of(json_object_get(test, "possible")) == JSON_FALSE);
		CHECK(json_object_get(test, "tpr") == NULL);
		CHECK(number(blind, "requester_anonymity", "min") == accounts);
		CHECK(number(blind, "handle_anonymity", "min") == universe);
		CHECK(number(blind, "entries_with_salt", NULL) == 0);
		CHECK(number(blind, "bits_per_entry", NULL) == 0);
	}

	const json_value *a1 = adversary(doc, "A1");
	REQUIRE(a1 != NULL);
	const double req = number(a1, "requester_anonymity", "median");
	const double hand = number(a1, "handle_anonymity", "median");
	CHECK(within(req, accounts / pow(2, t_r), 0.30));
	CHECK(within(req, number(a1, "requester_anonymity", "expected"), 0.20));
	CHECK(within(hand, universe / pow(2, t_b), 0.20));
	CHECK(within(hand, number(a1, "handle_anonymity", "expected"), 0.15));
	CHECK(number(a1, "entries_with_salt", NULL) > 0);
	CHECK(is_true(a1, "pair_test", "possible"));
	/* Looked up on a salted day, the true pair shows. */
	CHECK(number(a1, "pair_test", "tpr_salted_days") == 1);
	CHECK(number(a1, "bytes_per_lookup", NULL) < number(base, "bytes_per_lookup", NULL));
	const json_value *a2 = adversary(doc, "A2");
	CHECK(number(a2, "registered_candidates", "median") >= 1);

	/* A4: A2 narrowed to the accounts charged on the entry's day or
	 * later; about a fifth of the users do not check on the last day, so
	 * the median drops (by about that share: a margin of 5 to 10 times
	 * its spread). The handle figures are A2's. */
	const json_value *a4 = adversary(doc, "A4");
	REQUIRE(a4 != NULL);
	CHECK(number(a4, "requester_anonymity", "median") <
	      number(a2, "requester_anonymity", "median"));
	CHECK(number(a4, "requester_anonymity", "min") >= 1);
	CHECK(number(a4, "entries_with_salt", NULL) == number(a1, "entries_with_salt", NULL));
	CHECK(number(a4, "handle_anonymity", "median") == hand);
	CHECK(number(a4, "registered_candidates", "median") ==
	      number(a2, "registered_candidates", "median"));
	CHECK(number(a4, "pair_test", "tpr") <= number(a1, "pair_test", "tpr"));

	/* A5: the requester named, each item one prefix's handles; every true
	 * pair of the 3 days seen, a false one when a padding item or another
	 * contact shares its prefix (about 1 in 512 per item at p = 9, some
	 * 20 to 64 items a user: 4% to 12%). */
	const json_value *a5 = adversary(doc, "A5");
	REQUIRE(a5 != NULL);
	CHECK(number(a5, "requester_anonymity", "median") == 1);
	CHECK(number(a5, "requester_anonymity", "min") == 1);
	CHECK(within(number(a5, "handle_anonymity", "median"), universe / pow(2, p), 1e-5));
	CHECK(within(number(a5, "handle_anonymity", "min"), universe / pow(2, p), 1e-5));
	CHECK(number(a5, "pair_test", "tpr") == 1);
	CHECK(number(a5, "pair_test", "fpr") > 0 && number(a5, "pair_test", "fpr") < 0.3);
	CHECK(number(a5, "registered_candidates", "median") >= 0);
	CHECK(number(a5, "entries", NULL) >= number(a1, "entries", NULL));

	char *svg = NULL;
	size_t svg_len = 0;
	svg = test_read_file(chart_path, &svg_len);
	CHECK(strstr(svg, "<svg") != NULL && strstr(svg, "</svg>") != NULL);
	free(svg);

	/* analyze on the kept files gives A1's figures again. */
	char *export_path = NULL, *salts_path = NULL, *accounts_path = NULL, *state = NULL;
	REQUIRE(asprintf(&export_path, "%s/export.jsonl", work) > 0 &&
	        asprintf(&salts_path, "%s/salts.jsonl", work) > 0 &&
	        asprintf(&accounts_path, "%s/accounts.txt", work) > 0 &&
	        asprintf(&state, "%s/state", work) > 0);
	const char *const analyze[] = {admin_path,    "exposure",   "analyze",  "--export",
	                               export_path,   "--salts",    salts_path, "--accounts",
	                               accounts_path, "--universe", "nanp",     "--state",
	                               state,         "--json",     NULL};
	/* ... and reads the clients database without changing the state. */
	char *db_path = NULL;
	REQUIRE(asprintf(&db_path, "%s/clients/data.mdb", state) > 0);
	size_t db_len = 0, db_len_after = 0;
	char *db = test_read_file(db_path, &db_len);
	char *again = run(analyze, &status);
	CHECK(status == 0);
	char *db_after = test_read_file(db_path, &db_len_after);
	CHECK(db != NULL && db_after != NULL && db_len == db_len_after &&
	      memcmp(db, db_after, db_len) == 0);
	json_value *doc2 = NULL;
	CHECK(json_parse(again, strlen(again), &doc2) == VEIL_OK);
	const json_value *b1 = adversary(doc2, "A1");
	CHECK(number(b1, "requester_anonymity", "median") == req);
	CHECK(number(b1, "handle_anonymity", "median") == hand);
	CHECK(number(b1, "handle_anonymity", "p5") == number(a1, "handle_anonymity", "p5"));
	/* A4 and A5 from the kept files; A5 from the export: no pair scored. */
	const json_value *b4 = adversary(doc2, "A4"), *b5 = adversary(doc2, "A5");
	CHECK(b4 != NULL && b5 != NULL);
	CHECK(number(b4, "requester_anonymity", "median") ==
	      number(a4, "requester_anonymity", "median"));
	CHECK(number(b5, "requester_anonymity", "median") == 1);
	CHECK(within(number(b5, "handle_anonymity", "median"), universe / pow(2, p), 1e-5));
	CHECK(number(b5, "entries", NULL) == number(a1, "entries", NULL));
	CHECK(json_object_get(json_object_get(b5, "pair_test"), "tpr") != NULL &&
	      json_type_of(json_object_get(json_object_get(b5, "pair_test"), "tpr")) == JSON_NULL);
	json_free(doc2);
	free(again);
	free(db);
	free(db_after);

	/* Without the accounts, the table says why A4 is missing; A5 stays. */
	const char *const partial[] = {admin_path, "exposure", "analyze", "--export", export_path,
	                               "--salts",  salts_path, "--state", state,      NULL};
	char *table = run(partial, &status);
	CHECK(status == 0);
	CHECK(strstr(table, "A4 (a copy of the state directory) is not computed") != NULL);
	CHECK(strstr(table, "\nA4 (") == NULL && strstr(table, "\nA5 (wiretap") != NULL);
	free(table);
	/* Without a prefix length (no --state, no salts), A5 is not computed either. */
	const char *const bare[] = {admin_path, "exposure",  "analyze",
	                            "--export", export_path, NULL};
	table = run(bare, &status);
	CHECK(status == 0);
	CHECK(strstr(table, "A5 (a wiretap on veild) is not computed") != NULL);
	CHECK(strstr(table, "\nA5 (") == NULL);
	free(table);
	free(db_path);

	/* Usage errors are 2; a broken export is 1, naming the line. */
	REQUIRE(asprintf(&path, "%s/broken.jsonl", dir) > 0);
	proc_write_file(path, "{\"schema\":\"veil-log-v1\"}\n", 25);
	const proc_expect refusals[] = {
	        {"no export", {"exposure", "analyze", "--json"}, 2, NULL, NULL},
	        {"bad universe",
	         {"exposure", "analyze", "--export", export_path, "--universe", "lots"},
	         2,
	         NULL,
	         NULL},
	        {"broken export", {"exposure", "analyze", "--export", path}, 1, NULL, "line 1"},
	};
	proc_check_runs(admin_path, refusals, TEST_COUNT(refusals), NULL);

	json_free(doc);
	free(out);
	free(export_path);
	free(salts_path);
	free(accounts_path);
	free(state);
	free(path);
	free(work);
	free(chart_path);
}

/*
 * Tokens mode: veil-issuer beside veild (the build tree's, found beside
 * the simulator), every user fetching tokens with its own key before its
 * first lookup. The export names no requester: every adversary's entries
 * fit every account and no pair test applies; the baseline still names
 * everyone; the wiretap still sees every prefix; the issuer's state
 * holds a fetch record for every user and nothing of what was looked up.
 */
static void
case_simulate_tokens(void)
{
	const char *dir = test_case_dir();
	char *work = NULL, *export_path = NULL, *token_path = NULL;
	REQUIRE(asprintf(&work, "%s/work", dir) > 0 &&
	        asprintf(&export_path, "%s/export.jsonl", work) > 0 &&
	        asprintf(&token_path, "%s/tokens/0.tok", work) > 0);
	const char *const argv[] = {sim_path,     "--auth",   "tokens",  "--users",   "60",
	                            "--contacts", "12",       "--days",  "2",         "--seed",
	                            "5",          "--pairs",  "50",      "--threads", "4",
	                            "--veild",    veild_path, "--admin", admin_path,  "--work-dir",
	                            work,         "--json",   NULL};
	int status;
	char *out = run(argv, &status);
	REQUIRE(status == 0);
	json_value *doc = NULL;
	REQUIRE(json_parse(out, strlen(out), &doc) == VEIL_OK);
	const json_value *log = json_object_get(doc, "log");
	size_t len = 0;
	const char *auth = json_string(json_object_get(log, "auth"), &len);
	CHECK(auth != NULL && strcmp(auth, "tokens") == 0);
	CHECK(number(log, "t_r", NULL) == 0);
	const double p = number(json_array_get(json_object_get(log, "prefix_bits"), 0), NULL, NULL);
	const double accounts = 60, universe = (double)EXPOSURE_NANP_UNIVERSE;

	const json_value *base = adversary(doc, "baseline");
	CHECK(number(base, "requester_anonymity", "median") == 1);
	CHECK(number(base, "pair_test", "tpr") == 1);
	static const char *const names[] = {"A0", "A1", "A2", "A3", "A4", "A5", "I"};
	for (size_t i = 0; i < TEST_COUNT(names); i++) {
		const json_value *a = adversary(doc, names[i]);
		REQUIRE(a != NULL);
		CHECK(number(a, "requester_anonymity", "min") == accounts);
		CHECK(number(a, "requester_anonymity", "median") == accounts);
		const json_value *test = json_object_get(a, "pair_test");
		CHECK(json_type_of(json_object_get(test, "possible")) == JSON_FALSE);
		CHECK(json_type_of(json_object_get(test, "applicable")) == JSON_FALSE);
	}
	const json_value *a5 = adversary(doc, "A5"), *issuer = adversary(doc, "I");
	CHECK(within(number(a5, "handle_anonymity", "median"), universe / pow(2, p), 1e-5));
	CHECK(number(issuer, "handle_anonymity", "min") == universe);
	CHECK(number(issuer, "bits_per_entry", NULL) == 0);

	/* Open enrolment: a record for every user, each with a fetch. */
	const json_value *records = json_object_get(doc, "issuer");
	CHECK(number(records, "records", NULL) == accounts);
	CHECK(number(records, "fetched", NULL) == accounts);
	CHECK(number(records, "enrolled", NULL) == 0);

	/* The export's header says tokens; user 0 kept its token file. */
	size_t export_len = 0, token_len = 0;
	char *export_text = test_read_file(export_path, &export_len);
	char *tokens = test_read_file(token_path, &token_len);
	CHECK(export_text != NULL && strstr(export_text, "\"auth\":\"tokens\"") != NULL);
	CHECK(tokens != NULL && strncmp(tokens, "veil-tokens-v1\n", 15) == 0);
	free(export_text);
	free(tokens);
	json_free(doc);
	free(out);
	free(work);
	free(export_path);
	free(token_path);
}

static const test_case cases[] = {
        {"population and plan", case_population},
        {"simulate agrees with the closed forms", case_simulate},
        {"simulate in tokens mode names no requester", case_simulate_tokens},
};

TEST_MAIN_WITH(cases, .usage = "VEIL-EXPOSURE-SIM VEIL-ADMIN VEILD", .arguments = 3, .setup = setup)
