/*
 * Runs the real veil-token executable (argv[1]) over the RFC 9578 type
 * 0x0001 vectors (argv[2]) and over broken requests, and checks every
 * answer: the vectors byte for byte, an issuer's own responses, altered
 * tokens and responses, and that a bad line is answered with an error
 * while the lines after it are still served, in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "json.h"
#include "proc.h"
#include "vectors.h"

#define MAX_VECTORS 16
#define MAX_ANSWERS 128

/* The hex members of one vector, as the file spells them. */
typedef struct vector {
	const char *sk, *pk, *challenge, *nonce, *blind, *request, *response, *token;
} vector;

static const char *tool_path;
static json_value *file;
static vector vectors[MAX_VECTORS];
static size_t vector_count;

/* The P-384 group order, big-endian: the least scalar out of range. */
#define P384_ORDER                                                                                 \
	"ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196a" \
	"ccc52973"

static const char *
member(const json_value *v, const char *key)
{
	const char *s = vectors_string(v, key);
	if (s == NULL)
		abort(); /* a broken vector file */
	return s;
}

static void
setup(void)
{
	tool_path = test_argv[0];
	file = vectors_load(test_argv[1]);
	vector_count = json_array_size(file);
	if (vector_count == 0 || vector_count > MAX_VECTORS)
		abort();
	for (size_t i = 0; i < vector_count; i++) {
		const json_value *v = json_array_get(file, i);
		vectors[i] = (vector){member(v, "skS"),
		                      member(v, "pkS"),
		                      member(v, "token_challenge"),
		                      member(v, "nonce"),
		                      member(v, "blind"),
		                      member(v, "token_request"),
		                      member(v, "token_response"),
		                      member(v, "token")};
	}
}

static int
teardown(void)
{
	json_free(file);
	return 0;
}

/* The answers of one run, one parsed value per line (NULL if it did not parse). */
typedef struct answers {
	json_value *items[MAX_ANSWERS];
	size_t count;
	int status;
	int whole_lines; /* the output ended in a newline (or was empty) */
} answers;

/* Runs the tool with the text of lines on its stdin and parses its answers. */
static void
serve(const buf *lines, answers *a)
{
	const char *input_path = test_case_path("input");
	proc_write_file(input_path, buf_data(lines), buf_len(lines));
	proc_result r = proc_call_args(tool_path, (const char *const[]){NULL}, input_path);
	const char *p = r.out, *end = p + strlen(r.out);

	memset(a, 0, sizeof(*a));
	a->status = r.status;
	a->whole_lines = p == end || end[-1] == '\n';
	while (p < end && a->count < MAX_ANSWERS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		if (json_parse(p, (size_t)(stop - p), &a->items[a->count]) != VEIL_OK)
			a->items[a->count] = NULL;
		a->count++;
		p = stop + 1;
	}
	proc_result_free(&r);
}

static void
answers_free(answers *a)
{
	for (size_t i = 0; i < a->count; i++)
		json_free(a->items[i]);
}

static int
answer_ok(const json_value *answer)
{
	return json_type_of(json_object_get(answer, "ok")) == JSON_TRUE;
}

/* A refusal: ok false with an error message, and nothing else. */
static int
answer_refused(const json_value *answer)
{
	return json_type_of(json_object_get(answer, "ok")) == JSON_FALSE &&
	       json_string(json_object_get(answer, "error"), NULL) != NULL &&
	       json_object_size(answer) == 3;
}

static const char *
answer_string(const json_value *answer, const char *key)
{
	const char *s = json_string(json_object_get(answer, key), NULL);
	return s != NULL ? s : "";
}

static const char *
answer_error(const json_value *answer)
{
	return answer_string(answer, "error");
}

/* The answer's id as written (integers only), or -1. */
static int64_t
answer_id(const json_value *answer)
{
	int64_t id;
	return json_integer(json_object_get(answer, "id"), &id) == 0 ? id : -1;
}

