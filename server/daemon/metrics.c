#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

static const char *const status_names[PROTO_STATUS_TOKEN_SPENT + 1] = {
        [PROTO_STATUS_BAD_FRAME] = "bad_frame",
        [PROTO_STATUS_BAD_ENVELOPE] = "bad_envelope",
        [PROTO_STATUS_BAD_REQUEST] = "bad_request",
        [PROTO_STATUS_UNSUPPORTED] = "unsupported",
        [PROTO_STATUS_KEY_UNKNOWN] = "key_unknown",
        [PROTO_STATUS_BAD_ELEMENT] = "bad_element",
        [PROTO_STATUS_BATCH_TOO_LARGE] = "batch_too_large",
        [PROTO_STATUS_BAD_PREFIX] = "bad_prefix",
        [PROTO_STATUS_INTERNAL] = "internal",
        [PROTO_STATUS_BUSY] = "busy",
        [PROTO_STATUS_UNAUTHORIZED] = "unauthorized",
        [PROTO_STATUS_RATE_LIMITED] = "rate_limited",
        [PROTO_STATUS_REPLAYED] = "replayed",
        [PROTO_STATUS_STALE] = "stale",
        [PROTO_STATUS_TOKEN_INVALID] = "token_invalid",
        [PROTO_STATUS_TOKEN_SPENT] = "token_spent",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) ==
                       sizeof(((service_stats *)0)->errors) / sizeof(uint64_t),
               "a name for every status the stats count");

const char *
metrics_status_name(unsigned status)
{
	return status < sizeof(status_names) / sizeof(status_names[0]) ? status_names[status]
	                                                               : NULL;
}

/* One metric of one sample: its HELP, TYPE and value lines. */
static void
put(FILE *f, const char *name, const char *type, const char *help, uint64_t value)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
	        (unsigned long long)value);
}

static void
put_all(FILE *f, const metrics_values *v)
{
	const service_stats *s = &v->service;
	put(f, "veild_up", "gauge", "Whether veild is serving (1) or has stopped (0).",
	    v->up ? 1 : 0);
	put(f, "veild_start_time_seconds", "gauge", "When veild started, in unix seconds.",
	    v->start_time > 0 ? (uint64_t)v->start_time : 0);
	put(f, "veild_metrics_interval_seconds", "gauge", "Seconds between writes of this file.",
	    v->interval);
	put(f, "veild_requests_total", "counter", "Requests the workers took.", s->requests);
	put(f, "veild_items_total", "counter", "Elements evaluated.", s->items);
	put(f, "veild_dropped_total", "counter", "Requests dropped unanswered: not a frame.",
	    s->dropped);
	put(f, "veild_busy_total", "counter",
	    "Requests answered BUSY at once because the work queue was full.", v->busy);
	fprintf(f, "# HELP veild_errors_total Error replies, refusals included, by wire status.\n"
	           "# TYPE veild_errors_total counter\n");
	for (unsigned i = 0; i < sizeof(s->errors) / sizeof(s->errors[0]); i++)
		if (status_names[i] != NULL)
			fprintf(f, "veild_errors_total{status=\"%s\"} %llu\n", status_names[i],
			        (unsigned long long)s->errors[i]);
	put(f, "veild_quota_refusals_total", "counter",
	    "Requests refused because the client's quota was exhausted.",
	    s->errors[PROTO_STATUS_RATE_LIMITED]);
	put(f, "veild_log_entries_written_total", "counter", "Query-log entries committed.",
	    v->log.written);
	put(f, "veild_log_entries_dropped_total", "counter", "Query-log entries never written.",
	    v->log.dropped);
	put(f, "veild_tokens_redeemed_total", "counter", "Tokens redeemed, one per lookup.",
	    s->tokens);
	put(f, "veild_tokens_invalid_total", "counter", "Tokens refused as invalid.",
	    s->errors[PROTO_STATUS_TOKEN_INVALID]);
	put(f, "veild_tokens_spent_total", "counter", "Tokens refused as spent before.",
	    s->errors[PROTO_STATUS_TOKEN_SPENT]);
}

