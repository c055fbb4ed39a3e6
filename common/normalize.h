/*
 * Handle normalization: one code path for the registry import (server)
 * and the lookup (client), so that the same contact always becomes the
 * same OPRF input.
 *
 * A handle comes out typed, so that a phone number and an email address
 * never collide:
 *
 *   "(415) 555-0100" (region US), "+1 415-555-0100", "415.555.0100"
 *   (region US), "tel:+1-415-555-0100"        ->  "tel:+14155550100"
 *   " Ann@Example.ORG "                       ->  "mailto:ann@example.org"
 *
 * What is accepted, in order:
 *
 *   1. At most NORMALIZE_MAX_INPUT bytes (longer input is refused before
 *      anything looks at it), valid UTF-8 (no overlong forms, surrogates or
 *      code points above U+10FFFF) holding no NUL byte.
 *   2. Leading and trailing white space is trimmed: every Unicode
 *      White_Space character, plus the invisible characters that contact
 *      apps leave around numbers (U+200B, U+200E, U+200F, U+202A..U+202E,
 *      U+2060, U+2066..U+2069, U+FEFF). Nothing left: NORMALIZE_EMPTY.
 *   3. The kind is decided by content: a "mailto:" prefix means an email,
 *      a "tel:" prefix a phone number (both prefixes case-insensitive);
 *      without a prefix, text holding an '@' is an email, anything else a
 *      phone number.
 *   4. Phone numbers go to libphonenumber (PhoneNumberUtil::Parse), which
 *      accepts spaces, dots, dashes, parentheses, full-width digits,
 *      letters on the keypad (1-800-FLOWERS), RFC 3966 tel: URIs with
 *      ";phone-context=", and international dialing prefixes that belong
 *      to the default region (011 from US, 00 from GB). Bidirectional
 *      formatting marks inside the text are dropped first. The number must
 *      then pass IsValidNumber (a number plan range in use, for any
 *      region), and is written in E.164. An extension ("x12", "ext. 12",
 *      ";ext=12") is dropped: E.164 has none, and the account a messenger
 *      knows is the line itself.
 *   5. Email addresses, after the prefix: at most NORMALIZE_MAX_EMAIL bytes
 *      (NORMALIZE_TOO_LONG), exactly one '@', a local part of 1 to 64
 *      bytes made of RFC 5322 atext characters and dots, and a domain of
 *      labels of 1 to 63 bytes made of letters, digits and inner hyphens,
 *      separated by single dots. No leading, trailing or doubled dot in
 *      either part. The domain must hold at least one dot: dotless
 *      domains do not receive mail on the public internet, and an address
 *      without one in a contact book is almost always a typo. Quoted local
 *      parts and address literals ([192.0.2.1]) are refused. Non-ASCII
 *      UTF-8 (RFC 6531 addresses, IDN labels) is allowed in both parts and
 *      kept as it is, byte for byte (no Unicode case folding or NFC), but
 *      no white space, invisible character or control character is.
 *      ASCII letters are lowercased in both parts: the local part is case
 *      sensitive by the letter of RFC 5321, but no mail system in use
 *      treats it so, and matching must not depend on how a user typed it.
 *      A "mailto:" URI is taken as it is: no percent-decoding, and any
 *      "?query" makes the address invalid.
 *
 * The output of a successful call is its own normal form: normalizing it
 * again, with any region, gives the same bytes.
 *
 * Thread safety: normalize_handle() and normalize_region_valid() keep no
 * state of their own and may be called from any number of threads at once.
 * They use libphonenumber's PhoneNumberUtil singleton, which is created
 * once under pthread_once and is safe for concurrent use.
 *
 * No C++ exception crosses this interface: anything libphonenumber or the
 * C++ library throws becomes NORMALIZE_INTERNAL.
 */
#ifndef VEIL_COMMON_NORMALIZE_H
#define VEIL_COMMON_NORMALIZE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Input longer than this many bytes is refused without being parsed. */
#define NORMALIZE_MAX_INPUT  1024
/* libphonenumber's own cap on the text of one phone number, in bytes. */
#define NORMALIZE_MAX_PHONE  250
/* Bytes of an email address, without "mailto:" (RFC 5321 path limit). */
#define NORMALIZE_MAX_EMAIL  254
/*
 * Bytes the output buffer must hold. Every handle, with its NUL, fits:
 * "mailto:" plus NORMALIZE_MAX_EMAIL plus one is 262, "tel:+" plus at
 * most 15 digits plus one is 21.
 */
