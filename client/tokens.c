/*
 * libveil-client, tokens mode: the token file (tokens.h), the status of
 * one, and fetching tokens from an issuer (veil_tokens_fetch).
 */
#define _GNU_SOURCE /* O_CLOEXEC, O_NOFOLLOW */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "envelope.h"
#include "exchange.h"
#include "file.h"
#include "msg.h"
#include "transport.h"
#include "veil_client.h"

#define TOKEN_LINE_SIZE    (2 * TOKEN_SIZE + 1)
#define TOKENS_FILE_MAX    (sizeof(TOKENS_FILE_HEADER) - 1 + (size_t)VEIL_MAX_TOKENS * TOKEN_LINE_SIZE)
#define DEFAULT_TIMEOUT_MS 10000
/* A busy issuer is asked again for this long. */
#define FETCH_DEADLINE_MS  30000

veil_err
veil_tokens_challenge_digest(const char *issuer, const char *origin, uint8_t digest_out[32])
{
	return token_challenge_digest_of(issuer, origin, digest_out);
}

/* ---- the file ---- */

veil_err
tokens_parse(const char *text, size_t len, token **tokens_out, size_t *count_out)
{
	const size_t head = sizeof(TOKENS_FILE_HEADER) - 1;
	*tokens_out = NULL;
	*count_out = 0;
	if (text == NULL || len < head || memcmp(text, TOKENS_FILE_HEADER, head) != 0 ||
	    (len - head) % TOKEN_LINE_SIZE != 0 || len > TOKENS_FILE_MAX)
		return VEIL_ERR_CORRUPT;
	const size_t count = (len - head) / TOKEN_LINE_SIZE;
	token *tokens = sodium_malloc((count + 1) * sizeof(*tokens));
	uint8_t *raw = sodium_malloc(TOKEN_SIZE);
	veil_err err = tokens == NULL || raw == NULL ? VEIL_ERR_NOMEM : VEIL_OK;
	for (size_t i = 0; err == VEIL_OK && i < count; i++) {
		const char *line = text + head + i * TOKEN_LINE_SIZE;
		size_t bin_len = 0;
		const char *end = NULL;
		if (line[TOKEN_LINE_SIZE - 1] != '\n' ||
		    sodium_hex2bin(raw, TOKEN_SIZE, line, 2 * TOKEN_SIZE, NULL, &bin_len, &end) !=
		            0 ||
		    bin_len != TOKEN_SIZE || end != line + 2 * TOKEN_SIZE ||
		    token_decode(raw, TOKEN_SIZE, &tokens[i]) != VEIL_OK)
			err = VEIL_ERR_CORRUPT;
	}
	if (raw != NULL)
		sodium_free(raw);
	if (err != VEIL_OK) {
		if (tokens != NULL)
			sodium_free(tokens);
		return err;
	}
	*tokens_out = tokens;
	*count_out = count;
	return VEIL_OK;
}

veil_err
tokens_file_load(const char *path, token **tokens_out, size_t *count_out)
{
	*tokens_out = NULL;
	*count_out = 0;
	const int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT  ? VEIL_ERR_NOT_FOUND
		       : errno == ELOOP ? VEIL_ERR_PERMISSION
		                        : VEIL_ERR_SYSTEM;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	veil_err err = VEIL_OK;
	if (fstat(fd, &st) != 0)
		err = VEIL_ERR_SYSTEM;
	else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
		err = VEIL_ERR_PERMISSION;
	else if ((uintmax_t)st.st_size > TOKENS_FILE_MAX)
		err = VEIL_ERR_CORRUPT;
	else if ((text = sodium_malloc((size_t)st.st_size + 1)) == NULL)
		err = VEIL_ERR_NOMEM;
	while (err == VEIL_OK && len < (size_t)st.st_size) {
		const ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = VEIL_ERR_SYSTEM;
		else if (n == 0)
			break; /* shrunk meanwhile: what was read is parsed, and refused */
		else
			len += (size_t)n;
	}
	const int saved = errno;
	close(fd);
	if (err == VEIL_OK)
		err = tokens_parse(text, len, tokens_out, count_out);
	if (text != NULL)
		sodium_free(text);
	errno = saved;
	return err;
}

/* write(2) all of it; 0 or -1. */
static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		const ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces path with a token file of count tokens (tokens.h says how).
 * Errors: VEIL_ERR_SYSTEM (errno says why; path is then as it was),
 * VEIL_ERR_NOMEM.
 */
