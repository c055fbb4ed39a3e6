/*
 * veil-exposure-sim: what a query log export reveals, measured on a
 * synthetic population run through the real programs.
 *
 * It runs `veil-admin keygen` and `import` into a fresh state in a
 * temporary directory, a real veild restarted for every simulated hour
 * with --clock-offset, libveil-client with one key per user, then
 * `veil-admin log salts|export|purge`. It writes the Apple-style baseline
 * log itself from what it sent, and measures both with the exposure
 * analysis (server/exposure/exposure.h), which `veil-admin exposure
 * analyze` applies to exports someone hands over.
 *
 * With --auth tokens the same plan runs in tokens mode: an issuer state
 * (`veil-admin issuer create`) linked into veild's (`veil-admin tokens
 * link`), a real veil-issuer beside veild in every hour slot on the same
 * clock offset, veild with auth = tokens; each user keeps a token file in
 * the work directory, fetches tokens with its own key
 * (veil_tokens_fetch) when the file holds fewer than its lookup spends,
 * and looks up anonymously. The analysis then reads the export as a
 * tokens-mode one (no requester), A5 as an anonymous wiretap, and adds
 * I, the issuer's state directory.
 *
 * Research tooling: it drives the client library and the server side at
 * once, which is why it lives in bench/ and not under server/.
 */
#define _GNU_SOURCE /* mkdtemp, asprintf, realpath */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "clients.h"
#include "clock.h"
#include "entry.h"
#include "exposure.h"
#include "exposure_population.h"
#include "file.h"
#include "qlog.h"
#include "service.h"
#include "veil_client.h"

#define PROGRAM            "veil-exposure-sim"
#define READY_TEXT         "veild: ready"
#define READY_WAIT_SECONDS 60
/* Suspected pairs tested, each of true and false ones. */
#define DEFAULT_PAIRS      1000
/* A client thread hands its baseline lines over past this many bytes. */
#define BASELINE_FLUSH     (1u << 20)
#define CLIENT_TIMEOUT_MS  60000
/* Simulated users check a minute into their hour slot. */
#define SLOT_MINUTE        60
/* The largest file of a program's output read back. */
#define MAX_OUTPUT         ((size_t)1 << 32)
/* Tokens mode: the issuer's ready line, its name and veild's origin. */
#define ISSUER_READY_TEXT  "veil-issuer: ready"
#define ISSUER_NAME        "issuer.sim.example"
#define TOKEN_ORIGIN       "lookup.sim.example"
/* Tokens a user fetches beyond what its check spends (--help says 4). */
#define TOKEN_SPARE        4u

extern char **environ;

static const char synopsis[] = "[--users N] [--contacts M] [--registered F] [--days D] [--seed S]\n"
                               "       [--auth keys|tokens] [--json] [--chart FILE] [OPTIONS]";

static const char details[] =
        "Builds a synthetic population (NANP phone numbers, emails, address books),\n"
        "registers a share of its handles in a fresh state, runs every user's contact\n"
        "discovery through libveil-client against a real veild for the days asked,\n"
        "then measures what the query log export reveals to each adversary, beside\n"
        "an Apple-style log of the same traffic (requester, handle, IP, exact time):\n"
        "  A0 the export; A1 also the live salts; A2 also the OPRF key and the\n"
        "  registry; A3 the export after the salts were erased; A4 a copy of the\n"
        "  whole state directory (A2, and the clients database: the day of each\n"
        "  account's last charge); A5 a wiretap on veild for the last 30 days (the\n"
        "  sender of every request and its items' prefixes, padding included).\n"
        "In tokens mode (--auth tokens) also I, a copy of the token issuer's state.\n"
        "Prints a table (or JSON) and writes an SVG chart.\n"
        "\n"
        "  --users N        accounts, each with a phone number, half with an email (1000)\n"
        "  --contacts M     address book size on day 0 (50)\n"
        "  --registered F   share of the population's handles registered, 0..1 (0.3)\n"
        "  --days D         simulated days, 1..366 (7)\n"
        "  --seed S         the population and plan are a function of S (1)\n"
        "  --auth A         keys (default): every user's requests sealed under its own\n"
        "                   key, as enrolled; tokens: veild in tokens mode beside a\n"
        "                   veil-issuer, each user fetching tokens with its key into\n"
        "                   a token file of the work directory when it holds fewer\n"
        "                   than its next check spends (one per batch of up to\n"
        "                   veild's batch cap, and 4 more), and looking up\n"
        "                   anonymously with them\n"
        "  --pad-registry N also register N numbers of people outside the population,\n"
        "                   so the registry and prefix length are a larger service's (0)\n"
        "  --k-r N, --k-b N veild's anonymity targets ([log] k_r, k_b; defaults: k_r =\n"
        "                   min(1000, users / 8), k_b = veild's)\n"
        "  --t-r N, --t-b N explicit digest widths, checked by veild against the targets\n"
        "  --salt-retention-days N   veild's [log] salt_retention_days (veild's default)\n"
        "  --pairs N        suspected pairs tested, N true and N false (1000)\n"
        "  --threads N      client threads (twice the online CPUs)\n"
        "  --veild PATH     the veild to run (default: the build tree's, else veild on PATH)\n"
        "  --admin PATH     the veil-admin to run (likewise)\n"
        "  --issuer PATH    the veil-issuer to run in tokens mode (likewise)\n"
        "  --work-dir DIR   work in DIR (created; kept): state, exports, baseline log;\n"
        "                   default: a temporary directory, removed at the end\n"
        "  --json           print JSON (schema veil-exposure-v1) instead of the table\n"
        "  --chart FILE     write the SVG chart to FILE\n"
        "\n"
        "Day d of D runs as the epoch day today + d (a log's day never steps back and\n"
        "follows the wall clock, so the simulation runs into the future); veild\n"
        "restarts with --clock-offset for each hour users check in (08, 12, 17 and\n"
        "21 h), and in tokens mode veil-issuer with it, on the same offset (open\n"
        "enrolment, a ration no plan can use up). The state is fresh and temporary:\n"
        "no real log is touched. Every user checks the whole book on day 0; on later\n"
        "days 1 in 7 re-check it, the others look up the 0 to 3 contacts they just\n"
        "added. Salts are taken with `veil-admin log salts` after the last day; A3's\n"
        "export follows `log purge --now` past the salt retention. Exit status 1 when\n"
        "any answer disagrees with the registry, a token fetch fails, or the export's\n"
        "digests do not follow qlog.h, 2 for a usage error.\n";

/* --help, after the usage line. */
static void
print_details(void)
{
	fputs(details, stdout);
}

/* ------------------------------------------------------------------ */
/* Files */

