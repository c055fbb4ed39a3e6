/*
 * Runs the real veil-oprf executable (argv[1]) over the RFC 9497 vectors
 * (argv[2]: ristretto255-SHA512 as in the RFC's appendix; argv[3]: every
 * suite, in the CFRG proof-of-concept's form, for the NIST suites) and
 * over broken requests, and checks every answer.
 */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"
#include "json.h"
#include "oprf_transcript.h"
#include "proc.h"
#include "vectors.h"

#define SUITE      "ristretto255-SHA512"
#define SEED       "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
#define KEY_INFO   "74657374206b6579"
#define BLIND      "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"
#define PRS        "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"
#define INFO       "7465737420696e666f"
/* The ristretto255 group order, little-endian: the least invalid scalar. */
#define ORDER      "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
#define ZERO       "0000000000000000000000000000000000000000000000000000000000000000"
#define ALL_FF     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
/* Seeds one byte short of 32 and one byte over P-384's Ns (48) with SEED. */
#define SEED31     "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
#define SEED17     "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
/* The P-256 group order, big-endian. */
#define P256_ORDER "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
/* Mode 0, input 00: RFC 9497 A.1.1.1 gives this output for SEED/KEY_INFO. */
#define MODE0_OUTPUT                                                                               \
	"527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3ab9135e3bd69955851de4b1f" \
	"9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6"
/* The rest of a valid mode 0 request, after {"id":...,. */
#define VALID_BODY                                                                                 \
	"\"suite\":\"" SUITE "\",\"mode\":0,\"seed\":\"" SEED "\",\"keyInfo\":\"" KEY_INFO         \
	"\",\"input\":[\"00\"],\"blind\":[\"" BLIND "\"]}"

/* Request options for vector_request(). */
enum {
	OMIT_BLIND = 1 << 0,
	OMIT_PROOF_RANDOM_SCALAR = 1 << 1,
	USE_SKSM = 1 << 2,
	UPPERCASE_HEX = 1 << 3,
};

static const char *tool_path;
static json_value *vectors;     /* the appendix's form: {"suites": [...]} */
static json_value *all_vectors; /* every suite: [...], other member names */

/* The suite entries that hold identifier's vectors: SUITE's from the
 * appendix file, the others' from the file of every suite. */
static const json_value *
entries_of(const char *identifier)
{
	if (strcmp(identifier, SUITE) == 0)
		return json_object_get(vectors, "suites");
	return all_vectors;
}

/* A member that the two files spell differently: "Seed" or "seed", ... */
static const char *
either_string(const json_value *obj, const char *key, const char *other_key)
{
	const char *s = vectors_string(obj, key);
	return s != NULL ? s : vectors_string(obj, other_key);
}

/* The vector's proof (c || s) and its proof random scalar; the file of
 * every suite keeps both in a "Proof" object. */
static const char *
vector_proof(const json_value *vector)
{
	const char *s = vectors_string(vector, "Proof");
	return s != NULL ? s : vectors_string(json_object_get(vector, "Proof"), "proof");
}

static const char *
vector_proof_random_scalar(const json_value *vector)
{
	const char *s = vectors_string(vector, "ProofRandomScalar");
	return s != NULL ? s : vectors_string(json_object_get(vector, "Proof"), "r");
}

/* The answers of one run, one parsed value per line (NULL if it did not parse). */
typedef struct answers {
	json_value **items;
	size_t count;
	int whole_lines; /* the output ended in a newline (or was empty) */
} answers;

/* Runs the tool with args (NULL-terminated) and input on its stdin. */
static proc_result
run_tool(const char *const args[], const char *input, size_t len)
{
	char *input_path = proc_join(test_dir, "input");
	proc_write_file(input_path, input, len);
	proc_result r = proc_call_args(tool_path, args, input_path);
	free(input_path);
	return r;
}

static void
answers_parse(const char *out, answers *a)
{
	const char *p = out, *end = p + strlen(out);

	a->items = NULL;
	a->count = 0;
	a->whole_lines = p == end || end[-1] == '\n';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		json_value **grown = realloc(a->items, (a->count + 1) * sizeof(*grown));
		if (grown == NULL)
			abort();
		a->items = grown;
		if (json_parse(p, (size_t)(stop - p), &a->items[a->count]) != VEIL_OK)
			a->items[a->count] = NULL;
		a->count++;
		p = stop + 1;
	}
}

static void
answers_free(answers *a)
{
	for (size_t i = 0; i < a->count; i++)
		json_free(a->items[i]);
	free(a->items);
}

/* Runs the tool over input and parses its answers; checks it exited 0 with whole lines. */
static void
serve(const char *input, size_t len, answers *a)
{
	static const char *const no_args[] = {NULL};
	proc_result r = run_tool(no_args, input, len);
	CHECK(r.status == 0);
	CHECK(r.err[0] == '\0'); /* bad requests are answered, not logged */
	answers_parse(r.out, a);
	CHECK(a->whole_lines);
	proc_result_free(&r);
}

static int
answer_ok(const json_value *answer)
{
	const json_value *ok = json_object_get(answer, "ok");
	if (ok != NULL && json_type_of(ok) == JSON_FALSE)
		printf("# answer error: %s\n", json_string(json_object_get(answer, "error"), NULL));
	return ok != NULL && json_type_of(ok) == JSON_TRUE;
}

/* Whether the answer is a refusal: "ok" is false (and not absent). */
static int
answer_refused(const json_value *answer)
{
	const json_value *ok = json_object_get(answer, "ok");
	return ok != NULL && json_type_of(ok) == JSON_FALSE;
}

