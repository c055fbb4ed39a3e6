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
 *
 * May use: common/, server/store/, server/exposure/ and the prefix rule of
 * server/daemon/service.h; never a client/ header.
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

#include "cli.h"

/* ---- log (admin_log.c) ---- */

/* --state DIR, --since DAY, --until DAY: YYYY-MM-DD (UTC) or a day
 * number, inclusive bounds. */
extern const cli_option admin_log_export_options[];
/* --state DIR, --now UNIXTIME (default: the clock). */
extern const cli_option admin_log_purge_options[];
/* --state DIR alone: stats and salts. */
extern const cli_option admin_log_state_options[];

/* What is stored, as JSON Lines (format in server/store/qlog.h). */
int admin_log_export(const cli_command *cmd, int argc, char **argv);
/* The retention sweep, now or as of --now. */
int admin_log_purge(const cli_command *cmd, int argc, char **argv);
/* Entries per day, drops, oldest entry, salts held (days only). */
int admin_log_stats(const cli_command *cmd, int argc, char **argv);
/* The retained salts as JSON Lines: as sensitive as the salts. */
int admin_log_salts(const cli_command *cmd, int argc, char **argv);

/* ---- client (admin_clients.c) ---- */

/* What `--help` prints after the synopsis and summary. */
extern const char admin_client_add_details[];
extern const char admin_client_remove_details[];
extern const char admin_client_list_details[];

/* --state DIR, --quota N|unlimited: add. */
extern const cli_option admin_client_add_options[];
/* --state DIR alone: remove and list. */
extern const cli_option admin_client_state_options[];

/* Enrols one PUBKEY, optionally with its own quota. Refuses a directory
 * without a transport.key (not a veil state). */
int admin_client_add(const cli_command *cmd, int argc, char **argv);
/* Withdraws one PUBKEY's enrolment; its quota bucket is kept. */
int admin_client_remove(const cli_command *cmd, int argc, char **argv);
/* The clients known: digest fingerprints and quotas, never keys. */
int admin_client_list(const cli_command *cmd, int argc, char **argv);

/* ---- exposure (admin_exposure.c) ---- */

extern const char admin_exposure_analyze_synopsis[];
extern const char admin_exposure_analyze_details[];
/* --export FILE and the rest; --state is optional here. */
extern const cli_option admin_exposure_analyze_options[];

/* The figures of adversaries A0 (the export) and A1 (also the salts). The
 * simulation of a synthetic population is bench/veil-exposure-sim. */
int admin_exposure_analyze(const cli_command *cmd, int argc, char **argv);

#endif
