#define _GNU_SOURCE /* mkdtemp, nftw flags */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void
die(const char *what)
{
	fprintf(stderr, "test setup: %s: %s\n", what, strerror(errno));
	abort();
}

char *
proc_temp_dir(const char *label)
{
	const char *base = getenv("TMPDIR");
	char *path;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/veil-%s-XXXXXX", base, label) < 0)
		die("asprintf");
	if (mkdtemp(path) == NULL)
		die("mkdtemp");
	return path;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
proc_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	if (s == NULL)
		die("malloc");
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *grown = realloc(s, cap);
			if (grown == NULL)
				die("realloc");
			s = grown;
		}
		ssize_t n = read(fd, s + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	s[len] = '\0';
	return s;
}

static char *
slurp_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	char *s = slurp_fd(fd);
	close(fd);
	return s;
}

/* In the child: execv wants char *const[]; give it copies. */
static void
exec_copy(const char *const argv[])
{
	size_t n = 0;
	while (argv[n] != NULL)
		n++;
	char **copy = calloc(n + 1, sizeof(*copy));
	if (copy == NULL)
		_exit(126);
	for (size_t i = 0; i < n; i++)
		if ((copy[i] = strdup(argv[i])) == NULL)
			_exit(126);
	execv(copy[0], copy);
	_exit(127);
}

static int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int
proc_run(const char *const argv[], const char *stdin_path, char **out, char **err)
{
	char out_path[] = "/tmp/veil-test-out-XXXXXX", err_path[] = "/tmp/veil-test-err-XXXXXX";
	int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
	if (out_fd < 0 || err_fd < 0)
		die("mkstemp");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);
		if (in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		exec_copy(argv);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (out != NULL)
		*out = slurp_path(out_path);
	if (err != NULL)
		*err = slurp_path(err_path);
	close(out_fd);
	close(err_fd);
	unlink(out_path);
	unlink(err_path);
	return status_code(status);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
proc_start(proc_daemon *d, const char *const argv[], const char *ready_text, int timeout_ms)
{
	char path[] = "/tmp/veil-test-daemon-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	d->stderr_path = strdup(path);
	fflush(stdout);
	d->pid = fork();
	if (d->pid < 0)
		die("fork");
	if (d->pid == 0) {
		int in = open("/dev/null", O_RDWR);
		dup2(in, 0);
		dup2(in, 1);
		dup2(fd, 2);
		exec_copy(argv);
	}
	close(fd);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		char *text = slurp_path(d->stderr_path);
		const int ready = strstr(text, ready_text) != NULL;
		free(text);
		if (ready)
			return 0;
		if (!proc_alive(d))
			return -1;
		sleep_ms(20);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
	return -1;
}

int
proc_alive(proc_daemon *d)
{
	if (d->pid <= 0)
		return 0;
	int status;
	pid_t r = waitpid(d->pid, &status, WNOHANG);
	if (r == d->pid) {
		d->pid = -status_code(status) - 1; /* remember it has exited */
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
	int status;
	while (waitpid(d->pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	d->pid = 0;
	return status_code(status);
}

char *
proc_stderr(const proc_daemon *d)
{
	return slurp_path(d->stderr_path);
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

void
proc_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
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
