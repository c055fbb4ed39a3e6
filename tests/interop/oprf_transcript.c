#include "oprf_transcript.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jsonl.h"
#include "oprf.h"

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

/* The size of j->results: blinded and evaluated elements, then outputs. */
static size_t
results_size(const job *j)
{
	return j->count * (2 * j->ne + j->nh);
}

static void
job_free(job *j)
{
	/* Wiped: the blinds, and the inputs and outputs (the client's private data). */
	jsonl_free_wiped(j->blinds, j->count * j->ns);
	jsonl_free_wiped(j->input_bytes, j->input_size);
	jsonl_free_wiped(j->results, results_size(j));
	free(j->key_info);
	free(j->inputs);
	free(j->input_lens);
	free(j->info);
	sodium_memzero(j, sizeof(*j));
}

static int
read_suite_and_mode(job *j, const json_value *request, jsonl_failure *f)
{
	const json_value *suite = json_object_get(request, "suite");
	const json_value *mode = json_object_get(request, "mode");
	size_t len;
	int64_t m;

	const char *name = json_string(suite, &len);
	if (suite == NULL)
		return jsonl_fail(f, "suite", "missing");
	if (name == NULL)
		return jsonl_fail(f, "suite", "not a string");
	if (strlen(name) != len || (j->suite = oprf_suite_by_name(name)) == NULL)
		return jsonl_fail(f, "suite", "unsupported suite");
	if (mode == NULL)
		return jsonl_fail(f, "mode", "missing");
	if (json_integer(mode, &m) != 0 ||
	    (m != OPRF_MODE_OPRF && m != OPRF_MODE_VOPRF && m != OPRF_MODE_POPRF))
		return jsonl_fail(f, "mode", "unsupported mode");
	j->mode = (oprf_mode)m;
	j->ns = oprf_suite_scalar_size(j->suite);
	j->ne = oprf_suite_element_size(j->suite);
	j->nh = oprf_suite_output_size(j->suite);
	return 0;
}

static int
read_key(job *j, const json_value *request, jsonl_failure *f)
{
	const json_value *sk = json_object_get(request, "skSm");
	const json_value *seed = json_object_get(request, "seed");
	const json_value *key_info = json_object_get(request, "keyInfo");

	if (sk != NULL && (seed != NULL || key_info != NULL))
		return jsonl_fail(f, NULL, "give either skSm or seed and keyInfo");
	if (sk != NULL) {
		j->has_sk = 1;
		return jsonl_take_fixed(sk, "skSm", j->sk, j->ns, f);
	}
	if (jsonl_take_between(seed, "seed", j->seed, OPRF_MIN_SEED_SIZE, j->ns, &j->seed_len, f) !=
	    0)
		return -1;
	return jsonl_take_variable(key_info, "keyInfo", OPRF_MAX_INFO_SIZE, &j->key_info,
	                           &j->key_info_len, f);
}

static int
read_inputs(job *j, const json_value *request, jsonl_failure *f)
{
	const json_value *input = json_object_get(request, "input");
	size_t total = 0;

	if (input == NULL)
		return jsonl_fail(f, "input", "missing");
	if (json_type_of(input) != JSON_ARRAY)
		return jsonl_fail(f, "input", "not an array");
	j->count = json_array_size(input);
	if (j->count == 0)
		return jsonl_fail(f, "input", "empty");
	if (j->count > OPRF_MAX_BATCH)
		return jsonl_fail(f, "input", "too many");

	/* First check every element and size one block for all of them. */
	for (size_t i = 0; i < j->count; i++) {
		size_t len;
		if (jsonl_hex_text(json_array_get(input, i), "input", OPRF_MAX_INPUT_SIZE, &len,
		                   f) == NULL)
			return -1;
		total += len / 2;
	}
	j->input_bytes = malloc(total + 1);
	j->input_size = total;
	j->inputs = calloc(j->count, sizeof(*j->inputs));
	j->input_lens = calloc(j->count, sizeof(*j->input_lens));
	if (j->input_bytes == NULL || j->inputs == NULL || j->input_lens == NULL)
		return jsonl_fail(f, NULL, "out of memory");
	uint8_t *next = j->input_bytes;
	for (size_t i = 0; i < j->count; i++) {
		size_t len;
		const char *s = json_string(json_array_get(input, i), &len);
		if (jsonl_hex_decode(s, len, next) != 0)
			return jsonl_fail(f, "input", "bad hex");
		j->inputs[i] = next;
		j->input_lens[i] = len / 2;
		next += len / 2;
	}
	return 0;
}

static int
read_blinds(job *j, const json_value *request, jsonl_failure *f)
{
	const json_value *blind = json_object_get(request, "blind");

	if ((j->blinds = calloc(j->count, j->ns)) == NULL)
		return jsonl_fail(f, NULL, "out of memory");
	if (blind == NULL)
		return 0;
	if (json_type_of(blind) != JSON_ARRAY)
		return jsonl_fail(f, "blind", "not an array");
	if (json_array_size(blind) != j->count)
		return jsonl_fail(f, "blind", "length differs from input");
	for (size_t i = 0; i < j->count; i++)
		if (jsonl_take_fixed(json_array_get(blind, i), "blind", j->blinds + i * j->ns,
		                     j->ns, f) != 0)
			return -1;
	j->has_blinds = 1;
	return 0;
}

