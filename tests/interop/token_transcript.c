#include "token_transcript.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jsonl.h"
#include "oprf.h"
#include "token.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A request's values, decoded; everything is wiped by job_free(). */
typedef struct job {
	oprf_key *key;
	uint8_t pk[TOKEN_ELEMENT_SIZE];
	uint8_t nonce[TOKEN_NONCE_SIZE];
	uint8_t blind[TOKEN_SCALAR_SIZE];
	uint8_t *challenge;
	size_t challenge_len;
	uint8_t *bytes; /* the request, response or token */
	size_t bytes_len;
} job;

static void
job_free(job *j)
{
	oprf_key_free(j->key);
	jsonl_free_wiped(j->challenge, j->challenge_len);
	jsonl_free_wiped(j->bytes, j->bytes_len);
	sodium_memzero(j, sizeof(*j));
}

/* The fixed reason for a library error on a field's value. */
static const char *
reason_of(veil_err err)
{
	switch (err) {
	case VEIL_ERR_UNSUPPORTED:
		return "unsupported token type";
	case VEIL_ERR_PARSE:
		return "malformed (wrong length, truncated or trailing bytes)";
	case VEIL_ERR_NOT_FOUND:
		return "truncated_token_key_id is not that of skI";
	default:
		return veil_strerror(err);
	}
}

