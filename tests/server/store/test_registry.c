/*
 * The LMDB registry, on real files in a temporary directory. Expected
 * entries are computed here, independently, with entry_bucket(),
 * oprf_evaluate() and entry_tag(), and compared with what readers return.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <sodium.h>

#include "entry.h"
#include "harness.h"
#include "oprf.h"
#include "proc.h"
#include "registry.h"
#include "server_util.h"

#define TAG_LEN     8
#define KEY_ID      1
#define MAX_HANDLES 512
#define SEALED      ENTRY_SEALED_PAYLOAD_SIZE

/* A registry in the case's directory, with one key. */
typedef struct fixture {
	const char *path;
	registry *reg;
	oprf_ctx *ctx;
	oprf_key *key;
	registry_key keys[1];
	int tampered; /* the case damaged its files on purpose */
} fixture;

/* One handle as the test expects to find it. */
typedef struct expected {
	char handle[40];
	size_t handle_len;
	char payload[16];
	size_t payload_len;
	uint32_t bucket;
	uint8_t y[64];
	uint8_t tag[TAG_LEN];
} expected;

static expected handles[MAX_HANDLES];

static int
verify_ok(fixture *f)
{
	registry_verify_summary s;
	return registry_verify(f->reg, f->keys, 1, 2, &s) == VEIL_OK && registry_verify_ok(&s);
}

static void
fixture_close(void *arg)
{
	fixture *f = arg;
	/* Whatever a case did through the API, the registry must still verify. */
	if (f->reg != NULL && !f->tampered)
		CHECK(verify_ok(f));
	registry_free(f->reg);
	oprf_key_free(f->key);
	oprf_ctx_free(f->ctx);
	free(f);
}

/* A new registry for the running case, verified and closed when the case
 * ends (after a failed REQUIRE too); NULL on failure. */
static fixture *
fixture_open(void)
{
	static unsigned opened; /* a case may open several */
	char name[32];
	snprintf(name, sizeof(name), "registry-%u", ++opened);
	/* The path first: the case's directory goes after the fixture closes. */
	const char *path = test_case_path(name);
	fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	test_defer(fixture_close, f);
	f->path = path;
	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	if (suite == NULL || oprf_ctx_new(suite, OPRF_MODE_OPRF, &f->ctx) != VEIL_OK ||
	    oprf_key_generate(suite, &f->key) != VEIL_OK ||
	    registry_create(f->path, TAG_LEN, KEY_ID, OPRF_MODE_OPRF, suite) != VEIL_OK ||
	    registry_open(f->path, &f->reg) != VEIL_OK)
		return NULL;
	f->keys[0].id = KEY_ID;
	f->keys[0].key = f->key;
	return f;
}

/* Fills handles[0..n) with distinct handles; every third has a payload. */
static void
make_handles(const fixture *f, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		expected *e = &handles[i];
		memset(e, 0, sizeof(*e));
		e->handle_len = (size_t)snprintf(e->handle, sizeof(e->handle), "tel:+1415%03u%04zu",
		                                 seed, i);
		if (i % 3 == 0)
			e->payload_len = (size_t)snprintf(e->payload, sizeof(e->payload), "p%u-%zu",
			                                  seed, i);
		e->bucket = entry_bucket(e->handle, e->handle_len);
		if (oprf_evaluate(f->ctx, f->key, NULL, 0, (const uint8_t *)e->handle,
		                  e->handle_len, e->y) != VEIL_OK ||
		    entry_tag(e->y, sizeof(e->y), e->tag, TAG_LEN) != VEIL_OK)
			abort();
	}
}

static void
records_of(size_t n, registry_record *records)
{
	for (size_t i = 0; i < n; i++) {
		records[i].handle = handles[i].handle;
		records[i].handle_len = handles[i].handle_len;
		records[i].payload = (const uint8_t *)handles[i].payload;
		records[i].payload_len = handles[i].payload_len;
	}
}

static veil_err
import_n(fixture *f, size_t n, unsigned threads, registry_change *change)
{
	registry_record records[MAX_HANDLES];
	registry_import_options options = {threads, NULL, NULL};
	records_of(n, records);
	return registry_import(f->reg, f->keys, 1, records, n, &options, change);
}

/* A fixture_open() registry with n handles made from seed, imported with
 * that many threads; NULL on failure. */
static fixture *
fixture_filled(size_t n, unsigned seed, unsigned threads, registry_change *change)
{
	fixture *f = fixture_open();
	if (f == NULL)
		return NULL;
	make_handles(f, n, seed);
	return import_n(f, n, threads, change) == VEIL_OK ? f : NULL;
}

/*
 * LMDB must not have one environment open twice in a process (closing the
 * second would drop the first's file locks), so the registry is closed
 * while the test reads or edits the files directly.
 */
static int
dump(fixture *f, buf *out)
{
	registry_free(f->reg);
	f->reg = NULL;
	int rc = util_dump_registry(f->path, out);
	if (registry_open(f->path, &f->reg) != VEIL_OK)
		abort();
	return rc;
}

