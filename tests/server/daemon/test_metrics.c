/*
 * veild's metrics file: written whole by a rename with every counter
 * and its HELP and TYPE lines, read back by metrics_parse(), which
 * refuses what is not Prometheus text and reads nothing past a limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "metrics.h"
#include "proc.h"

static char *
slurp(const char *path)
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

static void
case_write_then_parse(void)
{
	char *dir = proc_temp_dir("metrics");
	char *path = proc_join(dir, "veild.prom");
	metrics_values v;
	memset(&v, 0, sizeof(v));
	v.service.requests = 12;
	v.service.items = 340;
	v.service.errors[PROTO_STATUS_RATE_LIMITED] = 3;
	v.service.errors[PROTO_STATUS_TOKEN_SPENT] = 2;
	v.service.tokens = 5;
	v.busy = 7;
	v.log.written = 9;
	v.log.dropped = 1;
	v.start_time = 1800000000;
	v.interval = 10;
	v.up = 1;
	REQUIRE(metrics_write(path, &v) == VEIL_OK);
	char *tmp = proc_join(dir, "veild.prom.tmp");
	CHECK(access(tmp, F_OK) != 0); /* renamed away */
	char *text = slurp(path);
	REQUIRE(text != NULL);
	CHECK(strstr(text, "# HELP veild_requests_total ") != NULL);
	CHECK(strstr(text, "# TYPE veild_requests_total counter\n") != NULL);
	CHECK(strstr(text, "# TYPE veild_up gauge\n") != NULL);
	metrics_sample samples[METRICS_MAX_SAMPLES];
	size_t count = 0;
	CHECK(metrics_parse(text, strlen(text), samples, METRICS_MAX_SAMPLES, &count) == VEIL_OK);
	const struct {
		const char *name;
		double value;
	} want[] = {
	        {"veild_up", 1},
	        {"veild_start_time_seconds", 1800000000},
	        {"veild_metrics_interval_seconds", 10},
	        {"veild_requests_total", 12},
	        {"veild_items_total", 340},
	        {"veild_busy_total", 7},
	        {"veild_errors_total{status=\"rate_limited\"}", 3},
	        {"veild_errors_total{status=\"bad_frame\"}", 0},
	        {"veild_quota_refusals_total", 3},
	        {"veild_log_entries_written_total", 9},
	        {"veild_log_entries_dropped_total", 1},
	        {"veild_tokens_redeemed_total", 5},
	        {"veild_tokens_spent_total", 2},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		double got = -1;
		CHECK(metrics_find(samples, count, want[i].name, &got) == 0);
		CHECK(got == want[i].value);
	}
	double none;
	CHECK(metrics_find(samples, count, "veild_errors_total{status=\"ok\"}", &none) == -1);
	/* Written again: replaced whole. */
	v.up = 0;
	REQUIRE(metrics_write(path, &v) == VEIL_OK);
	free(text);
	text = slurp(path);
	CHECK(text != NULL && strstr(text, "\nveild_up 0\n") != NULL &&
	      strstr(text, "veild_up 1") == NULL);
	free(text);
	free(tmp);
	free(path);
	proc_remove_tree(dir);
	free(dir);
}

static void
case_write_failure(void)
{
	metrics_values v;
	memset(&v, 0, sizeof(v));
	CHECK(metrics_write("/nonexistent-dir/veild.prom", &v) == VEIL_ERR_SYSTEM);
	CHECK(metrics_write(NULL, &v) == VEIL_ERR_ARGUMENT);
}

static void
case_parse_refuses(void)
{
	const struct {
		const char *name, *text;
		veil_err err;
	} rows[] = {
	        {"a sample", "a_b 1\n", VEIL_OK},
	        {"labels and a timestamp", "a{x=\"y\"} 1.5 1700000000\n", VEIL_OK},
	        {"comments and blanks", "# HELP a b\n\n# TYPE a counter\na 2", VEIL_OK},
	        {"no value", "a\n", VEIL_ERR_PARSE},
	        {"empty value", "a \n", VEIL_ERR_PARSE},
	        {"not a number", "a one\n", VEIL_ERR_PARSE},
	        {"a name starting with a digit", "1a 1\n", VEIL_ERR_PARSE},
	        {"unclosed labels", "a{x=\"y\" 1\n", VEIL_ERR_PARSE},
	        {"a bad timestamp", "a 1 soon\n", VEIL_ERR_PARSE},
	        {"two spaces", "a  1\n", VEIL_ERR_PARSE},
	};
	metrics_sample samples[4];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t count = 0;
		const veil_err err =
		        metrics_parse(rows[i].text, strlen(rows[i].text), samples, 4, &count);
		if (err != rows[i].err)
			printf("# %s: %s\n", rows[i].name, veil_strerror(err));
		CHECK(err == rows[i].err);
	}
	size_t count = 0;
	CHECK(metrics_parse("a 1\nb 2\nc 3\n", 12, samples, 2, &count) == VEIL_ERR_LIMIT);
	char longname[METRICS_MAX_NAME + 8];
	memset(longname, 'a', METRICS_MAX_NAME + 2);
	memcpy(longname + METRICS_MAX_NAME + 2, " 1\n", 4);
	CHECK(metrics_parse(longname, strlen(longname), samples, 4, &count) == VEIL_ERR_LIMIT);
	CHECK(metrics_parse(NULL, 0, samples, 4, &count) == VEIL_OK && count == 0);
	CHECK(metrics_parse("a 1", 3, samples, 4, NULL) == VEIL_ERR_ARGUMENT);
}

static void
case_status_names(void)
{
	CHECK(metrics_status_name(PROTO_STATUS_OK) == NULL);
	CHECK(strcmp(metrics_status_name(PROTO_STATUS_BUSY), "busy") == 0);
	CHECK(strcmp(metrics_status_name(PROTO_STATUS_TOKEN_SPENT), "token_spent") == 0);
	CHECK(metrics_status_name(PROTO_STATUS_TOKEN_SPENT + 1) == NULL);
	for (unsigned s = 1; s <= PROTO_STATUS_TOKEN_SPENT; s++)
		CHECK(metrics_status_name(s) != NULL);
}

static const test_case cases[] = {
        {"written whole by a rename, read back exactly", case_write_then_parse},
        {"a file that cannot be written is an error", case_write_failure},
        {"the parser refuses what is not a sample, and stops at its limits", case_parse_refuses},
        {"a label for every wire status but ok", case_status_names},
};

TEST_MAIN(cases)