static veil_err
tokens_file_store(const char *path, const token *tokens, size_t count)
{
	const size_t head = sizeof(TOKENS_FILE_HEADER) - 1;
	const size_t size = head + count * TOKEN_LINE_SIZE;
	char *text = sodium_malloc(size + 1);
	char *tmp = malloc(strlen(path) + 5);
	char *dir = strdup(path);
	uint8_t *raw = sodium_malloc(TOKEN_SIZE);
	veil_err err = VEIL_ERR_NOMEM;
	int fd = -1, saved = 0;
	if (text == NULL || tmp == NULL || dir == NULL || raw == NULL)
		goto out;
	memcpy(text, TOKENS_FILE_HEADER, head);
	for (size_t i = 0; i < count; i++) {
		char *line = text + head + i * TOKEN_LINE_SIZE;
		token_encode(&tokens[i], raw);
		sodium_bin2hex(line, TOKEN_LINE_SIZE, raw, TOKEN_SIZE);
		line[TOKEN_LINE_SIZE - 1] = '\n';
	}
	sprintf(tmp, "%s.tmp", path);
	err = VEIL_ERR_SYSTEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* A leftover PATH.tmp of other modes is made private before it is written. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, size) != 0 || fsync(fd) != 0)
		goto out_unlink;
	if (close(fd) != 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out_unlink;
	err = file_sync_dir(dirname(dir)) == 0 ? VEIL_OK : VEIL_ERR_SYSTEM;
	goto out;
out_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
	errno = saved;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (text != NULL)
		sodium_free(text);
	if (raw != NULL)
		sodium_free(raw);
	free(tmp);
	free(dir);
	errno = saved;
	return err;
}

