/*
 * A synthetic population for the exposure simulation (veil-exposure-sim):
 * users with a phone number of the NANP (the area codes in the source,
 * exchanges 200..999 but N11, any line; every number passes
 * libphonenumber) and some with an email; address books mixing other
 * users' handles with numbers of people outside the population; which
 * handles are registered; and the plan of lookups, day by day: every user
 * checks the whole book on day 0, then each day a random 1/7 of users
 * re-check it all and the others look up 0 to 3 contacts they just
 * added. Deterministic for a seed.
 *
 * May use: common/ and the exposure analysis (server/exposure/exposure.h)
 * for the types a report and an analysis take.
 *
 * Thread safety: immutable once built; read from any number of threads.
 * veil_crypto_init() must have succeeded first.
 */
#ifndef VEIL_BENCH_EXPOSURE_POPULATION_H
#define VEIL_BENCH_EXPOSURE_POPULATION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "exposure.h"

/* Area codes the simulator draws from; each has 792 exchanges of 10^4 lines. */
#define EXPOSURE_NANP_AREA_CODES  275
/* Hours of the day at which simulated users check (veild restarts at each). */
#define EXPOSURE_HOUR_SLOTS       4
#define EXPOSURE_MAX_USERS        10000000u
#define EXPOSURE_MAX_CONTACTS     4096u
#define EXPOSURE_MAX_PADDING      50000000u
/* New contacts a user adds on a day without a full re-check: 0..this. */
#define EXPOSURE_MAX_NEW_CONTACTS 3u

/* The hour (0..23) of slot i (0..EXPOSURE_HOUR_SLOTS-1). */
unsigned exposure_hour_slot(unsigned i);

typedef struct exposure_population exposure_population;

/* One check by one user: contacts book[first .. first + count) of that user. */
typedef struct exposure_request {
	uint32_t user;
	uint32_t day;
	uint8_t hour_slot;
	uint32_t first, count;
} exposure_request;

/*
 * Builds the population and its whole plan. Takes about 30 us per phone
 * number (each is checked with libphonenumber). *out is NULL on error.
 * Errors: VEIL_ERR_ARGUMENT (a field out of range), VEIL_ERR_NOMEM,
 * VEIL_ERR_INVALID_INPUT (no valid new number found in 1000 draws: the
 * plan is exhausted, or libphonenumber rejects it), VEIL_ERR_CRYPTO.
 */
veil_err exposure_population_new(const exposure_population_config *config,
                                 exposure_population **out) __attribute__((warn_unused_result));

/* Wipes the users' secret keys and frees. NULL is a no-op. */
void exposure_population_free(exposure_population *pop);

uint32_t exposure_population_users(const exposure_population *pop);

/* User i's X25519 secret (guarded memory) and public key, 32 bytes each,
 * valid until the population is freed. */
const uint8_t *exposure_user_secret(const exposure_population *pop, uint32_t user);
const uint8_t *exposure_user_public(const exposure_population *pop, uint32_t user);

/* All users' public keys, 32 bytes each, in user order. */
const uint8_t *exposure_population_accounts(const exposure_population *pop);

/* A synthetic client address of user i (100.64.0.0/10), for the baseline. */
uint32_t exposure_user_address(uint32_t user);

/*
 * Handles are numbered 0..count-1: the users' own, people outside the
 * population, and the registry padding. normalized is the typed handle
 * ("tel:+14155550100"), written how an address book has it.
 */
size_t exposure_population_handles(const exposure_population *pop);
const char *exposure_handle_normalized(const exposure_population *pop, uint32_t handle);
const char *exposure_handle_written(const exposure_population *pop, uint32_t handle);
uint32_t exposure_handle_bucket(const exposure_population *pop, uint32_t handle);
int exposure_handle_registered(const exposure_population *pop, uint32_t handle);

/* The registered handles, one per line, as `veil-admin import` reads them. */
veil_err exposure_population_registry_file(const exposure_population *pop, buf *out)
        __attribute__((warn_unused_result));

/* The sorted buckets of every registered handle (what the registry holds). */
const uint32_t *exposure_population_registered_buckets(const exposure_population *pop,
                                                       size_t *count);

/* The requests of day, ordered by hour slot then user. */
const exposure_request *exposure_population_day(const exposure_population *pop, uint32_t day,
                                                size_t *count);

/* The handle ids a request looks up (request->count of them). */
const uint32_t *exposure_request_contacts(const exposure_population *pop,
                                          const exposure_request *request);

/* Handles looked up over the whole plan (sum of request counts). */
uint64_t exposure_population_lookups(const exposure_population *pop);

/* The share of those lookups whose handle is not registered. */
double exposure_population_unregistered_share(const exposure_population *pop);

/*
 * Samples count true pairs (a user and a contact it looked up) and count
 * false ones (a user and a handle of the population or an outsider it
 * never looked up) into pairs (2 * count), deterministically from seed.
 * day_zero is the epoch day simulated day 0 was run as.
 */
void exposure_population_pairs(const exposure_population *pop, uint64_t seed, uint32_t day_zero,
                               size_t count, exposure_pair *pairs);
#endif
