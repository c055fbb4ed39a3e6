#include "oprf_transcript.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "oprf.h"

/* Why a request cannot be served: a field (or NULL) and a fixed reason. */
typedef struct failure {
	const char *field;
	const char *reason;
} failure;

/* A request, decoded and checked, and what serving it produces. */
typedef struct job {
	const oprf_suite *suite;
	oprf_mode mode;
	size_t ns, ne, nh, count;

	int has_sk; /* skSm given; else seed and keyInfo */
	uint8_t sk[OPRF_MAX_SCALAR_SIZE];
	uint8_t seed[OPRF_MAX_SCALAR_SIZE];
	size_t seed_len;
	uint8_t *key_info;
	size_t key_info_len;

	uint8_t *input_bytes; /* every input, back to back */
	size_t input_size;    /* bytes at input_bytes */
	const uint8_t **inputs;
	size_t *input_lens;
	int has_blinds;
	uint8_t *blinds; /* count * ns: given, or drawn by Blind */
	uint8_t *info;   /* mode 2 only */
	size_t info_len;
	int has_proof_random_scalar;
	uint8_t proof_random_scalar[OPRF_MAX_SCALAR_SIZE];

	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
	uint8_t proof[OPRF_MAX_PROOF_SIZE];
	uint8_t *results;   /* one block for the three below */
	uint8_t *blinded;   /* count * ne */
	uint8_t *evaluated; /* count * ne */
	uint8_t *outputs;   /* count * nh */
} job;

static const char *const known_fields[] = {
        "id",   "suite", "mode",  "seed", "keyInfo",
        "skSm", "input", "blind", "info", "proofRandomScalar",
};

static int
fail(failure *f, const char *field, const char *reason)
{
	f->field = field;
	f->reason = reason;
	return -1;
}

/* The size of j->results: blinded and evaluated elements, then outputs. */
static size_t
results_size(const job *j)
{
	return j->count * (2 * j->ne + j->nh);
}

/* Wipes the n bytes at p (which may be NULL) and frees them. */
static void
free_wiped(void *p, size_t n)
{
	if (p != NULL)
		sodium_memzero(p, n);
	free(p);
}

static void
job_free(job *j)
{
	/* Wiped: the blinds, and the inputs and outputs (the client's private data). */
	free_wiped(j->blinds, j->count * j->ns);
	free_wiped(j->input_bytes, j->input_size);
	free_wiped(j->results, results_size(j));
	free(j->key_info);
	free(j->inputs);
	free(j->input_lens);
	free(j->info);
	sodium_memzero(j, sizeof(*j));
}

static int
is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return 0;
	return 1;
}

/* Decodes len hex digits (len even) into len / 2 bytes at out; -1 on a non-digit. */
static int
hex_decode(const char *s, size_t len, uint8_t *out)
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_hex2bin(out, len / 2, s, len, NULL, &got, &end) != 0 || got != len / 2)
		return -1;
	return 0;
}

/* The hex string v as text, checked for an even length of at most 2 * max digits. */
static const char *
hex_text(const json_value *v, const char *field, size_t max, size_t *len_out, failure *f)
{
	const char *s = json_string(v, len_out);
	if (v == NULL)
		fail(f, field, "missing");
	else if (s == NULL)
		fail(f, field, "not a string");
	else if (*len_out % 2 != 0)
		fail(f, field, "bad hex");
	else if (*len_out / 2 > max)
		fail(f, field, "too long");
	else
		return s;
	return NULL;
}

/* Decodes the hex string v of min to max bytes into out; *len_out gets the length. */
static int
take_between(const json_value *v, const char *field, uint8_t *out, size_t min, size_t max,
             size_t *len_out, failure *f)
{
	size_t len;
	const char *s = hex_text(v, field, SIZE_MAX, &len, f);
	if (s == NULL)
		return -1;
	if (len < 2 * min || len > 2 * max)
		return fail(f, field, "wrong length");
	if (hex_decode(s, len, out) != 0)
		return fail(f, field, "bad hex");
	*len_out = len / 2;
	return 0;
}

/* Decodes the hex string v of exactly n bytes into out. */
static int
take_fixed(const json_value *v, const char *field, uint8_t *out, size_t n, failure *f)
{
	size_t len;
	return take_between(v, field, out, n, n, &len, f);
}