#define NORMALIZE_MAX_HANDLE 320

typedef enum normalize_status {
	NORMALIZE_OK = 0,
	/* The caller broke the contract (NULL output, small buffer). */
	NORMALIZE_ARGUMENT,
	/* Nothing but white space, or a bare "tel:" or "mailto:". */
	NORMALIZE_EMPTY,
	/* Above NORMALIZE_MAX_INPUT, NORMALIZE_MAX_PHONE or an email cap. */
	NORMALIZE_TOO_LONG,
	/* A NUL byte, or bytes that are not valid UTF-8. */
	NORMALIZE_BAD_ENCODING,
	/* The default region is not one libphonenumber knows. */
	NORMALIZE_BAD_REGION,
	/* Not a phone number at all ("call me maybe"). */
	NORMALIZE_NOT_A_NUMBER,
	/* Shaped like a number, but not a valid one ("+1 555", "+999 1"). */
	NORMALIZE_INVALID_NUMBER,
	/* A national number ("415 555 0100") with no default region. */
	NORMALIZE_NEEDS_REGION,
	/* Meant as an email address, but not a valid one. */
	NORMALIZE_BAD_EMAIL,
	/* libphonenumber or the C++ library failed (out of memory). */
	NORMALIZE_INTERNAL,
} normalize_status;

/*
 * A short, fixed English reason for s, fit for {"error": "..."} in the
 * CLI. It never echoes the input. Never NULL; unknown values give
 * "unknown error". The string is static and must not be freed.
 */
const char *normalize_strerror(normalize_status s);

/*
 * Whether region names a region libphonenumber can parse national numbers
 * for: two ASCII letters, in either case ("US", "gb"). Returns 1 if so, 0
 * otherwise, including for NULL, "", "ZZ" (unknown) and "001"
 * (non-geographic entities, which have no national form).
 */
int normalize_region_valid(const char *region);

/*
 * Normalizes the len bytes at text (need not be NUL-terminated; may be
 * NULL when len is 0) into a typed handle, as described above.
 *
 * default_region is the region national numbers are read in, as for
 * normalize_region_valid(); NULL or "" means none, and then only numbers
 * in international form ("+44 20 7946 0018") parse.
 *
 * out must hold out_cap >= NORMALIZE_MAX_HANDLE bytes. On entry out is set
 * to "" and *out_len (when out_len is not NULL) to 0. On NORMALIZE_OK, out
 * holds the handle, NUL-terminated, and *out_len its length without the
 * NUL. On any other status they stay "" and 0.
 *
 * Returns NORMALIZE_OK, or:
 *   NORMALIZE_ARGUMENT        out is NULL, out_cap < NORMALIZE_MAX_HANDLE,
 *                             or text is NULL with len > 0;
 *   NORMALIZE_TOO_LONG        len > NORMALIZE_MAX_INPUT; a phone number
 *                             longer than NORMALIZE_MAX_PHONE bytes; an
 *                             email longer than NORMALIZE_MAX_EMAIL bytes,
 *                             or with a local part above 64 bytes;
 *   NORMALIZE_BAD_REGION      default_region is set but not valid (checked
 *                             for every input, emails too, so that a bad
 *                             setting shows at once);
 *   NORMALIZE_BAD_ENCODING    a NUL byte or invalid UTF-8;
 *   NORMALIZE_EMPTY           nothing after trimming and the prefix;
 *   NORMALIZE_NOT_A_NUMBER    a phone text libphonenumber sees no number in;
 *   NORMALIZE_INVALID_NUMBER  a number that is too short, too long, in an
 *                             unknown country code, or not valid;
 *   NORMALIZE_NEEDS_REGION    a number not in international form, with no
 *                             default region;
 *   NORMALIZE_BAD_EMAIL       an email that breaks a rule above;
 *   NORMALIZE_INTERNAL        an exception inside libphonenumber or the C++
 *                             library (out of memory).
 */
normalize_status normalize_handle(const char *text, size_t len, const char *default_region,
                                  char *out, size_t out_cap, size_t *out_len)
        __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif
