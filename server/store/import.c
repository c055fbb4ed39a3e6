#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "entry.h"
#include "utf8.h"

_Static_assert(NORMALIZE_MAX_HANDLE <= REGISTRY_MAX_HANDLE,
               "a normalized handle fits the registry");

/* Below this many bytes of input one thread parses it all. */
#define PARALLEL_MIN_INPUT 65536
#define MAX_THREADS        64
/* The progress of a slice is published every this many lines. */
#define PROGRESS_LINES     1024

/* ------------------------------------------------------------------ */
/* One line */

import_status
import_check_payload(const uint8_t *p, size_t len)
{
	if (len > ENTRY_MAX_PAYLOAD)
		return IMPORT_PAYLOAD_TOO_LONG;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return IMPORT_PAYLOAD_ENCODING;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return IMPORT_PAYLOAD_CONTROL;
		i += n;
	}
	return IMPORT_RECORD;
}

import_status
import_parse_line(const char *line, size_t len, const char *default_region, import_line *out)
{
	memset(out, 0, sizeof(*out));
	out->handle_status = NORMALIZE_OK;
	if (len > IMPORT_MAX_LINE)
		return out->status = IMPORT_LINE_TOO_LONG;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	size_t first = 0;
	while (first < len && (line[first] == ' ' || line[first] == '\t'))
		first++;
	if (first == len || line[first] == '#')
		return out->status = IMPORT_SKIP;

	const char *comma = memchr(line, ',', len);
	const size_t handle_text_len = comma != NULL ? (size_t)(comma - line) : len;
	if (comma != NULL) {
		const uint8_t *payload = (const uint8_t *)comma + 1;
		const size_t payload_len = len - handle_text_len - 1;
		import_status s = import_check_payload(payload, payload_len);
		if (s != IMPORT_RECORD)
			return out->status = s;
		if (payload_len > 0) {
			out->payload = payload;
			out->payload_len = payload_len;
		}
	}
	out->handle_status = normalize_handle(line, handle_text_len, default_region, out->handle,
	                                      sizeof(out->handle), &out->handle_len);
	if (out->handle_status != NORMALIZE_OK) {
		out->payload = NULL;
		out->payload_len = 0;
		out->handle_len = 0;
		return out->status = IMPORT_BAD_HANDLE;
	}
	return out->status = IMPORT_RECORD;
}

const char *
import_line_reason(import_status status, normalize_status handle_status)
{
	switch (status) {
	case IMPORT_RECORD:
		return "ok";
	case IMPORT_SKIP:
		return "blank or comment";
	case IMPORT_LINE_TOO_LONG:
		return "line too long";
	case IMPORT_BAD_HANDLE:
		return normalize_strerror(handle_status);
	case IMPORT_PAYLOAD_TOO_LONG:
		return "payload longer than 64 bytes";
	case IMPORT_PAYLOAD_ENCODING:
		return "payload is not valid UTF-8";
	case IMPORT_PAYLOAD_CONTROL:
		return "payload holds a control character";
	}
	return "unknown error";
}

/* ------------------------------------------------------------------ */
/* A whole file, in slices parsed in parallel */

typedef struct pending_record {
	size_t handle_off; /* in the slice's arena */
	size_t payload_off;
	uint16_t handle_len;
	uint8_t payload_len;
} pending_record;

typedef struct bad_line {
	uint64_t line; /* within the slice, from 0 */
	const char *reason;
} bad_line;

typedef struct slice slice;

/* What the slice parsed by the calling thread reports progress with. */
typedef struct reporter {
	import_progress_fn *fn;
	void *arg;
	const slice *slices;
	size_t count;
	uint64_t total;
} reporter;

struct slice {
	const char *text;
	size_t len;
	const char *region;
	const reporter *reporter; /* NULL but for the calling thread's slice */
	atomic_size_t done;       /* bytes parsed, published now and then */
	atomic_size_t done_lines;
	uint64_t lines, skipped;
	char *arena;
	size_t arena_len, arena_cap;
	pending_record *records;
	size_t record_count, record_cap;
	bad_line *bad;
	size_t bad_count, bad_cap;
	veil_err err;
};

struct import_batch {
	registry_record *records;
	size_t count;
	char **arenas; /* one per slice */
	size_t *arena_lens;
	size_t arena_count;
	import_summary summary;
};

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t cap2 = *cap == 0 ? 64 : *cap;
	while (cap2 < need)
		cap2 *= 2;
	void *q = realloc(*p, cap2 * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = cap2;
	return 0;
}