/* ---- request lines ---- */

static void
line_key(buf *b, int id, const char *sk)
{
	buf_printf(b, "{\"id\":%d,\"op\":\"key\",\"skI\":\"%s\"}\n", id, sk);
}

static void
line_issue(buf *b, int id, const char *sk, const char *request)
{
	buf_printf(b, "{\"id\":%d,\"op\":\"issue\",\"skI\":\"%s\",\"request\":\"%s\"}\n", id, sk,
	           request);
}

static void
line_request(buf *b, int id, const vector *v)
{
	buf_printf(b,
	           "{\"id\":%d,\"op\":\"request\",\"pkI\":\"%s\",\"challenge\":\"%s\","
	           "\"nonce\":\"%s\",\"blind\":\"%s\"}\n",
	           id, v->pk, v->challenge, v->nonce, v->blind);
}

static void
line_finalize(buf *b, int id, const vector *v, const char *response)
{
	buf_printf(b,
	           "{\"id\":%d,\"op\":\"finalize\",\"pkI\":\"%s\",\"challenge\":\"%s\","
	           "\"nonce\":\"%s\",\"blind\":\"%s\",\"response\":\"%s\"}\n",
	           id, v->pk, v->challenge, v->nonce, v->blind, response);
}

static void
line_verify(buf *b, int id, const char *sk, const char *token)
{
	buf_printf(b, "{\"id\":%d,\"op\":\"verify\",\"skI\":\"%s\",\"token\":\"%s\"}\n", id, sk,
	           token);
}

/* Whether the verify answer says valid is want. */
static int
says_valid(const json_value *answer, int want)
{
	const json_type t = json_type_of(json_object_get(answer, "valid"));
	return answer_ok(answer) && t == (want ? JSON_TRUE : JSON_FALSE);
}

/* ---- the vectors ---- */

/* Every vector: key, request, finalize from the given response, verify,
 * in one run, five answers per vector in order. */
static void
case_vectors(void)
{
	buf lines;
	answers a;

	REQUIRE(vector_count == 5);
	buf_init(&lines);
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		const int id = (int)(10 * i);
		line_key(&lines, id, v->sk);
		line_request(&lines, id + 1, v);
		line_finalize(&lines, id + 2, v, v->response);
		line_verify(&lines, id + 3, v->sk, v->token);
		line_issue(&lines, id + 4, v->sk, v->request);
	}
	serve(&lines, &a);
	CHECK(a.status == 0 && a.whole_lines);
	REQUIRE(a.count == 5 * vector_count);
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		json_value *const *got = &a.items[5 * i];
		for (size_t k = 0; k < 5; k++)
			CHECK(answer_id(got[k]) == (int64_t)(10 * i + k));
		CHECK(answer_ok(got[0]) && strcmp(answer_string(got[0], "pkI"), v->pk) == 0);
		/* token_key_id sits in the token after its type, nonce and digest. */
		CHECK(strncmp(answer_string(got[0], "token_key_id"), v->token + 2 * (2 + 32 + 32),
		              64) == 0);
		CHECK(strlen(answer_string(got[0], "token_key_id")) == 64);
		CHECK(answer_ok(got[1]) &&
		      strcmp(answer_string(got[1], "request"), v->request) == 0);
		CHECK(answer_ok(got[2]) && strcmp(answer_string(got[2], "token"), v->token) == 0);
		CHECK(says_valid(got[3], 1));
		/* The issuer's own response: the vector's evaluation, another proof. */
		const char *response = answer_string(got[4], "response");
		CHECK(answer_ok(got[4]) && strlen(response) == strlen(v->response));
		CHECK(strncmp(response, v->response, 2 * 49) == 0);
		CHECK(strcmp(response, v->response) != 0);
	}
	answers_free(&a);
	buf_free(&lines);
}