veil_err
metrics_write(const char *path, const metrics_values *v)
{
	char tmp[4096];
	if (path == NULL || v == NULL)
		return VEIL_ERR_ARGUMENT;
	const int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return VEIL_ERR_ARGUMENT;
	const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return VEIL_ERR_SYSTEM;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		const int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return VEIL_ERR_SYSTEM;
	}
	put_all(f, v);
	int failed = fflush(f) != 0 || ferror(f);
	failed |= fclose(f) != 0;
	if (!failed)
		failed = rename(tmp, path) != 0;
	if (failed) {
		const int saved = errno;
		unlink(tmp);
		errno = saved;
		return VEIL_ERR_SYSTEM;
	}
	return VEIL_OK;
}

/* Whether c may be in a metric name (first: at its start). */
static int
name_char(char c, int first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* One sample line, line[0..len), into *s; 0 or VEIL_ERR_PARSE/LIMIT. */
static veil_err
parse_line(const char *line, size_t len, metrics_sample *s)
{
	size_t i = 0;
	while (i < len && name_char(line[i], i == 0))
		i++;
	if (i == 0)
		return VEIL_ERR_PARSE;
	if (i < len && line[i] == '{') {
		const char *close = memchr(line + i, '}', len - i);
		if (close == NULL)
			return VEIL_ERR_PARSE;
		i = (size_t)(close - line) + 1;
	}
	if (i >= METRICS_MAX_NAME)
		return VEIL_ERR_LIMIT;
	memcpy(s->name, line, i);
	s->name[i] = '\0';
	if (i >= len || line[i] != ' ')
		return VEIL_ERR_PARSE;
	i++;
	char number[64];
	size_t end = i;
	while (end < len && line[end] != ' ')
		end++;
	if (end == i || end - i >= sizeof(number))
		return VEIL_ERR_PARSE;
	memcpy(number, line + i, end - i);
	number[end - i] = '\0';
	for (size_t k = 0; number[k] != '\0'; k++)
		if (!isdigit((unsigned char)number[k]) && strchr("+-.eE", number[k]) == NULL)
			return VEIL_ERR_PARSE;
	char *stop = NULL;
	errno = 0;
	s->value = strtod(number, &stop);
	if (*stop != '\0' || errno != 0 || !isfinite(s->value))
		return VEIL_ERR_PARSE;
	if (end < len) { /* a timestamp: digits, maybe signed */
		size_t k = end + 1;
		if (k < len && line[k] == '-')
			k++;
		if (k == len)
			return VEIL_ERR_PARSE;
		for (; k < len; k++)
			if (!isdigit((unsigned char)line[k]))
				return VEIL_ERR_PARSE;
	}
	return VEIL_OK;
}

veil_err
metrics_parse(const char *text, size_t len, metrics_sample *samples, size_t max, size_t *count)
{
	if (count == NULL)
		return VEIL_ERR_ARGUMENT;
	*count = 0;
	if ((text == NULL && len > 0) || (samples == NULL && max > 0))
		return VEIL_ERR_ARGUMENT;
	size_t at = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		const size_t line_len = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
		const char *line = text + at;
		at += line_len + (nl != NULL);
		if (line_len == 0 || line[0] == '#')
			continue;
		if (*count == max)
			return VEIL_ERR_LIMIT;
		const veil_err err = parse_line(line, line_len, &samples[*count]);
		if (err != VEIL_OK)
			return err;
		(*count)++;
	}
	return VEIL_OK;
}

int
metrics_find(const metrics_sample *samples, size_t count, const char *name, double *value)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(samples[i].name, name) == 0) {
			*value = samples[i].value;
			return 0;
		}
	return -1;
}
