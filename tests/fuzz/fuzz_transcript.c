/*
 * Fuzzes the veil-oprf line logic. Whatever the bytes, the answer must be
 * nothing for a blank line and otherwise exactly one line of JSON: an
 * object whose first member is "id", with "ok" true (and the answer
 * fields) or false (and an "error" string).
 */
#include <stdint.h>
#include <stdlib.h>

#include "jsonl_oracle.h"
#include "oprf_transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_success(const json_value *answer)
{
	size_t count = json_array_size(json_object_get(answer, "output"));
	if (count == 0 || json_string(json_object_get(answer, "skSm"), NULL) == NULL ||
	    json_string(json_object_get(answer, "pkSm"), NULL) == NULL ||
	    json_array_size(json_object_get(answer, "blindedElement")) != count ||
	    json_array_size(json_object_get(answer, "evaluationElement")) != count)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jsonl_oracle_check(data, size, oprf_transcript_line, check_success);
	return 0;
}