/* Decodes the hex string v of at most max bytes into a new block. */
static int
take_variable(const json_value *v, const char *field, size_t max, uint8_t **out, size_t *len_out,
              failure *f)
{
	size_t len;
	const char *s = hex_text(v, field, max, &len, f);
	if (s == NULL)
		return -1;
	if ((*out = malloc(len / 2 + 1)) == NULL)
		return fail(f, NULL, "out of memory");
	if (hex_decode(s, len, *out) != 0)
		return fail(f, field, "bad hex");
	*len_out = len / 2;
	return 0;
}

static int
check_fields(const json_value *request, failure *f)
{
	for (size_t i = 0; i < json_object_size(request); i++) {
		const char *key = json_object_key(request, i);
		size_t key_len = json_object_key_len(request, i), k;
		for (k = 0; k < sizeof(known_fields) / sizeof(known_fields[0]); k++)
			if (strlen(known_fields[k]) == key_len &&
			    memcmp(known_fields[k], key, key_len) == 0)
				break;
		if (k == sizeof(known_fields) / sizeof(known_fields[0]))
			return fail(f, NULL, "unknown field");
	}
	return 0;
}

static int
read_suite_and_mode(job *j, const json_value *request, failure *f)
{
	const json_value *suite = json_object_get(request, "suite");
	const json_value *mode = json_object_get(request, "mode");
	size_t len;
	int64_t m;

	const char *name = json_string(suite, &len);
	if (suite == NULL)
		return fail(f, "suite", "missing");
	if (name == NULL)
		return fail(f, "suite", "not a string");
	if (strlen(name) != len || (j->suite = oprf_suite_by_name(name)) == NULL)
		return fail(f, "suite", "unsupported suite");
	if (mode == NULL)
		return fail(f, "mode", "missing");
	if (json_integer(mode, &m) != 0 ||
	    (m != OPRF_MODE_OPRF && m != OPRF_MODE_VOPRF && m != OPRF_MODE_POPRF))
		return fail(f, "mode", "unsupported mode");
	j->mode = (oprf_mode)m;
	j->ns = oprf_suite_scalar_size(j->suite);
	j->ne = oprf_suite_element_size(j->suite);
	j->nh = oprf_suite_output_size(j->suite);
	return 0;
}

static int
read_key(job *j, const json_value *request, failure *f)
{
	const json_value *sk = json_object_get(request, "skSm");
	const json_value *seed = json_object_get(request, "seed");
	const json_value *key_info = json_object_get(request, "keyInfo");

	if (sk != NULL && (seed != NULL || key_info != NULL))
		return fail(f, NULL, "give either skSm or seed and keyInfo");
	if (sk != NULL) {
		j->has_sk = 1;
		return take_fixed(sk, "skSm", j->sk, j->ns, f);
	}
	if (take_between(seed, "seed", j->seed, OPRF_MIN_SEED_SIZE, j->ns, &j->seed_len, f) != 0)
		return -1;
	return take_variable(key_info, "keyInfo", OPRF_MAX_INFO_SIZE, &j->key_info,
	                     &j->key_info_len, f);
}

static int
read_inputs(job *j, const json_value *request, failure *f)
{
	const json_value *input = json_object_get(request, "input");
	size_t total = 0;

	if (input == NULL)
		return fail(f, "input", "missing");
	if (json_type_of(input) != JSON_ARRAY)
		return fail(f, "input", "not an array");
	j->count = json_array_size(input);
	if (j->count == 0)
		return fail(f, "input", "empty");
	if (j->count > OPRF_MAX_BATCH)
		return fail(f, "input", "too many");

	/* First check every element and size one block for all of them. */
	for (size_t i = 0; i < j->count; i++) {
		size_t len;
		if (hex_text(json_array_get(input, i), "input", OPRF_MAX_INPUT_SIZE, &len, f) ==
		    NULL)
			return -1;
		total += len / 2;
	}
	j->input_bytes = malloc(total + 1);
	j->input_size = total;
	j->inputs = calloc(j->count, sizeof(*j->inputs));
	j->input_lens = calloc(j->count, sizeof(*j->input_lens));
	if (j->input_bytes == NULL || j->inputs == NULL || j->input_lens == NULL)
		return fail(f, NULL, "out of memory");
	uint8_t *next = j->input_bytes;
	for (size_t i = 0; i < j->count; i++) {
		size_t len;
		const char *s = json_string(json_array_get(input, i), &len);
		if (hex_decode(s, len, next) != 0)
			return fail(f, "input", "bad hex");
		j->inputs[i] = next;
		j->input_lens[i] = len / 2;
		next += len / 2;
	}
	return 0;
}

