/*
 * libveil-client: private contact discovery for messaging apps.
 *
 * Give it the server's URL, the server's pinned public key and your app's
 * client key, then ask which of a list of contacts are registered. The
 * library normalizes each contact (phone numbers to E.164 with a default
 * region, emails lowercased), computes its public bucket, blinds it with
 * an RFC 9497 OPRF, sends only the blinded element and a short bucket
 * prefix (never longer than the client's own privacy floor allows,
 * whatever the server advises), and finds the match itself. The server never sees a contact, a
 * plain hash of one, or whether it matched. Each batch is filled up to a
 * size class (proto/PROTOCOL.md) with dummy items and shuffled, so its
 * size tells little of the address book. The client pins the registry's
 * mode and OPRF public keys as `veil-admin info` prints them; when the
 * registry serves VOPRF, it checks the server's proof that every answer
 * came from a pinned key, the one every client is given.
 *
 *   veil_client_options o = { .server_url = "tcp://127.0.0.1:7000",
 *                             .client_secret = key, .region = "US" };
 *   veil_client *c;
 *   if (veil_server_info_read("server.info", &o) == VEIL_OK &&
 *       veil_client_new(&o, &c) == VEIL_OK) {
 *           veil_lookup_result r[2];
 *           const char *contacts[] = { "(415) 555-0100", "ann@example.org" };
 *           if (veil_client_lookup(c, contacts, 2, r) == VEIL_OK) ...
 *           veil_client_free(c);
 *   }
 *
 * Thread safety: a veil_client carries one request at a time and must not
 * be used by two threads at once; use one client per thread. Different
 * clients are independent.
 *
 * Errors are veil_err values (error.h); veil_strerror() describes them and
 * veil_client_last_error() says more about the last failed call (for
 * example which status the server answered), without any contact in it.
 */
#ifndef VEIL_CLIENT_H
#define VEIL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define VEIL_KEY_SIZE        32
#define VEIL_MAX_HANDLE      320
#define VEIL_MAX_PAYLOAD     64
/*
 * Room for an OPRF public key: a serialized element of the largest suite
 * (P521-SHA512, 67 bytes); a key fills public_key_len bytes of it (32 for
 * ristretto255-SHA512, 33 for P256-SHA256, 49 for P384-SHA384).
 */
#define VEIL_OPRF_KEY_SIZE   67
/* Room for an RFC 9497 suite identifier and its NUL ("ristretto255-SHA512"). */
#define VEIL_SUITE_NAME_SIZE 24
/* The most OPRF keys a client pins (a rotation has two live at once). */
#define VEIL_MAX_OPRF_KEYS   8

typedef struct veil_client veil_client;

/* The OPRF mode a registry serves (RFC 9497). */
typedef enum veil_mode {
	VEIL_MODE_NONE = 0, /* not given: veil_client_new() refuses */
	VEIL_MODE_OPRF = 1,
	VEIL_MODE_VOPRF = 2, /* every answer carries a proof of the key used */
} veil_mode;

/*
 * A pinned OPRF public key: an `oprf-key ID SUITE HEX` line of `veil-admin
 * info`. suite is the RFC 9497 identifier, NUL-terminated: one of
 * "ristretto255-SHA512", "P256-SHA256", "P384-SHA384", "P521-SHA512"; an
 * empty string means ristretto255-SHA512 (pins made before suites were
 * named). public_key_len is the suite's element size, or 0 for that size.
 */
typedef struct veil_oprf_key {
	uint32_t key_id;
	char suite[VEIL_SUITE_NAME_SIZE];
	size_t public_key_len;
	uint8_t public_key[VEIL_OPRF_KEY_SIZE];
} veil_oprf_key;