static registry_view
view_of(fixture *f)
{
	registry_view view;
	registry_reader *r = NULL;
	memset(&view, 0, sizeof(view));
	if (registry_reader_new(f->reg, &r) != VEIL_OK)
		abort();
	if (registry_reader_begin(r, &view) != VEIL_OK)
		memset(&view, 0xff, sizeof(view));
	registry_reader_free(r);
	return view;
}

static int
entry_order(const void *a, const void *b)
{
	const expected *x = *(const expected *const *)a, *y = *(const expected *const *)b;
	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return memcmp(x->tag, y->tag, TAG_LEN);
}

/* The registered handles (of handles[0..n)) in prefix, in index order. */
static size_t
expected_in(size_t n, uint32_t prefix, unsigned bits, const expected **out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (entry_prefix(handles[i].bucket, bits) == prefix)
			out[m++] = &handles[i];
	qsort(out, m, sizeof(*out), entry_order);
	return m;
}

/* ------------------------------------------------------------------ */

static void
case_create_and_open_errors(void)
{
	fixture *f;
	registry *other = NULL;
	REQUIRE((f = fixture_open()) != NULL);
	CHECK(registry_create(f->path, TAG_LEN, KEY_ID, OPRF_MODE_OPRF, oprf_ctx_suite(f->ctx)) ==
	      VEIL_ERR_EXISTS);
	CHECK(registry_create(f->path, 7, KEY_ID, OPRF_MODE_OPRF, oprf_ctx_suite(f->ctx)) ==
	      VEIL_ERR_ARGUMENT);
	const char *missing = test_case_path("missing");
	CHECK(registry_open(missing, &other) == VEIL_ERR_NOT_FOUND && other == NULL);
	/* An empty directory is not silently made into a registry. */
	const char *empty = test_case_path("empty");
	REQUIRE(mkdir(empty, 0700) == 0);
	CHECK(registry_open(empty, &other) == VEIL_ERR_NOT_FOUND && other == NULL);
	const char *data = proc_path(empty, "data.mdb");
	struct stat st;
	CHECK(stat(data, &st) != 0);
}

static void
case_new_registry_is_empty(void)
{
	fixture *f;
	REQUIRE((f = fixture_open()) != NULL);
	registry_view view = view_of(f);
	CHECK(view.tag_len == TAG_LEN);
	CHECK(view.handles == 0 && view.payloads == 0);
	CHECK(view.key_count == 1 && view.key_ids[0] == KEY_ID);
	for (size_t p = 0; p < REGISTRY_PREFIXES; p++)
		CHECK(view.slots[p] == REGISTRY_SLOT_QUANTUM);
}

static void
case_buckets_hold_exactly_the_matching_entries(void)
{
	static const unsigned bits_list[] = {0, 1, 3, 5, 8, 12, 32};
	const size_t n = 300;
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view;
	const expected *want[MAX_HANDLES];
	uint8_t *out = malloc(MAX_HANDLES * (TAG_LEN + SEALED));
	REQUIRE(out != NULL);
	REQUIRE((f = fixture_filled(n, 1, 2, &change)) != NULL);
	CHECK(change.added == n && change.replaced == 0 && change.duplicates == 0);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	CHECK(view.handles == n && view.payloads == (n + 2) / 3);

	for (size_t b = 0; b < sizeof(bits_list) / sizeof(bits_list[0]); b++) {
		const unsigned bits = bits_list[b];
		/* The buckets of a few registered handles, and one likely empty. */
		for (size_t i = 0; i <= 10; i++) {
			uint32_t prefix = i < 10 ? entry_prefix(handles[i * 29].bucket, bits)
			                         : entry_prefix(0x5a5a5a5a, bits);
			size_t count = 99;
			const size_t m = expected_in(n, prefix, bits, want);
			CHECK(registry_reader_bucket(r, KEY_ID, prefix, bits, 0, out, MAX_HANDLES,
			                             &count) == VEIL_OK);
			CHECK(count == m);
			for (size_t j = 0; j < m && j < count; j++)
				CHECK_BYTES(out + j * TAG_LEN, want[j]->tag, TAG_LEN);
		}
	}
	registry_reader_free(r);
	free(out);
}