/* Takes the lock of path's changes (PATH.lock): a descriptor to close, or -1. */
static int
lock_file(const char *path)
{
	char *name = malloc(strlen(path) + 6);
	if (name == NULL)
		return -1;
	sprintf(name, "%s.lock", path);
	const int fd = file_open_locked(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	const int saved = errno;
	free(name);
	errno = saved;
	return fd;
}

/*
 * The three changes, under the lock: take the first token of digest
 * (into *taken), put a token back in front of its challenge's, or
 * append count tokens.
 */
typedef enum change { CHANGE_TAKE, CHANGE_FRONT, CHANGE_APPEND } change;

static veil_err
change_file(const char *path, change what, const uint8_t *digest, token *taken, const token *added,
            size_t count)
{
	const int lock = lock_file(path);
	if (lock < 0)
		return VEIL_ERR_SYSTEM;
	token *tokens = NULL, *all = NULL;
	size_t held = 0;
	veil_err err = tokens_file_load(path, &tokens, &held);
	if (err == VEIL_ERR_NOT_FOUND && what != CHANGE_TAKE)
		err = VEIL_OK;
	if (what == CHANGE_TAKE) {
		if (err == VEIL_ERR_NOT_FOUND)
			err = VEIL_ERR_LIMIT;
		size_t i = 0;
		while (err == VEIL_OK && i < held &&
		       memcmp(tokens[i].challenge_digest, digest, TOKEN_DIGEST_SIZE) != 0)
			i++;
		if (err == VEIL_OK && i == held)
			err = VEIL_ERR_LIMIT;
		if (err == VEIL_OK) {
			*taken = tokens[i];
			memmove(&tokens[i], &tokens[i + 1], (held - i - 1) * sizeof(*tokens));
			if ((err = tokens_file_store(path, tokens, held - 1)) != VEIL_OK)
				sodium_memzero(taken, sizeof(*taken));
		}
	} else if (err == VEIL_OK) {
		if (count > VEIL_MAX_TOKENS || held > VEIL_MAX_TOKENS - count)
			err = VEIL_ERR_LIMIT;
		else if ((all = sodium_malloc((held + count + 1) * sizeof(*all))) == NULL)
			err = VEIL_ERR_NOMEM;
		if (err == VEIL_OK) {
			/* Where the added go: at the end, or a token given back
			 * before the first of its challenge (at the end without one). */
			size_t at = what == CHANGE_APPEND ? held : 0;
			while (at < held && memcmp(tokens[at].challenge_digest,
			                           added->challenge_digest, TOKEN_DIGEST_SIZE) != 0)
				at++;
			if (at > 0)
				memcpy(all, tokens, at * sizeof(*all));
			memcpy(all + at, added, count * sizeof(*all));
			if (held > at)
				memcpy(all + at + count, tokens + at, (held - at) * sizeof(*all));
			err = tokens_file_store(path, all, held + count);
		}
	}
	const int saved = errno;
	if (tokens != NULL)
		sodium_free(tokens);
	if (all != NULL)
		sodium_free(all);
	close(lock);
	errno = saved;
	return err;
}

veil_err
tokens_file_take(const char *path, const uint8_t digest[TOKEN_DIGEST_SIZE], token *out)
{
	sodium_memzero(out, sizeof(*out));
	return change_file(path, CHANGE_TAKE, digest, out, NULL, 0);
}

veil_err
tokens_file_give_back(const char *path, const token *t)
{
	return change_file(path, CHANGE_FRONT, NULL, NULL, t, 1);
}

veil_err
tokens_file_append(const char *path, const token *tokens, size_t count)
{
	return change_file(path, CHANGE_APPEND, NULL, NULL, tokens, count);
}

void
tokens_file_describe(const char *path, veil_err err, char *out, size_t size)
{
	snprintf(out, size, "token file %s: %s%s", path, veil_strerror(err),
	         err == VEIL_ERR_NOT_FOUND    ? " (veil tokens fetch makes it)"
	         : err == VEIL_ERR_PERMISSION ? " (make it chmod 600)"
	                                      : "");
}

veil_err
veil_tokens_status(const char *token_file, size_t *count_out, veil_token_group *groups,
                   size_t max_groups, size_t *group_count_out)
{
	if (token_file == NULL || count_out == NULL || group_count_out == NULL ||
	    (groups == NULL && max_groups != 0))
		return VEIL_ERR_ARGUMENT;
	*count_out = 0;
	*group_count_out = 0;
	if (max_groups > 0)
		memset(groups, 0, max_groups * sizeof(*groups));
	token *tokens;
	size_t count;
	veil_err err = tokens_file_load(token_file, &tokens, &count);
	if (err != VEIL_OK)
		return err;
	/* The groups, by first token: a token's group is the first one of
	 * its key and challenge. */
	size_t *first = malloc((count + 1) * sizeof(*first)), group_count = 0;
	if (first == NULL) {
		sodium_free(tokens);
		return VEIL_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		size_t g = 0;
		while (g < group_count &&
		       (memcmp(tokens[first[g]].token_key_id, tokens[i].token_key_id,
		               TOKEN_KEY_ID_SIZE) != 0 ||
		        memcmp(tokens[first[g]].challenge_digest, tokens[i].challenge_digest,
		               TOKEN_DIGEST_SIZE) != 0))
			g++;
		if (g == group_count)
			first[group_count++] = i;
		if (g < max_groups) {
			memcpy(groups[g].token_key_id, tokens[i].token_key_id, TOKEN_KEY_ID_SIZE);
			memcpy(groups[g].challenge_digest, tokens[i].challenge_digest,
			       TOKEN_DIGEST_SIZE);
			groups[g].count++;
		}
	}
	free(first);
	sodium_free(tokens);
	*count_out = count;
	*group_count_out = group_count;
	return VEIL_OK;
}

uint32_t
veil_tokens_fetch_delay(void)
{
	if (sodium_init() < 0)
		abort(); /* no random numbers at all: nothing safe to return */
	return randombytes_uniform(86400);
}

/* ---- fetching ---- */

static _Thread_local char fetch_error[200];

const char *
veil_tokens_last_error(void)
{
	return fetch_error;
}

static void fetch_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fetch_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fetch_error, sizeof(fetch_error), fmt, ap);
	va_end(ap);
}

/* The scratch of one fetch. */
typedef struct fetch {
	const veil_issuer_options *o;
	const char *path;
	client_peer peer;
	const uint8_t *challenge;
	size_t challenge_len;
	buf inner, frame, reply, reply_inner;
	uint32_t retry_after;
} fetch;

/*
 * One TOKEN_ISSUE of n requests, its answer finalized into n tokens and
 * appended to the file. Blinds, nonces and tokens are in guarded memory,
 * wiped on the way out.
 */
