/*
 * veil-admin issuer create|info|rotate|retire (commands.h): the state
 * directory of the token issuer, veil-issuer (server/issuer/issuer.h).
 */
#include "commands.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "issuer.h"

/* Hours of grace at most: ten years. */
#define MAX_GRACE_HOURS     87600
/* --now at most: unix seconds, about the year 36812. */
#define MAX_NOW             ((uint64_t)1 << 40)
#define DEFAULT_GRACE_HOURS 48

const char admin_issuer_create_details[] =
        "Creates DIR (mode 0700) unless it exists, with the issuer's transport key\n"
        "pair (transport.key: clients seal their requests to it), its name\n"
        "(issuer.name: the issuer_name of the TokenChallenges its tokens answer,\n"
        "printable ASCII without spaces, such as issuer.example.org), issuer key\n"
        "id 1 (issuer-00000001.key, P-384, listed in issuer.keys) and an empty\n"
        "store of accounts (clients.key, clients/). Refuses to touch a directory\n"
        "that already holds any of them. Prints the issuer-key line clients pin.\n"
        "Enrol accounts with `veil-admin client add --state DIR PUBKEY`; serve\n"
        "with `veil-issuer --state DIR --listen URL`.\n";

const char admin_issuer_info_details[] =
        "What clients pin for the issuer; never a secret:\n"
        "  issuer-key <hex>                the transport public key (64 hex digits)\n"
        "  issuer-name <name>              the issuer's name\n"
        "  token-key <key id> <hex>        one line per live issuer key, the current\n"
        "                                  one first: pkI, compressed P-384 (98 hex)\n"
        "Keys whose grace has passed are not listed. Hand the whole output to\n"
        "clients.\n";

const char admin_issuer_rotate_details[] =
        "Makes a new issuer key (the current id + 1; its truncated token key id\n"
        "differs from every live key's) and makes it current; tokens are issued\n"
        "under it alone. The key that was current stays live for HOURS (0 to\n"
        "87600, default 48), so tokens issued under it can still be redeemed, then\n"
        "leaves at the next rotate or retire. Keys whose grace has passed are\n"
        "retired first (file overwritten and removed). veil-issuer reads its keys at\n"
        "start: restart it; and re-run `veil-admin tokens link` for every veild\n"
        "that redeems this issuer's tokens. Clients then need the new `issuer info`.\n"
        "--now sets the clock, for tests and drills.\n";

const char admin_issuer_retire_details[] =
        "Retires the keys whose grace has passed: they leave issuer.keys and their\n"
        "files are overwritten and removed (and so are key files no live key owns,\n"
        "left by an interrupted rotation). Prints the keys retired and the live\n"
        "ones. --now sets the clock, for tests and drills.\n";

/* The options' values, written by veil-admin's parser through the tables
 * below before a command runs. */
static const char *state_dir;
static const char *name;                           /* create */
static uint64_t grace_hours = DEFAULT_GRACE_HOURS; /* rotate */
static uint64_t now_given;                         /* rotate, retire: 0 for the clock */

const cli_option admin_issuer_create_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_TEXT_OPTION("name", &name),
        CLI_END,
};
const cli_option admin_issuer_state_options[] = {CLI_TEXT_OPTION("state", &state_dir), CLI_END};
const cli_option admin_issuer_rotate_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_U64_OPTION("grace-hours", &grace_hours, 0, MAX_GRACE_HOURS),
        CLI_U64_OPTION("now", &now_given, 1, MAX_NOW),
        CLI_END,
};
const cli_option admin_issuer_retire_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_U64_OPTION("now", &now_given, 1, MAX_NOW),
        CLI_END,
};

static int64_t
now_of(void)
{
	return now_given != 0 ? (int64_t)now_given : (int64_t)time(NULL);
}

/* A failure on the issuer state, with a hint for the common ones. */
static int
state_error(const cli_command *cmd, const char *what, veil_err err)
{
	const char *hint = err == VEIL_ERR_NOT_FOUND
	                           ? " (not an issuer state directory? make one with `veil-admin "
	                             "issuer create`)"
	                   : err == VEIL_ERR_PERMISSION
	                           ? " (a key file may be read or written by the group or others)"
	                   : err == VEIL_ERR_LIMIT ? " (too many live keys: retire first)"
	                                           : "";
	cli_error(cmd->name, "cannot %s issuer state %s: %s%s", what, state_dir, veil_strerror(err),
	          hint);
	return 1;
}

