/*
 * Lookups with known answers for the end-to-end tests that do things to
 * servers while clients ask (kill, restart, swap): numbered contacts, the
 * wrong answers among their results, and a thread that looks up without
 * pause, counting what failed, which a test waits on by progress, never
 * by time. A header, as e2e_client.h is; its includer defines
 * _GNU_SOURCE first (asprintf).
 */
#ifndef VEIL_TESTS_E2E_LOOKUPS_H
#define VEIL_TESTS_E2E_LOOKUPS_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "harness.h"
#include "veil_client.h"

/* Contacts in one lookup. */
#define E2E_CONTACTS 16

/*
 * The numbers prefix + 4 digits, 0 .. count - 1; those below registered
 * and even are registered (the registry of the test holds them).
 */
typedef struct e2e_numbers {
	const char *prefix; /* "+1 617 556 " */
	unsigned count;
	unsigned registered;
} e2e_numbers;

/* The number i (mod count), malloc'd. */
static inline char *
e2e_number(const e2e_numbers *n, unsigned i)
{
	char *text;
	if (asprintf(&text, "%s%04u", n->prefix, i % n->count) < 0)
		abort();
	return text;
}

/* Contacts i0 .. i0 + E2E_CONTACTS - 1 into texts (each freed first: NULL or malloc'd). */
static inline void
e2e_contacts_from(const e2e_numbers *n, unsigned i0, char *texts[E2E_CONTACTS])
{
	for (unsigned i = 0; i < E2E_CONTACTS; i++) {
		free(texts[i]);
		texts[i] = e2e_number(n, i0 + i);
	}
}

static inline void
e2e_contacts_free(char *texts[E2E_CONTACTS])
{
	for (unsigned i = 0; i < E2E_CONTACTS; i++) {
		free(texts[i]);
		texts[i] = NULL;
	}
}

/* Wrong answers among results of the contacts from i0 (e2e_contacts_from()). */
static inline unsigned
e2e_wrong_answers(const e2e_numbers *n, unsigned i0, const veil_lookup_result *results)
{
	unsigned wrong = 0;
	for (unsigned i = 0; i < E2E_CONTACTS; i++) {
		const unsigned k = (i0 + i) % n->count;
		const int want = k < n->registered && k % 2 == 0;
		wrong += (results[i].status == VEIL_LOOKUP_REGISTERED) != want;
	}
	return wrong;
}

/*
 * Lookups on a thread of their own (e2e_lookups_main()): one client, made
 * by new_client(arg, a fresh secret, &client), looks up contacts of
 * numbers one lookup after another until stop is set. A failed lookup is
 * said on stdout and counted.
 */
typedef struct e2e_lookups {
	const e2e_numbers *numbers;
	veil_err (*new_client)(const void *arg, const uint8_t secret[VEIL_KEY_SIZE],
	                       veil_client **out);
	const void *arg;
	atomic_uint done; /* lookups answered or failed */
	atomic_int stop;
	unsigned failed, wrong;
} e2e_lookups;

static inline void *
e2e_lookups_main(void *arg)
{
	e2e_lookups *l = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	char *texts[E2E_CONTACTS] = {0};
	veil_lookup_result results[E2E_CONTACTS];
	veil_client *client = NULL;
	if (l->new_client(l->arg, secret, &client) != VEIL_OK) {
		l->failed++;
		return NULL;
	}
	for (unsigned i0 = 0; !atomic_load(&l->stop); i0 = (i0 + 37) % l->numbers->count) {
		e2e_contacts_from(l->numbers, i0, texts);
		const veil_err err = veil_client_lookup(client, (const char *const *)texts,
		                                        E2E_CONTACTS, results);
		if (err != VEIL_OK) {
			printf("# lookup failed: %s: %s\n", veil_strerror(err),
			       veil_client_last_error(client));
			l->failed++;
		} else {
			l->wrong += e2e_wrong_answers(l->numbers, i0, results);
		}
		atomic_fetch_add(&l->done, 1);
	}
	veil_client_free(client);
	e2e_contacts_free(texts);
	return NULL;
}

/* Waiting for the lookups to move on by some: progress, not time. */
typedef struct e2e_progress {
	e2e_lookups *l;
	unsigned until;
} e2e_progress;

static inline int
e2e_progressed(void *arg)
{
	const e2e_progress *p = arg;
	return atomic_load(&p->l->done) >= p->until;
}

/* Waits until n more lookups were answered (or failed); 1 when they were. */
static inline int
e2e_more_lookups(e2e_lookups *l, unsigned n)
{
	e2e_progress p = {l, atomic_load(&l->done) + n};
	return test_wait_until(e2e_progressed, &p);
}

#endif
