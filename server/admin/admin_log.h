/*
 * veil-admin's `log` subcommands (server/admin/admin.c's table calls them):
 * the query log of a state directory, read or swept without the server.
 *
 *   export  what is stored, as JSON Lines (format in qlog.h)
 *   purge   the retention sweep, now or as of --now
 *   stats   entries per day, drops, oldest entry, salts held (days only)
 *   salts   the retained salts as JSON Lines: as sensitive as the salts
 *
 * Each command's options are a table below: veil-admin parses them with
 * cli_parse() (the values land in this module), checks that --state was
 * given and that no argument follows, then calls the command with cmd
 * for its messages. Each returns veil-admin's exit status: 0, 1 when the
 * operation failed, 2 for a bad option value. Errors go to stderr as
 * "veil-admin log NAME: ..."; nothing but `salts` ever prints a secret.
 */
#ifndef VEIL_SERVER_ADMIN_LOG_H
#define VEIL_SERVER_ADMIN_LOG_H

#include "cli.h"

/* --state DIR, --since DAY, --until DAY: YYYY-MM-DD (UTC) or a day
 * number, inclusive bounds. */
extern const cli_option admin_log_export_options[];
/* --state DIR, --now UNIXTIME (default: the clock). */
extern const cli_option admin_log_purge_options[];
/* --state DIR alone: stats and salts. */
extern const cli_option admin_log_state_options[];

int admin_log_export(const cli_command *cmd, int argc, char **argv);
int admin_log_purge(const cli_command *cmd, int argc, char **argv);
int admin_log_stats(const cli_command *cmd, int argc, char **argv);
int admin_log_salts(const cli_command *cmd, int argc, char **argv);

#endif
