#include "jsonl_oracle.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Whether every byte is a space, tab, CR or LF (the tool's own test is not the oracle). */
static int
is_blank(const uint8_t *data, size_t size)
{
	static const char blanks[] = " \t\r\n";
	for (size_t i = 0; i < size; i++)
		if (memchr(blanks, data[i], sizeof(blanks) - 1) == NULL)
			return 0;
	return 1;
}

static void
check_answer(const json_value *answer, jsonl_oracle_success_fn check_success)
{
	if (json_type_of(answer) != JSON_OBJECT || json_object_size(answer) < 3)
		abort();
	if (strcmp(json_object_key(answer, 0), "id") != 0 ||
	    strcmp(json_object_key(answer, 1), "ok") != 0)
		abort();
	const json_value *ok = json_object_get(answer, "ok");
	if (json_type_of(ok) == JSON_FALSE) {
		if (json_object_size(answer) != 3 ||
		    json_string(json_object_get(answer, "error"), NULL) == NULL)
			abort();
		return;
	}
	if (json_type_of(ok) != JSON_TRUE)
		abort();
	check_success(answer);
}

void
jsonl_oracle_check(const uint8_t *data, size_t size, jsonl_serve_fn serve,
                   jsonl_oracle_success_fn check_success)
{
	buf out;
	json_value *answer = NULL;

	buf_init(&out);
	buf_append_str(&out, "kept"); /* what is there must stay */
	if (serve((const char *)data, size, &out) != VEIL_OK)
		abort(); /* only running out of memory may fail */
	const char *text = buf_data(&out);
	size_t len = buf_len(&out);
	if (len < 4 || memcmp(text, "kept", 4) != 0)
		abort();
	text += 4;
	len -= 4;

	if (len == 0) {
		if (!is_blank(data, size))
			abort();
		goto out;
	}
	/* One line: a newline at the end and nowhere else. */
	if (text[len - 1] != '\n' || memchr(text, '\n', len - 1) != NULL)
		abort();
	if (json_parse(text, len - 1, &answer) != VEIL_OK)
		abort();
	check_answer(answer, check_success);
out:
	json_free(answer);
	buf_free(&out);
}
