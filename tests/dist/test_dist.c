/*
 * What the system install relies on, with the real programs: veild tells
 * systemd's notification socket READY=1 once it has said it is ready and
 * STOPPING=1 when it stops (server/daemon/notify.h), over a socket named
 * by a path or an abstract name, and serves on when nobody hears; and the
 * example configuration files the units read (server/daemon/dist/) are
 * read whole, every key uncommented, by the daemons they document.
 *
 * Arguments: veil-admin veild veil-issuer veild.conf veil-issuer.conf
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "fixture.h"
#include "harness.h"
#include "proc.h"

/* What the service manager's side of the socket gets. */
typedef struct listener {
	int fd;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* as NOTIFY_SOCKET says it */
} listener;

/* Binds a datagram socket at a path under the case's directory, or at an
 * abstract name of its own; REQUIREs of the caller check fd >= 0. */
static void
listener_open(listener *l, int abstract)
{
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (abstract)
		snprintf(l->name, sizeof(l->name), "@veil-test-notify-%ld-%08x", (long)getpid(),
		         randombytes_random());
	else
		snprintf(l->name, sizeof(l->name), "%s", test_case_path("notify.sock"));
	const size_t len = strlen(l->name);
	memcpy(addr.sun_path, l->name, len);
	if (abstract)
		addr.sun_path[0] = '\0';
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->fd >= 0 && bind(l->fd, (const struct sockaddr *)&addr,
	                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0) {
		close(l->fd);
		l->fd = -1;
	}
}

/*
 * The next datagram into text (NUL-terminated), waiting at most
 * TEST_PATIENCE_SECONDS when wait is set, not at all otherwise. Returns
 * 1, or 0 when none came.
 */
static int
listener_next(const listener *l, int wait, char *text, size_t size)
{
	struct pollfd p = {.fd = l->fd, .events = POLLIN};
	if (poll(&p, 1, wait ? (int)(TEST_PATIENCE_SECONDS * 1000) : 0) != 1)
		return 0;
	const ssize_t n = recv(l->fd, text, size - 1, MSG_DONTWAIT);
	if (n < 0)
		return 0;
	text[n] = '\0';
	return 1;
}

/*
 * veild under NOTIFY_SOCKET: READY=1 comes once the ready line is out,
 * nothing else until SIGTERM, then STOPPING=1, and veild exits 0.
 */
static void
check_notify(int abstract)
{
	listener l;
	listener_open(&l, abstract);
	REQUIRE(l.fd >= 0);
	char text[256];
	REQUIRE(setenv("NOTIFY_SOCKET", l.name, 1) == 0);
	/* "" is there at once: the order is checked here, not by waiting. */
	const int started = fixture_start(&fx, NULL, "", NULL);
	unsetenv("NOTIFY_SOCKET");
	REQUIRE(started == 0);
	CHECK(listener_next(&l, 1, text, sizeof(text)) && strcmp(text, "READY=1") == 0);
	char *said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "veild: ready on") != NULL);
	free(said);
	CHECK(!listener_next(&l, 0, text, sizeof(text)));
	CHECK(fixture_stop(&fx) == 0);
	/* It was sent before veild exited, so it waits in the socket. */
	CHECK(listener_next(&l, 0, text, sizeof(text)) && strcmp(text, "STOPPING=1") == 0);
	CHECK(!listener_next(&l, 0, text, sizeof(text)));
	said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "service manager") == NULL);
	free(said);
	close(l.fd);
}

static void
case_notify_path(void)
{
	check_notify(0);
}

static void
case_notify_abstract(void)
{
	check_notify(1);
}

/* A NOTIFY_SOCKET that cannot be reached, or names no socket at all:
 * veild says so without the name, and serves and stops as usual. */
typedef struct unheard_row {
	const char *name;
	const char *socket; /* "DIR/..." under the case's directory */
	const char *reason; /* what veild says after "cannot tell the service manager" */
} unheard_row;

static const unheard_row unheard_rows[] = {
        {"a path nobody listens on", "DIR/nobody.sock", "READY=1: No such file or directory"},
        {"a relative name", "notify.sock", "READY=1: Invalid argument"},
        {"a bare @", "@", "READY=1: Invalid argument"},
        {"a name too long for an address",
         "/"
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "0123456789012345678901234567890123456789",
         "READY=1: Invalid argument"},
};

static int
check_unheard(const void *row_arg)
{
	const unheard_row *row = row_arg;
	const char *name = strncmp(row->socket, "DIR/", 4) == 0 ? test_case_path(row->socket + 4)
	                                                        : row->socket;
	if (setenv("NOTIFY_SOCKET", name, 1) != 0)
		return 0;
	/* The warning comes after the ready line: wait for it as for the line. */
	const int started =
	        fixture_start(&fx, NULL, "veild: cannot tell the service manager ", NULL);
	unsetenv("NOTIFY_SOCKET");
	if (started != 0)
		return 0;
	char *said = proc_stderr(&fx.daemon);
	const char *ready = strstr(said, "veild: ready on");
	const char *warning = strstr(said, "veild: cannot tell the service manager ");
	int ok = ready != NULL && ready < warning && strstr(warning, row->reason) != NULL &&
	         strstr(said, name) == NULL && proc_alive(&fx.daemon);
	free(said);
	ok = fixture_stop(&fx) == 0 && ok;
	return ok;
}