typedef struct veil_client_options {
	/* tcp://HOST:PORT or ipc:///PATH. Copied. */
	const char *server_url;
	/* The server's transport public key, as `veil-admin info` prints it. */
	uint8_t server_key[VEIL_KEY_SIZE];
	/*
	 * The registry's mode and OPRF public keys, as `veil-admin info`
	 * prints them ("mode" and "oprf-key" lines); veil_server_info_read()
	 * fills these and server_key from that output. Required: a mode and
	 * 1..VEIL_MAX_OPRF_KEYS keys of distinct ids, all of one suite (a
	 * registry has one), each of that suite's length. The client blinds
	 * and finalizes on that suite. It refuses a server whose INFO names
	 * another mode (VEIL_ERR_UNSUPPORTED), or a pinned key id with
	 * another suite or another public key (VEIL_ERR_VERIFY: either way
	 * not the key pinned; nothing is sent for evaluation), and asks
	 * only under a pinned key: a server that offers none, after a key
	 * rotation this client was not given, is refused with
	 * VEIL_ERR_UNSUPPORTED. In VOPRF mode each answer is proven to come
	 * from the pinned key, so a server cannot give one user a key of its
	 * own; in OPRF mode nothing proves which key answered, and the pin
	 * only checks what INFO claims.
	 */
	veil_mode mode;
	size_t oprf_key_count;
	veil_oprf_key oprf_keys[VEIL_MAX_OPRF_KEYS];
	/* This client's X25519 secret key (VEIL_KEY_SIZE bytes). Copied into
	 * guarded memory; the caller may wipe its copy after veil_client_new. */
	const uint8_t *client_secret;
	/* Default region for phone numbers not in international form, as an
	 * ISO 3166 code ("US"). NULL: such numbers are reported invalid. */
	const char *region;
	/* Milliseconds to wait for each reply; 0 means 10000. */
	int timeout_ms;
	/* Milliseconds a whole lookup may take while the server answers BUSY:
	 * the library retries with jittered exponential backoff until then;
	 * 0 means 30000. */
	int deadline_ms;
	/* Bucket prefix bits to reveal per contact; 0 means the server's
	 * recommendation. Fewer bits: more privacy, more bandwidth. Never
	 * more than the server recommends, nor than the privacy floor below
	 * allows: the bits revealed are the least of the three. */
	unsigned prefix_bits;
	/*
	 * The privacy floor, which the client enforces whatever the server
	 * advises: a revealed prefix must leave at least min_bucket handles of
	 * a numbering space of universe handles in its bucket, so at most
	 * floor(log2(universe / min_bucket)) bits are revealed (19 with the
	 * defaults). When that is fewer than the server's least accepted
	 * prefix, lookups fail with VEIL_ERR_UNSUPPORTED rather than reveal
	 * more. 0 means the default: min_bucket 10^4, universe 10^10 (the
	 * phone numbers of a plan like NANP). min_bucket above universe is
	 * VEIL_ERR_ARGUMENT.
	 */
	uint64_t min_bucket;
	uint64_t universe;
	/* Nonzero: accept only a VOPRF registry, whose every answer carries a
	 * proof the server evaluated with the pinned key: a pinned mode other
	 * than VOPRF is VEIL_ERR_ARGUMENT, and a reply without a valid proof
	 * VEIL_ERR_VERIFY. */
	int require_verifiable;
	/* Seconds an answer stays good: a contact answered less than this long
	 * ago is answered again from the client's memory, without asking the
	 * server (fewer requests, quota tokens and log entries); new contacts
	 * are always asked at once. 0: no cache. The cache lives as long as the
	 * client and is wiped with it. */
	unsigned refresh_seconds;
} veil_client_options;

typedef enum veil_lookup_status {
	VEIL_LOOKUP_NOT_REGISTERED = 0,
	VEIL_LOOKUP_REGISTERED = 1,
	VEIL_LOOKUP_INVALID = 2, /* could not be normalized: see error */
} veil_lookup_status;

typedef struct veil_lookup_result {
	veil_lookup_status status;
	/* The normalized handle ("tel:+14155550100"), "" when invalid. */
	char handle[VEIL_MAX_HANDLE + 1];
	/* Why the contact is invalid; a static string, NULL otherwise. */
	const char *error;
	/* The payload registered with the handle, if any. */
	int has_payload;
	size_t payload_len;
	uint8_t payload[VEIL_MAX_PAYLOAD];
} veil_lookup_result;

/*
 * Makes a client. Connects lazily: a server that is down shows up as
 * VEIL_ERR_TIMEOUT on the first lookup. *out is NULL on error.
 * Errors: VEIL_ERR_ARGUMENT (missing URL or key, no mode or OPRF key
 * pinned, more than VEIL_MAX_OPRF_KEYS or two of one id, pins of an
 * unknown suite, of two suites or of a length not their suite's, mode OPRF with
 * require_verifiable, unknown region, min_bucket above universe),
 * VEIL_ERR_NOMEM, VEIL_ERR_CRYPTO,
 * VEIL_ERR_TRANSPORT (bad URL).
 */
