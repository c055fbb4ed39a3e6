#include "jsonl.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "oprf.h"

int
jsonl_fail(jsonl_failure *f, const char *field, const char *reason)
{
	f->field = field;
	f->reason = reason;
	return -1;
}

int
jsonl_is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return 0;
	return 1;
}

int
jsonl_parse_request(const char *line, size_t len, json_value **request_out, jsonl_failure *f)
{
	json_value *request = NULL;

	*request_out = NULL;
	if (jsonl_is_blank(line, len))
		return 1;
	if (len > JSONL_MAX_LINE)
		return jsonl_fail(f, NULL, "line too long");
	switch (json_parse(line, len, &request)) {
	case VEIL_OK:
		break;
	case VEIL_ERR_LIMIT:
		return jsonl_fail(f, NULL, "JSON limit exceeded");
	case VEIL_ERR_NOMEM:
		return jsonl_fail(f, NULL, "out of memory");
	default:
		return jsonl_fail(f, NULL, "bad JSON");
	}
	if (json_type_of(request) != JSON_OBJECT) {
		json_free(request);
		return jsonl_fail(f, NULL, "request is not a JSON object");
	}
	*request_out = request;
	return 0;
}

int
jsonl_check_fields(const json_value *request, const char *const known[], size_t count,
                   jsonl_failure *f)
{
	for (size_t i = 0; i < json_object_size(request); i++) {
		const char *key = json_object_key(request, i);
		size_t key_len = json_object_key_len(request, i), k;
		for (k = 0; k < count; k++)
			if (strlen(known[k]) == key_len && memcmp(known[k], key, key_len) == 0)
				break;
		if (k == count)
			return jsonl_fail(f, NULL, "unknown field");
	}
	return 0;
}

int
jsonl_hex_decode(const char *s, size_t len, uint8_t *out)
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_hex2bin(out, len / 2, s, len, NULL, &got, &end) != 0 || got != len / 2)
		return -1;
	return 0;
}

const char *
jsonl_hex_text(const json_value *v, const char *field, size_t max, size_t *len_out,
               jsonl_failure *f)
{
	const char *s = json_string(v, len_out);
	if (v == NULL)
		jsonl_fail(f, field, "missing");
	else if (s == NULL)
		jsonl_fail(f, field, "not a string");
	else if (*len_out % 2 != 0)
		jsonl_fail(f, field, "bad hex");
	else if (*len_out / 2 > max)
		jsonl_fail(f, field, "too long");
	else
		return s;
	return NULL;
}

int
jsonl_take_between(const json_value *v, const char *field, uint8_t *out, size_t min, size_t max,
                   size_t *len_out, jsonl_failure *f)
{
	size_t len;
	const char *s = jsonl_hex_text(v, field, SIZE_MAX, &len, f);
	if (s == NULL)
		return -1;
	if (len < 2 * min || len > 2 * max)
		return jsonl_fail(f, field, "wrong length");
	if (jsonl_hex_decode(s, len, out) != 0)
		return jsonl_fail(f, field, "bad hex");
	*len_out = len / 2;
	return 0;
}

int
jsonl_take_fixed(const json_value *v, const char *field, uint8_t *out, size_t n, jsonl_failure *f)
{
	size_t len;
	return jsonl_take_between(v, field, out, n, n, &len, f);
}

int
jsonl_take_variable(const json_value *v, const char *field, size_t max, uint8_t **out,
                    size_t *len_out, jsonl_failure *f)
{
	size_t len;
	const char *s = jsonl_hex_text(v, field, max, &len, f);
	if (s == NULL)
		return -1;
	if ((*out = malloc(len / 2 + 1)) == NULL)
		return jsonl_fail(f, NULL, "out of memory");
	if (jsonl_hex_decode(s, len, *out) != 0)
		return jsonl_fail(f, field, "bad hex");
	*len_out = len / 2;
	return 0;
}

void
jsonl_append_hex(buf *b, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char chunk[128];

	buf_append_byte(b, '"');
	for (size_t i = 0; i < n;) {
		size_t k = 0;
		for (; i < n && k < sizeof(chunk); i++) {
			chunk[k++] = digits[bytes[i] >> 4];
			chunk[k++] = digits[bytes[i] & 0xf];
		}
		buf_append(b, chunk, k);
	}
	buf_append_byte(b, '"');
	sodium_memzero(chunk, sizeof(chunk)); /* a secret key may pass through */
}

void
jsonl_append_hex_list(buf *b, const uint8_t *flat, size_t count, size_t size)
{
	buf_append_byte(b, '[');
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		jsonl_append_hex(b, flat + i * size, size);
	}
	buf_append_byte(b, ']');
}