static char *
join(const char *dir, const char *name)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -r of the simulator's own work directory. */
static void
remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */
/* Programs */

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Starts argv with stdin from /dev/null and stdout, stderr to files. */
static int
spawn(const char *const argv[], const char *out_path, const char *err_path, pid_t *pid)
{
	/* posix_spawn wants char *const[]: hand it copies. */
	size_t n = 0;
	while (argv[n] != NULL)
		n++;
	char **copy = calloc(n + 1, sizeof(*copy));
	int rc = copy == NULL ? ENOMEM : 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((copy[i] = strdup(argv[i])) == NULL)
			rc = ENOMEM;
	posix_spawn_file_actions_t fa;
	int have_actions = 0;
	if (rc == 0 && (rc = posix_spawn_file_actions_init(&fa)) == 0)
		have_actions = 1;
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 1,
		                                      out_path != NULL ? out_path : "/dev/null",
		                                      O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 2, err_path,
		                                      O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (rc == 0)
		rc = posix_spawnp(pid, copy[0], &fa, NULL, copy, environ);
	if (have_actions)
		posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; copy != NULL && i < n; i++)
		free(copy[i]);
	free(copy);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

static int
wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return exit_code(status);
}

/* The last line of a file, for error messages (heap; "" when none). */
static char *
last_line(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(path, MAX_OUTPUT, &text, &len) != 0)
		return strdup("");
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	const char *nl = strrchr(text, '\n');
	char *line = strdup(nl != NULL ? nl + 1 : text);
	free(text);
	return line;
}

/* ------------------------------------------------------------------ */
/* The simulation */

typedef struct sim_options {
	uint32_t users, contacts, days, padding, pairs, threads;
	double registered;
	uint64_t seed;
	uint32_t k_r, k_b, t_r, t_b, salt_retention;
	bool json;
	bool tokens; /* --auth tokens */
	const char *chart, *veild, *admin, *issuer, *work_dir, *auth;
} sim_options;

typedef struct sim {
	sim_options opt;
	char *veild, *admin;
	char *work, *state, *config, *url, *veild_err, *tool_out, *tool_err;
	char *baseline_path, *export_path, *salts_path, *erased_path, *salts_after_path;
	/* Tokens mode: veil-issuer, its state, configuration, address and
	 * stderr, and the directory of the users' token files. */
	char *issuer, *issuer_state, *issuer_config, *issuer_url, *issuer_err, *tokens_dir;
	veil_issuer_options issuer_pin; /* as `veil-admin issuer info` describes it */
	pid_t issuer_pid;
	bool keep_work;
	exposure_population_config pop_config;
	exposure_population *pop;
	veil_client_options pin; /* the server as `veil-admin info` describes it */
	unsigned prefix_bits;
	uint32_t day_zero, last_day;
	pid_t veild_pid;
	FILE *baseline;
	pthread_mutex_t lock;
	uint64_t baseline_bytes;
} sim;

/* Runs veil-admin with args; stdout to out_path. */
static int
run_admin(sim *s, const char *const args[], const char *out_path)
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = s->admin;
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid;
	if (spawn(argv, out_path != NULL ? out_path : s->tool_out, s->tool_err, &pid) != 0) {
		cli_error(PROGRAM, "cannot run %s: %s", s->admin, strerror(errno));
		return -1;
	}
	const int rc = wait_child(pid);
	if (rc != 0) {
		char *why = last_line(s->tool_err);
		cli_error(PROGRAM, "veil-admin %s %s failed (exit %d): %s", args[0],
		          args[1] != NULL && args[1][0] != '-' ? args[1] : "", rc, why);
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Starts argv (a daemon) with stderr to err_path and waits for ready
 * among its stderr: 0 with *pid set, -1 (*pid 0) after saying why.
 */
static int
daemon_start(const char *const argv[], const char *err_path, const char *ready, const char *name,
             pid_t *pid)
{
	if (spawn(argv, NULL, err_path, pid) != 0) {
		cli_error(PROGRAM, "cannot run %s: %s", argv[0], strerror(errno));
		*pid = 0;
		return -1;
	}
	const double deadline = clock_monotonic_seconds() + READY_WAIT_SECONDS;
	for (;;) {
		char *text = NULL;
		size_t len = 0;
		const int is_ready = file_read_all(err_path, MAX_OUTPUT, &text, &len) == 0 &&
		                     strstr(text, ready) != NULL;
		free(text);
		if (is_ready)
			return 0;
		int status;
		const pid_t done = waitpid(*pid, &status, WNOHANG);
		if (done == *pid || clock_monotonic_seconds() > deadline) {
			if (done != *pid) {
				kill(*pid, SIGKILL);
				wait_child(*pid);
			}
			*pid = 0;
			char *why = last_line(err_path);
			cli_error(PROGRAM, "%s did not start: %s", name,
			          why[0] != '\0' ? why : "no ready line");
			free(why);
			return -1;
		}
		clock_sleep_seconds(0.02);
	}
}

/* Stops the daemon *pid (none when 0) with SIGTERM: 0 when it exits 0. */
static int
daemon_stop(pid_t *pid, const char *err_path, const char *name)
{
	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	const int rc = wait_child(*pid);
	*pid = 0;
	if (rc != 0) {
		char *why = last_line(err_path);
		cli_error(PROGRAM, "%s exited %d: %s", name, rc, why);
		free(why);
		return -1;
	}
	return 0;
}

static int
veild_start(sim *s, long long offset)
{
	char offset_text[32];
	snprintf(offset_text, sizeof(offset_text), "%lld", offset);
	/* The simulation's own log, on its own shifted clock from the start. */
	const char *const argv[] = {s->veild,    "--config",
	                            s->config,   "--clock-offset",
	                            offset_text, "--force-clock-offset",
	                            NULL};
	return daemon_start(argv, s->veild_err, READY_TEXT, "veild", &s->veild_pid);
}

static int
veild_stop(sim *s)
{
	return daemon_stop(&s->veild_pid, s->veild_err, "veild");
}

/* Tokens mode: veil-issuer on veild's clock, so its records carry the
 * simulated days. */
static int
issuer_start(sim *s, long long offset)
{
	char offset_text[32];
	snprintf(offset_text, sizeof(offset_text), "%lld", offset);
	const char *const argv[] = {s->issuer, "--config",       s->issuer_config, "--enrolment",
	                            "open",    "--clock-offset", offset_text,      NULL};
	return daemon_start(argv, s->issuer_err, ISSUER_READY_TEXT, "veil-issuer", &s->issuer_pid);
}

static int
issuer_stop(sim *s)
{
	return daemon_stop(&s->issuer_pid, s->issuer_err, "veil-issuer");
}

/* One slot of one day: these requests, on opt.threads client threads. */
typedef struct slot_run {
	sim *s;
	const exposure_request *requests;
	size_t count;
	long long offset;
	atomic_size_t next;
	atomic_bool failed;
	atomic_ullong wrong_answers;
	atomic_ullong fetches, tokens_fetched; /* tokens mode */
	char error[256];
} slot_run;

static void
flush_baseline(slot_run *run, buf *lines)
{
	sim *s = run->s;
	pthread_mutex_lock(&s->lock);
	if (buf_len(lines) > 0 &&
	    fwrite(buf_data(lines), 1, buf_len(lines), s->baseline) != buf_len(lines) &&
	    !atomic_exchange(&run->failed, true))
		snprintf(run->error, sizeof(run->error), "cannot write the baseline log: %s",
		         strerror(errno));
	s->baseline_bytes += buf_len(lines);
	pthread_mutex_unlock(&s->lock);
	buf_reset(lines);
}

static void
run_failed(slot_run *run, const char *what, veil_err err, const char *detail)
{
	pthread_mutex_lock(&run->s->lock);
	if (!atomic_exchange(&run->failed, true))
		snprintf(run->error, sizeof(run->error), "%s: %s%s%s", what, veil_strerror(err),
		         detail != NULL && detail[0] != '\0' ? ": " : "",
		         detail != NULL ? detail : "");
	pthread_mutex_unlock(&run->s->lock);
}

/* Tokens mode: the path of user's token file (heap; NULL when out of memory). */
static char *
token_file_path(const sim *s, uint32_t user)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%u.tok", s->tokens_dir, user) < 0)
		return NULL;
	return path;
}

