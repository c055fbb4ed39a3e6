/*
 * What a tap on the wire sees of one client. A relay in this test sits
 * on loopback TCP between libveil-client and a real veild and keeps
 * every byte the client sends. Two lookups by one client are served and
 * charged to its key (so the server knew the client),
 * yet no two of the captured request frames share a run of 8 bytes past
 * their fixed header, and neither the client's public key nor its X25519
 * shared key with the server appears anywhere in the stream.
 *
 * The stream is nanomsg's: an 8-byte handshake, then per message a u64
 * length and the REQ request id (u32) before the frame.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "e2e_client.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define SP_HANDSHAKE_SIZE 8
#define SP_LENGTH_SIZE    8
#define REQ_ID_SIZE       4
#define MAX_FRAMES        16

static uint8_t client_secret[VEIL_KEY_SIZE], client_public[VEIL_KEY_SIZE];

typedef struct relay {
	int listener;
	int server_port;
	buf sent; /* what the client sent, in order */
	int failed;
} relay;

/* Copies what one side has to the other; 0 at end of stream or error. */
static int
pass(int from, int to, buf *keep)
{
	uint8_t chunk[4096];
	const ssize_t n = read(from, chunk, sizeof(chunk));
	if (n <= 0)
		return 0;
	if (keep != NULL && buf_append(keep, chunk, (size_t)n) != VEIL_OK)
		return 0;
	for (ssize_t done = 0; done < n;) {
		const ssize_t w = write(to, chunk + done, (size_t)(n - done));
		if (w <= 0)
			return 0;
		done += w;
	}
	return 1;
}

/* Serves one connection: client <-> veild, until either side closes. */
static void *
relay_run(void *arg)
{
	relay *r = arg;
	const int client = accept(r->listener, NULL, NULL);
	const int server = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)r->server_port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (client < 0 || server < 0 || connect(server, (struct sockaddr *)&to, sizeof(to)) != 0) {
		r->failed = 1;
	} else {
		struct pollfd fds[2] = {{.fd = client, .events = POLLIN},
		                        {.fd = server, .events = POLLIN}};
		for (;;) {
			if (poll(fds, 2, -1) < 0)
				break;
			if (fds[0].revents != 0 && !pass(client, server, &r->sent))
				break;
			if (fds[1].revents != 0 && !pass(server, client, NULL))
				break;
		}
	}
	if (client >= 0)
		close(client);
	if (server >= 0)
		close(server);
	return NULL;
}

/* Listens on a free loopback port; returns it, or -1. */
static int
relay_listen(relay *r)
{
	struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(at);
	r->listener = socket(AF_INET, SOCK_STREAM, 0);
	if (r->listener < 0 || bind(r->listener, (struct sockaddr *)&at, sizeof(at)) != 0 ||
	    listen(r->listener, 1) != 0 ||
	    getsockname(r->listener, (struct sockaddr *)&at, &len) != 0)
		return -1;
	return ntohs(at.sin_port);
}

/* Splits the captured stream into its frames; the count, or -1 when the
 * stream is not handshake | (length | request id | frame)*. */
static int
split_frames(const uint8_t *s, size_t len, const uint8_t *frames[], size_t frame_lens[])
{
	int count = 0;
	if (len < SP_HANDSHAKE_SIZE || memcmp(s, "\0SP\0", 4) != 0)
		return -1;
	for (size_t at = SP_HANDSHAKE_SIZE; at < len; count++) {
		if (count == MAX_FRAMES || len - at < SP_LENGTH_SIZE)
			return -1;
		uint64_t n = 0;
		for (size_t i = 0; i < SP_LENGTH_SIZE; i++)
			n = n << 8 | s[at + i];
		at += SP_LENGTH_SIZE;
		if (n < REQ_ID_SIZE + PROTO_FRAME_HEADER_SIZE || n > len - at)
			return -1;
		frames[count] = s + at + REQ_ID_SIZE;
		frame_lens[count] = (size_t)n - REQ_ID_SIZE;
		at += (size_t)n;
	}
	return count;
}

