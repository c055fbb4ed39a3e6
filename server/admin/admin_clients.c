/*
 * veil-admin client add|remove|list (commands.h): enrolment and quotas of
 * a state directory's clients (server/store/clients.h).
 */
#include "commands.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "clients.h"
#include "state.h"

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
        "request on. Its record is deleted, quota bucket and all: enrolling it again\n"
        "starts a full bucket. Fails, changing nothing, when PUBKEY is not enrolled.\n";

const char admin_client_list_details[] =
        "One line per enrolled client: fingerprint (first 16 hex digits of the keyed\n"
        "digest), quota override (\"-\" for the configured one), whole tokens left\n"
        "today (the bucket refills at each UTC midnight), bucket capacity, refill per\n"
        "day, and the UTC day of its last charge. Then the count of clients tracked\n"
        "without enrolment (open enrolment; forgotten after 30 idle days).\n"
        "Never prints a key. Figures use the configuration veild last opened the\n"
        "database with. --json: one JSON object, {\"enrolment\", \"capacity\",\n"
        "\"refill_per_day\" (the defaults), \"clients\": [{\"fingerprint\", \"quota\"\n"
        "(null, a number or \"unlimited\"), \"tokens\", \"capacity\", \"refill_per_day\",\n"
        "\"last_use\" (YYYY-MM-DD or null)}], \"enrolled\", \"tracked_without_enrolment\"}.\n";

/* The options' values, written by veil-admin's parser through the tables
 * below before a command runs. */
static const char *state_dir;
static const char *quota_text; /* add */
static bool json;              /* list --json */

const cli_option admin_client_add_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_TEXT_OPTION("quota", &quota_text),
        CLI_END,
};
const cli_option admin_client_state_options[] = {CLI_TEXT_OPTION("state", &state_dir), CLI_END};
const cli_option admin_client_list_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_FLAG_OPTION("json", &json),
        CLI_END,
};

/* PUBKEY: 64 hex digits. 0, or the exit status of the usage error (which
 * never echoes the text: it may be someone's key). */
static int
parse_key(const cli_command *cmd, const char *text, uint8_t key[CLIENTS_KEY_SIZE])
{
	size_t len = 0;
	const char *end = NULL;
	if (strlen(text) != 2 * CLIENTS_KEY_SIZE ||
	    sodium_hex2bin(key, CLIENTS_KEY_SIZE, text, strlen(text), NULL, &len, &end) != 0 ||
	    len != CLIENTS_KEY_SIZE || *end != '\0')
		return cli_usage_error(cmd,
		                       "PUBKEY must be 64 hex digits, as `veil keygen` prints");
	return 0;
}

/* 1 to MAX_QUOTA in decimal, or "unlimited"; returns 0 or -1. */
static int
parse_quota(const char *text, uint32_t *out)
{
	uint64_t v;
	if (strcmp(text, "unlimited") == 0) {
		*out = CLIENTS_QUOTA_UNLIMITED;
		return 0;
	}
	if (cli_parse_u64(text, 1, MAX_QUOTA, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Opens the clients of a veil state directory (one with a transport key). */
static clients *
open_clients(const cli_command *cmd)
{
	clients *c = NULL;
	struct stat st;
	char path[PATH_MAX];
	const int n = snprintf(path, sizeof(path), "%s/%s", state_dir, STATE_TRANSPORT_KEY_FILE);
	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0) {
		cli_error(cmd->name, "%s is not a veil state directory (no %s)", state_dir,
		          STATE_TRANSPORT_KEY_FILE);
		return NULL;
	}
	veil_err err = clients_open(state_dir, NULL, &c);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot open the clients of %s: %s", state_dir,
		          err == VEIL_ERR_PERMISSION
		                  ? "clients.key may be read by the group or others"
		                  : veil_strerror(err));
		return NULL;
	}
	return c;
}

static void
print_fingerprint(const uint8_t digest[CLIENTS_DIGEST_SIZE])
{
	char hex[2 * FINGERPRINT_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), digest, FINGERPRINT_BYTES);
	fputs(hex, stdout);
}