/* The tool's own responses, in a second run, finalize to the vector tokens. */
static void
case_own_responses_finalize_to_the_vector_tokens(void)
{
	buf lines;
	answers a;
	char *responses[MAX_VECTORS];

	buf_init(&lines);
	for (size_t i = 0; i < vector_count; i++)
		line_issue(&lines, (int)i, vectors[i].sk, vectors[i].request);
	serve(&lines, &a);
	REQUIRE(a.count == vector_count);
	for (size_t i = 0; i < vector_count; i++)
		responses[i] = strdup(answer_string(a.items[i], "response"));
	answers_free(&a);

	buf_reset(&lines);
	for (size_t i = 0; i < vector_count; i++)
		line_finalize(&lines, (int)i, &vectors[i], responses[i]);
	serve(&lines, &a);
	REQUIRE(a.count == vector_count);
	for (size_t i = 0; i < vector_count; i++) {
		CHECK(answer_ok(a.items[i]));
		CHECK(strcmp(answer_string(a.items[i], "token"), vectors[i].token) == 0);
		free(responses[i]);
	}
	answers_free(&a);
	buf_free(&lines);
}

/* Altered tokens are judged invalid; a response under another key, or
 * with an altered proof, does not finalize. */
static void
case_altered_tokens_and_responses(void)
{
	const vector *v = &vectors[0];
	const size_t token_len = strlen(v->token), response_len = strlen(v->response);
	char *token = strdup(v->token), *response = strdup(v->response);
	buf lines;
	answers a;

	buf_init(&lines);
	/* One changed digit in the nonce, the digest, the key id, the authenticator. */
	const size_t at[] = {4, 2 * 34 + 1, 2 * 66 + 5, token_len - 1};
	for (size_t k = 0; k < TEST_COUNT(at); k++) {
		token[at[k]] = token[at[k]] == '0' ? '1' : '0';
		line_verify(&lines, (int)k, v->sk, token);
		token[at[k]] = v->token[at[k]];
	}
	line_verify(&lines, 10, vectors[1].sk, v->token); /* another issuer's key */
	/* The vector's response under pkS, finalized as if from vector 1's issuer. */
	vector other = *v;
	other.pk = vectors[1].pk;
	line_finalize(&lines, 11, &other, v->response);
	response[response_len - 1] = response[response_len - 1] == '0' ? '1' : '0';
	line_finalize(&lines, 12, v, response);
	serve(&lines, &a);
	REQUIRE(a.count == TEST_COUNT(at) + 3);
	for (size_t k = 0; k < TEST_COUNT(at); k++)
		CHECK(says_valid(a.items[k], 0));
	CHECK(says_valid(a.items[4], 0));
	CHECK(answer_refused(a.items[5]));
	CHECK(strstr(answer_error(a.items[5]), "proof verification failed") != NULL);
	CHECK(answer_refused(a.items[6]));
	CHECK(strstr(answer_error(a.items[6]), "proof verification failed") != NULL);
	answers_free(&a);
	buf_free(&lines);
	free(token);
	free(response);
}

/* ---- bad lines ---- */

/* A line the tool must refuse, and a text its error must hold. */
typedef struct bad_line {
	const char *name;
	const char *line; /* without its newline; {V...} stand for vector 0's values */
	const char *error_holds;
} bad_line;

#define SK    "{SK}"
#define PK    "{PK}"
#define CH    "{CH}"
#define NONCE "{NONCE}"
#define BLIND "{BLIND}"
#define REQ   "{REQ}"
#define RESP  "{RESP}"
#define TOKEN "{TOKEN}"
#define CLIENT                                                                                     \
	"\"pkI\":\"" PK "\",\"challenge\":\"" CH "\",\"nonce\":\"" NONCE "\",\"blind\":\"" BLIND   \
	"\""

