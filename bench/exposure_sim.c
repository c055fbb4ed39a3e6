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

extern char **environ;

static const char synopsis[] =
        "[--users N] [--contacts M] [--registered F] [--days D] [--seed S] [--json]\n"
        "       [--chart FILE] [OPTIONS]";

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
        "Prints a table (or JSON) and writes an SVG chart.\n"
        "\n"
        "  --users N        accounts, each with a phone number, half with an email (1000)\n"
        "  --contacts M     address book size on day 0 (50)\n"
        "  --registered F   share of the population's handles registered, 0..1 (0.3)\n"
        "  --days D         simulated days, 1..366 (7)\n"
        "  --seed S         the population and plan are a function of S (1)\n"
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
        "  --work-dir DIR   work in DIR (created; kept): state, exports, baseline log;\n"
        "                   default: a temporary directory, removed at the end\n"
        "  --json           print JSON (schema veil-exposure-v1) instead of the table\n"
        "  --chart FILE     write the SVG chart to FILE\n"
        "\n"
        "Day d of D runs as the epoch day today + d (a log's day never steps back and\n"
        "follows the wall clock, so the simulation runs into the future); veild\n"
        "restarts with --clock-offset for each hour users check in (08, 12, 17 and\n"
        "21 h). The state is fresh and temporary: no real log is touched. Every user\n"
        "checks the whole book on day 0; on later days 1 in 7 re-check it, the others\n"
        "look up the 0 to 3 contacts they just added. Salts are taken with\n"
        "`veil-admin log salts` after the last day; A3's export follows `log purge\n"
        "--now` past the salt retention. Exit status 1 when any answer disagrees with\n"
        "the registry or the export's digests do not follow qlog.h, 2 for a usage\n"
        "error.\n";

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
	const char *chart, *veild, *admin, *work_dir;
} sim_options;

typedef struct sim {
	sim_options opt;
	char *veild, *admin;
	char *work, *state, *config, *url, *veild_err, *tool_out, *tool_err;
	char *baseline_path, *export_path, *salts_path, *erased_path, *salts_after_path;
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
	if (spawn(argv, NULL, s->veild_err, &s->veild_pid) != 0) {
		cli_error(PROGRAM, "cannot run %s: %s", s->veild, strerror(errno));
		s->veild_pid = 0;
		return -1;
	}
	const double deadline = clock_monotonic_seconds() + READY_WAIT_SECONDS;
	for (;;) {
		char *text = NULL;
		size_t len = 0;
		const int ready = file_read_all(s->veild_err, MAX_OUTPUT, &text, &len) == 0 &&
		                  strstr(text, READY_TEXT) != NULL;
		free(text);
		if (ready)
			return 0;
		int status;
		const pid_t done = waitpid(s->veild_pid, &status, WNOHANG);
		if (done == s->veild_pid || clock_monotonic_seconds() > deadline) {
			if (done != s->veild_pid) {
				kill(s->veild_pid, SIGKILL);
				wait_child(s->veild_pid);
			}
			s->veild_pid = 0;
			char *why = last_line(s->veild_err);
			cli_error(PROGRAM, "veild did not start: %s",
			          why[0] != '\0' ? why : "no ready line");
			free(why);
			return -1;
		}
		clock_sleep_seconds(0.02);
	}
}