static int
read_key(job *j, const json_value *request, jsonl_failure *f)
{
	uint8_t sk[TOKEN_SCALAR_SIZE];
	int rc = jsonl_take_fixed(json_object_get(request, "skI"), "skI", sk, sizeof(sk), f);
	if (rc == 0) {
		const veil_err err = oprf_key_import(token_suite(), sk, &j->key);
		if (err != VEIL_OK)
			rc = jsonl_fail(f, "skI", reason_of(err));
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* The hex member name, of any length a line can hold, into j->bytes. */
static int
read_bytes(job *j, const json_value *request, const char *name, jsonl_failure *f)
{
	return jsonl_take_variable(json_object_get(request, name), name, JSONL_MAX_LINE / 2,
	                           &j->bytes, &j->bytes_len, f);
}

/* pkI, challenge, nonce and blind: what the client's two steps share. */
static int
read_client(job *j, const json_value *request, jsonl_failure *f)
{
	if (jsonl_take_fixed(json_object_get(request, "pkI"), "pkI", j->pk, sizeof(j->pk), f) !=
	            0 ||
	    jsonl_take_variable(json_object_get(request, "challenge"), "challenge",
	                        TOKEN_CHALLENGE_MAX_SIZE, &j->challenge, &j->challenge_len,
	                        f) != 0 ||
	    jsonl_take_fixed(json_object_get(request, "nonce"), "nonce", j->nonce, sizeof(j->nonce),
	                     f) != 0)
		return -1;
	return jsonl_take_fixed(json_object_get(request, "blind"), "blind", j->blind,
	                        sizeof(j->blind), f);
}

/* The field a client step's error is about. */
static int
client_failure(veil_err err, jsonl_failure *f)
{
	switch (err) {
	case VEIL_ERR_UNSUPPORTED:
	case VEIL_ERR_PARSE:
		return jsonl_fail(f, "challenge", reason_of(err));
	case VEIL_ERR_SCALAR:
		return jsonl_fail(f, "blind", reason_of(err));
	case VEIL_ERR_VERIFY:
		return jsonl_fail(f, "response", reason_of(err));
	case VEIL_ERR_ELEMENT:
		return jsonl_fail(f, NULL, "pkI or response: invalid group element");
	default:
		return jsonl_fail(f, NULL, reason_of(err));
	}
}

/* Appends the member ,"name": with the n bytes at bytes as a hex string. */
static void
append_member(buf *b, const char *name, const uint8_t *bytes, size_t n)
{
	buf_append_str(b, ",\"");
	buf_append_str(b, name);
	buf_append_str(b, "\":");
	jsonl_append_hex(b, bytes, n);
}

static int
run_key(job *j, buf *b, jsonl_failure *f)
{
	uint8_t key_id[TOKEN_KEY_ID_SIZE];
	const veil_err err = token_issuer_public(j->key, j->pk, key_id);
	if (err != VEIL_OK)
		return jsonl_fail(f, "skI", reason_of(err));
	append_member(b, "pkI", j->pk, sizeof(j->pk));
	append_member(b, "token_key_id", key_id, sizeof(key_id));
	return 0;
}

static int
run_issue(job *j, buf *b, jsonl_failure *f)
{
	token_request decoded;
	token_response response;
	uint8_t encoded[TOKEN_RESPONSE_SIZE];
	veil_err err;

	if ((err = token_request_decode(j->bytes, j->bytes_len, &decoded)) != VEIL_OK ||
	    (err = token_issue(j->key, 1, &decoded, &response)) != VEIL_OK)
		return jsonl_fail(f, "request", reason_of(err));
	token_response_encode(&response, encoded);
	append_member(b, "response", encoded, sizeof(encoded));
	return 0;
}

static int
run_request(job *j, buf *b, jsonl_failure *f)
{
	token_request made;
	uint8_t encoded[TOKEN_REQUEST_SIZE];
	const veil_err err = token_client_request(j->pk, j->challenge, j->challenge_len, j->nonce,
	                                          j->blind, j->nonce, j->blind, &made);
	if (err != VEIL_OK)
		return client_failure(err, f);
	token_request_encode(&made, encoded);
	append_member(b, "request", encoded, sizeof(encoded));
	return 0;
}

static int
run_finalize(job *j, buf *b, jsonl_failure *f)
{
	token_response response;
	token t;
	uint8_t encoded[TOKEN_SIZE];
	veil_err err;

	if ((err = token_response_decode(j->bytes, j->bytes_len, &response)) != VEIL_OK)
		return jsonl_fail(f, "response", reason_of(err));
	err = token_client_finalize(j->pk, j->challenge, j->challenge_len, j->nonce, j->blind,
	                            &response, &t);
	if (err != VEIL_OK)
		return client_failure(err, f);
	token_encode(&t, encoded);
	append_member(b, "token", encoded, sizeof(encoded));
	return 0;
}

static int
run_verify(job *j, buf *b, jsonl_failure *f)
{
	token t;
	int valid = 0;
	veil_err err;

	if ((err = token_decode(j->bytes, j->bytes_len, &t)) != VEIL_OK)
		return jsonl_fail(f, "token", reason_of(err));
	if ((err = token_verify(j->key, &t, &valid)) != VEIL_OK)
		return jsonl_fail(f, "token", reason_of(err));
	buf_append_str(b, valid ? ",\"valid\":true" : ",\"valid\":false");
	return 0;
}

/* What an operation reads first: the issuer's key, or what the client's steps share. */
typedef enum inputs { KEY, CLIENT } inputs;

/*
 * An operation: its name, the members it takes, what it reads before it
 * runs (its inputs, then the hex member bytes into j->bytes unless NULL),
 * and its run, which appends the members of a success to b.
 */
typedef struct operation {
	const char *name;
	const char *fields[7];
	inputs inputs;
	const char *bytes;
	int (*run)(job *j, buf *b, jsonl_failure *f);
} operation;

static const operation operations[] = {
        {"key", {"id", "op", "skI"}, KEY, NULL, run_key},
        {"issue", {"id", "op", "skI", "request"}, KEY, "request", run_issue},
        {"request", {"id", "op", "pkI", "challenge", "nonce", "blind"}, CLIENT, NULL, run_request},
        {"finalize",
         {"id", "op", "pkI", "challenge", "nonce", "blind", "response"},
         CLIENT,
         "response",
         run_finalize},
        {"verify", {"id", "op", "skI", "token"}, KEY, "token", run_verify},
};

static const operation *
find_operation(const json_value *request, jsonl_failure *f)
{
	const json_value *op = json_object_get(request, "op");
	size_t len;
	const char *name = json_string(op, &len);

	if (op == NULL) {
		jsonl_fail(f, "op", "missing");
		return NULL;
	}
	if (name == NULL) {
		jsonl_fail(f, "op", "not a string");
		return NULL;
	}
	for (size_t i = 0; i < COUNT(operations); i++)
		if (strlen(operations[i].name) == len && memcmp(operations[i].name, name, len) == 0)
			return &operations[i];
	jsonl_fail(f, "op", "unknown operation");
	return NULL;
}

/* Serves the request; the members of a success go to result. */
static int
serve(const json_value *request, buf *result, jsonl_failure *f)
{
	const operation *op = find_operation(request, f);
	job j;
	size_t count = 0;

	if (op == NULL)
		return -1;
	while (count < COUNT(op->fields) && op->fields[count] != NULL)
		count++;
	if (jsonl_check_fields(request, op->fields, count, f) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	int rc = op->inputs == KEY ? read_key(&j, request, f) : read_client(&j, request, f);
	if (rc == 0 && op->bytes != NULL)
		rc = read_bytes(&j, request, op->bytes, f);
	if (rc == 0)
		rc = op->run(&j, result, f);
	job_free(&j);
	if (rc == 0 && buf_error(result) != VEIL_OK)
		return jsonl_fail(f, NULL, "out of memory");
	return rc;
}

veil_err
token_transcript_line(const char *line, size_t len, buf *out)
{
	json_value *request = NULL;
	jsonl_failure f = {NULL, NULL};
	const size_t mark = buf_len(out);
	buf result;
	veil_err err;

	if (line == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if ((err = veil_crypto_init()) != VEIL_OK)
		return err;
	const int parsed = jsonl_parse_request(line, len, &request, &f);
	if (parsed == 1)
		return VEIL_OK; /* a blank line */
	const json_value *id = json_object_get(request, "id");
	buf_init(&result);
	if (parsed == 0)
		serve(request, &result, &f);
	if (f.reason != NULL) {
		(void)jsonl_append_failure(out, id, &f); /* reasons are fixed ASCII */
	} else {
		jsonl_append_id(out, id);
		buf_append_str(out, ",\"ok\":true");
		buf_append(out, buf_data(&result), buf_len(&result));
		buf_append_str(out, "}\n");
	}
	err = jsonl_finish(out, mark);
	buf_free(&result); /* wipes: a blind may have passed through */
	json_free(request);
	return err;
}