/* Whether member i of obj exists and has the key name. */
static int
key_is(const json_value *obj, size_t i, const char *name)
{
	const char *key = json_object_key(obj, i);
	return key != NULL && strcmp(key, name) == 0;
}

/* The answer's "id" written compactly, in a static buffer. */
static const char *
answer_id(const json_value *answer)
{
	static char text[256];
	const json_value *id = json_object_get(answer, "id");
	buf b;
	buf_init(&b);
	if (id == NULL)
		buf_append_str(&b, "(absent)");
	else if (json_write_value(&b, id) != VEIL_OK)
		buf_append_str(&b, "(unwritable)");
	snprintf(text, sizeof(text), "%s", buf_data(&b));
	buf_free(&b);
	return text;
}

static int
is_lowercase_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return len % 2 == 0;
}

/* Checks that got is a lowercase hex string with the same bytes as want_hex. */
static void
check_hex(const json_value *got, const char *want_hex, size_t want_len)
{
	size_t got_len;
	const char *s = json_string(got, &got_len);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(is_lowercase_hex(s, got_len));
	CHECK(got_len == want_len);
	if (got_len != want_len || want_len % 2 != 0)
		return;
	char *want_copy = strndup(want_hex, want_len);
	uint8_t *got_bytes = malloc(want_len / 2 + 1), *want_bytes = malloc(want_len / 2 + 1);
	if (want_copy == NULL || got_bytes == NULL || want_bytes == NULL)
		abort();
	CHECK(test_unhex(s, got_bytes, got_len / 2) == 0);
	CHECK(test_unhex(want_copy, want_bytes, want_len / 2) == 0);
	CHECK_BYTES(got_bytes, want_bytes, want_len / 2);
	free(want_copy);
	free(got_bytes);
	free(want_bytes);
}

/* Checks the array got against a comma-separated list of hex strings. */
static void
check_hex_list(const json_value *got, const char *want_list)
{
	size_t i = 0;
	const char *p = want_list;
	for (;; i++) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		CHECK(i < json_array_size(got));
		check_hex(json_array_get(got, i), p, len);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	CHECK(json_array_size(got) == i + 1);
}

/* Appends "hex", in upper case when asked. */
static void
add_hex_string(buf *b, const char *hex, size_t len, unsigned flags)
{
	buf_append_byte(b, '"');
	for (size_t i = 0; i < len; i++) {
		char c = hex[i];
		if ((flags & UPPERCASE_HEX) && c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		buf_append_byte(b, c);
	}
	buf_append_byte(b, '"');
}

/* Appends ,"name":"hex". */
static void
add_hex(buf *b, const char *name, const char *hex, size_t len, unsigned flags)
{
	buf_printf(b, ",\"%s\":", name);
	add_hex_string(b, hex, len, flags);
}

/* Appends ,"name":["hex",...] from a comma-separated list. */
static void
add_hex_list(buf *b, const char *name, const char *list, unsigned flags)
{
	buf_printf(b, ",\"%s\":[", name);
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		add_hex_string(b, p, len, flags);
		if (comma == NULL)
			break;
		buf_append_byte(b, ',');
		p = comma + 1;
	}
	buf_append_byte(b, ']');
}

/* The Output of the vector of SUITE in mode whose Input is input. */
static const char *
vector_output(int64_t mode, const char *input)
{
	const json_value *suites = json_object_get(vectors, "suites");
	for (size_t i = 0; i < json_array_size(suites); i++) {
		const json_value *entry = json_array_get(suites, i);
		if (strcmp(vectors_string(entry, "identifier"), SUITE) != 0 ||
		    vectors_integer(entry, "mode") != mode)
			continue;
		const json_value *list = json_object_get(entry, "vectors");
		for (size_t k = 0; k < json_array_size(list); k++)
			if (strcmp(vectors_string(json_array_get(list, k), "Input"), input) == 0)
				return vectors_string(json_array_get(list, k), "Output");
	}
	abort();
}

/* Appends one request line for a vector of a suite entry. */
static void
vector_request(buf *b, int64_t id, const json_value *entry, const json_value *vector,
               unsigned flags)
{
	int64_t mode = vectors_integer(entry, "mode");
	const char *s;

	buf_printf(b, "{\"id\":%lld,\"suite\":", (long long)id);
	s = vectors_string(entry, "identifier");
	json_write_string(b, s, strlen(s));
	buf_printf(b, ",\"mode\":%lld", (long long)mode);
	if (flags & USE_SKSM) {
		s = vectors_string(entry, "skSm");
		add_hex(b, "skSm", s, strlen(s), flags);
	} else {
		s = either_string(entry, "Seed", "seed");
		add_hex(b, "seed", s, strlen(s), flags);
		s = either_string(entry, "KeyInfo", "keyInfo");
		add_hex(b, "keyInfo", s, strlen(s), flags);
	}
	add_hex_list(b, "input", vectors_string(vector, "Input"), flags);
	if (!(flags & OMIT_BLIND))
		add_hex_list(b, "blind", vectors_string(vector, "Blind"), flags);
	if ((s = vectors_string(vector, "Info")) != NULL)
		add_hex(b, "info", s, strlen(s), flags);
	if (mode != 0 && !(flags & OMIT_PROOF_RANDOM_SCALAR)) {
		s = vector_proof_random_scalar(vector);
		add_hex(b, "proofRandomScalar", s, strlen(s), flags);
	}
	buf_append_str(b, "}\n");
	if (buf_error(b) != VEIL_OK)
		abort();
}

