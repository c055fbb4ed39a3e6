/*
 * veil-admin tokens link (commands.h): the copy of a token issuer's live
 * keys and challenge that veild in tokens mode redeems with
 * (server/issuer/redeem.h); and the tokens lines of veil-admin info.
 */
#include "commands.h"

#include <stdio.h>
#include <time.h>

#include "redeem.h"
#include "state.h"
#include "store_file.h"

const char admin_tokens_link_details[] =
        "Copies the live keys of the token issuer whose state is IDIR (made by\n"
        "`veil-admin issuer create`) into DIR/tokens/, with the TokenChallenge its\n"
        "tokens must answer: the issuer's name and --origin NAME, this server's name\n"
        "(a host name, printable ASCII without spaces; required the first time, kept\n"
        "after). veild --auth tokens serves from this copy. Run it again after every\n"
        "`veil-admin issuer rotate` or `retire`: keys that left the issuer leave the\n"
        "copy, their files are erased, and the spent tokens of those keys are\n"
        "forgotten. The copy is replaced whole (a crash leaves the old one or the new\n"
        "one); a running veild picks the new one up within a second. Prints the\n"
        "issuer, the origin and what changed.\n";

/* The options' values, written by veil-admin's parser through the table below. */
static const char *state_dir;
static const char *issuer_dir;
static const char *origin;

const cli_option admin_tokens_link_options[] = {
        CLI_TEXT_OPTION("state", &state_dir),
        CLI_TEXT_OPTION("issuer", &issuer_dir),
        CLI_TEXT_OPTION("origin", &origin),
        CLI_END,
};

/* Says why redeem_link() refused; returns veil-admin's exit status. */
static int
link_failure(const cli_command *cmd, veil_err err)
{
	const char *why;
	switch (err) {
	case VEIL_ERR_ARGUMENT: /* the directories and the time are given: the origin */
		if (origin != NULL)
			return cli_usage_error(cmd,
			                       "--origin takes a name of printable ASCII without "
			                       "spaces, 1 to %d bytes",
			                       REDEEM_ORIGIN_MAX);
		cli_error(cmd->name, "the first link needs --origin NAME");
		return 1;
	case VEIL_ERR_NOT_FOUND:
		why = "IDIR holds no issuer (issuer.name, issuer.keys and key files)";
		break;
	case VEIL_ERR_PERMISSION:
		why = "an issuer key file may be read or written by the group or others";
		break;
	case VEIL_ERR_CORRUPT:
		why = "a damaged issuer name, key list, key file or copy (with a damaged copy, "
		      "give --origin)";
		break;
	case VEIL_ERR_SYSTEM:
		why = "a file could not be written or erased";
		break;
	default:
		why = veil_strerror(err);
		break;
	}
	cli_error(cmd->name, "cannot link %s: %s", issuer_dir, why);
	return 1;
}

int
admin_tokens_link(const cli_command *cmd, int argc, char **argv)
{
	redeem_link_result res;

	if (issuer_dir == NULL)
		return cli_usage_error(cmd, "--issuer IDIR is required");
	/* A veild state, not an issuer's: both hold a transport key. */
	if (!store_file_exists(state_dir, STATE_TRANSPORT_KEY_FILE) ||
	    !store_file_exists(state_dir, STATE_REGISTRY_DIR)) {
		cli_error(cmd->name, "%s is not a veil state directory (no %s or %s)", state_dir,
		          STATE_TRANSPORT_KEY_FILE, STATE_REGISTRY_DIR);
		return 1;
	}
	const veil_err err = redeem_link(issuer_dir, state_dir, origin, (int64_t)time(NULL), &res);
	if (err != VEIL_OK)
		return link_failure(cmd, err);
	printf("token-issuer %s\ntoken-origin %s\nkeys %u\nkeys-removed %u\n"
	       "tokens-forgotten %llu\n",
	       res.issuer_name, res.origin, res.keys, res.keys_removed,
	       (unsigned long long)res.tokens_forgotten);
	return 0;
}

int
admin_tokens_info(const char *dir)
{
	char name[ISSUER_NAME_MAX + 1], linked_origin[REDEEM_ORIGIN_MAX + 1];
	const veil_err err = redeem_challenge_read(dir, name, linked_origin);
	if (err == VEIL_ERR_NOT_FOUND) {
		printf("auth keys\n");
		return 0;
	}
	if (err != VEIL_OK)
		return -1;
	printf("auth tokens\ntoken-issuer %s\ntoken-origin %s\n", name, linked_origin);
	return 0;
}