veil_err veil_client_new(const veil_client_options *options, veil_client **out)
        __attribute__((warn_unused_result));

/* Wipes the keys and frees. NULL is a no-op. */
void veil_client_free(veil_client *client);

/*
 * Looks up count contacts (NUL-terminated strings, any format) and fills
 * results[i] for contacts[i]. Splits into batches by the server's cap,
 * each filled up to its size class with dummy items (random elements
 * under random prefixes, which cost quota like real ones) and shuffled.
 * Returns VEIL_OK when every batch was answered; then every result is
 * final. On error, results are all reset to NOT_REGISTERED with empty
 * handles: a failed lookup never reports a contact as registered.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM, VEIL_ERR_TIMEOUT (no reply),
 * VEIL_ERR_TRANSPORT, VEIL_ERR_BUSY (the server stayed busy past the
 * deadline), VEIL_ERR_VERIFY (a reply that does not open, a proof
 * that does not hold, or an unsealed ERROR frame of a code other than
 * BUSY, BAD_FRAME and BAD_ENVELOPE: a server sends every other code
 * sealed, so such a frame may come from anyone on the path),
 * VEIL_ERR_PARSE (a malformed reply), VEIL_ERR_UNSUPPORTED (the server
 * refused the request, or the client refused the server: the privacy
 * floor allows fewer prefix bits than the server accepts, the server
 * names another mode than the pinned one, or offers no pinned key; see
 * veil_client_last_error); VEIL_ERR_VERIFY also when INFO gives a pinned
 * key id another public key. Nothing is evaluated for a lookup the
 * client refuses: it asks only INFO.
 */
veil_err veil_client_lookup(veil_client *client, const char *const contacts[], size_t count,
                            veil_lookup_result *results) __attribute__((warn_unused_result));

/* A description of the last failure of this client, or "" if none. The
 * string lives until the next call on the client. */
const char *veil_client_last_error(const veil_client *client);

/*
 * The server key to pin, from what an operator hands out: 64 hex digits,
 * or the name of a file holding them on a line of their own or as the
 * "server-key <hex>" line that `veil-admin info` prints first. Errors:
 * VEIL_ERR_PARSE (neither; key is then unspecified).
 */
veil_err veil_server_key_read(const char *hex_or_file, uint8_t key[VEIL_KEY_SIZE])
        __attribute__((warn_unused_result));

/*
 * Pins the server as `veil-admin info` describes it: sets
 * options->server_key, ->mode, ->oprf_keys and ->oprf_key_count from the
 * text's "server-key HEX", "mode oprf|voprf" and "oprf-key ID SUITE HEX"
 * lines (LF or CRLF); other lines are skipped, nothing else in options is
 * touched. Errors: VEIL_ERR_ARGUMENT (text NULL with a length, options
 * NULL), VEIL_ERR_PARSE (no server-key, mode or oprf-key line, or one of
 * them malformed: given twice, a suite that is none of the four RFC 9497
 * identifiers above, a key that is not 2 * Ne hex digits of its suite,
 * keys of different suites, an id given twice, a NUL, longer than 255
 * bytes), VEIL_ERR_LIMIT (more than VEIL_MAX_OPRF_KEYS keys). On error
 * options is as it was.
 */
veil_err veil_server_info_parse(const char *text, size_t len, veil_client_options *options)
        __attribute__((warn_unused_result));

/*
 * veil_server_info_parse() of the file path (at most 64 KiB). Errors:
 * VEIL_ERR_SYSTEM (the file cannot be read; errno says why), VEIL_ERR_NOMEM,
 * VEIL_ERR_PARSE (also a file over 64 KiB), those of the parser.
 */
veil_err veil_server_info_read(const char *path, veil_client_options *options)
        __attribute__((warn_unused_result));

/* The label of a client key file (common/keyfile.h) as `veil keygen`
 * writes it: the library's users and tools read the same files. */
#define VEIL_CLIENT_KEY_KIND "veil-client-key-v1"

/* The X25519 public key for a client secret key (to enrol it). */
veil_err veil_client_public_key(const uint8_t secret[VEIL_KEY_SIZE],
                                uint8_t public_out[VEIL_KEY_SIZE]);

#endif