static const bad_line bad_lines[] = {
        {"not JSON", "{\"id\":1,", "bad JSON"},
        {"not an object", "[1,2]", "not a JSON object"},
        {"a string", "\"key\"", "not a JSON object"},
        {"no op", "{\"id\":1,\"skI\":\"" SK "\"}", "op: missing"},
        {"op not a string", "{\"id\":1,\"op\":1,\"skI\":\"" SK "\"}", "op: not a string"},
        {"unknown op", "{\"id\":1,\"op\":\"mint\",\"skI\":\"" SK "\"}", "op: unknown operation"},
        {"op in the wrong case", "{\"id\":1,\"op\":\"KEY\",\"skI\":\"" SK "\"}",
         "op: unknown operation"},
        {"unknown field", "{\"id\":1,\"op\":\"key\",\"skI\":\"" SK "\",\"skS\":\"00\"}",
         "unknown field"},
        {"field of another op", "{\"op\":\"key\",\"skI\":\"" SK "\",\"token\":\"" TOKEN "\"}",
         "unknown field"},
        {"key: no skI", "{\"id\":1,\"op\":\"key\"}", "skI: missing"},
        {"key: skI not a string", "{\"op\":\"key\",\"skI\":12}", "skI: not a string"},
        {"key: skI odd hex", "{\"op\":\"key\",\"skI\":\"abc\"}", "skI: bad hex"},
        {"key: skI short", "{\"op\":\"key\",\"skI\":\"00ff\"}", "skI: wrong length"},
        {"key: skI zero",
         "{\"op\":\"key\",\"skI\":"
         "\"0000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000\"}",
         "skI: scalar out of range"},
        {"key: skI the order", "{\"op\":\"key\",\"skI\":\"" P384_ORDER "\"}",
         "skI: scalar out of range"},
        {"key: skI with a non-hex digit",
         "{\"op\":\"key\",\"skI\":\"zz0000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000001\"}",
         "skI: bad hex"},
        {"issue: no request", "{\"op\":\"issue\",\"skI\":\"" SK "\"}", "request: missing"},
        {"issue: no skI", "{\"op\":\"issue\",\"request\":\"" REQ "\"}", "skI: missing"},
        {"issue: request of type 2", "{\"op\":\"issue\",\"skI\":\"" SK "\",\"request\":\"0002f4\"}",
         "request: unsupported token type"},
        {"issue: request truncated", "{\"op\":\"issue\",\"skI\":\"" SK "\",\"request\":\"0001f4\"}",
         "request: malformed"},
        {"issue: request with a trailing byte",
         "{\"op\":\"issue\",\"skI\":\"" SK "\",\"request\":\"" REQ "00\"}", "request: malformed"},
        {"issue: request for another key",
         "{\"op\":\"issue\",\"skI\":\"{SK1}\",\"request\":\"" REQ "\"}",
         "request: truncated_token_key_id"},
        {"request: no blind",
         "{\"op\":\"request\",\"pkI\":\"" PK "\",\"challenge\":\"" CH "\",\"nonce\":\"" NONCE "\"}",
         "blind: missing"},
        {"request: no pkI",
         "{\"op\":\"request\",\"challenge\":\"" CH "\",\"nonce\":\"" NONCE "\",\"blind\":\"" BLIND
         "\"}",
         "pkI: missing"},
        {"request: nonce short",
         "{\"op\":\"request\",\"pkI\":\"" PK "\",\"challenge\":\"" CH "\",\"nonce\":\"00\","
         "\"blind\":\"" BLIND "\"}",
         "nonce: wrong length"},
        {"request: blind zero",
         "{\"op\":\"request\",\"pkI\":\"" PK "\",\"challenge\":\"" CH "\",\"nonce\":\"" NONCE
         "\",\"blind\":\"000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000\"}",
         "blind: scalar out of range"},
        {"request: challenge of type 2",
         "{\"op\":\"request\",\"pkI\":\"" PK
         "\",\"challenge\":\"0002000161000000\",\"nonce\":\"" NONCE "\",\"blind\":\"" BLIND "\"}",
         "challenge: unsupported token type"},
        {"request: redemption context of 5 bytes",
         "{\"op\":\"request\",\"pkI\":\"" PK "\",\"challenge\":\"00010001610500000000000000\","
         "\"nonce\":\"" NONCE "\",\"blind\":\"" BLIND "\"}",
         "challenge: malformed"},
        {"request: empty challenge",
         "{\"op\":\"request\",\"pkI\":\"" PK "\",\"challenge\":\"\",\"nonce\":\"" NONCE
         "\",\"blind\":\"" BLIND "\"}",
         "challenge: malformed"},
        {"finalize: no response", "{\"op\":\"finalize\"," CLIENT "}", "response: missing"},
        {"finalize: response short", "{\"op\":\"finalize\"," CLIENT ",\"response\":\"00\"}",
         "response: malformed"},
        {"finalize: pkI not a point",
         "{\"op\":\"finalize\",\"pkI\":\"00{PK_TAIL}\",\"challenge\":\"" CH "\",\"nonce\":\"" NONCE
         "\",\"blind\":\"" BLIND "\",\"response\":\"" RESP "\"}",
         "invalid group element"},
        {"verify: no token", "{\"op\":\"verify\",\"skI\":\"" SK "\"}", "token: missing"},
        {"verify: token of type 2",
         "{\"op\":\"verify\",\"skI\":\"" SK "\",\"token\":\"0002{TOKEN_TAIL}\"}",
         "token: unsupported token type"},
        {"verify: token with a trailing byte",
         "{\"op\":\"verify\",\"skI\":\"" SK "\",\"token\":\"" TOKEN "00\"}", "token: malformed"},
        {"verify: empty token", "{\"op\":\"verify\",\"skI\":\"" SK "\",\"token\":\"\"}",
         "token: malformed"},
};

