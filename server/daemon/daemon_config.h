/*
 * The options of veil's daemons (veild, veil-issuer): the command line
 * and the INI file that --config names, read the same way by both.
 *
 * The file has the program's own section, whose keys are its options
 * (cli_config_option(): batch_cap for --batch-cap, flags yes or no),
 * but --config and --enrolment; a [clients] section (enrolment required
 * or open, capacity, refill_per_day: clients_config); and at most one
 * more section the program reads itself (veild's [log]). The command
 * line wins: it is read before the file (to find --config) and again
 * after it. What is wrong in the file is said on stderr as "PROGRAM:
 * config: unknown key 'K' in [S]" or "unknown section [S]", then "config
 * FILE: bad line N", never with the value.
 *
 * May use: common/ (cli.h); server/store/ (clients.h); inih; nothing
 * else of the project.
 */
#ifndef VEIL_SERVER_DAEMON_CONFIG_H
#define VEIL_SERVER_DAEMON_CONFIG_H

#include "cli.h"
#include "clients.h"

/* required or open (--enrolment, [clients] enrolment) into *required: 1
 * or 0. Returns 0, or -1 for any other text (*required untouched). */
int daemon_enrolment_parse(const char *value, int *required) __attribute__((warn_unused_result));

typedef struct daemon_config_file {
	const char *section;     /* the program's own section: "veild", "issuer" */
	clients_config *clients; /* what [clients] sets */
	/* One more section (NULL: none), its keys read by entry, which
	 * returns 1 on success, 0 after saying what is wrong on stderr. */
	const char *other_section;
	int (*other_entry)(void *arg, const char *name, const char *value);
	void *other_arg;
} daemon_config_file;

/*
 * Fills in the targets of cmd->options from argv and, when the option
 * named "config" (a CLI_TEXT, required in the table) names a file, from
 * that file as above, the command line winning; then the option named
 * "enrolment" (a CLI_TEXT, required), when given, into
 * file->clients->enrolment_required. Returns -1 when the program should
 * go on, else the status to exit with: 0 after --help or --version,
 * CLI_EXIT_USAGE after a usage error or a file that cannot be read or
 * has a bad line (explained on stderr). texts (all NULL on entry) gets
 * the file's texts, which the targets point into: the caller frees each
 * after their last use, whatever this returned.
 */
int daemon_parse_options(const cli_command *cmd, int argc, char **argv, void (*help)(void),
                         const daemon_config_file *file, char *texts[CLI_MAX_OPTIONS])
        __attribute__((warn_unused_result));

#endif