/*
 * Tokens mode: makes sure the user's token file holds the tokens a
 * lookup of count contacts spends (one per batch of veild's batch cap),
 * fetching those missing and TOKEN_SPARE more from veil-issuer with the
 * user's own key. 0, or -1 after run_failed().
 */
static int
ensure_tokens(slot_run *run, uint32_t user, uint32_t count, const char *token_file)
{
	sim *s = run->s;
	const size_t need =
	        ((size_t)count + SERVICE_DEFAULT_BATCH_CAP - 1) / SERVICE_DEFAULT_BATCH_CAP;
	size_t have = 0, groups = 0;
	veil_err err = veil_tokens_status(token_file, &have, NULL, 0, &groups);
	if (err == VEIL_ERR_NOT_FOUND) {
		have = 0;
	} else if (err != VEIL_OK) {
		run_failed(run, "token file", err, NULL);
		return -1;
	}
	if (have >= need)
		return 0;
	veil_issuer_options io = s->issuer_pin;
	io.issuer_url = s->issuer_url;
	io.client_secret = exposure_user_secret(s->pop, user);
	io.timeout_ms = CLIENT_TIMEOUT_MS;
	const size_t want = need - have + TOKEN_SPARE;
	size_t fetched = 0;
	err = veil_tokens_fetch(&io, s->pin.token_origin, token_file, want, &fetched, NULL);
	atomic_fetch_add(&run->fetches, 1);
	atomic_fetch_add(&run->tokens_fetched, fetched);
	if (err != VEIL_OK) {
		run_failed(run, "token fetch failed", err, veil_tokens_last_error());
		return -1;
	}
	return 0;
}

/* One user's check: the real client library, the user's own key (in
 * tokens mode, the user's token file, filled with that key first). */
static void
run_request(slot_run *run, const exposure_request *q, buf *lines)
{
	sim *s = run->s;
	const exposure_population *pop = s->pop;
	const uint32_t *contacts = exposure_request_contacts(pop, q);
	const char **written = malloc(q->count * sizeof(*written));
	veil_lookup_result *results = malloc(q->count * sizeof(*results));
	veil_client *client = NULL;
	char *token_file = s->opt.tokens ? token_file_path(s, q->user) : NULL;
	if (written == NULL || results == NULL || (s->opt.tokens && token_file == NULL)) {
		run_failed(run, "lookup", VEIL_ERR_NOMEM, NULL);
		goto out;
	}
	if (s->opt.tokens && ensure_tokens(run, q->user, q->count, token_file) != 0)
		goto out;
	for (uint32_t i = 0; i < q->count; i++)
		written[i] = exposure_handle_written(pop, contacts[i]);
	veil_client_options o = s->pin;
	o.server_url = s->url;
	if (s->opt.tokens)
		o.token_file = token_file; /* o.auth and the challenge: pinned */
	else
		o.client_secret = exposure_user_secret(pop, q->user);
	o.region = "US";
	o.timeout_ms = CLIENT_TIMEOUT_MS;
	o.prefix_bits = s->prefix_bits;
	veil_err err = veil_client_new(&o, &client);
	if (err != VEIL_OK) {
		run_failed(run, "cannot make a client", err, NULL);
		goto out;
	}
	/* The time veild's shifted clock reads as the request leaves. */
	const double sent = clock_wall_seconds() + (double)run->offset;
	if ((err = veil_client_lookup(client, written, q->count, results)) != VEIL_OK) {
		run_failed(run, "lookup failed", err, veil_client_last_error(client));
		goto out;
	}
	for (uint32_t i = 0; i < q->count; i++) {
		const char *handle = exposure_handle_normalized(pop, contacts[i]);
		const veil_lookup_status want = exposure_handle_registered(pop, contacts[i])
		                                        ? VEIL_LOOKUP_REGISTERED
		                                        : VEIL_LOOKUP_NOT_REGISTERED;
		if (results[i].status != want || strcmp(results[i].handle, handle) != 0)
			atomic_fetch_add(&run->wrong_answers, 1);
		exposure_baseline_append(lines, sent, exposure_user_public(pop, q->user),
		                         exposure_user_address(q->user), handle);
	}
	if (buf_len(lines) > BASELINE_FLUSH)
		flush_baseline(run, lines);
out:
	veil_client_free(client);
	free(token_file);
	free(written);
	free(results);
}

static void *
slot_worker(void *arg)
{
	slot_run *run = arg;
	buf lines;
	buf_init(&lines);
	for (;;) {
		const size_t i = atomic_fetch_add(&run->next, 1);
		if (i >= run->count || atomic_load(&run->failed))
			break;
		run_request(run, &run->requests[i], &lines);
	}
	if (buf_error(&lines) != VEIL_OK)
		run_failed(run, "baseline log", buf_error(&lines), NULL);
	flush_baseline(run, &lines);
	buf_free(&lines);
	return NULL;
}

/* One hour slot: veild (and veil-issuer) started on its clock, these
 * requests run, stopped again; the slot's token fetches added to
 * *fetches and the tokens they brought to *tokens_fetched. */