static void
case_payloads_open_under_their_own_output_only(void)
{
	const size_t n = 60, entry = TAG_LEN + SEALED;
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view;
	uint8_t opened[ENTRY_MAX_PAYLOAD];
	size_t opened_len;
	uint8_t *out = malloc(MAX_HANDLES * entry);
	REQUIRE(out != NULL);
	REQUIRE((f = fixture_filled(n, 2, 1, &change)) != NULL);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	for (size_t i = 0; i < n; i++) {
		const expected *e = &handles[i], *other = &handles[(i + 1) % n];
		size_t count = 0, found = SIZE_MAX;
		REQUIRE(registry_reader_bucket(r, KEY_ID, e->bucket, 32, SEALED, out, MAX_HANDLES,
		                               &count) == VEIL_OK);
		for (size_t j = 0; j < count; j++)
			if (memcmp(out + j * entry, e->tag, TAG_LEN) == 0)
				found = j;
		REQUIRE(found != SIZE_MAX);
		const uint8_t *sealed = out + found * entry + TAG_LEN;
		veil_err opens =
		        entry_open_payload(e->y, sizeof(e->y), sealed, opened, &opened_len);
		if (e->payload_len > 0) {
			CHECK(opens == VEIL_OK);
			CHECK(opened_len == e->payload_len &&
			      memcmp(opened, e->payload, opened_len) == 0);
		} else {
			/* Random filler: opens under nothing. */
			CHECK(opens == VEIL_ERR_VERIFY);
		}
		CHECK(entry_open_payload(other->y, sizeof(other->y), sealed, opened, &opened_len) ==
		      VEIL_ERR_VERIFY);
	}
	registry_reader_free(r);
	free(out);
}

static void
case_slots_are_the_rounded_maximum_per_prefix(void)
{
	const size_t n = 400;
	fixture *f;
	registry_change change;
	const expected *want[MAX_HANDLES];
	REQUIRE((f = fixture_filled(n, 3, 2, &change)) != NULL);
	registry_view view = view_of(f);
	for (unsigned p = 0; p < REGISTRY_PREFIXES; p++) {
		size_t most = 0;
		for (size_t i = 0; i < n; i++) {
			size_t m = expected_in(n, entry_prefix(handles[i].bucket, p), p, want);
			most = m > most ? m : most;
		}
		size_t slots = (most + 7) / 8 * 8;
		CHECK(view.slots[p] == (slots < 8 ? 8 : slots));
	}
	CHECK(view.slots[0] == 400);
}

static void
case_bucket_limit_and_bad_arguments(void)
{
	const size_t n = 40;
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view;
	uint32_t slots[REGISTRY_PREFIXES];
	uint8_t out[64 * (TAG_LEN + SEALED)];
	size_t count = 7;
	REQUIRE((f = fixture_filled(n, 4, 1, &change)) != NULL);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);

	/* No snapshot yet. */
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, 64, &count) == VEIL_ERR_ARGUMENT);
	CHECK(registry_reader_slots(r, KEY_ID, slots) == VEIL_ERR_ARGUMENT);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, n - 1, &count) == VEIL_ERR_LIMIT);
	CHECK(count == 0);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, n, &count) == VEIL_OK && count == n);
	CHECK(registry_reader_bucket(r, KEY_ID, 0x80000001, 1, 0, out, 64, &count) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 33, 0, out, 64, &count) == VEIL_ERR_ARGUMENT);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 4, 7, out, 64, &count) == VEIL_ERR_ARGUMENT);
	CHECK(registry_reader_bucket(r, 2, 0, 4, 0, out, 64, &count) == VEIL_ERR_NOT_FOUND);
	CHECK(registry_reader_slots(r, 2, slots) == VEIL_ERR_NOT_FOUND);
	CHECK(registry_reader_slots(r, KEY_ID, slots) == VEIL_OK &&
	      memcmp(slots, view.slots, sizeof(slots)) == 0);
	registry_reader_end(r);
	registry_reader_end(r); /* harmless twice */
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, 64, &count) == VEIL_ERR_ARGUMENT);
	registry_reader_free(r);
	registry_reader_free(NULL);
}

