#include <string.h>

#include "error.h"
#include "harness.h"

static void
case_every_code_has_its_own_message(void)
{
	static const veil_err codes[] = {
		VEIL_OK,	     VEIL_ERR_ARGUMENT,	       VEIL_ERR_NOMEM,	 VEIL_ERR_UNSUPPORTED,
		VEIL_ERR_ELEMENT,    VEIL_ERR_SCALAR,	       VEIL_ERR_INVALID_INPUT,
		VEIL_ERR_DERIVE_KEY_PAIR, VEIL_ERR_INVERSE,   VEIL_ERR_VERIFY,	 VEIL_ERR_LIMIT,
		VEIL_ERR_PARSE,	     VEIL_ERR_SYSTEM,	       VEIL_ERR_CRYPTO, VEIL_ERR_TIMEOUT, VEIL_ERR_TRANSPORT, VEIL_ERR_EXISTS, VEIL_ERR_NOT_FOUND, VEIL_ERR_PERMISSION, VEIL_ERR_CORRUPT, VEIL_ERR_BUSY,
	};
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	const char *unknown = veil_strerror((veil_err)9999);

	CHECK(strcmp(unknown, "unknown error") == 0);
	for (size_t i = 0; i < n; i++) {
		const char *msg = veil_strerror(codes[i]);
		CHECK(msg != NULL && msg[0] != '\0');
		CHECK(strcmp(msg, unknown) != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(msg, veil_strerror(codes[j])) != 0);
	}
}

static void
case_ok_is_zero(void)
{
	CHECK(VEIL_OK == 0);
	CHECK(strcmp(veil_strerror(VEIL_OK), "success") == 0);
}

static const test_case cases[] = {
	{"every code has its own message", case_every_code_has_its_own_message},
	{"ok is zero", case_ok_is_zero},
};

int
main(int argc, char **argv)
{
	return test_main(argc, argv, cases, TEST_COUNT(cases));
}
