/*
 * veil-admin's `client` subcommands (server/admin/admin.c's table calls them):
 * enrolment and quotas of a state directory's clients (clients.h).
 *
 *   add     enrol a client public key, optionally with its own quota
 *   remove  withdraw an enrolment (the client's bucket is kept)
 *   list    the clients known: digest fingerprints, never keys
 *
 * Each command's options are a table below: veil-admin parses them with
 * cli_parse() (the values land in this module), checks that --state was
 * given and the number of arguments (one PUBKEY for add and remove, none
 * for list), then calls the command with them and with cmd for its
 * messages. Each returns veil-admin's exit status: 0 done, 1 failed, 2
 * usage error. Errors go to stderr as "veil-admin client NAME: ...";
 * nothing printed holds a client key or the digest key. Refuses a
 * directory without a transport.key (not a veil state).
 */
#ifndef VEIL_SERVER_ADMIN_CLIENTS_H
#define VEIL_SERVER_ADMIN_CLIENTS_H

#include "cli.h"

/* What `--help` prints after the synopsis and summary. */
extern const char admin_client_add_details[];
extern const char admin_client_remove_details[];
extern const char admin_client_list_details[];

/* --state DIR, --quota N|unlimited: add. */
extern const cli_option admin_client_add_options[];
/* --state DIR alone: remove and list. */
extern const cli_option admin_client_state_options[];

int admin_client_add(const cli_command *cmd, int argc, char **argv);
int admin_client_remove(const cli_command *cmd, int argc, char **argv);
int admin_client_list(const cli_command *cmd, int argc, char **argv);

#endif
