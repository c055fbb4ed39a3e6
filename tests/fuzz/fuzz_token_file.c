/*
 * Fuzzes tokens_parse, the reader of a client's token file (its format
 * is in client/veil_client.h). Whatever the input:
 *
 *   - it parses, or is refused as VEIL_ERR_CORRUPT with nothing returned;
 *   - what parses is written back byte for byte (one way to write a
 *     token file), except for the case of the hex digits, and reads the
 *     same again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tokens.h"
#include "veil_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sodium_init() < 0)
		abort();
	token *tokens = NULL;
	size_t count = 0;
	const veil_err err = tokens_parse((const char *)data, size, &tokens, &count);
	if (err != VEIL_OK) {
		if (err != VEIL_ERR_CORRUPT || tokens != NULL || count != 0)
			abort();
		return 0;
	}
	const size_t head = sizeof(TOKENS_FILE_HEADER) - 1, line = 2 * TOKEN_SIZE + 1;
	if (count > VEIL_MAX_TOKENS || size != head + count * line)
		abort();
	/* Written back: the header, then each token's hex, lower case. */
	char *text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, TOKENS_FILE_HEADER, head);
	for (size_t i = 0; i < count; i++) {
		uint8_t raw[TOKEN_SIZE];
		token_encode(&tokens[i], raw);
		sodium_bin2hex(text + head + i * line, line, raw, TOKEN_SIZE);
		text[head + i * line + line - 1] = '\n';
	}
	for (size_t i = 0; i < size; i++) {
		const char c = (char)data[i];
		const char lower = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
		if (text[i] != lower)
			abort();
	}
	token *again = NULL;
	size_t again_count = 0;
	if (tokens_parse(text, size, &again, &again_count) != VEIL_OK || again_count != count ||
	    memcmp(again, tokens, count * sizeof(*tokens)) != 0)
		abort();
	free(text);
	sodium_free(again);
	sodium_free(tokens);
	return 0;
}