static void
case_import_upserts_and_last_duplicate_wins(void)
{
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view;
	uint8_t out[8 * (TAG_LEN + SEALED)], opened[ENTRY_MAX_PAYLOAD];
	size_t count, opened_len;
	REQUIRE((f = fixture_open()) != NULL);
	make_handles(f, 3, 5);
	const expected *a = &handles[0], *b = &handles[1];
	registry_record first[] = {
	        {a->handle, a->handle_len, (const uint8_t *)"one", 3},
	        {b->handle, b->handle_len, NULL, 0},
	};
	REQUIRE(registry_import(f->reg, f->keys, 1, first, 2, NULL, &change) == VEIL_OK);
	CHECK(change.added == 2 && change.replaced == 0);
	view = view_of(f);
	CHECK(view.handles == 2 && view.payloads == 1);

	/* a again, three times: the last line wins; b gains a payload. */
	registry_record second[] = {
	        {a->handle, a->handle_len, (const uint8_t *)"two", 3},
	        {b->handle, b->handle_len, (const uint8_t *)"bee", 3},
	        {a->handle, a->handle_len, (const uint8_t *)"three", 5},
	        {a->handle, a->handle_len, (const uint8_t *)"four", 4},
	};
	REQUIRE(registry_import(f->reg, f->keys, 1, second, 4, NULL, &change) == VEIL_OK);
	CHECK(change.added == 0 && change.replaced == 2 && change.duplicates == 2);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	CHECK(view.handles == 2 && view.payloads == 2);
	REQUIRE(registry_reader_bucket(r, KEY_ID, a->bucket, 32, SEALED, out, 8, &count) ==
	        VEIL_OK);
	REQUIRE(count >= 1);
	for (size_t j = 0; j < count; j++)
		if (memcmp(out + j * (TAG_LEN + SEALED), a->tag, TAG_LEN) == 0)
			CHECK(entry_open_payload(a->y, 64, out + j * (TAG_LEN + SEALED) + TAG_LEN,
			                         opened, &opened_len) == VEIL_OK &&
			      opened_len == 4 && memcmp(opened, "four", 4) == 0);
	registry_reader_end(r);

	/* a loses its payload. */
	registry_record third[] = {{a->handle, a->handle_len, NULL, 0}};
	REQUIRE(registry_import(f->reg, f->keys, 1, third, 1, NULL, &change) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	CHECK(view.handles == 2 && view.payloads == 1);
	REQUIRE(registry_reader_bucket(r, KEY_ID, a->bucket, 32, SEALED, out, 8, &count) ==
	        VEIL_OK);
	for (size_t j = 0; j < count; j++)
		if (memcmp(out + j * (TAG_LEN + SEALED), a->tag, TAG_LEN) == 0)
			CHECK(entry_open_payload(a->y, 64, out + j * (TAG_LEN + SEALED) + TAG_LEN,
			                         opened, &opened_len) == VEIL_ERR_VERIFY);
	registry_reader_free(r);
}

static void
case_add_and_remove(void)
{
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view;
	uint8_t out[8 * TAG_LEN];
	size_t count;
	REQUIRE((f = fixture_open()) != NULL);
	make_handles(f, 20, 6);
	REQUIRE(import_n(f, 19, 1, &change) == VEIL_OK);
	const expected *e = &handles[19];
	registry_record one = {e->handle, e->handle_len, (const uint8_t *)"x", 1};
	REQUIRE(registry_add(f->reg, f->keys, 1, &one, &change) == VEIL_OK);
	CHECK(change.added == 1);
	REQUIRE(registry_add(f->reg, f->keys, 1, &one, &change) == VEIL_OK);
	CHECK(change.added == 0 && change.replaced == 1);
	view = view_of(f);
	CHECK(view.handles == 20 && view.payloads == 8);

	REQUIRE(registry_remove(f->reg, f->keys, 1, e->handle, e->handle_len) == VEIL_OK);
	view = view_of(f);
	CHECK(view.handles == 19 && view.payloads == 7);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	REQUIRE(registry_reader_bucket(r, KEY_ID, e->bucket, 32, 0, out, 8, &count) == VEIL_OK);
	for (size_t j = 0; j < count; j++)
		CHECK(memcmp(out + j * TAG_LEN, e->tag, TAG_LEN) != 0);
	registry_reader_free(r);

	/* Removing what is not there fails and changes nothing. */
	buf before, after;
	buf_init(&before);
	buf_init(&after);
	REQUIRE(dump(f, &before) == 0);
	CHECK(registry_remove(f->reg, f->keys, 1, e->handle, e->handle_len) == VEIL_ERR_NOT_FOUND);
	REQUIRE(dump(f, &after) == 0);
	CHECK(buf_len(&before) == buf_len(&after) &&
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) == 0);
	buf_free(&before);
	buf_free(&after);
}

static void
case_refused_writes_change_nothing(void)
{
	fixture *f;
	registry_change change;
	oprf_key *p256 = NULL;
	buf before, after;
	buf_init(&before);
	buf_init(&after);
	REQUIRE((f = fixture_open()) != NULL);
	make_handles(f, 10, 7);
	REQUIRE(import_n(f, 5, 1, &change) == VEIL_OK);
	REQUIRE(dump(f, &before) == 0);

	registry_record records[10];
	records_of(10, records);
	/* No key for the live key id. */
	CHECK(registry_import(f->reg, f->keys, 0, records, 10, NULL, &change) ==
	      VEIL_ERR_NOT_FOUND);
	CHECK(change.added == 0);
	registry_key wrong_id = {2, f->key};
	CHECK(registry_import(f->reg, &wrong_id, 1, records, 10, NULL, &change) ==
	      VEIL_ERR_NOT_FOUND);
	/* A key of another suite. */
	const oprf_suite *p256_suite = oprf_suite_by_name("P256-SHA256");
	if (p256_suite != NULL && oprf_key_generate(p256_suite, &p256) == VEIL_OK) {
		registry_key other_suite = {KEY_ID, p256};
		CHECK(registry_import(f->reg, &other_suite, 1, records, 10, NULL, &change) ==
		      VEIL_ERR_ARGUMENT);
	}
	/* Records out of bounds: none of the batch is stored. */
	records[7].payload_len = ENTRY_MAX_PAYLOAD + 1;
	CHECK(registry_import(f->reg, f->keys, 1, records, 10, NULL, &change) == VEIL_ERR_ARGUMENT);
	records[7].payload_len = 0;
	records[8].handle_len = 0;
	CHECK(registry_import(f->reg, f->keys, 1, records, 10, NULL, &change) == VEIL_ERR_ARGUMENT);
	records[8].handle_len = REGISTRY_MAX_HANDLE + 1;
	CHECK(registry_import(f->reg, f->keys, 1, records, 10, NULL, &change) == VEIL_ERR_ARGUMENT);
	CHECK(registry_remove(f->reg, f->keys, 1, "", 0) == VEIL_ERR_ARGUMENT);
	CHECK(registry_add(f->reg, f->keys, 1, NULL, &change) == VEIL_ERR_ARGUMENT);

	REQUIRE(dump(f, &after) == 0);
	CHECK(buf_len(&before) == buf_len(&after) &&
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) == 0);
	buf_free(&before);
	buf_free(&after);
	oprf_key_free(p256);
}