static int
read_mode_fields(job *j, const json_value *request, jsonl_failure *f)
{
	const json_value *info = json_object_get(request, "info");
	const json_value *prs = json_object_get(request, "proofRandomScalar");

	if (j->mode == OPRF_MODE_POPRF) {
		if (jsonl_take_variable(info, "info", OPRF_MAX_INFO_SIZE, &j->info, &j->info_len,
		                        f) != 0)
			return -1;
	} else if (info != NULL) {
		return jsonl_fail(f, "info", "only for mode 2");
	}
	if (prs == NULL)
		return 0;
	if (j->mode == OPRF_MODE_OPRF)
		return jsonl_fail(f, "proofRandomScalar", "only for modes 1 and 2");
	j->has_proof_random_scalar = 1;
	return jsonl_take_fixed(prs, "proofRandomScalar", j->proof_random_scalar, j->ns, f);
}

/* Decodes and checks every member of the request into j. */
static int
job_read(job *j, const json_value *request, jsonl_failure *f)
{
	if (jsonl_check_fields(request, known_fields,
	                       sizeof(known_fields) / sizeof(known_fields[0]), f) != 0 ||
	    read_suite_and_mode(j, request, f) != 0 || read_key(j, request, f) != 0 ||
	    read_inputs(j, request, f) != 0 || read_blinds(j, request, f) != 0 ||
	    read_mode_fields(j, request, f) != 0)
		return -1;
	if ((j->results = calloc(1, results_size(j))) == NULL)
		return jsonl_fail(f, NULL, "out of memory");
	j->blinded = j->results;
	j->evaluated = j->blinded + j->count * j->ne;
	j->outputs = j->evaluated + j->count * j->ne;
	return 0;
}

/* Runs the client and server sides of RFC 9497 over the job. */
static int
job_run(job *j, jsonl_failure *f)
{
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;
	const int verifiable = j->mode != OPRF_MODE_OPRF;
	int rc = -1;
	veil_err err;

	if ((err = oprf_ctx_new(j->suite, j->mode, &ctx)) != VEIL_OK) {
		jsonl_fail(f, "mode", veil_strerror(err));
		goto out;
	}
	if (j->has_sk)
		err = oprf_key_import(j->suite, j->sk, &key);
	else
		err = oprf_key_derive(ctx, j->seed, j->seed_len, j->key_info, j->key_info_len,
		                      &key);
	if (err != VEIL_OK) {
		jsonl_fail(f, j->has_sk ? "skSm" : "seed", veil_strerror(err));
		goto out;
	}
	oprf_key_export_secret(key, j->sk);
	oprf_key_public(key, j->pk);

	for (size_t i = 0; i < j->count; i++) {
		uint8_t *blind = j->blinds + i * j->ns;
		err = oprf_blind(ctx, j->inputs[i], j->input_lens[i], j->has_blinds ? blind : NULL,
		                 blind, j->blinded + i * j->ne);
		if (err != VEIL_OK) {
			jsonl_fail(f, err == VEIL_ERR_SCALAR ? "blind" : "input",
			           veil_strerror(err));
			goto out;
		}
	}

	err = oprf_blind_evaluate(
	        ctx, key, j->info, j->info_len, j->count, j->blinded, j->evaluated,
	        verifiable && j->has_proof_random_scalar ? j->proof_random_scalar : NULL,
	        verifiable ? j->proof : NULL);
	if (err != VEIL_OK) {
		jsonl_fail(f,
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
		jsonl_fail(f, "Finalize", veil_strerror(err));
		goto out;
	}
	rc = 0;
out:
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return rc;
}

static void
append_success(buf *b, const json_value *id, const job *j)
{
	jsonl_append_id(b, id);
	buf_append_str(b, ",\"ok\":true,\"skSm\":");
	jsonl_append_hex(b, j->sk, j->ns);
	buf_append_str(b, ",\"pkSm\":");
	jsonl_append_hex(b, j->pk, j->ne);
	buf_append_str(b, ",\"blindedElement\":");
	jsonl_append_hex_list(b, j->blinded, j->count, j->ne);
	buf_append_str(b, ",\"evaluationElement\":");
	jsonl_append_hex_list(b, j->evaluated, j->count, j->ne);
	if (j->mode != OPRF_MODE_OPRF) {
		buf_append_str(b, ",\"proof\":");
		jsonl_append_hex(b, j->proof, 2 * j->ns);
	}
	buf_append_str(b, ",\"output\":");
	jsonl_append_hex_list(b, j->outputs, j->count, j->nh);
	buf_append_str(b, "}\n");
}

veil_err
oprf_transcript_refuse(buf *out, const char *message)
{
	return jsonl_refuse(out, message);
}

veil_err
oprf_transcript_line(const char *line, size_t len, buf *out)
{
	json_value *request = NULL;
	jsonl_failure f = {NULL, NULL};
	size_t mark = buf_len(out);
	job j;
	veil_err err;

	memset(&j, 0, sizeof(j));
	if (line == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if ((err = veil_crypto_init()) != VEIL_OK)
		return err;
	const int parsed = jsonl_parse_request(line, len, &request, &f);
	if (parsed == 1)
		return VEIL_OK; /* a blank line */
	const json_value *id = json_object_get(request, "id");
	if (parsed == 0 && job_read(&j, request, &f) == 0)
		job_run(&j, &f);
	if (f.reason != NULL)
		(void)jsonl_append_failure(out, id, &f); /* reasons are fixed ASCII */
	else
		append_success(out, id, &j);
	err = jsonl_finish(out, mark);
	job_free(&j);
	json_free(request);
	return err;
}
