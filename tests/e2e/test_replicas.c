/*
 * Replicas behind a load balancer: veild on three snapshots of one state
 * (veil-admin snapshot), HAProxy in TCP mode in front of them (health
 * checks, leastconn, retries with redispatch), and clients that know only
 * HAProxy's address doing lookups without pause while one replica hangs
 * with requests in its hands, is killed (SIGKILL), and is later restarted
 * on its port.
 *
 * What carries a lookup over a replica's death: HAProxy closes the
 * client's side of every connection it had proxied to that replica; the
 * client's nanomsg REQ socket sees its connection go, reconnects, and
 * sends the unanswered request again on the new connection, which HAProxy
 * hands to a live replica (one still marked up but refusing is retried
 * elsewhere). The replicas share the transport key, so the request opens
 * on any of them. No lookup fails and none is answered wrong; every
 * replica serves, the restarted one again; every replica verifies clean
 * after; neither HAProxy nor veild prints a handle.
 *
 * Arguments: veil-admin veild haproxy. An empty haproxy (not installed)
 * skips the test (exit status 77).
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "e2e_client.h"
#include "e2e_lookups.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define REPLICAS      3
/* Client threads, each with one connection through HAProxy at a time. */
#define THREADS       3
/* Contacts per lookup; lookups per client before it makes a new one
 * (a new connection: how leastconn brings traffic back to a replica). */
#define CONTACTS      E2E_CONTACTS
#define RENEW         6
/* Lookups (all threads) that must be done while the killed replica is
 * down, and again after it is back. */
#define WHILE_DOWN    30
#define AFTER_RESTART 60
/* A lookup waiting while the other threads end this many is waiting on
 * the hung replica (one takes milliseconds). */
#define STUCK         10

/* Registered: +1 415 555 0000, 0002, ... 1998 (main() below); asked:
 * 0000 .. 2099, registered and not. */
#define PREFIX   "+1 415 555 "
#define NUMBERS  2100
#define HANDLE   "415555" /* in every handle's E.164 digits */
#define LISTENER "127.0.0.1"

/* The numbers asked; registered: those below 2000, even (the spec below). */
static const e2e_numbers numbers = {PREFIX, NUMBERS, 2000};

/* veil-admin with the arguments that follow, up to a NULL; 1 on exit 0. */
static int
admin_ok(const char *command, const char *state, const char *arg1, const char *arg2)
{
	proc_result r = proc_call(fx.admin, command, "--state", state, arg1, arg2, NULL);
	if (r.status != 0)
		printf("# veil-admin %s: %s", command, r.err);
	proc_result_free(&r);
	return r.status == 0;
}

/* One replica: its snapshot, port, veild, and metrics file. */
typedef struct replica {
	const char *state;
	int port;
	proc_daemon veild;
	const char *metrics; /* this run's; a restart takes a new one */
	unsigned runs;
} replica;

/* Starts veild on r's state and port with a new metrics file; 0 once it
 * is ready. What the previous run printed must have been read. */
static int
start_replica(replica *r, unsigned index)
{
	char *url, *metrics;
	if (asprintf(&url, "tcp://" LISTENER ":%d", r->port) < 0 ||
	    asprintf(&metrics, "%s/metrics-%u-%u.prom", fx.dir, index, r->runs++) < 0)
		abort();
	r->metrics = test_keep(metrics);
	const char *argv[] = {fx.veild,   "--state",
	                      r->state,   "--listen",
	                      url,        "--threads",
	                      "1",        "--enrolment",
	                      "open",     "--metrics-file",
	                      r->metrics, "--metrics-interval",
	                      "1",        NULL};
	proc_release(&r->veild);
	const int status = proc_start(&r->veild, argv, "ready");
	free(url);
	return status;
}

/* Elements r's current veild run evaluated, as its metrics file says
 * (written each second and at shutdown); 0 before its first write. */
