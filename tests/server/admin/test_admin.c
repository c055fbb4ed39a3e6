/*
 * The real veil-admin binary (path in argv[1]) run in temporary
 * directories: usage and exit codes, keygen and info, import, add and
 * remove, --strict, what is never printed, the progress bar on a
 * terminal only, and kill -9 in the middle of an import.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "clock.h"
#include "harness.h"
#include "keyfile.h"
#include "proc.h"
#include "registry.h"
#include "server_util.h"
#include "state.h"

static const char *admin; /* veil-admin, the program's argument */

static void
setup(void)
{
	admin = test_argv[0];
}

/* Runs veil-admin with args (NULL-terminated, without argv[0]). */
static proc_result
run(const char *const args[], const char *stdin_path)
{
	return proc_call_args(admin, args, stdin_path);
}

static const char *
fresh_state(const char *name)
{
	const char *dir = test_case_path(name);
	proc_result r = proc_call(admin, "keygen", "--state", dir, NULL);
	if (r.status != 0) {
		printf("# keygen failed: %s", r.err);
		abort();
	}
	proc_result_free(&r);
	return dir;
}

static uint64_t
handles_in(const char *dir, int *verified)
{
	veil_state *st = NULL;
	registry_stats s;
	registry_verify_summary v;
	size_t key_count = 0;
	if (state_open(dir, &st, NULL) != VEIL_OK || registry_stats_read(state_registry(st), &s))
		abort();
	const registry_key *keys = state_keys(st, &key_count);
	*verified = registry_verify(state_registry(st), keys, key_count, 2, &v) == VEIL_OK &&
	            registry_verify_ok(&v) && v.handles == s.view.handles;
	state_free(st);
	return s.view.handles;
}

/* ------------------------------------------------------------------ */

static const proc_expect usage_and_help[] = {
        {"no arguments", {NULL}, 2, NULL, "usage:"},
        {"program help", {"--help"}, 0, "import", NULL},
        {"help command", {"help", "remove"}, 0, "usage: veil-admin remove", NULL},
        {"unknown command", {"frobnicate"}, 2, NULL, "unknown command"},
        {"keygen help", {"keygen", "--help"}, 0, "usage: veil-admin keygen", NULL},
        {"keygen help names the suites", {"keygen", "--help"}, 0, "P384-SHA384, P521-SHA512", NULL},
        {"an unknown suite",
         {"keygen", "--state", "x", "--suite", "P224-SHA224"},
         2,
         NULL,
         "unknown suite P224-SHA224 (known: ristretto255-SHA512, P256-SHA256, P384-SHA384, "
         "P521-SHA512)"},
        {"a suite in lowercase",
         {"keygen", "--state", "x", "--suite", "p256-sha256"},
         2,
         NULL,
         "unknown suite"},
        {"a suite without a value",
         {"keygen", "--state", "x", "--suite"},
         2,
         NULL,
         "needs a value"},
        {"import help", {"import", "--help"}, 0, "--strict", NULL},
        {"add help", {"add", "-h"}, 0, "usage: veil-admin add", NULL},
        {"remove help", {"remove", "--help"}, 0, "usage: veil-admin remove", NULL},
        {"stats help", {"stats", "--help"}, 0, "usage: veil-admin stats", NULL},
        {"info help", {"info", "--help"}, 0, "server-key", NULL},
        {"verify help", {"verify", "--help"}, 0, "usage: veil-admin verify", NULL},
        {"missing state", {"stats"}, 2, NULL, "--state DIR is required"},
        {"unknown option", {"stats", "--state", "x", "--bogus"}, 2, NULL, "unknown option"},
        {"option of another command",
         {"stats", "--state", "x", "--strict"},
         2,
         NULL,
         "unknown option"},
        {"option without value", {"import", "--state"}, 2, NULL, "needs a value"},
        {"missing file", {"import", "--state", "x"}, 2, NULL, "missing argument"},
        {"too many", {"remove", "--state", "x", "a", "b"}, 2, NULL, "too many"},
        {"bad threads", {"import", "--state", "x", "--threads", "0"}, 2, NULL, "--threads"},
        {"bad region",
         {"add", "--state=x", "--region", "QQ", "a@b.org"},
         2,
         NULL,
         "unknown region"},
        {"no such state", {"stats", "--state", "/nonexistent/veil"}, 1, NULL, "cannot open state"},
};

static void
case_usage_and_help(void)
{
	proc_check_runs(admin, usage_and_help, TEST_COUNT(usage_and_help), NULL);
}

/*
 * keygen --suite P521-SHA512 (the largest keys: 66-byte scalars, 67-byte
 * elements): info and stats name the suite and print the whole key; an
 * OPRF key file of another suite put in its place is refused, saying so.
 */
