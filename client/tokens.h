/*
 * Inside libveil-client: the token file (its format is in veil_client.h;
 * a token's challenge is common/token.h's token_challenge_of()). Tokens
 * live in guarded memory (sodium_malloc) while held: free them with
 * sodium_free, which wipes. The changing functions lock PATH.lock (flock)
 * around their read and rewrite, and replace the file whole: PATH.tmp
 * (0600) written, fsynced, renamed over PATH, the directory fsynced.
 */
#ifndef VEIL_CLIENT_TOKENS_H
#define VEIL_CLIENT_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "token.h"

/* The first line of a token file. */
#define TOKENS_FILE_HEADER "veil-tokens-v1\n"

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
 * Takes the oldest token of path whose challenge_digest is digest out of
 * it: the file is rewritten without it before this returns, so the
 * token is never handed out twice. Errors: VEIL_ERR_LIMIT (no such
 * token, or no file), those of tokens_file_load but VEIL_ERR_NOT_FOUND,
 * and VEIL_ERR_SYSTEM (the lock or the rewrite failed: errno says why;
 * the file is then as it was); *out is zeroed on error.
 */
veil_err tokens_file_take(const char *path, const uint8_t digest[TOKEN_DIGEST_SIZE], token *out)
        __attribute__((warn_unused_result));

/*
 * Puts a token taken but never sent back into path, in front of the
 * tokens of its challenge (at the end when there are none), so that it
 * is the next one taken. Errors: those of tokens_file_take but
 * VEIL_ERR_LIMIT for no file (a missing one is made); VEIL_ERR_LIMIT
 * when it is full.
 */
veil_err tokens_file_give_back(const char *path, const token *t)
        __attribute__((warn_unused_result));

/* Appends count tokens to path (made when missing). Errors: those of
 * tokens_file_give_back; VEIL_ERR_LIMIT when the file would hold more
 * than VEIL_MAX_TOKENS. */
veil_err tokens_file_append(const char *path, const token *tokens, size_t count)
        __attribute__((warn_unused_result));

/*
 * What err, returned by a function of this file or veil_tokens_status()
 * for the token file path, means, as one line into out (size bytes, NUL-
 * terminated, cut short to fit): "token file PATH: " and
 * veil_strerror(err), with the remedy for VEIL_ERR_NOT_FOUND (veil tokens
 * fetch makes it) and VEIL_ERR_PERMISSION (chmod 600).
 */
void tokens_file_describe(const char *path, veil_err err, char *out, size_t size);

#endif
