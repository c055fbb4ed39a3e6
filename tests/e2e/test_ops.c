/*
 * Running veild as an operator does: SIGHUP under continuous lookups
 * (no lookup fails, veild keeps serving and stops cleanly), a changed
 * [clients] key that takes effect at SIGHUP, the Prometheus metrics file
 * and `veil-admin status` over it, and the --json outputs of stats, log
 * stats and client list. Waits are for states, with a deadline; nothing
 * depends on how fast the machine is.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "json.h"
#include "veil_client.h"

#define BATCH         20
#define PHASE_LOOKUPS 5
#define RELOADS       5

/* ------------------------------------------------------------------ */
/* Helpers */

/* How many times veild's stderr holds text. */
static unsigned
said_count(const char *text)
{
	char *said = proc_stderr(&fx.daemon);
	unsigned n = 0;
	for (const char *at = said; (at = strstr(at, text)) != NULL; at += strlen(text))
		n++;
	free(said);
	return n;
}

static int
said(const char *text)
{
	return said_count(text) > 0;
}

typedef struct reloads_seen {
	unsigned want;
} reloads_seen;

static int
reloaded(void *arg)
{
	return said_count("veild: reloaded ") >= ((reloads_seen *)arg)->want;
}

/* Sends SIGHUP and waits until veild says it has reloaded for the
 * count-th time; 1 when it did. */
static int
sighup(unsigned count)
{
	reloads_seen r = {count};
	if (kill(fx.daemon.pid, SIGHUP) != 0)
		return 0;
	return test_wait_until(reloaded, &r);
}

/* Looks up count numbers from first with a client of secret; returns
 * the error, the client's last error text in why. */
static veil_err
lookup(const uint8_t *secret, unsigned first, unsigned count, char *why, size_t why_len)
{
	char **texts = calloc(count, sizeof(*texts));
	veil_lookup_result *results = calloc(count, sizeof(*results));
	veil_client *client = NULL;
	for (unsigned i = 0; i < count; i++)
		if (asprintf(&texts[i], "(415) 555-%04u", (first + i) % 4000) < 0)
			abort();
	veil_err err = fixture_client(NULL, secret, &client);
	if (err == VEIL_OK)
		err = veil_client_lookup(client, (const char *const *)texts, count, results);
	if (client != NULL && why != NULL)
		snprintf(why, why_len, "%s", veil_client_last_error(client));
	veil_client_free(client);
	for (unsigned i = 0; i < count; i++)
		free(texts[i]);
	free(texts);
	free(results);
	return err;
}

/* veil-admin with args (up to a NULL); its stdout parsed as one JSON
 * document, or NULL when it failed or printed something else. */
static json_value *
admin_json(const char *const args[])
{
	proc_result r = proc_call_args(fx.admin, args, NULL);
	json_value *doc = NULL;
	if (r.status != 0 || json_parse(r.out, strlen(r.out), &doc) != VEIL_OK) {
		printf("# veil-admin %s %s: status %d, %s%s", args[0], args[1], r.status, r.out,
		       r.err);
		doc = NULL;
	}
	proc_result_free(&r);
	return doc;
}

static int64_t
integer_of(const json_value *v)
{
	int64_t n = -1;
	return json_integer(v, &n) == 0 ? n : -1;
}

/* ------------------------------------------------------------------ */
/* The Prometheus text format, read here on its own (not with veild's
 * reader): every line blank, a comment, or "name{labels} value". */

/* 1 when every line of text is well formed; the value of the sample
 * called name (labels included) into *value when there is one. */
