#include "admin_clients.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "clients.h"
#include "state.h"

#define PROGRAM           "veil-admin"
#define EXIT_USAGE        2
#define FINGERPRINT_BYTES 8 /* 16 hex digits of the digest */
#define MAX_QUOTA         1000000000u

const char admin_client_add_details[] =
        "Enrols PUBKEY, a client's public key as `veil keygen` prints it (64 hex\n"
        "digits). With enrolment required (veild's default) only enrolled keys are\n"
        "served. --quota N gives this client N items a day instead of the configured\n"
        "refill, and a bucket scaled alike; --quota unlimited never refuses or charges\n"
        "it (for benchmark and test states). Adding an enrolled key again sets its\n"
        "quota (the configured one without --quota) and keeps its tokens. Prints the\n"
        "client's fingerprint, the first 16 hex digits of the keyed digest under\n"
        "which it is stored (the key itself never is). Works while veild runs.\n";

const char admin_client_remove_details[] =
        "Withdraws PUBKEY's enrolment: veild refuses it (UNAUTHORIZED) from its next\n"
        "request on. Its quota bucket is kept, so enrolling it again refills nothing.\n"
        "Fails, changing nothing, when PUBKEY is not enrolled.\n";

const char admin_client_list_details[] =
        "One line per enrolled client: fingerprint (first 16 hex digits of the keyed\n"
        "digest), quota override (\"-\" for the configured one), whole tokens left now,\n"
        "bucket capacity, refill per day, and the UTC day of its last charge. Then the\n"
        "count of clients tracked without enrolment (open enrolment). Never prints a\n"
        "key. Figures use the configuration veild last opened the database with.\n";