static void
check_vector_answer(const json_value *answer, int64_t id, const json_value *entry,
                    const json_value *vector, unsigned flags)
{
	int64_t mode = vectors_integer(entry, "mode"), got_id;
	const char *s;

	REQUIRE(answer != NULL);
	CHECK(json_integer(json_object_get(answer, "id"), &got_id) == 0 && got_id == id);
	REQUIRE(answer_ok(answer));
	s = vectors_string(entry, "skSm");
	check_hex(json_object_get(answer, "skSm"), s, strlen(s));
	if ((s = vectors_string(entry, "pkSm")) != NULL)
		check_hex(json_object_get(answer, "pkSm"), s, strlen(s));
	CHECK(json_string(json_object_get(answer, "pkSm"), NULL) != NULL);

	size_t count = 1 + test_count_char(vectors_string(vector, "Input"), ',');
	CHECK(count == (size_t)vectors_integer(vector, "Batch"));
	if (flags & OMIT_BLIND) {
		CHECK(json_array_size(json_object_get(answer, "blindedElement")) == count);
		CHECK(json_array_size(json_object_get(answer, "evaluationElement")) == count);
	} else {
		check_hex_list(json_object_get(answer, "blindedElement"),
		               vectors_string(vector, "BlindedElement"));
		check_hex_list(json_object_get(answer, "evaluationElement"),
		               vectors_string(vector, "EvaluationElement"));
	}
	if (mode == 0) {
		CHECK(json_object_get(answer, "proof") == NULL);
	} else if (flags & (OMIT_BLIND | OMIT_PROOF_RANDOM_SCALAR)) {
		/* c || s: twice the hex of a scalar such as skSm. */
		const size_t want_len = 2 * strlen(vectors_string(entry, "skSm"));
		size_t len;
		s = json_string(json_object_get(answer, "proof"), &len);
		CHECK(s != NULL && len == want_len && is_lowercase_hex(s, len));
	} else {
		s = vector_proof(vector);
		check_hex(json_object_get(answer, "proof"), s, strlen(s));
	}
	check_hex_list(json_object_get(answer, "output"), vectors_string(vector, "Output"));
}

/* Whether a suite entry of the vector file is identifier's, in mode (any when mode < 0). */
static int
entry_is(const json_value *entry, const char *identifier, int64_t mode)
{
	return strcmp(vectors_string(entry, "identifier"), identifier) == 0 &&
	       (mode < 0 || vectors_integer(entry, "mode") == mode);
}

/*
 * Appends, with flags, a request for each vector of the entries that are
 * identifier's in mode (or, when others, of all the other entries);
 * returns how many.
 */
static size_t
vector_requests(buf *requests, const char *identifier, int64_t mode, int others, unsigned flags)
{
	const json_value *suites = entries_of(identifier);
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(suites); i++) {
		const json_value *entry = json_array_get(suites, i);
		if (entry_is(entry, identifier, mode) == others)
			continue;
		const json_value *list = json_object_get(entry, "vectors");
		for (size_t k = 0; k < json_array_size(list); k++)
			vector_request(requests, (int64_t)n++, entry, json_array_get(list, k),
			               flags);
	}
	return n;
}

/*
 * Sends every vector of identifier in mode (all modes when mode < 0) in
 * one run, with flags, and checks each answer. Returns how many vectors.
 */
static size_t
run_vectors(const char *identifier, int64_t mode, unsigned flags)
{
	const json_value *suites = entries_of(identifier);
	buf requests;
	answers a;

	buf_init(&requests);
	const size_t n = vector_requests(&requests, identifier, mode, 0, flags);
	serve(buf_data(&requests), buf_len(&requests), &a);
	CHECK(a.count == n);

	size_t index = 0;
	for (size_t i = 0; i < json_array_size(suites) && a.count == n; i++) {
		const json_value *entry = json_array_get(suites, i);
		if (!entry_is(entry, identifier, mode))
			continue;
		const json_value *list = json_object_get(entry, "vectors");
		for (size_t k = 0; k < json_array_size(list); k++, index++)
			check_vector_answer(a.items[index], (int64_t)index, entry,
			                    json_array_get(list, k), flags);
	}
	answers_free(&a);
	buf_free(&requests);
	return n;
}

static void
case_vectors_oprf(void)
{
	CHECK(run_vectors(SUITE, 0, 0) == 2);
}

static void
case_vectors_voprf(void)
{
	CHECK(run_vectors(SUITE, 1, 0) == 3);
}

static void
case_vectors_poprf(void)
{
	CHECK(run_vectors(SUITE, 2, 0) == 3);
}

static void
case_vectors_with_sksm(void)
{
	CHECK(run_vectors(SUITE, -1, USE_SKSM) == 8);
}

static void
case_vectors_uppercase_hex(void)
{
	CHECK(run_vectors(SUITE, -1, UPPERCASE_HEX) == 8);
}

static void
case_vectors_random_blinds(void)
{
	/* Outputs do not depend on the blinds; the proof still verifies. */
	CHECK(run_vectors(SUITE, -1, OMIT_BLIND) == 8);
}

static void
case_vectors_random_proof_scalar(void)
{
	CHECK(run_vectors(SUITE, 1, OMIT_PROOF_RANDOM_SCALAR) == 3);
	CHECK(run_vectors(SUITE, 2, OMIT_PROOF_RANDOM_SCALAR) == 3);
}

/* The NIST suites: every vector in every mode, and the request variants. */
typedef struct nist_run {
	const char *name;
	const char *identifier;
	int64_t mode; /* all modes when < 0 */
	unsigned flags;
	size_t want; /* vectors */
} nist_run;