TEST_ROWS_CASE(case_notify_unheard, unheard_rows, check_unheard)

/* text with every "#key = value" line (a '#' right before a lowercase
 * letter) made "key = value": the commented defaults read too. */
static char *
uncommented(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *out = test_keep(calloc(1, 1 << 16));
	size_t used = 0;
	char line[512];
	while (out != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *from =
		        line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' ? line + 1 : line;
		const size_t n = strlen(from);
		if (used + n >= (1 << 16))
			break;
		memcpy(out + used, from, n);
		used += n;
	}
	fclose(f);
	return out;
}

/* Every key of veild.conf, with the values it shows: veild reads them
 * all (an unknown key or a bad value would stop it) and uses them. The
 * command line's --state and --listen win over the file's. */
static void
case_veild_conf_every_key(void)
{
	const char *text = uncommented(test_argv[3]);
	REQUIRE(text != NULL && strstr(text, "\nthreads = 4\n") != NULL);
	const char *conf = test_case_path("veild.conf");
	proc_write_file(conf, text, strlen(text));
	const int started = fixture_start(&fx, NULL, "veild: ready on", "--config", conf, NULL);
	char *said = proc_stderr(&fx.daemon);
	if (started != 0)
		printf("# veild did not start: %s\n", said);
	CHECK(started == 0);
	CHECK(strstr(said, "4 threads, batch cap 256, queue 16, enrolment required, log "
	                   "accounts 1000000") != NULL);
	free(said);
	CHECK(fixture_stop(&fx) == 0);
}

/* The same for veil-issuer.conf, over an issuer state made for it. */
static void
case_issuer_conf_every_key(void)
{
	const char *text = uncommented(test_argv[4]);
	REQUIRE(text != NULL && strstr(text, "\nthreads = 4\n") != NULL);
	const char *conf = test_case_path("veil-issuer.conf");
	proc_write_file(conf, text, strlen(text));
	const char *state = test_case_path("issuer");
	proc_result made = proc_call(fx.admin, "issuer", "create", "--state", state, "--name",
	                             "issuer.example.org", NULL);
	CHECK(made.status == 0);
	proc_result_free(&made);
	char url[512];
	snprintf(url, sizeof(url), "ipc://%s", test_case_path("issuer.sock"));
	const char *const argv[] = {test_argv[2], "--config", conf, "--state",
	                            state,        "--listen", url,  NULL};
	proc_daemon d;
	const int started = proc_start(&d, argv, "veil-issuer: ready on");
	char *said = proc_stderr(&d);
	if (started != 0)
		printf("# veil-issuer did not start: %s\n", said);
	CHECK(started == 0);
	CHECK(strstr(said, "4 threads, batch cap 1024, queue 16, enrolment required, ration 1500 "
	                   "tokens a day (bucket 6000)") != NULL);
	free(said);
	CHECK(started != 0 || proc_stop(&d) == 0);
	proc_release(&d);
}

/* veil-issuer under NOTIFY_SOCKET: READY=1 once ready, STOPPING=1 at SIGTERM. */
static void
case_issuer_notify(void)
{
	listener l;
	listener_open(&l, 0);
	REQUIRE(l.fd >= 0);
	char text[256], url[512];
	const char *state = test_case_path("issuer");
	proc_result made = proc_call(fx.admin, "issuer", "create", "--state", state, "--name",
	                             "issuer.example.org", NULL);
	CHECK(made.status == 0);
	proc_result_free(&made);
	snprintf(url, sizeof(url), "ipc://%s", test_case_path("issuer.sock"));
	const char *const argv[] = {test_argv[2], "--state", state, "--listen", url, NULL};
	proc_daemon d;
	REQUIRE(setenv("NOTIFY_SOCKET", l.name, 1) == 0);
	const int started = proc_start(&d, argv, "veil-issuer: ready on");
	unsetenv("NOTIFY_SOCKET");
	CHECK(started == 0);
	CHECK(listener_next(&l, 1, text, sizeof(text)) && strcmp(text, "READY=1") == 0);
	CHECK(started != 0 || proc_stop(&d) == 0);
	CHECK(listener_next(&l, 0, text, sizeof(text)) && strcmp(text, "STOPPING=1") == 0);
	proc_release(&d);
	close(l.fd);
}

static const test_case cases[] = {
        {"READY=1 after the ready line, STOPPING=1 at SIGTERM: a path", case_notify_path},
        {"READY=1 after the ready line, STOPPING=1 at SIGTERM: an abstract name",
         case_notify_abstract},
        {"a NOTIFY_SOCKET nobody hears: said, and veild serves on", case_notify_unheard},
        {"veild.conf: every key read, the values used", case_veild_conf_every_key},
        {"veil-issuer.conf: every key read, the values used", case_issuer_conf_every_key},
        {"veil-issuer: READY=1 once ready, STOPPING=1 at SIGTERM", case_issuer_notify},
};

FIXTURE_MAIN(cases, .label = "dist")