/* Appends text with {...} placeholders replaced by vector 0's values. */
static void
expand(buf *b, const char *text)
{
	const vector *v = &vectors[0];
	const struct {
		const char *name, *value;
	} names[] = {
	        {"{SK}", v->sk},          {"{SK1}", vectors[1].sk},       {"{PK}", v->pk},
	        {"{PK_TAIL}", v->pk + 2}, {"{CH}", v->challenge},         {"{NONCE}", v->nonce},
	        {"{BLIND}", v->blind},    {"{REQ}", v->request},          {"{RESP}", v->response},
	        {"{TOKEN}", v->token},    {"{TOKEN_TAIL}", v->token + 4},
	};
	while (*text != '\0') {
		size_t k;
		for (k = 0; k < TEST_COUNT(names); k++)
			if (strncmp(text, names[k].name, strlen(names[k].name)) == 0)
				break;
		if (k < TEST_COUNT(names)) {
			buf_append_str(b, names[k].value);
			text += strlen(names[k].name);
		} else {
			buf_append_byte(b, *text++);
		}
	}
}

/* Every bad line, each followed by a good one: refused, then served. */
static void
case_bad_lines_are_refused_and_later_lines_served(void)
{
	buf lines;
	answers a;
	const size_t n = TEST_COUNT(bad_lines);

	REQUIRE(2 * n <= MAX_ANSWERS);
	buf_init(&lines);
	for (size_t i = 0; i < n; i++) {
		expand(&lines, bad_lines[i].line);
		buf_append_byte(&lines, '\n');
		line_key(&lines, (int)(1000 + i), vectors[0].sk);
	}
	REQUIRE(buf_error(&lines) == VEIL_OK);
	serve(&lines, &a);
	CHECK(a.status == 0 && a.whole_lines);
	REQUIRE(a.count == 2 * n);
	for (size_t i = 0; i < n; i++) {
		const json_value *refused = a.items[2 * i], *served = a.items[2 * i + 1];
		CHECK_ROW(answer_refused(refused), bad_lines[i].name);
		CHECK_ROW(strstr(answer_error(refused), bad_lines[i].error_holds) != NULL,
		          bad_lines[i].name);
		CHECK_ROW(answer_ok(served) && answer_id(served) == (int64_t)(1000 + i),
		          bad_lines[i].name);
	}
	answers_free(&a);
	buf_free(&lines);
}