static const nist_run nist_runs[] = {
        {"P256-SHA256 vectors", "P256-SHA256", -1, 0, 8},
        {"P256-SHA256 vectors with skSm", "P256-SHA256", -1, USE_SKSM, 8},
        {"P256-SHA256 vectors with random blinds", "P256-SHA256", -1, OMIT_BLIND, 8},
        {"P256-SHA256 vectors with a random proof scalar", "P256-SHA256", 2,
         OMIT_PROOF_RANDOM_SCALAR, 3},
        {"P384-SHA384 vectors", "P384-SHA384", -1, 0, 8},
        {"P384-SHA384 vectors in upper-case hex", "P384-SHA384", -1, UPPERCASE_HEX, 8},
        {"P384-SHA384 vectors with random blinds", "P384-SHA384", -1, OMIT_BLIND, 8},
        {"P521-SHA512 vectors", "P521-SHA512", -1, 0, 8},
        {"P521-SHA512 vectors with skSm", "P521-SHA512", -1, USE_SKSM, 8},
        {"P521-SHA512 vectors with a random proof scalar", "P521-SHA512", 1,
         OMIT_PROOF_RANDOM_SCALAR, 3},
};

static int
check_nist_run(const void *row)
{
	const nist_run *r = row;
	size_t n = run_vectors(r->identifier, r->mode, r->flags);
	printf("# %s: %zu answers checked\n", r->name, n);
	return n == r->want;
}

TEST_ROWS_CASE(case_vectors_nist, nist_runs, check_nist_run)

static void
case_unbuilt_suite_unsupported(void)
{
	/* decaf448-SHAKE256 is in the vector file but not served. */
	buf requests;
	answers a;

	buf_init(&requests);
	const size_t n = vector_requests(&requests, "decaf448-SHAKE256", -1, 0, 0);
	buf_append_str(&requests, "{\"id\":\"after\"," VALID_BODY "\n");
	CHECK(n > 0);
	serve(buf_data(&requests), buf_len(&requests), &a);
	REQUIRE(a.count == n + 1);
	for (size_t i = 0; i < n; i++) {
		const char *error = json_string(json_object_get(a.items[i], "error"), NULL);
		CHECK(answer_refused(a.items[i]));
		CHECK(error != NULL && strcmp(error, "suite: unsupported suite") == 0);
	}
	CHECK(answer_ok(a.items[n]));
	CHECK(strcmp(answer_id(a.items[n]), "\"after\"") == 0);
	answers_free(&a);
	buf_free(&requests);
}

/* A request the tool must refuse: body follows {"id":N, unless raw. */
typedef struct bad_request {
	const char *name;
	int raw;            /* the line as it is; its id is not echoed */
	const char *body;   /* the line, or what follows {"id":N, */
	const char *reason; /* expected in the error message */
} bad_request;

#define S "\"suite\":\"" SUITE "\","
#define K "\"seed\":\"" SEED "\",\"keyInfo\":\"" KEY_INFO "\","
#define I "\"input\":[\"00\"]"
#define B ",\"blind\":[\"" BLIND "\"]"