static unsigned long long
items_served(const replica *r)
{
	if (access(r->metrics, R_OK) != 0)
		return 0;
	char *text = test_read_file(r->metrics, NULL);
	const char *at = strstr(text, "\nveild_items_total ");
	const unsigned long long items =
	        at != NULL ? strtoull(at + strlen("\nveild_items_total "), NULL, 10) : 0;
	free(text);
	return items;
}

/* Whether text holds a handle or a contact as asked. */
static int
holds_handle(const char *text)
{
	return strstr(text, HANDLE) != NULL || strstr(text, PREFIX) != NULL ||
	       strstr(text, "tel:") != NULL;
}

/* CHECKs that what r's veild printed holds no handle. */
static void
check_veild_output(const replica *r)
{
	char *text = proc_stderr(&r->veild);
	CHECK(!holds_handle(text));
	free(text);
}

/* HAProxy's configuration: TCP, every replica health-checked often. */
static const char *
haproxy_config(int frontend, const replica replicas[REPLICAS])
{
	buf text;
	buf_init(&text);
	buf_printf(&text,
	           "global\n"
	           "    maxconn 256\n"
	           "    nbthread 1\n"
	           "defaults\n"
	           "    mode tcp\n"
	           "    timeout connect 2s\n"
	           "    timeout client 5m\n"
	           "    timeout server 5m\n"
	           "    timeout check 2s\n"
	           "    retries 3\n"
	           "    option redispatch 1\n"
	           "frontend veil\n"
	           "    bind " LISTENER ":%d\n"
	           "    default_backend replicas\n"
	           "backend replicas\n"
	           "    balance leastconn\n"
	           "    default-server check inter 200ms fastinter 100ms downinter 100ms"
	           " rise 2 fall 2\n",
	           frontend);
	for (unsigned i = 0; i < REPLICAS; i++)
		buf_printf(&text, "    server r%u " LISTENER ":%d\n", i, replicas[i].port);
	if (buf_error(&text) != VEIL_OK)
		abort();
	char *path = fixture_file(&fx, "haproxy.cfg", buf_data(&text));
	buf_free(&text);
	return test_keep(path);
}

/* Whether HAProxy has exited; it stays unreaped for proc_finish(). */
static int
exited(pid_t pid)
{
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       info.si_pid == pid;
}

/* The readiness probe: a lookup through HAProxy, with a reply timeout
 * that doubles after each miss so that only a hang keeps it from an
 * answer. */
typedef struct probe {
	const char *url;
	pid_t haproxy;
	int timeout_ms;
	int answered;
} probe;

static int
frontend_answers(void *arg)
{
	probe *p = arg;
	if (exited(p->haproxy))
		return 1;
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	veil_client *client = NULL;
	char *texts[CONTACTS] = {0};
	veil_lookup_result results[CONTACTS];
	e2e_contacts_from(&numbers, 0, texts);
	if (fixture_client(
	            &(veil_client_options){.server_url = p->url, .timeout_ms = p->timeout_ms},
	            secret, &client) == VEIL_OK &&
	    veil_client_lookup(client, (const char *const *)texts, CONTACTS, results) == VEIL_OK)
		p->answered = e2e_wrong_answers(&numbers, 0, results) == 0;
	veil_client_free(client);
	e2e_contacts_free(texts);
	p->timeout_ms *= 2;
	return p->answered;
}

/* The lookups running beside the kill. */
typedef struct traffic {
	const char *url;  /* HAProxy's frontend: the only address the clients know */
	atomic_uint done; /* lookups answered or failed, all threads */
	atomic_uint failed, wrong;
	atomic_int stop;
	/* Per thread: 1 + done when its lookup in progress began; 0 between
	 * lookups. */
	atomic_uint began[THREADS];
} traffic;

typedef struct client_thread {
	traffic *t;
	unsigned index;
	pthread_t thread;
} client_thread;

