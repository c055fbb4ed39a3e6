/*
 * What a tap on the wire sees of one client. A relay in this test sits
 * on loopback TCP between libveil-client and a real veild and keeps
 * every byte the client sends. Two lookups by one client are served and
 * charged to its key (so the server knew the client),
 * yet no two of the captured request frames share a run of 8 bytes past
 * their fixed header, and neither the client's public key nor its X25519
 * shared key with the server appears anywhere in the stream.
 *
 * A second case opens the captured requests with the server's transport
 * key, as the live server does: each batch is filled to its size class
 * with dummies and shuffled, and request and reply sizes depend only on
 * the class.
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
#include "entry.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "keyfile.h"
#include "msg.h"
#include "veil_client.h"

#define SP_HANDSHAKE_SIZE 8
#define SP_LENGTH_SIZE    8
#define REQ_ID_SIZE       4
#define MAX_FRAMES        16
/* The registry: even lines of +1 212 555, 5,000 handles, so that the
 * server advises prefixes of several bits. */
#define REGISTRY_END      10000

static uint8_t client_secret[VEIL_KEY_SIZE], client_public[VEIL_KEY_SIZE];

typedef struct relay {
	int listener;
	int server_port;
	buf sent;     /* what the client sent, in order */
	buf received; /* what veild sent back */
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
			if (fds[1].revents != 0 && !pass(server, client, &r->received))
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

/* Starts veild on a fresh TCP port and the relay in front of it; the relay's URL. */
static char *
start_relayed(relay *r, pthread_t *thread)
{
	char *url = NULL, *relay_url = NULL;
	buf_init(&r->sent);
	buf_init(&r->received);
	r->server_port = proc_free_port();
	const int relay_port = relay_listen(r);
	if (relay_port <= 0 || asprintf(&url, "tcp://127.0.0.1:%d", r->server_port) < 0 ||
	    asprintf(&relay_url, "tcp://127.0.0.1:%d", relay_port) < 0)
		abort();
	if (fixture_start(&fx, url, "ready", "--enrolment", "open", "--threads", "1", NULL) != 0) {
		char *said = proc_stderr(&fx.daemon);
		printf("# veild did not start: %s\n", said != NULL ? said : "");
		free(said);
		abort();
	}
	if (pthread_create(thread, NULL, relay_run, r) != 0)
		abort();
	free(url);
	return relay_url;
}

/* The written form of line i of +1 212 555. */
static const char *
line_text(char text[32], unsigned i)
{
	snprintf(text, 32, "+1 212 555 %04u", i);
	return text;
}

static void
case_a_tap_cannot_link_two_lookups(void)
{
	relay r = {.listener = -1, .server_port = 0};
	pthread_t thread;
	char *relay_url = start_relayed(&r, &thread);

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
	buf_free(&r.received);
	free(relay_url);
}

/* What the server opened of one captured LOOKUP request. */
typedef struct opened {
	unsigned count, prefix_bits;
	uint32_t prefixes[256];
} opened;

/* Opens request frame with the server's secret key; 0 when it is a LOOKUP. */
static int
open_lookup(const uint8_t *frame, size_t len, const uint8_t *server_sk, opened *out)
{
	proto_frame f;
	buf inner;
	uint64_t sent_at;
	uint8_t client_pk[32];
	envelope_exchange ex;
	proto_msg msg;
	int rc = -1;
	buf_init(&inner);
	if (proto_frame_decode(frame, len, &f) == VEIL_OK &&
	    envelope_open_request(&f, server_sk, &inner, &sent_at, client_pk, &ex) == VEIL_OK) {
		envelope_exchange_wipe(&ex);
		if (proto_msg_decode((const uint8_t *)buf_data(&inner), buf_len(&inner), &msg) ==
		            VEIL_OK &&
		    msg.type == PROTO_MSG_LOOKUP && msg.u.lookup.count <= 256) {
			out->count = msg.u.lookup.count;
			out->prefix_bits = msg.u.lookup.prefix_bits;
			for (unsigned i = 0; i < out->count; i++) {
				const uint8_t *element;
				proto_lookup_item(&msg.u.lookup, i, &out->prefixes[i], &element);
			}
			rc = 0;
		}
	}
	buf_free(&inner);
	return rc;
}

/* Every prefix of the contacts first..first+count of +1 212 555 is among
 * the request's, as often as it is asked. */
static int
holds_prefixes(const opened *o, unsigned first, unsigned count)
{
	uint8_t used[256] = {0};
	for (unsigned i = first; i < first + count; i++) {
		char handle[32];
		snprintf(handle, sizeof(handle), "tel:+1212555%04u", i);
		const uint32_t want =
		        entry_prefix(entry_bucket(handle, strlen(handle)), o->prefix_bits);
		unsigned k = 0;
		while (k < o->count && (used[k] || o->prefixes[k] != want))
			k++;
		if (k == o->count)
			return 0;
		used[k] = 1;
	}
	return 1;
}

/*
 * Four lookups through the relay: 3, 4 and 5 contacts, then 100 twice.
 * Opened as the server opens them, each carries its size class of items
 * (4, 4, 8, 128, 128) with every contact's prefix among them; the two
 * lookups of the same 100 contacts send their prefixes in different
 * orders; requests of one class have one size, and so do their replies.
 */
static void
case_batches_are_padded_and_shuffled(void)
{
	relay r = {.listener = -1, .server_port = 0};
	pthread_t thread;
	char *relay_url = start_relayed(&r, &thread);
	veil_client *client = NULL;
	REQUIRE(fixture_client(&(veil_client_options){.server_url = relay_url}, client_secret,
	                       &client) == VEIL_OK);
	static const unsigned sizes[] = {3, 4, 5, 100, 100}, classes[] = {4, 4, 8, 128, 128};
	char texts[100][32];
	const char *contacts[100];
	veil_lookup_result results[100];
	for (unsigned i = 0; i < 100; i++)
		contacts[i] = line_text(texts[i], i);
	for (size_t q = 0; q < TEST_COUNT(sizes); q++) {
		CHECK(veil_client_lookup(client, contacts, sizes[q], results) == VEIL_OK);
		for (unsigned i = 0; i < sizes[q]; i++)
			CHECK(results[i].status ==
			      (i % 2 == 0 ? VEIL_LOOKUP_REGISTERED : VEIL_LOOKUP_NOT_REGISTERED));
	}
	veil_client_free(client);
	pthread_join(thread, NULL);
	close(r.listener);
	CHECK(!r.failed);
	CHECK(fixture_stop(&fx) == 0);

	uint8_t *server_sk = sodium_malloc(32);
	char *key_path = proc_join(fx.state, "transport.key");
	REQUIRE(server_sk != NULL);
	REQUIRE(keyfile_read(key_path, "veil-transport-key-v1", server_sk, 32) == VEIL_OK);
	const uint8_t *frames[MAX_FRAMES], *replies[MAX_FRAMES];
	size_t frame_lens[MAX_FRAMES], reply_lens[MAX_FRAMES];
	const int count = split_frames((const uint8_t *)buf_data(&r.sent), buf_len(&r.sent), frames,
	                               frame_lens);
	const int reply_count = split_frames((const uint8_t *)buf_data(&r.received),
	                                     buf_len(&r.received), replies, reply_lens);
	/* INFO, then the five lookups, each answered. */
	REQUIRE(count == 6 && reply_count == 6);
	opened o[5];
	for (int i = 0; i < 5; i++) {
		REQUIRE(open_lookup(frames[i + 1], frame_lens[i + 1], server_sk, &o[i]) == 0);
		CHECK(o[i].count == classes[i]);
		CHECK(o[i].prefix_bits > 0);
		CHECK(holds_prefixes(&o[i], 0, sizes[i]));
	}
	CHECK(memcmp(o[3].prefixes, o[4].prefixes, sizeof(o[3].prefixes[0]) * 128) != 0);
	CHECK(frame_lens[1] == frame_lens[2] && reply_lens[1] == reply_lens[2]); /* 3 and 4 */
	CHECK(frame_lens[3] > frame_lens[2] && reply_lens[3] > reply_lens[2]);   /* 5: 8 */
	CHECK(frame_lens[4] == frame_lens[5] && reply_lens[4] == reply_lens[5]);
	printf("# %u-bit prefixes; request bytes %zu, %zu, %zu, %zu; reply bytes %zu, %zu, %zu, "
	       "%zu\n",
	       o[0].prefix_bits, frame_lens[1], frame_lens[2], frame_lens[3], frame_lens[4],
	       reply_lens[1], reply_lens[2], reply_lens[3], reply_lens[4]);
	sodium_free(server_sk);
	free(key_path);
	buf_free(&r.sent);
	buf_free(&r.received);
	free(relay_url);
}

static const test_case cases[] = {
        {"a tap cannot link two lookups of one client", case_a_tap_cannot_link_two_lookups},
        {"batches are padded to their size class and shuffled",
         case_batches_are_padded_and_shuffled},
};

static void
setup(void)
{
	randombytes_buf(client_secret, sizeof(client_secret));
	if (veil_client_public_key(client_secret, client_public) != VEIL_OK)
		abort();
}

FIXTURE_MAIN(cases, .label = "capture", .numbered = "+1 212 555 ", .end = REGISTRY_END, .step = 2,
             .setup = setup)