static veil_err
slice_add(slice *s, const import_line *line)
{
	const size_t bytes = line->handle_len + line->payload_len;
	void *arena = s->arena, *records = s->records;
	if (grow(&arena, &s->arena_cap, s->arena_len + bytes, 1) != 0)
		return VEIL_ERR_NOMEM;
	s->arena = arena;
	if (grow(&records, &s->record_cap, s->record_count + 1, sizeof(pending_record)) != 0)
		return VEIL_ERR_NOMEM;
	s->records = records;
	pending_record *r = &s->records[s->record_count++];
	r->handle_off = s->arena_len;
	r->handle_len = (uint16_t)line->handle_len;
	memcpy(s->arena + s->arena_len, line->handle, line->handle_len);
	s->arena_len += line->handle_len;
	r->payload_off = s->arena_len;
	r->payload_len = (uint8_t)line->payload_len;
	if (line->payload_len > 0)
		memcpy(s->arena + s->arena_len, line->payload, line->payload_len);
	s->arena_len += line->payload_len;
	return VEIL_OK;
}

static veil_err
slice_bad(slice *s, uint64_t line, const char *reason)
{
	void *bad = s->bad;
	if (grow(&bad, &s->bad_cap, s->bad_count + 1, sizeof(bad_line)) != 0)
		return VEIL_ERR_NOMEM;
	s->bad = bad;
	s->bad[s->bad_count].line = line;
	s->bad[s->bad_count].reason = reason;
	s->bad_count++;
	return VEIL_OK;
}

static void *
slice_parse(void *arg)
{
	slice *s = arg;
	import_line line;
	size_t at = 0;

	while (at < s->len && s->err == VEIL_OK) {
		const char *start = s->text + at;
		const char *newline = memchr(start, '\n', s->len - at);
		const size_t line_len = newline != NULL ? (size_t)(newline - start) : s->len - at;
		at += line_len + (newline != NULL);
		import_status st = import_parse_line(start, line_len, s->region, &line);
		if (st == IMPORT_RECORD)
			s->err = slice_add(s, &line);
		else if (st == IMPORT_SKIP)
			s->skipped++;
		else
			s->err = slice_bad(s, s->lines, import_line_reason(st, line.handle_status));
		s->lines++;
		if (s->lines % PROGRESS_LINES == 0) {
			atomic_store(&s->done, at);
			atomic_store(&s->done_lines, s->lines);
			if (s->reporter != NULL) {
				const reporter *r = s->reporter;
				uint64_t bytes = 0, lines = 0;
				for (size_t i = 0; i < r->count; i++) {
					bytes += atomic_load(&r->slices[i].done);
					lines += atomic_load(&r->slices[i].done_lines);
				}
				r->fn(r->arg, bytes, r->total, lines);
			}
		}
	}
	sodium_memzero(&line, sizeof(line));
	return NULL;
}

static void
slice_free(slice *s)
{
	free(s->records);
	free(s->bad);
	if (s->arena != NULL) {
		sodium_memzero(s->arena, s->arena_len);
		free(s->arena);
	}
}

void
import_batch_free(import_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->arena_count; i++) {
		if (b->arenas[i] != NULL)
			sodium_memzero(b->arenas[i], b->arena_lens[i]);
		free(b->arenas[i]);
	}
	free(b->arenas);
	free(b->arena_lens);
	free(b->records);
	free(b);
}