void
jsonl_append_id(buf *b, const json_value *id)
{
	buf_append_str(b, "{\"id\":");
	if (id == NULL)
		buf_append_str(b, "null");
	else
		json_write_value(b, id);
}

veil_err
jsonl_append_failure(buf *b, const json_value *id, const jsonl_failure *f)
{
	char message[160];

	if (f->field != NULL)
		snprintf(message, sizeof(message), "%s: %s", f->field, f->reason);
	else
		snprintf(message, sizeof(message), "%s", f->reason);
	jsonl_append_id(b, id);
	buf_append_str(b, ",\"ok\":false,\"error\":");
	veil_err err = json_write_string(b, message, strlen(message));
	buf_append_str(b, "}\n");
	return err;
}

/* Appends are sticky: one check at the end covers them all. */
veil_err
jsonl_finish(buf *out, size_t mark)
{
	veil_err err = buf_error(out);
	if (err != VEIL_OK)
		buf_truncate(out, mark);
	return err;
}

veil_err
jsonl_refuse(buf *out, const char *message)
{
	size_t mark = buf_len(out);
	jsonl_failure f = {NULL, message};

	if (message == NULL)
		return VEIL_ERR_ARGUMENT;
	if (jsonl_append_failure(out, NULL, &f) == VEIL_ERR_ARGUMENT) {
		buf_truncate(out, mark);
		return VEIL_ERR_ARGUMENT;
	}
	return jsonl_finish(out, mark);
}

/* A failed answer that could not even be built (out of memory). */
static const char answer_no_memory[] = "{\"id\":null,\"ok\":false,\"error\":\"out of memory\"}\n";

/*
 * Reads one line, without its newline, into line. Bytes past
 * JSONL_MAX_LINE are read and dropped, and *too_long is set. Returns 1 for
 * a line, 0 at the end of input, -1 on a read error or when line cannot
 * grow.
 */
static int
read_line(FILE *in, buf *line, int *too_long)
{
	char chunk[4096];
	size_t n = 0;
	int c, any = 0;

	buf_reset(line);
	*too_long = 0;
	while ((c = getc_unlocked(in)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (buf_len(line) + n >= JSONL_MAX_LINE) {
			*too_long = 1;
			continue;
		}
		chunk[n++] = (char)c;
		if (n == sizeof(chunk)) {
			if (buf_append(line, chunk, n) != VEIL_OK)
				return -1;
			n = 0;
		}
	}
	if (ferror(in))
		return -1;
	if (buf_append(line, chunk, n) != VEIL_OK)
		return -1;
	return any;
}

int
jsonl_serve_stream(const char *program, FILE *in, FILE *out, jsonl_serve_fn serve)
{
	buf line, answer;
	int too_long, got, status = 0;

	buf_init(&line);
	buf_init(&answer);
	while ((got = read_line(in, &line, &too_long)) == 1) {
		veil_err err;
		buf_reset(&answer);
		if (too_long)
			err = jsonl_refuse(&answer, "line too long");
		else
			err = serve(buf_data(&line), buf_len(&line), &answer);
		if (err != VEIL_OK) {
			buf_reset(&answer);
			buf_append_str(&answer, answer_no_memory);
		}
		if (buf_len(&answer) == 0)
			continue; /* a blank line */
		if (fwrite(buf_data(&answer), 1, buf_len(&answer), out) != buf_len(&answer) ||
		    fflush(out) != 0) {
			cli_error(program, "cannot write to stdout");
			status = 1;
			goto out;
		}
	}
	if (got < 0) {
		cli_error(program, "cannot read a line from stdin");
		status = 1;
	}
out:
	buf_free(&line);
	buf_free(&answer);
	return status;
}

int
jsonl_tool_main(const char *program, void (*help)(void), jsonl_serve_fn serve, int argc,
                char **argv)
{
	const cli_command command = {program, "[--help | --version] < REQUESTS", NULL};
	int first = 0;

	const cli_result parsed = cli_parse(&command, argc, argv, &first);
	if (parsed == CLI_HELP) {
		cli_print_usage(&command, stdout);
		fputc('\n', stdout);
		help();
		return 0;
	}
	if (parsed != CLI_RUN)
		return parsed == CLI_USAGE ? CLI_EXIT_USAGE : 0; /* explained, or --version */
	/* A word, not an option: perhaps a file meant as the input. */
	if (first < argc)
		return cli_usage_error(&command,
		                       "unknown argument %s: the requests come on standard input",
		                       argv[first]);
	if (veil_crypto_init() != VEIL_OK) {
		cli_error(program, "cannot initialize the crypto library");
		return 1;
	}
	return jsonl_serve_stream(program, stdin, stdout, serve);
}

void
jsonl_free_wiped(void *p, size_t n)
{
	if (p != NULL)
		sodium_memzero(p, n);
	free(p);
}