static void
case_keygen_of_a_nist_suite(void)
{
	const char *dir = test_case_path("p521");
	proc_result r = proc_call(admin, "keygen", "--state", dir, "--suite", "P521-SHA512", NULL);
	REQUIRE(r.status == 0);
	proc_result_free(&r);
	veil_state *st = NULL;
	uint8_t pk[67];
	char hex[2 * 67 + 1], want[200];
	REQUIRE(state_open(dir, &st, NULL) == VEIL_OK);
	CHECK(state_suite(st) == oprf_suite_by_name("P521-SHA512"));
	oprf_key_public(state_oprf_key(st, 1), pk);
	state_free(st);
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	snprintf(want, sizeof(want), "\noprf-key 1 P521-SHA512 %s\n", hex);
	const char *info[] = {"info", "--state", dir, NULL};
	r = run(info, NULL);
	CHECK(r.status == 0 && strstr(r.out, want) != NULL);
	proc_result_free(&r);
	const char *stats[] = {"stats", "--state", dir, NULL};
	r = run(stats, NULL);
	CHECK(r.status == 0 && strstr(r.out, "\nsuite            P521-SHA512\n") != NULL);
	proc_result_free(&r);

	/* The key file of a ristretto255-SHA512 state, in place of its own. */
	const char *other = fresh_state("r255");
	const char *own_path = proc_path(dir, "oprf-00000001.key");
	REQUIRE(rename(proc_path(other, "oprf-00000001.key"), own_path) == 0);
	r = run(info, NULL);
	CHECK(r.status == 1 && strstr(r.err, "of another suite than the registry's") != NULL);
	proc_result_free(&r);
}

static void
case_keygen_and_info(void)
{
	const char *dir = fresh_state("keygen");
	uint8_t transport[32], oprf[32];
	char hex[65];
	veil_state *st = NULL;

	const char *again[] = {"keygen", "--state", dir, NULL};
	proc_result r = run(again, NULL);
	CHECK(r.status == 1 && strstr(r.err, "already exists") != NULL);
	proc_result_free(&r);

	const char *info[] = {"info", "--state", dir, NULL};
	r = run(info, NULL);
	CHECK(r.status == 0);
	REQUIRE(state_open(dir, &st, NULL) == VEIL_OK);
	char want[128];
	sodium_bin2hex(hex, sizeof(hex), state_transport_public(st), 32);
	snprintf(want, sizeof(want), "server-key %s\n", hex);
	CHECK(strncmp(r.out, want, strlen(want)) == 0);
	uint8_t pk[32];
	oprf_key_public(state_oprf_key(st, 1), pk);
	sodium_bin2hex(hex, sizeof(hex), pk, 32);
	snprintf(want, sizeof(want), "\noprf-key 1 ristretto255-SHA512 %s\n", hex);
	CHECK(strstr(r.out, want) != NULL);
	CHECK(strstr(r.out, "\nhandles 0\n") != NULL);
	CHECK(state_suite(st) == oprf_suite_by_name(REGISTRY_DEFAULT_SUITE));
	state_free(st);

	/* No secret key appears anywhere. */
	const char *transport_path = proc_path(dir, "transport.key");
	const char *oprf_path = proc_path(dir, "oprf-00000001.key");
	REQUIRE(keyfile_read(transport_path, STATE_TRANSPORT_KEY_KIND, transport, 32) == VEIL_OK);
	REQUIRE(keyfile_read(oprf_path, STATE_OPRF_KEY_KIND, oprf, 32) == VEIL_OK);
	sodium_bin2hex(hex, sizeof(hex), transport, 32);
	CHECK(strstr(r.out, hex) == NULL && strstr(r.err, hex) == NULL);
	sodium_bin2hex(hex, sizeof(hex), oprf, 32);
	CHECK(strstr(r.out, hex) == NULL && strstr(r.err, hex) == NULL);
	proc_result_free(&r);

	/* A key file others may read is refused, naming it. */
	REQUIRE(chmod(oprf_path, 0644) == 0);
	r = run(info, NULL);
	CHECK(r.status == 1 && strstr(r.err, "readable by others") != NULL &&
	      strstr(r.err, "OPRF key file") != NULL);
	proc_result_free(&r);
	REQUIRE(chmod(oprf_path, 0600) == 0);
	sodium_memzero(transport, sizeof(transport));
	sodium_memzero(oprf, sizeof(oprf));
}

/* Output must name no handle: these are the distinctive parts of ours. */
static int
mentions_a_handle(const proc_result *r)
{
	static const char *const parts[] = {"zed.private", "5550142", "555 0142", "555-0142",
	                                    "tel:",        "mailto:", "hushhush"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strstr(r->out, parts[i]) != NULL || strstr(r->err, parts[i]) != NULL)
			return 1;
	return 0;
}

