/*
 * veil-admin's `client` subcommands (server/admin/admin.c's table calls them):
 * enrolment and quotas of a state directory's clients (clients.h).
 *
 *   add     enrol a client public key, optionally with its own quota
 *   remove  withdraw an enrolment (the client's bucket is kept)
 *   list    the clients known: digest fingerprints, never keys
 *
 * They parse their own options: admin.c hands over the words after the
 * command's name. Each returns veil-admin's exit status: 0 done, 1
 * failed, 2 usage error. Errors go to stderr as "veil-admin: client
 * NAME: ..."; nothing printed holds a client key or the digest key.
 * Refuses a directory without a transport.key (not a veil state).
 */
#ifndef VEIL_SERVER_ADMIN_CLIENTS_H
#define VEIL_SERVER_ADMIN_CLIENTS_H

/* What `--help` prints after the synopsis and summary. */
extern const char admin_client_add_details[];
extern const char admin_client_remove_details[];
extern const char admin_client_list_details[];

int admin_client_add(int argc, char **argv);
int admin_client_remove(int argc, char **argv);
int admin_client_list(int argc, char **argv);

#endif