static int
run_slot(sim *s, uint32_t day, unsigned slot, const exposure_request *requests, size_t count,
         uint64_t *fetches, uint64_t *tokens_fetched)
{
	/* The offset that puts veild a minute into the slot's hour of the day. */
	const long long target = (long long)(s->day_zero + day) * 86400 +
	                         (long long)exposure_hour_slot(slot) * 3600 + SLOT_MINUTE;
	const long long offset = target - (long long)clock_wall_seconds();
	if (s->opt.tokens && issuer_start(s, offset) != 0)
		return -1;
	if (veild_start(s, offset) != 0) {
		issuer_stop(s);
		return -1;
	}
	slot_run run = {.s = s, .requests = requests, .count = count, .offset = offset};
	atomic_init(&run.next, 0);
	atomic_init(&run.failed, false);
	atomic_init(&run.wrong_answers, 0);
	atomic_init(&run.fetches, 0);
	atomic_init(&run.tokens_fetched, 0);
	pthread_t threads[256];
	unsigned started = 0;
	for (; started < s->opt.threads; started++)
		if (pthread_create(&threads[started], NULL, slot_worker, &run) != 0)
			break;
	if (started == 0)
		slot_worker(&run);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	const int veild_stopped = veild_stop(s);
	const int stopped = issuer_stop(s) != 0 ? -1 : veild_stopped;
	*fetches += atomic_load(&run.fetches);
	*tokens_fetched += atomic_load(&run.tokens_fetched);
	if (atomic_load(&run.failed)) {
		cli_error(PROGRAM, "day %u, %02u h: %s", day, exposure_hour_slot(slot), run.error);
		return -1;
	}
	if (atomic_load(&run.wrong_answers) > 0) {
		cli_error(PROGRAM, "day %u: %llu answers disagree with the registry", day,
		          (unsigned long long)atomic_load(&run.wrong_answers));
		return -1;
	}
	return stopped;
}

static int
write_config(sim *s, uint64_t universe)
{
	buf b;
	buf_init(&b);
	buf_printf(&b, "; veil-exposure-sim\n[veild]\nstate = %s\nlisten = %s\n", s->state, s->url);
	if (s->opt.tokens)
		buf_printf(&b, "auth = tokens\n");
	/* The simulated users are not enrolled one by one: open enrolment,
	 * with buckets no plan can empty (a user re-checks the whole book). */
	buf_printf(&b, "\n[clients]\nenrolment = open\ncapacity = %u\nrefill_per_day = %u\n",
	           UINT32_MAX, UINT32_MAX);
	buf_printf(&b, "\n[log]\naccounts = %u\nuniverse = %llu\n", s->opt.users,
	           (unsigned long long)universe);
	if (s->opt.k_r != 0)
		buf_printf(&b, "k_r = %u\n", s->opt.k_r);
	if (s->opt.k_b != 0)
		buf_printf(&b, "k_b = %u\n", s->opt.k_b);
	if (s->opt.t_r != 0)
		buf_printf(&b, "t_r = %u\n", s->opt.t_r);
	if (s->opt.t_b != 0)
		buf_printf(&b, "t_b = %u\n", s->opt.t_b);
	if (s->opt.salt_retention != 0)
		buf_printf(&b, "salt_retention_days = %u\n", s->opt.salt_retention);
	int rc = buf_error(&b) == VEIL_OK
	                 ? file_write_all(s->config, buf_data(&b), buf_len(&b), 0600)
	                 : -1;
	if (rc != 0)
		cli_error(PROGRAM, "cannot write %s: %s", s->config, strerror(errno));
	buf_free(&b);
	return rc;
}

/*
 * Tokens mode: veil-issuer's configuration. The simulated users are not
 * enrolled one by one (--enrolment open), and their buckets hold more
 * tokens than any plan fetches.
 */
static int
write_issuer_config(sim *s)
{
	buf b;
	buf_init(&b);
	buf_printf(&b, "; veil-exposure-sim\n[issuer]\nstate = %s\nlisten = %s\n", s->issuer_state,
	           s->issuer_url);
	buf_printf(&b, "\n[clients]\ncapacity = %u\nrefill_per_day = %u\n", UINT32_MAX, UINT32_MAX);
	int rc = buf_error(&b) == VEIL_OK
	                 ? file_write_all(s->issuer_config, buf_data(&b), buf_len(&b), 0600)
	                 : -1;
	if (rc != 0)
		cli_error(PROGRAM, "cannot write %s: %s", s->issuer_config, strerror(errno));
	buf_free(&b);
	return rc;
}

/* The enrolled public keys, for `exposure analyze --accounts` on the kept files. */
static int
write_accounts(sim *s)
{
	buf b;
	buf_init(&b);
	char hex[2 * VEIL_KEY_SIZE + 1];
	for (uint32_t u = 0; u < s->opt.users; u++) {
		sodium_bin2hex(hex, sizeof(hex), exposure_user_public(s->pop, u), VEIL_KEY_SIZE);
		buf_printf(&b, "%s\n", hex);
	}
	char *path = join(s->work, "accounts.txt");
	const int rc = path != NULL && buf_error(&b) == VEIL_OK
	                       ? file_write_all(path, buf_data(&b), buf_len(&b), 0644)
	                       : -1;
	if (rc != 0)
		cli_error(PROGRAM, "cannot write the account list: %s", strerror(errno));
	free(path);
	buf_free(&b);
	return rc;
}

/*
 * Tokens mode: the issuer's state, linked into veild's, its pins
 * (`veil-admin issuer info`) and the directory of the token files.
 */
static int
make_issuer(sim *s)
{
	const char *const create[] = {"issuer", "create",    "--state", s->issuer_state,
	                              "--name", ISSUER_NAME, NULL};
	const char *const link[] = {"tokens",        "link",     "--state",    s->state, "--issuer",
	                            s->issuer_state, "--origin", TOKEN_ORIGIN, NULL};
	const char *const info[] = {"issuer", "info", "--state", s->issuer_state, NULL};
	if (run_admin(s, create, NULL) != 0 || run_admin(s, link, NULL) != 0 ||
	    run_admin(s, info, NULL) != 0)
		return -1;
	if (veil_issuer_info_read(s->tool_out, &s->issuer_pin) != VEIL_OK) {
		cli_error(PROGRAM,
		          "veil-admin issuer info printed no issuer key, name or token key");
		return -1;
	}
	if (mkdir(s->tokens_dir, 0700) != 0) {
		cli_error(PROGRAM, "cannot create %s: %s", s->tokens_dir, strerror(errno));
		return -1;
	}
	return write_issuer_config(s);
}

/* keygen (in tokens mode the issuer too), import, and the prefix length
 * clients will send. */
