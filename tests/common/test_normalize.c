#include "normalize.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* One input with its region and what it must give. */
typedef struct norm_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *region;
	normalize_status want;
	const char *want_out; /* on NORMALIZE_OK */
} norm_case;

#define ANN_TEL  "tel:+14155550100"
#define ANN_MAIL "mailto:ann@example.org"
#define LONDON   "tel:+442079460018"

static const norm_case cases_ok[] = {
        /* The equivalences the lookup and the import rely on. */
        {"us_parentheses", "(415) 555-0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"international_dashes", "+1 415-555-0100", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"dots", "415.555.0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"tel_uri", "tel:+1-415-555-0100", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"email_trim_and_lower", " Ann@Example.ORG ", 0, NULL, NORMALIZE_OK, ANN_MAIL},
        /* Messy phone formats. */
        {"digits_only", "4155550100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"international_digits_only", "+14155550100", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"trunk_one", "1 415 555 0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"trunk_one_dashes", "1-415-555-0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"slashes", "415/555/0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"spaces_everywhere", "  + 1  415   555  0100  ", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"international_parentheses", "+1 (415) 555-0100", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"trailing_dash", "+1-415-555-0100-", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"tabs_and_crlf", "\t+1 415 555 0100\r\n", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"region_lower_case", "(415) 555-0100", 0, "us", NORMALIZE_OK, ANN_TEL},
        {"region_ignored_for_international", "+1 415 555 0100", 0, "GB", NORMALIZE_OK, ANN_TEL},
        {"tel_uri_upper_case", "TEL:+1-415-555-0100", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"tel_uri_national_with_region", "tel:415-555-0100", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"tel_uri_phone_context", "tel:415-555-0100;phone-context=+1", 0, NULL, NORMALIZE_OK,
         ANN_TEL},
        {"new_york", "+1 212 555 0123", 0, NULL, NORMALIZE_OK, "tel:+12125550123"},
        {"new_york_national", "(212) 555-0123", 0, "US", NORMALIZE_OK, "tel:+12125550123"},
        {"canada_from_us", "416 555 0100", 0, "US", NORMALIZE_OK, "tel:+14165550100"},
        {"toll_free", "1-800-555-0100", 0, "US", NORMALIZE_OK, "tel:+18005550100"},
        {"keypad_letters", "1-800-FLOWERS", 0, "US", NORMALIZE_OK, "tel:+18003569377"},
        /* International prefixes belong to the default region. */
        {"london_international", "+44 20 7946 0018", 0, NULL, NORMALIZE_OK, LONDON},
        {"london_national", "020 7946 0018", 0, "GB", NORMALIZE_OK, LONDON},
        {"london_optional_zero", "+44 (0)20 7946 0018", 0, NULL, NORMALIZE_OK, LONDON},
        {"idd_011_from_us", "011 44 20 7946 0018", 0, "US", NORMALIZE_OK, LONDON},
        {"idd_00_from_germany", "0044 20 7946 0018", 0, "DE", NORMALIZE_OK, LONDON},
        {"idd_00_spaced_from_gb", "00 44 20 7946 0018", 0, "GB", NORMALIZE_OK, LONDON},
        {"paris", "+33 1 23 45 67 89", 0, NULL, NORMALIZE_OK, "tel:+33123456789"},
        {"france_mobile_national", "06 12 34 56 78", 0, "FR", NORMALIZE_OK, "tel:+33612345678"},
        {"germany_mobile", "+49 151 12345678", 0, NULL, NORMALIZE_OK, "tel:+4915112345678"},
        {"international_freephone", "+800 1234 5678", 0, NULL, NORMALIZE_OK, "tel:+80012345678"},
        /* Extensions are dropped. */
        {"extension_x", "+1 415 555 0100 x12", 0, NULL, NORMALIZE_OK, ANN_TEL},
        {"extension_ext", "415-555-0100 ext. 12", 0, "US", NORMALIZE_OK, ANN_TEL},
        {"extension_uri", "tel:+1-415-555-0100;ext=5", 0, NULL, NORMALIZE_OK, ANN_TEL},
        /* Unicode digits, spaces and marks. */
        {"fullwidth",
         "\xef\xbc\x8b\xef\xbc\x91 \xef\xbc\x94\xef\xbc\x91\xef\xbc\x95 "
         "\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95 "
         "\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90",
         0, NULL, NORMALIZE_OK, ANN_TEL},
        {"nbsp_inside",
         "+1\xc2\xa0"
         "415\xc2\xa0"
         "555\xc2\xa0"
         "0100",
         0, NULL, NORMALIZE_OK, ANN_TEL},
        {"bidi_embedding_around", "\xe2\x80\xaa+1 415 555 0100\xe2\x80\xac", 0, NULL, NORMALIZE_OK,
         ANN_TEL},
        {"bidi_mark_inside",
         "+1 415\xe2\x80\x8e"
         "555 0100",
         0, NULL, NORMALIZE_OK, ANN_TEL},
        {"unicode_spaces_trimmed", "\xe3\x80\x80\xef\xbb\xbf+1 415 555 0100\xe2\x80\x83\xc2\x85", 0,
         NULL, NORMALIZE_OK, ANN_TEL},
        /* Handles come back unchanged. */
        {"tel_handle_is_fixed_point", ANN_TEL, 0, "GB", NORMALIZE_OK, ANN_TEL},
        {"mailto_handle_is_fixed_point", ANN_MAIL, 0, "GB", NORMALIZE_OK, ANN_MAIL},
        /* Emails. */
        {"mailto_prefix", "mailto:ann@example.org", 0, NULL, NORMALIZE_OK, ANN_MAIL},
        {"mailto_upper_case", "MAILTO:Ann@EXAMPLE.org", 0, NULL, NORMALIZE_OK, ANN_MAIL},
        {"email_with_region", "ann@example.org", 0, "US", NORMALIZE_OK, ANN_MAIL},
        {"email_tag", "Ann+Veil@Example.com", 0, NULL, NORMALIZE_OK, "mailto:ann+veil@example.com"},
        {"email_dots", "a.b.c@mail.example.co.uk", 0, NULL, NORMALIZE_OK,
         "mailto:a.b.c@mail.example.co.uk"},
        {"email_digits_hyphens", "user-1@sub-1.example.net", 0, NULL, NORMALIZE_OK,
         "mailto:user-1@sub-1.example.net"},
        {"email_every_atext", "!#$%&'*+-/=?^_`{|}~@example.org", 0, NULL, NORMALIZE_OK,
         "mailto:!#$%&'*+-/=?^_`{|}~@example.org"},
        {"email_non_ascii_kept", "JOS\xc3\x89@Ex\xc3\xa4mple.ORG", 0, NULL, NORMALIZE_OK,
         "mailto:jos\xc3\x89@ex\xc3\xa4mple.org"},
        {"email_idn_ace", "ann@xn--exmple-cua.org", 0, NULL, NORMALIZE_OK,
         "mailto:ann@xn--exmple-cua.org"},
        {"email_trimmed_unicode",
         "\xc2\xa0"
         "ann@example.org\xe2\x80\x8b",
         0, NULL, NORMALIZE_OK, ANN_MAIL},
        {"email_tel_local_part", "mailto:tel@example.org", 0, NULL, NORMALIZE_OK,
         "mailto:tel@example.org"},
};

