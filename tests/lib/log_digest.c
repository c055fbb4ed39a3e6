#include "log_digest.h"

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