static void fail(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(const char *command, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: client %s: ", PROGRAM, command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* Arguments */

typedef struct arguments {
	const char *state;
	const char *quota;
	const char *key;
} arguments;

static int usage(const char *command, const char *synopsis, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
usage(const char *command, const char *synopsis, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: client %s: ", PROGRAM, command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s client %s %s\n", PROGRAM, command, synopsis);
	return EXIT_USAGE;
}

/* Parses --state DIR, --quota N (when takes_quota) and one PUBKEY (when takes_key). */
static int
parse(const char *command, const char *synopsis, int takes_quota, int takes_key, int argc,
      char **argv, arguments *a)
{
	int only_positional = 0;
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (only_positional || arg[0] != '-') {
			if (!takes_key || a->key != NULL)
				return usage(command, synopsis, "%s", "too many arguments");
			a->key = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_positional = 1;
			continue;
		}
		const char **slot = NULL;
		const char *name = NULL;
		if (strncmp(arg, "--state", 7) == 0 && (arg[7] == '\0' || arg[7] == '=')) {
			slot = &a->state;
			name = "--state";
		} else if (takes_quota && strncmp(arg, "--quota", 7) == 0 &&
		           (arg[7] == '\0' || arg[7] == '=')) {
			slot = &a->quota;
			name = "--quota";
		} else {
			return usage(command, synopsis, "unknown option %s", arg);
		}
		if (arg[7] == '=')
			*slot = arg + 8;
		else if (i + 1 < argc)
			*slot = argv[++i];
		else
			return usage(command, synopsis, "%s needs a value", name);
	}
	if (a->state == NULL || a->state[0] == '\0')
		return usage(command, synopsis, "%s", "--state DIR is required");
	if (takes_key && a->key == NULL)
		return usage(command, synopsis, "%s", "missing argument");
	return 0;
}

/* 64 hex digits; returns 0 or -1. */
static int
parse_key(const char *text, uint8_t key[CLIENTS_KEY_SIZE])
{
	size_t len = 0;
	const char *end = NULL;
	if (strlen(text) != 2 * CLIENTS_KEY_SIZE ||
	    sodium_hex2bin(key, CLIENTS_KEY_SIZE, text, strlen(text), NULL, &len, &end) != 0 ||
	    len != CLIENTS_KEY_SIZE || *end != '\0')
		return -1;
	return 0;
}

/* 1 to MAX_QUOTA in decimal, or "unlimited"; returns 0 or -1. */
static int
parse_quota(const char *text, uint32_t *out)
{
	if (strcmp(text, "unlimited") == 0) {
		*out = CLIENTS_QUOTA_UNLIMITED;
		return 0;
	}
	char *end = NULL;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	const unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > MAX_QUOTA)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Opens the clients of a veil state directory (one with a transport key). */
static clients *
open_clients(const char *command, const char *state_dir)
{
	clients *c = NULL;
	struct stat st;
	const size_t need = strlen(state_dir) + sizeof("/" STATE_TRANSPORT_KEY_FILE);
	char *path = malloc(need);
	if (path == NULL) {
		fail(command, "out of memory");
		return NULL;
	}
	snprintf(path, need, "%s/%s", state_dir, STATE_TRANSPORT_KEY_FILE);
	const int found = stat(path, &st) == 0;
	free(path);
	if (!found) {
		fail(command, "%s is not a veil state directory (no %s)", state_dir,
		     STATE_TRANSPORT_KEY_FILE);
		return NULL;
	}
	veil_err err = clients_open(state_dir, NULL, &c);
	if (err != VEIL_OK) {
		fail(command, "cannot open the clients of %s: %s", state_dir,
		     err == VEIL_ERR_PERMISSION ? "clients.key may be read by the group or others"
		                                : veil_strerror(err));
		return NULL;
	}
	return c;
}

static void
print_fingerprint(const uint8_t digest[CLIENTS_DIGEST_SIZE])
{
	for (size_t i = 0; i < FINGERPRINT_BYTES; i++)
		printf("%02x", digest[i]);
}

/* ------------------------------------------------------------------ */
/* add, remove */

#define ADD_SYNOPSIS    "--state DIR [--quota N] PUBKEY"
#define REMOVE_SYNOPSIS "--state DIR PUBKEY"
#define LIST_SYNOPSIS   "--state DIR"

int
admin_client_add(int argc, char **argv)
{
	arguments a;
	uint8_t key[CLIENTS_KEY_SIZE];
	uint32_t quota = 0;
	int was_enrolled = 0;

	int rc = parse("add", ADD_SYNOPSIS, 1, 1, argc, argv, &a);
	if (rc != 0)
		return rc;
	if (parse_key(a.key, key) != 0)
		return usage("add", ADD_SYNOPSIS, "%s",
		             "PUBKEY must be 64 hex digits, as `veil keygen` prints");
	if (a.quota != NULL && parse_quota(a.quota, &quota) != 0)
		return usage("add", ADD_SYNOPSIS,
		             "--quota takes 1 to 1000000000 items a day, or unlimited, not %s", a.quota);
	clients *c = open_clients("add", a.state);
	if (c == NULL)
		return 1;
	veil_err err = clients_enrol(c, key, quota, (int64_t)time(NULL), &was_enrolled);
	if (err != VEIL_OK) {
		fail("add", "failed, nothing changed: %s", veil_strerror(err));
		clients_close(c);
		return 1;
	}
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	clients_digest(c, key, digest);
	printf("%s ", was_enrolled ? "updated" : "enrolled");
	print_fingerprint(digest);
	printf("\n");
	clients_close(c);
	return 0;
}

int
admin_client_remove(int argc, char **argv)
{
	arguments a;
	uint8_t key[CLIENTS_KEY_SIZE];

	int rc = parse("remove", REMOVE_SYNOPSIS, 0, 1, argc, argv, &a);
	if (rc != 0)
		return rc;
	if (parse_key(a.key, key) != 0)
		return usage("remove", REMOVE_SYNOPSIS, "%s",
		             "PUBKEY must be 64 hex digits, as `veil keygen` prints");
	clients *c = open_clients("remove", a.state);
	if (c == NULL)
		return 1;
	veil_err err = clients_remove(c, key);
	if (err == VEIL_ERR_NOT_FOUND) {
		fail("remove", "that key is not enrolled; nothing changed");
		clients_close(c);
		return 1;
	}
	if (err != VEIL_OK) {
		fail("remove", "failed, nothing changed: %s", veil_strerror(err));
		clients_close(c);
		return 1;
	}
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	clients_digest(c, key, digest);
	printf("removed ");
	print_fingerprint(digest);
	printf("\n");
	clients_close(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* list */

typedef struct list_state {
	unsigned long long enrolled, others;
} list_state;

static int
list_one(void *arg, const clients_record *r)
{
	list_state *s = arg;
	char day[16] = "never";
	if (!r->enrolled) {
		s->others++;
		return 0;
	}
	s->enrolled++;
	if (r->last_use_day > 0) {
		struct tm tm;
		const time_t t = (time_t)r->last_use_day * 86400;
		if (gmtime_r(&t, &tm) != NULL)
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	}
	print_fingerprint(r->digest);
	char quota[16] = "-";
	if (r->quota == CLIENTS_QUOTA_UNLIMITED)
		snprintf(quota, sizeof(quota), "unlimited");
	else if (r->quota > 0)
		snprintf(quota, sizeof(quota), "%u", r->quota);
	printf("  %10s %10u %10u %10u  %s\n", quota, r->tokens, r->capacity, r->refill_per_day,
	       day);
	return 0;
}

int
admin_client_list(int argc, char **argv)
{
	arguments a;
	list_state s = {0, 0};
	clients_config config;

	int rc = parse("list", LIST_SYNOPSIS, 0, 0, argc, argv, &a);
	if (rc != 0)
		return rc;
	clients *c = open_clients("list", a.state);
	if (c == NULL)
		return 1;
	clients_config_get(c, &config);
	printf("# enrolment %s; default bucket %u, refill %u a day\n",
	       config.enrolment_required ? "required" : "open", config.capacity,
	       config.refill_per_day);
	printf("%-16s  %10s %10s %10s %10s  %s\n", "fingerprint", "quota", "tokens", "capacity",
	       "refill/day", "last-use");
	veil_err err = clients_list(c, (int64_t)time(NULL), list_one, &s);
	clients_close(c);
	if (err != VEIL_OK) {
		fail("list", "cannot read the clients: %s", veil_strerror(err));
		return 1;
	}
	printf("# %llu enrolled, %llu tracked without enrolment\n", s.enrolled, s.others);
	return 0;
}