int
admin_issuer_create(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint8_t pk[ISSUER_TRANSPORT_KEY_SIZE];
	if (name == NULL)
		return cli_usage_error(cmd, "--name NAME is required");
	if (!token_name_valid(name))
		return cli_usage_error(cmd,
		                       "--name takes 1 to %d bytes of printable ASCII without "
		                       "spaces, such as issuer.example.org",
		                       ISSUER_NAME_MAX);
	veil_err err = issuer_create(state_dir, name);
	if (err == VEIL_ERR_EXISTS) {
		cli_error(cmd->name,
		          "%s already holds an issuer state (or some of its files): nothing "
		          "was changed",
		          state_dir);
		return 1;
	}
	if (err != VEIL_OK)
		return state_error(cmd, "create", err);
	if ((err = issuer_transport_public_read(state_dir, pk)) != VEIL_OK)
		return state_error(cmd, "read the new", err);
	printf("issuer-key ");
	admin_print_hex(pk, sizeof(pk));
	printf("\n");
	cli_error(cmd->name, "created issuer state in %s", state_dir);
	return 0;
}

int
admin_issuer_info(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint8_t pk[ISSUER_TRANSPORT_KEY_SIZE];
	char issuer_name[ISSUER_NAME_MAX + 1];
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t count = 0;
	issuer *is = NULL;
	veil_err err;

	if ((err = issuer_open_keys(state_dir, &is)) != VEIL_OK)
		return state_error(cmd, "open", err);
	if ((err = issuer_transport_public_read(state_dir, pk)) != VEIL_OK ||
	    (err = issuer_name_read(state_dir, issuer_name)) != VEIL_OK ||
	    (err = issuer_keys(is, keys, &count)) != VEIL_OK) {
		issuer_close(is);
		return state_error(cmd, "read", err);
	}
	const int64_t now = (int64_t)time(NULL);
	printf("issuer-key ");
	admin_print_hex(pk, sizeof(pk));
	printf("\nissuer-name %s\n", issuer_name);
	for (size_t i = 0; i < count; i++) {
		if (issuer_key(is, keys[i].token_key_id, now) == NULL)
			continue; /* past its grace, not retired yet */
		printf("token-key %" PRIu32 " ", keys[i].id);
		admin_print_hex(keys[i].public_key, TOKEN_ELEMENT_SIZE);
		printf("\n");
	}
	issuer_close(is);
	return 0;
}

/* The keys retired, then the live ones as issuer.keys now lists them. */
static int
print_rotation(const cli_command *cmd, const issuer_rotation *rot)
{
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t count = 0;
	issuer *is = NULL;
	for (uint32_t i = 0; i < rot->removed_count; i++)
		printf("retired key %" PRIu32 "\n", rot->removed[i]);
	veil_err err = issuer_open_keys(state_dir, &is);
	if (err == VEIL_OK)
		err = issuer_keys(is, keys, &count);
	issuer_close(is);
	if (err != VEIL_OK)
		return state_error(cmd, "read the keys of", err);
	if (rot->new_key_id != 0) {
		printf("current key %" PRIu32 "\n", rot->new_key_id);
		if (count > 1)
			admin_print_time("grace-until", keys[1].not_after);
	}
	printf("live-keys");
	for (size_t i = 0; i < count; i++)
		printf(" %" PRIu32, keys[i].id);
	printf("\n");
	return 0;
}

int
admin_issuer_rotate(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	issuer_rotation rot;
	veil_err err = issuer_rotate(state_dir, now_of(), (uint32_t)grace_hours, &rot);
	if (err != VEIL_OK)
		return state_error(cmd, "rotate the keys of", err);
	const int rc = print_rotation(cmd, &rot);
	cli_error(cmd->name,
	          "restart veil-issuer to issue under key %" PRIu32
	          ", and run `veil-admin tokens link` again for every veild that redeems "
	          "its tokens",
	          rot.new_key_id);
	return rc;
}

int
admin_issuer_retire(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	issuer_rotation rot;
	veil_err err = issuer_retire(state_dir, now_of(), &rot);
	if (err != VEIL_OK)
		return state_error(cmd, "retire the keys of", err);
	if (rot.removed_count == 0)
		printf("nothing to retire\n");
	return print_rotation(cmd, &rot);
}
