#include "normalize.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* An input, under a region ("": none, given both as NULL and as ""), and the handle it gives. */
typedef struct accepted {
	const char *name;
	const char *text;
	const char *region;
	const char *handle;
} accepted;

/* An input refused with a status; len 0: strlen(text). */
typedef struct refused {
	const char *name;
	const char *text;
	size_t len;
	const char *region;
	normalize_status want;
} refused;

#define ANN_TEL  "tel:+14155550100"
#define ANN_MAIL "mailto:ann@example.org"
#define LONDON   "tel:+442079460018"

static const accepted cases_ok[] = {
        /* The equivalences the lookup and the import rely on. */
        {"us_parentheses", "(415) 555-0100", "US", "tel:+14155550100"},
        {"international_dashes", "+1 415-555-0100", "", "tel:+14155550100"},
        {"dots", "415.555.0100", "US", "tel:+14155550100"},
        {"tel_uri", "tel:+1-415-555-0100", "", "tel:+14155550100"},
        {"email_trim_and_lower", " Ann@Example.ORG ", "", "mailto:ann@example.org"},
        /* Messy phone formats. */
        {"digits_only", "4155550100", "US", "tel:+14155550100"},
        {"international_digits_only", "+14155550100", "", "tel:+14155550100"},
        {"trunk_one", "1 415 555 0100", "US", "tel:+14155550100"},
        {"trunk_one_dashes", "1-415-555-0100", "US", "tel:+14155550100"},
        {"slashes", "415/555/0100", "US", "tel:+14155550100"},
        {"spaces_everywhere", "  + 1  415   555  0100  ", "", "tel:+14155550100"},
        {"international_parentheses", "+1 (415) 555-0100", "", "tel:+14155550100"},
        {"trailing_dash", "+1-415-555-0100-", "", "tel:+14155550100"},
        {"tabs_and_crlf", "\t+1 415 555 0100\r\n", "", "tel:+14155550100"},
        {"region_lower_case", "(415) 555-0100", "us", "tel:+14155550100"},
        {"region_ignored_for_international", "+1 415 555 0100", "GB", "tel:+14155550100"},
        {"tel_uri_upper_case", "TEL:+1-415-555-0100", "", "tel:+14155550100"},
        {"tel_uri_national_with_region", "tel:415-555-0100", "US", "tel:+14155550100"},
        {"tel_uri_phone_context", "tel:415-555-0100;phone-context=+1", "", "tel:+14155550100"},
        {"new_york", "+1 212 555 0123", "", "tel:+12125550123"},
        {"new_york_national", "(212) 555-0123", "US", "tel:+12125550123"},
        {"canada_from_us", "416 555 0100", "US", "tel:+14165550100"},
        {"toll_free", "1-800-555-0100", "US", "tel:+18005550100"},
        {"keypad_letters", "1-800-FLOWERS", "US", "tel:+18003569377"},
        /* International prefixes belong to the default region. */
        {"london_international", "+44 20 7946 0018", "", "tel:+442079460018"},
        {"london_national", "020 7946 0018", "GB", "tel:+442079460018"},
        {"london_optional_zero", "+44 (0)20 7946 0018", "", "tel:+442079460018"},
        {"idd_011_from_us", "011 44 20 7946 0018", "US", "tel:+442079460018"},
        {"idd_00_from_germany", "0044 20 7946 0018", "DE", "tel:+442079460018"},
        {"idd_00_spaced_from_gb", "00 44 20 7946 0018", "GB", "tel:+442079460018"},
        {"paris", "+33 1 23 45 67 89", "", "tel:+33123456789"},
        {"france_mobile_national", "06 12 34 56 78", "FR", "tel:+33612345678"},
        {"germany_mobile", "+49 151 12345678", "", "tel:+4915112345678"},
        {"international_freephone", "+800 1234 5678", "", "tel:+80012345678"},
        /* Extensions are dropped. */
        {"extension_x", "+1 415 555 0100 x12", "", "tel:+14155550100"},
        {"extension_ext", "415-555-0100 ext. 12", "US", "tel:+14155550100"},
        {"extension_uri", "tel:+1-415-555-0100;ext=5", "", "tel:+14155550100"},
        /* Unicode digits, spaces and marks. */
        {"fullwidth",
         "\xef\xbc\x8b\xef\xbc\x91 \xef\xbc\x94\xef\xbc\x91\xef\xbc\x95 "
         "\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95 "
         "\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90",
         "", "tel:+14155550100"},
        {"nbsp_inside",
         "+1\xc2\xa0"
         "415\xc2\xa0"
         "555\xc2\xa0"
         "0100",
         "", "tel:+14155550100"},
        {"bidi_embedding_around", "\xe2\x80\xaa+1 415 555 0100\xe2\x80\xac", "",
         "tel:+14155550100"},
        {"bidi_mark_inside",
         "+1 415\xe2\x80\x8e"
         "555 0100",
         "", "tel:+14155550100"},
        {"unicode_spaces_trimmed", "\xe3\x80\x80\xef\xbb\xbf+1 415 555 0100\xe2\x80\x83\xc2\x85",
         "", "tel:+14155550100"},
        /* Handles come back unchanged. */
        {"tel_handle_is_fixed_point", "tel:+14155550100", "GB", "tel:+14155550100"},
        {"mailto_handle_is_fixed_point", "mailto:ann@example.org", "GB", "mailto:ann@example.org"},
        /* Emails. */
        {"mailto_prefix", "mailto:ann@example.org", "", "mailto:ann@example.org"},
        {"mailto_upper_case", "MAILTO:Ann@EXAMPLE.org", "", "mailto:ann@example.org"},
        {"email_with_region", "ann@example.org", "US", "mailto:ann@example.org"},
        {"email_tag", "Ann+Veil@Example.com", "", "mailto:ann+veil@example.com"},
        {"email_dots", "a.b.c@mail.example.co.uk", "", "mailto:a.b.c@mail.example.co.uk"},
        {"email_digits_hyphens", "user-1@sub-1.example.net", "", "mailto:user-1@sub-1.example.net"},
        {"email_every_atext", "!#$%&'*+-/=?^_`{|}~@example.org", "",
         "mailto:!#$%&'*+-/=?^_`{|}~@example.org"},
        {"email_non_ascii_kept", "JOS\xc3\x89@Ex\xc3\xa4mple.ORG", "",
         "mailto:jos\xc3\x89@ex\xc3\xa4mple.org"},
        {"email_idn_ace", "ann@xn--exmple-cua.org", "", "mailto:ann@xn--exmple-cua.org"},
        {"email_trimmed_unicode",
         "\xc2\xa0"
         "ann@example.org\xe2\x80\x8b",
         "", "mailto:ann@example.org"},
        {"email_tel_local_part", "mailto:tel@example.org", "", "mailto:tel@example.org"},
};

