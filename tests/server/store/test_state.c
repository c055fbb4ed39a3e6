/*
 * State directories on real files: what keygen creates, with which modes,
 * what opening loads, and every refusal with the file it names.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <errno.h>

#include "harness.h"
#include "keyfile.h"
#include "oprf.h"
#include "proc.h"
#include "registry.h"
#include "server_util.h"
#include "state.h"
#include "store_file.h"

static mode_t
mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void
case_create_makes_private_files(void)
{
	const char *dir = test_case_path("create");
	const char *why = "unset";
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	CHECK(why == NULL);
	const char *transport = proc_path(dir, "transport.key");
	const char *oprf = proc_path(dir, "oprf-00000001.key");
	const char *reg = proc_path(dir, "registry");
	const char *data = proc_path(reg, "data.mdb");
	CHECK(mode_of(dir) == 0700);
	CHECK(mode_of(transport) == 0600);
	CHECK(mode_of(oprf) == 0600);
	CHECK(mode_of(reg) == 0700);
	CHECK(mode_of(data) == 0600);
}

static void
case_create_refuses_and_touches_nothing(void)
{
	static const struct {
		const char *name;
		const char *existing; /* made before state_create */
		const char *why_part;
	} cases[] = {
	        {"refuse-transport", "transport.key", "transport"},
	        {"refuse-oprf", "oprf-00000001.key", "OPRF"},
	        {"refuse-registry", "registry", "registry"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *dir = test_case_path(cases[i].name);
		REQUIRE(mkdir(dir, 0700) == 0);
		const char *existing = proc_path(dir, cases[i].existing);
		if (strcmp(cases[i].existing, "registry") == 0)
			REQUIRE(mkdir(existing, 0700) == 0);
		else
			proc_write_file(existing, "x", 1);
		const char *why = NULL;
		CHECK(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_ERR_EXISTS);
		CHECK(why != NULL && strstr(why, cases[i].why_part) != NULL);
		/* Only what the test made is there. */
		DIR *d = opendir(dir);
		REQUIRE(d != NULL);
		struct dirent *e;
		size_t entries = 0;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				entries++;
		closedir(d);
		CHECK(entries == 1);
	}
	/* A second keygen over a complete state. */
	const char *dir = test_case_path("twice");
	const char *why = NULL;
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	CHECK(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_ERR_EXISTS);
	CHECK(why != NULL && strstr(why, "transport") != NULL);
}

static void
case_open_loads_the_keys(void)
{
	const char *dir = test_case_path("open");
	const char *why = NULL;
	veil_state *st = NULL;
	uint8_t secret[32], pk[32], oprf_sk[32], oprf_pk[32], want_pk[32];
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	REQUIRE(state_open(dir, &st, &why) == VEIL_OK);
	CHECK(why == NULL);

	const char *transport = proc_path(dir, "transport.key");
	const char *oprf = proc_path(dir, "oprf-00000001.key");
	REQUIRE(keyfile_read(transport, STATE_TRANSPORT_KEY_KIND, secret, 32) == VEIL_OK);
	REQUIRE(crypto_scalarmult_base(pk, secret) == 0);
	CHECK_BYTES(state_transport_public(st), pk, 32);
	CHECK(sodium_memcmp(state_transport_secret(st), secret, 32) == 0);

	REQUIRE(keyfile_read(oprf, STATE_OPRF_KEY_KIND, oprf_sk, 32) == VEIL_OK);
	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	oprf_key *key = NULL;
	REQUIRE(oprf_key_import(suite, oprf_sk, &key) == VEIL_OK);
	oprf_key_public(key, want_pk);
	oprf_key_free(key);
	REQUIRE(state_oprf_key(st, 1) != NULL);
	oprf_key_public(state_oprf_key(st, 1), oprf_pk);
	CHECK_BYTES(oprf_pk, want_pk, 32);
	CHECK(oprf_key_suite(state_oprf_key(st, 1)) == suite);
	CHECK(state_oprf_key(st, 2) == NULL);
	CHECK(state_current_key_id(st) == 1);
	size_t count = 0;
	const registry_key *keys = state_keys(st, &count);
	CHECK(count == 1 && keys[0].id == 1 && keys[0].key == state_oprf_key(st, 1));
	CHECK(state_registry(st) != NULL);

	/* The registry is there and empty, with key 1 live. */
	registry_reader *r = NULL;
	registry_view view;
	REQUIRE(registry_reader_new(state_registry(st), &r) == VEIL_OK);
	REQUIRE(registry_reader_begin(r, &view) == VEIL_OK);
	CHECK(view.handles == 0 && view.key_count == 1 && view.key_ids[0] == 1);
	CHECK(view.tag_len == STATE_TAG_LEN);
	registry_reader_free(r);
	state_free(st);
	state_free(NULL);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(oprf_sk, sizeof(oprf_sk));
}

