/*
 * veil error codes: the values every function of libveil-client returns,
 * and veil_strerror(). Installed as <veil/veil_error.h>; included by
 * <veil/veil_client.h>, which is the header an app includes.
 *
 * VEIL_OK is zero so that `if (err != VEIL_OK)` and `if (err)` read the
 * same. Messages are fixed literals: no code path formats a secret, a
 * handle or an element into one. What a peer is told travels as the
 * smaller set of wire status codes of the protocol (proto/PROTOCOL.md in
 * the source tree).
 */
#ifndef VEIL_VEIL_ERROR_H
#define VEIL_VEIL_ERROR_H

/*
 * Marks the functions libveil-client exports. The shared library is built
 * with hidden visibility and a version script listing these functions, so
 * nothing else of it (its internal modules, the static code it links)
 * can be called or interposed from outside.
 */
#if defined(__GNUC__) || defined(__clang__)
#define VEIL_EXPORT __attribute__((visibility("default")))
#else
#define VEIL_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum veil_err {
	VEIL_OK = 0,
	/* An argument broke the function's contract (NULL buffer, bad size). */
	VEIL_ERR_ARGUMENT,
	/* Memory could not be allocated or locked. */
	VEIL_ERR_NOMEM,
	/* The suite or mode is not one this build serves. */
	VEIL_ERR_UNSUPPORTED,
	/* A group element is not a canonical encoding of a non-identity point. */
	VEIL_ERR_ELEMENT,
	/* A scalar is zero where it may not be, or not below the group order. */
	VEIL_ERR_SCALAR,
	/* RFC 9497 InvalidInputError: an input hashes to the identity. */
	VEIL_ERR_INVALID_INPUT,
	/* RFC 9497 DeriveKeyPairError: no non-zero key within 256 tries. */
	VEIL_ERR_DERIVE_KEY_PAIR,
	/* RFC 9497 InverseError: the POPRF tweaked key is zero. */
	VEIL_ERR_INVERSE,
	/* RFC 9497 VerifyError: a proof does not verify. */
	VEIL_ERR_VERIFY,
	/* A size limit was exceeded (batch, input, DST, output length). */
	VEIL_ERR_LIMIT,
	/* Bytes could not be parsed (truncated, trailing, malformed). */
	VEIL_ERR_PARSE,
	/* An operating system call failed. */
	VEIL_ERR_SYSTEM,
	/* The crypto library reported an internal failure. */
	VEIL_ERR_CRYPTO,
	/* No answer within the deadline. */
	VEIL_ERR_TIMEOUT,
	/* The transport (socket, connection) failed. */
	VEIL_ERR_TRANSPORT,
	/* A file or record that must not exist already does. */
	VEIL_ERR_EXISTS,
	/* A file or record that must exist does not. */
	VEIL_ERR_NOT_FOUND,
	/* A secret file is readable by others than its owner. */
	VEIL_ERR_PERMISSION,
	/* A stored file or database is damaged or of an unknown format. */
	VEIL_ERR_CORRUPT,
	/* The peer is overloaded and asked to be tried again later. */
	VEIL_ERR_BUSY,
} veil_err;

/*
 * A fixed, human-readable description of err. Never NULL; unknown values
 * give "unknown error". The string is static and must not be freed.
 */
VEIL_EXPORT const char *veil_strerror(veil_err err);

#ifdef __cplusplus
}
#endif

#endif
