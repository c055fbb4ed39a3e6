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

static int
set_int(int sock, int level, int option, int value)
{
	return nn_setsockopt(sock, level, option, &value, sizeof(value));
}

veil_err
transport_server_open(const char *url, size_t max_request, transport_server **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (url == NULL || max_request == 0 || max_request > (size_t)INT32_MAX)
		return VEIL_ERR_ARGUMENT;
	transport_server *server = calloc(1, sizeof(*server));
	if (server == NULL)
		return VEIL_ERR_NOMEM;
	server->sock = nn_socket(AF_SP_RAW, NN_REP);
	if (server->sock < 0)
		goto fail;
	if (set_int(server->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)max_request) < 0 ||
	    nn_bind(server->sock, url) < 0)
		goto fail;
	*out = server;
	return VEIL_OK;
fail:;
	const int saved = nn_errno();
	if (server->sock >= 0)
		nn_close(server->sock);
	free(server);
	errno = saved;
	return VEIL_ERR_TRANSPORT;
}

veil_err
transport_server_receive(transport_server *server, int timeout_ms, transport_request *req)
{
	memset(req, 0, sizeof(*req));
	if (set_int(server->sock, NN_SOL_SOCKET, NN_RCVTIMEO, timeout_ms) < 0)
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

void
transport_server_close(transport_server *server)
{
	if (server == NULL)
		return;
	nn_close(server->sock);
	free(server);
}

veil_err
transport_client_open(const char *url, int timeout_ms, size_t max_reply, transport_client **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (url == NULL || timeout_ms <= 0 || max_reply == 0 || max_reply > (size_t)INT32_MAX)
		return VEIL_ERR_ARGUMENT;
	transport_client *client = calloc(1, sizeof(*client));
	if (client == NULL)
		return VEIL_ERR_NOMEM;
	client->sock = nn_socket(AF_SP, NN_REQ);
	if (client->sock < 0)
		goto fail;
	/* Resending is the caller's decision (with backoff), not the socket's. */
	if (set_int(client->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)max_reply) < 0 ||
	    set_int(client->sock, NN_SOL_SOCKET, NN_RCVTIMEO, timeout_ms) < 0 ||
	    set_int(client->sock, NN_SOL_SOCKET, NN_SNDTIMEO, timeout_ms) < 0 ||
	    set_int(client->sock, NN_SOL_SOCKET, NN_LINGER, 0) < 0 ||
	    set_int(client->sock, NN_REQ, NN_REQ_RESEND_IVL, INT32_MAX) < 0 ||
	    nn_connect(client->sock, url) < 0)
		goto fail;
	*out = client;
	return VEIL_OK;
fail:;
	const int saved = nn_errno();
	if (client->sock >= 0)
		nn_close(client->sock);
	free(client);
	errno = saved;
	return VEIL_ERR_TRANSPORT;
}

veil_err
transport_client_request(transport_client *client, const uint8_t *data, size_t len,
			 buf *reply_out)
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
	if (client == NULL)
		return;
	nn_close(client->sock);
	free(client);
}
