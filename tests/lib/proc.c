#define _GNU_SOURCE /* asprintf, mkdtemp, mkostemp */
#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "file.h"
#include "harness.h"

#define MAX_ARGS 64

static void
die(const char *what)
{
	fprintf(stderr, "test setup: %s: %s\n", what, strerror(errno));
	abort();
}

/* Where temporary files go: $TMPDIR, or /tmp. */
static const char *
temp_base(void)
{
	const char *base = getenv("TMPDIR");
	return base != NULL && base[0] != '\0' ? base : "/tmp";
}

char *
proc_temp_dir(const char *label)
{
	char *path;
	if (asprintf(&path, "%s/veil-%s-XXXXXX", temp_base(), label) < 0)
		die("asprintf");
	if (mkdtemp(path) == NULL)
		die("mkdtemp");
	return path;
}

char *
proc_join(const char *dir, const char *name)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		die("asprintf");
	return path;
}

const char *
proc_path(const char *dir, const char *name)
{
	return test_keep(proc_join(dir, name));
}

/* Calls visit(child, arg) for each entry of the directory at path, until
 * one returns non-zero; returns that. */
static int
each_entry(const char *path, int (*visit)(const char *child, void *arg), void *arg)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int stop = 0;
	while (d != NULL && !stop && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *child = proc_join(path, e->d_name);
		stop = visit(child, arg);
		free(child);
	}
	if (d != NULL)
		closedir(d);
	return stop;
}

static int
remove_visit(const char *child, void *arg)
{
	(void)arg;
	proc_remove_tree(child);
	return 0;
}

void
proc_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	each_entry(path, remove_visit, NULL);
	rmdir(path);
}

typedef struct needle {
	const void *bytes;
	size_t n;
} needle;

static int
holds_visit(const char *child, void *arg)
{
	const needle *want = arg;
	return proc_tree_holds(child, want->bytes, want->n);
}

int
proc_tree_holds(const char *path, const void *bytes, size_t n)
{
	struct stat st;
	needle want = {bytes, n};
	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return each_entry(path, holds_visit, &want);
	if (!S_ISREG(st.st_mode))
		return 0;
	size_t len = 0;
	char *data = test_read_file(path, &len);
	const int found = test_contains(data, len, bytes, n);
	free(data);
	return found;
}

void
proc_write_file(const char *path, const char *data, size_t len)
{
	if (file_write_all(path, data, len, 0644) != 0)
		die(path);
}

/* A file's text, "" when it cannot be read (a program that never wrote). */
static char *
text_of(const char *path)
{
	char *text = NULL;
	size_t len;
	if (file_read_all(path, SIZE_MAX, &text, &len) != 0 && (text = strdup("")) == NULL)
		die("strdup");
	return text;
}

/* A new empty temporary file; returns its path (heap) and an open descriptor. */
static char *
temp_file(const char *label, int *fd)
{
	char *path = proc_join(temp_base(), label);
	if ((*fd = mkostemp(path, O_CLOEXEC)) < 0)
		die("mkostemp");
	return path;
}

pid_t
proc_spawn_fds(const char *program, const char *const args[], int in, int out, int err)
{
	/* execv wants char *const[]: copies, made before the fork, since a
	 * child of a threaded test must not call malloc. */
	char *argv[MAX_ARGS + 2];
	size_t n = 0;
	if ((argv[n++] = strdup(program)) == NULL)
		die("strdup");
	for (; args[n - 1] != NULL && n <= MAX_ARGS; n++)
		if ((argv[n] = strdup(args[n - 1])) == NULL)
			die("strdup");
	argv[n] = NULL;
	fflush(stdout);
	const pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	return pid;
}

