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
 * Thread safety: a veil_client carries one lookup at a time and must not
 * be used by two threads at once; use one client per thread. Different
 * clients are independent. Inside a lookup the library uses threads of
 * its own (veil_client_set_threads()): it normalizes, blinds and
 * finalizes on every core, and sends a lookup's requests at once, each on
 * a connection of its own; they are all joined before the call returns.
 *
 * Errors are veil_err values (<veil/veil_error.h>); veil_strerror()
 * describes them and veil_client_last_error() says more about the last
 * failed call (for example which status the server answered), without any
 * contact in it.
 */
#ifndef VEIL_VEIL_CLIENT_H
#define VEIL_VEIL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <veil/veil_error.h>
#include <veil/veil_version.h>

#ifdef __cplusplus
extern "C" {
#endif

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
/* The most worker threads a client uses in a lookup. */
#define VEIL_MAX_THREADS     64

typedef struct veil_client veil_client;

/*
 * How a registry knows who may ask (the "auth" line of `veil-admin info`).
 * In keys mode every request is sealed under the client's key, by which
 * the server counts its quota. In tokens mode the client first gets
 * Privacy Pass tokens (RFC 9576-9578, type 0x0001) from an issuer that
 * knows its key (veil_tokens_fetch()), and then asks the registry with
 * one token per request, in frames that name no client: the registry
 * learns that a request is paid for, not by whom.
 */
typedef enum veil_auth {
	VEIL_AUTH_KEYS = 0, /* the default */
	VEIL_AUTH_TOKENS = 1,
} veil_auth;

/* Room for an issuer or origin name and its NUL: 1 to 255 bytes of
 * printable ASCII without spaces ("issuer.example.org"). */
#define VEIL_TOKEN_NAME_SIZE 256
/* A token issuer's public key: a compressed P-384 point. */
#define VEIL_TOKEN_KEY_SIZE  49
/* The most token keys an issuer's pins hold (a rotation has two live). */
#define VEIL_MAX_TOKEN_KEYS  8
/* The most tokens a token file holds. */
#define VEIL_MAX_TOKENS      65536

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
	/* Milliseconds a whole lookup may take while the server answers BUSY
	 * or, with fallback_urls, servers fail to reply: the library retries
	 * (with jittered exponential backoff, or on the next server) until
	 * then; 0 means 30000. */
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
	/*
	 * Tokens mode (see veil_auth), pinned with the rest by
	 * veil_server_info_read() from the "auth", "token-issuer" and
	 * "token-origin" lines. In tokens mode client_secret is not used
	 * (it may be NULL), token_issuer and token_origin must be valid
	 * names, and token_file is required (VEIL_ERR_ARGUMENT otherwise).
	 * Each LOOKUP then spends one token of token_file (format below)
	 * whose challenge is this issuer's and origin's, taken out of the
	 * file before the request is sent, so that a crash never sends one
	 * token twice; INFO spends none. Both go in SEALED_ANONYMOUS frames.
	 * A token goes back to the file only when it was never sent (the
	 * lookup failed before, e.g. at INFO). Once sent it is spent, whatever
	 * comes back: an answer, a refusal, no reply, or BUSY, even an
	 * unsealed one, which anyone on the path can forge; a retry after
	 * BUSY takes a new token, so that no two requests carry the same one
	 * (its nonce would link them).
	 */
	veil_auth auth;
	char token_issuer[VEIL_TOKEN_NAME_SIZE];
	char token_origin[VEIL_TOKEN_NAME_SIZE];
	/* The token file's path. Copied. */
	const char *token_file;
	/*
	 * Failover: fallback_url_count more servers (each a URL as
	 * server_url; copied), replicas of the same state as server_url's
	 * (`veil-admin snapshot`): they share server_key, mode, OPRF keys and
	 * token issuer, so every pin above holds for all. 0 (fallback_urls
	 * may be NULL): server_url only. At most 63, none NULL
	 * (VEIL_ERR_ARGUMENT otherwise). A request that gets no reply
	 * (VEIL_ERR_TIMEOUT or VEIL_ERR_TRANSPORT) is made again to the next
	 * server, round robin from server_url, on a new connection: anew,
	 * freshly blinded, and in tokens mode with a new token (the one sent
	 * is spent: the library never puts a token in two requests; but
	 * nanomsg re-sends an unanswered request, byte for byte, when its
	 * connection drops and comes back, and behind a load balancer that
	 * copy may reach another replica). The client stays with the
	 * server that answered. Once every server has failed in a row, each
	 * further move waits as after BUSY. All of it within deadline_ms of
	 * the lookup's start; then the last error is returned. Any other
	 * error (a refusal, a proof that does not verify) is returned at
	 * once, never retried elsewhere.
	 */
	const char *const *fallback_urls;
	size_t fallback_url_count;
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
 * VEIL_ERR_TRANSPORT (bad URL). In tokens mode also VEIL_ERR_ARGUMENT for
 * no token_file, or a token_issuer or token_origin that is not a name;
 * the token file is not read here.
 */
VEIL_EXPORT veil_err veil_client_new(const veil_client_options *options, veil_client **out)
        __attribute__((warn_unused_result));

/* Wipes the keys and frees. NULL is a no-op. */
VEIL_EXPORT void veil_client_free(veil_client *client);

/*
 * The worker threads client's lookups normalize, blind and finalize on:
 * 1 to VEIL_MAX_THREADS, or 0 (the default) for the cores online at each
 * lookup. The answers are the same whatever the number. It does not
 * bound the requests in flight (see veil_client_lookup()). Errors:
 * VEIL_ERR_ARGUMENT (client NULL, threads above VEIL_MAX_THREADS); the
 * client is then unchanged.
 */
VEIL_EXPORT veil_err veil_client_set_threads(veil_client *client, unsigned threads)
        __attribute__((warn_unused_result));

/*
 * Looks up count contacts (NUL-terminated strings, any format) and fills
 * results[i] for contacts[i]. Splits into batches by the server's cap,
 * each filled up to its size class with dummy items (random elements
 * under random prefixes, which cost quota like real ones) and shuffled.
 * The batches are sent at once, up to 4 in flight, each on a connection
 * of its own to the server asked (a lookup of more sends them in waves
 * of 4), so that a lookup takes about one round trip per wave, not one
 * per batch; a batch that gets BUSY, no reply, or KEY_UNKNOWN is retried
 * as below, the answered ones kept, and after a BUSY the lookup sends no
 * more at once than the server last took.
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
 * In tokens mode, before anything is sent, the token file must hold a
 * token for the pinned issuer and origin, and each batch takes one, as
 * does each retry of a batch after BUSY: VEIL_ERR_LIMIT when none is
 * left (last error "no tokens left: run veil tokens fetch"),
 * VEIL_ERR_PERMISSION, VEIL_ERR_CORRUPT or VEIL_ERR_SYSTEM for a token
 * file that cannot be used (as veil_tokens_status()), and
 * VEIL_ERR_PERMISSION when the server refuses a token (last error "token
 * refused: spent" for one redeemed before, "token refused: invalid" for
 * one that does not verify, of a retired issuer key or of another
 * challenge).
 */
VEIL_EXPORT veil_err veil_client_lookup(veil_client *client, const char *const contacts[],
                                        size_t count, veil_lookup_result *results)
        __attribute__((warn_unused_result));

/* A description of the last failure of this client, or "" if none. The
 * string lives until the next call on the client. */
VEIL_EXPORT const char *veil_client_last_error(const veil_client *client);

/*
 * The server key to pin, from what an operator hands out: 64 hex digits,
 * or the name of a file holding them on a line of their own or as the
 * "server-key <hex>" line that `veil-admin info` prints first. Errors:
 * VEIL_ERR_PARSE (neither; key is then unspecified).
 */
VEIL_EXPORT veil_err veil_server_key_read(const char *hex_or_file, uint8_t key[VEIL_KEY_SIZE])
        __attribute__((warn_unused_result));

/*
 * Pins the server as `veil-admin info` describes it: sets
 * options->server_key, ->mode, ->oprf_keys and ->oprf_key_count from the
 * text's "server-key HEX", "mode oprf|voprf" and "oprf-key ID SUITE HEX"
 * lines (LF or CRLF), and ->auth, ->token_issuer and ->token_origin from
 * its "auth keys|tokens", "token-issuer NAME" and "token-origin NAME"
 * lines (no auth line: keys mode, and both names empty); other lines are
 * skipped, nothing else in options is touched. Errors:
 * VEIL_ERR_ARGUMENT (text NULL with a length, options NULL),
 * VEIL_ERR_PARSE (no server-key, mode or oprf-key line, or one of them
 * malformed: given twice, a suite that is none of the four RFC 9497
 * identifiers above, a key that is not 2 * Ne hex digits of its suite,
 * keys of different suites, an id given twice, a NUL, longer than 255
 * bytes; an auth line of another word; a token-issuer or token-origin
 * line given twice or whose name is not 1 to 255 printable ASCII
 * characters without spaces; auth tokens without both of those lines,
 * or either of them without auth tokens), VEIL_ERR_LIMIT (more than
 * VEIL_MAX_OPRF_KEYS keys). On error options is as it was.
 */
VEIL_EXPORT veil_err veil_server_info_parse(const char *text, size_t len,
                                            veil_client_options *options)
        __attribute__((warn_unused_result));

/*
 * veil_server_info_parse() of the file path (at most 64 KiB). Errors:
 * VEIL_ERR_SYSTEM (the file cannot be read; errno says why), VEIL_ERR_NOMEM,
 * VEIL_ERR_PARSE (also a file over 64 KiB), those of the parser.
 */
VEIL_EXPORT veil_err veil_server_info_read(const char *path, veil_client_options *options)
        __attribute__((warn_unused_result));

/* ---- Tokens mode: the issuer, and the token file ---- */

/* A token key of an issuer: a `token-key ID HEX` line of `veil-admin
 * issuer info`, pkI in its compressed form. */
typedef struct veil_token_key {
	uint32_t key_id;
	uint8_t public_key[VEIL_TOKEN_KEY_SIZE];
} veil_token_key;

/* What a client needs to fetch tokens from an issuer. */
typedef struct veil_issuer_options {
	/* tcp://HOST:PORT or ipc:///PATH of veil-issuer. Not kept. */
	const char *issuer_url;
	/* The issuer's transport public key ("issuer-key" line). */
	uint8_t issuer_key[VEIL_KEY_SIZE];
	/* The issuer's name ("issuer-name" line): the issuer_name of the
	 * tokens' challenge. */
	char issuer_name[VEIL_TOKEN_NAME_SIZE];
	/* Its live token keys, the current one first ("token-key" lines):
	 * tokens are asked under the first, and each answer's proof must
	 * hold for its public key. */
	size_t token_key_count;
	veil_token_key token_keys[VEIL_MAX_TOKEN_KEYS];
	/* This client's X25519 secret key, enrolled at the issuer (the
	 * account its tokens are counted to). Copied into guarded memory
	 * for the fetch and wiped after. */
	const uint8_t *client_secret;
	/* Milliseconds to wait for each reply; 0 means 10000. */
	int timeout_ms;
} veil_issuer_options;

/*
 * Pins an issuer as `veil-admin issuer info` describes it: sets
 * options->issuer_key, ->issuer_name, ->token_keys and
 * ->token_key_count from the text's "issuer-key HEX" (64 hex digits),
 * "issuer-name NAME" and "token-key ID HEX" lines (ID a decimal u32, HEX
 * 98 hex digits; the current key first), LF or CRLF; other lines are
 * skipped, nothing else in options is touched. Errors: VEIL_ERR_ARGUMENT
 * (text NULL with a length, options NULL), VEIL_ERR_PARSE (no
 * issuer-key, issuer-name or token-key line, one given twice or
 * malformed, a name that is not 1 to 255 printable ASCII characters
 * without spaces, a token key id given twice, a NUL, a line longer than
 * 255 bytes), VEIL_ERR_LIMIT (more than VEIL_MAX_TOKEN_KEYS keys). The
 * keys are not checked to be curve points here: veil_tokens_fetch() does
 * (a proof does not verify under a key that is none). On error options
 * is as it was.
 */
VEIL_EXPORT veil_err veil_issuer_info_parse(const char *text, size_t len,
                                            veil_issuer_options *options)
        __attribute__((warn_unused_result));

/* veil_issuer_info_parse() of the file path (at most 64 KiB). Errors:
 * VEIL_ERR_SYSTEM (the file cannot be read; errno says why),
 * VEIL_ERR_NOMEM, VEIL_ERR_PARSE (also a file over 64 KiB), those of the
 * parser. */
VEIL_EXPORT veil_err veil_issuer_info_read(const char *path, veil_issuer_options *options)
        __attribute__((warn_unused_result));

/*
 * The token file: the tokens a client holds and has not spent. They are
 * its secrets until spent (whoever reads them can spend them), so the
 * file is made 0600, refused when its mode lets the group or others read
 * or write it (VEIL_ERR_PERMISSION), and always replaced whole: written
 * to PATH.tmp (0600), fsynced, renamed over PATH, the directory fsynced.
 * Changes take an exclusive lock (flock) on PATH.lock, so that a fetch
 * and a lookup of two processes do not undo each other's change.
 *
 * The format, text with LF line ends:
 *
 *   veil-tokens-v1
 *   <292 hex digits>      one line per token, oldest first
 *
 * each token line the RFC 9577 Token of type 0x0001 (146 bytes: type,
 * nonce, challenge_digest, token_key_id, authenticator). A lookup spends
 * the oldest token of its challenge; a fetch appends. Anything else (a
 * missing or other header, a line that is not such a token, a missing
 * last LF, more than VEIL_MAX_TOKENS tokens) is VEIL_ERR_CORRUPT; the
 * file is then left as it is.
 */

/* A token file's tokens of one issuer key and one challenge. */
typedef struct veil_token_group {
	uint8_t token_key_id[32];     /* SHA-256 of the issuer key's pkI */
	uint8_t challenge_digest[32]; /* SHA-256 of the TokenChallenge */
	size_t count;
} veil_token_group;

/*
 * The tokens of token_file: *count_out in all, and the groups of one
 * token_key_id and challenge_digest in the order of their first token,
 * the first max_groups of them to groups (which may be NULL when
 * max_groups is 0) and their number to *group_count_out (which may be
 * larger than max_groups). Errors: VEIL_ERR_ARGUMENT (a NULL pointer but
 * groups), VEIL_ERR_NOT_FOUND (no such file), VEIL_ERR_PERMISSION (not
 * a regular file owned alone: group or others may read or write it),
 * VEIL_ERR_CORRUPT (not a token file, see above), VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM. Outputs are zero on error.
 */
VEIL_EXPORT veil_err veil_tokens_status(const char *token_file, size_t *count_out,
                                        veil_token_group *groups, size_t max_groups,
                                        size_t *group_count_out)
        __attribute__((warn_unused_result));

/*
 * The challenge_digest of the tokens a tokens-mode server takes: SHA-256
 * of the RFC 9577 TokenChallenge of type 0x0001, issuer_name issuer, an
 * empty redemption context, origin_info origin. Errors:
 * VEIL_ERR_ARGUMENT (a NULL pointer, a name that is not 1 to 255
 * printable ASCII characters without spaces), VEIL_ERR_NOMEM.
 */
VEIL_EXPORT veil_err veil_tokens_challenge_digest(const char *issuer, const char *origin,
                                                  uint8_t digest_out[32])
        __attribute__((warn_unused_result));

/*
 * Asks the issuer for count tokens (1..VEIL_MAX_TOKENS) for the origin
 * (a tokens-mode server's "token-origin"), under its current token key,
 * and appends them to token_file (made when missing). The requests go in
 * SEALED frames under the client key (the issuer's account), at most
 * 1024 TokenRequests each; each answer's proof must hold for the pinned
 * public key before its tokens are finalized and stored, each batch's as
 * it comes (the blinds and nonces wiped after). The file is checked
 * first: one that cannot be used costs no tokens. A BUSY issuer is asked
 * again with jittered backoff for up to 30 s. *fetched (may be NULL) is
 * the number of tokens stored, also on error; *retry_after (may be
 * NULL) is set on a rate limit, else 0.
 * Errors: VEIL_ERR_ARGUMENT (a NULL pointer, no URL, client_secret or
 * token key, a count out of range, an issuer or origin that is not a
 * name), VEIL_ERR_LIMIT (the issuer's ration is used up: *retry_after
 * seconds until enough tokens return; or the file would hold more than
 * VEIL_MAX_TOKENS), VEIL_ERR_PERMISSION (the issuer does not know this
 * client key; or a token file others may read), VEIL_ERR_UNSUPPORTED
 * (the issuer no longer issues under the pinned current key: its key
 * rotated; or it refused the request otherwise), VEIL_ERR_VERIFY (an
 * answer not sealed by the pinned issuer key, or a proof that does not
 * hold for the pinned token key), VEIL_ERR_PARSE (a malformed answer),
 * VEIL_ERR_TIMEOUT, VEIL_ERR_TRANSPORT, VEIL_ERR_BUSY (busy past 30 s),
 * VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM (the token file),
 * VEIL_ERR_NOMEM, VEIL_ERR_CRYPTO. veil_tokens_last_error() says more.
 */
VEIL_EXPORT veil_err veil_tokens_fetch(const veil_issuer_options *options, const char *origin,
                                       const char *token_file, size_t count, size_t *fetched,
                                       uint32_t *retry_after) __attribute__((warn_unused_result));

/* A description of the calling thread's last failed veil_tokens_fetch(),
 * or "" after one that succeeded. */
VEIL_EXPORT const char *veil_tokens_last_error(void);

/*
 * A uniformly random delay in [0, 86400) seconds, for a fetch at a random
 * time of the day: the issuer then cannot tell a client's fetches by
 * their hour, nor link them by time to its first lookups.
 */
VEIL_EXPORT uint32_t veil_tokens_fetch_delay(void);

/*
 * The label of a client key file as `veil keygen` writes it: one line
 * "veil-client-key-v1 <64 hex digits>\n", mode 0600. The library's users
 * and tools read the same files (veil_client_key_read()).
 */
#define VEIL_CLIENT_KEY_KIND "veil-client-key-v1"

/*
 * Reads the client secret key of the key file path (as `veil keygen`
 * writes it, see VEIL_CLIENT_KEY_KIND) into secret_out, which the caller
 * wipes when done (veil_client_new() keeps a copy of its own). The
 * temporaries of the read are wiped. Errors: VEIL_ERR_ARGUMENT (a NULL
 * pointer), VEIL_ERR_NOT_FOUND (no such file), VEIL_ERR_PERMISSION (its
 * mode lets the group or others read or write it), VEIL_ERR_CORRUPT
 * (not a regular file, another label, or not 64 hex digits),
 * VEIL_ERR_SYSTEM (errno says why; ELOOP for a symbolic link, which is
 * not followed). On error secret_out is zero.
 */
VEIL_EXPORT veil_err veil_client_key_read(const char *path, uint8_t secret_out[VEIL_KEY_SIZE])
        __attribute__((warn_unused_result));

/* The X25519 public key for a client secret key (to enrol it). */
VEIL_EXPORT veil_err veil_client_public_key(const uint8_t secret[VEIL_KEY_SIZE],
                                            uint8_t public_out[VEIL_KEY_SIZE]);

/*
 * The version of the library the program runs with, "MAJOR.MINOR.PATCH"
 * (VEIL_VERSION_STRING of the headers it was built with: those the
 * program was compiled against may be older). A static string.
 */
VEIL_EXPORT const char *veil_client_version(void);

/*
 * ---- The OPRF primitives (RFC 9497), for research and tests ----
 *
 * The functions the library computes lookups with, one element at a time,
 * for studying and checking them (RFC 9497's test vectors, other
 * implementations); an app never needs them. suite is an RFC 9497
 * identifier: "ristretto255-SHA512", "P256-SHA256", "P384-SHA384" or
 * "P521-SHA512" (exact, case included). mode must be VEIL_MODE_OPRF: the
 * verifiable mode's proofs are not offered here. Encodings are the RFC's:
 * an element is Ne bytes, a scalar (key, blind) Ns bytes, an output Nh
 * bytes, as veil_oprf_sizes() gives them. Output buffers are written only
 * on VEIL_OK; once the suite is known to be served, they are zeroed on
 * any error. Secrets (keys, blinds) are
 * the caller's to keep and wipe; the library's temporaries are wiped.
 *
 * Every function may fail with VEIL_ERR_ARGUMENT (a NULL pointer, input
 * NULL with a length, a key of another length than Ns), VEIL_ERR_UNSUPPORTED
 * (a suite this build does not serve, a mode other than VEIL_MODE_OPRF),
 * VEIL_ERR_NOMEM and VEIL_ERR_CRYPTO (the crypto library could not start
 * or failed), besides those each names.
 */

/*
 * The sizes of suite's encodings: Ne, Ns and Nh bytes. Each output may be
 * NULL. Errors: VEIL_ERR_ARGUMENT (suite NULL), VEIL_ERR_UNSUPPORTED.
 */
VEIL_EXPORT veil_err veil_oprf_sizes(const char *suite, size_t *element_size, size_t *scalar_size,
                                     size_t *output_size) __attribute__((warn_unused_result));

/*
 * RFC 9497 DeriveKeyPair: the secret key (Ns bytes) to sk_out, from seed
 * (32 to Ns bytes) and info (info_len bytes,
 * at most 65535; NULL when 0). Errors: VEIL_ERR_LIMIT (a seed or info of
 * a length out of range), VEIL_ERR_DERIVE_KEY_PAIR.
 */
VEIL_EXPORT veil_err veil_oprf_derive_key(const char *suite, veil_mode mode, const uint8_t *seed,
                                          size_t seed_len, const uint8_t *info, size_t info_len,
                                          uint8_t *sk_out) __attribute__((warn_unused_result));

/*
 * Client, RFC 9497 Blind of input (input_len bytes, at most 65535): the
 * blind used to blind_out (Ns bytes; secret until finalized) and the
 * blinded element to blinded_out (Ne bytes). The blind is blind_in (Ns
 * bytes, non-zero and below the group order: for reproducing test
 * vectors only) or, when blind_in is NULL, a fresh random one. Errors:
 * VEIL_ERR_LIMIT (input too long), VEIL_ERR_SCALAR (a bad blind_in),
 * VEIL_ERR_INVALID_INPUT (the input hashes to the identity).
 */
VEIL_EXPORT veil_err veil_oprf_blind(const char *suite, veil_mode mode, const uint8_t *input,
                                     size_t input_len, const uint8_t *blind_in, uint8_t *blind_out,
                                     uint8_t *blinded_out) __attribute__((warn_unused_result));

/*
 * Server, RFC 9497 BlindEvaluate: the blinded element (Ne bytes)
 * multiplied by the secret key sk (sk_len = Ns bytes) to evaluated_out
 * (Ne bytes). Errors: VEIL_ERR_SCALAR (sk zero or not below the order),
 * VEIL_ERR_ELEMENT (blinded is not a canonical non-identity element).
 */
VEIL_EXPORT veil_err veil_oprf_blind_evaluate(const char *suite, veil_mode mode, const uint8_t *sk,
                                              size_t sk_len, const uint8_t *blinded,
                                              uint8_t *evaluated_out)
        __attribute__((warn_unused_result));

/*
 * Client, RFC 9497 Finalize: the output F(k, input) (Nh bytes) to
 * output_out, from the input, the blind (Ns bytes) and blinded element
 * (Ne bytes) veil_oprf_blind() gave for it, and the server's evaluated
 * element (Ne bytes). Errors: VEIL_ERR_LIMIT, VEIL_ERR_SCALAR (a bad
 * blind), VEIL_ERR_ELEMENT (a bad blinded or evaluated element).
 */
VEIL_EXPORT veil_err veil_oprf_finalize(const char *suite, veil_mode mode, const uint8_t *input,
                                        size_t input_len, const uint8_t *blind,
                                        const uint8_t *blinded, const uint8_t *evaluated,
                                        uint8_t *output_out) __attribute__((warn_unused_result));

/*
 * Server, RFC 9497 Evaluate: F(k, input) (Nh bytes) to output_out,
 * computed directly with the secret key sk (sk_len = Ns bytes); equal to
 * what blinding, veil_oprf_blind_evaluate() and veil_oprf_finalize() give.
 * Errors: VEIL_ERR_SCALAR (a bad sk), VEIL_ERR_LIMIT,
 * VEIL_ERR_INVALID_INPUT.
 */
VEIL_EXPORT veil_err veil_oprf_evaluate(const char *suite, veil_mode mode, const uint8_t *sk,
                                        size_t sk_len, const uint8_t *input, size_t input_len,
                                        uint8_t *output_out) __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif
