/*
 * The subcommands of veil-admin that live in their own modules, as
 * admin.c's command table calls them. admin.c holds the table, the
 * commands on keys and the registry, and the dispatch.
 *
 *   log export|purge|stats|salts   admin_log.c: the query log of a state
 *                                  directory, read or swept without veild
 *   client add|remove|list         admin_clients.c: enrolment and quotas
 *   exposure analyze               admin_exposure.c: what a log export
 *                                  reveals (server/exposure/exposure.h)
 *   issuer create|info|rotate|retire
 *                                  admin_issuer.c: the token issuer's state
 *                                  directory (server/issuer/issuer.h)
 *   tokens link                    admin_tokens.c: the token issuer's keys
 *                                  veild --auth tokens redeems with
 *
 * May use: common/, server/store/, server/exposure/, server/issuer/ and
 * the prefix rule of server/daemon/service.h; never a client/ header.
 *
 * The contract every command here keeps: its options are a table
 * (cli_option, below) whose values land in its module; veil-admin parses
 * them with cli_parse(), checks --state (required unless the table entry
 * says otherwise), a known --region and the number of arguments, starts
 * the crypto library, then calls the command with the arguments left and
 * cmd for its messages ("veil-admin log export: ..."). A command returns
 * veil-admin's exit status: 0 done, 1 failed, 2 usage error. Results go to
 * stdout, errors to stderr; nothing printed holds a handle, a client key
 * or a secret, but for `log salts`, whose output is the salts.
 */
#ifndef VEIL_SERVER_ADMIN_COMMANDS_H
#define VEIL_SERVER_ADMIN_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/*
 * Helpers of admin.c the command modules share. admin_print_hex() prints
 * n bytes of b as lowercase hex to stdout (public keys only: nothing
 * secret). admin_print_time() prints the line "<label> <t> (<t as
 * YYYY-MM-DDTHH:MM:SSZ, UTC>)".
 */
void admin_print_hex(const uint8_t *b, size_t n);
void admin_print_time(const char *label, uint64_t t);

/* Every command runs with the arguments left after its options and cmd
 * for its messages, and returns veil-admin's exit status. */
typedef int admin_command_fn(const cli_command *cmd, int argc, char **argv);

/*
 * log (admin_log.c). export: what is stored, as JSON Lines (format in
 * server/store/qlog.h); purge: the retention sweep, now or as of --now;
 * stats: entries per day, drops, oldest entry, salts held (days only),
 * as text or (--json) one JSON object; salts: the retained salts as JSON
 * Lines, as sensitive as the salts. Options: export --state DIR --since
 * DAY --until DAY (YYYY-MM-DD, UTC, or a day number; inclusive); purge
 * --state DIR --now UNIXTIME; stats --state DIR [--json]; salts --state
 * DIR alone.
 */
admin_command_fn admin_log_export, admin_log_purge, admin_log_stats, admin_log_salts;
extern const cli_option admin_log_export_options[], admin_log_purge_options[],
        admin_log_stats_options[], admin_log_state_options[];

/*
 * client (admin_clients.c). add: enrols one PUBKEY, optionally with its
 * own quota (--quota N|unlimited); remove: withdraws one PUBKEY's
 * enrolment, its quota bucket kept; list: the clients known, digest
 * fingerprints and quotas, never keys, as text or (--json) one JSON
 * object. Each refuses a directory without a
 * transport.key (not a veil state). The details are what `--help` prints
 * after the synopsis and summary.
 */
admin_command_fn admin_client_add, admin_client_remove, admin_client_list;
extern const cli_option admin_client_add_options[], admin_client_state_options[],
        admin_client_list_options[];
extern const char admin_client_add_details[], admin_client_remove_details[],
        admin_client_list_details[];

/*
 * exposure analyze (admin_exposure.c): the figures of adversaries A0 (the
 * export) and A1 (also the salts); --state is optional here. The
 * simulation of a synthetic population is bench/veil-exposure-sim.
 */
admin_command_fn admin_exposure_analyze;
extern const cli_option admin_exposure_analyze_options[];
extern const char admin_exposure_analyze_synopsis[], admin_exposure_analyze_details[];

/*
 * issuer (admin_issuer.c). create --state DIR --name NAME: a new issuer
 * state (issuer_create()), printing its issuer-key line; info --state
 * DIR: what clients pin (issuer-key, issuer-name, one token-key line per
 * live key, the current first); rotate --state DIR [--grace-hours H]
 * [--now T]: a new current key, the old one live H hours more (default
 * 48: two days, so that a client that fetched its tokens the day before
 * can still spend them); retire --state DIR [--now T]: drops the keys
 * whose grace has passed. The details are what `--help` prints.
 */
admin_command_fn admin_issuer_create, admin_issuer_info, admin_issuer_rotate, admin_issuer_retire;
extern const cli_option admin_issuer_create_options[], admin_issuer_state_options[],
        admin_issuer_rotate_options[], admin_issuer_retire_options[];
extern const char admin_issuer_create_details[], admin_issuer_info_details[],
        admin_issuer_rotate_details[], admin_issuer_retire_details[];

/*
 * tokens link (admin_tokens.c): redeem_link() of --issuer IDIR into
 * --state DIR, with --origin NAME (required the first time); prints
 * token-issuer, token-origin, keys, keys-removed and tokens-forgotten
 * lines. admin_tokens_info() prints the lines veil-admin info adds for dir:
 * "auth keys", or, once linked, "auth tokens", "token-issuer NAME" and
 * "token-origin NAME"; it returns 0, or -1 (nothing printed) when the
 * copy's challenge cannot be read.
 */
admin_command_fn admin_tokens_link;
extern const cli_option admin_tokens_link_options[];
extern const char admin_tokens_link_details[];
int admin_tokens_info(const char *dir);

#endif
