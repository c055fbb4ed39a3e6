/*
 * The end-to-end tests' setting: the real veil-admin and veild, a fresh
 * temporary directory, a state made in it the way an operator makes one
 * (veil-admin keygen, import, info), and veild serving it. Every
 * function aborts on a failure it cannot report: a test that cannot set
 * up has nothing to report.
 *
 * A program whose arguments are VEIL-ADMIN VEILD describes its state and
 * lets fixture_main() make it before the cases and remove it after:
 *
 *   FIXTURE_MAIN(cases, .label = "overload", .numbered = "+1 212 555 ", .end = 100, .step = 2)
 */
#ifndef VEIL_TESTS_FIXTURE_H
#define VEIL_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "proc.h"

typedef struct fixture {
	const char *admin; /* veil-admin's path */
	const char *veild; /* veild's path */
	/* The paths are kept until the program ends (test_keep()). */
	const char *dir;         /* the temporary directory; fixture_end removes it */
	const char *state;       /* dir/state */
	const char *url;         /* ipc://dir/veild.sock */
	const char *import_path; /* dir/import.txt, once fixture_import wrote it */
	uint8_t server_key[32];  /* the transport public key clients pin */
	const char *info_path;   /* dir/server.info: veil-admin info, what clients pin */
	proc_daemon daemon;      /* veild, between fixture_start and fixture_stop */
} fixture;

/* The fixture of a program run by fixture_main(). */
extern fixture fx;

/* Makes the directory (its name holds label) and names the state and the
 * url; admin and veild are the programs' paths (the test's arguments). */
void fixture_begin(fixture *f, const char *label, const char *admin, const char *veild);

/* Writes text to dir/name; returns the path (the caller frees it). */
char *fixture_file(const fixture *f, const char *name, const char *text);

/* veil-admin keygen (with keygen_flag unless it is NULL, e.g.
 * "--verifiable"), then fixture_info(). */
void fixture_state(fixture *f, const char *keygen_flag);

/* veil-admin keygen --suite suite (an RFC 9497 identifier), with
 * keygen_flag unless it is NULL, then fixture_info(). */
void fixture_state_of_suite(fixture *f, const char *suite, const char *keygen_flag);

/* veil-admin info into info_path (replaced whole, by a rename) and
 * server_key: again after a key rotation, for clients to pin the new key. */
void fixture_info(fixture *f);

/* veil-admin import --strict --region US of text, from dir/import.txt. */
void fixture_import(fixture *f, const char *text);

/*
 * Starts veild on the state, listening on url (NULL: f->url), with the
 * arguments that follow, up to a NULL; waits until it prints ready_text.
 * Returns 0, or -1 when it exits or hangs first.
 */
int fixture_start(fixture *f, const char *url, const char *ready_text, ...)
        __attribute__((sentinel));

/* Stops veild with SIGTERM; returns its exit status (see proc_stop). What
 * it printed stays readable (proc_stderr(&f->daemon)) until the next
 * fixture_start or fixture_end. */
int fixture_stop(fixture *f);

/* Stops veild if it still runs and removes the directory. Returns
 * veild's exit status, or 0 when it was not running. */
int fixture_end(fixture *f);

/* What a program run by fixture_main() needs. */
typedef struct fixture_spec {
	const char *label;         /* in the directory's name */
	const char *keygen_flag;   /* see fixture_state() */
	const char *import;        /* lines to import, or NULL */
	const char *numbered;      /* also to import, unless NULL: this prefix, then */
	unsigned first, end, step; /* a 4-digit number from first below end (step 0: 1) */
	void (*setup)(void);       /* after the state is made, or NULL */
	void (*teardown)(void);    /* before fx ends, or NULL */
} fixture_spec;

/* test_main() for a program whose arguments are VEIL-ADMIN VEILD: fx is
 * begun, given a state and an import as spec says, and ended after the
 * cases (a veild that then fails to stop cleanly fails the run). */
int fixture_main(int argc, char **argv, const test_case *cases, size_t count,
                 const fixture_spec *spec);

#define FIXTURE_MAIN(cases, ...)                                                                   \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		static const fixture_spec spec = {__VA_ARGS__};                                    \
		return fixture_main(argc, argv, cases, TEST_COUNT(cases), &spec);                  \
	}

#endif