static veil_err
fetch_batch(fetch *f, size_t n)
{
	const uint8_t *pk = f->o->token_keys[0].public_key;
	uint8_t *secrets = sodium_malloc(n * (TOKEN_NONCE_SIZE + TOKEN_SCALAR_SIZE));
	token *tokens = sodium_malloc(n * sizeof(*tokens));
	token_request *requests = malloc(n * sizeof(*requests));
	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	veil_err err = VEIL_ERR_NOMEM;
	if (secrets == NULL || tokens == NULL || requests == NULL) {
		fetch_fail("%s", "out of memory");
		goto out;
	}
	uint8_t *nonces = secrets, *blinds = secrets + n * TOKEN_NONCE_SIZE;
	for (size_t i = 0; i < n; i++) {
		err = token_client_request(pk, f->challenge, f->challenge_len, NULL, NULL,
		                           nonces + i * TOKEN_NONCE_SIZE,
		                           blinds + i * TOKEN_SCALAR_SIZE, &requests[i]);
		if (err != VEIL_OK) {
			fetch_fail("cannot make a token request: %s", veil_strerror(err));
			goto out;
		}
	}
	randombytes_buf(request_id, sizeof(request_id));
	buf_reset(&f->inner);
	proto_encode_token_issue(&f->inner, request_id, (uint16_t)n, requests);
	if ((err = buf_error(&f->inner)) != VEIL_OK) {
		fetch_fail("%s", "out of memory");
		goto out;
	}
	proto_msg msg;
	client_outcome outcome;
	const double deadline = clock_monotonic_seconds() + FETCH_DEADLINE_MS / 1000.0;
	unsigned tries = 0;
	/* BUSY: the issuer did not look at the request; the same one again. */
	while ((err = client_exchange(&f->peer, &f->inner, request_id, &f->frame, &f->reply,
	                              &f->reply_inner, &msg, &outcome)) == VEIL_ERR_BUSY &&
	       client_backoff(deadline, &tries) == 0)
		;
	if (err == VEIL_ERR_BUSY)
		fetch_fail("issuer busy; gave up after %d ms of retries", FETCH_DEADLINE_MS);
	if (err == VEIL_ERR_UNSUPPORTED) {
		switch (outcome.status) {
		case PROTO_STATUS_RATE_LIMITED:
			f->retry_after = outcome.retry_after;
			fetch_fail("the issuer's ration for this client is used up; enough tokens "
			           "return in %u s",
			           (unsigned)outcome.retry_after);
			err = VEIL_ERR_LIMIT;
			break;
		case PROTO_STATUS_UNAUTHORIZED:
			fetch_fail("%s",
			           "the issuer does not know this client key (enrol it there: "
			           "veil-admin client add)");
			err = VEIL_ERR_PERMISSION;
			break;
		case PROTO_STATUS_KEY_UNKNOWN:
			fetch_fail("%s",
			           "issuer key rotated? pin what veil-admin issuer info prints "
			           "now");
			break;
		default:
			break; /* the exchange's message: "server refused the request: ..." */
		}
	}
	if (err != VEIL_OK)
		goto out;
	const proto_token_issue_reply *r = &msg.u.token_issue_reply;
	if (msg.type != PROTO_MSG_TOKEN_ISSUE_REPLY || r->count != n) {
		fetch_fail("%s", "the issuer's answer does not match the request");
		err = VEIL_ERR_PARSE;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		token_response response;
		if (token_response_decode(r->responses + i * TOKEN_RESPONSE_SIZE,
		                          TOKEN_RESPONSE_SIZE, &response) != VEIL_OK) {
			fetch_fail("%s", "malformed token response");
			err = VEIL_ERR_PARSE;
			goto out;
		}
		err = token_client_finalize(pk, f->challenge, f->challenge_len,
		                            nonces + i * TOKEN_NONCE_SIZE,
		                            blinds + i * TOKEN_SCALAR_SIZE, &response, &tokens[i]);
		if (err == VEIL_ERR_VERIFY || err == VEIL_ERR_ELEMENT) {
			fetch_fail("%s",
			           err == VEIL_ERR_VERIFY
			                   ? "the issuer's proof does not hold for the pinned "
			                     "token key"
			                   : "the issuer sent an invalid element (or the pinned "
			                     "token key is no P-384 point)");
			err = err == VEIL_ERR_VERIFY ? VEIL_ERR_VERIFY : VEIL_ERR_PARSE;
			goto out;
		}
		if (err != VEIL_OK) {
			fetch_fail("cannot finalize a token: %s", veil_strerror(err));
			goto out;
		}
	}
	if ((err = tokens_file_append(f->path, tokens, n)) != VEIL_OK)
		tokens_file_describe(f->path, err, fetch_error, sizeof(fetch_error));
out:
	if (secrets != NULL)
		sodium_free(secrets);
	if (tokens != NULL)
		sodium_free(tokens);
	if (requests != NULL)
		sodium_memzero(requests, n * sizeof(*requests));
	free(requests);
	return err;
}