static int
prometheus_read(const char *text, const char *name, double *value, int *found)
{
	*found = 0;
	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		const size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		line += len + (end != NULL);
		if (len == 0 || copy[0] == '#') {
			const int ok = len == 0 || strncmp(copy, "# HELP ", 7) == 0 ||
			               strncmp(copy, "# TYPE ", 7) == 0;
			free(copy);
			if (!ok)
				return 0;
			continue;
		}
		size_t i = 0;
		while (isalnum((unsigned char)copy[i]) || copy[i] == '_' || copy[i] == ':')
			i++;
		if (i == 0 || isdigit((unsigned char)copy[0])) {
			free(copy);
			return 0;
		}
		if (copy[i] == '{') {
			char *close = strchr(copy + i, '}');
			if (close == NULL) {
				free(copy);
				return 0;
			}
			i = (size_t)(close - copy) + 1;
		}
		char *stop = NULL;
		const double v = copy[i] == ' ' ? strtod(copy + i + 1, &stop) : 0;
		const int ok = stop != NULL && stop != copy + i + 1 && *stop == '\0';
		copy[i] = '\0';
		if (ok && strcmp(copy, name) == 0) {
			*value = v;
			*found = 1;
		}
		free(copy);
		if (!ok)
			return 0;
	}
	return 1;
}

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *text = calloc(1, 1 << 16);
	const size_t n = fread(text, 1, (1 << 16) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* The value of sample name in the metrics file at path, when the file is
 * there and well formed; -1 otherwise. */
static double
metric(const char *path, const char *name)
{
	char *text = read_text(path);
	double v = -1;
	int found = 0;
	if (text == NULL || !prometheus_read(text, name, &v, &found) || !found)
		v = -1;
	free(text);
	return v;
}

/* ------------------------------------------------------------------ */
/* SIGHUP under load */

typedef struct load {
	pthread_t thread;
	atomic_int stop;
	atomic_ulong lookups, wrong, failures;
	unsigned long mark;
	char last_error[200];
} load;

/* Even lines 0..1998 of 415-555 are registered (the fixture's import). */
static void *
load_main(void *arg)
{
	load *l = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	char *texts[BATCH];
	veil_lookup_result results[BATCH];
	veil_client *client = NULL;
	randombytes_buf(secret, sizeof(secret));
	if (fixture_client(NULL, secret, &client) != VEIL_OK) {
		atomic_fetch_add(&l->failures, 1);
		return NULL;
	}
	for (unsigned round = 0; !atomic_load(&l->stop); round++) {
		for (unsigned i = 0; i < BATCH; i++)
			if (asprintf(&texts[i], "(415) 555-%04u", (round * BATCH + i) % 4000) < 0)
				abort();
		if (veil_client_lookup(client, (const char *const *)texts, BATCH, results) !=
		    VEIL_OK) {
			snprintf(l->last_error, sizeof(l->last_error), "%s",
			         veil_client_last_error(client));
			atomic_fetch_add(&l->failures, 1);
		} else {
			for (unsigned i = 0; i < BATCH; i++) {
				const unsigned line = (round * BATCH + i) % 4000;
				const int want = line < 2000 && line % 2 == 0;
				if ((results[i].status == VEIL_LOOKUP_REGISTERED) != want)
					atomic_fetch_add(&l->wrong, 1);
			}
			atomic_fetch_add(&l->lookups, 1);
		}
		for (unsigned i = 0; i < BATCH; i++)
			free(texts[i]);
	}
	veil_client_free(client);
	return NULL;
}

static int
load_passed(void *arg)
{
	load *l = arg;
	return atomic_load(&l->lookups) + atomic_load(&l->failures) >= l->mark + PHASE_LOOKUPS;
}

static void
case_sighup_under_load(void)
{
	/* A quota the load cannot exhaust: this test is about the signal. */
	char *config = fixture_file(&fx, "veild.ini",
	                            "[clients]\nenrolment = open\ncapacity = 100000000\n"
	                            "refill_per_day = 100000000\n");
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "2", "--config", config, NULL) == 0);
	load l;
	memset(&l, 0, sizeof(l));
	REQUIRE(pthread_create(&l.thread, NULL, load_main, &l) == 0);
	for (unsigned k = 1; k <= RELOADS; k++) {
		l.mark = atomic_load(&l.lookups) + atomic_load(&l.failures);
		CHECK(test_wait_until(load_passed, &l)); /* served before the signal */
		CHECK(sighup(k));
		/* Every other time with a changed quota: the client store reopens
		 * under the load. */
		free(config);
		config = fixture_file(&fx, "veild.ini",
		                      k % 2 ? "[clients]\nenrolment = open\ncapacity = 200000000\n"
		                              "refill_per_day = 100000000\n"
		                            : "[clients]\nenrolment = open\ncapacity = 100000000\n"
		                              "refill_per_day = 100000000\n");
	}
	l.mark = atomic_load(&l.lookups) + atomic_load(&l.failures);
	CHECK(test_wait_until(load_passed, &l)); /* still serving */
	atomic_store(&l.stop, 1);
	pthread_join(l.thread, NULL);
	printf("# %lu lookups of %d, %lu wrong, %lu failed, %u reloads\n",
	       (unsigned long)atomic_load(&l.lookups), BATCH, (unsigned long)atomic_load(&l.wrong),
	       (unsigned long)atomic_load(&l.failures), said_count("veild: reloaded "));
	if (atomic_load(&l.failures) > 0)
		printf("# last failure: %s\n", l.last_error);
	CHECK(atomic_load(&l.failures) == 0);
	CHECK(atomic_load(&l.wrong) == 0);
	CHECK(said_count("veild: reload: [clients] capacity ") >= 2);
	CHECK(proc_alive(&fx.daemon));
	CHECK(fixture_stop(&fx) == 0);
	CHECK(said("veild: stopped;"));
	free(config);
}