static int
veild_stop(sim *s)
{
	if (s->veild_pid <= 0)
		return 0;
	kill(s->veild_pid, SIGTERM);
	const int rc = wait_child(s->veild_pid);
	s->veild_pid = 0;
	if (rc != 0) {
		char *why = last_line(s->veild_err);
		cli_error(PROGRAM, "veild exited %d: %s", rc, why);
		free(why);
		return -1;
	}
	return 0;
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

/* One user's check: the real client library, the user's own key. */
static void
run_request(slot_run *run, const exposure_request *q, buf *lines)
{
	sim *s = run->s;
	const exposure_population *pop = s->pop;
	const uint32_t *contacts = exposure_request_contacts(pop, q);
	const char **written = malloc(q->count * sizeof(*written));
	veil_lookup_result *results = malloc(q->count * sizeof(*results));
	veil_client *client = NULL;
	if (written == NULL || results == NULL) {
		run_failed(run, "lookup", VEIL_ERR_NOMEM, NULL);
		goto out;
	}
	for (uint32_t i = 0; i < q->count; i++)
		written[i] = exposure_handle_written(pop, contacts[i]);
	veil_client_options o = s->pin;
	o.server_url = s->url;
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

static int
run_slot(sim *s, uint32_t day, unsigned slot, const exposure_request *requests, size_t count)
{
	/* The offset that puts veild a minute into the slot's hour of the day. */
	const long long target = (long long)(s->day_zero + day) * 86400 +
	                         (long long)exposure_hour_slot(slot) * 3600 + SLOT_MINUTE;
	const long long offset = target - (long long)clock_wall_seconds();
	if (veild_start(s, offset) != 0)
		return -1;
	slot_run run = {.s = s, .requests = requests, .count = count, .offset = offset};
	atomic_init(&run.next, 0);
	atomic_init(&run.failed, false);
	atomic_init(&run.wrong_answers, 0);
	pthread_t threads[256];
	unsigned started = 0;
	for (; started < s->opt.threads; started++)
		if (pthread_create(&threads[started], NULL, slot_worker, &run) != 0)
			break;
	if (started == 0)
		slot_worker(&run);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	const int stopped = veild_stop(s);
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

/* keygen, import, and the prefix length clients will send. */
static int
make_state(sim *s)
{
	const char *const keygen[] = {"keygen", "--state", s->state, NULL};
	const char *const info[] = {"info", "--state", s->state, NULL};
	if (run_admin(s, keygen, NULL) != 0 || run_admin(s, info, NULL) != 0)
		return -1;
	if (veil_server_info_read(s->tool_out, &s->pin) != VEIL_OK) {
		cli_error(PROGRAM, "veil-admin info printed no server key, mode or OPRF key");
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
		uint64_t lookups = 0;
		size_t i = 0;
		for (unsigned slot = 0; slot < EXPOSURE_HOUR_SLOTS; slot++) {
			size_t n = 0;
			while (i + n < count && requests[i + n].hour_slot == slot) {
				lookups += requests[i + n].count;
				n++;
			}
			if (n > 0 && run_slot(s, day, slot, requests + i, n) != 0)
				return -1;
			i += n;
		}
		fprintf(stderr,
		        "%s: day %u of %u (epoch day %u): %zu checks, %llu lookups, %.1f s\n",
		        PROGRAM, day + 1, s->opt.days, s->day_zero + day, count,
		        (unsigned long long)lookups, clock_monotonic_seconds() - started);
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
	exposure_row rows[7];
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
	if ((last_use = read_last_use(s)) == NULL)
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
	if (err == VEIL_OK)
		err = exposure_analyze_tap(&tap, prefix_count, pairs, 2 * pair_count,
		                           &rows[6].figures);
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
	const char *const notes[2] = {exposure_note_a4, exposure_note_a5};
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
	        .row_count = 7,
	        .notes = notes,
	        .note_count = 2,
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
	return rc;
}

static void
sim_free_paths(sim *s)
{
	char **paths[] = {&s->veild,         &s->admin,           &s->work,
	                  &s->state,         &s->config,          &s->url,
	                  &s->veild_err,     &s->tool_out,        &s->tool_err,
	                  &s->baseline_path, &s->export_path,     &s->salts_path,
	                  &s->erased_path,   &s->salts_after_path};
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
	        CLI_TEXT_OPTION("work-dir", &o->work_dir),
	        CLI_FLAG_OPTION("json", &o->json),
	        CLI_TEXT_OPTION("chart", &o->chart),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, synopsis, options};
	const int status = cli_parse_options(&cmd, argc, argv, print_details);
	if (status >= 0)
		return status;
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
