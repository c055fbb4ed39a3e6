/*
 * Running the project's real programs from tests: temp directories,
 * commands with their exit status and output, tables of runs and what
 * each must print, and a veild kept running in the background until the
 * test stops it. Every function aborts when the system fails it (no fork,
 * no temporary file): a test that cannot set up has nothing to report.
 */
#ifndef VEIL_TESTS_PROC_H
#define VEIL_TESTS_PROC_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh directory under $TMPDIR (or /tmp). Free the returned path with
 * free() after proc_remove_tree(). */
char *proc_temp_dir(const char *label);

/* dir/name, malloc'd. */
char *proc_join(const char *dir, const char *name);

/* dir/name, freed when the running case ends (see test_keep()). */
const char *proc_path(const char *dir, const char *name);

/* rm -rf of a test's own directory. */
void proc_remove_tree(const char *path);

/* Whether any file at or below path holds the n bytes of needle. */
int proc_tree_holds(const char *path, const void *needle, size_t n);

/* Writes len bytes to path (creating it 0644, or truncating it). */
void proc_write_file(const char *path, const char *data, size_t len);

/* What a program did: its exit status (128 + signal if killed) and output. */
typedef struct proc_result {
	int status;
	char *out; /* stdout, a NUL-terminated heap string */
	char *err; /* stderr, likewise */
} proc_result;

void proc_result_free(proc_result *r);

/* A program started in the background, its output going to temporary files. */
typedef struct proc_child {
	pid_t pid;
	char *out_path, *err_path;
} proc_child;

/*
 * Starts program with args (NULL-terminated, without argv[0]), stdin from
 * stdin_path (NULL: /dev/null), stdout to a file and stderr to stderr_fd
 * when it is >= 0 (a terminal, say), else to a file.
 */
void proc_spawn(proc_child *c, const char *program, const char *const args[],
                const char *stdin_path, int stderr_fd);

/* Forks program with args (as proc_spawn) and these descriptors as its
 * stdin, stdout and stderr; for a test that talks to it through pipes.
 * Reap it with proc_wait(). */
pid_t proc_spawn_fds(const char *program, const char *const args[], int in, int out, int err);

/* Waits for pid to exit; returns its exit status, or 128 + signal. */
int proc_wait(pid_t pid);

/* Waits for the child to exit and returns what it did; frees what
 * proc_spawn allocated. */
proc_result proc_finish(proc_child *c);

/* Runs program with args (as proc_spawn) and kills it with SIGKILL after
 * seconds, unless it has exited by then; returns 1 when it was killed. */
int proc_kill_after(const char *program, const char *const args[], double seconds);

/*
 * For a test that kills a command and checks that it left the state as
 * before the command or as after it: runs program with args and kills it
 * (as proc_kill_after) at a random moment aimed at a command that takes
 * whole seconds when left alone. Even attempts aim anywhere in it; odd
 * ones from late * whole to a tenth past its end, where the command
 * writes. *delay_out is the moment chosen; returns 1 when it was killed.
 */
int proc_kill_aimed(const char *program, const char *const args[], double whole, int attempt,
                    double late, double *delay_out);

/* Copies the arguments of ap up to a NULL (at most max) into args and
 * ends them with a NULL (args holds max + 1); returns their count. */
size_t proc_take_args(const char *args[], size_t max, va_list ap);

/* Runs program with the arguments that follow it, up to a NULL. */
proc_result proc_call(const char *program, ...) __attribute__((sentinel));

/* Runs program with args (NULL-terminated, without argv[0]) and stdin
 * from stdin_path (NULL: /dev/null). */
proc_result proc_call_args(const char *program, const char *const args[], const char *stdin_path);

/* One run of a program and what it must do. */
typedef struct proc_expect {
	const char *name;
	const char *args[12]; /* without argv[0]; "DIR" stands for the caller's directory */
	int status;
	const char *out_holds; /* text stdout must hold, or NULL */
	const char *err_holds; /* text stderr must hold, or NULL */
} proc_expect;

/* Runs program once for each row and CHECKs the row; a row that fails is
 * named, with what the program printed. */
void proc_check_runs(const char *program, const proc_expect *rows, size_t count, const char *dir);

typedef struct proc_daemon {
	pid_t pid;
	char *stderr_path; /* where its stderr goes */
} proc_daemon;

/*
 * Starts argv in the background with stderr to a file, and waits until
 * that file holds ready_text (at most TEST_PATIENCE_SECONDS: only a hang
 * fails). Returns 0, or -1 when the program exits or hangs first (then
 * it is killed and reaped).
 */
int proc_start(proc_daemon *d, const char *const argv[], const char *ready_text);

/* SIGTERM, then waits; returns the exit status (128 + signal if killed). */
int proc_stop(proc_daemon *d);

/* SIGKILL, then waits: a crash, as far as the program can tell. */
void proc_kill(proc_daemon *d);

/* 1 while the daemon has not exited. */
int proc_alive(proc_daemon *d);

/* The daemon's stderr so far (heap string). */
char *proc_stderr(const proc_daemon *d);

/* Removes the stderr file and frees what proc_start allocated; after
 * proc_stop or proc_kill. */
void proc_release(proc_daemon *d);

/* A TCP port that was free a moment ago on 127.0.0.1. */
int proc_free_port(void);

#endif
