/*
 * Several veild processes on one state directory, as behind one address
 * (docs/SCALING.md): three veilds share the registry, the clients
 * database, the query log and its salt chain. Lookups through each of
 * them are answered right; a client's quota is one bucket for all of
 * them together (what one process took, another does not give again);
 * a process of the state killed inside a read transaction of the clients
 * database leaves a reader slot that the running veilds free (else it
 * would keep every page written since from reuse); the log holds the
 * entries of every process, under one chain; refused requests evaluated
 * nothing; a sealed request served by one process is refused REPLAYED
 * by the others, also after a restart of all of them, and charges
 * nothing again; the state verifies clean after; a process whose chain lags
 * behind another's writes back none of the files the other erased. With
 * a veil-issuer, in tokens mode: a token spent at one process is refused
 * at another.
 *
 * Arguments: veil-admin veild veil-issuer
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "e2e_client.h"
#include "entry.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "msg.h"
#include "oprf.h"
#include "transport.h"
#include "veil_client.h"
#include "wire.h"

#define PROCS       3
/* Registered: +1 617 556 0000, 0002, ... 1998 (see the spec below). */
#define CONTACTS    16
#define ISSUER_NAME "issuer.test"
#define ORIGIN      "procs.test"
/* veild's replay guard: the seconds a client's clock may run ahead (replay.h). */
#define SKEW        30
/* The tokens case's fetch: one token per lookup it makes, and some. */
#define TOKENS      4

static proc_daemon procs[PROCS];
static char *urls[PROCS], *config; /* kept from setup to teardown */
static uint8_t secret_a[VEIL_KEY_SIZE], secret_b[VEIL_KEY_SIZE], secret_c[VEIL_KEY_SIZE];
static unsigned served_requests;       /* lookups answered VEIL_OK: one request each */
static unsigned long served_items;     /* their items, padded to the size class */
static int started;                    /* the processes run */
static unsigned long evaluated_before; /* items evaluated by processes stopped and restarted */

/* ipc://fx.dir/name.sock (the caller frees it). */
static char *
url_of(const char *name)
{
	char *url;
	if (asprintf(&url, "ipc://%s/%s.sock", fx.dir, name) < 0)
		abort();
	return url;
}

/* Starts process i on fx's state (enrolment required, one thread); 0 once ready. */
static int
start_proc(int i, const char *const extra[])
{
	const char *argv[16] = {fx.veild,    "--state", fx.state,   "--listen", urls[i],
	                        "--threads", "1",       "--config", config};
	size_t n = 9;
	for (size_t k = 0; extra != NULL && extra[k] != NULL; k++)
		argv[n++] = extra[k];
	argv[n] = NULL;
	proc_release(&procs[i]);
	const int rc = proc_start(&procs[i], argv, "ready");
	if (rc != 0) {
		char *said = proc_stderr(&procs[i]);
		printf("# veild %d: %s", i, said);
		free(said);
	}
	return rc;
}

/*
 * Stops every process; adds up the items each says it evaluated into
 * *evaluated (when not NULL). Returns the number that stopped cleanly.
 */
static int
stop_all(unsigned long *evaluated)
{
	int clean = 0;
	for (int i = 0; i < PROCS; i++) {
		if (!proc_alive(&procs[i]))
			continue;
		clean += proc_stop(&procs[i]) == 0;
		char *said = proc_stderr(&procs[i]);
		const char *at = strstr(said, " requests, ");
		CHECK(at != NULL);
		if (at != NULL && evaluated != NULL)
			*evaluated += strtoul(at + strlen(" requests, "), NULL, 10);
		free(said);
	}
	started = 0;
	return clean;
}

/* veil-admin client add of secret's public key, with --quota unless NULL. */
static int
enrol(const char *state, const uint8_t *secret, const char *quota)
{
	uint8_t pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	if (veil_client_public_key(secret, pub) != VEIL_OK)
		abort();
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	proc_result r = proc_call(fx.admin, "client", "add", "--state", state, hex,
	                          quota ? "--quota" : NULL, quota, NULL);
	proc_result_free(&r);
	return r.status;
}

