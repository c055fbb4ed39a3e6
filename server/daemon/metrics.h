/*
 * veild's metrics: the counters it keeps, written as a Prometheus
 * textfile (the text exposition format 0.0.4, as node_exporter's
 * textfile collector reads it), and read back by `veil-admin status`.
 *
 * The file holds, each with its # HELP and # TYPE lines:
 *
 *   veild_up                              gauge: 1 serving, 0 stopped
 *   veild_start_time_seconds              gauge: unix time of the start
 *   veild_metrics_interval_seconds        gauge: how often the file is written
 *   veild_requests_total                  counter: requests the workers took
 *   veild_items_total                     counter: elements evaluated
 *   veild_dropped_total                   counter: requests that were not a frame
 *   veild_busy_total                      counter: answered BUSY at once (queue full)
 *   veild_errors_total{status="NAME"}     counter: error replies by wire status
 *                                         (every status but ok, always listed)
 *   veild_quota_refusals_total            counter: RATE_LIMITED replies
 *   veild_log_entries_written_total       counter: query-log entries committed
 *   veild_log_entries_dropped_total       counter: entries never written
 *   veild_tokens_redeemed_total           counter: tokens mode, tokens spent on lookups
 *   veild_tokens_invalid_total            counter: TOKEN_INVALID replies
 *   veild_tokens_spent_total              counter: TOKEN_SPENT replies
 *
 * Counters start at 0 at each start of veild (veild_start_time_seconds
 * tells a restart). Nothing in the file names a client, a peer, a
 * handle or a key: it is counts of the whole server only.
 *
 * May use: common/ (error.h); proto/ (msg.h); its own folder
 * (service.h); server/store/ (qlog.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_DAEMON_METRICS_H
#define VEIL_SERVER_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "qlog.h"
#include "service.h"

/* The most samples a file metrics_parse() reads may hold. */
#define METRICS_MAX_SAMPLES 256
/* The longest sample name, labels included, metrics_parse() reads. */
#define METRICS_MAX_NAME    128

/* What one write of the file reports. */
typedef struct metrics_values {
	service_stats service; /* summed over the workers since the start */
	uint64_t busy;         /* the receive loop's BUSY answers */
	qlog_counters log;     /* the query log's (zero without a log) */
	int64_t start_time;    /* unix seconds */
	uint32_t interval;     /* seconds between writes */
	int up;                /* 1 while serving, 0 in the last write at shutdown */
} metrics_values;

/*
 * The label of wire status code status in veild_errors_total
 * ("bad_frame", "rate_limited", ...), or NULL for PROTO_STATUS_OK and
 * codes beyond PROTO_STATUS_TOKEN_SPENT.
 */
const char *metrics_status_name(unsigned status);

/*
 * Writes v to path atomically: to "path.tmp" (mode 0644: the file holds
 * no secret, and a collector running as another user must read it),
 * flushed, then renamed over path, so that a reader sees the old file
 * or the new one, never a part. Errors: VEIL_ERR_ARGUMENT (NULL, or a
 * path too long), VEIL_ERR_SYSTEM (the file could not be written or
 * renamed; errno says why; the temporary file is removed).
 */
veil_err metrics_write(const char *path, const metrics_values *v)
        __attribute__((warn_unused_result));

/* One sample of a parsed file: "name{labels}" as written, and its value. */
typedef struct metrics_sample {
	char name[METRICS_MAX_NAME];
	double value;
} metrics_sample;

/*
 * Parses len bytes of Prometheus text (text need not be NUL-terminated):
 * blank lines and lines starting with '#' are skipped; every other line
 * must be "NAME VALUE" or "NAME{LABELS} VALUE" (NAME of letters, digits,
 * '_' and ':', not starting with a digit; LABELS up to the first '}'),
 * VALUE a decimal number, optionally followed by a space and a
 * timestamp. Fills samples[0..*count) in the order of the text.
 * Errors: VEIL_ERR_ARGUMENT (NULL), VEIL_ERR_PARSE (a line that is not
 * a sample; *count is then the number of lines read before it),
 * VEIL_ERR_LIMIT (more than max samples, or a name longer than
 * METRICS_MAX_NAME - 1).
 */
veil_err metrics_parse(const char *text, size_t len, metrics_sample *samples, size_t max,
                       size_t *count) __attribute__((warn_unused_result));

/* The value of the sample called name (labels included) among
 * samples[0..count) into *value: 0, or -1 when there is none. */
int metrics_find(const metrics_sample *samples, size_t count, const char *name, double *value);

#endif