static void
case_a_snapshot_does_not_see_later_changes(void)
{
	fixture *f;
	registry_change change;
	registry_reader *r = NULL;
	registry_view view, again;
	uint8_t out[MAX_HANDLES * TAG_LEN];
	size_t count;
	REQUIRE((f = fixture_open()) != NULL);
	make_handles(f, 50, 8);
	REQUIRE(import_n(f, 20, 1, &change) == VEIL_OK);
	REQUIRE(registry_reader_new(f->reg, &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	REQUIRE(import_n(f, 50, 2, &change) == VEIL_OK);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, MAX_HANDLES, &count) == VEIL_OK);
	CHECK(count == 20 && view.handles == 20);
	/* Beginning again ends the old snapshot and sees the change. */
	REQUIRE(registry_reader_begin(r, &again) == VEIL_OK);
	CHECK(again.handles == 50);
	CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, MAX_HANDLES, &count) == VEIL_OK);
	CHECK(count == 50);
	registry_reader_free(r);
}

static void
case_threads_do_not_change_the_index(void)
{
	const size_t n = 500;
	fixture *one, *many;
	registry_change change;
	buf a, b;
	buf_init(&a);
	buf_init(&b);
	REQUIRE((one = fixture_open()) != NULL);
	REQUIRE((many = fixture_open()) != NULL);
	/* Both with the same key, so the same entries; many closes first. */
	many->keys[0].key = one->key;
	make_handles(one, n, 9);
	registry_record records[MAX_HANDLES];
	records_of(n, records);
	const registry_import_options single = {1, NULL, NULL}, eight = {8, NULL, NULL};
	REQUIRE(registry_import(one->reg, one->keys, 1, records, n, &single, &change) == VEIL_OK);
	REQUIRE(registry_import(many->reg, many->keys, 1, records, n, &eight, &change) == VEIL_OK);
	for (int k = 0; k < 2; k++) {
		registry_reader *r = NULL;
		registry_view view;
		size_t count = 0;
		uint8_t *out = malloc(n * TAG_LEN);
		REQUIRE(out != NULL);
		REQUIRE(registry_reader_new(k == 0 ? one->reg : many->reg, &r) == VEIL_OK);
		REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
		CHECK(registry_reader_bucket(r, KEY_ID, 0, 0, 0, out, n, &count) == VEIL_OK);
		CHECK(count == n);
		buf_append(k == 0 ? &a : &b, out, count * TAG_LEN);
		buf_append(k == 0 ? &a : &b, view.slots, sizeof(view.slots));
		registry_reader_free(r);
		free(out);
	}
	CHECK(buf_len(&a) == buf_len(&b) && memcmp(buf_data(&a), buf_data(&b), buf_len(&a)) == 0);
	buf_free(&a);
	buf_free(&b);
}

/* Opens the environment directly, as a damaged registry would be. */
static int
tamper(fixture *f, int (*edit)(MDB_txn *txn, MDB_dbi index))
{
	const char *path = f->path;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi index;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 64);
	if (rc == 0)
		rc = mdb_env_open(env, path, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "index/00000001", 0, &index);
	if (rc == 0)
		rc = edit(txn, index);
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static int
tamper_closed(fixture *f, int (*edit)(MDB_txn *txn, MDB_dbi index))
{
	f->tampered = 1;
	registry_free(f->reg);
	f->reg = NULL;
	int rc = tamper(f, edit);
	if (registry_open(f->path, &f->reg) != VEIL_OK)
		abort();
	return rc;
}

static int
delete_first_entry(MDB_txn *txn, MDB_dbi index)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, index, &c);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	if (rc == 0)
		rc = mdb_cursor_del(c, 0);
	mdb_cursor_close(c);
	return rc;
}

static int
add_stray_entry(MDB_txn *txn, MDB_dbi index)
{
	uint8_t key[4 + TAG_LEN];
	memset(key, 0xee, sizeof(key));
	MDB_val k = {sizeof(key), key}, v = {0, NULL};
	return mdb_put(txn, index, &k, &v, 0);
}

static void
case_verify_finds_damage(void)
{
	fixture *f;
	registry_change change;
	registry_verify_summary s;
	REQUIRE((f = fixture_filled(30, 10, 2, &change)) != NULL);
	REQUIRE(registry_verify(f->reg, f->keys, 1, 2, &s) == VEIL_OK);
	CHECK(registry_verify_ok(&s) && s.handles == 30 && s.payloads == 10);

	REQUIRE(tamper_closed(f, add_stray_entry) == 0);
	REQUIRE(registry_verify(f->reg, f->keys, 1, 1, &s) == VEIL_OK);
	CHECK(!registry_verify_ok(&s));
	CHECK(s.dangling_entries == 1 && s.missing_entries == 0);

	REQUIRE(tamper_closed(f, delete_first_entry) == 0);
	REQUIRE(tamper_closed(f, delete_first_entry) == 0);
	REQUIRE(registry_verify(f->reg, f->keys, 1, 2, &s) == VEIL_OK);
	/* The stray entry sorts last (bucket 0xeeeeeeee): two real ones went. */
	CHECK(s.missing_entries == 2 && s.dangling_entries == 1);
}

/* What the edits below write as the meta suite record; NULL deletes it. */
static const char *meta_suite;

static int
set_meta_suite(MDB_txn *txn, MDB_dbi index)
{
	MDB_dbi meta;
	(void)index;
	int rc = mdb_dbi_open(txn, "meta", 0, &meta);
	MDB_val k = {strlen("suite"), (void *)(uintptr_t) "suite"};
	if (rc != 0)
		return rc;
	if (meta_suite == NULL)
		return mdb_del(txn, meta, &k, NULL);
	MDB_val v = {strlen(meta_suite), (void *)(uintptr_t)meta_suite};
	return mdb_put(txn, meta, &k, &v, 0);
}

/* The suite of the registry's current snapshot, or NULL. */
static const oprf_suite *
suite_of(fixture *f)
{
	registry_reader *r = NULL;
	registry_view view;
	const oprf_suite *suite = NULL;
	if (registry_reader_new(f->reg, &r) == VEIL_OK &&
	    registry_reader_begin(r, &view) == VEIL_OK)
		suite = view.suite;
	registry_reader_free(r);
	return suite;
}

/*
 * The meta records the suite: a registry made before suites were recorded
 * (no record) is of ristretto255-SHA512; writers and verify take keys of
 * the recorded suite only; a suite this build does not serve is damage.
 */
static void
case_the_suite_is_recorded(void)
{
	fixture *f;
	registry_change change;
	registry_verify_summary s;
	const oprf_suite *ristretto = oprf_suite_by_name("ristretto255-SHA512");
	const oprf_suite *p384 = oprf_suite_by_name("P384-SHA384");
	REQUIRE((f = fixture_filled(20, 12, 1, &change)) != NULL);
	CHECK(suite_of(f) == ristretto);

	meta_suite = NULL;
	REQUIRE(tamper_closed(f, set_meta_suite) == 0);
	CHECK(suite_of(f) == ristretto);
	make_handles(f, 25, 12); /* the 20 imported, and 5 more */
	CHECK(import_n(f, 25, 1, &change) == VEIL_OK && change.added == 5);
	CHECK(registry_verify(f->reg, f->keys, 1, 1, &s) == VEIL_OK && registry_verify_ok(&s));

	/* Recorded as P384-SHA384: the ristretto255 key is refused. */
	meta_suite = "P384-SHA384";
	REQUIRE(tamper_closed(f, set_meta_suite) == 0);
	CHECK(suite_of(f) == p384);
	CHECK(import_n(f, 25, 1, &change) == VEIL_ERR_ARGUMENT);
	CHECK(registry_verify(f->reg, f->keys, 1, 1, &s) == VEIL_ERR_ARGUMENT);

	/* A suite this build does not serve, or none named. */
	static const char *const bad[] = {"P224-SHA224", "p384-sha384", ""};
	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		registry_free(f->reg);
		f->reg = NULL;
		meta_suite = bad[i];
		REQUIRE(tamper(f, set_meta_suite) == 0);
		CHECK(registry_open(f->path, &f->reg) == VEIL_ERR_CORRUPT && f->reg == NULL);
	}
	meta_suite = "ristretto255-SHA512";
	REQUIRE(tamper(f, set_meta_suite) == 0);
	REQUIRE(registry_open(f->path, &f->reg) == VEIL_OK);
	CHECK(suite_of(f) == ristretto);

	/* Made on P384-SHA384: its keys are taken, entries made on it. */
	const char *path = test_case_path("p384");
	registry *reg = NULL;
	oprf_key *key = NULL;
	REQUIRE(p384 != NULL && oprf_key_generate(p384, &key) == VEIL_OK);
	REQUIRE(registry_create(path, TAG_LEN, KEY_ID, OPRF_MODE_VOPRF, p384) == VEIL_OK);
	REQUIRE(registry_open(path, &reg) == VEIL_OK);
	registry_key keys[1] = {{KEY_ID, key}};
	registry_record records[10];
	records_of(10, records);
	CHECK(registry_import(reg, keys, 1, records, 10, NULL, &change) == VEIL_OK &&
	      change.added == 10);
	CHECK(registry_verify(reg, keys, 1, 1, &s) == VEIL_OK && registry_verify_ok(&s));
	CHECK(registry_import(reg, f->keys, 1, records, 10, NULL, &change) == VEIL_ERR_ARGUMENT);
	CHECK(registry_create(test_case_path("none"), TAG_LEN, KEY_ID, OPRF_MODE_OPRF, NULL) ==
	      VEIL_ERR_ARGUMENT);
	registry_free(reg);
	oprf_key_free(key);
}