/* ------------------------------------------------------------------ */
/* A changed key takes effect */

static void
case_changed_quota_takes_effect(void)
{
	uint8_t before[VEIL_KEY_SIZE], after[VEIL_KEY_SIZE];
	char why[200] = "";
	randombytes_buf(before, sizeof(before));
	randombytes_buf(after, sizeof(after));
	char *config = fixture_file(&fx, "veild.ini",
	                            "[clients]\nenrolment = open\ncapacity = 100000\n"
	                            "refill_per_day = 100000\n");
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--config", config, NULL) == 0);
	/* Open enrolment: a new key starts with a full bucket of the
	 * configured capacity. */
	CHECK(lookup(before, 0, 5, why, sizeof(why)) == VEIL_OK);
	/* One key no quota limits, to see veild serve whatever the quotas. */
	uint8_t unlimited[VEIL_KEY_SIZE], pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	randombytes_buf(unlimited, sizeof(unlimited));
	REQUIRE(veil_client_public_key(unlimited, pub) == VEIL_OK);
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	proc_result r = proc_call(fx.admin, "client", "add", "--state", fx.state, "--quota",
	                          "unlimited", hex, NULL);
	CHECK(r.status == 0);
	proc_result_free(&r);

	free(config);
	config = fixture_file(&fx, "veild.ini",
	                      "[veild]\nbatch_cap = 64\n"
	                      "[clients]\nenrolment = open\ncapacity = 2\nrefill_per_day = 1\n");
	CHECK(sighup(1));
	CHECK(said("veild: reload: [clients] capacity 2 (was 100000), refill_per_day 1 (was "
	           "100000)"));
	CHECK(said("veild: reload: [veild] batch_cap changed; it takes effect at the next start"));
	CHECK(said("1 change in force, 1 waiting for a restart"));
	/* A new key now starts with a bucket of 2: 5 items (8 with padding) are refused. */
	CHECK(lookup(after, 100, 5, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL);
	/* What veil-admin reads is what veild now counts with. */
	const char *list[] = {"client", "list", "--state", fx.state, "--json", NULL};
	json_value *doc = admin_json(list);
	CHECK(doc != NULL && integer_of(json_object_get(doc, "capacity")) == 2 &&
	      integer_of(json_object_get(doc, "refill_per_day")) == 1);
	json_free(doc);

	/* A file that does not read changes nothing, and veild serves on. */
	free(config);
	config = fixture_file(&fx, "veild.ini", "[clients]\ncapacity = many\n");
	CHECK(sighup(2));
	CHECK(said("the configuration did not read"));
	CHECK(lookup(unlimited, 200, 5, why, sizeof(why)) == VEIL_OK);
	CHECK(fixture_stop(&fx) == 0);
	free(config);
}

/* ------------------------------------------------------------------ */
/* Metrics */

typedef struct metric_wait {
	const char *path, *name;
	double at_least;
} metric_wait;

static int
metric_reached(void *arg)
{
	const metric_wait *w = arg;
	return metric(w->path, w->name) >= w->at_least;
}

/* veil-admin status over path with extra (NULL or one option and its
 * value); returns its exit status and stdout (the caller frees). */
static int
status_of(const char *path, const char *extra, const char *value, char **out)
{
	proc_result r = proc_call(fx.admin, "status", "--metrics-file", path, extra, value, NULL);
	*out = r.out;
	free(r.err);
	return r.status;
}

static void
case_metrics_file(void)
{
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	const char *path = proc_path(fx.dir, "veild.prom");
	char *config = fixture_file(&fx, "veild.ini",
	                            "[clients]\nenrolment = open\ncapacity = 100000\n"
	                            "refill_per_day = 100000\n");
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--config", config,
	                      "--metrics-file", path, "--metrics-interval", "1", NULL) == 0);
	metric_wait up = {path, "veild_up", 1};
	REQUIRE(test_wait_until(metric_reached, &up));

	char *text = read_text(path);
	double v = 0;
	int found = 0;
	CHECK(text != NULL && prometheus_read(text, "veild_requests_total", &v, &found) && found);
	CHECK(text != NULL && strstr(text, "# TYPE veild_requests_total counter\n") != NULL &&
	      strstr(text, "# HELP veild_requests_total ") != NULL &&
	      strstr(text, "# TYPE veild_up gauge\n") != NULL &&
	      strstr(text, "veild_errors_total{status=\"rate_limited\"} ") != NULL &&
	      strstr(text, "veild_start_time_seconds ") != NULL &&
	      strstr(text, "veild_log_entries_written_total ") != NULL);
	free(text);

	/* The counters move with traffic. */
	const double requests = metric(path, "veild_requests_total");
	const double items = metric(path, "veild_items_total");
	CHECK(lookup(secret, 0, 5, NULL, 0) == VEIL_OK);
	CHECK(lookup(secret, 10, 5, NULL, 0) == VEIL_OK);
	metric_wait grown = {path, "veild_requests_total", requests + 2};
	CHECK(test_wait_until(metric_reached, &grown));
	metric_wait evaluated = {path, "veild_items_total", items + 10};
	CHECK(test_wait_until(metric_reached, &evaluated));

	/* veil-admin status: up, with the counters. */
	char *out = NULL;
	CHECK(status_of(path, "--json", NULL, &out) == 0);
	json_value *doc = NULL;
	CHECK(out != NULL && json_parse(out, strlen(out), &doc) == VEIL_OK);
	const json_value *m = json_object_get(doc, "metrics");
	CHECK(json_string(json_object_get(doc, "status"), NULL) != NULL &&
	      strcmp(json_string(json_object_get(doc, "status"), NULL), "up") == 0);
	CHECK(json_type_of(json_object_get(doc, "up")) == JSON_TRUE);
	CHECK(integer_of(json_object_get(m, "veild_requests_total")) >= (int64_t)requests + 2);
	CHECK(json_object_get(m, "veild_errors_total{status=\"busy\"}") != NULL);
	json_free(doc);
	free(out);
	CHECK(status_of(path, NULL, NULL, &out) == 0 && strstr(out, "status           up") != NULL);
	free(out);

	/* A file veild stopped writing is stale. */
	const char *copy = proc_path(fx.dir, "copy.prom");
	char *bytes = read_text(path);
	REQUIRE(bytes != NULL);
	proc_write_file(copy, bytes, strlen(bytes));
	free(bytes);
	const struct timespec old[2] = {{.tv_sec = time(NULL) - 3600},
	                                {.tv_sec = time(NULL) - 3600}};
	REQUIRE(utimensat(AT_FDCWD, copy, old, 0) == 0);
	CHECK(status_of(copy, "--max-age", "600", &out) == 1 && strstr(out, "stale") != NULL);
	free(out);
	CHECK(status_of(proc_path(fx.dir, "none.prom"), NULL, NULL, &out) == 1);
	free(out);

	/* At shutdown: the last counters, veild_up 0. */
	CHECK(fixture_stop(&fx) == 0);
	CHECK(metric(path, "veild_up") == 0);
	CHECK(metric(path, "veild_requests_total") >= requests + 2);
	CHECK(status_of(path, NULL, NULL, &out) == 1 && strstr(out, "stopped") != NULL);
	free(out);
	free(config);
}

