/*
 * The real veil-admin binary (path in argv[1]) run in temporary
 * directories: usage and exit codes, keygen and info, import, add and
 * remove, --strict, what is never printed, the progress bar on a
 * terminal only, and kill -9 in the middle of an import.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "harness.h"
#include "keyfile.h"
#include "registry.h"
#include "server_util.h"
#include "state.h"

static const char *admin;
static char *base;

typedef struct result {
	int status; /* exit status, or 128 + signal */
	char *out;
	char *err;
} result;

static void
result_free(result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static char *
slurp(const char *path)
{
	return test_read_file(path, NULL);
}

static int
status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/*
 * Starts veil-admin with args (NULL-terminated, without argv[0]); its
 * stdin from stdin_path (or /dev/null), stdout and stderr into files.
 * stderr_fd >= 0 replaces the stderr file (a terminal).
 */
static pid_t
start(const char *const args[], const char *stdin_path, int stderr_fd)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = admin;
	for (size_t i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *out = util_join(base, "stdout");
	char *err = util_join(base, "stderr");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = stderr_fd >= 0 ? stderr_fd : open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(admin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	free(out);
	free(err);
	return pid;
}

static result
finish(pid_t pid)
{
	result r;
	int wstatus = 0;
	memset(&r, 0, sizeof(r));
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	r.status = status_of(wstatus);
	char *out = util_join(base, "stdout");
	char *err = util_join(base, "stderr");
	r.out = slurp(out);
	r.err = access(err, R_OK) == 0 ? slurp(err) : strdup("");
	free(out);
	free(err);
	return r;
}

static result
run(const char *const args[], const char *stdin_path)
{
	return finish(start(args, stdin_path, -1));
}

static char *
fresh_state(const char *name)
{
	char *dir = util_join(base, name);
	const char *args[] = {"keygen", "--state", dir, NULL};
	result r = run(args, NULL);
	if (r.status != 0) {
		printf("# keygen failed: %s", r.err);
		abort();
	}
	result_free(&r);
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

static void
case_usage_and_help(void)
{
	static const struct {
		const char *name;
		const char *args[6];
		int status;
		const char *in_out; /* expected in stdout, or NULL */
		const char *in_err; /* expected in stderr, or NULL */
	} cases[] = {
	        {"no arguments", {NULL}, 2, NULL, "usage:"},
	        {"program help", {"--help", NULL}, 0, "import", NULL},
	        {"help command", {"help", "remove", NULL}, 0, "usage: veil-admin remove", NULL},
	        {"unknown command", {"frobnicate", NULL}, 2, NULL, "unknown command"},
	        {"keygen help", {"keygen", "--help", NULL}, 0, "usage: veil-admin keygen", NULL},
	        {"import help", {"import", "--help", NULL}, 0, "--strict", NULL},
	        {"add help", {"add", "-h", NULL}, 0, "usage: veil-admin add", NULL},
	        {"remove help", {"remove", "--help", NULL}, 0, "usage: veil-admin remove", NULL},
	        {"stats help", {"stats", "--help", NULL}, 0, "usage: veil-admin stats", NULL},
	        {"info help", {"info", "--help", NULL}, 0, "server-key", NULL},
	        {"verify help", {"verify", "--help", NULL}, 0, "usage: veil-admin verify", NULL},
	        {"missing state", {"stats", NULL}, 2, NULL, "--state DIR is required"},
	        {"unknown option",
	         {"stats", "--state", "x", "--bogus", NULL},
	         2,
	         NULL,
	         "unknown option"},
	        {"option of another command",
	         {"stats", "--state", "x", "--strict", NULL},
	         2,
	         NULL,
	         "unknown option"},
	        {"option without value", {"import", "--state", NULL}, 2, NULL, "needs a value"},
	        {"missing file", {"import", "--state", "x", NULL}, 2, NULL, "missing argument"},
	        {"too many", {"remove", "--state", "x", "a", "b", NULL}, 2, NULL, "too many"},
	        {"bad threads",
	         {"import", "--state", "x", "--threads", "0", NULL},
	         2,
	         NULL,
	         "--threads"},
	        {"bad region",
	         {"add", "--state=x", "--region", "QQ", "a@b.org", NULL},
	         2,
	         NULL,
	         "unknown region"},
	        {"no such state",
	         {"stats", "--state", "/nonexistent/veil", NULL},
	         1,
	         NULL,
	         "cannot open state"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		result r = run(cases[i].args, NULL);
		int ok = r.status == cases[i].status &&
		         (cases[i].in_out == NULL || strstr(r.out, cases[i].in_out) != NULL) &&
		         (cases[i].in_err == NULL || strstr(r.err, cases[i].in_err) != NULL);
		test_checks++;
		if (!ok) {
			printf("# case '%s': status %d\n# stdout: %s\n# stderr: %s\n",
			       cases[i].name, r.status, r.out, r.err);
			test_fail(__FILE__, __LINE__, cases[i].name);
		}
		result_free(&r);
	}
}

static void
case_keygen_and_info(void)
{
	char *dir = fresh_state("keygen");
	uint8_t transport[32], oprf[32];
	char hex[65];
	veil_state *st = NULL;

	const char *again[] = {"keygen", "--state", dir, NULL};
	result r = run(again, NULL);
	CHECK(r.status == 1 && strstr(r.err, "already exists") != NULL);
	result_free(&r);

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
	state_free(st);

	/* No secret key appears anywhere. */
	char *transport_path = util_join(dir, "transport.key");
	char *oprf_path = util_join(dir, "oprf-00000001.key");
	REQUIRE(keyfile_read(transport_path, STATE_TRANSPORT_KEY_KIND, transport, 32) == VEIL_OK);
	REQUIRE(keyfile_read(oprf_path, STATE_OPRF_KEY_KIND, oprf, 32) == VEIL_OK);
	sodium_bin2hex(hex, sizeof(hex), transport, 32);
	CHECK(strstr(r.out, hex) == NULL && strstr(r.err, hex) == NULL);
	sodium_bin2hex(hex, sizeof(hex), oprf, 32);
	CHECK(strstr(r.out, hex) == NULL && strstr(r.err, hex) == NULL);
	result_free(&r);

	/* A key file others may read is refused, naming it. */
	REQUIRE(chmod(oprf_path, 0644) == 0);
	r = run(info, NULL);
	CHECK(r.status == 1 && strstr(r.err, "readable by others") != NULL &&
	      strstr(r.err, "OPRF key file") != NULL);
	result_free(&r);
	REQUIRE(chmod(oprf_path, 0600) == 0);
	sodium_memzero(transport, sizeof(transport));
	sodium_memzero(oprf, sizeof(oprf));
	free(transport_path);
	free(oprf_path);
	free(dir);
}

/* Output must name no handle: these are the distinctive parts of ours. */
static int
mentions_a_handle(const result *r)
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
	char *dir = fresh_state("edit");
	char *file = util_join(base, "contacts.txt");
	static const char contacts[] = "# contacts\n"
	                               "zed.private@example.org,hushhush\n"
	                               "hushhush maybe\n"
	                               "+1 415 555 0142\n"
	                               "\n"
	                               "(415) 555-0143,needs a region\n"
	                               "ann@example.org,a\n"
	                               "ann@example.org,b\n";
	util_write_file(file, contacts, sizeof(contacts) - 1);
	int verified = 0;

	const char *import[] = {"import", "--state", dir, file, NULL};
	result r = run(import, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.err, "line 3: not a phone number") != NULL);
	CHECK(strstr(r.err, "line 6: national number needs a default region") != NULL);
	CHECK(strstr(r.out, "imported 3 handles (3 new, 0 replaced), 1 duplicate lines, "
	                    "2 bad lines skipped") != NULL);
	CHECK(strstr(r.out, "handles/s") != NULL);
	CHECK(strchr(r.err, '\r') == NULL); /* no progress bar: not a terminal */
	CHECK(!mentions_a_handle(&r));
	result_free(&r);
	CHECK(handles_in(dir, &verified) == 3 && verified);

	/* Standard input, with a region: the national number joins. */
	const char *from_stdin[] = {"import", "--state", dir, "--region", "US", "-", NULL};
	r = run(from_stdin, file);
	CHECK(r.status == 0 && strstr(r.out, "imported 4 handles (1 new, 3 replaced)") != NULL);
	CHECK(!mentions_a_handle(&r));
	result_free(&r);
	CHECK(handles_in(dir, &verified) == 4 && verified);

	const char *add[] = {"add", "--state", dir, "+1 415 555 0199", "hushhush", NULL};
	r = run(add, NULL);
	CHECK(r.status == 0 && strcmp(r.out, "added\n") == 0);
	result_free(&r);
	r = run(add, NULL);
	CHECK(r.status == 0 && strstr(r.out, "replaced") != NULL);
	result_free(&r);
	const char *bad_payload[] = {"add", "--state", dir, "+1 415 555 0199", "a\tb", NULL};
	r = run(bad_payload, NULL);
	CHECK(r.status == 1 && strstr(r.err, "control character") != NULL);
	result_free(&r);
	const char *bad_handle[] = {"add", "--state", dir, "zed.private@", NULL};
	r = run(bad_handle, NULL);
	CHECK(r.status == 1 && strstr(r.err, "not a valid email") != NULL);
	CHECK(!mentions_a_handle(&r));
	result_free(&r);
	CHECK(handles_in(dir, &verified) == 5 && verified);

	const char *remove[] = {"remove", "--state", dir, "zed.private@EXAMPLE.org", NULL};
	r = run(remove, NULL);
	CHECK(r.status == 0 && strcmp(r.out, "removed\n") == 0);
	CHECK(!mentions_a_handle(&r));
	result_free(&r);
	r = run(remove, NULL);
	CHECK(r.status == 1 && strstr(r.err, "not registered") != NULL);
	CHECK(!mentions_a_handle(&r));
	result_free(&r);
	CHECK(handles_in(dir, &verified) == 4 && verified);

	const char *stats[] = {"stats", "--state", dir, NULL};
	r = run(stats, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "handles          4\n") != NULL);
	CHECK(strstr(r.out, "key-ids          1 (current)") != NULL);
	CHECK(strstr(r.out, "file-size") != NULL && strstr(r.out, "p=0") != NULL);
	CHECK(!mentions_a_handle(&r));
	result_free(&r);

	const char *verify[] = {"verify", "--state", dir, NULL};
	r = run(verify, NULL);
	CHECK(r.status == 0 && strstr(r.out, "\nok\n") != NULL);
	result_free(&r);
	free(file);
	free(dir);
}

static void
case_strict_refuses_and_changes_nothing(void)
{
	char *dir = fresh_state("strict");
	char *file = util_join(base, "strict.txt");
	char *reg = util_join(dir, "registry");
	buf before, after;
	buf_init(&before);
	buf_init(&after);
	util_write_file(file, "a@example.org,1\nb@example.org\n", 30);
	const char *import[] = {"import", "--state", dir, "--strict", file, NULL};
	result r = run(import, NULL);
	REQUIRE(r.status == 0);
	result_free(&r);

	REQUIRE(util_dump_registry(reg, &before) == 0);
	util_write_file(file, "a@example.org,2\nc@example.org\nbad@\nd@example.org\n", 48);
	r = run(import, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "line 3: not a valid email address") != NULL);
	CHECK(strstr(r.err, "refused (--strict): 1 bad line; the registry is unchanged") != NULL);
	result_free(&r);
	REQUIRE(util_dump_registry(reg, &after) == 0);
	CHECK(buf_len(&before) == buf_len(&after) &&
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) == 0);

	/* Without --strict the same file goes in (and the dump changes). */
	const char *lenient[] = {"import", "--state", dir, file, NULL};
	r = run(lenient, NULL);
	CHECK(r.status == 0 && strstr(r.out, "imported 3 handles (2 new, 1 replaced)") != NULL);
	result_free(&r);
	buf_reset(&after);
	REQUIRE(util_dump_registry(reg, &after) == 0);
	CHECK(buf_len(&before) != buf_len(&after) ||
	      memcmp(buf_data(&before), buf_data(&after), buf_len(&after)) != 0);
	buf_free(&before);
	buf_free(&after);
	free(reg);
	free(file);
	free(dir);
}