static const bad_request bad_requests[] = {
        /* Not a request at all. */
        {"bad_json", 1, "{\"id\":1,", "bad JSON"},
        {"not_an_object", 1, "[1,2]", "not a JSON object"},
        {"string_line", 1, "\"" SEED "\"", "not a JSON object"},
        {"trailing_garbage", 1, "{\"id\":1," VALID_BODY " x", "bad JSON"},
        {"comment", 1, "{\"id\":1," VALID_BODY " // c", "bad JSON"},
        {"duplicate_member", 1, "{\"id\":1,\"mode\":1," VALID_BODY, "bad JSON"},
        {"lone_surrogate", 1, "{\"id\":\"\\ud800\"," VALID_BODY, "bad JSON"},
        {"invalid_utf8", 1, "{\"id\":\"\xff\"," VALID_BODY, "bad JSON"},
        /* Fields. */
        {"unknown_field", 0, S "\"mode\":0," K I B ",\"extra\":1}", "unknown field"},
        {"field_name_case", 0, S "\"mode\":0,\"Seed\":\"" SEED "\",\"keyInfo\":\"\"," I "}",
         "unknown field"},
        {"missing_suite", 0, "\"mode\":0," K I B "}", "suite: missing"},
        {"suite_not_string", 0, "\"suite\":7,\"mode\":0," K I B "}", "suite: not a string"},
        {"unknown_suite", 0, "\"suite\":\"ristretto255-SHA256\",\"mode\":0," K I B "}",
         "suite: unsupported"},
        {"decaf448_suite", 0, "\"suite\":\"decaf448-SHAKE256\",\"mode\":0," K I B "}",
         "suite: unsupported"},
        {"nist_suite_case", 0, "\"suite\":\"p256-sha256\",\"mode\":0," K I B "}",
         "suite: unsupported"},
        {"suite_with_nul", 0, "\"suite\":\"" SUITE "\\u0000\",\"mode\":0," K I B "}",
         "suite: unsupported"},
        {"missing_mode", 0, S K I B "}", "mode: missing"},
        {"mode_3", 0, S "\"mode\":3," K I B "}", "mode: unsupported"},
        {"mode_negative", 0, S "\"mode\":-1," K I B "}", "mode: unsupported"},
        {"mode_string", 0, S "\"mode\":\"0\"," K I B "}", "mode: unsupported"},
        {"mode_fraction", 0, S "\"mode\":0.0," K I B "}", "mode: unsupported"},
        {"mode_huge", 0, S "\"mode\":18446744073709551616," K I B "}", "mode: unsupported"},
        /* The key. */
        {"missing_key", 0, S "\"mode\":0," I B "}", "seed: missing"},
        {"missing_seed", 0, S "\"mode\":0,\"keyInfo\":\"" KEY_INFO "\"," I B "}", "seed: missing"},
        {"missing_key_info", 0, S "\"mode\":0,\"seed\":\"" SEED "\"," I B "}", "keyInfo: missing"},
        {"seed_short", 0, S "\"mode\":0,\"seed\":\"a3a3\",\"keyInfo\":\"\"," I B "}",
         "seed: wrong length"},
        {"seed_long", 0, S "\"mode\":0,\"seed\":\"" SEED "a3\",\"keyInfo\":\"\"," I B "}",
         "seed: wrong length"},
        {"seed_odd_hex", 0, S "\"mode\":0,\"seed\":\"" SEED "a\",\"keyInfo\":\"\"," I B "}",
         "seed: bad hex"},
        {"seed_not_string", 0, S "\"mode\":0,\"seed\":null,\"keyInfo\":\"\"," I B "}",
         "seed: not a string"},
        {"seed_bad_digit", 0,
         S
         "\"mode\":0,\"seed\":\"a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3g3\","
         "\"keyInfo\":\"\"," I B "}",
         "seed: bad hex"},
        {"key_info_bad_hex", 0, S "\"mode\":0,\"seed\":\"" SEED "\",\"keyInfo\":\"7x\"," I B "}",
         "keyInfo: bad hex"},
        {"sksm_and_seed", 0, S "\"mode\":0,\"skSm\":\"" BLIND "\"," K I B "}", "either"},
        {"sksm_zero", 0, S "\"mode\":0,\"skSm\":\"" ZERO "\"," I B "}", "skSm: scalar"},
        {"sksm_order", 0, S "\"mode\":0,\"skSm\":\"" ORDER "\"," I B "}", "skSm: scalar"},
        {"sksm_all_ff", 0, S "\"mode\":1,\"skSm\":\"" ALL_FF "\"," I B "}", "skSm: scalar"},
        {"sksm_short", 0, S "\"mode\":0,\"skSm\":\"00\"," I B "}", "skSm: wrong length"},
        /* The NIST suites: a seed of 32 to Ns bytes, scalars of Ns bytes below the order. */
        {"p384_seed_31_bytes", 0,
         "\"suite\":\"P384-SHA384\",\"mode\":0,\"seed\":\"" SEED31 "\",\"keyInfo\":\"\"," I "}",
         "seed: wrong length"},
        {"p384_seed_49_bytes", 0,
         "\"suite\":\"P384-SHA384\",\"mode\":0,\"seed\":\"" SEED SEED17 "\",\"keyInfo\":\"\"," I
         "}",
         "seed: wrong length"},
        {"p256_sksm_order", 0,
         "\"suite\":\"P256-SHA256\",\"mode\":0,\"skSm\":\"" P256_ORDER "\"," I "}", "skSm: scalar"},
        {"p256_blind_order", 0,
         "\"suite\":\"P256-SHA256\",\"mode\":0," K I ",\"blind\":[\"" P256_ORDER "\"]}",
         "blind: scalar"},
        {"p521_blind_32_bytes", 0, "\"suite\":\"P521-SHA512\",\"mode\":0," K I B "}",
         "blind: wrong length"},
        /* Inputs and blinds. */
        {"missing_input", 0, S "\"mode\":0," K "\"blind\":[]}", "input: missing"},
        {"input_not_array", 0, S "\"mode\":0," K "\"input\":\"00\"" B "}", "input: not an array"},
        {"input_empty", 0, S "\"mode\":0," K "\"input\":[],\"blind\":[]}", "input: empty"},
        {"input_not_string", 0, S "\"mode\":0," K "\"input\":[0]" B "}", "input: not a string"},
        {"input_bad_hex", 0, S "\"mode\":0," K "\"input\":[\"zz\"]" B "}", "input: bad hex"},
        {"input_odd_hex", 0, S "\"mode\":0," K "\"input\":[\"000\"]" B "}", "input: bad hex"},
        {"blind_fewer", 0, S "\"mode\":0," K "\"input\":[\"00\",\"01\"]" B "}",
         "blind: length differs"},
        {"blind_more", 0, S "\"mode\":0," K I ",\"blind\":[\"" BLIND "\",\"" BLIND "\"]}",
         "blind: length differs"},
        {"blind_empty_list", 0, S "\"mode\":0," K I ",\"blind\":[]}", "blind: length differs"},
        {"blind_not_array", 0, S "\"mode\":0," K I ",\"blind\":\"" BLIND "\"}",
         "blind: not an array"},
        {"blind_short", 0, S "\"mode\":0," K I ",\"blind\":[\"64d3\"]}", "blind: wrong length"},
        {"blind_zero", 0, S "\"mode\":0," K I ",\"blind\":[\"" ZERO "\"]}", "blind: scalar"},
        {"blind_order", 0, S "\"mode\":1," K I ",\"blind\":[\"" ORDER "\"]}", "blind: scalar"},
        {"blind_all_ff", 0, S "\"mode\":2," K I ",\"blind\":[\"" ALL_FF "\"],\"info\":\"\"}",
         "blind: scalar"},
        /* Mode-specific fields. */
        {"info_in_mode_0", 0, S "\"mode\":0," K I B ",\"info\":\"" INFO "\"}", "info: only"},
        {"info_in_mode_1", 0, S "\"mode\":1," K I B ",\"info\":\"" INFO "\"}", "info: only"},
        {"info_missing_in_mode_2", 0, S "\"mode\":2," K I B "}", "info: missing"},
        {"info_bad_hex", 0, S "\"mode\":2," K I B ",\"info\":\"xyz0\"}", "info: bad hex"},
        {"prs_in_mode_0", 0, S "\"mode\":0," K I B ",\"proofRandomScalar\":\"" PRS "\"}",
         "proofRandomScalar: only"},
        {"prs_zero", 0, S "\"mode\":1," K I B ",\"proofRandomScalar\":\"" ZERO "\"}",
         "proofRandomScalar: scalar"},
        {"prs_order", 0,
         S "\"mode\":2," K I B ",\"info\":\"\",\"proofRandomScalar\":\"" ORDER "\"}",
         "proofRandomScalar: scalar"},
        {"prs_short", 0, S "\"mode\":1," K I B ",\"proofRandomScalar\":\"22\"}",
         "proofRandomScalar: wrong length"},
        {"prs_number", 0, S "\"mode\":1," K I B ",\"proofRandomScalar\":1}",
         "proofRandomScalar: not a string"},
};

