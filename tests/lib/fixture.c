#define _GNU_SOURCE /* asprintf */
#include "fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"

#define MAX_ARGS 32

fixture fx;

void
fixture_begin(fixture *f, const char *label, const char *admin, const char *veild)
{
	memset(f, 0, sizeof(*f));
	f->admin = admin;
	f->veild = veild;
	char *url;
	f->dir = test_keep(proc_temp_dir(label));
	f->state = proc_path(f->dir, "state");
	if (asprintf(&url, "ipc://%s/veild.sock", f->dir) < 0)
		abort();
	f->url = test_keep(url);
}

char *
fixture_file(const fixture *f, const char *name, const char *text)
{
	char *path = proc_join(f->dir, name);
	proc_write_file(path, text, strlen(text));
	return path;
}

/* Runs one veil-admin command on the state; aborts with its stderr if it fails. */
static proc_result
step(const fixture *f, const char *command, const char *arg1, const char *arg2, const char *arg3,
     const char *arg4)
{
	const char *args[] = {command, "--state", f->state, arg1, arg2, arg3, arg4, NULL};
	proc_result r = proc_call_args(f->admin, args, NULL);
	if (r.status != 0) {
		fprintf(stderr, "test setup: veil-admin %s failed: %s\n", command, r.err);
		abort();
	}
	return r;
}

void
fixture_state(fixture *f, const char *keygen_flag)
{
	proc_result r = step(f, "keygen", keygen_flag, NULL, NULL, NULL);
	proc_result_free(&r);
	fixture_info(f);
}

void
fixture_state_of_suite(fixture *f, const char *suite, const char *keygen_flag)
{
	proc_result r = step(f, "keygen", "--suite", suite, keygen_flag, NULL);
	proc_result_free(&r);
	fixture_info(f);
}

void
fixture_info(fixture *f)
{
	proc_result r = step(f, "info", NULL, NULL, NULL, NULL);
	if (strncmp(r.out, "server-key ", 11) != 0 ||
	    sodium_hex2bin(f->server_key, sizeof(f->server_key), r.out + 11, 64, NULL, NULL,
	                   NULL) != 0) {
		fprintf(stderr, "test setup: no server-key line from veil-admin info\n");
		abort();
	}
	/* Renamed into place: a client reading the pins meanwhile sees the
	 * old file or the new one, never half of one. */
	char *next = fixture_file(f, "server.info.next", r.out);
	if (f->info_path == NULL)
		f->info_path = test_keep(proc_join(f->dir, "server.info"));
	if (rename(next, f->info_path) != 0) {
		fprintf(stderr, "test setup: cannot rename %s\n", next);
		abort();
	}
	free(next);
	proc_result_free(&r);
}

void
fixture_import(fixture *f, const char *text)
{
	f->import_path = test_keep(fixture_file(f, "import.txt", text));
	proc_result r = step(f, "import", "--strict", "--region", "US", f->import_path);
	proc_result_free(&r);
}

int
fixture_start(fixture *f, const char *url, const char *ready_text, ...)
{
	const char *argv[MAX_ARGS + 1] = {f->veild, "--state", f->state, "--listen",
	                                  url != NULL ? url : f->url};
	va_list ap;
	va_start(ap, ready_text);
	proc_take_args(argv + 5, MAX_ARGS - 5, ap);
	va_end(ap);
	proc_release(&f->daemon);
	return proc_start(&f->daemon, argv, ready_text);
}

int
fixture_stop(fixture *f)
{
	return proc_stop(&f->daemon);
}

int
fixture_end(fixture *f)
{
	const int status = proc_alive(&f->daemon) ? proc_stop(&f->daemon) : 0;
	proc_release(&f->daemon);
	proc_remove_tree(f->dir);
	return status;
}

/* The spec of the program fixture_main() runs. */
static const fixture_spec *program;

static void
spec_setup(void)
{
	fixture_begin(&fx, program->label, test_argv[0], test_argv[1]);
	fixture_state(&fx, program->keygen_flag);
	if (program->import != NULL || program->numbered != NULL) {
		buf text;
		buf_init(&text);
		buf_append_str(&text, program->import != NULL ? program->import : "");
		for (unsigned i = program->first; program->numbered != NULL && i < program->end;
		     i += program->step ? program->step : 1)
			buf_printf(&text, "%s%04u\n", program->numbered, i);
		if (buf_error(&text) != VEIL_OK)
			abort();
		fixture_import(&fx, buf_data(&text));
		buf_free(&text);
	}
	if (program->setup != NULL)
		program->setup();
}

static int
spec_teardown(void)
{
	if (program->teardown != NULL)
		program->teardown();
	return fixture_end(&fx);
}

int
fixture_main(int argc, char **argv, const test_case *cases, size_t count, const fixture_spec *spec)
{
	static const test_hooks hooks = {.usage = "VEIL-ADMIN VEILD",
	                                 .arguments = 2,
	                                 .setup = spec_setup,
	                                 .teardown = spec_teardown};
	program = spec;
	return test_main(argc, argv, cases, count, &hooks);
}