static int
make_state(sim *s)
{
	const char *const keygen[] = {"keygen", "--state", s->state, NULL};
	const char *const info[] = {"info", "--state", s->state, NULL};
	if (run_admin(s, keygen, NULL) != 0 || (s->opt.tokens && make_issuer(s) != 0) ||
	    run_admin(s, info, NULL) != 0)
		return -1;
	if (veil_server_info_read(s->tool_out, &s->pin) != VEIL_OK) {
		cli_error(PROGRAM, "veil-admin info printed no server key, mode or OPRF key");
		return -1;
	}
	if (s->opt.tokens && s->pin.auth != VEIL_AUTH_TOKENS) {
		cli_error(PROGRAM, "veil-admin info does not say auth tokens after tokens link");
		return -1;
	}

	buf registry_file;
	buf_init(&registry_file);
	char *path = join(s->work, "registered.txt");
	int rc = -1;
	if (path != NULL && exposure_population_registry_file(s->pop, &registry_file) == VEIL_OK &&
	    file_write_all(path, buf_data(&registry_file), buf_len(&registry_file), 0600) == 0) {
		const char *const import[] = {"import",   "--state", s->state,
		                              "--strict", path,      NULL};
		rc = run_admin(s, import, NULL);
	} else {
		cli_error(PROGRAM, "cannot write the registry file: %s", strerror(errno));
	}
	buf_free(&registry_file);
	free(path);
	if (rc != 0)
		return -1;

	/* What veild will advertise as its recommendation, computed as it does. */
	const char *why = NULL;
	uint8_t p_rec = 0;
	veil_err err = service_state_prefix_bits(s->state, &p_rec, &why);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "cannot read the new registry: %s%s%s", veil_strerror(err),
		          why ? ": " : "", why ? why : "");
		return -1;
	}
	s->prefix_bits = p_rec;
	if (p_rec > EXPOSURE_MAX_PREFIX_BITS) {
		cli_error(PROGRAM,
		          "the registry's prefix length %u is beyond the analysis (at most %d)",
		          p_rec, EXPOSURE_MAX_PREFIX_BITS);
		return -1;
	}
	return 0;
}

static int
run_days(sim *s)
{
	for (uint32_t day = 0; day < s->opt.days; day++) {
		size_t count = 0;
		const exposure_request *requests = exposure_population_day(s->pop, day, &count);
		const double started = clock_monotonic_seconds();
		uint64_t lookups = 0, fetches = 0, tokens_fetched = 0;
		size_t i = 0;
		for (unsigned slot = 0; slot < EXPOSURE_HOUR_SLOTS; slot++) {
			size_t n = 0;
			while (i + n < count && requests[i + n].hour_slot == slot) {
				lookups += requests[i + n].count;
				n++;
			}
			if (n > 0 &&
			    run_slot(s, day, slot, requests + i, n, &fetches, &tokens_fetched) != 0)
				return -1;
			i += n;
		}
		char token_text[96] = "";
		if (s->opt.tokens)
			snprintf(token_text, sizeof(token_text),
			         ", %llu token fetches (%llu tokens)", (unsigned long long)fetches,
			         (unsigned long long)tokens_fetched);
		fprintf(stderr,
		        "%s: day %u of %u (epoch day %u): %zu checks, %llu lookups%s, %.1f s\n",
		        PROGRAM, day + 1, s->opt.days, s->day_zero + day, count,
		        (unsigned long long)lookups, token_text,
		        clock_monotonic_seconds() - started);
	}
	return 0;
}

/*
 * The exports: A0-A2's as the last day ends, then A3's after the
 * retention sweep run as of a time past the salt retention.
 */
static int
collect_exports(sim *s, uint32_t salt_retention)
{
	char later[32];
	snprintf(later, sizeof(later), "%lld",
	         (long long)(s->last_day + salt_retention) * 86400 + 3600);
	const char *const salts[] = {"log", "salts", "--state", s->state, NULL};
	const char *const export[] = {"log", "export", "--state", s->state, NULL};
	const char *const purge[] = {"log", "purge", "--state", s->state, "--now", later, NULL};
	if (run_admin(s, salts, s->salts_path) != 0 || run_admin(s, export, s->export_path) != 0 ||
	    run_admin(s, purge, NULL) != 0 || run_admin(s, export, s->erased_path) != 0 ||
	    run_admin(s, salts, s->salts_after_path) != 0)
		return -1;
	return 0;
}

/*
 * A4's reading of the clients database the run left: for each user, the
 * day of its last charge (malloc'd; NULL after saying why).
 */
static uint32_t *
read_last_use(const sim *s)
{
	clients *c = NULL;
	veil_err err = clients_open(s->state, NULL, &c);
	const uint32_t users = exposure_population_users(s->pop);
	uint32_t *days = err == VEIL_OK ? calloc(users + 1, sizeof(uint32_t)) : NULL;
	if (err == VEIL_OK && days == NULL)
		err = VEIL_ERR_NOMEM;
	for (uint32_t u = 0; err == VEIL_OK && u < users; u++)
		err = clients_last_use(c, exposure_user_public(s->pop, u), &days[u]);
	clients_close(c);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "cannot read the clients database: %s", veil_strerror(err));
		free(days);
		return NULL;
	}
	return days;
}

/* The days a wiretap order covers: the last ones of the run. */
#define TAP_DAYS 30

/* splitmix64: the padding's prefixes, deterministic for the seed. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * A5's view, from what the simulation knows the clients sent in the last
 * TAP_DAYS days: per request its user and day, and per item its prefix,
 * the real contacts' and the padding up to the size class (random
 * prefixes, as the client draws them). Into *requests and *prefixes
 * (malloc'd); -1 when out of memory.
 */
static int
build_tap(const sim *s, exposure_tap_request **requests, size_t *request_count, uint32_t **prefixes,
          size_t *prefix_count)
{
	const uint32_t first = s->opt.days > TAP_DAYS ? s->opt.days - TAP_DAYS : 0;
	size_t nq = 0, np = 0;
	for (uint32_t day = first; day < s->opt.days; day++) {
		size_t count = 0;
		const exposure_request *q = exposure_population_day(s->pop, day, &count);
		nq += count;
		for (size_t i = 0; i < count; i++)
			np += qlog_size_class(q[i].count);
	}
	*requests = malloc((nq + 1) * sizeof(**requests));
	*prefixes = malloc((np + 1) * sizeof(**prefixes));
	if (*requests == NULL || *prefixes == NULL)
		return -1;
	uint64_t rng = s->opt.seed ^ 0x7461702d70616464ULL; /* "tap-padd" */
	const unsigned p = s->prefix_bits;
	nq = np = 0;
	for (uint32_t day = first; day < s->opt.days; day++) {
		size_t count = 0;
		const exposure_request *q = exposure_population_day(s->pop, day, &count);
		for (size_t i = 0; i < count; i++) {
			const uint32_t padded = qlog_size_class(q[i].count);
			const uint32_t *contacts = exposure_request_contacts(s->pop, &q[i]);
			(*requests)[nq++] =
			        (exposure_tap_request){q[i].user, s->day_zero + day, padded, np};
			for (uint32_t k = 0; k < padded; k++) {
				const uint32_t bucket =
				        k < q[i].count ? exposure_handle_bucket(s->pop, contacts[k])
				                       : (uint32_t)(next_random(&rng) >> 32);
				(*prefixes)[np++] = entry_prefix(bucket, p);
			}
		}
	}
	*request_count = nq;
	*prefix_count = np;
	return 0;
}

