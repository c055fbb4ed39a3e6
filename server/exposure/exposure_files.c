/*
 * The exposure analysis's files (exposure.h, "Files"): what an adversary
 * holds, read from disk, and the report written out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sys/stat.h>

#include "array.h"
#include "clients.h"
#include "exposure.h"
#include "file.h"
#include "store_file.h"

static void say(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* What a file holds: which exposure_*_parse() reads it. */
typedef enum file_kind { FILE_LOG, FILE_SALTS, FILE_ACCOUNTS, FILE_BASELINE } file_kind;

/*
 * Reads path and parses it as kind into out (an exposure_log **,
 * exposure_salts **, uint8_t ** with *count, or exposure_baseline **).
 * On error why holds the file's name and the reason.
 */
static veil_err
load(const char *path, file_kind kind, uint32_t replica, void *out, size_t *count, uint64_t *bytes,
     char *why, size_t why_len)
{
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(path, EXPOSURE_MAX_FILE, &text, &len) != 0) {
		say(why, why_len, "cannot read %s: %s", path, strerror(errno));
		return VEIL_ERR_SYSTEM;
	}
	veil_err err = VEIL_ERR_ARGUMENT;
	switch (kind) {
	case FILE_LOG:
		err = exposure_log_parse_replica(text, len, replica, out, why, why_len);
		break;
	case FILE_SALTS:
		err = exposure_salts_parse_replica(text, len, replica, out, why, why_len);
		break;
	case FILE_ACCOUNTS:
		err = exposure_accounts_parse(text, len, out, count, why, why_len);
		break;
	case FILE_BASELINE:
		err = exposure_baseline_parse(text, len, out, why, why_len);
		break;
	}
	if (err != VEIL_OK) {
		/* Prefixes the parser's reason with the file's name and the error. */
		char reason[160];
		snprintf(reason, sizeof(reason), "%s", why);
		say(why, why_len, "%s: %s: %s", path, veil_strerror(err), reason);
	} else if (bytes != NULL) {
		*bytes = len;
	}
	if (kind == FILE_SALTS)
		sodium_memzero(text, len); /* the salts are secret */
	free(text);
	return err;
}

veil_err
exposure_log_load(const char *path, exposure_log **out, uint64_t *bytes, char *why, size_t why_len)
{
	*out = NULL;
	return load(path, FILE_LOG, EXPOSURE_NO_REPLICA, out, NULL, bytes, why, why_len);
}

veil_err
exposure_salts_load(const char *path, exposure_salts **out, char *why, size_t why_len)
{
	*out = NULL;
	return load(path, FILE_SALTS, EXPOSURE_NO_REPLICA, out, NULL, NULL, why, why_len);
}

veil_err
exposure_log_load_replica(const char *path, uint32_t replica, exposure_log **out, uint64_t *bytes,
                          char *why, size_t why_len)
{
	*out = NULL;
	return load(path, FILE_LOG, replica, out, NULL, bytes, why, why_len);
}

veil_err
exposure_salts_load_replica(const char *path, uint32_t replica, exposure_salts **out, char *why,
                            size_t why_len)
{
	*out = NULL;
	return load(path, FILE_SALTS, replica, out, NULL, NULL, why, why_len);
}

veil_err
exposure_accounts_load(const char *path, uint8_t **keys, size_t *count, char *why, size_t why_len)
{
	*keys = NULL;
	*count = 0;
	return load(path, FILE_ACCOUNTS, EXPOSURE_NO_REPLICA, keys, count, NULL, why, why_len);
}

veil_err
exposure_baseline_load(const char *path, exposure_baseline **out, char *why, size_t why_len)
{
	*out = NULL;
	return load(path, FILE_BASELINE, EXPOSURE_NO_REPLICA, out, NULL, NULL, why, why_len);
}

/* The records read so far (exposure_issuer_load()). */
typedef struct issuer_reading {
	exposure_issuer_record *records;
	size_t count, cap;
	int failed; /* out of memory */
} issuer_reading;

static int
issuer_record(void *arg, const clients_record *r)
{
	issuer_reading *rd = arg;
	if (array_reserve((void **)&rd->records, &rd->cap, rd->count + 1, sizeof(*rd->records),
	                  64) != VEIL_OK) {
		rd->failed = 1;
		return 1;
	}
	/* The digest stays behind: a count needs no name. */
	rd->records[rd->count++] =
	        (exposure_issuer_record){r->enrolled != 0, r->last_use_day, r->tokens};
	return 0;
}

veil_err
exposure_issuer_load(const char *dir, exposure_issuer_record **records, size_t *count, char *why,
                     size_t why_len)
{
	if (records != NULL)
		*records = NULL;
	if (count != NULL)
		*count = 0;
	if (dir == NULL || records == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	char *data = store_file_join(CLIENTS_DIR, "data.mdb");
	if (data == NULL)
		return VEIL_ERR_NOMEM;
	const int present =
	        store_file_exists(dir, CLIENTS_KEY_FILE) && store_file_exists(dir, data);
	free(data);
	if (!present) {
		say(why, why_len, "%s holds no clients database (%s and %s/)", dir,
		    CLIENTS_KEY_FILE, CLIENTS_DIR);
		return VEIL_ERR_NOT_FOUND;
	}
	clients *c = NULL;
	veil_err err = clients_open(dir, NULL, &c);
	issuer_reading rd = {NULL, 0, 0, 0};
	/* now 0: each record's tokens as of its own day, no refill counted. */
	if (err == VEIL_OK)
		err = clients_list(c, 0, issuer_record, &rd);
	if (err == VEIL_OK && rd.failed)
		err = VEIL_ERR_NOMEM;
	clients_close(c);
	if (err != VEIL_OK) {
		say(why, why_len, "cannot read the clients database of %s: %s", dir,
		    veil_strerror(err));
		free(rd.records);
		return err;
	}
	*records = rd.records;
	*count = rd.count;
	return VEIL_OK;
}

veil_err
exposure_report_write(const exposure_report *r, int json, FILE *out, const char *chart_path,
                      char *why, size_t why_len)
{
	buf b;
	buf_init(&b);
	if (json)
		exposure_report_json(r, &b);
	else
		exposure_report_table(r, &b);
	veil_err err = buf_error(&b);
	if (err != VEIL_OK) {
		say(why, why_len, "cannot format the figures: %s", veil_strerror(err));
	} else if (fwrite(buf_data(&b), 1, buf_len(&b), out) != buf_len(&b)) {
		say(why, why_len, "cannot write the figures: %s", strerror(errno));
		err = VEIL_ERR_SYSTEM;
	} else if (chart_path != NULL) {
		buf_reset(&b);
		if ((err = exposure_report_chart(r, &b)) != VEIL_OK) {
			say(why, why_len, "cannot draw the chart: %s", veil_strerror(err));
		} else if (file_write_all(chart_path, buf_data(&b), buf_len(&b), 0644) != 0) {
			say(why, why_len, "cannot write the chart %s: %s", chart_path,
			    strerror(errno));
			err = VEIL_ERR_SYSTEM;
		}
	}
	buf_free(&b);
	return err;
}
