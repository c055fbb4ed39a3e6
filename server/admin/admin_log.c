/*
 * veil-admin log export|purge|stats|salts (commands.h): the query log of
 * a state directory, read or swept without veild.
 *
 * export and salts take more state directories as arguments (replicas,
 * each with its own log and salt chain) and then write one file with a
 * section per replica, numbered from 0 in the order given: a header line
 * carrying "replica": i and "replicas": n, then that replica's lines.
 * Digests of different replicas are under different salts and cannot be
 * joined: the sections are kept apart, never merged. With one state the
 * output is as it always was (no "replica" member).
 */
#include "commands.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "qlog.h"
#include "qlog_store.h"
#include "saltchain.h"

/* The most state directories one export or salts command reads. */
#define MAX_REPLICAS 64

/* The options' values, written by veil-admin's parser through the tables
 * below before a command runs. */
static const char *state_dir;
static const char *since, *until; /* export */
static int64_t now = -1;          /* purge; -1: the clock */
static bool json;                 /* stats --json */

#define STATE_OPTION CLI_TEXT_OPTION("state", &state_dir)

const cli_option admin_log_export_options[] = {
        STATE_OPTION,
        CLI_TEXT_OPTION("since", &since),
        CLI_TEXT_OPTION("until", &until),
        CLI_END,
};
const cli_option admin_log_purge_options[] = {
        STATE_OPTION,
        CLI_I64_OPTION("now", &now, 0, INT64_MAX),
        CLI_END,
};
const cli_option admin_log_state_options[] = {STATE_OPTION, CLI_END};
const cli_option admin_log_stats_options[] = {STATE_OPTION, CLI_FLAG_OPTION("json", &json),
                                              CLI_END};