/* The digests of qlog.c and exposure.c must agree, or nothing measured means anything. */
static int
check_digests(const char *name, const exposure_figures *f)
{
	if (f->unmatched_requesters == 0 && f->unmatched_items == 0)
		return 0;
	cli_error(
	        PROGRAM,
	        "%s: %llu entries match no account and %llu bucket digests no prefix: the export's "
	        "digests do not follow qlog.h",
	        name, (unsigned long long)f->unmatched_requesters,
	        (unsigned long long)f->unmatched_items);
	return -1;
}

static int
analyze_simulation(sim *s, double started)
{
	exposure_log *log = NULL, *erased = NULL;
	exposure_salts *salts = NULL, *salts_after = NULL;
	exposure_baseline *baseline = NULL;
	exposure_pair *pairs = NULL;
	uint32_t *last_use = NULL, *prefixes = NULL;
	exposure_tap_request *requests = NULL;
	size_t request_count = 0, prefix_count = 0;
	uint64_t export_bytes = 0, erased_bytes = 0;
	exposure_issuer_record *issuer_records = NULL;
	size_t issuer_count = 0;
	exposure_issuer fetches = {0};
	exposure_row rows[8];
	int rc = -1;
	veil_err err;

	char why[320];
	if (exposure_log_load(s->export_path, &log, &export_bytes, why, sizeof(why)) != VEIL_OK ||
	    exposure_log_load(s->erased_path, &erased, &erased_bytes, why, sizeof(why)) !=
	            VEIL_OK ||
	    exposure_salts_load(s->salts_path, &salts, why, sizeof(why)) != VEIL_OK ||
	    exposure_salts_load(s->salts_after_path, &salts_after, why, sizeof(why)) != VEIL_OK ||
	    exposure_baseline_load(s->baseline_path, &baseline, why, sizeof(why)) != VEIL_OK) {
		cli_error(PROGRAM, "%s", why);
		goto out;
	}
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	if (h.tokens != (s->opt.tokens ? 1 : 0)) {
		cli_error(PROGRAM, "the export's header says auth %s",
		          h.tokens ? "tokens" : "keys");
		goto out;
	}
	if (s->opt.tokens) {
		/* I: a copy of the issuer's state directory. */
		err = exposure_issuer_load(s->issuer_state, &issuer_records, &issuer_count, why,
		                           sizeof(why));
		if (err == VEIL_OK)
			err = exposure_issuer_summarize(issuer_records, issuer_count, &fetches);
		if (err != VEIL_OK) {
			cli_error(PROGRAM, "%s", err == VEIL_ERR_NOMEM ? veil_strerror(err) : why);
			goto out;
		}
	}
	if (h.items != exposure_population_lookups(s->pop))
		fprintf(stderr, "%s: note: the export holds %llu lookups of the %llu sent\n",
		        PROGRAM, (unsigned long long)h.items,
		        (unsigned long long)exposure_population_lookups(s->pop));

	const size_t pair_count = s->opt.pairs;
	pairs = calloc(2 * pair_count + 1, sizeof(*pairs));
	if (pairs == NULL) {
		cli_error(PROGRAM, "out of memory");
		goto out;
	}
	exposure_population_pairs(s->pop, s->opt.seed, s->day_zero, pair_count, pairs);
	const uint8_t *accounts = exposure_population_accounts(s->pop);
	const uint32_t users = exposure_population_users(s->pop);
	size_t registered_count = 0;
	const uint32_t *registered =
	        exposure_population_registered_buckets(s->pop, &registered_count);
	const uint64_t widths = (uint64_t)1 << s->prefix_bits;
	/* Tokens mode: veild charges no account, and keeps no clients database. */
	if (!s->opt.tokens && (last_use = read_last_use(s)) == NULL)
		goto out;
	if (build_tap(s, &requests, &request_count, &prefixes, &prefix_count) != 0) {
		cli_error(PROGRAM, "out of memory");
		goto out;
	}

	rows[0] = (exposure_row){"baseline", "Apple-style log", {0}};
	err = exposure_analyze_baseline(baseline, accounts, users, EXPOSURE_NANP_UNIVERSE,
	                                s->baseline_bytes, pairs, 2 * pair_count, &rows[0].figures);
	const exposure_view views[5] = {
	        {log, NULL, accounts, users, EXPOSURE_NANP_UNIVERSE, widths, NULL, 0, export_bytes,
	         NULL},
	        {log, salts, accounts, users, EXPOSURE_NANP_UNIVERSE, widths, NULL, 0, export_bytes,
	         NULL},
	        {log, salts, accounts, users, EXPOSURE_NANP_UNIVERSE, widths, registered,
	         registered_count, export_bytes, NULL},
	        {erased, salts_after, accounts, users, EXPOSURE_NANP_UNIVERSE, widths, NULL, 0,
	         erased_bytes, NULL},
	        {log, salts, accounts, users, EXPOSURE_NANP_UNIVERSE, widths, registered,
	         registered_count, export_bytes, last_use},
	};
	static const char *const names[6][2] = {{"A0", "export"},
	                                        {"A1", "export + salts"},
	                                        {"A2", "+ OPRF key, registry"},
	                                        {"A3", "export, salts erased"},
	                                        {"A4", "state directory copy"},
	                                        {"A5", "wiretap, 30 days"}};
	for (size_t i = 0; i < 5 && err == VEIL_OK; i++) {
		rows[i + 1] = (exposure_row){names[i][0], names[i][1], {0}};
		err = exposure_analyze(&views[i], pairs, 2 * pair_count, &rows[i + 1].figures);
	}
	const exposure_tap tap = {requests, request_count,          prefixes,   s->prefix_bits,
	                          users,    EXPOSURE_NANP_UNIVERSE, registered, registered_count};
	rows[6] = (exposure_row){names[5][0], names[5][1], {0}};
	if (err == VEIL_OK && s->opt.tokens)
		err = exposure_analyze_tap_anonymous(&tap, prefix_count, &rows[6].figures);
	else if (err == VEIL_OK)
		err = exposure_analyze_tap(&tap, prefix_count, pairs, 2 * pair_count,
		                           &rows[6].figures);
	size_t row_count = 7;
	if (err == VEIL_OK && s->opt.tokens) {
		rows[row_count] = (exposure_row){"I", "issuer's state copy", {0}};
		err = exposure_analyze_issuer(log, users, EXPOSURE_NANP_UNIVERSE,
		                              &rows[row_count++].figures);
	}
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "analysis failed: %s", veil_strerror(err));
		goto out;
	}
	/* A4's narrowing must never drop the true requester: the clients
	 * database and the log must agree on the days too. */
	if (check_digests("A1", &rows[2].figures) != 0 ||
	    check_digests("A4", &rows[5].figures) != 0)
		goto out;
	if (rows[4].figures.entries_salted > 0)
		fprintf(stderr, "%s: warning: %llu entries still have a salt after the purge\n",
		        PROGRAM, (unsigned long long)rows[4].figures.entries_salted);

	uint32_t days[EXPOSURE_MAX_DAYS];
	const char *const key_notes[] = {exposure_note_a4, exposure_note_a5};
	const char *const token_notes[] = {exposure_note_tokens, exposure_note_a4_tokens,
	                                   exposure_note_a5_tokens, exposure_note_issuer};
	exposure_report report = {
	        .source = "simulate",
	        .header = h,
	        .universe = EXPOSURE_NANP_UNIVERSE,
	        .accounts = users,
	        .prefix_widths = widths,
	        .population = &s->pop_config,
	        .population_handles = exposure_population_handles(s->pop),
	        .population_lookups = exposure_population_lookups(s->pop),
	        .unregistered_share = exposure_population_unregistered_share(s->pop),
	        .salted_days = days,
	        .salted_day_count = exposure_salted_days(log, salts, days, EXPOSURE_MAX_DAYS),
	        .seconds = clock_monotonic_seconds() - started,
	        .rows = rows,
	        .row_count = row_count,
	        .notes = s->opt.tokens ? token_notes : key_notes,
	        .note_count = s->opt.tokens ? sizeof(token_notes) / sizeof(token_notes[0])
	                                    : sizeof(key_notes) / sizeof(key_notes[0]),
	        .issuer = s->opt.tokens ? &fetches : NULL,
	};
	if (exposure_report_write(&report, s->opt.json, stdout, s->opt.chart, why, sizeof(why)) ==
	    VEIL_OK)
		rc = 0;
	else
		cli_error(PROGRAM, "%s", why);