static void *
clients_main(void *arg)
{
	const client_thread *me = arg;
	traffic *t = me->t;
	char *texts[CONTACTS] = {0};
	veil_lookup_result results[CONTACTS];
	unsigned i0 = randombytes_uniform(NUMBERS);
	while (!atomic_load(&t->stop)) {
		/* A fresh key each time: no client's quota runs out. The
		 * reply timeout is one only a hang reaches: the request sent
		 * again after a replica's death must come within it. */
		uint8_t secret[VEIL_KEY_SIZE];
		randombytes_buf(secret, sizeof(secret));
		veil_client *client = NULL;
		if (fixture_client(&(veil_client_options){.server_url = t->url}, secret, &client) !=
		    VEIL_OK) {
			atomic_fetch_add(&t->failed, 1);
			break;
		}
		for (unsigned n = 0; n < RENEW && !atomic_load(&t->stop); n++) {
			e2e_contacts_from(&numbers, i0, texts);
			atomic_store(&t->began[me->index], 1 + atomic_load(&t->done));
			const veil_err err = veil_client_lookup(client, (const char *const *)texts,
			                                        CONTACTS, results);
			atomic_store(&t->began[me->index], 0);
			if (err != VEIL_OK) {
				printf("# lookup failed: %s: %s\n", veil_strerror(err),
				       veil_client_last_error(client));
				atomic_fetch_add(&t->failed, 1);
			} else {
				atomic_fetch_add(&t->wrong,
				                 e2e_wrong_answers(&numbers, i0, results));
			}
			atomic_fetch_add(&t->done, 1);
			i0 = (i0 + 41) % NUMBERS;
		}
		veil_client_free(client);
	}
	e2e_contacts_free(texts);
	return NULL;
}

/* What the test waits for: progress of the lookups, replicas seen
 * serving, a lookup seen waiting; never a time. */
typedef struct goal {
	traffic *t;
	unsigned until;           /* lookups done */
	const replica *replicas;  /* each must have served, or NULL */
	const replica *restarted; /* must have served in its new run, or NULL */
	unsigned stuck;           /* a lookup must be waiting while this many others end, or 0 */
} goal;

static int
reached(void *arg)
{
	const goal *g = arg;
	const unsigned done = atomic_load(&g->t->done);
	if (done < g->until)
		return 0;
	for (unsigned i = 0; g->replicas != NULL && i < REPLICAS; i++)
		if (items_served(&g->replicas[i]) == 0)
			return 0;
	if (g->restarted != NULL && items_served(g->restarted) == 0)
		return 0;
	int stuck = g->stuck == 0;
	for (unsigned i = 0; i < THREADS; i++) {
		const unsigned began = atomic_load(&g->t->began[i]);
		stuck |= began != 0 && done >= began - 1 + g->stuck;
	}
	return stuck;
}

/* Waits until the lookups have done `more` and g's other conditions hold;
 * 1 when they did. */
static int
wait_for(traffic *t, unsigned more, goal g)
{
	g.t = t;
	g.until = atomic_load(&t->done) + more;
	return test_wait_until(reached, &g);
}