static void
case_stats(void)
{
	fixture *f;
	registry_change change;
	registry_stats s;
	REQUIRE((f = fixture_filled(12, 11, 1, &change)) != NULL);
	REQUIRE(registry_stats_read(f->reg, &s) == VEIL_OK);
	CHECK(s.view.handles == 12 && s.view.payloads == 4);
	CHECK(s.index_entries[0] == 12);
	CHECK(memcmp(s.slots[0], s.view.slots, sizeof(s.view.slots)) == 0);
	CHECK(s.file_size > 0 && s.used_size > 0 && s.used_size <= s.file_size);
}

/* ------------------------------------------------------------------ */
/* The bucket cap */

static int
u64_cmp(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
collision_handle(char out[40], uint32_t i)
{
	snprintf(out, 40, "mailto:u%u@example.org", i);
}

/*
 * Two handles in one 32-bit bucket, found by brute force (a birthday
 * search: about 2^16.5 handles expected, 2^18 tried, plenty); 0 when none.
 * entry_bucket() is unkeyed, so the search always finds the same pair.
 */
static int
find_bucket_pair(char a[40], char b[40])
{
	const uint32_t n = (uint32_t)1 << 18;
	uint64_t *list = malloc(n * sizeof(*list));
	char h[40];
	int found = 0;
	if (list == NULL)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		collision_handle(h, i);
		list[i] = (uint64_t)entry_bucket(h, strlen(h)) << 32 | i;
	}
	qsort(list, n, sizeof(*list), u64_cmp);
	for (uint32_t i = 0; i + 1 < n && !found; i++)
		if (list[i] >> 32 == list[i + 1] >> 32) {
			collision_handle(a, (uint32_t)list[i]);
			collision_handle(b, (uint32_t)list[i + 1]);
			found = 1;
		}
	free(list);
	return found;
}

static registry_record
record_of(const char *handle)
{
	registry_record r = {handle, strlen(handle), NULL, 0};
	return r;
}

/*
 * 1 when f's files are byte for byte those dumped in before. The dump
 * reopens the registry, so the cap is set again to cap.
 */
static int
unchanged_since(fixture *f, const buf *before, uint32_t cap)
{
	buf now;
	buf_init(&now);
	const int same = dump(f, &now) == 0 && buf_len(&now) == buf_len(before) &&
	                 memcmp(buf_data(&now), buf_data(before), buf_len(&now)) == 0;
	buf_free(&now);
	return same && registry_set_max_per_bucket(f->reg, cap) == VEIL_OK;
}

/*
 * With the cap at 1, an import that puts 2 handles in one bucket is
 * refused whole, and so is an add that makes the second: the registry
 * stays byte for byte as it was, and the refusal says how full the
 * bucket would have been. Handles in other buckets go in as before.
 */