/*
 * Looks up count numbers from first (+1 617 556 first ...) through
 * process i with secret's client (or, secret NULL, some's token file);
 * *wrong (when not NULL) gets the answers that disagree with the import.
 * Returns the error; counts what was served.
 */
static veil_err
lookup_at(int i, const uint8_t *secret, const veil_client_options *some, unsigned first,
          unsigned count, unsigned *wrong, char *why, size_t why_len)
{
	char **texts = calloc(count, sizeof(*texts));
	veil_lookup_result *results = calloc(count, sizeof(*results));
	if (texts == NULL || results == NULL)
		abort();
	for (unsigned k = 0; k < count; k++)
		if (asprintf(&texts[k], "+1 617 556 %04u", first + k) < 0)
			abort();
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	if (some != NULL)
		o = *some;
	o.server_url = urls[i];
	veil_client *client = NULL;
	veil_err err = fixture_client(&o, secret, &client);
	if (err == VEIL_OK)
		err = veil_client_lookup(client, (const char *const *)texts, count, results);
	why[0] = '\0';
	if (client != NULL)
		snprintf(why, why_len, "%s", veil_client_last_error(client));
	if (err == VEIL_OK) {
		served_requests++;
		served_items += count <= 1 ? count : 1ul << (32 - __builtin_clz(count - 1));
	}
	if (wrong != NULL) {
		*wrong = 0;
		for (unsigned k = 0; err == VEIL_OK && k < count; k++) {
			const unsigned n = first + k;
			const int want = n < 2000 && n % 2 == 0;
			*wrong += (results[k].status == VEIL_LOOKUP_REGISTERED) != want;
		}
	}
	veil_client_free(client);
	for (unsigned k = 0; k < count; k++)
		free(texts[k]);
	free(texts);
	free(results);
	return err;
}

static void
case_processes_start(void)
{
	for (int i = 0; i < PROCS; i++)
		CHECK_ROW(start_proc(i, NULL) == 0, urls[i]);
	started = 1;
}

static void
case_every_answer_right(void)
{
	char why[200];
	REQUIRE(started);
	REQUIRE(enrol(fx.state, secret_b, NULL) == 0);
	/* Enrolled after the processes started: each sees it from its next request. */
	for (unsigned round = 0; round < 3; round++)
		for (int i = 0; i < PROCS; i++) {
			unsigned wrong = 1;
			const unsigned first = (round * PROCS + (unsigned)i) * 150;
			CHECK_ROW(lookup_at(i, secret_b, NULL, first, CONTACTS, &wrong, why,
			                    sizeof(why)) == VEIL_OK,
			          why);
			CHECK_ROW(wrong == 0, urls[i]);
		}
}

/*
 * --quota 10: 10 items a day, a bucket of 40; a request takes its size
 * class (30 items: 32). Were the bucket a process's own, process 1 would
 * serve the second request and process 0 the last.
 */
static void
case_one_bucket_for_all_processes(void)
{
	char why[200];
	REQUIRE(started);
	REQUIRE(enrol(fx.state, secret_a, "10") == 0);
	CHECK(lookup_at(0, secret_a, NULL, 0, 30, NULL, why, sizeof(why)) == VEIL_OK);
	CHECK(lookup_at(1, secret_a, NULL, 100, 30, NULL, why, sizeof(why)) ==
	      VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL);
	/* What the bucket still holds, 8, is served once, wherever. */
	CHECK(lookup_at(2, secret_a, NULL, 200, 5, NULL, why, sizeof(why)) == VEIL_OK);
	for (int i = 0; i < PROCS; i++) {
		CHECK_ROW(lookup_at(i, secret_a, NULL, 300, 1, NULL, why, sizeof(why)) ==
		                  VEIL_ERR_UNSUPPORTED,
		          urls[i]);
		CHECK_ROW(strstr(why, "quota exhausted") != NULL, why);
	}
}

/* mdb_reader_list's callback: whether a line names the pid in arg. */
static int
names_pid(const char *line, void *arg)
{
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", *(const int *)arg);
	const char *p = line;
	while (*p == ' ')
		p++;
	if (strncmp(p, pid, strlen(pid)) == 0 && p[strlen(pid)] == ' ')
		*(int *)arg = 0; /* found: the pid is spent */
	return 0;
}

/* Whether the reader table of env still holds a slot of pid. */
typedef struct slot_watch {
	MDB_env *env;
	int pid;
} slot_watch;

static int
slot_freed(void *arg)
{
	const slot_watch *w = arg;
	int pid = w->pid;
	if (mdb_reader_list(w->env, names_pid, &pid) < 0)
		return 0;
	return pid != 0; /* not named any more */
}

/* Opens the clients environment of fx's state for reading into *env. */
static int
open_clients_env(MDB_env **env)
{
	char *dir = proc_join(fx.state, "clients");
	int rc = mdb_env_create(env);
	if (rc == 0 && (rc = mdb_env_set_maxdbs(*env, 4)) == 0)
		rc = mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	free(dir);
	return rc;
}

/*
 * A process of the state killed (kill -9) inside a read transaction of
 * the clients database, as a veild may be mid-charge, leaves its reader
 * slot behind, which pins every page written since: the running veilds
 * free it, without a restart or a veil-admin command.
 */