static void
case_kill_behind_haproxy(void)
{
	const char *haproxy = test_argv[2];
	replica replicas[REPLICAS];
	memset(replicas, 0, sizeof(replicas));
	for (unsigned i = 0; i < REPLICAS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "replica-%u", i);
		replicas[i].state = proc_path(fx.dir, name);
		REQUIRE(admin_ok("snapshot", fx.state, "--out", replicas[i].state));
		replicas[i].port = proc_free_port();
		REQUIRE(start_replica(&replicas[i], i) == 0);
	}
	const int frontend = proc_free_port();
	const char *config = haproxy_config(frontend, replicas);
	proc_result checked = proc_call(haproxy, "-c", "-q", "-f", config, NULL);
	if (checked.status != 0)
		printf("# haproxy -c: %s%s", checked.out, checked.err);
	proc_result_free(&checked);
	REQUIRE(checked.status == 0);

	/* In the foreground (-db), so that the test owns the process. */
	proc_child proxy;
	proc_spawn(&proxy, haproxy, (const char *const[]){"-db", "-f", config, NULL}, NULL, -1);
	char *url;
	if (asprintf(&url, "tcp://" LISTENER ":%d", frontend) < 0)
		abort();
	traffic t = {.url = test_keep(url)};
	probe p = {t.url, proxy.pid, 1000, 0};
	CHECK(test_wait_until(frontend_answers, &p) && p.answered);

	client_thread threads[THREADS];
	unsigned started = 0;
	if (p.answered)
		for (; started < THREADS; started++) {
			threads[started] = (client_thread){.t = &t, .index = started};
			if (pthread_create(&threads[started].thread, NULL, clients_main,
			                   &threads[started]) != 0)
				break;
		}
	CHECK(started == THREADS);
	if (started == THREADS) {
		/* Every replica serves. Then one hangs (SIGSTOP): HAProxy's
		 * checks still pass, so it keeps its connections and takes
		 * requests it never answers, until a lookup is seen waiting
		 * while the others go on. Then it dies (SIGKILL) with that
		 * request unanswered: the request must be sent again and
		 * answered elsewhere. Lookups go on while it is down; it comes
		 * back on its port and serves again. */
		replica *victim = &replicas[1];
		CHECK(wait_for(&t, WHILE_DOWN, (goal){.replicas = replicas}));
		kill(victim->veild.pid, SIGSTOP);
		CHECK(wait_for(&t, 0, (goal){.stuck = STUCK}));
		proc_kill(&victim->veild);
		CHECK(wait_for(&t, WHILE_DOWN, (goal){0}));
		check_veild_output(victim);
		CHECK(start_replica(victim, 1) == 0);
		CHECK(wait_for(&t, AFTER_RESTART, (goal){.restarted = victim}));
	}
	atomic_store(&t.stop, 1);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i].thread, NULL);
	printf("# %u lookups of %d contacts through HAProxy: %u failed, %u wrong answers\n",
	       atomic_load(&t.done), CONTACTS, atomic_load(&t.failed), atomic_load(&t.wrong));
	CHECK(atomic_load(&t.failed) == 0);
	CHECK(atomic_load(&t.wrong) == 0);

	/* SIGUSR1: HAProxy's soft stop, exit status 0. */
	kill(proxy.pid, SIGUSR1);
	proc_result proxied = proc_finish(&proxy);
	CHECK(proxied.status == 0);
	CHECK(!holds_handle(proxied.out) && !holds_handle(proxied.err));
	proc_result_free(&proxied);

	for (unsigned i = 0; i < REPLICAS; i++) {
		CHECK_ROW(proc_stop(&replicas[i].veild) == 0, replicas[i].state);
		/* The last write, at shutdown: this run's whole count. */
		CHECK_ROW(items_served(&replicas[i]) > 0, replicas[i].state);
		check_veild_output(&replicas[i]);
		proc_release(&replicas[i].veild);
		CHECK_ROW(admin_ok("verify", replicas[i].state, NULL, NULL), replicas[i].state);
	}
}

static const test_case cases[] = {
        {"three replicas behind HAProxy, one killed and restarted: no lookup fails or errs",
         case_kill_behind_haproxy},
};

int
main(int argc, char **argv)
{
	if (argc == 4 && argv[3][0] == '\0') {
		printf("1..0 # SKIP haproxy is not installed (Debian package: haproxy)\n");
		return 77;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: %s VEIL-ADMIN VEILD HAPROXY\n", argv[0]);
		return 2;
	}
	static const fixture_spec spec = {
	        .label = "replicas", .numbered = PREFIX, .end = 2000, .step = 2};
	return fixture_main(argc, argv, cases, TEST_COUNT(cases), &spec);
}
