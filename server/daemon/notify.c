/*
 * One datagram to $NOTIFY_SOCKET: the sd_notify() protocol, its part that
 * veil's daemons use.
 */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	if (name == NULL || name[0] == '\0')
		return 0;
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	const size_t name_len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || name_len < 2 ||
	    name_len >= sizeof(addr.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(addr.sun_path, name, name_len);
	/* An abstract name is its bytes after a NUL, exactly as long as
	 * given; a path ends at its NUL, counted as systemd counts it. */
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	else
		addr_len++;

	const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	const size_t len = strlen(state);
	const ssize_t sent =
	        sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
	const int saved = errno;
	close(fd);
	if (sent < 0) {
		errno = saved;
		return -1;
	}
	if ((size_t)sent != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

void
notify_say(const char *program, const char *state)
{
	if (notify_send(state) < 0)
		fprintf(stderr, "%s: cannot tell the service manager %s: %s\n", program, state,
		        strerror(errno));
}