/* "WORD <fingerprint>", the outcome of add and remove. */
static void
print_outcome(const clients *c, const char *word, const uint8_t key[CLIENTS_KEY_SIZE])
{
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	clients_digest(c, key, digest);
	printf("%s ", word);
	print_fingerprint(digest);
	printf("\n");
}

/* ------------------------------------------------------------------ */
/* add, remove */

int
admin_client_add(const cli_command *cmd, int argc, char **argv)
{
	uint8_t key[CLIENTS_KEY_SIZE];
	uint32_t quota = 0;
	int was_enrolled = 0;

	int rc = parse_key(cmd, argv[0], key);
	if (rc != 0)
		return rc;
	if (quota_text != NULL && parse_quota(quota_text, &quota) != 0)
		return cli_usage_error(
		        cmd, "--quota takes 1 to 1000000000 items a day, or unlimited, not %s",
		        quota_text);
	clients *c = open_clients(cmd);
	if (c == NULL)
		return 1;
	veil_err err = clients_enrol(c, key, quota, (int64_t)time(NULL), &was_enrolled);
	if (err == VEIL_OK)
		print_outcome(c, was_enrolled ? "updated" : "enrolled", key);
	else
		cli_error(cmd->name, "failed, nothing changed: %s", veil_strerror(err));
	clients_close(c);
	return err == VEIL_OK ? 0 : 1;
}

int
admin_client_remove(const cli_command *cmd, int argc, char **argv)
{
	uint8_t key[CLIENTS_KEY_SIZE];

	int rc = parse_key(cmd, argv[0], key);
	if (rc != 0)
		return rc;
	clients *c = open_clients(cmd);
	if (c == NULL)
		return 1;
	veil_err err = clients_remove(c, key);
	if (err == VEIL_OK)
		print_outcome(c, "removed", key);
	else if (err == VEIL_ERR_NOT_FOUND)
		cli_error(cmd->name, "that key is not enrolled; nothing changed");
	else
		cli_error(cmd->name, "failed, nothing changed: %s", veil_strerror(err));
	clients_close(c);
	return err == VEIL_OK ? 0 : 1;
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
	if (json) {
		char quota[16] = "null";
		if (r->quota == CLIENTS_QUOTA_UNLIMITED)
			snprintf(quota, sizeof(quota), "\"unlimited\"");
		else if (r->quota > 0)
			snprintf(quota, sizeof(quota), "%u", r->quota);
		printf("%s{\"fingerprint\":\"", s->enrolled == 1 ? "" : ",");
		print_fingerprint(r->digest);
		printf("\",\"quota\":%s,\"tokens\":%u,\"capacity\":%u,\"refill_per_day\":%u,"
		       "\"last_use\":",
		       quota, r->tokens, r->capacity, r->refill_per_day);
		if (r->last_use_day > 0)
			printf("\"%s\"}", day);
		else
			printf("null}");
		return 0;
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
admin_client_list(const cli_command *cmd, int argc, char **argv)
{
	list_state s = {0, 0};
	clients_config config;

	clients *c = open_clients(cmd);
	if (c == NULL)
		return 1;
	clients_config_get(c, &config);
	if (json) {
		printf("{\"enrolment\":\"%s\",\"capacity\":%u,\"refill_per_day\":%u,\"clients\":[",
		       config.enrolment_required ? "required" : "open", config.capacity,
		       config.refill_per_day);
	} else {
		printf("# enrolment %s; default bucket %u, refill %u a day\n",
		       config.enrolment_required ? "required" : "open", config.capacity,
		       config.refill_per_day);
		printf("%-16s  %10s %10s %10s %10s  %s\n", "fingerprint", "quota", "tokens",
		       "capacity", "refill/day", "last-use");
	}
	veil_err err = clients_list(c, (int64_t)time(NULL), list_one, &s);
	clients_close(c);
	if (err != VEIL_OK) {
		if (json)
			printf("\n"); /* the half-written object is not JSON: the status says so */
		cli_error(cmd->name, "cannot read the clients: %s", veil_strerror(err));
		return 1;
	}
	if (json)
		printf("],\"enrolled\":%llu,\"tracked_without_enrolment\":%llu}\n", s.enrolled,
		       s.others);
	else
		printf("# %llu enrolled, %llu tracked without enrolment\n", s.enrolled, s.others);
	return 0;
}