static void
case_progress_bar_on_a_terminal_only(void)
{
	char *dir = fresh_state("tty");
	char *file = util_join(base, "tty.txt");
	buf text;
	buf_init(&text);
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "tty%d@example.org\n", i);
	util_write_file(file, buf_data(&text), buf_len(&text));
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
	pid_t pid = start(import, NULL, slave);
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
	result r = finish(pid);
	CHECK(r.status == 0);
	CHECK(strstr(buf_data(&seen), "evaluating") != NULL);
	CHECK(strstr(buf_data(&seen), "100%") != NULL);
	CHECK(strchr(buf_data(&seen), '\r') != NULL);
	CHECK(strstr(r.out, "imported 300 handles") != NULL);
	result_free(&r);
	buf_free(&seen);
	close(master);
	free(file);
	free(dir);
}

static double
seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
case_kill_during_import_leaves_before_or_after(void)
{
	const int base_handles = 40, big = 2500, attempts = 6;
	char *base_file = util_join(base, "kill-base.txt");
	char *big_file = util_join(base, "kill-big.txt");
	buf text;
	buf_init(&text);
	for (int i = 0; i < base_handles; i++)
		buf_printf(&text, "base%d@example.org,%d\n", i, i);
	util_write_file(base_file, buf_data(&text), buf_len(&text));
	buf_reset(&text);
	for (int i = 0; i < big; i++)
		buf_printf(&text, "big%d@example.org%s\n", i, i % 2 ? ",some payload" : "");
	util_write_file(big_file, buf_data(&text), buf_len(&text));
	buf_free(&text);

	/* How long a whole import takes here, to aim the kills. */
	char *timing = fresh_state("kill-timing");
	const char *timed[] = {"import", "--state", timing, big_file, NULL};
	const double t0 = seconds_now();
	result r = run(timed, NULL);
	const double whole = seconds_now() - t0;
	REQUIRE(r.status == 0);
	result_free(&r);
	printf("# a whole import of %d handles takes %.3f s\n", big, whole);

	int before = 0, after = 0;
	for (int i = 0; i < attempts; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kill-%d", i);
		char *dir = fresh_state(name);
		const char *seed[] = {"import", "--state", dir, base_file, NULL};
		r = run(seed, NULL);
		REQUIRE(r.status == 0);
		result_free(&r);

		/* Half anywhere, half near the end, where the writing happens. */
		const double u = (double)randombytes_uniform(1000000) / 1e6;
		const double delay = i % 2 == 0 ? u * whole : whole * (0.8 + 0.3 * u);
		const char *import[] = {"import", "--state", dir, big_file, NULL};
		pid_t pid = start(import, NULL, -1);
		struct timespec pause = {(time_t)delay,
		                         (long)((delay - (double)(time_t)delay) * 1e9)};
		nanosleep(&pause, NULL);
		kill(pid, SIGKILL);
		r = finish(pid);
		const int killed = r.status == 128 + SIGKILL;
		result_free(&r);

		int verified = 0;
		const uint64_t n = handles_in(dir, &verified);
		CHECK(verified);
		CHECK(n == (uint64_t)base_handles || n == (uint64_t)(base_handles + big));
		if (n == (uint64_t)base_handles)
			before++;
		else
			after++;
		printf("# kill after %.3f s: %s, registry %s\n", delay,
		       killed ? "killed" : "had finished",
		       n == (uint64_t)base_handles ? "before" : "after");

		/* A registry left by a kill takes the next import. */
		r = run(import, NULL);
		CHECK(r.status == 0);
		result_free(&r);
		CHECK(handles_in(dir, &verified) == (uint64_t)(base_handles + big) && verified);
		free(dir);
	}
	printf("# %d before, %d after\n", before, after);
	free(timing);
	free(base_file);
	free(big_file);
}

static const test_case cases[] = {
        {"usage and help", case_usage_and_help},
        {"keygen and info", case_keygen_and_info},
        {"import, add, remove, stats", case_import_add_remove_stats},
        {"strict refuses and changes nothing", case_strict_refuses_and_changes_nothing},
        {"progress bar on a terminal only", case_progress_bar_on_a_terminal_only},
        {"kill -9 during import leaves before or after",
         case_kill_during_import_leaves_before_or_after},
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_server_admin PATH-TO-veil-admin\n");
		return 2;
	}
	if (veil_crypto_init() != VEIL_OK)
		return 1;
	admin = argv[1];
	base = util_temp_dir();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	util_remove_tree(base);
	free(base);
	return rc;
}
