#include "daemon_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

int
daemon_enrolment_parse(const char *value, int *required)
{
	if (strcmp(value, "required") == 0)
		*required = 1;
	else if (strcmp(value, "open") == 0)
		*required = 0;
	else
		return -1;
	return 0;
}

/* The target of the option called name: the table must hold it. */
static const char **
text_target(const cli_option *table, const char *name)
{
	for (const cli_option *o = table; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0 && o->kind == CLI_TEXT)
			return o->target;
	abort(); /* the program's table is wrong, not its input */
}

typedef struct config_reader {
	const cli_command *cmd;
	const daemon_config_file *file;
	char **texts;
} config_reader;

/* One key of the [clients] section; 1 on success. */
static int
clients_entry(const config_reader *r, const char *name, const char *value)
{
	clients_config *c = r->file->clients;
	if (strcmp(name, "enrolment") == 0)
		return daemon_enrolment_parse(value, &c->enrolment_required) == 0;
	if (strcmp(name, "capacity") == 0)
		return cli_parse_u32(value, 1, UINT32_MAX, &c->capacity) == 0;
	if (strcmp(name, "refill_per_day") == 0)
		return cli_parse_u32(value, 1, UINT32_MAX, &c->refill_per_day) == 0;
	fprintf(stderr, "%s: config: unknown key '%s' in [clients]\n", r->cmd->name, name);
	return 0;
}

/* One key of the program's own section, by the option of that name; 1 on success. */
static int
own_entry(const config_reader *r, const char *name, const char *value)
{
	/* --enrolment has its key in [clients]; --config none. */
	int rc = CLI_CONFIG_UNKNOWN;
	if (strcmp(name, "enrolment") != 0 && strcmp(name, "config") != 0)
		rc = cli_config_option(r->cmd->options, name, value, r->texts);
	if (rc == CLI_CONFIG_UNKNOWN)
		fprintf(stderr, "%s: config: unknown key '%s' in [%s]\n", r->cmd->name, name,
		        r->file->section);
	return rc == CLI_CONFIG_OK;
}

/* inih handler: 1 on success, 0 on error (inih reports the line). */
static int
config_entry(void *user, const char *section, const char *name, const char *value)
{
	const config_reader *r = user;
	const daemon_config_file *file = r->file;
	if (strcmp(section, file->section) == 0)
		return own_entry(r, name, value);
	if (strcmp(section, "clients") == 0)
		return clients_entry(r, name, value);
	if (file->other_section != NULL && strcmp(section, file->other_section) == 0)
		return file->other_entry(file->other_arg, name, value);
	fprintf(stderr, "%s: config: unknown section [%s]\n", r->cmd->name, section);
	return 0;
}

int
daemon_parse_options(const cli_command *cmd, int argc, char **argv, void (*help)(void),
                     const daemon_config_file *file, char *texts[CLI_MAX_OPTIONS])
{
	const char **config = text_target(cmd->options, "config");
	const char **enrolment = text_target(cmd->options, "enrolment");
	int rc = cli_parse_options(cmd, argc, argv, help);
	if (rc < 0 && *config != NULL) {
		config_reader reader = {cmd, file, texts};
		const int line = ini_parse(*config, config_entry, &reader);
		if (line < 0) {
			cli_error(cmd->name, "cannot read config %s", *config);
			return CLI_EXIT_USAGE;
		}
		if (line > 0) {
			cli_error(cmd->name, "config %s: bad line %d", *config, line);
			return CLI_EXIT_USAGE;
		}
		/* The command line again, over the file. */
		rc = cli_parse_options(cmd, argc, argv, help);
	}
	if (rc >= 0)
		return rc;
	if (*enrolment != NULL &&
	    daemon_enrolment_parse(*enrolment, &file->clients->enrolment_required) != 0)
		return cli_usage_error(cmd, "--enrolment takes required or open, not %s",
		                       *enrolment);
	return -1;
}