/* The id comes back as it was sent, whatever its JSON type; blank lines
 * get no answer; CRLF ends a line too. */
static void
case_ids_blank_lines_and_crlf(void)
{
	buf lines;
	answers a;

	buf_init(&lines);
	buf_append_str(&lines, "\n  \t\r\n");
	buf_printf(&lines, "{\"id\":\"a b\",\"op\":\"key\",\"skI\":\"%s\"}\r\n", vectors[0].sk);
	buf_printf(&lines, "{\"op\":\"key\",\"skI\":\"%s\"}\n\n", vectors[0].sk);
	buf_printf(&lines, "{\"id\":{\"n\":[1,2.50]},\"op\":\"nope\"}\n");
	buf_printf(&lines, "{\"id\":7,\"op\":\"key\",\"skI\":\"%s\"}", vectors[0].sk);
	serve(&lines, &a);
	CHECK(a.status == 0 && a.whole_lines);
	REQUIRE(a.count == 4);
	CHECK(answer_ok(a.items[0]) && strcmp(answer_string(a.items[0], "id"), "a b") == 0);
	CHECK(answer_ok(a.items[1]) &&
	      json_type_of(json_object_get(a.items[1], "id")) == JSON_NULL);
	CHECK(answer_refused(a.items[2]));
	const json_value *id = json_object_get(a.items[2], "id");
	CHECK(json_type_of(json_array_get(json_object_get(id, "n"), 1)) == JSON_NUMBER);
	size_t len;
	const char *text = json_number_text(json_array_get(json_object_get(id, "n"), 1), &len);
	CHECK(text != NULL && len == 4 && memcmp(text, "2.50", 4) == 0);
	CHECK(answer_ok(a.items[3]) && answer_id(a.items[3]) == 7);
	answers_free(&a);
	buf_free(&lines);
}

/* No answer carries the secret inputs back, ok or not. */
static void
case_answers_do_not_echo_secrets(void)
{
	const vector *v = &vectors[0];
	buf lines;

	buf_init(&lines);
	line_key(&lines, 1, v->sk);
	line_request(&lines, 2, v);
	line_verify(&lines, 3, v->sk, v->token);
	buf_printf(&lines, "{\"id\":4,\"op\":\"key\",\"skI\":\"%s\",\"blind\":\"%s\"}\n", v->sk,
	           v->blind);
	const char *input_path = test_case_path("input");
	proc_write_file(input_path, buf_data(&lines), buf_len(&lines));
	proc_result r = proc_call_args(tool_path, (const char *const[]){NULL}, input_path);
	CHECK(r.status == 0);
	CHECK(test_count_char(r.out, '\n') == 4);
	CHECK(strstr(r.out, v->sk) == NULL);
	CHECK(strstr(r.out, v->blind) == NULL);
	CHECK(r.err[0] == '\0');
	proc_result_free(&r);
	buf_free(&lines);
}

static const test_case cases[] = {
        {"vectors: key, request, finalize, verify, issue", case_vectors},
        {"its own responses finalize to the vector tokens",
         case_own_responses_finalize_to_the_vector_tokens},
        {"altered tokens and responses", case_altered_tokens_and_responses},
        {"bad lines are refused and later lines served",
         case_bad_lines_are_refused_and_later_lines_served},
        {"ids, blank lines and CRLF", case_ids_blank_lines_and_crlf},
        {"answers do not echo secrets", case_answers_do_not_echo_secrets},
};

TEST_MAIN_WITH(cases, .usage = "VEIL-TOKEN rfc9578_type1_vectors.json", .arguments = 2,
               .setup = setup, .teardown = teardown)