/* ------------------------------------------------------------------ */
/* --json */

static void
case_json_outputs(void)
{
	const char *stats[] = {"stats", "--state", fx.state, "--json", NULL};
	json_value *doc = admin_json(stats);
	CHECK(doc != NULL && integer_of(json_object_get(doc, "handles")) == 1000);
	CHECK(json_array_size(json_object_get(doc, "keys")) == 1 &&
	      integer_of(json_object_get(json_array_get(json_object_get(doc, "keys"), 0),
	                                 "key_id")) == 1);
	CHECK(json_array_size(json_object_get(doc, "slots")) > 0 &&
	      json_object_get(doc, "recommended_prefix_bits") != NULL);
	json_free(doc);

	/* The earlier cases' lookups were logged. */
	const char *log[] = {"log", "stats", "--state", fx.state, "--json", NULL};
	doc = admin_json(log);
	CHECK(doc != NULL && integer_of(json_object_get(doc, "entries")) > 0 &&
	      integer_of(json_object_get(doc, "dropped")) == 0);
	CHECK(json_string(json_object_get(doc, "oldest"), NULL) != NULL &&
	      json_array_size(json_object_get(doc, "days")) > 0 &&
	      json_array_size(json_object_get(doc, "salts")) > 0 &&
	      integer_of(json_object_get(doc, "entry_retention_days")) > 0);
	json_free(doc);

	uint8_t secret[VEIL_KEY_SIZE], pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	randombytes_buf(secret, sizeof(secret));
	REQUIRE(veil_client_public_key(secret, pub) == VEIL_OK);
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	proc_result r = proc_call(fx.admin, "client", "add", "--state", fx.state, "--quota", "7",
	                          hex, NULL);
	CHECK(r.status == 0);
	proc_result_free(&r);
	const char *list[] = {"client", "list", "--state", fx.state, "--json", NULL};
	doc = admin_json(list);
	const json_value *clients = json_object_get(doc, "clients");
	/* The unlimited client of an earlier case, and this one. */
	CHECK(doc != NULL && json_array_size(clients) == 2 &&
	      integer_of(json_object_get(doc, "enrolled")) == 2);
	const json_value *one = NULL;
	for (size_t i = 0; i < json_array_size(clients); i++)
		if (integer_of(json_object_get(json_array_get(clients, i), "quota")) == 7)
			one = json_array_get(clients, i);
	CHECK(one != NULL);
	size_t len = 0;
	const char *fingerprint = json_string(json_object_get(one, "fingerprint"), &len);
	CHECK(fingerprint != NULL && len == 16 && strstr(hex, fingerprint) == NULL);
	CHECK(integer_of(json_object_get(one, "quota")) == 7 &&
	      json_type_of(json_object_get(one, "last_use")) == JSON_NULL);
	CHECK(json_object_get(one, "key") == NULL);
	json_free(doc);
}

static const test_case cases[] = {
        {"SIGHUP under continuous lookups: none fails, veild serves on and stops cleanly",
         case_sighup_under_load},
        {"a changed [clients] capacity takes effect at SIGHUP, a restart key is named",
         case_changed_quota_takes_effect},
        {"metrics file: Prometheus text, moves with traffic; veil-admin status", case_metrics_file},
        {"--json of stats, log stats and client list", case_json_outputs},
};

FIXTURE_MAIN(cases, .label = "ops", .numbered = "+1 415 555 ", .end = 2000, .step = 2)
