/*
 * The message transport, behind one small interface so that nanomsg
 * could be swapped (for nng, which adds TLS) without touching the server
 * or the client. One request, one reply; messages are opaque bytes.
 *
 * URLs are nanomsg's: tcp://HOST:PORT or ipc:///PATH.
 */
#ifndef VEIL_PROTO_TRANSPORT_H
#define VEIL_PROTO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* ---- server ---- */

typedef struct transport_server transport_server;

/* A received request: its bytes and the route its reply must take. */
typedef struct transport_request {
	const uint8_t *data;
	size_t len;
	void *body_;  /* private */
	void *route_; /* private */
} transport_request;

/*
 * Listens on url. Requests larger than max_request bytes (the requests'
 * own bytes: the transport's framing aside) are discarded by the
 * transport unread. Thread safety: after open, any number of threads
 * may call receive, reply and drop concurrently.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM, VEIL_ERR_TRANSPORT (bad URL,
 * address in use; transport_strerror() says which).
 */
veil_err transport_server_open(const char *url, size_t max_request, transport_server **out)
        __attribute__((warn_unused_result));

/*
 * Waits up to timeout_ms for a request. Errors: VEIL_ERR_TIMEOUT (none
 * came), VEIL_ERR_TRANSPORT. On success the caller owns *req until it
 * passes it to transport_server_reply or transport_request_drop.
 */
veil_err transport_server_receive(transport_server *server, int timeout_ms, transport_request *req)
        __attribute__((warn_unused_result));

/* Sends data as the reply to req and releases req, whether or not the
 * send succeeds (a peer that went away is not an error of ours). */
veil_err transport_server_reply(transport_server *server, transport_request *req,
                                const uint8_t *data, size_t len);

/* Releases req without answering it. */
void transport_request_drop(transport_request *req);

/* Closes the socket. No thread may be inside receive or reply. NULL ok. */
void transport_server_close(transport_server *server);

/* ---- client ---- */

typedef struct transport_client transport_client;

/*
 * Connects to url (lazily: a server that is not up yet is waited for up to
 * each request's timeout). Replies larger than max_reply are discarded.
 * A client carries one request at a time: not safe for concurrent use.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM, VEIL_ERR_TRANSPORT.
 */
veil_err transport_client_open(const char *url, int timeout_ms, size_t max_reply,
                               transport_client **out) __attribute__((warn_unused_result));

/*
 * Sends a request and appends its reply to reply_out. Errors:
 * VEIL_ERR_TIMEOUT, VEIL_ERR_TRANSPORT, VEIL_ERR_NOMEM.
 */
veil_err transport_client_request(transport_client *client, const uint8_t *data, size_t len,
                                  buf *reply_out) __attribute__((warn_unused_result));

void transport_client_close(transport_client *client);

/* The calling thread's last transport failure, as text (never secret). */
const char *transport_strerror(void);

#endif