static const refused cases_refused[] = {
        /* Nothing there. */
        {"empty", "", 0, "", NORMALIZE_EMPTY},
        {"white_space_only", " \t\r\n ", 0, "", NORMALIZE_EMPTY},
        {"unicode_space_only", "\xc2\xa0\xe2\x80\x83\xef\xbb\xbf\xe2\x80\x8b", 0, "",
         NORMALIZE_EMPTY},
        {"bare_tel", "tel:", 0, "", NORMALIZE_EMPTY},
        {"bare_mailto", " mailto: ", 0, "", NORMALIZE_EMPTY},
        /* Encoding. */
        {"nul_byte", "+1 415\0 555 0100", 16, "", NORMALIZE_BAD_ENCODING},
        {"only_nul", "\0", 1, "", NORMALIZE_BAD_ENCODING},
        {"invalid_byte", "+1 415 555 0100\xff", 0, "", NORMALIZE_BAD_ENCODING},
        {"stray_continuation",
         "\x80"
         "ann@example.org",
         0, "", NORMALIZE_BAD_ENCODING},
        {"overlong_slash", "ann\xc0\xaf@example.org", 0, "", NORMALIZE_BAD_ENCODING},
        {"overlong_three_bytes", "\xe0\x80\xaf", 0, "", NORMALIZE_BAD_ENCODING},
        {"surrogate", "\xed\xa0\x80", 0, "", NORMALIZE_BAD_ENCODING},
        {"above_unicode", "\xf4\x90\x80\x80", 0, "", NORMALIZE_BAD_ENCODING},
        {"truncated_sequence", "+1 415 555 0100\xe2\x80", 0, "", NORMALIZE_BAD_ENCODING},
        /* Region. */
        {"unknown_region", "+1 415 555 0100", 0, "XX", NORMALIZE_BAD_REGION},
        {"region_zz", "+1 415 555 0100", 0, "ZZ", NORMALIZE_BAD_REGION},
        {"region_three_letters", "+1 415 555 0100", 0, "USA", NORMALIZE_BAD_REGION},
        {"region_one_letter", "+1 415 555 0100", 0, "U", NORMALIZE_BAD_REGION},
        {"region_non_geographic", "+800 1234 5678", 0, "001", NORMALIZE_BAD_REGION},
        {"region_bad_for_email_too", "ann@example.org", 0, "XX", NORMALIZE_BAD_REGION},
        {"national_without_region", "415 555 0100", 0, "", NORMALIZE_NEEDS_REGION},
        {"national_empty_region", "(415) 555-0100", 0, "", NORMALIZE_NEEDS_REGION},
        {"idd_without_region", "0044 20 7946 0018", 0, "", NORMALIZE_NEEDS_REGION},
        {"tel_uri_national_without_region", "tel:415-555-0100", 0, "", NORMALIZE_NEEDS_REGION},
        {"idd_of_other_region", "0044 20 7946 0018", 0, "US", NORMALIZE_INVALID_NUMBER},
        /* Not numbers, or not valid ones. */
        {"words", "call me maybe", 0, "US", NORMALIZE_NOT_A_NUMBER},
        {"one_digit", "1", 0, "US", NORMALIZE_NOT_A_NUMBER},
        {"bare_plus", "+", 0, "", NORMALIZE_NOT_A_NUMBER},
        {"two_numbers", "+1 415 555 0100 / +1 415 555 0101", 0, "", NORMALIZE_NOT_A_NUMBER},
        {"tel_with_email", "tel:ann@example.org", 0, "", NORMALIZE_NOT_A_NUMBER},
        {"plus_one_555", "+1 555", 0, "", NORMALIZE_INVALID_NUMBER},
        {"area_code_only", "+1 415", 0, "", NORMALIZE_INVALID_NUMBER},
        {"seven_digits", "555-0100", 0, "US", NORMALIZE_INVALID_NUMBER},
        {"eleven_digits", "+1 415 555 01000", 0, "", NORMALIZE_INVALID_NUMBER},
        {"nine_digits", "+1 415 555 010", 0, "", NORMALIZE_INVALID_NUMBER},
        {"area_code_555", "+1 (555) 555-0100", 0, "", NORMALIZE_INVALID_NUMBER},
        {"area_code_n11", "+1 311 555 0100", 0, "", NORMALIZE_INVALID_NUMBER},
        {"unassigned_area_code", "+1 999 555 0100", 0, "", NORMALIZE_INVALID_NUMBER},
        {"unknown_country_code", "+999 1234 5678", 0, "", NORMALIZE_INVALID_NUMBER},
        {"unknown_country_code_region", "+999 1234 5678", 0, "US", NORMALIZE_INVALID_NUMBER},
        /* Trailing words are read as keypad letters, which breaks the number. */
        {"trailing_words", "+1 (415) 555-0100 (work)", 0, "", NORMALIZE_INVALID_NUMBER},
        /* Emails. */
        {"mailto_without_at", "mailto:ann.example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"two_ats", "ann@home@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"empty_local_part", "@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"empty_domain", "ann@", 0, "", NORMALIZE_BAD_EMAIL},
        {"dotless_domain", "ann@localhost", 0, "", NORMALIZE_BAD_EMAIL},
        {"leading_dot_local", ".ann@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"trailing_dot_local", "ann.@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"double_dot_local", "a..nn@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"leading_dot_domain", "ann@.example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"trailing_dot_domain", "ann@example.org.", 0, "", NORMALIZE_BAD_EMAIL},
        {"double_dot_domain", "ann@example..org", 0, "", NORMALIZE_BAD_EMAIL},
        {"hyphen_starts_label", "ann@-example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"hyphen_ends_label", "ann@example-.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"underscore_in_domain", "ann@exa_mple.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"space_inside", "ann smith@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"space_after_mailto", "mailto: ann@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"tab_inside", "ann@example\t.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"nbsp_inside_email", "ann\xc2\xa0@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"zero_width_inside_email", "an\xe2\x80\x8bn@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"control_inside_email", "ann\x01@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"c1_control_inside_email", "ann\xc2\x80@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"del_inside_email", "ann\x7f@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"quoted_local_part", "\"ann\"@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"address_literal", "ann@[192.0.2.1]", 0, "", NORMALIZE_BAD_EMAIL},
        {"mailto_query", "mailto:ann@example.org?subject=hi", 0, "", NORMALIZE_BAD_EMAIL},
        {"display_name", "Ann <ann@example.org>", 0, "", NORMALIZE_BAD_EMAIL},
        {"comma_list", "ann@example.org,bob@example.org", 0, "", NORMALIZE_BAD_EMAIL},
        {"double_mailto", "mailto:mailto:ann@example.org", 0, "", NORMALIZE_BAD_EMAIL},
};

/*
 * Normalizes len bytes of text under region (given as NULL and as "" when
 * it is ""); returns 1 when each gave want, and the handle want_out.
 */
static int
normalizes_as(const char *name, const char *text, size_t len, const char *region,
              normalize_status want, const char *want_out)
{
	for (int empty = 0; empty <= (region[0] == '\0'); empty++) {
		char out[NORMALIZE_MAX_HANDLE];
		size_t out_len = 99;
		memset(out, 'X', sizeof(out));
		const normalize_status got =
		        normalize_handle(text, len, region[0] != '\0' || empty ? region : NULL, out,
		                         sizeof(out), &out_len);
		if (got != want) {
			printf("# %s: got %s, want %s\n", name, normalize_strerror(got),
			       normalize_strerror(want));
			return 0;
		}
		if (got != NORMALIZE_OK
		            ? out[0] != '\0' || out_len != 0
		            : strcmp(out, want_out) != 0 || out_len != strlen(want_out)) {
			printf("# %s: got \"%s\"\n", name, out);
			return 0;
		}
	}
	return 1;
}

static int
check_accepted(const void *row)
{
	const accepted *c = row;
	return normalizes_as(c->name, c->text, strlen(c->text), c->region, NORMALIZE_OK, c->handle);
}

static int
check_refused(const void *row)
{
	const refused *c = row;
	return normalizes_as(c->name, c->text, c->len ? c->len : strlen(c->text), c->region,
	                     c->want, NULL);
}

TEST_ROWS_CASE(case_accepted_inputs, cases_ok, check_accepted)
TEST_ROWS_CASE(case_refused_inputs, cases_refused, check_refused)

/* Every output normalizes to itself, under any region or none. */
static void
case_output_is_fixed_point(void)
{
	static const char *const regions[] = {NULL, "US", "GB", "FR"};
	for (size_t i = 0; i < TEST_COUNT(cases_ok); i++) {
		const char *handle = cases_ok[i].handle;
		for (size_t r = 0; r < TEST_COUNT(regions); r++) {
			char out[NORMALIZE_MAX_HANDLE];
			size_t out_len;
			normalize_status s = normalize_handle(handle, strlen(handle), regions[r],
			                                      out, sizeof(out), &out_len);
			CHECK_ROW(s == NORMALIZE_OK && strcmp(out, handle) == 0, cases_ok[i].name);
		}
	}
}

/* What normalize_handle() made of some text, with no region: for the caps. */
typedef struct normalized {
	normalize_status status;
	char out[NORMALIZE_MAX_HANDLE];
	size_t len;
} normalized;

static normalized
normalize(const char *text, size_t len)
{
	normalized n;
	n.status = normalize_handle(text, len, NULL, n.out, sizeof(n.out), &n.len);
	return n;
}

/* Fills text with len pad bytes with core in the middle, NUL-terminated. */
static void
padded(char *text, size_t len, const char *core, char pad)
{
	size_t core_len = strlen(core);
	memset(text, pad, len);
	memcpy(text + (len - core_len) / 2, core, core_len);
	text[len] = '\0';
}

static void
case_input_cap(void)
{
	char text[NORMALIZE_MAX_INPUT + 2];

	padded(text, NORMALIZE_MAX_INPUT, "+1 415 555 0100", ' ');
	normalized n = normalize(text, NORMALIZE_MAX_INPUT);
	CHECK(n.status == NORMALIZE_OK);
	CHECK(strcmp(n.out, ANN_TEL) == 0);

	padded(text, NORMALIZE_MAX_INPUT + 1, "+1 415 555 0100", ' ');
	n = normalize(text, NORMALIZE_MAX_INPUT + 1);
	CHECK(n.status == NORMALIZE_TOO_LONG);
	CHECK(n.out[0] == '\0' && n.len == 0);

	/* Refused on length before its bytes are looked at. */
	memset(text, 0xff, NORMALIZE_MAX_INPUT + 1);
	CHECK(normalize(text, NORMALIZE_MAX_INPUT + 1).status == NORMALIZE_TOO_LONG);
	CHECK(normalize(text, (size_t)-1).status == NORMALIZE_TOO_LONG);
}

static void
case_phone_cap(void)
{
	char text[NORMALIZE_MAX_PHONE + 2];
	size_t prefix = strlen("+1");

	/* Spaces inside the number, so that trimming leaves them. */
	memset(text, ' ', sizeof(text));
	memcpy(text, "+1", prefix);
	memcpy(text + NORMALIZE_MAX_PHONE - 10, "4155550100", 10);
	const normalized n = normalize(text, NORMALIZE_MAX_PHONE);
	CHECK(n.status == NORMALIZE_OK);
	CHECK(strcmp(n.out, ANN_TEL) == 0);

	memmove(text + NORMALIZE_MAX_PHONE + 1 - 10, text + NORMALIZE_MAX_PHONE - 10, 10);
	text[NORMALIZE_MAX_PHONE - 10] = ' ';
	CHECK(normalize(text, NORMALIZE_MAX_PHONE + 1).status == NORMALIZE_TOO_LONG);

	/* "tel:" does not count against the cap. */
	char uri[NORMALIZE_MAX_PHONE + 8];
	memcpy(uri, "tel:", 4);
	memcpy(uri + 4, text, NORMALIZE_MAX_PHONE - 10);
	memcpy(uri + 4 + NORMALIZE_MAX_PHONE - 10, "4155550100", 10);
	CHECK(normalize(uri, 4 + NORMALIZE_MAX_PHONE).status == NORMALIZE_OK);
}

/* An address of exactly len bytes: a local part of local_len 'a's. */
static void
make_email(char *text, size_t len, size_t local_len)
{
	memset(text, 'a', local_len);
	text[local_len] = '@';
	size_t domain_len = len - local_len - 1;
	/* Labels of up to 60 bytes, ending in ".org". */
	size_t i = 0;
	while (domain_len - i > 4) {
		size_t label = domain_len - i - 4;
		if (label > 60)
			label = 60;
		memset(text + local_len + 1 + i, 'b', label);
		i += label;
		if (domain_len - i > 4) {
			text[local_len + 1 + i] = '.';
			i++;
		}
	}
	memcpy(text + local_len + 1 + i, ".org", 4);
	text[len] = '\0';
}

static void
case_email_caps(void)
{
	char text[NORMALIZE_MAX_EMAIL + 16];

	make_email(text, NORMALIZE_MAX_EMAIL, 64);
	REQUIRE(strlen(text) == NORMALIZE_MAX_EMAIL);
	const normalized n = normalize(text, strlen(text));
	CHECK(n.status == NORMALIZE_OK);
	CHECK(n.len == strlen("mailto:") + NORMALIZE_MAX_EMAIL);
	CHECK(n.len < NORMALIZE_MAX_HANDLE);

	make_email(text, NORMALIZE_MAX_EMAIL + 1, 64);
	CHECK(normalize(text, strlen(text)).status == NORMALIZE_TOO_LONG);

	make_email(text, 100, 65);
	CHECK(normalize(text, strlen(text)).status == NORMALIZE_TOO_LONG);

	/* A 63-byte label is fine, a 64-byte one is not. */
	char label[128];
	memset(label, 'c', sizeof(label));
	memcpy(label, "ann@", 4);
	memcpy(label + 4 + 63, ".org", 5);
	CHECK(normalize(label, strlen(label)).status == NORMALIZE_OK);
	memset(label, 'c', sizeof(label));
	memcpy(label, "ann@", 4);
	memcpy(label + 4 + 64, ".org", 5);
	CHECK(normalize(label, strlen(label)).status == NORMALIZE_BAD_EMAIL);
}

static void
case_arguments(void)
{
	char out[NORMALIZE_MAX_HANDLE];
	size_t out_len = 99;

	memset(out, 'X', sizeof(out));
	CHECK(normalize_handle("+1 415 555 0100", 15, NULL, out, NORMALIZE_MAX_HANDLE - 1,
	                       &out_len) == NORMALIZE_ARGUMENT);
	CHECK(out[0] == '\0' && out_len == 0);
	CHECK(normalize_handle("+1 415 555 0100", 15, NULL, NULL, sizeof(out), &out_len) ==
	      NORMALIZE_ARGUMENT);
	CHECK(normalize_handle(NULL, 1, NULL, out, sizeof(out), &out_len) == NORMALIZE_ARGUMENT);
	CHECK(normalize_handle(NULL, 0, NULL, out, sizeof(out), &out_len) == NORMALIZE_EMPTY);
	/* out_len is optional. */
	CHECK(normalize_handle("+1 415 555 0100", 15, NULL, out, sizeof(out), NULL) ==
	      NORMALIZE_OK);
	CHECK(strcmp(out, ANN_TEL) == 0);
	/* Only len bytes are read: the rest of the string is not part of it. */
	CHECK(normalize_handle("+1 415 555 0100 99", 15, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
	CHECK(strcmp(out, ANN_TEL) == 0 && out_len == strlen(ANN_TEL));
}

static void
case_region_valid(void)
{
	static const struct {
		const char *region;
		int want;
	} regions[] = {
	        {"US", 1}, {"us", 1}, {"Gb", 1}, {"DE", 1}, {"FR", 1},  {"JP", 1},
	        {NULL, 0}, {"", 0},   {"ZZ", 0}, {"XX", 0}, {"001", 0}, {"USA", 0},
	        {"U", 0},  {"U1", 0}, {"1", 0},  {"U ", 0}, {" US", 0},
	};
	for (size_t i = 0; i < TEST_COUNT(regions); i++) {
		int got = normalize_region_valid(regions[i].region);
		if (got != regions[i].want)
			printf("# region %s: got %d\n",
			       regions[i].region ? regions[i].region : "(null)", got);
		CHECK(got == regions[i].want);
	}
}

static void
case_every_status_has_its_own_message(void)
{
	static const normalize_status statuses[] = {
	        NORMALIZE_OK,           NORMALIZE_ARGUMENT,       NORMALIZE_EMPTY,
	        NORMALIZE_TOO_LONG,     NORMALIZE_BAD_ENCODING,   NORMALIZE_BAD_REGION,
	        NORMALIZE_NOT_A_NUMBER, NORMALIZE_INVALID_NUMBER, NORMALIZE_NEEDS_REGION,
	        NORMALIZE_BAD_EMAIL,    NORMALIZE_INTERNAL,
	};
	const char *unknown = normalize_strerror((normalize_status)9999);
	CHECK(strcmp(unknown, "unknown error") == 0);
	for (size_t i = 0; i < TEST_COUNT(statuses); i++) {
		const char *msg = normalize_strerror(statuses[i]);
		CHECK(msg != NULL && msg[0] != '\0');
		CHECK(strcmp(msg, unknown) != 0);
		/* Fit for a JSON string as it is. */
		CHECK(strpbrk(msg, "\"\\") == NULL);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(msg, normalize_strerror(statuses[j])) != 0);
	}
}

#define THREADS    8
#define ITERATIONS 50

static void *
normalize_worker(void *arg)
{
	unsigned long *mismatches = arg;
	for (int round = 0; round < ITERATIONS; round++) {
		for (size_t i = 0; i < TEST_COUNT(cases_ok); i++)
			*mismatches += !check_accepted(&cases_ok[i]);
		for (size_t i = 0; i < TEST_COUNT(cases_refused); i++)
			*mismatches += !check_refused(&cases_refused[i]);
	}
	return NULL;
}

/*
 * Several threads normalize the whole table at once, the first of them
 * racing to create libphonenumber's singleton, and all get the answers
 * the table holds.
 */
static void
case_threads_agree(void)
{
	pthread_t threads[THREADS];
	unsigned long mismatches[THREADS] = {0};
	size_t started = 0;
	for (; started < THREADS; started++)
		if (pthread_create(&threads[started], NULL, normalize_worker,
		                   &mismatches[started]) != 0)
			break;
	CHECK(started == THREADS);
	for (size_t i = 0; i < started; i++) {
		CHECK(pthread_join(threads[i], NULL) == 0);
		CHECK(mismatches[i] == 0);
	}
}

/* Threads first: the singleton must not exist before they race for it. */
static const test_case cases[] = {
        {"threads agree", case_threads_agree},
        {"output is a fixed point", case_output_is_fixed_point},
        {"input cap", case_input_cap},
        {"phone cap", case_phone_cap},
        {"email caps", case_email_caps},
        {"arguments", case_arguments},
        {"region valid", case_region_valid},
        {"every status has its own message", case_every_status_has_its_own_message},
        {"accepted inputs", case_accepted_inputs},
        {"refused inputs", case_refused_inputs},
};

TEST_MAIN(cases)
