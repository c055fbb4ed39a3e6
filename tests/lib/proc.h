/*
 * Running the project's real programs from tests: temp directories,
 * commands with their exit status and output, and a veild kept running
 * in the background until the test stops it.
 */
#ifndef VEIL_TESTS_PROC_H
#define VEIL_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* A fresh directory under $TMPDIR (or /tmp); aborts on failure. Free the
 * returned path with free() after proc_remove_tree(). */
char *proc_temp_dir(const char *label);

/* rm -rf of a test's own directory. */
void proc_remove_tree(const char *path);

/*
 * Runs argv (argv[0] a path) with stdin from stdin_path (NULL: /dev/null),
 * waits, and returns its exit status (128 + signal if killed). When out is
 * not NULL, *out gets stdout as a NUL-terminated heap string; likewise err
 * for stderr.
 */
int proc_run(const char *const argv[], const char *stdin_path, char **out, char **err);

typedef struct proc_daemon {
	pid_t pid;
	char *stderr_path; /* where its stderr goes */
} proc_daemon;

/*
 * Starts argv in the background with stderr to a file, and waits (up to
 * timeout_ms) until that file holds ready_text. Returns 0, or -1 when the
 * program exits or times out first (then it is killed and reaped).
 */
int proc_start(proc_daemon *d, const char *const argv[], const char *ready_text, int timeout_ms);

/* SIGTERM, then waits; returns the exit status as proc_run does. */
int proc_stop(proc_daemon *d);

/* 1 while the daemon has not exited. */
int proc_alive(proc_daemon *d);

/* The daemon's stderr so far (heap string). */
char *proc_stderr(const proc_daemon *d);

/* Removes the stderr file and frees what proc_start allocated; after
 * proc_stop. */
void proc_release(proc_daemon *d);

/* Writes len bytes to path (creating it 0644); aborts on failure. */
void proc_write_file(const char *path, const char *data, size_t len);

/* A TCP port that was free a moment ago on 127.0.0.1. */
int proc_free_port(void);

#endif