static void
case_bad_requests(void)
{
	/* Each bad line is followed by a good one, all in one run. */
	buf lines;
	answers a;
	const size_t n = TEST_COUNT(bad_requests);

	buf_init(&lines);
	for (size_t i = 0; i < n; i++) {
		if (bad_requests[i].raw)
			buf_printf(&lines, "%s\n", bad_requests[i].body);
		else
			buf_printf(&lines, "{\"id\":%zu,%s\n", 2 * i, bad_requests[i].body);
		buf_printf(&lines, "{\"id\":%zu," VALID_BODY "\n", 2 * i + 1);
	}
	REQUIRE(buf_error(&lines) == VEIL_OK);
	serve(buf_data(&lines), buf_len(&lines), &a);
	CHECK(a.count == 2 * n);

	for (size_t i = 0; i < n && a.count == 2 * n; i++) {
		const bad_request *r = &bad_requests[i];
		const json_value *bad = a.items[2 * i], *good = a.items[2 * i + 1];
		const char *error = json_string(json_object_get(bad, "error"), NULL);
		char want_id[32];
		int64_t id;

		snprintf(want_id, sizeof(want_id), "%zu", 2 * i);
		int refused = answer_refused(bad) && error != NULL &&
		              strstr(error, r->reason) != NULL &&
		              strcmp(answer_id(bad), r->raw ? "null" : want_id) == 0 &&
		              json_object_size(bad) == 3;
		if (!refused) {
			printf("# %s: got error \"%s\", id %s\n", r->name, error ? error : "(none)",
			       bad ? answer_id(bad) : "-");
			test_fail(__FILE__, __LINE__, r->name);
		}
		CHECK(refused);
		CHECK(answer_ok(good));
		CHECK(json_integer(json_object_get(good, "id"), &id) == 0 &&
		      id == (int64_t)(2 * i + 1));
		check_hex_list(json_object_get(good, "output"), MODE0_OUTPUT);
	}
	answers_free(&a);
	buf_free(&lines);
}

/* Serves lines: a request refused with error, then a good one; checks both answers. */
static void
refused_then_served(const buf *lines, const char *error)
{
	answers a;
	REQUIRE(buf_error(lines) == VEIL_OK);
	serve(buf_data(lines), buf_len(lines), &a);
	REQUIRE(a.count == 2);
	const char *said = json_string(json_object_get(a.items[0], "error"), NULL);
	CHECK(said != NULL && strcmp(said, error) == 0);
	CHECK(strcmp(answer_id(a.items[0]), "null") == 0);
	CHECK(answer_ok(a.items[1]));
	answers_free(&a);
}

static void
case_json_limits(void)
{
	/* An id nested past JSON_MAX_DEPTH: refused, and the next line served. */
	buf lines;
	buf_init(&lines);
	buf_append_str(&lines, "{\"id\":");
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf_append_byte(&lines, '[');
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf_append_byte(&lines, ']');
	buf_append_str(&lines, "," VALID_BODY "\n{\"id\":2," VALID_BODY "\n");
	refused_then_served(&lines, "JSON limit exceeded");
	buf_free(&lines);
}

static void
case_id_echo(void)
{
	static const struct {
		const char *id;   /* as sent; NULL: no id member */
		const char *want; /* as echoed */
	} table[] = {
	        {"7", "7"},
	        {"-0", "-0"},
	        {"1.50E+03", "1.50E+03"},
	        {"\"abc\"", "\"abc\""},
	        {"\"\\u00e9\\n\\/\"", "\"\xc3\xa9\\n/\""},
	        {"null", "null"},
	        {"true", "true"},
	        {" { \"a\" : [ 1 , {} ] } ", "{\"a\":[1,{}]}"},
	        {"[]", "[]"},
	        {NULL, "null"},
	};
	buf lines;
	answers a;
	const size_t n = TEST_COUNT(table);

	buf_init(&lines);
	for (size_t i = 0; i < n; i++) {
		/* Once with a good request, once with a refused one. */
		if (table[i].id != NULL) {
			buf_printf(&lines, "{\"id\":%s," VALID_BODY "\n", table[i].id);
			buf_printf(&lines, "{\"mode\":3,\"id\":%s}\n", table[i].id);
		} else {
			buf_append_str(&lines, "{" VALID_BODY "\n{\"mode\":3}\n");
		}
	}
	serve(buf_data(&lines), buf_len(&lines), &a);
	REQUIRE(a.count == 2 * n);
	for (size_t i = 0; i < n; i++) {
		CHECK(answer_ok(a.items[2 * i]));
		CHECK(strcmp(answer_id(a.items[2 * i]), table[i].want) == 0);
		CHECK(answer_refused(a.items[2 * i + 1]));
		CHECK(strcmp(answer_id(a.items[2 * i + 1]), table[i].want) == 0);
		/* The id comes first in every answer. */
		CHECK(key_is(a.items[2 * i], 0, "id"));
		CHECK(key_is(a.items[2 * i + 1], 0, "id"));
	}
	answers_free(&a);
	buf_free(&lines);
}

