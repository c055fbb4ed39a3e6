/*
 * Inside libveil-client: the token file (its format is in veil_client.h)
 * and the challenge of a tokens-mode server. Tokens live in guarded
 * memory (sodium_malloc) while held: free them with sodium_free, which
 * wipes. The changing functions lock PATH.lock (flock) around their
 * read and rewrite.
 */
#ifndef VEIL_CLIENT_TOKENS_H
#define VEIL_CLIENT_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "token.h"

/* The first line of a token file. */
#define TOKENS_FILE_HEADER "veil-tokens-v1\n"

/* 1 when name is 1 to 255 bytes of printable ASCII without spaces (an
 * issuer or origin name), NUL-terminated within VEIL_TOKEN_NAME_SIZE. */
int tokens_name_valid(const char *name, size_t size);

/* Appends the TokenChallenge of issuer and origin (type 0x0001, empty
 * redemption context) to out. Errors: VEIL_ERR_ARGUMENT (not names),
 * VEIL_ERR_NOMEM. */
veil_err tokens_challenge(const char *issuer, const char *origin, buf *out)
        __attribute__((warn_unused_result));

/*
 * Parses the len bytes at text as a token file into *tokens_out (guarded,
 * count + 1 tokens of room; the caller sodium_frees it) and *count_out.
 * Errors: VEIL_ERR_CORRUPT (not a token file), VEIL_ERR_NOMEM; the
 * outputs are NULL and 0 then.
 */
veil_err tokens_parse(const char *text, size_t len, token **tokens_out, size_t *count_out)
        __attribute__((warn_unused_result));

/*
 * Reads path's tokens as tokens_parse() does. Errors: VEIL_ERR_NOT_FOUND
 * (no file), VEIL_ERR_PERMISSION (not a regular file, or group or
 * others may read or write it), VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM.
 */
veil_err tokens_file_load(const char *path, token **tokens_out, size_t *count_out)
        __attribute__((warn_unused_result));

/*
 * Replaces path with a token file of count tokens: PATH.tmp (0600)
 * written, fsynced, renamed over path, the directory fsynced. Errors:
 * VEIL_ERR_SYSTEM (errno says why; path is then as it was),
 * VEIL_ERR_NOMEM.
 */
veil_err tokens_file_store(const char *path, const token *tokens, size_t count)
        __attribute__((warn_unused_result));

/* The tokens of path whose challenge_digest is digest (a missing file
 * holds none): errors as tokens_file_load's but VEIL_ERR_NOT_FOUND. */
veil_err tokens_file_count(const char *path, const uint8_t digest[TOKEN_DIGEST_SIZE],
                           size_t *count_out) __attribute__((warn_unused_result));

/*
 * Takes the oldest token of path whose challenge_digest is digest out of
 * it: the file is rewritten without it before this returns, so the
 * token is never handed out twice. Errors: VEIL_ERR_LIMIT (no such
 * token, or no file), those of tokens_file_load and tokens_file_store;
 * *out is zeroed on error.
 */
veil_err tokens_file_take(const char *path, const uint8_t digest[TOKEN_DIGEST_SIZE], token *out)
        __attribute__((warn_unused_result));

/* Puts a token taken but never shown to a server back in front of
 * path's tokens. Errors: those of tokens_file_load (a missing file is
 * made) and tokens_file_store; VEIL_ERR_LIMIT when it is full. */
veil_err tokens_file_give_back(const char *path, const token *t)
        __attribute__((warn_unused_result));

/* Appends count tokens to path (made when missing). Errors: those of
 * tokens_file_load but VEIL_ERR_NOT_FOUND, and of tokens_file_store;
 * VEIL_ERR_LIMIT when the file would hold more than VEIL_MAX_TOKENS. */
veil_err tokens_file_append(const char *path, const token *tokens, size_t count)
        __attribute__((warn_unused_result));

#endif
