/*
 * veil-oprf-demo: one RFC 9497 VOPRF round trip between a client and a
 * server object in one process, narrated step by step. It shows what each
 * side holds and what crosses the wire; element values are shown only as
 * short fingerprints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "oprf.h"

#define PROGRAM "veil-oprf-demo"

#define MAX_CONTACTS 4

static const char *const registered[] = {
        "tel:+14155550100",
        "mailto:ann@example.org",
        "tel:+442079460018",
};

static const char *const contacts[MAX_CONTACTS] = {
        "tel:+14155550100",
        "mailto:bob@example.net",
        "mailto:ann@example.org",
        "tel:+14155550199",
};

/* First 8 bytes in hex: enough to tell values apart on screen. */
static const char *
fingerprint(const uint8_t *b, char out[17])
{
	sodium_bin2hex(out, 17, b, 8);
	return out;
}

static int
fail(const char *step, veil_err err)
{
	cli_error(PROGRAM, "%s: %s", step, veil_strerror(err));
	return 1;
}

static void
print_help(void)
{
	printf("Runs one RFC 9497 VOPRF round trip (ristretto255-SHA512) between a client\n"
	       "and a server in this process and prints each step.\n");
}

int
main(int argc, char **argv)
{
	static const cli_command cmd = {PROGRAM, "[--help | --version]", NULL};
	const int parsed = cli_parse_options(&cmd, argc, argv, print_help);
	if (parsed >= 0)
		return parsed;
	if (veil_crypto_init() != VEIL_OK)
		return fail("init", VEIL_ERR_CRYPTO);

	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;
	veil_err err;
	char fp[17];
	int rc = 1;

	if ((err = oprf_ctx_new(suite, OPRF_MODE_VOPRF, &ctx)) != VEIL_OK)
		return fail("context", err);
	printf("suite %s, mode VOPRF (0x01)\n\n", oprf_suite_name(suite));

	/* 1. The server's key; clients pin its public half. */
	if ((err = oprf_key_generate(suite, &key)) != VEIL_OK) {
		fail("server key", err);
		goto out;
	}
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
	oprf_key_public(key, pk);
	printf("1. server   makes OPRF key k; publishes pkS = k*G  %s...\n", fingerprint(pk, fp));

	/* 2. The registry: F(k, handle) for each registered handle. */
	uint8_t registry[3][OPRF_MAX_HASH_SIZE];
	const size_t nh = oprf_suite_output_size(suite);
	for (size_t i = 0; i < 3; i++) {
		const char *h = registered[i];
		if ((err = oprf_evaluate(ctx, key, NULL, 0, (const uint8_t *)h, strlen(h),
		                         registry[i])) != VEIL_OK) {
			fail("registry", err);
			goto out;
		}
	}
	printf("2. server   registry holds F(k, handle) for %d registered handles\n\n", 3);

	/* 3. The client blinds its contacts. */
	const size_t ne = oprf_suite_element_size(suite), ns = oprf_suite_scalar_size(suite);
	uint8_t blinds[MAX_CONTACTS * OPRF_MAX_SCALAR_SIZE];
	uint8_t blinded[MAX_CONTACTS * OPRF_MAX_ELEMENT_SIZE];
	uint8_t evaluated[MAX_CONTACTS * OPRF_MAX_ELEMENT_SIZE];
	const uint8_t *inputs[MAX_CONTACTS];
	size_t input_lens[MAX_CONTACTS];
	printf("3. client   blinds each contact with a fresh random r: B = r * HashToGroup(x)\n");
	for (size_t i = 0; i < MAX_CONTACTS; i++) {
		inputs[i] = (const uint8_t *)contacts[i];
		input_lens[i] = strlen(contacts[i]);
		if ((err = oprf_blind(ctx, inputs[i], input_lens[i], NULL, blinds + i * ns,
		                      blinded + i * ne)) != VEIL_OK) {
			fail("blind", err);
			goto out;
		}
		printf("           %-24s -> B %s...\n", contacts[i],
		       fingerprint(blinded + i * ne, fp));
	}

	/* 4. The server evaluates what it receives: elements only. */
	uint8_t proof[OPRF_MAX_PROOF_SIZE];
	if ((err = oprf_blind_evaluate(ctx, key, NULL, 0, MAX_CONTACTS, blinded, evaluated, NULL,
	                               proof)) != VEIL_OK) {
		fail("blind evaluate", err);
		goto out;
	}
	printf("\n4. server   receives %d random-looking elements; returns Z = k*B for each\n"
	       "           and one DLEQ proof for the batch  %s...\n\n",
	       MAX_CONTACTS, fingerprint(proof, fp));

	/* 5. The client verifies, unblinds and matches. */
	uint8_t outputs[MAX_CONTACTS * OPRF_MAX_HASH_SIZE];
	if ((err = oprf_finalize(ctx, pk, NULL, 0, MAX_CONTACTS, inputs, input_lens, blinds,
	                         blinded, evaluated, proof, outputs)) != VEIL_OK) {
		fail("finalize", err);
		goto out;
	}
	printf("5. client   verifies the proof against pkS, unblinds, y = Finalize(x, Z / r):\n");
	for (size_t i = 0; i < MAX_CONTACTS; i++) {
		int found = 0;
		for (size_t j = 0; j < 3; j++)
			found |= sodium_memcmp(outputs + i * nh, registry[j], nh) == 0;
		printf("           %-24s y %s...  %s\n", contacts[i],
		       fingerprint(outputs + i * nh, fp), found ? "registered" : "not registered");
	}

	/* 6. A server that cheats is caught. */
	proof[0] ^= 1;
	err = oprf_finalize(ctx, pk, NULL, 0, MAX_CONTACTS, inputs, input_lens, blinds, blinded,
	                    evaluated, proof, outputs);
	printf("\n6. client   with one bit of the proof flipped: %s\n",
	       err == VEIL_ERR_VERIFY ? "rejected (proof verification failed)" : "NOT REJECTED");
	rc = err == VEIL_ERR_VERIFY ? 0 : 1;
out:
	sodium_memzero(blinds, sizeof(blinds));
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return rc;
}