static const norm_case cases_refused[] = {
        /* Nothing there. */
        {"empty", "", 0, NULL, NORMALIZE_EMPTY, NULL},
        {"white_space_only", " \t\r\n ", 0, NULL, NORMALIZE_EMPTY, NULL},
        {"unicode_space_only", "\xc2\xa0\xe2\x80\x83\xef\xbb\xbf\xe2\x80\x8b", 0, NULL,
         NORMALIZE_EMPTY, NULL},
        {"bare_tel", "tel:", 0, NULL, NORMALIZE_EMPTY, NULL},
        {"bare_mailto", " mailto: ", 0, NULL, NORMALIZE_EMPTY, NULL},
        /* Encoding. */
        {"nul_byte", "+1 415\0 555 0100", 16, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"only_nul", "\0", 1, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"invalid_byte", "+1 415 555 0100\xff", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"stray_continuation",
         "\x80"
         "ann@example.org",
         0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"overlong_slash", "ann\xc0\xaf@example.org", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"overlong_three_bytes", "\xe0\x80\xaf", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"surrogate", "\xed\xa0\x80", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"above_unicode", "\xf4\x90\x80\x80", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        {"truncated_sequence", "+1 415 555 0100\xe2\x80", 0, NULL, NORMALIZE_BAD_ENCODING, NULL},
        /* Region. */
        {"unknown_region", "+1 415 555 0100", 0, "XX", NORMALIZE_BAD_REGION, NULL},
        {"region_zz", "+1 415 555 0100", 0, "ZZ", NORMALIZE_BAD_REGION, NULL},
        {"region_three_letters", "+1 415 555 0100", 0, "USA", NORMALIZE_BAD_REGION, NULL},
        {"region_one_letter", "+1 415 555 0100", 0, "U", NORMALIZE_BAD_REGION, NULL},
        {"region_non_geographic", "+800 1234 5678", 0, "001", NORMALIZE_BAD_REGION, NULL},
        {"region_bad_for_email_too", "ann@example.org", 0, "XX", NORMALIZE_BAD_REGION, NULL},
        {"national_without_region", "415 555 0100", 0, NULL, NORMALIZE_NEEDS_REGION, NULL},
        {"national_empty_region", "(415) 555-0100", 0, "", NORMALIZE_NEEDS_REGION, NULL},
        {"idd_without_region", "0044 20 7946 0018", 0, NULL, NORMALIZE_NEEDS_REGION, NULL},
        {"tel_uri_national_without_region", "tel:415-555-0100", 0, NULL, NORMALIZE_NEEDS_REGION,
         NULL},
        {"idd_of_other_region", "0044 20 7946 0018", 0, "US", NORMALIZE_INVALID_NUMBER, NULL},
        /* Not numbers, or not valid ones. */
        {"words", "call me maybe", 0, "US", NORMALIZE_NOT_A_NUMBER, NULL},
        {"one_digit", "1", 0, "US", NORMALIZE_NOT_A_NUMBER, NULL},
        {"bare_plus", "+", 0, NULL, NORMALIZE_NOT_A_NUMBER, NULL},
        {"two_numbers", "+1 415 555 0100 / +1 415 555 0101", 0, NULL, NORMALIZE_NOT_A_NUMBER, NULL},
        {"tel_with_email", "tel:ann@example.org", 0, NULL, NORMALIZE_NOT_A_NUMBER, NULL},
        {"plus_one_555", "+1 555", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"area_code_only", "+1 415", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"seven_digits", "555-0100", 0, "US", NORMALIZE_INVALID_NUMBER, NULL},
        {"eleven_digits", "+1 415 555 01000", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"nine_digits", "+1 415 555 010", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"area_code_555", "+1 (555) 555-0100", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"area_code_n11", "+1 311 555 0100", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"unassigned_area_code", "+1 999 555 0100", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"unknown_country_code", "+999 1234 5678", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        {"unknown_country_code_region", "+999 1234 5678", 0, "US", NORMALIZE_INVALID_NUMBER, NULL},
        /* Trailing words are read as keypad letters, which breaks the number. */
        {"trailing_words", "+1 (415) 555-0100 (work)", 0, NULL, NORMALIZE_INVALID_NUMBER, NULL},
        /* Emails. */
        {"mailto_without_at", "mailto:ann.example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"two_ats", "ann@home@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"empty_local_part", "@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"empty_domain", "ann@", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"dotless_domain", "ann@localhost", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"leading_dot_local", ".ann@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"trailing_dot_local", "ann.@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"double_dot_local", "a..nn@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"leading_dot_domain", "ann@.example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"trailing_dot_domain", "ann@example.org.", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"double_dot_domain", "ann@example..org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"hyphen_starts_label", "ann@-example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"hyphen_ends_label", "ann@example-.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"underscore_in_domain", "ann@exa_mple.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"space_inside", "ann smith@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"space_after_mailto", "mailto: ann@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"tab_inside", "ann@example\t.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"nbsp_inside_email", "ann\xc2\xa0@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"zero_width_inside_email", "an\xe2\x80\x8bn@example.org", 0, NULL, NORMALIZE_BAD_EMAIL,
         NULL},
        {"control_inside_email", "ann\x01@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"c1_control_inside_email", "ann\xc2\x80@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"del_inside_email", "ann\x7f@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"quoted_local_part", "\"ann\"@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"address_literal", "ann@[192.0.2.1]", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"mailto_query", "mailto:ann@example.org?subject=hi", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"display_name", "Ann <ann@example.org>", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"comma_list", "ann@example.org,bob@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
        {"double_mailto", "mailto:mailto:ann@example.org", 0, NULL, NORMALIZE_BAD_EMAIL, NULL},
};

static size_t
case_len(const norm_case *c)
{
	return c->len ? c->len : strlen(c->text);
}

/* Runs one case; returns 1 if it behaved as the table says. */
static int
run_case(const norm_case *c)
{
	char out[NORMALIZE_MAX_HANDLE];
	size_t out_len = 99;
	memset(out, 'X', sizeof(out));
	normalize_status got =
	        normalize_handle(c->text, case_len(c), c->region, out, sizeof(out), &out_len);
	if (got != c->want) {
		printf("# %s: got %s, want %s\n", c->name, normalize_strerror(got),
		       normalize_strerror(c->want));
		return 0;
	}
	if (got != NORMALIZE_OK)
		return out[0] == '\0' && out_len == 0;
	if (strcmp(out, c->want_out) != 0 || out_len != strlen(c->want_out)) {
		printf("# %s: got \"%s\", want \"%s\"\n", c->name, out, c->want_out);
		return 0;
	}
	return 1;
}

static void
run_table(const norm_case *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ok = run_case(&table[i]);
		if (!ok)
			test_fail(__FILE__, __LINE__, table[i].name);
		CHECK(ok);
	}
}

static void
case_accepted(void)
{
	run_table(cases_ok, TEST_COUNT(cases_ok));
}

static void
case_refused(void)
{
	run_table(cases_refused, TEST_COUNT(cases_refused));
}

/* Every output normalizes to itself, under any region or none. */
static void
case_output_is_fixed_point(void)
{
	static const char *const regions[] = {NULL, "US", "GB", "FR"};
	for (size_t i = 0; i < TEST_COUNT(cases_ok); i++) {
		const char *handle = cases_ok[i].want_out;
		for (size_t r = 0; r < TEST_COUNT(regions); r++) {
			char out[NORMALIZE_MAX_HANDLE];
			size_t out_len;
			normalize_status s = normalize_handle(handle, strlen(handle), regions[r],
			                                      out, sizeof(out), &out_len);
			int same = s == NORMALIZE_OK && strcmp(out, handle) == 0;
			if (!same)
				test_fail(__FILE__, __LINE__, cases_ok[i].name);
			CHECK(same);
		}
	}
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
	char out[NORMALIZE_MAX_HANDLE];
	size_t out_len;

	padded(text, NORMALIZE_MAX_INPUT, "+1 415 555 0100", ' ');
	CHECK(normalize_handle(text, NORMALIZE_MAX_INPUT, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
	CHECK(strcmp(out, ANN_TEL) == 0);

	padded(text, NORMALIZE_MAX_INPUT + 1, "+1 415 555 0100", ' ');
	CHECK(normalize_handle(text, NORMALIZE_MAX_INPUT + 1, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);
	CHECK(out[0] == '\0' && out_len == 0);

	/* Refused on length before its bytes are looked at. */
	memset(text, 0xff, NORMALIZE_MAX_INPUT + 1);
	CHECK(normalize_handle(text, NORMALIZE_MAX_INPUT + 1, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);
	CHECK(normalize_handle(text, (size_t)-1, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);
}

static void
case_phone_cap(void)
{
	char text[NORMALIZE_MAX_PHONE + 2];
	char out[NORMALIZE_MAX_HANDLE];
	size_t out_len;
	size_t prefix = strlen("+1");

	/* Spaces inside the number, so that trimming leaves them. */
	memset(text, ' ', sizeof(text));
	memcpy(text, "+1", prefix);
	memcpy(text + NORMALIZE_MAX_PHONE - 10, "4155550100", 10);
	CHECK(normalize_handle(text, NORMALIZE_MAX_PHONE, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
	CHECK(strcmp(out, ANN_TEL) == 0);

	memmove(text + NORMALIZE_MAX_PHONE + 1 - 10, text + NORMALIZE_MAX_PHONE - 10, 10);
	text[NORMALIZE_MAX_PHONE - 10] = ' ';
	CHECK(normalize_handle(text, NORMALIZE_MAX_PHONE + 1, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);

	/* "tel:" does not count against the cap. */
	char uri[NORMALIZE_MAX_PHONE + 8];
	memcpy(uri, "tel:", 4);
	memcpy(uri + 4, text, NORMALIZE_MAX_PHONE - 10);
	memcpy(uri + 4 + NORMALIZE_MAX_PHONE - 10, "4155550100", 10);
	CHECK(normalize_handle(uri, 4 + NORMALIZE_MAX_PHONE, NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
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
	char out[NORMALIZE_MAX_HANDLE];
	size_t out_len;

	make_email(text, NORMALIZE_MAX_EMAIL, 64);
	REQUIRE(strlen(text) == NORMALIZE_MAX_EMAIL);
	CHECK(normalize_handle(text, strlen(text), NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
	CHECK(out_len == strlen("mailto:") + NORMALIZE_MAX_EMAIL);
	CHECK(out_len < NORMALIZE_MAX_HANDLE);

	make_email(text, NORMALIZE_MAX_EMAIL + 1, 64);
	CHECK(normalize_handle(text, strlen(text), NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);

	make_email(text, 100, 65);
	CHECK(normalize_handle(text, strlen(text), NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_TOO_LONG);

	/* A 63-byte label is fine, a 64-byte one is not. */
	char label[128];
	memset(label, 'c', sizeof(label));
	memcpy(label, "ann@", 4);
	memcpy(label + 4 + 63, ".org", 5);
	CHECK(normalize_handle(label, strlen(label), NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_OK);
	memset(label, 'c', sizeof(label));
	memcpy(label, "ann@", 4);
	memcpy(label + 4 + 64, ".org", 5);
	CHECK(normalize_handle(label, strlen(label), NULL, out, sizeof(out), &out_len) ==
	      NORMALIZE_BAD_EMAIL);
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
			if (!run_case(&cases_ok[i]))
				(*mismatches)++;
		for (size_t i = 0; i < TEST_COUNT(cases_refused); i++)
			if (!run_case(&cases_refused[i]))
				(*mismatches)++;
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
        {"accepted inputs", case_accepted},
        {"refused inputs", case_refused},
        {"output is a fixed point", case_output_is_fixed_point},
        {"input cap", case_input_cap},
        {"phone cap", case_phone_cap},
        {"email caps", case_email_caps},
        {"arguments", case_arguments},
        {"region valid", case_region_valid},
        {"every status has its own message", case_every_status_has_its_own_message},
};

int
main(int argc, char **argv)
{
	return test_main(argc, argv, cases, TEST_COUNT(cases));
}