static int
read_blinds(job *j, const json_value *request, failure *f)
{
	const json_value *blind = json_object_get(request, "blind");

	if ((j->blinds = calloc(j->count, j->ns)) == NULL)
		return fail(f, NULL, "out of memory");
	if (blind == NULL)
		return 0;
	if (json_type_of(blind) != JSON_ARRAY)
		return fail(f, "blind", "not an array");
	if (json_array_size(blind) != j->count)
		return fail(f, "blind", "length differs from input");
	for (size_t i = 0; i < j->count; i++)
		if (take_fixed(json_array_get(blind, i), "blind", j->blinds + i * j->ns, j->ns,
		               f) != 0)
			return -1;
	j->has_blinds = 1;
	return 0;
}

static int
read_mode_fields(job *j, const json_value *request, failure *f)
{
	const json_value *info = json_object_get(request, "info");
	const json_value *prs = json_object_get(request, "proofRandomScalar");

	if (j->mode == OPRF_MODE_POPRF) {
		if (take_variable(info, "info", OPRF_MAX_INFO_SIZE, &j->info, &j->info_len, f) != 0)
			return -1;
	} else if (info != NULL) {
		return fail(f, "info", "only for mode 2");
	}
	if (prs == NULL)
		return 0;
	if (j->mode == OPRF_MODE_OPRF)
		return fail(f, "proofRandomScalar", "only for modes 1 and 2");
	j->has_proof_random_scalar = 1;
	return take_fixed(prs, "proofRandomScalar", j->proof_random_scalar, j->ns, f);
}

/* Decodes and checks every member of the request into j. */
static int
job_read(job *j, const json_value *request, failure *f)
{
	if (check_fields(request, f) != 0 || read_suite_and_mode(j, request, f) != 0 ||
	    read_key(j, request, f) != 0 || read_inputs(j, request, f) != 0 ||
	    read_blinds(j, request, f) != 0 || read_mode_fields(j, request, f) != 0)
		return -1;
	if ((j->results = calloc(1, results_size(j))) == NULL)
		return fail(f, NULL, "out of memory");
	j->blinded = j->results;
	j->evaluated = j->blinded + j->count * j->ne;
	j->outputs = j->evaluated + j->count * j->ne;
	return 0;
}

/* Runs the client and server sides of RFC 9497 over the job. */
static int
job_run(job *j, failure *f)
{
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;
	const int verifiable = j->mode != OPRF_MODE_OPRF;
	int rc = -1;
	veil_err err;

	if ((err = oprf_ctx_new(j->suite, j->mode, &ctx)) != VEIL_OK) {
		fail(f, "mode", veil_strerror(err));
		goto out;
	}
	if (j->has_sk)
		err = oprf_key_import(j->suite, j->sk, &key);
	else
		err = oprf_key_derive(ctx, j->seed, j->seed_len, j->key_info, j->key_info_len,
		                      &key);
	if (err != VEIL_OK) {
		fail(f, j->has_sk ? "skSm" : "seed", veil_strerror(err));
		goto out;
	}
	oprf_key_export_secret(key, j->sk);
	oprf_key_public(key, j->pk);

	for (size_t i = 0; i < j->count; i++) {
		uint8_t *blind = j->blinds + i * j->ns;
		err = oprf_blind(ctx, j->inputs[i], j->input_lens[i], j->has_blinds ? blind : NULL,
		                 blind, j->blinded + i * j->ne);
		if (err != VEIL_OK) {
			fail(f, err == VEIL_ERR_SCALAR ? "blind" : "input", veil_strerror(err));
			goto out;
		}
	}

	err = oprf_blind_evaluate(
	        ctx, key, j->info, j->info_len, j->count, j->blinded, j->evaluated,
	        verifiable && j->has_proof_random_scalar ? j->proof_random_scalar : NULL,
	        verifiable ? j->proof : NULL);
	if (err != VEIL_OK) {
		fail(f,
		     err == VEIL_ERR_SCALAR    ? "proofRandomScalar"
		     : err == VEIL_ERR_INVERSE ? "info"
		                               : "BlindEvaluate",
		     veil_strerror(err));
		goto out;
	}

	err = oprf_finalize(ctx, verifiable ? j->pk : NULL, j->info, j->info_len, j->count,
	                    j->inputs, j->input_lens, j->blinds, j->blinded, j->evaluated,
	                    verifiable ? j->proof : NULL, j->outputs);
	if (err != VEIL_OK) {
		fail(f, "Finalize", veil_strerror(err));
		goto out;
	}
	rc = 0;
out:
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return rc;
}