out:
	exposure_log_free(log);
	exposure_log_free(erased);
	exposure_salts_free(salts);
	exposure_salts_free(salts_after);
	exposure_baseline_free(baseline);
	free(pairs);
	free(last_use);
	free(requests);
	free(prefixes);
	free(issuer_records);
	exposure_issuer_free(&fetches);
	return rc;
}

static void
sim_free_paths(sim *s)
{
	char **paths[] = {&s->veild,         &s->admin,
	                  &s->work,          &s->state,
	                  &s->config,        &s->url,
	                  &s->veild_err,     &s->tool_out,
	                  &s->tool_err,      &s->baseline_path,
	                  &s->export_path,   &s->salts_path,
	                  &s->erased_path,   &s->salts_after_path,
	                  &s->issuer,        &s->issuer_state,
	                  &s->issuer_config, &s->issuer_url,
	                  &s->issuer_err,    &s->tokens_dir};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		free(*paths[i]);
		*paths[i] = NULL;
	}
}

static int
sim_paths(sim *s)
{
	if (s->opt.work_dir != NULL) {
		if (mkdir(s->opt.work_dir, 0700) != 0) {
			cli_error(PROGRAM, "cannot create %s: %s", s->opt.work_dir,
			          strerror(errno));
			return -1;
		}
		s->work = realpath(s->opt.work_dir, NULL);
		s->keep_work = true;
	} else {
		const char *base = getenv("TMPDIR");
		char *pattern = NULL;
		if (asprintf(&pattern, "%s/veil-exposure-XXXXXX",
		             base != NULL && base[0] != '\0' ? base : "/tmp") < 0)
			return -1;
		s->work = mkdtemp(pattern) != NULL ? pattern : NULL;
		if (s->work == NULL)
			free(pattern);
	}
	if (s->work == NULL) {
		cli_error(PROGRAM, "cannot make a work directory: %s", strerror(errno));
		return -1;
	}
	s->state = join(s->work, "state");
	s->config = join(s->work, "veild.ini");
	s->veild_err = join(s->work, "veild.err");
	s->tool_out = join(s->work, "tool.out");
	s->tool_err = join(s->work, "tool.err");
	s->baseline_path = join(s->work, "baseline.jsonl");
	s->export_path = join(s->work, "export.jsonl");
	s->salts_path = join(s->work, "salts.jsonl");
	s->erased_path = join(s->work, "export-salts-erased.jsonl");
	s->salts_after_path = join(s->work, "salts-after-purge.jsonl");
	if (asprintf(&s->url, "ipc://%s/veild.sock", s->work) < 0)
		s->url = NULL;
	if (s->state == NULL || s->config == NULL || s->veild_err == NULL || s->tool_out == NULL ||
	    s->tool_err == NULL || s->baseline_path == NULL || s->export_path == NULL ||
	    s->salts_path == NULL || s->erased_path == NULL || s->salts_after_path == NULL ||
	    s->url == NULL) {
		cli_error(PROGRAM, "out of memory");
		return -1;
	}
	if (!s->opt.tokens)
		return 0;
	s->issuer_state = join(s->work, "issuer");
	s->issuer_config = join(s->work, "veil-issuer.ini");
	s->issuer_err = join(s->work, "veil-issuer.err");
	s->tokens_dir = join(s->work, "tokens");
	if (asprintf(&s->issuer_url, "ipc://%s/issuer.sock", s->work) < 0)
		s->issuer_url = NULL;
	if (s->issuer_state == NULL || s->issuer_config == NULL || s->issuer_err == NULL ||
	    s->tokens_dir == NULL || s->issuer_url == NULL) {
		cli_error(PROGRAM, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A program of the build tree this one was built in (bench/ beside
 * server/daemon/ and server/admin/), else the name alone, for PATH. Heap.
 */
static char *
find_program(const char *given, const char *tree_path, const char *name)
{
	if (given != NULL)
		return strdup(given);
	char self[PATH_MAX];
	const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		char *path = NULL;
		if (slash != NULL) {
			*slash = '\0';
			if (asprintf(&path, "%s/../%s", self, tree_path) < 0)
				path = NULL;
		}
		if (path != NULL && access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return strdup(name);
}

/* Is name a path to an executable, or a program found on PATH? */
static bool
runnable(const char *name)
{
	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	while (path != NULL && *path != '\0') {
		const size_t len = strcspn(path, ":");
		char *candidate = NULL;
		if (asprintf(&candidate, "%.*s/%s", (int)len, path, name) >= 0) {
			const bool ok = access(candidate, X_OK) == 0;
			free(candidate);
			if (ok)
				return true;
		}
		path += len + (path[len] == ':');
	}
	return false;
}

static int
find_programs(sim *s)
{
	s->veild = find_program(s->opt.veild, "server/daemon/veild", "veild");
	s->admin = find_program(s->opt.admin, "server/admin/veil-admin", "veil-admin");
	if (s->veild == NULL || s->admin == NULL) {
		cli_error(PROGRAM, "out of memory");
		return -1;
	}
	if (!runnable(s->veild)) {
		cli_error(PROGRAM, "no veild at %s (use --veild PATH)", s->veild);
		return -1;
	}
	if (!runnable(s->admin)) {
		cli_error(PROGRAM, "no veil-admin at %s (use --admin PATH)", s->admin);
		return -1;
	}
	if (!s->opt.tokens)
		return 0;
	s->issuer = find_program(s->opt.issuer, "server/issuer/veil-issuer", "veil-issuer");
	if (s->issuer == NULL) {
		cli_error(PROGRAM, "out of memory");
		return -1;
	}
	if (!runnable(s->issuer)) {
		cli_error(PROGRAM, "no veil-issuer at %s (use --issuer PATH)", s->issuer);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const uint32_t threads = cpus < 1 ? 2 : cpus > 64 ? 128 : (uint32_t)(2 * cpus);
	sim s = {.opt = {
	                 .users = 1000,
	                 .contacts = 50,
	                 .registered = 0.3,
	                 .days = 7,
	                 .seed = 1,
	                 .pairs = DEFAULT_PAIRS,
	                 .threads = threads,
	         }};
	sim_options *o = &s.opt;
	const cli_option options[] = {
	        CLI_U32_OPTION("users", &o->users, 1, EXPOSURE_MAX_USERS),
	        CLI_U32_OPTION("contacts", &o->contacts, 1, EXPOSURE_MAX_CONTACTS),
	        CLI_DOUBLE_OPTION("registered", &o->registered, 0, 1),
	        CLI_U32_OPTION("days", &o->days, 1, EXPOSURE_MAX_DAYS),
	        CLI_U64_OPTION("seed", &o->seed, 0, UINT64_MAX),
	        CLI_TEXT_OPTION("auth", &o->auth),
	        CLI_U32_OPTION("pad-registry", &o->padding, 0, EXPOSURE_MAX_PADDING),
	        CLI_U32_OPTION("k-r", &o->k_r, 1, UINT32_MAX),
	        CLI_U32_OPTION("k-b", &o->k_b, 1, UINT32_MAX),
	        CLI_U32_OPTION("t-r", &o->t_r, 1, EXPOSURE_MAX_WIDTH),
	        CLI_U32_OPTION("t-b", &o->t_b, 1, EXPOSURE_MAX_WIDTH),
	        CLI_U32_OPTION("salt-retention-days", &o->salt_retention, 1, 30),
	        CLI_U32_OPTION("pairs", &o->pairs, 1, 1000000),
	        CLI_U32_OPTION("threads", &o->threads, 1, 256),
	        CLI_TEXT_OPTION("veild", &o->veild),
	        CLI_TEXT_OPTION("admin", &o->admin),
	        CLI_TEXT_OPTION("issuer", &o->issuer),
	        CLI_TEXT_OPTION("work-dir", &o->work_dir),
	        CLI_FLAG_OPTION("json", &o->json),
	        CLI_TEXT_OPTION("chart", &o->chart),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, synopsis, options};
	const int status = cli_parse_options(&cmd, argc, argv, print_details);
	if (status >= 0)
		return status;
	if (o->auth != NULL && strcmp(o->auth, "keys") != 0 && strcmp(o->auth, "tokens") != 0)
		return cli_usage_error(&cmd, "--auth takes keys or tokens, not %s", o->auth);
	o->tokens = o->auth != NULL && strcmp(o->auth, "tokens") == 0;
	if (veil_crypto_init() != VEIL_OK) {
		cli_error(PROGRAM, "the crypto library failed to start");
		return 1;
	}
	if (o->k_r == 0 && o->t_r == 0) {
		/* A small population cannot meet the production target: scale it. */
		o->k_r = o->users / 8 < QLOG_DEFAULT_K_R ? o->users / 8 : QLOG_DEFAULT_K_R;
		if (o->k_r < 1)
			o->k_r = 1;
	}
	const uint32_t salt_retention =
	        o->salt_retention != 0 ? o->salt_retention : QLOG_DEFAULT_SALT_RETENTION_DAYS;

	const double started = clock_monotonic_seconds();
	int rc = 1;
	pthread_mutex_init(&s.lock, NULL);
	s.pop_config = (exposure_population_config){o->users, o->contacts, o->registered,
	                                            o->days,  o->seed,     o->padding};
	/* The log's day never steps back (qlog.h), and it follows the wall
	 * clock too: the simulated days start today and run into the future. */
	s.day_zero = (uint32_t)(clock_wall_seconds() / 86400);
	s.last_day = s.day_zero + o->days - 1;
	if (find_programs(&s) != 0 || sim_paths(&s) != 0)
		goto out;
	fprintf(stderr, "%s: building the population (%u users, %u contacts)\n", PROGRAM, o->users,
	        o->contacts);
	veil_err err = exposure_population_new(&s.pop_config, &s.pop);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "cannot build the population: %s", veil_strerror(err));
		goto out;
	}
	if (make_state(&s) != 0 || write_config(&s, EXPOSURE_NANP_UNIVERSE) != 0 ||
	    write_accounts(&s) != 0)
		goto out;
	size_t registered = 0;
	exposure_population_registered_buckets(s.pop, &registered);
	fprintf(stderr, "%s: %zu handles registered, clients send %u prefix bits; work in %s\n",
	        PROGRAM, registered, s.prefix_bits, s.work);
	if ((s.baseline = fopen(s.baseline_path, "w")) == NULL) {
		cli_error(PROGRAM, "cannot write %s: %s", s.baseline_path, strerror(errno));
		goto out;
	}
	const int days_ok = run_days(&s);
	if (fclose(s.baseline) != 0 && days_ok == 0) {
		cli_error(PROGRAM, "cannot write %s: %s", s.baseline_path, strerror(errno));
		s.baseline = NULL;
		goto out;
	}
	s.baseline = NULL;
	if (days_ok != 0 || collect_exports(&s, salt_retention) != 0 ||
	    analyze_simulation(&s, started) != 0)
		goto out;
	rc = 0;
out:
	veild_stop(&s);
	issuer_stop(&s);
	if (s.baseline != NULL)
		fclose(s.baseline);
	exposure_population_free(s.pop);
	if (s.work != NULL && !s.keep_work)
		remove_tree(s.work);
	else if (s.work != NULL && rc != 0)
		fprintf(stderr, "%s: kept %s\n", PROGRAM, s.work);
	sim_free_paths(&s);
	pthread_mutex_destroy(&s.lock);
	return rc;
}