veil_err
import_parse(const char *text, size_t len, const import_options *options, import_batch **out)
{
	static const import_options defaults = {NULL, 0, NULL, NULL, NULL, NULL};
	slice *slices = NULL;
	reporter progress;
	pthread_t ids[MAX_THREADS];
	import_batch *b = NULL;
	size_t n = 0;
	veil_err err = VEIL_OK;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (options == NULL)
		options = &defaults;
	const char *default_region = options->default_region;
	unsigned threads = options->threads;
	import_report_fn *report = options->report;
	void *report_arg = options->report_arg;
	if ((text == NULL && len != 0) || (default_region != NULL && default_region[0] != '\0' &&
	                                   !normalize_region_valid(default_region)))
		return VEIL_ERR_ARGUMENT;
	if (threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus < 1 ? 1 : (unsigned)(cpus > MAX_THREADS ? MAX_THREADS : cpus);
	}
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (len < PARALLEL_MIN_INPUT)
		threads = 1;
	if ((slices = calloc(threads, sizeof(*slices))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	/* Slices end just after a newline, so no line is split. */
	size_t at = 0;
	for (; n < threads && at < len; n++) {
		size_t end = n + 1 == threads ? len : at + (len - at) / (threads - n);
		if (end < len) {
			const char *nl = memchr(text + end, '\n', len - end);
			end = nl != NULL ? (size_t)(nl - text) + 1 : len;
		}
		slices[n].text = text + at;
		slices[n].len = end - at;
		slices[n].region = default_region;
		atomic_init(&slices[n].done, 0);
		atomic_init(&slices[n].done_lines, 0);
		at = end;
	}
	progress = (reporter){options->progress, options->progress_arg, slices, n, len};
	if (n > 0 && options->progress != NULL)
		slices[0].reporter = &progress;
	size_t started = 0;
	for (size_t i = 1; i < n; i++, started++)
		if (pthread_create(&ids[i], NULL, slice_parse, &slices[i]) != 0)
			break;
	if (n > 0)
		slice_parse(&slices[0]);
	for (size_t i = 1; i <= started; i++)
		pthread_join(ids[i], NULL);
	for (size_t i = started + 1; i < n; i++)
		slice_parse(&slices[i]);
	if (options->progress != NULL) {
		uint64_t lines = 0;
		for (size_t i = 0; i < n; i++)
			lines += slices[i].lines;
		options->progress(options->progress_arg, len, len, lines);
	}

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (slices[i].err != VEIL_OK) {
			err = slices[i].err;
			goto out;
		}
		total += slices[i].record_count;
	}
	if (total >= UINT32_MAX) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	if ((b->records = calloc(total + 1, sizeof(*b->records))) == NULL ||
	    (b->arenas = calloc(n + 1, sizeof(*b->arenas))) == NULL ||
	    (b->arena_lens = calloc(n + 1, sizeof(*b->arena_lens))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	uint64_t line_base = 0;
	for (size_t i = 0; i < n; i++) {
		slice *s = &slices[i];
		for (size_t j = 0; j < s->record_count; j++) {
			registry_record *r = &b->records[b->count++];
			r->handle = s->arena + s->records[j].handle_off;
			r->handle_len = s->records[j].handle_len;
			r->payload_len = s->records[j].payload_len;
			r->payload = r->payload_len > 0
			                     ? (const uint8_t *)s->arena + s->records[j].payload_off
			                     : NULL;
		}
		if (report != NULL)
			for (size_t j = 0; j < s->bad_count; j++)
				report(report_arg, line_base + s->bad[j].line + 1,
				       s->bad[j].reason);
		b->summary.lines += s->lines;
		b->summary.records += s->record_count;
		b->summary.skipped += s->skipped;
		b->summary.bad += s->bad_count;
		line_base += s->lines;
		/* The batch takes the arena over. */
		b->arenas[b->arena_count] = s->arena;
		b->arena_lens[b->arena_count++] = s->arena_len;
		s->arena = NULL;
	}
	*out = b;
	b = NULL;
out:
	for (size_t i = 0; i < n; i++)
		slice_free(&slices[i]);
	free(slices);
	import_batch_free(b);
	return err;
}

const registry_record *
import_batch_records(const import_batch *b, size_t *count)
{
	*count = b->count;
	return b->records;
}

void
import_batch_summary(const import_batch *b, import_summary *out)
{
	*out = b->summary;
}

veil_err
import_read_file(const char *path, char **text, size_t *len)
{
	char *data = NULL;
	size_t got = 0, cap = 0;
	int fd = -1;
	veil_err err = VEIL_OK;

	if (text == NULL || len == NULL)
		return VEIL_ERR_ARGUMENT;
	*text = NULL;
	*len = 0;
	if (path == NULL)
		return VEIL_ERR_ARGUMENT;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return errno == ENOENT ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > IMPORT_MAX_INPUT) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		/* Room for the file, the NUL, and one read that finds the end. */
		cap = (size_t)st.st_size + 2;
		if ((data = malloc(cap)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
	}
	for (;;) {
		if (cap - got < 2) {
			size_t cap2 = cap < 65536 ? 65536 : cap * 2;
			if (cap2 > IMPORT_MAX_INPUT + 2)
				cap2 = IMPORT_MAX_INPUT + 2;
			char *grown = realloc(data, cap2);
			if (grown == NULL) {
				err = VEIL_ERR_NOMEM;
				goto out;
			}
			data = grown;
			cap = cap2;
		}
		ssize_t r = read(fd, data + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = VEIL_ERR_SYSTEM;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > IMPORT_MAX_INPUT) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
	}
	data[got] = '\0';
	*text = data;
	*len = got;
	data = NULL;
out:
	free(data);
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return err;
}
