#include "log_digest.h"

#include <sys/stat.h>

#include <lmdb.h>

#include <string.h>

#include <sodium.h>

/* The leading t bits of a MAC, as an integer. */
static uint32_t
leading(const uint8_t mac[32], unsigned t)
{
	const uint32_t v =
	        (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	return t == 0 ? 0 : t >= 32 ? v : v >> (32 - t);
}

uint32_t
log_digest_requester(const uint8_t salt[32], const uint8_t client_key[32], unsigned t)
{
	static const char label[] = "veil-log-requester-v1";
	uint8_t msg[sizeof(label) - 1 + 32], mac[32];
	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, client_key, 32);
	crypto_auth_hmacsha256(mac, msg, sizeof(msg), salt);
	return leading(mac, t);
}

uint32_t
log_digest_bucket(const uint8_t salt[32], unsigned p, uint32_t prefix, unsigned t)
{
	static const char label[] = "veil-log-bucket-v1";
	const size_t n = sizeof(label) - 1;
	uint8_t msg[sizeof(label) - 1 + 5], mac[32];
	memcpy(msg, label, n);
	msg[n] = (uint8_t)p;
	msg[n + 1] = (uint8_t)(prefix >> 24);
	msg[n + 2] = (uint8_t)(prefix >> 16);
	msg[n + 3] = (uint8_t)(prefix >> 8);
	msg[n + 4] = (uint8_t)prefix;
	crypto_auth_hmacsha256(mac, msg, sizeof(msg), salt);
	return leading(mac, t);
}

static void
put_be(uint8_t *out, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int
log_write_v1(const char *log_dir, uint32_t day, const log_v1_entry *entries, size_t n)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi entries_db, meta;

	if (mkdir(log_dir, 0700) != 0 || mdb_env_create(&env) != 0)
		return -1;
	int rc = mdb_env_set_maxdbs(env, 4);
	if (rc == 0 && (rc = mdb_env_open(env, log_dir, 0, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 &&
	    (rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &entries_db)) == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta)) == 0) {
		MDB_val k = {6, (void *)(uintptr_t) "format"};
		MDB_val v = {11, (void *)(uintptr_t) "veil-log-v1"};
		rc = mdb_put(txn, meta, &k, &v, 0);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const log_v1_entry *o = &entries[i];
		uint8_t key[12], value[8 + 2 + 3 * 2];
		put_be(key, day, 4);
		put_be(key + 4, o->seq, 8);
		value[0] = 1; /* value version */
		value[1] = o->hour;
		put_be(value + 2, o->status, 2);
		value[4] = 10; /* t_r */
		value[5] = 14; /* t_b */
		put_be(value + 6, 3, 2);
		put_be(value + 8, o->requester, 2);
		for (size_t b = 0; b < 3; b++)
			put_be(value + 10 + 2 * b, o->buckets[b], 2);
		MDB_val k = {sizeof(key), key}, v = {sizeof(value), value};
		rc = mdb_put(txn, entries_db, &k, &v, MDB_NOOVERWRITE);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}
