/*
 * Telling a service manager (systemd, Type=notify) that a daemon is
 * ready or stopping, without libsystemd: one datagram of text such as
 * "READY=1" or "STOPPING=1" to the AF_UNIX datagram socket that the
 * environment variable NOTIFY_SOCKET names. The name is a path (it
 * starts with '/') or an abstract socket name (it starts with '@', which
 * stands for the name's leading NUL byte). Without NOTIFY_SOCKET (not
 * started by a service manager) nothing is sent and nothing is said.
 *
 * What is sent is the caller's text alone; what is said on stderr is the
 * program's name and the system's reason, never the socket's name.
 *
 * May use: nothing of the project; thread-safe as long as nothing
 * changes the environment meanwhile.
 */
#ifndef VEIL_SERVER_NOTIFY_H
#define VEIL_SERVER_NOTIFY_H

/*
 * Sends state (a NUL-terminated text, e.g. "READY=1"; not NULL) in one
 * datagram to the socket NOTIFY_SOCKET names. Returns 1 when it was
 * sent; 0 when NOTIFY_SOCKET is unset or empty (nothing to do); -1 with
 * errno set when it was not sent: EINVAL for a name that is neither a
 * path nor an abstract name, or too long for an AF_UNIX address (107
 * bytes at most); else the errno of socket() or sendto() (ENOENT or
 * ECONNREFUSED: nobody listens there).
 */
int notify_send(const char *state) __attribute__((warn_unused_result));

/*
 * notify_send(state); when that fails, says so on stderr as "PROGRAM:
 * cannot tell the service manager STATE: REASON" and goes on: a daemon
 * serves whether or not its manager heard. program and state: not NULL.
 */
void notify_say(const char *program, const char *state);

#endif