static void
case_open_refusals_name_the_file(void)
{
	static const struct {
		const char *name;
		const char *file; /* what the case damages */
		int action;       /* 0 chmod 0644, 1 chmod 0640, 2 remove, 3 garble */
		veil_err err;
		const char *why_part;
	} cases[] = {
	        {"transport-world-readable", "transport.key", 0, VEIL_ERR_PERMISSION, "transport"},
	        {"transport-group-readable", "transport.key", 1, VEIL_ERR_PERMISSION, "transport"},
	        {"oprf-world-readable", "oprf-00000001.key", 0, VEIL_ERR_PERMISSION, "OPRF"},
	        {"transport-missing", "transport.key", 2, VEIL_ERR_NOT_FOUND, "transport"},
	        {"oprf-missing", "oprf-00000001.key", 2, VEIL_ERR_NOT_FOUND, "OPRF"},
	        {"oprf-garbled", "oprf-00000001.key", 3, VEIL_ERR_CORRUPT, "OPRF"},
	        {"registry-missing", "registry/data.mdb", 2, VEIL_ERR_NOT_FOUND, "registry"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *dir = test_case_path(cases[i].name);
		const char *why = NULL;
		veil_state *st = NULL;
		REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
		const char *file = proc_path(dir, cases[i].file);
		switch (cases[i].action) {
		case 0:
			REQUIRE(chmod(file, 0644) == 0);
			break;
		case 1:
			REQUIRE(chmod(file, 0640) == 0);
			break;
		case 2:
			REQUIRE(unlink(file) == 0);
			break;
		case 3:
			REQUIRE(unlink(file) == 0);
			proc_write_file(file, "veil-oprf-key-v1 zz\n", 20);
			REQUIRE(chmod(file, 0600) == 0);
			break;
		}
		CHECK(state_open(dir, &st, &why) == cases[i].err);
		CHECK(st == NULL);
		CHECK(why != NULL && strstr(why, cases[i].why_part) != NULL);
		if (why == NULL || strstr(why, cases[i].why_part) == NULL)
			printf("# case %s: why = %s\n", cases[i].name, why ? why : "(null)");
	}
	const char *why = NULL;
	veil_state *st = NULL;
	const char *missing = test_case_path("no-such-state");
	CHECK(state_open(missing, &st, &why) == VEIL_ERR_NOT_FOUND);
	CHECK(why != NULL && strstr(why, "state directory") != NULL);
	CHECK(state_open(NULL, &st, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(state_create(NULL, OPRF_MODE_OPRF, NULL, NULL) == VEIL_ERR_ARGUMENT);
}

static void
case_create_in_an_existing_empty_directory(void)
{
	const char *dir = test_case_path("existing");
	const char *why = NULL;
	veil_state *st = NULL;
	REQUIRE(mkdir(dir, 0700) == 0);
	CHECK(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	CHECK(state_open(dir, &st, &why) == VEIL_OK);
	state_free(st);
}

/*
 * A state of each suite: its registry records it, its key file carries the
 * suite's label and Ns bytes, and the key loaded is of the suite. The
 * labels are distinct; a suite without one is refused.
 */
static void
case_a_state_of_each_suite(void)
{
	static const struct {
		const char *suite, *kind;
		size_t ns;
	} suites[] = {
	        {"ristretto255-SHA512", "veil-oprf-key-v1", 32},
	        {"P256-SHA256", "veil-oprf-key-v1-P256-SHA256", 32},
	        {"P384-SHA384", "veil-oprf-key-v1-P384-SHA384", 48},
	        {"P521-SHA512", "veil-oprf-key-v1-P521-SHA512", 66},
	};
	for (size_t i = 0; i < TEST_COUNT(suites); i++) {
		const oprf_suite *suite = oprf_suite_by_name(suites[i].suite);
		const char *dir = test_case_path(suites[i].suite);
		const char *why = NULL;
		veil_state *st = NULL;
		uint8_t sk[OPRF_MAX_SCALAR_SIZE];
		REQUIRE(suite != NULL);
		CHECK(strcmp(state_oprf_key_kind(suite), suites[i].kind) == 0);
		REQUIRE(state_create(dir, OPRF_MODE_VOPRF, suite, &why) == VEIL_OK);
		CHECK(keyfile_read(proc_path(dir, "oprf-00000001.key"), suites[i].kind, sk,
		                   suites[i].ns) == VEIL_OK);
		sodium_memzero(sk, sizeof(sk));
		REQUIRE(state_open(dir, &st, &why) == VEIL_OK);
		CHECK(state_suite(st) == suite);
		CHECK(oprf_key_suite(state_oprf_key(st, STATE_FIRST_KEY_ID)) == suite);
		state_free(st);
	}
	CHECK(state_oprf_key_kind(NULL) == NULL);
}

/* The transport key alone: the pair state_open() loads, refusals zero both halves. */
static void
case_transport_key_load(void)
{
	const char *dir = test_case_path("transport");
	const char *why = NULL;
	veil_state *st = NULL;
	uint8_t secret[STATE_TRANSPORT_KEY_SIZE], pk[STATE_TRANSPORT_KEY_SIZE];
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	REQUIRE(state_open(dir, &st, &why) == VEIL_OK);
	CHECK(state_transport_key_load(dir, secret, pk) == VEIL_OK);
	CHECK_BYTES(pk, state_transport_public(st), sizeof(pk));
	CHECK(sodium_memcmp(secret, state_transport_secret(st), sizeof(secret)) == 0);
	state_free(st);

	const char *file = proc_path(dir, STATE_TRANSPORT_KEY_FILE);
	REQUIRE(chmod(file, 0640) == 0);
	memset(pk, 0xaa, sizeof(pk));
	CHECK(state_transport_key_load(dir, secret, pk) == VEIL_ERR_PERMISSION);
	CHECK(sodium_is_zero(secret, sizeof(secret)) && sodium_is_zero(pk, sizeof(pk)));
	REQUIRE(unlink(file) == 0);
	proc_write_file(file, "veil-transport-key-v1 zz\n", 25);
	REQUIRE(chmod(file, 0600) == 0);
	CHECK(state_transport_key_load(dir, secret, pk) == VEIL_ERR_CORRUPT);
	REQUIRE(unlink(file) == 0);
	CHECK(state_transport_key_load(dir, secret, pk) == VEIL_ERR_NOT_FOUND);
	CHECK(state_transport_key_load(NULL, secret, pk) == VEIL_ERR_ARGUMENT);
	CHECK(state_transport_key_load(dir, NULL, pk) == VEIL_ERR_ARGUMENT);
	CHECK(state_transport_key_load(dir, secret, NULL) == VEIL_ERR_ARGUMENT);
	sodium_memzero(secret, sizeof(secret));
}

/* Whether nothing is at path, not even a link. */
static int
absent(const char *path)
{
	struct stat st;
	return lstat(path, &st) != 0;
}

/* A small file written whole: its bytes and mode, replaced whole, no temporary left. */
static void
case_write_synced(void)
{
	const char *dir = test_case_path("files");
	const char *file = proc_path(dir, "note");
	const char *tmp = proc_path(dir, "note.tmp");
	const mode_t saved = umask(022);
	size_t len = 0;
	char *text;
	REQUIRE(mkdir(dir, 0700) == 0);

	CHECK(store_file_write_synced(dir, "note", "one\n", 4, 0644) == VEIL_OK);
	text = test_read_file(file, &len);
	CHECK(text != NULL && len == 4 && memcmp(text, "one\n", 4) == 0);
	free(text);
	CHECK(mode_of(file) == 0644);
	CHECK(absent(tmp));

	/* Replaced whole, shorter or longer, with the new mode. */
	CHECK(store_file_write_synced(dir, "note", "second\n", 7, 0600) == VEIL_OK);
	text = test_read_file(file, &len);
	CHECK(text != NULL && len == 7 && memcmp(text, "second\n", 7) == 0);
	free(text);
	CHECK(mode_of(file) == 0600);
	CHECK(store_file_write_synced(dir, "note", NULL, 0, 0600) == VEIL_OK);
	text = test_read_file(file, &len);
	CHECK(text != NULL && len == 0);
	free(text);

	/* A stale temporary, and a link at its name, are removed, never written through. */
	proc_write_file(tmp, "stale stale stale\n", 18);
	CHECK(store_file_write_synced(dir, "note", "third\n", 6, 0600) == VEIL_OK);
	text = test_read_file(file, &len);
	CHECK(text != NULL && len == 6 && memcmp(text, "third\n", 6) == 0);
	free(text);
	CHECK(absent(tmp));
	const char *outside = test_case_path("outside");
	proc_write_file(outside, "keep\n", 5);
	REQUIRE(symlink(outside, tmp) == 0);
	CHECK(store_file_write_synced(dir, "note", "fourth\n", 7, 0600) == VEIL_OK);
	text = test_read_file(outside, &len);
	CHECK(text != NULL && len == 5 && memcmp(text, "keep\n", 5) == 0);
	free(text);
	CHECK(absent(tmp));
	CHECK(mode_of(file) == 0600);

	/* Refusals: nothing written. */
	CHECK(store_file_write_synced(test_case_path("no-dir"), "note", "x", 1, 0600) ==
	      VEIL_ERR_SYSTEM);
	CHECK(absent(test_case_path("no-dir")));
	CHECK(store_file_write_synced(NULL, "note", "x", 1, 0600) == VEIL_ERR_ARGUMENT);
	CHECK(store_file_write_synced(dir, NULL, "x", 1, 0600) == VEIL_ERR_ARGUMENT);
	CHECK(store_file_write_synced(dir, "note", NULL, 1, 0600) == VEIL_ERR_ARGUMENT);
	text = test_read_file(file, &len);
	CHECK(text != NULL && len == 7 && memcmp(text, "fourth\n", 7) == 0);
	free(text);
	umask(saved);
}

/* What exists: a file, a directory, a link to one; not a dangling link, not nothing. */
static void
case_exists(void)
{
	const char *dir = test_case_path("here");
	REQUIRE(mkdir(dir, 0700) == 0);
	proc_write_file(proc_path(dir, "file"), "x", 1);
	REQUIRE(mkdir(proc_path(dir, "sub"), 0700) == 0);
	REQUIRE(symlink("file", proc_path(dir, "link")) == 0);
	REQUIRE(symlink("nothing", proc_path(dir, "dangling")) == 0);
	CHECK(store_file_exists(dir, "file") == 1);
	CHECK(store_file_exists(dir, "sub") == 1);
	CHECK(store_file_exists(dir, "link") == 1);
	CHECK(store_file_exists(dir, "dangling") == 0);
	CHECK(store_file_exists(dir, "nothing") == 0);
	CHECK(store_file_exists(test_case_path("no-dir"), "file") == 0);
}

static void
case_errno_err(void)
{
	CHECK(store_file_errno_err(ENOENT) == VEIL_ERR_NOT_FOUND);
	CHECK(store_file_errno_err(ENOMEM) == VEIL_ERR_NOMEM);
	CHECK(store_file_errno_err(EACCES) == VEIL_ERR_SYSTEM);
	CHECK(store_file_errno_err(EIO) == VEIL_ERR_SYSTEM);
}

/* The handles and live key ids of the state in dir. */
static void
handles_and_keys(const char *dir, uint64_t *handles, uint32_t *key_count)
{
	veil_state *st = NULL;
	registry_stats stats;
	*handles = UINT64_MAX;
	*key_count = 0;
	if (state_open(dir, &st, NULL) != VEIL_OK)
		return;
	if (registry_stats_read(state_registry(st), &stats) == VEIL_OK) {
		*handles = stats.view.handles;
		*key_count = stats.view.key_count;
	}
	state_free(st);
}

static void
case_snapshot_copies_what_a_replica_serves(void)
{
	const char *dir = test_case_path("state");
	const char *out = test_case_path("replica");
	const char *why = NULL;
	veil_state *st = NULL;
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	REQUIRE(state_open(dir, &st, &why) == VEIL_OK);
	for (unsigned i = 0; i < 50; i++) {
		char handle[32];
		const int n = snprintf(handle, sizeof(handle), "+1617555%04u", i);
		const registry_record rec = {.handle = handle, .handle_len = (size_t)n};
		size_t count = 0;
		const registry_key *keys = state_keys(st, &count);
		registry_change change;
		REQUIRE(registry_add(state_registry(st), keys, count, &rec, &change) == VEIL_OK);
	}
	/* Two live keys: both key files go with the copy. */
	state_rotation rotation;
	REQUIRE(state_rotate(st, 1000, 3600, NULL, &rotation, &why) == VEIL_OK);
	state_free(st);
	/* What a serving veild gathers stays behind; a token issuer's copy goes. */
	const char *gathered[] = {"log", "clients", "spent"};
	for (size_t i = 0; i < sizeof(gathered) / sizeof(gathered[0]); i++)
		REQUIRE(mkdir(proc_path(dir, gathered[i]), 0700) == 0);
	proc_write_file(proc_path(dir, "clients.key"), "k", 1);
	proc_write_file(proc_path(dir, "spent.key"), "k", 1);
	REQUIRE(mkdir(proc_path(dir, STATE_TOKENS_DIR), 0700) == 0);
	proc_write_file(proc_path(proc_path(dir, STATE_TOKENS_DIR), "challenge"), "c\n", 2);

	why = "unset";
	REQUIRE(state_snapshot(dir, out, &why) == VEIL_OK);
	CHECK(why == NULL);
	CHECK(mode_of(out) == 0700);
	CHECK(mode_of(proc_path(out, "transport.key")) == 0600);
	CHECK(mode_of(proc_path(out, "oprf-00000001.key")) == 0600);
	CHECK(mode_of(proc_path(out, "oprf-00000002.key")) == 0600);
	CHECK(mode_of(proc_path(out, "registry")) == 0700);
	CHECK(mode_of(proc_path(proc_path(out, "registry"), "data.mdb")) == 0600);
	CHECK(mode_of(proc_path(proc_path(out, STATE_TOKENS_DIR), "challenge")) == 0600);
	static const char *const never[] = {"log", "clients", "spent", "clients.key", "spent.key"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		CHECK_ROW(mode_of(proc_path(out, never[i])) == (mode_t)-1, never[i]);
	CHECK(mode_of(test_case_path("replica.tmp")) == (mode_t)-1);

	/* The copy opens as a state: the same keys and handles. */
	uint64_t handles = 0;
	uint32_t key_count = 0;
	handles_and_keys(out, &handles, &key_count);
	CHECK(handles == 50 && key_count == 2);
	veil_state *a = NULL, *b = NULL;
	REQUIRE(state_open(dir, &a, NULL) == VEIL_OK);
	REQUIRE(state_open(out, &b, NULL) == VEIL_OK);
	CHECK_BYTES(state_transport_public(b), state_transport_public(a), 32);
	registry_verify_summary v;
	size_t count = 0;
	const registry_key *keys = state_keys(b, &count);
	CHECK(registry_verify(state_registry(b), keys, count, 1, &v) == VEIL_OK &&
	      registry_verify_ok(&v) && v.handles == 50);
	state_free(a);
	state_free(b);
}

static void
case_snapshot_refusals(void)
{
	const char *dir = test_case_path("state");
	const char *out = test_case_path("replica");
	const char *why = NULL;
	REQUIRE(state_create(dir, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	CHECK(state_snapshot(NULL, out, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(state_snapshot(dir, NULL, NULL) == VEIL_ERR_ARGUMENT);
	/* No state there: nothing is left behind. */
	CHECK(state_snapshot(test_case_path("none"), out, &why) != VEIL_OK && why != NULL);
	CHECK(mode_of(out) == (mode_t)-1 && mode_of(test_case_path("replica.tmp")) == (mode_t)-1);
	/* An existing output, or a leftover .tmp: refused, untouched. */
	REQUIRE(mkdir(out, 0755) == 0);
	CHECK(state_snapshot(dir, out, &why) == VEIL_ERR_EXISTS && why != NULL);
	CHECK(mode_of(out) == 0755 && mode_of(proc_path(out, "registry")) == (mode_t)-1);
	REQUIRE(rmdir(out) == 0);
	REQUIRE(mkdir(test_case_path("replica.tmp"), 0755) == 0);
	CHECK(state_snapshot(dir, out, &why) == VEIL_ERR_EXISTS && why != NULL);
	CHECK(mode_of(out) == (mode_t)-1 && mode_of(test_case_path("replica.tmp")) == 0755);
}

/* ------------------------------------------------------------------ */
/* Installing a snapshot into a replica */

/* Registers handles "+1617556<first..end)" in the state in dir. */
static void
add_handles(const char *dir, unsigned first, unsigned end)
{
	veil_state *st = NULL;
	REQUIRE(state_open(dir, &st, NULL) == VEIL_OK);
	for (unsigned i = first; i < end; i++) {
		char handle[32];
		const int n = snprintf(handle, sizeof(handle), "+1617556%04u", i);
		const registry_record rec = {.handle = handle, .handle_len = (size_t)n};
		size_t count = 0;
		const registry_key *keys = state_keys(st, &count);
		registry_change change;
		REQUIRE(registry_add(state_registry(st), keys, count, &rec, &change) == VEIL_OK);
	}
	state_free(st);
}

/* The names in dir, with a type letter each (d, l, f), sorted, in one string. */
static char *
listing(const char *dir)
{
	struct dirent **names = NULL;
	const int n = scandir(dir, &names, NULL, alphasort);
	size_t cap = 16, len = 0;
	char *out = calloc(1, cap);
	if (out == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		struct stat st;
		const char *path = proc_path(dir, names[i]->d_name);
		const char type = lstat(path, &st) != 0 ? '?'
		                  : S_ISLNK(st.st_mode) ? 'l'
		                  : S_ISDIR(st.st_mode) ? 'd'
		                                        : 'f';
		const size_t need = len + strlen(names[i]->d_name) + 4;
		if (need > cap) {
			cap = need * 2;
			if ((out = realloc(out, cap)) == NULL)
				abort();
		}
		len += (size_t)sprintf(out + len, "%c:%s ", type, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return test_keep(out);
}

/* Where dir/registry points ("" for a plain directory). */
static const char *
registry_target(const char *dir)
{
	static char target[64];
	const ssize_t n = readlink(proc_path(dir, "registry"), target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	return target;
}

static void
case_install_switches_and_keeps_the_rest(void)
{
	const char *primary = test_case_path("primary");
	const char *replica = test_case_path("replica");
	const char *why = "unset";
	state_install_result r;
	REQUIRE(state_create(primary, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	add_handles(primary, 0, 10);
	REQUIRE(state_snapshot(primary, replica, &why) == VEIL_OK);
	CHECK(mode_of(proc_path(replica, STATE_SNAPSHOT_MARK)) == 0600);
	CHECK(state_is_replica(replica) == 1 && state_is_replica(primary) == 0);
	/* What the replica's veild gathers, which an install must keep. */
	REQUIRE(mkdir(proc_path(replica, "log"), 0700) == 0);
	proc_write_file(proc_path(proc_path(replica, "log"), "data.mdb"), "entries", 7);
	proc_write_file(proc_path(replica, "clients.key"), "k", 1);
	veil_state *before = NULL;
	REQUIRE(state_open(replica, &before, NULL) == VEIL_OK);
	CHECK(state_registry_changed(before) == 0);

	/* A new handle and a rotation on the primary, shipped by snapshot. */
	add_handles(primary, 10, 15);
	veil_state *st = NULL;
	state_rotation rotation;
	REQUIRE(state_open(primary, &st, NULL) == VEIL_OK);
	REQUIRE(state_rotate(st, 1000, 3600, NULL, &rotation, &why) == VEIL_OK);
	state_free(st);
	const char *snap = test_case_path("snap1");
	REQUIRE(state_snapshot(primary, snap, &why) == VEIL_OK);
	why = "unset";
	CHECK(state_install(replica, snap, &r, &why) == VEIL_OK && why == NULL);
	CHECK(r.generation == 1 && r.previous == 0 && r.keys_copied == 1 && r.removed == 0);
	CHECK(strcmp(registry_target(replica), "registry.1") == 0);
	CHECK(mode_of(proc_path(replica, "registry.0")) == 0700); /* the plain one, kept */
	CHECK(mode_of(proc_path(replica, "oprf-00000002.key")) == 0600);
	CHECK(mode_of(snap) == (mode_t)-1); /* consumed */
	CHECK(mode_of(proc_path(proc_path(replica, "log"), "data.mdb")) != (mode_t)-1);
	CHECK(mode_of(proc_path(replica, "clients.key")) != (mode_t)-1);
	/* A state open from before sees the switch; the old one still reads. */
	CHECK(state_registry_changed(before) == 1);
	uint64_t handles = 0;
	uint32_t key_count = 0;
	registry_stats stats;
	CHECK(registry_stats_read(state_registry(before), &stats) == VEIL_OK &&
	      stats.view.handles == 10);
	handles_and_keys(replica, &handles, &key_count);
	CHECK(handles == 15 && key_count == 2);
	veil_state *after = NULL;
	REQUIRE(state_open(replica, &after, NULL) == VEIL_OK);
	CHECK(state_registry_changed(after) == 0);
	CHECK(state_current_key_id(after) == 2);
	registry_verify_summary v;
	size_t count = 0;
	const registry_key *keys = state_keys(after, &count);
	CHECK(registry_verify(state_registry(after), keys, count, 1, &v) == VEIL_OK &&
	      registry_verify_ok(&v));
	state_free(after);

	/* The next install: the plain one goes, generation 1 stays; key 1,
	 * retired on the primary meanwhile, is erased once neither lists it. */
	REQUIRE(state_open(primary, &st, NULL) == VEIL_OK);
	REQUIRE(state_retire_keys(st, 1000 + 3600, &rotation, &why) == VEIL_OK);
	state_free(st);
	REQUIRE(state_snapshot(primary, test_case_path("snap2"), &why) == VEIL_OK);
	CHECK(state_install(replica, test_case_path("snap2"), &r, &why) == VEIL_OK);
	CHECK(r.generation == 2 && r.previous == 1 && r.keys_copied == 0 && r.removed == 1);
	CHECK(r.erased_files == 0); /* generation 1 still lists key 1 */
	CHECK(strcmp(registry_target(replica), "registry.2") == 0);
	CHECK(mode_of(proc_path(replica, "registry.0")) == (mode_t)-1);
	CHECK(mode_of(proc_path(replica, "registry.1")) == 0700);
	/* A reader that never switched (a veild two installs behind) still
	 * reads the generation removed from under it: unlinked, not wiped. */
	memset(&stats, 0, sizeof(stats));
	CHECK(registry_stats_read(state_registry(before), &stats) == VEIL_OK &&
	      stats.view.handles == 10);
	state_free(before);
	REQUIRE(state_snapshot(primary, test_case_path("snap3"), &why) == VEIL_OK);
	CHECK(state_install(replica, test_case_path("snap3"), &r, &why) == VEIL_OK);
	CHECK(r.generation == 3 && r.previous == 2 && r.removed == 1 && r.erased_files == 1);
	CHECK(mode_of(proc_path(replica, "oprf-00000001.key")) == (mode_t)-1);
	CHECK(mode_of(proc_path(replica, "oprf-00000002.key")) == 0600);
	handles_and_keys(replica, &handles, &key_count);
	CHECK(handles == 15 && key_count == 1);
}

static void
case_install_refusals_leave_the_replica_untouched(void)
{
	const char *primary = test_case_path("primary");
	const char *other = test_case_path("other");
	const char *replica = test_case_path("replica");
	const char *why = NULL;
	state_install_result r;
	REQUIRE(state_create(primary, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	REQUIRE(state_create(other, OPRF_MODE_OPRF, NULL, &why) == VEIL_OK);
	add_handles(primary, 0, 5);
	REQUIRE(state_snapshot(primary, replica, &why) == VEIL_OK);
	add_handles(primary, 5, 8);
	const char *const replica_was = listing(replica);

	/* Each row: a source directory made as it says, refused with err. */
	static const struct {
		const char *name;
		veil_err err;
	} rows[] = {
	        {"another server's snapshot", VEIL_ERR_ARGUMENT},
	        {"a state, not a snapshot", VEIL_ERR_NOT_FOUND},
	        {"a snapshot with more in it", VEIL_ERR_CORRUPT},
	        {"a snapshot missing a key file", VEIL_ERR_NOT_FOUND},
	        {"a replica key file that differs", VEIL_ERR_EXISTS},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "src%zu", i);
		const char *src = test_case_path(name);
		switch (i) {
		case 0:
			REQUIRE(state_snapshot(other, src, &why) == VEIL_OK);
			break;
		case 1:
			src = primary;
			break;
		case 2:
			REQUIRE(state_snapshot(primary, src, &why) == VEIL_OK);
			REQUIRE(mkdir(proc_path(src, "log"), 0700) == 0);
			break;
		case 3:
			REQUIRE(state_snapshot(primary, src, &why) == VEIL_OK);
			REQUIRE(unlink(proc_path(src, "oprf-00000001.key")) == 0);
			break;
		case 4: {
			/* A key file of the same name with other bytes: the other state's key 1. */
			REQUIRE(state_snapshot(primary, src, &why) == VEIL_OK);
			REQUIRE(unlink(proc_path(src, "oprf-00000001.key")) == 0);
			REQUIRE(link(proc_path(other, "oprf-00000001.key"),
			             proc_path(src, "oprf-00000001.key")) == 0);
			break;
		}
		}
		const char *const src_was = listing(src);
		why = NULL;
		CHECK_ROW(state_install(replica, src, &r, &why) == rows[i].err, rows[i].name);
		CHECK_ROW(why != NULL && r.generation == 0, rows[i].name);
		CHECK_ROW(strcmp(listing(replica), replica_was) == 0, rows[i].name);
		CHECK_ROW(strcmp(listing(src), src_was) == 0, rows[i].name);
	}
	CHECK(state_install(NULL, replica, &r, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(state_install(replica, NULL, &r, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(state_install(replica, primary, NULL, NULL) == VEIL_ERR_ARGUMENT);
	/* The replica still opens and serves what it did. */
	uint64_t handles = 0;
	uint32_t key_count = 0;
	handles_and_keys(replica, &handles, &key_count);
	CHECK(handles == 5 && key_count == 1);
	CHECK(strcmp(listing(replica), replica_was) == 0);
}

static const test_case cases[] = {
        {"create makes private files", case_create_makes_private_files},
        {"create refuses and touches nothing", case_create_refuses_and_touches_nothing},
        {"open loads the keys", case_open_loads_the_keys},
        {"open refusals name the file", case_open_refusals_name_the_file},
        {"create in an existing empty directory", case_create_in_an_existing_empty_directory},
        {"a state of each suite", case_a_state_of_each_suite},
        {"the transport key loaded alone", case_transport_key_load},
        {"a small file written whole", case_write_synced},
        {"whether a file exists", case_exists},
        {"errno to veil_err", case_errno_err},
        {"a snapshot copies what a replica serves", case_snapshot_copies_what_a_replica_serves},
        {"a snapshot's refusals", case_snapshot_refusals},
        {"install switches the registry and keeps the rest",
         case_install_switches_and_keeps_the_rest},
        {"install refusals leave the replica untouched",
         case_install_refusals_leave_the_replica_untouched},
};

TEST_MAIN(cases)
