/*
 * veil-admin's `exposure simulate` and `exposure analyze` (server/admin.c's
 * table calls them): the exposure analysis of exposure.h as subcommands.
 * They parse their own options: admin.c hands over the words after the
 * command's name.
 */
#ifndef VEIL_SERVER_ADMIN_EXPOSURE_H
#define VEIL_SERVER_ADMIN_EXPOSURE_H

/* The text `--help` prints after the synopsis and summary: what the
 * command does and its options. */
extern const char admin_exposure_simulate_details[];
extern const char admin_exposure_analyze_details[];

/*
 * Each runs with the argc words in argv (the command's options) and
 * returns veil-admin's exit status: 0 done, 1 failed, 2 usage error.
 * Results go to stdout; progress and errors to stderr, never a handle,
 * a key or a salt.
 */
int admin_exposure_simulate(int argc, char **argv);
int admin_exposure_analyze(int argc, char **argv);

#endif