int
proc_wait(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

void
proc_spawn(proc_child *c, const char *program, const char *const args[], const char *stdin_path,
           int stderr_fd)
{
	int out, err = -1;
	int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	c->out_path = temp_file("veil-test-out-XXXXXX", &out);
	c->err_path = temp_file("veil-test-err-XXXXXX", &err);
	c->pid = proc_spawn_fds(program, args, in, out, stderr_fd >= 0 ? stderr_fd : err);
	if (in >= 0)
		close(in);
	close(out);
	close(err);
}

proc_result
proc_finish(proc_child *c)
{
	proc_result r;
	r.status = proc_wait(c->pid);
	r.out = text_of(c->out_path);
	r.err = text_of(c->err_path);
	unlink(c->out_path);
	unlink(c->err_path);
	free(c->out_path);
	free(c->err_path);
	memset(c, 0, sizeof(*c));
	return r;
}

int
proc_kill_after(const char *program, const char *const args[], double seconds)
{
	proc_child c;
	proc_spawn(&c, program, args, NULL, -1);
	clock_sleep_seconds(seconds);
	kill(c.pid, SIGKILL); /* an exited, unreaped child takes it harmlessly */
	proc_result r = proc_finish(&c);
	proc_result_free(&r);
	return r.status == 128 + SIGKILL;
}

int
proc_kill_aimed(const char *program, const char *const args[], double whole, int attempt,
                double late, double *delay_out)
{
	const double u = (double)randombytes_uniform(1000000) / 1e6;
	*delay_out = attempt % 2 == 0 ? u * whole : whole * (late + (1.1 - late) * u);
	return proc_kill_after(program, args, *delay_out);
}

void
proc_result_free(proc_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

proc_result
proc_call_args(const char *program, const char *const args[], const char *stdin_path)
{
	proc_child c;
	proc_spawn(&c, program, args, stdin_path, -1);
	return proc_finish(&c);
}

size_t
proc_take_args(const char *args[], size_t max, va_list ap)
{
	size_t n = 0;
	while (n < max && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	args[n] = NULL;
	return n;
}

proc_result
proc_call(const char *program, ...)
{
	const char *args[MAX_ARGS + 1];
	va_list ap;
	va_start(ap, program);
	proc_take_args(args, MAX_ARGS, ap);
	va_end(ap);
	return proc_call_args(program, args, NULL);
}

void
proc_check_runs(const char *program, const proc_expect *rows, size_t count, const char *dir)
{
	for (size_t i = 0; i < count; i++) {
		const proc_expect *e = &rows[i];
		const char *args[TEST_COUNT(e->args) + 1];
		size_t n = 0;
		for (; n < TEST_COUNT(e->args) && e->args[n] != NULL; n++)
			args[n] = dir != NULL && strcmp(e->args[n], "DIR") == 0 ? dir : e->args[n];
		args[n] = NULL;
		proc_result r = proc_call_args(program, args, NULL);
		const int ok = r.status == e->status &&
		               (e->out_holds == NULL || strstr(r.out, e->out_holds) != NULL) &&
		               (e->err_holds == NULL || strstr(r.err, e->err_holds) != NULL);
		if (!ok)
			printf("# %s: status %d\n# stdout: %s\n# stderr: %s\n", e->name, r.status,
			       r.out, r.err);
		CHECK_ROW(ok, e->name);
		proc_result_free(&r);
	}
}

int
proc_start(proc_daemon *d, const char *const argv[], const char *ready_text)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), err;
	d->stderr_path = temp_file("veil-test-daemon-XXXXXX", &err);
	d->pid = proc_spawn_fds(argv[0], argv + 1, null, null, err);
	close(null);
	close(err);
	const double deadline = clock_monotonic_seconds() + TEST_PATIENCE_SECONDS;
	while (clock_monotonic_seconds() < deadline) {
		char *text = proc_stderr(d);
		const int ready = strstr(text, ready_text) != NULL;
		free(text);
		if (ready)
			return 0;
		if (!proc_alive(d))
			return -1;
		clock_sleep_seconds(0.02);
	}
	proc_kill(d);
	return -1;
}

int
proc_alive(proc_daemon *d)
{
	if (d->pid <= 0)
		return 0;
	int status;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		/* Remember that it has exited, and how. */
		d->pid = -(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status)) - 1;
		return 0;
	}
	return 1;
}

int
proc_stop(proc_daemon *d)
{
	if (d->pid == 0)
		return -1;
	if (d->pid < 0)
		return -d->pid - 1;
	kill(d->pid, SIGTERM);
	const int status = proc_wait(d->pid);
	d->pid = 0;
	return status;
}

void
proc_kill(proc_daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		proc_wait(d->pid);
	}
	d->pid = 0;
}

char *
proc_stderr(const proc_daemon *d)
{
	return text_of(d->stderr_path);
}

void
proc_release(proc_daemon *d)
{
	if (d->stderr_path != NULL) {
		unlink(d->stderr_path);
		free(d->stderr_path);
		d->stderr_path = NULL;
	}
}

int
proc_free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(s, (struct sockaddr *)&addr, &len) != 0)
		die("free port");
	close(s);
	return ntohs(addr.sin_port);
}