/* state_dir/log into dir; -1 after the message when it is too long. */
static int
log_dir_of(const cli_command *cmd, char dir[PATH_MAX])
{
	const int n = snprintf(dir, PATH_MAX, "%s/%s", state_dir, QLOG_DIR);
	if (n < 0 || n >= PATH_MAX) {
		cli_error(cmd->name, "the state directory's path is too long");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Days: proleptic Gregorian calendar, UTC (H. Hinnant's civil algorithms) */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void
format_day(char out[32], uint32_t day)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 32, "%04lld-%02u-%02u (day %u)", (long long)y, m, d, day);
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

static unsigned
digits_value(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* YYYY-MM-DD (1970 to 9999) or a day number; returns 0 or -1. */
static int
parse_day(const char *s, uint32_t *out)
{
	static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const size_t len = strlen(s);

	if (len == 10 && s[4] == '-' && s[7] == '-' && all_digits(s, 4) && all_digits(s + 5, 2) &&
	    all_digits(s + 8, 2)) {
		const unsigned y = digits_value(s, 4), m = digits_value(s + 5, 2),
		               d = digits_value(s + 8, 2);
		const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		if (y < 1970 || m < 1 || m > 12 || d < 1 ||
		    d > month_days[m - 1] + (m == 2 && leap ? 1u : 0u))
			return -1;
		*out = (uint32_t)days_from_civil(y, m, d);
		return 0;
	}
	if (!all_digits(s, len) || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	const unsigned long long v = strtoull(s, NULL, 10);
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening the log for reading */

static qlog_store *
open_log(const cli_command *cmd, qlog_store_config *config)
{
	qlog_store *store = NULL;
	char dir[PATH_MAX];
	if (log_dir_of(cmd, dir) != 0)
		return NULL;
	veil_err err = qlog_store_open(dir, 1, &store);
	if (err == VEIL_OK && (err = qlog_store_read_config(store, config)) != VEIL_OK) {
		cli_error(cmd->name, "the log in %s holds no usable configuration: %s", dir,
		          veil_strerror(err));
		qlog_store_close(store);
		store = NULL;
	} else if (err == VEIL_ERR_NOT_FOUND) {
		cli_error(cmd->name, "no query log in %s", dir);
	} else if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot open the log in %s: %s", dir, veil_strerror(err));
	}
	return store;
}

/* ------------------------------------------------------------------ */
/* export */

typedef struct export_state {
	const qlog_store_config *config;
} export_state;

static veil_err
export_entry(void *arg, const qlog_entry *e)
{
	const export_state *x = arg;
	/* No id: the key's random part says nothing, an old entry's sequence number too much. */
	printf("{\"day\":%u,\"hour\":%u,\"requester\":%u,\"items\":%u,\"buckets\":[", e->day,
	       e->hour, e->requester, e->item_count);
	for (uint32_t i = 0; i < e->item_count; i++)
		printf("%s%u", i == 0 ? "" : ",", qlog_entry_bucket(e, i));
	printf("],\"status\":%u", e->status);
	if (e->t_r != x->config->t_r)
		printf(",\"t_r\":%u", e->t_r);
	if (e->t_b != x->config->t_b)
		printf(",\"t_b\":%u", e->t_b);
	printf("}\n");
	return ferror(stdout) ? VEIL_ERR_SYSTEM : VEIL_OK;
}

/*
 * The state directories a command reads: --state, then the arguments
 * (argc, argv), into states; their number, or 0 after the message.
 */
static size_t
states_of(const cli_command *cmd, int argc, char **argv, const char *states[MAX_REPLICAS])
{
	if (argc < 0 || argc >= MAX_REPLICAS) {
		cli_usage_error(cmd, "at most %d state directories", MAX_REPLICAS);
		return 0;
	}
	states[0] = state_dir;
	for (int i = 0; i < argc; i++)
		states[i + 1] = argv[i];
	return (size_t)argc + 1;
}

int
admin_log_export(const cli_command *cmd, int argc, char **argv)
{
	qlog_store_config config[MAX_REPLICAS];
	qlog_store *store[MAX_REPLICAS] = {NULL};
	const char *states[MAX_REPLICAS];
	uint32_t from = 0, to = UINT32_MAX;
	int status = 1;

	if (since != NULL && parse_day(since, &from) != 0)
		return cli_usage_error(cmd, "--since takes YYYY-MM-DD or a day number, not %s",
		                       since);
	if (until != NULL && parse_day(until, &to) != 0)
		return cli_usage_error(cmd, "--until takes YYYY-MM-DD or a day number, not %s",
		                       until);
	const size_t n = states_of(cmd, argc, argv, states);
	if (n == 0)
		return CLI_EXIT_USAGE;
	/* Every log opens before a line is written: all or nothing. */
	for (size_t i = 0; i < n; i++) {
		state_dir = states[i];
		if ((store[i] = open_log(cmd, &config[i])) == NULL)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const qlog_config *c = &config[i].config;
		printf("{\"schema\":\"%s\",", QLOG_STORE_FORMAT);
		if (n > 1)
			printf("\"replica\":%zu,\"replicas\":%zu,", i, n);
		printf("\"t_r\":%u,\"t_b\":%u,\"k_r\":%u,\"k_b\":%u,"
		       "\"accounts\":%llu,\"universe\":%llu,\"entry_retention_days\":%u,"
		       "\"salt_retention_days\":%u,\"max_prefix_bits\":%u,\"auth\":\"%s\","
		       "\"fields\":[\"day\",\"hour\",\"requester\",\"items\",\"buckets\","
		       "\"status\"]}\n",
		       config[i].t_r, config[i].t_b, c->k_r, c->k_b,
		       (unsigned long long)c->accounts, (unsigned long long)c->universe,
		       c->entry_retention_days, c->salt_retention_days, c->max_prefix_bits,
		       c->anonymous ? "tokens" : "keys");
		export_state x = {&config[i]};
		const veil_err err = from <= to
		                             ? qlog_store_scan(store[i], from, to, export_entry, &x)
		                             : VEIL_OK;
		if (err != VEIL_OK) {
			cli_error(cmd->name, "the export is incomplete: %s", veil_strerror(err));
			goto out;
		}
	}
	status = 0;
out:
	for (size_t i = 0; i < n; i++)
		qlog_store_close(store[i]);
	return status;
}

/* ------------------------------------------------------------------ */
/* purge */

int
admin_log_purge(const cli_command *cmd, int argc, char **argv)
{
	qlog_sweep_result result;
	char why[256];
	char day[32];

	veil_err err = qlog_purge(state_dir, now >= 0 ? now : (int64_t)time(NULL), &result, why,
	                          sizeof(why));
	if (err != VEIL_OK) {
		cli_error(cmd->name, "%s", why[0] != '\0' ? why : veil_strerror(err));
		return 1;
	}
	format_day(day, result.day);
	printf("deleted %llu entries, erased %u salt files; the log's day is %s\n",
	       (unsigned long long)result.entries_deleted, result.salts_erased, day);
	return 0;
}

/* ------------------------------------------------------------------ */
/* stats */

typedef struct day_count {
	uint32_t day;
	uint64_t entries;
} day_count;

typedef struct stats_state {
	day_count *days;
	size_t count, cap;
	uint64_t entries;
} stats_state;

static veil_err
count_entry(void *arg, const qlog_entry *e)
{
	stats_state *s = arg;
	if (s->count == 0 || s->days[s->count - 1].day != e->day) {
		if (s->count == s->cap) {
			const size_t grown = s->cap == 0 ? 64 : 2 * s->cap;
			day_count *bigger = realloc(s->days, grown * sizeof(*bigger));
			if (bigger == NULL)
				return VEIL_ERR_NOMEM;
			s->days = bigger;
			s->cap = grown;
		}
		s->days[s->count].day = e->day;
		s->days[s->count].entries = 0;
		s->count++;
	}
	s->days[s->count - 1].entries++;
	s->entries++;
	return VEIL_OK;
}

/* log stats --json: the same figures as one JSON object. */
static void
print_stats_json(const qlog_store_config *config, const stats_state *s, uint64_t dropped,
                 const uint32_t *salt_days, size_t salt_count)
{
	char day[32];
	const qlog_config *c = &config->config;
	printf("{\"entries\":%llu,\"dropped\":%llu,\"oldest\":", (unsigned long long)s->entries,
	       (unsigned long long)dropped);
	if (s->count > 0) {
		format_day(day, s->days[0].day);
		printf("\"%s\"", day);
	} else {
		printf("null");
	}
	printf(",\"salts\":[");
	for (size_t i = 0; i < salt_count; i++) {
		format_day(day, salt_days[i]);
		printf("%s\"%s\"", i == 0 ? "" : ",", day);
	}
	printf("],\"t_r\":%u,\"t_b\":%u,\"k_r\":%u,\"accounts\":%llu,\"k_b\":%u,"
	       "\"universe\":%llu,\"max_prefix_bits\":%u,\"entry_retention_days\":%u,"
	       "\"salt_retention_days\":%u,\"days\":[",
	       config->t_r, config->t_b, c->k_r, (unsigned long long)c->accounts, c->k_b,
	       (unsigned long long)c->universe, c->max_prefix_bits, c->entry_retention_days,
	       c->salt_retention_days);
	for (size_t i = 0; i < s->count; i++) {
		format_day(day, s->days[i].day);
		printf("%s{\"day\":\"%s\",\"entries\":%llu}", i == 0 ? "" : ",", day,
		       (unsigned long long)s->days[i].entries);
	}
	printf("]}\n");
}

int
admin_log_stats(const cli_command *cmd, int argc, char **argv)
{
	qlog_store_config config;
	stats_state s = {NULL, 0, 0, 0};
	uint64_t dropped = 0;
	uint32_t *salt_days = NULL;
	size_t salt_count = 0;
	char day[32];
	char dir[PATH_MAX];
	int status = 1;

	qlog_store *store = open_log(cmd, &config);
	if (store == NULL)
		goto out;
	veil_err err = qlog_store_scan(store, 0, UINT32_MAX, count_entry, &s);
	if (err == VEIL_OK)
		err = qlog_store_read_dropped(store, &dropped);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot read the log: %s", veil_strerror(err));
		goto out;
	}
	if (log_dir_of(cmd, dir) != 0)
		goto out;
	if ((err = saltchain_list_salts(dir, &salt_days, &salt_count)) != VEIL_OK) {
		cli_error(cmd->name, "cannot list the salts: %s", veil_strerror(err));
		goto out;
	}
	if (json) {
		print_stats_json(&config, &s, dropped, salt_days, salt_count);
		status = 0;
		goto out;
	}
	printf("%-16s %llu\n", "entries", (unsigned long long)s.entries);
	printf("%-16s %llu\n", "dropped", (unsigned long long)dropped);
	if (s.count > 0)
		format_day(day, s.days[0].day);
	printf("%-16s %s\n", "oldest", s.count > 0 ? day : "none");
	printf("%-16s", "salts");
	for (size_t i = 0; i < salt_count; i++) {
		format_day(day, salt_days[i]);
		printf("%s %s", i == 0 ? "" : ",", day);
	}
	printf("%s\n", salt_count == 0 ? " none" : "");
	printf("%-16s t_r %u, t_b %u\n", "widths", config.t_r, config.t_b);
	printf("%-16s k_r %u of %llu accounts, k_b %u of %llu handles, prefixes up to %u bits\n",
	       "targets", config.config.k_r, (unsigned long long)config.config.accounts,
	       config.config.k_b, (unsigned long long)config.config.universe,
	       config.config.max_prefix_bits);
	printf("%-16s entries %u days, salts %u days\n", "retention",
	       config.config.entry_retention_days, config.config.salt_retention_days);
	for (size_t i = 0; i < s.count; i++) {
		format_day(day, s.days[i].day);
		printf("day %-28s %llu entries\n", day, (unsigned long long)s.days[i].entries);
	}
	status = 0;
out:
	free(salt_days);
	free(s.days);
	qlog_store_close(store);
	return status;
}

/* ------------------------------------------------------------------ */
/* salts */

/*
 * The salts of the days listed (count of them) of the log in dir, after
 * its header line when replicas is above 1.
 */
static int
write_salts(const cli_command *cmd, const char *dir, const uint32_t *days, size_t count,
            size_t replica, size_t replicas)
{
	uint8_t *salt = NULL;
	char *hex = NULL;
	int status = 1;
	veil_err err = VEIL_OK;

	if (replicas > 1)
		printf("{\"replica\":%zu,\"replicas\":%zu}\n", replica, replicas);
	salt = sodium_malloc(QLOG_SALT_SIZE);
	hex = sodium_malloc(2 * QLOG_SALT_SIZE + 1);
	if (salt == NULL || hex == NULL) {
		cli_error(cmd->name, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		err = saltchain_read_salt(dir, days[i], salt);
		if (err == VEIL_ERR_NOT_FOUND)
			continue; /* erased meanwhile by a sweep */
		if (err != VEIL_OK) {
			cli_error(cmd->name, "cannot read the salt of day %u: %s", days[i],
			          veil_strerror(err));
			goto out;
		}
		sodium_bin2hex(hex, 2 * QLOG_SALT_SIZE + 1, salt, QLOG_SALT_SIZE);
		printf("{\"day\":%u,\"salt\":\"%s\"}\n", days[i], hex);
	}
	status = 0;
out:
	if (salt != NULL)
		sodium_free(salt);
	if (hex != NULL)
		sodium_free(hex);
	return status;
}

int
admin_log_salts(const cli_command *cmd, int argc, char **argv)
{
	const char *states[MAX_REPLICAS];
	const size_t n = states_of(cmd, argc, argv, states);
	if (n == 0)
		return CLI_EXIT_USAGE;
	/* Each log is there, its days listed, before a salt is written. */
	static char dirs[MAX_REPLICAS][PATH_MAX];
	uint32_t *days[MAX_REPLICAS] = {0};
	size_t counts[MAX_REPLICAS] = {0};
	int status = 0;
	for (size_t i = 0; i < n && status == 0; i++) {
		state_dir = states[i];
		if (log_dir_of(cmd, dirs[i]) != 0) {
			status = 1;
		} else {
			const veil_err err = saltchain_list_salts(dirs[i], &days[i], &counts[i]);
			if (err != VEIL_OK) {
				cli_error(cmd->name, "no query log in %s: %s", dirs[i],
				          veil_strerror(err));
				status = 1;
			}
		}
	}
	for (size_t i = 0; i < n && status == 0; i++)
		status = write_salts(cmd, dirs[i], days[i], counts[i], i, n);
	for (size_t i = 0; i < n; i++)
		free(days[i]);
	return status;
}