static void
case_bucket_cap_refuses_imports(void)
{
	fixture *f;
	registry_change change;
	char a[40], b[40];
	buf before;
	buf_init(&before);
	REQUIRE(find_bucket_pair(a, b));
	REQUIRE(entry_bucket(a, strlen(a)) == entry_bucket(b, strlen(b)) && strcmp(a, b) != 0);
	REQUIRE((f = fixture_open()) != NULL);
	CHECK(registry_set_max_per_bucket(f->reg, 0) == VEIL_ERR_ARGUMENT);
	CHECK(registry_set_max_per_bucket(f->reg, REGISTRY_MAX_PER_BUCKET + 1) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(registry_set_max_per_bucket(NULL, 1) == VEIL_ERR_ARGUMENT);
	REQUIRE(registry_set_max_per_bucket(f->reg, 1) == VEIL_OK);
	make_handles(f, 5, 21);
	REQUIRE(import_n(f, 5, 1, &change) == VEIL_OK);
	CHECK(change.added == 5 && change.crowded == 0);

	/* The pair, with a payload change for a registered handle: none of it goes in. */
	registry_record records[3] = {record_of(a), record_of(handles[1].handle), record_of(b)};
	REQUIRE(dump(f, &before) == 0);
	REQUIRE(registry_set_max_per_bucket(f->reg, 1) == VEIL_OK);
	CHECK(registry_import(f->reg, f->keys, 1, records, 3, NULL, &change) == VEIL_ERR_LIMIT);
	CHECK(change.crowded == 2 && change.added == 0 && change.replaced == 0);
	CHECK(unchanged_since(f, &before, 1));

	/* One of the pair is fine; the other, added after it, is refused. */
	CHECK(registry_add(f->reg, f->keys, 1, &records[0], &change) == VEIL_OK);
	CHECK(change.added == 1 && change.crowded == 0);
	buf_free(&before);
	buf_init(&before);
	REQUIRE(dump(f, &before) == 0);
	REQUIRE(registry_set_max_per_bucket(f->reg, 1) == VEIL_OK);
	CHECK(registry_add(f->reg, f->keys, 1, &records[2], &change) == VEIL_ERR_LIMIT);
	CHECK(change.crowded == 2 && change.added == 0);
	CHECK(unchanged_since(f, &before, 1));
	CHECK(view_of(f).handles == 6);

	/* Replacing the payload of a registered handle crowds nothing. */
	const registry_record again = {a, strlen(a), (const uint8_t *)"x", 1};
	CHECK(registry_add(f->reg, f->keys, 1, &again, &change) == VEIL_OK);
	CHECK(change.replaced == 1 && change.crowded == 0);

	/* At the default cap the pair is ordinary. */
	registry_free(f->reg);
	REQUIRE(registry_open(f->path, &f->reg) == VEIL_OK);
	CHECK(registry_add(f->reg, f->keys, 1, &records[2], &change) == VEIL_OK);
	CHECK(change.added == 1 && view_of(f).handles == 7);
	buf_free(&before);
}

/*
 * A rotation builds the new index under the cap too: a registry holding
 * two handles in one bucket does not rotate with the cap at 1, and stays
 * as it was (its key, index and slots); a removal, which is never
 * refused, thins it, and then it rotates.
 */
static void
case_bucket_cap_refuses_rotation(void)
{
	fixture *f;
	registry_change change;
	registry_rotation rot;
	oprf_key *next = NULL;
	char a[40], b[40];
	buf before;
	buf_init(&before);
	REQUIRE(find_bucket_pair(a, b));
	REQUIRE((f = fixture_open()) != NULL);
	registry_record records[2] = {record_of(a), record_of(b)};
	REQUIRE(registry_import(f->reg, f->keys, 1, records, 2, NULL, &change) == VEIL_OK);
	REQUIRE(dump(f, &before) == 0);
	REQUIRE(oprf_key_generate(oprf_ctx_suite(f->ctx), &next) == VEIL_OK);
	const registry_key next_key = {KEY_ID + 1, next};

	REQUIRE(registry_set_max_per_bucket(f->reg, 1) == VEIL_OK);
	CHECK(registry_rotate(f->reg, &next_key, 1000, 2000, NULL, &rot) == VEIL_ERR_LIMIT);
	CHECK(rot.crowded == 2 && rot.removed_count == 0);
	CHECK(unchanged_since(f, &before, 1));
	CHECK(view_of(f).key_count == 1);

	CHECK(registry_remove(f->reg, f->keys, 1, b, strlen(b)) == VEIL_OK);
	CHECK(registry_rotate(f->reg, &next_key, 1000, 2000, NULL, &rot) == VEIL_OK);
	CHECK(rot.crowded == 0);
	registry_view view = view_of(f);
	CHECK(view.key_count == 2 && view.key_ids[0] == KEY_ID + 1 && view.handles == 1);
	/* The fixture verifies with the current key only: leave it as it began. */
	registry_rotation retired;
	CHECK(registry_retire(f->reg, 2000, &retired) == VEIL_OK && retired.removed_count == 1);
	f->keys[0] = next_key;
	oprf_key_free(f->key); /* the fixture frees next in its place */
	f->key = next;
	buf_free(&before);
}

static const test_case cases[] = {
        {"create and open errors", case_create_and_open_errors},
        {"a new registry is empty", case_new_registry_is_empty},
        {"buckets hold exactly the matching entries",
         case_buckets_hold_exactly_the_matching_entries},
        {"payloads open under their own output only",
         case_payloads_open_under_their_own_output_only},
        {"slots are the rounded maximum per prefix", case_slots_are_the_rounded_maximum_per_prefix},
        {"bucket limit and bad arguments", case_bucket_limit_and_bad_arguments},
        {"import upserts and the last duplicate wins", case_import_upserts_and_last_duplicate_wins},
        {"add and remove", case_add_and_remove},
        {"refused writes change nothing", case_refused_writes_change_nothing},
        {"a snapshot does not see later changes", case_a_snapshot_does_not_see_later_changes},
        {"threads do not change the index", case_threads_do_not_change_the_index},
        {"verify finds damage", case_verify_finds_damage},
        {"stats", case_stats},
        {"the suite is recorded; none recorded is ristretto255-SHA512", case_the_suite_is_recorded},
        {"bucket cap refuses imports", case_bucket_cap_refuses_imports},
        {"bucket cap refuses rotation", case_bucket_cap_refuses_rotation},
};

TEST_MAIN(cases)
