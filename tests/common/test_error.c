#include <string.h>

#include "error.h"
#include "harness.h"

/* The codes run from VEIL_OK to VEIL_ERR_BUSY: the one after it is unknown. */
static void
case_every_code_has_its_own_message(void)
{
	const char *unknown = veil_strerror((veil_err)9999);

	CHECK(strcmp(unknown, "unknown error") == 0);
	CHECK(strcmp(veil_strerror((veil_err)(VEIL_ERR_BUSY + 1)), unknown) == 0);
	for (int code = VEIL_OK; code <= VEIL_ERR_BUSY; code++) {
		const char *msg = veil_strerror((veil_err)code);
		CHECK(msg != NULL && msg[0] != '\0');
		CHECK(strcmp(msg, unknown) != 0);
		for (int other = VEIL_OK; other < code; other++)
			CHECK(strcmp(msg, veil_strerror((veil_err)other)) != 0);
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

TEST_MAIN(cases)
