/*
 * veil-admin's `exposure analyze` (admin.c's table calls it): the exposure
 * analysis (server/exposure/exposure.h) of an export someone hands over.
 * The simulation that makes exports of a synthetic population to analyse
 * is research tooling and lives in bench/ (veil-exposure-sim).
 *
 * May use: common/, store/, daemon/service.h, exposure/.
 */
#ifndef VEIL_SERVER_ADMIN_EXPOSURE_H
#define VEIL_SERVER_ADMIN_EXPOSURE_H

/* What `--help` prints: the synopsis after the command's name, then what
 * the command does and its options. */
extern const char admin_exposure_analyze_synopsis[];
extern const char admin_exposure_analyze_details[];

/*
 * Runs with the argc words of argv, argv[0] being the command's name (the
 * options follow), and returns veil-admin's exit status: 0 done, 1
 * failed, 2 usage error. Results go to stdout; errors to stderr, never a
 * handle, a key or a salt.
 */
int admin_exposure_analyze(int argc, char **argv);

#endif