static void
case_a_killed_reader_pins_nothing(void)
{
	int ready[2];
	REQUIRE(started);
	REQUIRE(pipe(ready) == 0);
	const pid_t child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		MDB_env *env = NULL;
		MDB_txn *txn = NULL;
		const char one = 1;
		if (open_clients_env(&env) != 0 ||
		    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
		    write(ready[1], &one, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char got = 0;
	CHECK(read(ready[0], &got, 1) == 1);
	close(ready[0]);
	MDB_env *env = NULL;
	REQUIRE(open_clients_env(&env) == 0);
	slot_watch w = {env, (int)child};
	CHECK(!slot_freed(&w)); /* the child reads */
	kill(child, SIGKILL);
	CHECK(proc_wait(child) == 128 + SIGKILL);
	CHECK(test_wait_until(slot_freed, &w));
	mdb_env_close(env);
}

/* ------------------------------------------------------------------ */
/* A replayed request */

/* A sealed request built by hand, its exchange kept to open the replies. */
typedef struct sealed_request {
	envelope_exchange exchange;
	buf frame;
} sealed_request;

/* Seals inner as secret's client at sent_at into r. */
static void
seal_request(sealed_request *r, const uint8_t *secret, const buf *inner, uint64_t sent_at)
{
	uint8_t pub[VEIL_KEY_SIZE], identity[ENVELOPE_KEY_SIZE];
	buf_reset(&r->frame);
	if (veil_client_public_key(secret, pub) != VEIL_OK ||
	    envelope_exchange_begin(&r->exchange, fx.server_key) != VEIL_OK ||
	    envelope_identity_key(fx.server_key, secret, identity) != VEIL_OK ||
	    envelope_seal_request_with(&r->exchange, pub, identity, sent_at, NULL,
	                               (const uint8_t *)buf_data(inner), buf_len(inner),
	                               &r->frame) != VEIL_OK)
		abort();
	sodium_memzero(identity, sizeof(identity));
}

/*
 * Sends r's bytes, as they are, to process i: the opened reply's message
 * type into *type (-1: no sealed reply) and, for an ERROR, its code into
 * *code (else 0). msg (when not NULL) gets the reply, opened into opened.
 */
static void
send_sealed(int i, const sealed_request *r, int *type, uint16_t *code, proto_msg *msg, buf *opened)
{
	transport_client *t = NULL;
	buf reply, own;
	proto_msg m;
	uint16_t frame_error = 0;
	buf_init(&reply);
	buf_init(&own);
	if (opened == NULL)
		opened = &own;
	if (msg == NULL)
		msg = &m;
	*type = -1;
	*code = 0;
	if (transport_client_open(urls[i], 1000 * (int)TEST_PATIENCE_SECONDS, PROTO_MAX_REPLY_SIZE,
	                          &t) == VEIL_OK &&
	    transport_client_request(t, (const uint8_t *)buf_data(&r->frame), buf_len(&r->frame),
	                             &reply) == VEIL_OK &&
	    envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &r->exchange,
	                        opened, &frame_error) == VEIL_OK &&
	    frame_error == 0 &&
	    proto_msg_decode((const uint8_t *)buf_data(opened), buf_len(opened), msg) == VEIL_OK) {
		*type = msg->type;
		if (msg->type == PROTO_MSG_ERROR)
			*code = msg->u.error.code;
	}
	transport_client_close(t);
	buf_free(&reply);
	buf_free(&own);
}

/* A LOOKUP of count items (one valid element each) under info's first key into inner. */
static void
encode_lookup(const proto_info_reply *info, uint16_t count, buf *inner)
{
	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	const int voprf = (info->keys[0].modes & PROTO_MODE_BIT_VOPRF) != 0;
	const oprf_mode mode = voprf ? OPRF_MODE_VOPRF : OPRF_MODE_OPRF;
	uint8_t request_id[PROTO_REQUEST_ID_SIZE], blind[64], element[OPRF_MAX_ELEMENT_SIZE];
	oprf_ctx *ctx = NULL;
	if (oprf_ctx_new(suite, mode, &ctx) != VEIL_OK ||
	    oprf_blind(ctx, (const uint8_t *)"tel:+16175560000", 16, NULL, blind, element) !=
	            VEIL_OK)
		abort();
	oprf_ctx_free(ctx);
	randombytes_buf(request_id, sizeof(request_id));
	buf_reset(inner);
	proto_encode_lookup_head(inner, request_id, info->keys[0].suite, (uint8_t)mode,
	                         info->keys[0].key_id, info->p_recommended, count);
	for (uint16_t k = 0; k < count; k++) {
		wire_put_u32(inner, entry_prefix((uint32_t)(k * 0x9e3779b9u), info->p_recommended));
		wire_put_bytes(inner, element, info->keys[0].pk_len);
	}
}

/*
 * --quota 2: a bucket of 8. A LOOKUP of 4 items, captured (its bytes
 * kept), is served by process 0; the same bytes are refused REPLAYED by
 * processes 1 and 2 (each process's replay guard has never seen them:
 * the clients database has), and took no token: a fresh request of 4 is
 * served, and then the bucket is empty. After a restart of all of them,
 * still REPLAYED. The request is sealed SKEW - 1 seconds ahead, so that
 * the restarted guards (which refuse STALE a request sealed more than
 * SKEW seconds before their start) do not refuse it first; on a machine
 * that took longer than that to restart, STALE is all that can be seen.
 */
static void
case_a_request_is_served_once_by_all_processes(void)
{
	char why[200];
	sealed_request info_req, captured;
	buf inner, opened;
	proto_msg msg;
	int type;
	uint16_t code;
	REQUIRE(started);
	REQUIRE(enrol(fx.state, secret_c, "2") == 0);
	buf_init(&inner);
	buf_init(&opened);
	buf_init(&info_req.frame);
	buf_init(&captured.frame);

	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	randombytes_buf(request_id, sizeof(request_id));
	proto_encode_info(&inner, request_id);
	seal_request(&info_req, secret_c, &inner, (uint64_t)time(NULL));
	send_sealed(0, &info_req, &type, &code, &msg, &opened);
	REQUIRE(type == PROTO_MSG_INFO_REPLY && msg.u.info_reply.key_count > 0);
	const proto_info_reply info = msg.u.info_reply;

	encode_lookup(&info, 4, &inner);
	const uint64_t sent_at = (uint64_t)time(NULL) + SKEW - 1;
	seal_request(&captured, secret_c, &inner, sent_at);
	send_sealed(0, &captured, &type, &code, NULL, NULL);
	CHECK(type == PROTO_MSG_LOOKUP_REPLY);
	if (type == PROTO_MSG_LOOKUP_REPLY) {
		served_requests++;
		served_items += 4;
	}
	for (int i = 1; i < PROCS; i++) {
		send_sealed(i, &captured, &type, &code, NULL, NULL);
		CHECK_ROW(type == PROTO_MSG_ERROR && code == PROTO_STATUS_REPLAYED, urls[i]);
	}
	/* The replays took nothing: 4 tokens are left, for a fresh request. */
	CHECK(lookup_at(2, secret_c, NULL, 400, 4, NULL, why, sizeof(why)) == VEIL_OK);
	CHECK(lookup_at(1, secret_c, NULL, 500, 1, NULL, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL);

	/* Restarted, with the evaluated items of the processes stopped kept. */
	CHECK(stop_all(&evaluated_before) == PROCS);
	for (int i = 0; i < PROCS; i++)
		CHECK_ROW(start_proc(i, NULL) == 0, urls[i]);
	started = 1;
	const int64_t ready = (int64_t)time(NULL); /* after every start */
	for (int i = 0; i < PROCS; i++) {
		send_sealed(i, &captured, &type, &code, NULL, NULL);
		if (ready <= (int64_t)sent_at + SKEW) {
			CHECK_ROW(type == PROTO_MSG_ERROR && code == PROTO_STATUS_REPLAYED,
			          urls[i]);
		} else {
			printf("# the restart took longer than the skew: STALE is expected\n");
			CHECK_ROW(type == PROTO_MSG_ERROR && code == PROTO_STATUS_STALE, urls[i]);
		}
	}
	envelope_exchange_wipe(&info_req.exchange);
	envelope_exchange_wipe(&captured.exchange);
	buf_free(&inner);
	buf_free(&opened);
	buf_free(&info_req.frame);
	buf_free(&captured.frame);
}

/* The chain-<day>.key files of the log: one chain, however many processes. */
static unsigned
chain_files(void)
{
	char *log = proc_join(fx.state, "log");
	DIR *d = opendir(log);
	unsigned n = 0;
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		n += strncmp(e->d_name, "chain-", 6) == 0;
	if (d != NULL)
		closedir(d);
	free(log);
	return n;
}

/* "entries":N of veil-admin log stats --json; -1 when it fails. */
static long
log_entries(void)
{
	proc_result r = proc_call(fx.admin, "log", "stats", "--json", "--state", fx.state, NULL);
	const char *at = r.status == 0 ? strstr(r.out, "\"entries\":") : NULL;
	const long n = at != NULL ? strtol(at + strlen("\"entries\":"), NULL, 10) : -1;
	proc_result_free(&r);
	return n;
}

/* Lines of veil-admin log export (header included); -1 when it fails. */
static long
export_lines(void)
{
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	long n = r.status == 0 ? 0 : -1;
	for (const char *p = r.out; r.status == 0 && (p = strchr(p, '\n')) != NULL; p++)
		n++;
	proc_result_free(&r);
	return n;
}

static void
case_one_log_for_all_processes(void)
{
	unsigned long evaluated = evaluated_before;
	REQUIRE(started);
	/* A stop flushes each process's queue into the one log. */
	CHECK(stop_all(&evaluated) == PROCS);
	const long entries = log_entries();
	printf("# %u requests served by %d processes; the log holds %ld entries\n", served_requests,
	       PROCS, entries);
	CHECK(entries == (long)served_requests);
	CHECK(export_lines() == (long)served_requests + 1);
	CHECK(chain_files() == 1);
	/* Refused requests evaluated nothing, in any process. */
	CHECK(evaluated == served_items);
	if (evaluated != served_items)
		printf("# evaluated %lu items, served %lu\n", evaluated, served_items);
	proc_result r = proc_call(fx.admin, "verify", "--state", fx.state, NULL);
	CHECK(r.status == 0);
	if (r.status != 0)
		printf("# verify: %s", r.err);
	proc_result_free(&r);
}

/*
 * A process whose chain lags (it has not recorded since another stepped
 * the log to a new day: here the other runs a day ahead) writes back no
 * file the other erased, when it stops or syncs: the ended day's chain
 * key stays erased, and there is one chain file.
 */
static void
case_a_lagging_process_restores_no_erased_key(void)
{
	char why[200];
	static const char *const a_day_ahead[] = {"--clock-offset", "86400", "--force-clock-offset",
	                                          NULL};
	REQUIRE(!started);
	REQUIRE(start_proc(0, NULL) == 0);
	started = 1;
	CHECK(lookup_at(0, secret_b, NULL, 0, CONTACTS, NULL, why, sizeof(why)) == VEIL_OK);
	REQUIRE(start_proc(1, a_day_ahead) == 0);
	CHECK(chain_files() == 1); /* the next day's: process 1 stepped and erased today's */
	CHECK(proc_stop(&procs[0]) == 0);
	CHECK(chain_files() == 1);
	CHECK(stop_all(NULL) == 1);
}

/* ------------------------------------------------------------------ */
/* Tokens mode */

/* Runs veil-admin with the arguments up to NULL; its status (stdout to out_path unless NULL). */
static int
admin_to(const char *out_path, ...)
{
	const char *args[24];
	va_list ap;
	va_start(ap, out_path);
	proc_take_args(args, 24, ap);
	va_end(ap);
	proc_result r = proc_call_args(fx.admin, args, NULL);
	if (r.status != 0)
		printf("# veil-admin %s: %s", args[0], r.err);
	else if (out_path != NULL)
		proc_write_file(out_path, r.out, strlen(r.out));
	const int status = r.status;
	proc_result_free(&r);
	return status;
}

/*
 * Links an issuer into fx's state, fetches TOKENS tokens into one file
 * and copies it; a lookup through process 0 spends the file's first
 * token, and the copy, whose first token is that one, is refused at
 * every other process: the spent set is one for all of them.
 */
static void
case_tokens_spent_once_across_processes(void)
{
	char why[200];
	proc_daemon issuer = {0};
	const char *issuer_dir = test_keep(proc_join(fx.dir, "issuer"));
	const char *issuer_info = test_keep(proc_join(fx.dir, "issuer.info"));
	const char *tokens = test_keep(proc_join(fx.dir, "tokens"));
	const char *copy = test_keep(proc_join(fx.dir, "tokens-copy"));
	const char *issuer_url = test_keep(url_of("issuer"));
	uint8_t account[VEIL_KEY_SIZE], pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];

	REQUIRE(!started);
	randombytes_buf(account, sizeof(account));
	REQUIRE(veil_client_public_key(account, pub) == VEIL_OK);
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	REQUIRE(admin_to(NULL, "issuer", "create", "--state", issuer_dir, "--name", ISSUER_NAME,
	                 NULL) == 0);
	REQUIRE(admin_to(NULL, "client", "add", "--state", issuer_dir, hex, NULL) == 0);
	REQUIRE(admin_to(issuer_info, "issuer", "info", "--state", issuer_dir, NULL) == 0);
	REQUIRE(admin_to(NULL, "tokens", "link", "--state", fx.state, "--issuer", issuer_dir,
	                 "--origin", ORIGIN, NULL) == 0);
	fixture_info(&fx); /* now with auth tokens */
	char *ini = fixture_file(&fx, "issuer.ini", "");
	const char *const issuer_argv[] = {test_argv[2], "--state",  issuer_dir, "--listen",
	                                   issuer_url,   "--config", ini,        NULL};
	REQUIRE(proc_start(&issuer, issuer_argv, "veil-issuer: ready") == 0);
	free(ini);
	static const char *const tokens_mode[] = {"--auth", "tokens", NULL};
	for (int i = 0; i < PROCS; i++)
		CHECK_ROW(start_proc(i, tokens_mode) == 0, urls[i]);
	started = 1;

	veil_issuer_options io;
	memset(&io, 0, sizeof(io));
	REQUIRE(veil_issuer_info_read(issuer_info, &io) == VEIL_OK);
	io.issuer_url = issuer_url;
	io.client_secret = account;
	io.timeout_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	size_t fetched = 0;
	uint32_t retry_after = 0;
	CHECK(veil_tokens_fetch(&io, ORIGIN, tokens, TOKENS, &fetched, &retry_after) == VEIL_OK);
	CHECK(fetched == TOKENS);
	size_t len = 0;
	char *saved = test_keep(test_read_file(tokens, &len));
	REQUIRE(saved != NULL);

	unsigned wrong = 1;
	const veil_client_options with_tokens = {.token_file = tokens};
	CHECK(lookup_at(0, NULL, &with_tokens, 0, CONTACTS, &wrong, why, sizeof(why)) == VEIL_OK);
	CHECK(wrong == 0);
	const veil_client_options with_copy = {.token_file = copy};
	for (int i = 1; i < PROCS; i++) {
		/* The client drops a token refused as spent: the copy afresh each time. */
		proc_write_file(copy, saved, len);
		REQUIRE(chmod(copy, 0600) == 0); /* a token file others may read is refused */
		const veil_err err =
		        lookup_at(i, NULL, &with_copy, 0, CONTACTS, NULL, why, sizeof(why));
		CHECK_ROW(err == VEIL_ERR_PERMISSION && strstr(why, "spent") != NULL, urls[i]);
		printf("# process %d, a token spent at process 0: %s\n", i, why);
	}
	/* The file's next token is unspent: served at any process. */
	CHECK(lookup_at(PROCS - 1, NULL, &with_tokens, 100, CONTACTS, &wrong, why, sizeof(why)) ==
	      VEIL_OK);
	CHECK(wrong == 0);
	CHECK(stop_all(NULL) == PROCS);
	CHECK(proc_stop(&issuer) == 0);
	proc_release(&issuer);
	proc_result r = proc_call(fx.admin, "verify", "--state", fx.state, NULL);
	CHECK(r.status == 0);
	proc_result_free(&r);
}

static void
setup(void)
{
	for (int i = 0; i < PROCS; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		urls[i] = url_of(name);
	}
	/* With one or two enrolled accounts only a requester target of 1 can be met. */
	config = fixture_file(&fx, "veild.ini", "[log]\nk_r = 1\n");
	randombytes_buf(secret_a, sizeof(secret_a));
	randombytes_buf(secret_b, sizeof(secret_b));
	randombytes_buf(secret_c, sizeof(secret_c));
}

static void
teardown(void)
{
	(void)stop_all(NULL);
	for (int i = 0; i < PROCS; i++) {
		proc_release(&procs[i]);
		free(urls[i]);
	}
	free(config);
}

static const test_case cases[] = {
        {"three veilds start on one state directory", case_processes_start},
        {"every answer right through each process", case_every_answer_right},
        {"one quota bucket for all processes", case_one_bucket_for_all_processes},
        {"a process killed while reading pins no page: the others free its slot",
         case_a_killed_reader_pins_nothing},
        {"a request served by one process is REPLAYED by the others, also after a restart",
         case_a_request_is_served_once_by_all_processes},
        {"one log for all processes, one chain; verify clean", case_one_log_for_all_processes},
        {"a process behind the chain writes back no key another erased",
         case_a_lagging_process_restores_no_erased_key},
        {"tokens mode: a token spent at one process is refused at the others",
         case_tokens_spent_once_across_processes},
};

FIXTURE_MAIN(cases, .label = "procs", .numbered = "+1 617 556 ", .end = 2000, .step = 2,
             .setup = setup, .teardown = teardown)
