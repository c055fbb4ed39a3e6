/*
 * nanomsg behind transport.h. The server is a raw (AF_SP_RAW) REP socket:
 * each request arrives with a routing header in its control data, which
 * goes back with the reply, so any number of worker threads can serve one
 * socket without REP's one-request-at-a-time state.
 */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

struct transport_server {
	int sock;
};

struct transport_client {
	int sock;
};

const char *
transport_strerror(void)
{
	return nn_strerror(nn_errno());
}

/* One integer socket option: level, option, value. */
typedef struct socket_option {
	int level, option, value;
} socket_option;

/*
 * A socket of domain and protocol with the options set, then bound or
 * connected (attach: nn_bind or nn_connect) to url. Returns the socket,
 * or -1 with errno saying why and nothing left open.
 */
static int
socket_open(int domain, int protocol, const socket_option *options, size_t option_count,
            int (*attach)(int sock, const char *url), const char *url)
{
	const int sock = nn_socket(domain, protocol);
	if (sock < 0)
		return -1;
	for (size_t i = 0; i < option_count; i++) {
		const socket_option *o = &options[i];
		if (nn_setsockopt(sock, o->level, o->option, &o->value, sizeof(o->value)) < 0)
			goto fail;
	}
	if (attach(sock, url) < 0)
		goto fail;
	return sock;
fail:;
	const int saved = nn_errno();
	nn_close(sock);
	errno = saved;
	return -1;
}

/* The header a REQ socket adds to each request on the wire: its 32-bit
 * request id (one hop: no device between client and server). */
#define REQ_HEADER_SIZE 4

veil_err
transport_server_open(const char *url, size_t max_request, transport_server **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (url == NULL || max_request == 0 || max_request > (size_t)INT32_MAX - REQ_HEADER_SIZE)
		return VEIL_ERR_ARGUMENT;
	/* nanomsg's limit counts the request id the REQ socket puts before
	 * the body; max_request is the body's. */
	const socket_option options[] = {
	        {NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)(max_request + REQ_HEADER_SIZE)}};
	transport_server *server = calloc(1, sizeof(*server));
	if (server == NULL)
		return VEIL_ERR_NOMEM;
	server->sock = socket_open(AF_SP_RAW, NN_REP, options, 1, nn_bind, url);
	if (server->sock < 0) {
		free(server); /* keeps errno */
		return VEIL_ERR_TRANSPORT;
	}
	*out = server;
	return VEIL_OK;
}

veil_err
transport_server_receive(transport_server *server, int timeout_ms, transport_request *req)
{
	memset(req, 0, sizeof(*req));
	if (nn_setsockopt(server->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
	                  sizeof(timeout_ms)) < 0)
		return VEIL_ERR_TRANSPORT;

	void *body = NULL, *control = NULL;
	struct nn_iovec iov = {.iov_base = &body, .iov_len = NN_MSG};
	struct nn_msghdr hdr = {
	        .msg_iov = &iov,
	        .msg_iovlen = 1,
	        .msg_control = &control,
	        .msg_controllen = NN_MSG,
	};
	const int n = nn_recvmsg(server->sock, &hdr, 0);
	if (n < 0)
		return nn_errno() == ETIMEDOUT || nn_errno() == EAGAIN ? VEIL_ERR_TIMEOUT
		                                                       : VEIL_ERR_TRANSPORT;
	req->data = body;
	req->len = (size_t)n;
	req->body_ = body;
	req->route_ = control;
	return VEIL_OK;
}

void
transport_request_drop(transport_request *req)
{
	if (req->body_ != NULL)
		nn_freemsg(req->body_);
	if (req->route_ != NULL)
		nn_freemsg(req->route_);
	memset(req, 0, sizeof(*req));
}

veil_err
transport_server_reply(transport_server *server, transport_request *req, const uint8_t *data,
                       size_t len)
{
	struct nn_iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
	struct nn_msghdr hdr = {
	        .msg_iov = &iov,
	        .msg_iovlen = 1,
	        .msg_control = &req->route_,
	        .msg_controllen = NN_MSG,
	};
	/* On success nanomsg takes the route; on failure it stays ours. */
	if (nn_sendmsg(server->sock, &hdr, NN_DONTWAIT) >= 0)
		req->route_ = NULL;
	const int failed = req->route_ != NULL;
	transport_request_drop(req);
	return failed ? VEIL_ERR_TRANSPORT : VEIL_OK;
}

/* Closes a handle's socket and frees the handle: either end. */
static void
socket_close(int sock, void *handle)
{
	nn_close(sock);
	free(handle);
}

void
transport_server_close(transport_server *server)
{
	if (server != NULL)
		socket_close(server->sock, server);
}

veil_err
transport_client_open(const char *url, int timeout_ms, size_t max_reply, transport_client **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (url == NULL || timeout_ms <= 0 || max_reply == 0 || max_reply > (size_t)INT32_MAX)
		return VEIL_ERR_ARGUMENT;
	/* Resending is the caller's decision (with backoff), not the socket's. */
	const socket_option options[] = {
	        {NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)max_reply},
	        {NN_SOL_SOCKET, NN_RCVTIMEO, timeout_ms},
	        {NN_SOL_SOCKET, NN_SNDTIMEO, timeout_ms},
	        {NN_SOL_SOCKET, NN_LINGER, 0},
	        {NN_REQ, NN_REQ_RESEND_IVL, INT32_MAX},
	};
	transport_client *client = calloc(1, sizeof(*client));
	if (client == NULL)
		return VEIL_ERR_NOMEM;
	client->sock = socket_open(AF_SP, NN_REQ, options, sizeof(options) / sizeof(options[0]),
	                           nn_connect, url);
	if (client->sock < 0) {
		free(client); /* keeps errno */
		return VEIL_ERR_TRANSPORT;
	}
	*out = client;
	return VEIL_OK;
}

veil_err
transport_client_request(transport_client *client, const uint8_t *data, size_t len, buf *reply_out)
{
	if (nn_send(client->sock, data, len, 0) < 0)
		return nn_errno() == ETIMEDOUT ? VEIL_ERR_TIMEOUT : VEIL_ERR_TRANSPORT;
	void *reply = NULL;
	const int n = nn_recv(client->sock, &reply, NN_MSG, 0);
	if (n < 0)
		return nn_errno() == ETIMEDOUT ? VEIL_ERR_TIMEOUT : VEIL_ERR_TRANSPORT;
	veil_err err = buf_append(reply_out, reply, (size_t)n);
	nn_freemsg(reply);
	return err;
}

void
transport_client_close(transport_client *client)
{
	if (client != NULL)
		socket_close(client->sock, client);
}
