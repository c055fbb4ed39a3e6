/*
 * veil-admin's `log` subcommands (server/admin/admin.c's table calls them):
 * the query log of a state directory, read or swept without the server.
 *
 *   export  what is stored, as JSON Lines (format in qlog.h)
 *   purge   the retention sweep, now or as of --now
 *   stats   entries per day, drops, oldest entry, salts held (days only)
 *   salts   the retained salts as JSON Lines: as sensitive as the salts
 *
 * Each returns veil-admin's exit status: 0, 1 when the operation failed,
 * 2 for a bad argument. Errors go to stderr as "veil-admin: log NAME: ...";
 * nothing but `salts` ever prints a secret.
 */
#ifndef VEIL_SERVER_ADMIN_LOG_H
#define VEIL_SERVER_ADMIN_LOG_H

/* since and until: YYYY-MM-DD (UTC) or a day number, inclusive; NULL for no bound. */
int admin_log_export(const char *state_dir, const char *since, const char *until);

/* now: unix seconds, NULL for the clock. */
int admin_log_purge(const char *state_dir, const char *now);

int admin_log_stats(const char *state_dir);

int admin_log_salts(const char *state_dir);

#endif
