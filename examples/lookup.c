/*
 * lookup: which of the contacts on the command line are registered, asked
 * of a veil server with libveil-client.
 *
 *   lookup SERVER-URL SERVER-INFO CLIENT-KEY REGION CONTACT...
 *
 *   SERVER-URL   where veild listens: tcp://HOST:PORT or ipc:///PATH
 *   SERVER-INFO  the server's pins, the output of `veil-admin info`
 *   CLIENT-KEY   this app's key file, as `veil keygen --out FILE` writes it
 *                (enrolled with `veil-admin client add`)
 *   REGION       the ISO 3166 region of phone numbers written without +
 *                ("US"), or - for none
 *   CONTACT      a phone number or an email address, in any usual form
 *
 * Prints one line per contact, tab-separated as `veil lookup` does: the
 * contact as given, its normalized handle, "registered" (and the payload
 * registered with it, if any) or "not registered"; or for a contact that
 * is no phone number or email, "-" and "error: REASON". Exit status: 0
 * when the server answered (whatever the answers), 1 when the lookup
 * failed (the reason on stderr), 2 for a usage error.
 *
 * Build it against an installed libveil-client:
 *
 *   cc -o lookup lookup.c $(pkg-config --cflags --libs veil-client)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/veil_client.h>

/* Zeroes a secret in a way the compiler may not drop as a dead store. */
static void
wipe(void *p, size_t n)
{
	volatile unsigned char *b = p;
	while (n-- > 0)
		*b++ = 0;
}

/* Prints a payload as text when it is printable, else its length. */
static void
print_payload(const veil_lookup_result *r)
{
	for (size_t i = 0; i < r->payload_len; i++) {
		if (!isprint(r->payload[i])) {
			printf("\t(%zu bytes)", r->payload_len);
			return;
		}
	}
	printf("\t%.*s", (int)r->payload_len, (const char *)r->payload);
}

int
main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr,
		        "usage: lookup SERVER-URL SERVER-INFO CLIENT-KEY REGION CONTACT...\n"
		        "(libveil-client %s)\n",
		        veil_client_version());
		return 2;
	}
	const char *const *contacts = (const char *const *)argv + 5;
	const size_t count = (size_t)argc - 5;

	/* 1. The options: where the server is, and what to pin of it. The
	 * server info sets the server's key, its OPRF mode and keys (and its
	 * token issuer, for a registry in tokens mode, which this example
	 * does not handle). */
	veil_client_options options = {
	        .server_url = argv[1],
	        .region = strcmp(argv[4], "-") == 0 ? NULL : argv[4],
	};
	veil_err err = veil_server_info_read(argv[2], &options);
	if (err != VEIL_OK) {
		fprintf(stderr, "lookup: %s: %s\n", argv[2], veil_strerror(err));
		return 1;
	}
	if (options.auth != VEIL_AUTH_KEYS) {
		fprintf(stderr, "lookup: %s: a tokens-mode server (see veil tokens fetch)\n",
		        argv[2]);
		return 1;
	}

	/* 2. The client key: a secret, refused when others may read its file.
	 * The client keeps a copy in guarded memory, so ours is wiped at once. */
	uint8_t secret[VEIL_KEY_SIZE];
	err = veil_client_key_read(argv[3], secret);
	if (err != VEIL_OK) {
		fprintf(stderr, "lookup: %s: %s\n", argv[3], veil_strerror(err));
		return 1;
	}
	options.client_secret = secret;
	veil_client *client = NULL;
	err = veil_client_new(&options, &client);
	wipe(secret, sizeof(secret));
	if (err != VEIL_OK) {
		fprintf(stderr, "lookup: %s\n", veil_strerror(err));
		return 1;
	}

	/* 3. The lookup: one result per contact, in their order. The server
	 * sees blinded elements and short bucket prefixes, never a contact. */
	veil_lookup_result *results = calloc(count, sizeof(*results));
	if (results == NULL) {
		veil_client_free(client);
		fprintf(stderr, "lookup: out of memory\n");
		return 1;
	}
	err = veil_client_lookup(client, contacts, count, results);
	if (err != VEIL_OK) {
		/* veil_client_last_error() says more, and never names a contact. */
		fprintf(stderr, "lookup: %s (%s)\n", veil_strerror(err),
		        veil_client_last_error(client));
	} else {
		for (size_t i = 0; i < count; i++) {
			const veil_lookup_result *r = &results[i];
			if (r->status == VEIL_LOOKUP_INVALID) {
				printf("%s\t-\terror: %s\n", contacts[i], r->error);
				continue;
			}
			printf("%s\t%s\t%s", contacts[i], r->handle,
			       r->status == VEIL_LOOKUP_REGISTERED ? "registered"
			                                           : "not registered");
			if (r->has_payload)
				print_payload(r);
			printf("\n");
		}
	}

	/* 4. The client wipes its keys, and the answers are wiped too: which
	 * contacts are registered is the user's own business. */
	wipe(results, count * sizeof(*results));
	free(results);
	veil_client_free(client);
	return err == VEIL_OK ? 0 : 1;
}