static void
append_hex(buf *b, const uint8_t *bytes, size_t n)
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
	sodium_memzero(chunk, sizeof(chunk)); /* the secret key passes through */
}

static void
append_hex_list(buf *b, const uint8_t *flat, size_t count, size_t size)
{
	buf_append_byte(b, '[');
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		append_hex(b, flat + i * size, size);
	}
	buf_append_byte(b, ']');
}

static void
append_id(buf *b, const json_value *id)
{
	buf_append_str(b, "{\"id\":");
	if (id == NULL)
		buf_append_str(b, "null");
	else
		json_write_value(b, id);
}

static void
append_success(buf *b, const json_value *id, const job *j)
{
	append_id(b, id);
	buf_append_str(b, ",\"ok\":true,\"skSm\":");
	append_hex(b, j->sk, j->ns);
	buf_append_str(b, ",\"pkSm\":");
	append_hex(b, j->pk, j->ne);
	buf_append_str(b, ",\"blindedElement\":");
	append_hex_list(b, j->blinded, j->count, j->ne);
	buf_append_str(b, ",\"evaluationElement\":");
	append_hex_list(b, j->evaluated, j->count, j->ne);
	if (j->mode != OPRF_MODE_OPRF) {
		buf_append_str(b, ",\"proof\":");
		append_hex(b, j->proof, 2 * j->ns);
	}
	buf_append_str(b, ",\"output\":");
	append_hex_list(b, j->outputs, j->count, j->nh);
	buf_append_str(b, "}\n");
}

/* Returns what writing the message returned: VEIL_ERR_ARGUMENT if not UTF-8. */
static veil_err
append_failure(buf *b, const json_value *id, const failure *f)
{
	char message[160];

	if (f->field != NULL)
		snprintf(message, sizeof(message), "%s: %s", f->field, f->reason);
	else
		snprintf(message, sizeof(message), "%s", f->reason);
	append_id(b, id);
	buf_append_str(b, ",\"ok\":false,\"error\":");
	veil_err err = json_write_string(b, message, strlen(message));
	buf_append_str(b, "}\n");
	return err;
}

/* Appends are sticky: one check at the end covers them all. */
static veil_err
finish(buf *out, size_t mark)
{
	veil_err err = buf_error(out);
	if (err != VEIL_OK)
		buf_truncate(out, mark);
	return err;
}

veil_err
oprf_transcript_refuse(buf *out, const char *message)
{
	size_t mark = buf_len(out);
	failure f = {NULL, message};

	if (message == NULL)
		return VEIL_ERR_ARGUMENT;
	if (append_failure(out, NULL, &f) == VEIL_ERR_ARGUMENT) {
		buf_truncate(out, mark);
		return VEIL_ERR_ARGUMENT;
	}
	return finish(out, mark);
}

veil_err
oprf_transcript_line(const char *line, size_t len, buf *out)
{
	json_value *request = NULL;
	const json_value *id = NULL;
	failure f = {NULL, NULL};
	size_t mark = buf_len(out);
	job j;
	veil_err err;

	memset(&j, 0, sizeof(j));
	if (line == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if (is_blank(line, len))
		return VEIL_OK;
	if (len > OPRF_TRANSCRIPT_MAX_LINE)
		return oprf_transcript_refuse(out, "line too long");
	if ((err = veil_crypto_init()) != VEIL_OK)
		return err;

	switch (json_parse(line, len, &request)) {
	case VEIL_OK:
		break;
	case VEIL_ERR_LIMIT:
		fail(&f, NULL, "JSON limit exceeded");
		goto answer;
	case VEIL_ERR_NOMEM:
		fail(&f, NULL, "out of memory");
		goto answer;
	default:
		fail(&f, NULL, "bad JSON");
		goto answer;
	}
	if (json_type_of(request) != JSON_OBJECT) {
		fail(&f, NULL, "request is not a JSON object");
		goto answer;
	}
	id = json_object_get(request, "id");
	if (job_read(&j, request, &f) == 0)
		job_run(&j, &f);
answer:
	if (f.reason != NULL)
		(void)append_failure(out, id, &f); /* reasons are fixed ASCII */
	else
		append_success(out, id, &j);
	err = finish(out, mark);
	job_free(&j);
	json_free(request);
	return err;
}