static void
case_answer_fields(void)
{
	/* Exactly the documented members, in order, for each mode. */
	static const char *const lines = "{\"id\":0," VALID_BODY "\n"
	                                 "{\"id\":1," S "\"mode\":1," K I B "}\n"
	                                 "{\"id\":2," S "\"mode\":2," K I B ",\"info\":\"\"}\n";
	static const char *const want[3][8] = {
	        {"id", "ok", "skSm", "pkSm", "blindedElement", "evaluationElement", "output", NULL},
	        {"id", "ok", "skSm", "pkSm", "blindedElement", "evaluationElement", "proof",
	         "output"},
	        {"id", "ok", "skSm", "pkSm", "blindedElement", "evaluationElement", "proof",
	         "output"},
	};
	answers a;
	serve(lines, strlen(lines), &a);
	REQUIRE(a.count == 3);
	for (size_t i = 0; i < 3; i++) {
		size_t n = want[i][7] != NULL ? 8 : 7;
		CHECK(answer_ok(a.items[i]));
		CHECK(json_object_size(a.items[i]) == n);
		for (size_t k = 0; k < n && k < json_object_size(a.items[i]); k++)
			CHECK(key_is(a.items[i], k, want[i][k]));
	}
	answers_free(&a);
}

static void
case_blank_lines_skipped(void)
{
	static const char lines[] = "\n\n \t \r\n{\"id\":1," VALID_BODY "\n   \n\n";
	answers a;
	serve(lines, sizeof(lines) - 1, &a);
	CHECK(a.count == 1);
	CHECK(a.count >= 1 && answer_ok(a.items[0]));
	answers_free(&a);
}

static void
case_crlf_and_no_final_newline(void)
{
	static const char lines[] = "{\"id\":1," VALID_BODY "\r\n{\"id\":2," VALID_BODY;
	answers a;
	serve(lines, sizeof(lines) - 1, &a);
	REQUIRE(a.count == 2);
	CHECK(answer_ok(a.items[0]));
	CHECK(answer_ok(a.items[1]));
	CHECK(strcmp(answer_id(a.items[1]), "2") == 0);
	answers_free(&a);
}

static void
case_nul_byte_in_line(void)
{
	static const char lines[] = "{\"id\":1,\0" VALID_BODY "\n{\"id\":2," VALID_BODY "\n";
	answers a;
	serve(lines, sizeof(lines) - 1, &a);
	REQUIRE(a.count == 2);
	CHECK(answer_refused(a.items[0]));
	CHECK(answer_ok(a.items[1]));
	answers_free(&a);
}

static void
case_empty_input(void)
{
	answers a;
	serve("", 0, &a);
	CHECK(a.count == 0);
	answers_free(&a);
}

static void
case_line_too_long(void)
{
	/* One byte over the cap, then a good line: refused, then served. */
	size_t over = OPRF_TRANSCRIPT_MAX_LINE;
	buf lines;
	buf_init(&lines);
	buf_append_str(&lines, "{\"id\":1,\"input\":[\"");
	while (buf_len(&lines) < over - 2)
		buf_append_str(&lines, "00000000000000000000000000000000");
	buf_truncate(&lines, over - 2);
	buf_append_str(&lines, "\"]}\n{\"id\":2," VALID_BODY "\n");
	refused_then_served(&lines, "line too long");
	buf_free(&lines);
}

static void
case_large_batch(void)
{
	/* 300 inputs with random blinds: one proof, every output the same. */
	const char *voprf_output_00 = vector_output(1, "00");
	const size_t n = 300;
	buf lines;
	buf_init(&lines);
	buf_append_str(&lines, "{\"id\":1," S "\"mode\":1," K "\"input\":[");
	for (size_t i = 0; i < n; i++)
		buf_append_str(&lines, i ? ",\"00\"" : "\"00\"");
	buf_append_str(&lines, "]}\n");
	REQUIRE(buf_error(&lines) == VEIL_OK);

	answers a;
	serve(buf_data(&lines), buf_len(&lines), &a);
	REQUIRE(a.count == 1);
	REQUIRE(answer_ok(a.items[0]));
	const json_value *outputs = json_object_get(a.items[0], "output");
	CHECK(json_array_size(outputs) == n);
	size_t same = 0;
	for (size_t i = 0; i < json_array_size(outputs); i++) {
		const char *s = json_string(json_array_get(outputs, i), NULL);
		same += s != NULL && strcmp(s, voprf_output_00) == 0;
	}
	CHECK(same == n);
	/* Random blinds: the blinded elements differ. */
	const json_value *blinded = json_object_get(a.items[0], "blindedElement");
	const char *first = json_string(json_array_get(blinded, 0), NULL);
	const char *second = json_string(json_array_get(blinded, 1), NULL);
	CHECK(first != NULL && second != NULL && strcmp(first, second) != 0);
	answers_free(&a);
	buf_free(&lines);
}

/* Reads from fd until a newline, waiting only as a hang would; returns the line or NULL. */
static char *
read_answer_line(int fd, buf *pending)
{
	for (;;) {
		const char *nl = memchr(buf_data(pending), '\n', buf_len(pending));
		if (nl != NULL) {
			size_t len = (size_t)(nl - buf_data(pending)) + 1;
			char *line = strndup(buf_data(pending), len);
			buf rest;
			buf_init(&rest);
			buf_append(&rest, buf_data(pending) + len, buf_len(pending) - len);
			buf_free(pending);
			*pending = rest;
			return line;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000 * (int)TEST_PATIENCE_SECONDS) <= 0)
			return NULL; /* no answer, however long: it was not flushed */
		char chunk[4096];
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got <= 0)
			return NULL;
		buf_append(pending, chunk, (size_t)got);
	}
}

static void
case_interactive(void)
{
	/* Each answer arrives before the next request is written. */
	static const char *const no_args[] = {NULL};
	int to_tool[2], from_tool[2];
	/* Close-on-exec, so that the tool holds only its own ends. */
	REQUIRE(pipe2(to_tool, O_CLOEXEC) == 0 && pipe2(from_tool, O_CLOEXEC) == 0);
	const pid_t pid = proc_spawn_fds(tool_path, no_args, to_tool[0], from_tool[1], 2);
	close(to_tool[0]);
	close(from_tool[1]);

	buf pending;
	buf_init(&pending);
	for (int i = 0; i < 3; i++) {
		char line[1024];
		int len = snprintf(line, sizeof(line), "{\"id\":%d," VALID_BODY "\n", i);
		CHECK(write(to_tool[1], line, (size_t)len) == len);
		char *answer = read_answer_line(from_tool[0], &pending);
		CHECK(answer != NULL);
		json_value *v = NULL;
		CHECK(answer != NULL && json_parse(answer, strlen(answer), &v) == VEIL_OK);
		CHECK(answer_ok(v));
		int64_t id;
		CHECK(json_integer(json_object_get(v, "id"), &id) == 0 && id == i);
		json_free(v);
		free(answer);
	}
	close(to_tool[1]);
	CHECK(proc_wait(pid) == 0);
	close(from_tool[0]);
	buf_free(&pending);
}

static void
case_help(void)
{
	static const char *const args[] = {"--help", NULL};
	proc_result r = run_tool(args, "", 0);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "usage: veil-oprf", 16) == 0);
	CHECK(r.err[0] == '\0');
	proc_result_free(&r);
}

static void
case_unknown_arguments(void)
{
	/* A bad option gets cli's message alone; a word, where the requests come from. */
	static const struct {
		const char *args[3];
		const char *message;
		int is_option;
	} refused[] = {
	        {{"--bogus", NULL, NULL}, "unknown option --bogus", 1},
	        {{"-x", NULL, NULL}, "unknown option -x", 1},
	        {{"--suite", "ristretto255-SHA512", NULL}, "unknown option --suite", 1},
	        {{"extra", NULL, NULL}, "unknown argument extra", 0},
	};
	for (size_t i = 0; i < TEST_COUNT(refused); i++) {
		proc_result r = run_tool(refused[i].args, "", 0);
		CHECK(r.status == 2);
		CHECK(r.out[0] == '\0');
		CHECK(strstr(r.err, refused[i].message) != NULL);
		CHECK((strstr(r.err, "unknown argument") != NULL) == !refused[i].is_option);
		CHECK(strstr(r.err, "usage: veil-oprf") != NULL);
		proc_result_free(&r);
	}
}

static const test_case cases[] = {
        {"vectors_oprf", case_vectors_oprf},
        {"vectors_voprf", case_vectors_voprf},
        {"vectors_poprf", case_vectors_poprf},
        {"vectors_with_sksm", case_vectors_with_sksm},
        {"vectors_uppercase_hex", case_vectors_uppercase_hex},
        {"vectors_random_blinds", case_vectors_random_blinds},
        {"vectors_random_proof_scalar", case_vectors_random_proof_scalar},
        {"vectors_nist", case_vectors_nist},
        {"unbuilt_suite_unsupported", case_unbuilt_suite_unsupported},
        {"bad_requests", case_bad_requests},
        {"json_limits", case_json_limits},
        {"id_echo", case_id_echo},
        {"answer_fields", case_answer_fields},
        {"blank_lines_skipped", case_blank_lines_skipped},
        {"crlf_and_no_final_newline", case_crlf_and_no_final_newline},
        {"nul_byte_in_line", case_nul_byte_in_line},
        {"empty_input", case_empty_input},
        {"line_too_long", case_line_too_long},
        {"large_batch", case_large_batch},
        {"interactive", case_interactive},
        {"help", case_help},
        {"unknown_arguments", case_unknown_arguments},
};

static void
setup(void)
{
	tool_path = test_argv[0];
	vectors = vectors_load(test_argv[1]);
	all_vectors = vectors_load(test_argv[2]);
	signal(SIGPIPE, SIG_IGN);
}

static int
teardown(void)
{
	json_free(vectors);
	json_free(all_vectors);
	return 0;
}

TEST_MAIN_WITH(cases,
               .usage = "path/to/veil-oprf path/to/rfc9497_vectors.json "
                        "path/to/rfc9497_all_suites.json",
               .arguments = 3, .temp_dir = "interop", .setup = setup, .teardown = teardown)
