/*
 * Handle normalization (see normalize.h). C++ only because libphonenumber
 * is: the interface is C, and no exception leaves it.
 */
#include "normalize.h"
#include "utf8.h"

#include <cstdint>
#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

#define TEL_PREFIX        "tel:"
#define TEL_PREFIX_LEN    4
#define MAILTO_PREFIX     "mailto:"
#define MAILTO_PREFIX_LEN 7
#define EMAIL_MAX_LOCAL   64 /* RFC 5321 4.5.3.1.1 */
#define EMAIL_MAX_LABEL   63 /* RFC 1035 2.3.4 */
#define E164_MAX_DIGITS   15

/* A region with no national form: libphonenumber's "unknown region". */
#define REGION_NONE  "ZZ"
/*
 * Any region with an international dialing prefix serves to tell "needs a
 * region" from "bad country code" (see phone_parse_status()).
 */
#define REGION_PROBE "US"

/* Bidirectional formatting marks, which contact apps put around numbers. */
static bool
is_bidi_mark(uint32_t cp)
{
	return cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Unicode White_Space, plus the invisible characters trimmed with it. */
static bool
is_space_or_invisible(uint32_t cp)
{
	switch (cp) {
	case 0x09:
	case 0x0a:
	case 0x0b:
	case 0x0c:
	case 0x0d:
	case 0x20:
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
	case 0x200b: /* zero width space */
	case 0x2060: /* word joiner */
	case 0xfeff: /* byte order mark, zero width no-break space */
		return true;
	}
	return (cp >= 0x2000 && cp <= 0x200a) || is_bidi_mark(cp);
}

/* C0 and C1 control characters and DEL. */
static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * Checks that text is valid UTF-8 without NUL, and finds the part left
 * after trimming: [*start, *end). Returns false on bad encoding.
 */
static bool
utf8_check_and_trim(const unsigned char *text, size_t len, size_t *start, size_t *end)
{
	bool seen_content = false;
	*start = 0;
	*end = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(text + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		if (!is_space_or_invisible(cp)) {
			if (!seen_content)
				*start = i;
			seen_content = true;
			*end = i + n;
		}
		i += n;
	}
	return true;
}

static bool
has_prefix_nocase(const char *s, size_t len, const char *prefix, size_t prefix_len)
{
	if (len < prefix_len)
		return false;
	for (size_t i = 0; i < prefix_len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != prefix[i])
			return false;
	}
	return true;
}

static bool
is_ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5322 atext, ASCII part. */
static bool
is_atext(unsigned char c)
{
	return is_ascii_alnum(c) || (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

typedef enum region_kind { REGION_IS_NONE, REGION_IS_VALID, REGION_IS_BAD } region_kind;

/*
 * Reads region (NULL or "" means none) into canonical[3], upper case.
 * GetCountryCodeForRegion() gives 0 for a region libphonenumber has no
 * metadata for; it is a lookup in a map built with the singleton, cheap
 * enough for every call.
 */
static region_kind
region_canonical(const char *region, char canonical[3])
{
	canonical[0] = '\0';
	if (region == NULL || region[0] == '\0')
		return REGION_IS_NONE;
	for (size_t i = 0; i < 2; i++) {
		char c = region[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return REGION_IS_BAD;
		canonical[i] = c;
	}
	canonical[2] = '\0';
	if (region[2] != '\0' ||
	    PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(canonical) == 0) {
		canonical[0] = '\0';
		return REGION_IS_BAD;
	}
	return REGION_IS_VALID;
}

/* Whether cp may appear in an email address, beyond the ASCII rules. */
static bool
email_non_ascii_allowed(uint32_t cp)
{
	return !is_control(cp) && !is_space_or_invisible(cp);
}

/*
 * Checks one part of an address: the local part (domain false) or the
 * domain (domain true), [s, s + len), already valid UTF-8. Dots separate
 * non-empty pieces; in the domain, pieces (labels) are at most
 * EMAIL_MAX_LABEL bytes and neither start nor end with '-'.
 */
static bool
email_part_valid(const unsigned char *s, size_t len, bool domain)
{
	size_t piece_start = 0;
	if (len == 0)
		return false;
	for (size_t i = 0; i <= len;) {
		if (i == len || s[i] == '.') {
			size_t piece_len = i - piece_start;
			if (piece_len == 0)
				return false;
			if (domain && (piece_len > EMAIL_MAX_LABEL || s[piece_start] == '-' ||
			               s[i - 1] == '-'))
				return false;
			if (i == len)
				break;
			i++;
			piece_start = i;
			continue;
		}
		if (s[i] < 0x80) {
			bool ok = domain ? is_ascii_alnum(s[i]) || s[i] == '-' : is_atext(s[i]);
			if (!ok)
				return false;
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || !email_non_ascii_allowed(cp))
			return false;
		i += n;
	}
	return true;
}

static normalize_status
normalize_email(const char *addr, size_t len, char *out, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)addr;
	if (len == 0)
		return NORMALIZE_EMPTY;
	if (len > NORMALIZE_MAX_EMAIL)
		return NORMALIZE_TOO_LONG;

	const char *at = static_cast<const char *>(std::memchr(addr, '@', len));
	if (at == NULL || std::memchr(at + 1, '@', len - (size_t)(at - addr) - 1) != NULL)
		return NORMALIZE_BAD_EMAIL;
	size_t local_len = (size_t)(at - addr);
	size_t domain_len = len - local_len - 1;
	if (local_len > EMAIL_MAX_LOCAL)
		return NORMALIZE_TOO_LONG;
	if (!email_part_valid(s, local_len, false) ||
	    !email_part_valid(s + local_len + 1, domain_len, true) ||
	    std::memchr(at + 1, '.', domain_len) == NULL)
		return NORMALIZE_BAD_EMAIL;

	std::memcpy(out, MAILTO_PREFIX, MAILTO_PREFIX_LEN);
	for (size_t i = 0; i < len; i++) {
		char c = addr[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[MAILTO_PREFIX_LEN + i] = c;
	}
	out[MAILTO_PREFIX_LEN + len] = '\0';
	*out_len = MAILTO_PREFIX_LEN + len;
	return NORMALIZE_OK;
}

/* The status for a libphonenumber parse error. */
static normalize_status
phone_parse_status(PhoneNumberUtil::ErrorType error, const std::string &text, bool have_region)
{
	switch (error) {
	case PhoneNumberUtil::NO_PARSING_ERROR:
		return NORMALIZE_OK;
	case PhoneNumberUtil::NOT_A_NUMBER:
		return NORMALIZE_NOT_A_NUMBER;
	case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
		if (!have_region) {
			/*
			 * Without a region, a national number fails the same way as
			 * "+999 ...". If some region reads it, a region is what it
			 * needs; else its country code is bad.
			 */
			PhoneNumber probe;
			if (PhoneNumberUtil::GetInstance()->Parse(text, REGION_PROBE, &probe) !=
			    PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR)
				return NORMALIZE_NEEDS_REGION;
		}
		return NORMALIZE_INVALID_NUMBER;
	case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
	case PhoneNumberUtil::TOO_SHORT_NSN:
	case PhoneNumberUtil::TOO_LONG_NSN:
		return NORMALIZE_INVALID_NUMBER;
	}
	return NORMALIZE_INVALID_NUMBER;
}

static normalize_status
normalize_phone(const char *text, size_t len, const char *region, char *out, size_t *out_len)
{
	if (len == 0)
		return NORMALIZE_EMPTY;
	if (len > NORMALIZE_MAX_PHONE)
		return NORMALIZE_TOO_LONG;

	std::string phone;
	phone.reserve(len);
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return NORMALIZE_BAD_ENCODING; /* checked before; cannot happen */
		if (!is_bidi_mark(cp))
			phone.append(text + i, n);
		i += n;
	}

	const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
	bool have_region = region[0] != '\0';
	PhoneNumber number;
	PhoneNumberUtil::ErrorType error =
	        util->Parse(phone, have_region ? region : REGION_NONE, &number);
	normalize_status status = phone_parse_status(error, phone, have_region);
	if (status != NORMALIZE_OK)
		return status;
	if (!util->IsValidNumber(number))
		return NORMALIZE_INVALID_NUMBER;

	/* E.164 has no extension: Format() leaves it out. */
	std::string e164;
	util->Format(number, PhoneNumberUtil::E164, &e164);
	/* A valid number is "+" and at most 15 digits; make sure. */
	if (e164.size() < 2 || e164.size() > 1 + E164_MAX_DIGITS || e164[0] != '+' ||
	    e164.find_first_not_of("0123456789", 1) != std::string::npos)
		return NORMALIZE_INVALID_NUMBER;

	std::memcpy(out, TEL_PREFIX, TEL_PREFIX_LEN);
	std::memcpy(out + TEL_PREFIX_LEN, e164.data(), e164.size());
	out[TEL_PREFIX_LEN + e164.size()] = '\0';
	*out_len = TEL_PREFIX_LEN + e164.size();
	return NORMALIZE_OK;
}

static normalize_status
normalize_checked(const char *text, size_t len, const char *default_region, char *out,
                  size_t *out_len)
{
	char region[3];
	if (len > NORMALIZE_MAX_INPUT)
		return NORMALIZE_TOO_LONG;
	if (region_canonical(default_region, region) == REGION_IS_BAD)
		return NORMALIZE_BAD_REGION;

	size_t start, end;
	if (!utf8_check_and_trim((const unsigned char *)text, len, &start, &end))
		return NORMALIZE_BAD_ENCODING;
	const char *s = text + start;
	size_t n = end - start;
	if (n == 0)
		return NORMALIZE_EMPTY;

	if (has_prefix_nocase(s, n, MAILTO_PREFIX, MAILTO_PREFIX_LEN))
		return normalize_email(s + MAILTO_PREFIX_LEN, n - MAILTO_PREFIX_LEN, out, out_len);
	if (has_prefix_nocase(s, n, TEL_PREFIX, TEL_PREFIX_LEN))
		return normalize_phone(s + TEL_PREFIX_LEN, n - TEL_PREFIX_LEN, region, out,
		                       out_len);
	if (std::memchr(s, '@', n) != NULL)
		return normalize_email(s, n, out, out_len);
	return normalize_phone(s, n, region, out, out_len);
}

extern "C" const char *
normalize_strerror(normalize_status s)
{
	/*
	 * A C caller may pass any int. In C++ an enum value outside the range
	 * of its enumerators is undefined, so the switch reads the bytes.
	 */
	int code;
	static_assert(sizeof(code) == sizeof(s), "normalize_status is an int");
	std::memcpy(&code, &s, sizeof(code));
	switch (code) {
	case NORMALIZE_OK:
		return "ok";
	case NORMALIZE_ARGUMENT:
		return "invalid argument";
	case NORMALIZE_EMPTY:
		return "empty handle";
	case NORMALIZE_TOO_LONG:
		return "handle too long";
	case NORMALIZE_BAD_ENCODING:
		return "not valid UTF-8 text";
	case NORMALIZE_BAD_REGION:
		return "unknown region code";
	case NORMALIZE_NOT_A_NUMBER:
		return "not a phone number";
	case NORMALIZE_INVALID_NUMBER:
		return "not a valid phone number";
	case NORMALIZE_NEEDS_REGION:
		return "national number needs a default region";
	case NORMALIZE_BAD_EMAIL:
		return "not a valid email address";
	case NORMALIZE_INTERNAL:
		return "internal error";
	}
	return "unknown error";
}

extern "C" int
normalize_region_valid(const char *region)
{
	try {
		char canonical[3];
		return region_canonical(region, canonical) == REGION_IS_VALID;
	} catch (...) {
		return 0;
	}
}

extern "C" normalize_status
normalize_handle(const char *text, size_t len, const char *default_region, char *out,
                 size_t out_cap, size_t *out_len)
{
	size_t written = 0;
	normalize_status status;

	if (out != NULL && out_cap > 0)
		out[0] = '\0';
	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_cap < NORMALIZE_MAX_HANDLE || (text == NULL && len > 0))
		return NORMALIZE_ARGUMENT;
	if (text == NULL)
		text = "";

	try {
		status = normalize_checked(text, len, default_region, out, &written);
	} catch (...) {
		status = NORMALIZE_INTERNAL;
	}
	if (status != NORMALIZE_OK) {
		out[0] = '\0';
		return status;
	}
	if (out_len != NULL)
		*out_len = written;
	return NORMALIZE_OK;
}