static void
case_import_add_remove_stats(void)
{
	const char *dir = fresh_state("edit");
	const char *file = test_case_path("contacts.txt");
	static const char contacts[] = "# contacts\n"
	                               "zed.private@example.org,hushhush\n"
	                               "hushhush maybe\n"
	                               "+1 415 555 0142\n"
	                               "\n"
	                               "(415) 555-0143,needs a region\n"
	                               "ann@example.org,a\n"
	                               "ann@example.org,b\n";
	proc_write_file(file, contacts, sizeof(contacts) - 1);
	int verified = 0;

	const char *import[] = {"import", "--state", dir, file, NULL};
	proc_result r = run(import, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.err, "line 3: not a phone number") != NULL);
	CHECK(strstr(r.err, "line 6: national number needs a default region") != NULL);
	CHECK(strstr(r.out, "imported 3 handles (3 new, 0 replaced), 1 duplicate lines, "
	                    "2 bad lines skipped") != NULL);
	CHECK(strstr(r.out, "handles/s") != NULL);
	CHECK(strchr(r.err, '\r') == NULL); /* no progress bar: not a terminal */
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);
	CHECK(handles_in(dir, &verified) == 3 && verified);

	/* Standard input, with a region: the national number joins. */
	const char *from_stdin[] = {"import", "--state", dir, "--region", "US", "-", NULL};
	r = run(from_stdin, file);
	CHECK(r.status == 0 && strstr(r.out, "imported 4 handles (1 new, 3 replaced)") != NULL);
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);
	CHECK(handles_in(dir, &verified) == 4 && verified);

	const char *add[] = {"add", "--state", dir, "+1 415 555 0199", "hushhush", NULL};
	r = run(add, NULL);
	CHECK(r.status == 0 && strcmp(r.out, "added\n") == 0);
	proc_result_free(&r);
	r = run(add, NULL);
	CHECK(r.status == 0 && strstr(r.out, "replaced") != NULL);
	proc_result_free(&r);
	const char *bad_payload[] = {"add", "--state", dir, "+1 415 555 0199", "a\tb", NULL};
	r = run(bad_payload, NULL);
	CHECK(r.status == 1 && strstr(r.err, "control character") != NULL);
	proc_result_free(&r);
	const char *bad_handle[] = {"add", "--state", dir, "zed.private@", NULL};
	r = run(bad_handle, NULL);
	CHECK(r.status == 1 && strstr(r.err, "not a valid email") != NULL);
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);
	CHECK(handles_in(dir, &verified) == 5 && verified);

	const char *remove[] = {"remove", "--state", dir, "zed.private@EXAMPLE.org", NULL};
	r = run(remove, NULL);
	CHECK(r.status == 0 && strcmp(r.out, "removed\n") == 0);
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);
	r = run(remove, NULL);
	CHECK(r.status == 1 && strstr(r.err, "not registered") != NULL);
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);
	CHECK(handles_in(dir, &verified) == 4 && verified);

	const char *stats[] = {"stats", "--state", dir, NULL};
	r = run(stats, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "handles          4\n") != NULL);
	CHECK(strstr(r.out, "key-ids          1 (current)") != NULL);
	CHECK(strstr(r.out, "file-size") != NULL && strstr(r.out, "p=0") != NULL);
	CHECK(!mentions_a_handle(&r));
	proc_result_free(&r);

	const char *verify[] = {"verify", "--state", dir, NULL};
	r = run(verify, NULL);
	CHECK(r.status == 0 && strstr(r.out, "\nok\n") != NULL);
	proc_result_free(&r);
}

static void
case_strict_refuses_and_changes_nothing(void)
{
	const char *dir = fresh_state("strict");
	const char *file = test_case_path("strict.txt");
	const char *reg = proc_path(dir, "registry");
	buf before, after;
	buf_init(&before);
	buf_init(&after);
	proc_write_file(file, "a@example.org,1\nb@example.org\n", 30);
	const char *import[] = {"import", "--state", dir, "--strict", file, NULL};
	proc_result r = run(import, NULL);
	REQUIRE(r.status == 0);
	proc_result_free(&r);

	REQUIRE(util_dump_registry(reg, &before) == 0);
	proc_write_file(file, "a@example.org,2\nc@example.org\nbad@\nd@example.org\n", 48);
	r = run(import, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "line 3: not a valid email address") != NULL);
	CHECK(strstr(r.err, "refused (--strict): 1 bad line; the registry is unchanged") != NULL);
	proc_result_free(&r);
	REQUIRE(util_dump_registry(reg, &after) == 0);
	CHECK(buf_len(&before) == buf_len(&after) &&
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) == 0);

	/* Without --strict the same file goes in (and the dump changes). */
	const char *lenient[] = {"import", "--state", dir, file, NULL};
	r = run(lenient, NULL);
	CHECK(r.status == 0 && strstr(r.out, "imported 3 handles (2 new, 1 replaced)") != NULL);
	proc_result_free(&r);
	buf_reset(&after);
	REQUIRE(util_dump_registry(reg, &after) == 0);
	CHECK(buf_len(&before) != buf_len(&after) ||
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) != 0);
	buf_free(&before);
	buf_free(&after);
}

static void
case_progress_bar_on_a_terminal_only(void)
{
	const char *dir = fresh_state("tty");
	const char *file = test_case_path("tty.txt");
	buf text;
	buf_init(&text);
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "tty%d@example.org\n", i);
	proc_write_file(file, buf_data(&text), buf_len(&text));
	buf_free(&text);

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	REQUIRE(master >= 0);
	REQUIRE(fcntl(master, F_SETFD, FD_CLOEXEC) == 0);
	REQUIRE(grantpt(master) == 0 && unlockpt(master) == 0);
	const char *name = ptsname(master);
	REQUIRE(name != NULL);
	int slave = open(name, O_RDWR | O_NOCTTY);
	REQUIRE(slave >= 0);
	const char *import[] = {"import", "--state", dir, file, NULL};
	proc_child child;
	proc_spawn(&child, admin, import, NULL, slave);
	close(slave);
	/* Drain the terminal while the import runs; EIO once it has closed. */
	buf seen;
	buf_init(&seen);
	for (;;) {
		char chunk[512];
		ssize_t got = read(master, chunk, sizeof(chunk));
		if (got > 0)
			buf_append(&seen, chunk, (size_t)got);
		else if (got < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	proc_result r = proc_finish(&child);
	CHECK(r.status == 0);
	CHECK(strstr(buf_data(&seen), "evaluating") != NULL);
	CHECK(strstr(buf_data(&seen), "100%") != NULL);
	CHECK(strchr(buf_data(&seen), '\r') != NULL);
	CHECK(strstr(r.out, "imported 300 handles") != NULL);
	proc_result_free(&r);
	buf_free(&seen);
	close(master);
}

static void
case_kill_during_import(void)
{
	const int base_handles = 40, big = 2500, attempts = 6;
	const char *base_file = test_case_path("kill-base.txt");
	const char *big_file = test_case_path("kill-big.txt");
	buf text;
	buf_init(&text);
	for (int i = 0; i < base_handles; i++)
		buf_printf(&text, "base%d@example.org,%d\n", i, i);
	proc_write_file(base_file, buf_data(&text), buf_len(&text));
	buf_reset(&text);
	for (int i = 0; i < big; i++)
		buf_printf(&text, "big%d@example.org%s\n", i, i % 2 ? ",some payload" : "");
	proc_write_file(big_file, buf_data(&text), buf_len(&text));
	buf_free(&text);

	/* How long a whole import takes here, to aim the kills. */
	const char *timing = fresh_state("kill-timing");
	const char *timed[] = {"import", "--state", timing, big_file, NULL};
	const double t0 = clock_monotonic_seconds();
	proc_result r = run(timed, NULL);
	const double whole = clock_monotonic_seconds() - t0;
	REQUIRE(r.status == 0);
	proc_result_free(&r);
	printf("# a whole import of %d handles takes %.3f s\n", big, whole);

	for (int i = 0; i < attempts; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kill-%d", i);
		const char *dir = fresh_state(name);
		const char *seed[] = {"import", "--state", dir, base_file, NULL};
		r = run(seed, NULL);
		REQUIRE(r.status == 0);
		proc_result_free(&r);

		const char *import[] = {"import", "--state", dir, big_file, NULL};
		double delay;
		const int killed = proc_kill_aimed(admin, import, whole, i, 0.8, &delay);

		int verified = 0;
		const uint64_t n = handles_in(dir, &verified);
		CHECK(verified);
		CHECK(n == (uint64_t)base_handles || n == (uint64_t)(base_handles + big));
		printf("# kill after %.3f s: %s, registry %s\n", delay,
		       killed ? "killed" : "had finished",
		       n == (uint64_t)base_handles ? "before" : "after");

		/* A registry left by a kill takes the next import. */
		r = run(import, NULL);
		CHECK(r.status == 0);
		proc_result_free(&r);
		CHECK(handles_in(dir, &verified) == (uint64_t)(base_handles + big) && verified);
	}
}

static const test_case cases[] = {
        {"usage and help", case_usage_and_help},
        {"keygen and info", case_keygen_and_info},
        {"keygen --suite P521-SHA512, and a key file of another suite",
         case_keygen_of_a_nist_suite},
        {"import, add, remove, stats", case_import_add_remove_stats},
        {"strict refuses and changes nothing", case_strict_refuses_and_changes_nothing},
        {"progress bar on a terminal only", case_progress_bar_on_a_terminal_only},
        {"kill -9 during import leaves before or after", case_kill_during_import},
};

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN", .arguments = 1, .setup = setup)