static void
case_a_tap_cannot_link_two_lookups(void)
{
	relay r = {.listener = -1, .server_port = 0};
	pthread_t thread;
	char *url = NULL, *relay_url = NULL;
	buf_init(&r.sent);

	r.server_port = proc_free_port();
	const int relay_port = relay_listen(&r);
	REQUIRE(relay_port > 0);
	REQUIRE(asprintf(&url, "tcp://127.0.0.1:%d", r.server_port) > 0);
	REQUIRE(asprintf(&relay_url, "tcp://127.0.0.1:%d", relay_port) > 0);
	if (fixture_start(&fx, url, "ready", "--enrolment", "open", "--threads", "1", NULL) != 0) {
		char *said = proc_stderr(&fx.daemon);
		printf("# veild did not start: %s\n", said != NULL ? said : "");
		free(said);
		REQUIRE(0);
	}
	REQUIRE(pthread_create(&thread, NULL, relay_run, &r) == 0);

	veil_client *client = NULL;
	REQUIRE(fixture_client(&(veil_client_options){.server_url = relay_url}, client_secret,
	                       &client) == VEIL_OK);
	const char *first[] = {"+1 212 555 0002", "+1 212 555 0003"};
	const char *second[] = {"+1 212 555 0002", "+1 212 555 0003"};
	veil_lookup_result results[2];
	CHECK(veil_client_lookup(client, first, 2, results) == VEIL_OK);
	CHECK(results[0].status == VEIL_LOOKUP_REGISTERED &&
	      results[1].status == VEIL_LOOKUP_NOT_REGISTERED);
	CHECK(veil_client_lookup(client, second, 2, results) == VEIL_OK);
	CHECK(results[0].status == VEIL_LOOKUP_REGISTERED &&
	      results[1].status == VEIL_LOOKUP_NOT_REGISTERED);
	veil_client_free(client); /* closes the connection: the relay ends */
	pthread_join(thread, NULL);
	close(r.listener);
	CHECK(!r.failed);
	CHECK(fixture_stop(&fx) == 0);
	/* The server knew the client: both lookups were charged to its key,
	 * the one client it keeps a record of. */
	proc_result listed = proc_call(fx.admin, "client", "list", "--state", fx.state, NULL);
	const char *last = listed.out != NULL ? strstr(listed.out, "\n# ") : NULL;
	unsigned long long enrolled = ~0ull, tracked = ~0ull;
	CHECK(listed.status == 0 && last != NULL &&
	      sscanf(last, "\n# %llu enrolled, %llu tracked", &enrolled, &tracked) == 2);
	CHECK(tracked == 1);
	if (tracked != 1)
		printf("# client list: %s\n", listed.out != NULL ? listed.out : "");
	proc_result_free(&listed);

	const uint8_t *s = (const uint8_t *)buf_data(&r.sent);
	const size_t len = buf_len(&r.sent);
	const uint8_t *frames[MAX_FRAMES];
	size_t frame_lens[MAX_FRAMES];
	const int count = split_frames(s, len, frames, frame_lens);
	/* At least the two lookups. */
	CHECK(count >= 2);
	int linked = 0;
	for (int i = 0; i < count; i++) {
		CHECK(frame_lens[i] > PROTO_FRAME_HEADER_SIZE && frames[i][4] == PROTO_VERSION &&
		      frames[i][5] == PROTO_FRAME_SEALED);
		for (int j = i + 1; j < count; j++)
			linked += test_share_run(frames[i], frame_lens[i], frames[j], frame_lens[j],
			                      PROTO_FRAME_HEADER_SIZE);
	}
	CHECK(linked == 0);

	/* The client's key and its shared keys with the server, as X25519
	 * gives them and as crypto_box derives them: not one 8-byte run. */
	uint8_t x25519[32], box_key[32];
	REQUIRE(crypto_scalarmult(x25519, client_secret, fx.server_key) == 0);
	REQUIRE(crypto_box_beforenm(box_key, fx.server_key, client_secret) == 0);
	CHECK(!test_share_run(s, len, client_public, sizeof(client_public), 0));
	CHECK(!test_share_run(s, len, x25519, sizeof(x25519), 0));
	CHECK(!test_share_run(s, len, box_key, sizeof(box_key), 0));
	sodium_memzero(x25519, sizeof(x25519));
	sodium_memzero(box_key, sizeof(box_key));
	buf_free(&r.sent);
	free(url);
	free(relay_url);
}

static const test_case cases[] = {
        {"a tap cannot link two lookups of one client", case_a_tap_cannot_link_two_lookups},
};

static void
setup(void)
{
	randombytes_buf(client_secret, sizeof(client_secret));
	if (veil_client_public_key(client_secret, client_public) != VEIL_OK)
		abort();
}

FIXTURE_MAIN(cases, .label = "capture", .numbered = "+1 212 555 ", .end = 100, .step = 2,
             .setup = setup)