veil_err
veil_tokens_fetch(const veil_issuer_options *o, const char *origin, const char *token_file,
                  size_t count, size_t *fetched, uint32_t *retry_after)
{
	fetch_error[0] = '\0';
	if (fetched != NULL)
		*fetched = 0;
	if (retry_after != NULL)
		*retry_after = 0;
	if (o == NULL || o->issuer_url == NULL || o->client_secret == NULL || token_file == NULL ||
	    o->timeout_ms < 0 || o->token_key_count == 0 ||
	    o->token_key_count > VEIL_MAX_TOKEN_KEYS || count == 0 || count > VEIL_MAX_TOKENS ||
	    !token_name_valid(o->issuer_name) || !token_name_valid(origin)) {
		fetch_fail("%s", "invalid arguments");
		return VEIL_ERR_ARGUMENT;
	}
	if (veil_crypto_init() != VEIL_OK || token_suite() == NULL) {
		fetch_fail("%s", "the crypto library failed to start");
		return VEIL_ERR_CRYPTO;
	}
	/* The file first: one that cannot take the tokens costs none. */
	token *held_tokens;
	size_t held = 0;
	veil_err err = tokens_file_load(token_file, &held_tokens, &held);
	if (err == VEIL_OK)
		sodium_free(held_tokens);
	else if (err != VEIL_ERR_NOT_FOUND) {
		tokens_file_describe(token_file, err, fetch_error, sizeof(fetch_error));
		return err;
	}
	if (held > VEIL_MAX_TOKENS - count) {
		fetch_fail("token file %s holds %zu tokens: no room for %zu more (at most %d)",
		           token_file, held, count, VEIL_MAX_TOKENS);
		return VEIL_ERR_LIMIT;
	}

	fetch f;
	memset(&f, 0, sizeof(f));
	f.o = o;
	f.path = token_file;
	buf challenge;
	buf_init(&challenge);
	buf_init(&f.inner);
	buf_init(&f.frame);
	buf_init(&f.reply);
	buf_init(&f.reply_inner);
	uint8_t client_public[VEIL_KEY_SIZE];
	uint8_t *keys = sodium_malloc(VEIL_KEY_SIZE + ENVELOPE_KEY_SIZE); /* secret, identity */
	transport_client *transport = NULL;
	err = VEIL_ERR_NOMEM;
	if (keys == NULL || token_challenge_of(o->issuer_name, origin, &challenge) != VEIL_OK) {
		fetch_fail("%s", "out of memory");
		goto out;
	}
	memcpy(keys, o->client_secret, VEIL_KEY_SIZE);
	if ((err = veil_client_public_key(keys, client_public)) != VEIL_OK ||
	    (err = envelope_identity_key(o->issuer_key, keys, keys + VEIL_KEY_SIZE)) != VEIL_OK) {
		fetch_fail("%s", "the pinned issuer key is not a usable X25519 key");
		goto out;
	}
	err = transport_client_open(o->issuer_url,
	                            o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
	                            PROTO_MAX_REPLY_SIZE, &transport);
	if (err != VEIL_OK) {
		fetch_fail("issuer URL %s: %s", o->issuer_url, transport_strerror());
		goto out;
	}
	f.peer = (client_peer){
	        .transport = transport,
	        .url = o->issuer_url,
	        .server_key = o->issuer_key,
	        .client_public = client_public,
	        .identity = keys + VEIL_KEY_SIZE,
	        .error = fetch_error,
	        .error_size = sizeof(fetch_error),
	};
	f.challenge = (const uint8_t *)buf_data(&challenge);
	f.challenge_len = buf_len(&challenge);
	for (size_t done = 0; done < count;) {
		const size_t n =
		        count - done < PROTO_MAX_TOKEN_BATCH ? count - done : PROTO_MAX_TOKEN_BATCH;
		if ((err = fetch_batch(&f, n)) != VEIL_OK)
			break;
		done += n;
		if (fetched != NULL)
			*fetched = done;
	}
	if (retry_after != NULL)
		*retry_after = f.retry_after;
out:
	transport_client_close(transport);
	if (keys != NULL)
		sodium_free(keys);
	buf_free(&challenge);
	buf_free(&f.inner);
	buf_free(&f.frame);
	buf_free(&f.reply);
	buf_free(&f.reply_inner);
	if (err == VEIL_OK)
		fetch_error[0] = '\0';
	return err;
}
