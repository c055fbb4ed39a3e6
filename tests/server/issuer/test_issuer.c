/*
 * The token issuer's core (server/issuer/issuer.h) on real key files and
 * LMDB stores in temporary directories: a client's requests answered and
 * finalized into tokens that verify; enrolment, the daily ration and the
 * current key refusing without charging; rotation and retirement; key
 * file permissions and damage; and what the files hold after issuance.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "issuer.h"
#include "proc.h"

#define DAY      86400
#define NOW      ((int64_t)20000 * DAY + 12 * 3600) /* noon of a UTC day */
#define MAX_REQS 8
#define NAME     "issuer.example.org"

static const uint8_t challenge[] = {0x00, 0x01, 0x00, 0x04, 'v', 'e', 'i', 'l', 0x00, 0x00, 0x00};

/* A client's pending requests, and the secrets it keeps to finalize them. */
typedef struct pending {
	size_t count;
	uint8_t pk[TOKEN_ELEMENT_SIZE];
	uint8_t nonce[MAX_REQS][TOKEN_NONCE_SIZE];
	uint8_t blind[MAX_REQS][TOKEN_SCALAR_SIZE];
	token_request req[MAX_REQS];
	token_response resp[MAX_REQS];
} pending;

/* A new issuer state in a case directory, opened with a ration of quota a day. */
static issuer *
fresh(const char **dir_out, uint32_t quota)
{
	const char *dir = test_case_path("issuer");
	issuer_config config;
	issuer *is = NULL;
	if (issuer_create(dir, NAME) != VEIL_OK)
		return NULL;
	issuer_config_defaults(&config);
	config.clients.capacity = quota;
	config.clients.refill_per_day = quota;
	if (issuer_open(dir, &config, &is) != VEIL_OK)
		return NULL;
	*dir_out = dir;
	return is;
}

static issuer *
reopen(issuer *is, const char *dir)
{
	issuer_close(is);
	is = NULL;
	if (issuer_open(dir, NULL, &is) != VEIL_OK)
		return NULL;
	return is;
}

static void
client_key(uint8_t out[ISSUER_CLIENT_KEY_SIZE], uint8_t seed)
{
	memset(out, 0, ISSUER_CLIENT_KEY_SIZE);
	out[0] = 0xc1;
	out[1] = seed;
	out[31] = 0x5e;
}

static int
enrol(issuer *is, const uint8_t key[ISSUER_CLIENT_KEY_SIZE], int64_t now)
{
	return clients_enrol(issuer_clients(is), key, 0, now, NULL) == VEIL_OK;
}

/* count requests for the current key of is. */
static int
make_requests(issuer *is, pending *p, size_t count)
{
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t n = 0;
	memset(p, 0, sizeof(*p));
	if (issuer_keys(is, keys, &n) != VEIL_OK || n == 0)
		return 0;
	memcpy(p->pk, keys[0].public_key, TOKEN_ELEMENT_SIZE);
	p->count = count;
	for (size_t i = 0; i < count; i++)
		if (token_client_request(p->pk, challenge, sizeof(challenge), NULL, NULL,
		                         p->nonce[i], p->blind[i], &p->req[i]) != VEIL_OK)
			return 0;
	return 1;
}

/* Finalizes p's responses into tokens; 1 when every one finalizes. */
static int
finalize(const pending *p, token out[])
{
	for (size_t i = 0; i < p->count; i++)
		if (token_client_finalize(p->pk, challenge, sizeof(challenge), p->nonce[i],
		                          p->blind[i], &p->resp[i], &out[i]) != VEIL_OK)
			return 0;
	return 1;
}

static int
verifies(const issuer *is, const token *t, int64_t now)
{
	const oprf_key *key = issuer_key(is, t->token_key_id, now);
	int valid = 0;
	return key != NULL && token_verify(key, t, &valid) == VEIL_OK && valid == 1;
}

typedef struct find {
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	uint32_t tokens;
	int found;
} find;

static int
find_record(void *arg, const clients_record *r)
{
	find *f = arg;
	if (memcmp(r->digest, f->digest, CLIENTS_DIGEST_SIZE) != 0)
		return 0;
	f->tokens = r->tokens;
	f->found = 1;
	return 1;
}

/* The tokens key has left at now; UINT32_MAX when it has no record. */
static uint32_t
tokens_left(issuer *is, const uint8_t key[ISSUER_CLIENT_KEY_SIZE], int64_t now)
{
	find f = {{0}, 0, 0};
	clients_digest(issuer_clients(is), key, f.digest);
	if (clients_list(issuer_clients(is), now, find_record, &f) != VEIL_OK || !f.found)
		return UINT32_MAX;
	return f.tokens;
}

static int
all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n);
}

/* ------------------------------------------------------------------ */

static void
case_create_open(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	issuer_key_info keys[ISSUER_MAX_KEYS];
	uint8_t id[TOKEN_KEY_ID_SIZE];
	size_t n = 0;
	REQUIRE(is != NULL);
	test_defer((void (*)(void *))issuer_close, is);
	CHECK(issuer_keys(is, keys, &n) == VEIL_OK);
	REQUIRE(n == 1);
	CHECK(keys[0].id == ISSUER_FIRST_KEY_ID);
	CHECK(keys[0].not_after == 0);
	crypto_hash_sha256(id, keys[0].public_key, TOKEN_ELEMENT_SIZE);
	CHECK(memcmp(id, keys[0].token_key_id, TOKEN_KEY_ID_SIZE) == 0);
	CHECK(keys[0].truncated_token_key_id == id[TOKEN_KEY_ID_SIZE - 1]);
	CHECK(access(proc_path(dir, "issuer-00000001.key"), F_OK) == 0);
	CHECK(access(proc_path(dir, ISSUER_KEYS_FILE), F_OK) == 0);
	CHECK(access(proc_path(dir, CLIENTS_KEY_FILE), F_OK) == 0);
	CHECK(access(proc_path(dir, "transport.key"), F_OK) == 0);
	CHECK(access(proc_path(dir, ISSUER_NAME_FILE), F_OK) == 0);
	/* A second create touches nothing. */
	CHECK(issuer_create(dir, NAME) == VEIL_ERR_EXISTS);
	issuer *none = (issuer *)1;
	CHECK(issuer_open(proc_path(dir, "absent"), NULL, &none) == VEIL_ERR_NOT_FOUND);
	CHECK(none == NULL);
}

static void
case_end_to_end(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	token tokens[MAX_REQS];
	uint32_t retry = 99;
	pending p;
	REQUIRE(is != NULL);
	client_key(ck, 1);
	REQUIRE(enrol(is, ck, NOW));
	REQUIRE(make_requests(is, &p, 3));
	CHECK(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_OK);
	CHECK(retry == 0);
	REQUIRE(finalize(&p, tokens));
	for (size_t i = 0; i < p.count; i++)
		CHECK(verifies(is, &tokens[i], NOW));
	CHECK(tokens_left(is, ck, NOW) == 7);
	/* An altered token does not verify. */
	tokens[0].authenticator[0] ^= 1;
	CHECK(!verifies(is, &tokens[0], NOW));
	issuer_close(is);
}

static void
case_unenrolled(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	uint32_t retry = 99;
	pending p;
	REQUIRE(is != NULL);
	client_key(ck, 2);
	REQUIRE(make_requests(is, &p, 2));
	CHECK(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_ERR_PERMISSION);
	CHECK(retry == 0);
	CHECK(all_zero(p.resp, sizeof(p.resp)));
	CHECK(tokens_left(is, ck, NOW) == UINT32_MAX); /* no record made */
	/* Enrolled later: a full ration, nothing was taken. */
	REQUIRE(enrol(is, ck, NOW));
	CHECK(tokens_left(is, ck, NOW) == 10);
	issuer_close(is);
}

static void
case_ration(void)
{
	const char *dir = NULL;
	const uint32_t quota = 4;
	issuer *is = fresh(&dir, quota);
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	token tokens[MAX_REQS];
	uint32_t retry = 0;
	pending p;
	REQUIRE(is != NULL);
	client_key(ck, 3);
	REQUIRE(enrol(is, ck, NOW));
	/* The day's ration, in two batches. */
	REQUIRE(make_requests(is, &p, 3));
	CHECK(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_OK);
	REQUIRE(make_requests(is, &p, 1));
	CHECK(issuer_issue(is, ck, NOW + 60, p.req, p.count, p.resp, &retry) == VEIL_OK);
	CHECK(tokens_left(is, ck, NOW + 60) == 0);
	/* The next request, that day: refused until midnight. */
	REQUIRE(make_requests(is, &p, 1));
	CHECK(issuer_issue(is, ck, NOW + 120, p.req, p.count, p.resp, &retry) == VEIL_ERR_LIMIT);
	CHECK(retry > 0 && retry <= DAY);
	CHECK(retry == (uint32_t)(((NOW / DAY) + 1) * DAY - (NOW + 120)));
	CHECK(all_zero(p.resp, sizeof(p.resp)));
	/* More than a full bucket can never fit. */
	REQUIRE(make_requests(is, &p, quota + 1));
	CHECK(issuer_issue(is, ck, NOW + 120, p.req, p.count, p.resp, &retry) == VEIL_ERR_LIMIT);
	CHECK(retry == ISSUER_RETRY_NEVER);
	/* After midnight: issued again. */
	int64_t tomorrow = ((NOW / DAY) + 1) * DAY + 1;
	REQUIRE(make_requests(is, &p, quota));
	CHECK(issuer_issue(is, ck, tomorrow, p.req, p.count, p.resp, &retry) == VEIL_OK);
	CHECK(retry == 0);
	CHECK(finalize(&p, tokens));
	CHECK(verifies(is, &tokens[0], tomorrow));
	issuer_close(is);
}

static void
case_unknown_key(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	uint32_t retry = 99;
	pending p;
	REQUIRE(is != NULL);
	client_key(ck, 4);
	REQUIRE(enrol(is, ck, NOW));
	REQUIRE(make_requests(is, &p, 3));
	p.req[1].truncated_token_key_id ^= 0x01; /* one request of the batch */
	CHECK(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_ERR_NOT_FOUND);
	CHECK(retry == 0);
	CHECK(all_zero(p.resp, sizeof(p.resp)));
	CHECK(tokens_left(is, ck, NOW) == 10);
	/* A bad element refuses without charging too. */
	REQUIRE(make_requests(is, &p, 2));
	memset(p.req[1].blinded_msg, 0xff, TOKEN_ELEMENT_SIZE);
	CHECK(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_ERR_ELEMENT);
	CHECK(all_zero(p.resp, sizeof(p.resp)));
	CHECK(tokens_left(is, ck, NOW) == 10);
	issuer_close(is);
}

static void
case_rotate_retire(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	issuer_key_info keys[ISSUER_MAX_KEYS];
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	token old_tokens[MAX_REQS], tokens[MAX_REQS];
	issuer_rotation rot;
	uint32_t retry = 0;
	size_t n = 0;
	pending p, old;
	REQUIRE(is != NULL);
	client_key(ck, 5);
	REQUIRE(enrol(is, ck, NOW));
	REQUIRE(make_requests(is, &old, 2));
	REQUIRE(issuer_issue(is, ck, NOW, old.req, old.count, old.resp, &retry) == VEIL_OK);
	REQUIRE(finalize(&old, old_tokens));

	/* Rotate with a day's grace. */
	CHECK(issuer_rotate(dir, NOW + 10, 24, &rot) == VEIL_OK);
	CHECK(rot.new_key_id == 2);
	CHECK(rot.removed_count == 0);
	REQUIRE((is = reopen(is, dir)) != NULL);
	REQUIRE(issuer_keys(is, keys, &n) == VEIL_OK);
	REQUIRE(n == 2);
	CHECK(keys[0].id == 2 && keys[0].not_after == 0);
	CHECK(keys[1].id == 1 && keys[1].not_after == (uint64_t)(NOW + 10 + DAY));
	CHECK(keys[0].truncated_token_key_id != keys[1].truncated_token_key_id);
	/* Old tokens still verify; requests under the old key are refused, uncharged. */
	CHECK(verifies(is, &old_tokens[0], NOW + 20));
	CHECK(verifies(is, &old_tokens[1], NOW + 20));
	uint32_t before = tokens_left(is, ck, NOW + 20);
	CHECK(issuer_issue(is, ck, NOW + 20, old.req, old.count, old.resp, &retry) ==
	      VEIL_ERR_NOT_FOUND);
	CHECK(tokens_left(is, ck, NOW + 20) == before);
	/* New requests get tokens under the new key. */
	REQUIRE(make_requests(is, &p, 1));
	CHECK(memcmp(p.pk, keys[0].public_key, TOKEN_ELEMENT_SIZE) == 0);
	CHECK(issuer_issue(is, ck, NOW + 20, p.req, p.count, p.resp, &retry) == VEIL_OK);
	CHECK(finalize(&p, tokens));
	CHECK(verifies(is, &tokens[0], NOW + 20));
	/* Past the grace, the old key no longer verifies, even loaded. */
	CHECK(!verifies(is, &old_tokens[0], NOW + 10 + DAY));

	/* Retiring before the deadline drops nothing. */
	CHECK(issuer_retire(dir, NOW + 30, &rot) == VEIL_OK);
	CHECK(rot.removed_count == 0);
	CHECK(access(proc_path(dir, "issuer-00000001.key"), F_OK) == 0);
	/* At the deadline: gone from the list and from disk. */
	CHECK(issuer_retire(dir, NOW + 10 + DAY, &rot) == VEIL_OK);
	CHECK(rot.removed_count == 1 && rot.removed[0] == 1);
	CHECK(rot.erased_files == 1);
	CHECK(access(proc_path(dir, "issuer-00000001.key"), F_OK) != 0);
	REQUIRE((is = reopen(is, dir)) != NULL);
	REQUIRE(issuer_keys(is, keys, &n) == VEIL_OK);
	CHECK(n == 1 && keys[0].id == 2);
	CHECK(!verifies(is, &old_tokens[0], NOW + 20));
	CHECK(verifies(is, &tokens[0], NOW + 20));
	issuer_close(is);
}

static void
case_orphan(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	issuer_rotation rot;
	REQUIRE(is != NULL);
	issuer_close(is);
	/* A killed rotation's key file, never listed: erased by the next rotation. */
	int fd = open(proc_path(dir, "issuer-00000002.key"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(issuer_rotate(dir, NOW, 1, &rot) == VEIL_OK);
	CHECK(rot.new_key_id == 2);
	CHECK(rot.erased_files == 1);
	REQUIRE(issuer_open(dir, NULL, &is) == VEIL_OK);
	issuer_close(is);
}

static void
case_key_files(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 10);
	struct stat st;
	REQUIRE(is != NULL);
	issuer_close(is);
	is = NULL;
	const char *key = proc_path(dir, "issuer-00000001.key");
	REQUIRE(stat(key, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	/* Readable by others: refused. */
	REQUIRE(chmod(key, 0644) == 0);
	CHECK(issuer_open(dir, NULL, &is) == VEIL_ERR_PERMISSION);
	CHECK(is == NULL);
	REQUIRE(chmod(key, 0600) == 0);
	REQUIRE(issuer_open(dir, NULL, &is) == VEIL_OK);
	issuer_close(is);
	is = NULL;
	/* Damaged: a clear error. */
	static const char bad[] = "veil-issuer-key-v1 00zz\n";
	proc_write_file(key, bad, sizeof(bad) - 1);
	REQUIRE(chmod(key, 0600) == 0);
	CHECK(issuer_open(dir, NULL, &is) == VEIL_ERR_CORRUPT);
	CHECK(is == NULL);
	/* A damaged key list too. */
	static const char list[] = "veil-issuer-keys-v1\n00000001 7\n";
	proc_write_file(proc_path(dir, ISSUER_KEYS_FILE), list, sizeof(list) - 1);
	CHECK(issuer_open(dir, NULL, &is) == VEIL_ERR_CORRUPT);
	CHECK(issuer_rotate(dir, NOW, 1, NULL) == VEIL_ERR_CORRUPT);
}

static void
case_files_hold_nothing(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 20);
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	uint32_t retry = 0;
	pending p;
	REQUIRE(is != NULL);
	client_key(ck, 6);
	REQUIRE(enrol(is, ck, NOW));
	REQUIRE(make_requests(is, &p, MAX_REQS));
	REQUIRE(issuer_issue(is, ck, NOW, p.req, p.count, p.resp, &retry) == VEIL_OK);
	REQUIRE(issuer_rotate(dir, NOW, 1, NULL) == VEIL_OK);
	issuer_close(is);
	CHECK(!proc_tree_holds(dir, ck, sizeof(ck)));
	for (size_t i = 0; i < p.count; i++) {
		CHECK(!proc_tree_holds(dir, p.req[i].blinded_msg, TOKEN_ELEMENT_SIZE));
		CHECK(!proc_tree_holds(dir, p.resp[i].evaluate_msg, TOKEN_ELEMENT_SIZE));
		CHECK(!proc_tree_holds(dir, p.nonce[i], TOKEN_NONCE_SIZE));
	}
	/* The scan finds what is there: issuer.keys holds its header. */
	CHECK(proc_tree_holds(dir, ISSUER_KEYS_HEADER, strlen(ISSUER_KEYS_HEADER)));
}

/* issuer_open_keys(): the keys a redeeming origin needs, no clients, no issuing. */
static void
case_keys_only(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 4), *keys = NULL;
	CHECK(is != NULL);
	if (is == NULL)
		return;
	issuer_key_info a[ISSUER_MAX_KEYS], b[ISSUER_MAX_KEYS];
	size_t na = 0, nb = 0;
	CHECK(issuer_keys(is, a, &na) == VEIL_OK);
	CHECK(issuer_open_keys(dir, &keys) == VEIL_OK);
	CHECK(keys != NULL && issuer_clients(keys) == NULL);
	CHECK(issuer_keys(keys, b, &nb) == VEIL_OK);
	CHECK(na == 1 && nb == 1 && memcmp(&a[0], &b[0], sizeof(a[0])) == 0);
	CHECK(issuer_key(keys, a[0].token_key_id, NOW) != NULL);

	pending p;
	uint8_t ck[ISSUER_CLIENT_KEY_SIZE];
	uint32_t retry = 7;
	client_key(ck, 1);
	CHECK(enrol(is, ck, NOW));
	CHECK(make_requests(is, &p, 1));
	CHECK(issuer_issue(keys, ck, NOW, p.req, 1, p.resp, &retry) == VEIL_ERR_UNSUPPORTED);
	CHECK(retry == 0);
	issuer_close(keys);
	keys = NULL;
	CHECK(issuer_open_keys(test_case_path("none"), &keys) == VEIL_ERR_NOT_FOUND);
	CHECK(keys == NULL);
	issuer_close(is);
}

/* The name file: written whole, read back, damage and bad names refused. */
static void
case_name(void)
{
	const char *dir = test_case_path("named");
	char name[ISSUER_NAME_MAX + 1], longest[ISSUER_NAME_MAX + 2];
	memset(longest, 'a', sizeof(longest) - 1);
	longest[ISSUER_NAME_MAX + 1] = '\0';
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(issuer_name_read(dir, name) == VEIL_ERR_NOT_FOUND);
	CHECK(name[0] == '\0');
	static const char *const bad[] = {"", "two words", "tab\there", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!token_name_valid(bad[i]));
		CHECK(issuer_name_write(dir, bad[i]) == VEIL_ERR_ARGUMENT);
	}
	CHECK(issuer_name_write(dir, longest) == VEIL_ERR_ARGUMENT);
	longest[ISSUER_NAME_MAX] = '\0';
	CHECK(issuer_name_write(dir, longest) == VEIL_OK);
	CHECK(issuer_name_read(dir, name) == VEIL_OK);
	CHECK(strcmp(name, longest) == 0);
	CHECK(issuer_name_write(dir, "issuer.example.org") == VEIL_OK);
	CHECK(issuer_name_read(dir, name) == VEIL_OK);
	CHECK(strcmp(name, "issuer.example.org") == 0);

	static const char *const damaged[] = {"no-newline", "two\nlines\n", "\n", "sp ace\n"};
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, ISSUER_NAME_FILE);
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f == NULL)
			return;
		fputs(damaged[i], f);
		fclose(f);
		CHECK(issuer_name_read(dir, name) == VEIL_ERR_CORRUPT);
		CHECK(name[0] == '\0');
	}
}

/* What create writes besides the keys: the name, the transport key. */
static void
case_create_writes_name_and_transport_key(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 4), *keys = NULL;
	char name[ISSUER_NAME_MAX + 1];
	struct stat st;
	REQUIRE(is != NULL);
	CHECK(issuer_name_read(dir, name) == VEIL_OK);
	CHECK(strcmp(name, NAME) == 0);
	const char *path = proc_path(dir, "transport.key");
	REQUIRE(stat(path, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);

	/* The file holds veild's kind of key; the handle's pair is its. */
	uint8_t secret[ISSUER_TRANSPORT_KEY_SIZE], pub[ISSUER_TRANSPORT_KEY_SIZE],
	        read_pub[ISSUER_TRANSPORT_KEY_SIZE];
	char text[200], hex[2 * ISSUER_TRANSPORT_KEY_SIZE + 1];
	FILE *f = fopen(path, "r");
	REQUIRE(f != NULL);
	CHECK(fgets(text, sizeof(text), f) != NULL);
	fclose(f);
	CHECK(sscanf(text, "veil-transport-key-v1 %64s", hex) == 1);
	CHECK(sodium_hex2bin(secret, sizeof(secret), hex, strlen(hex), NULL, NULL, NULL) == 0);
	CHECK(crypto_scalarmult_base(pub, secret) == 0);
	REQUIRE(issuer_transport_public(is) != NULL && issuer_transport_secret(is) != NULL);
	CHECK(memcmp(issuer_transport_public(is), pub, sizeof(pub)) == 0);
	CHECK(memcmp(issuer_transport_secret(is), secret, sizeof(secret)) == 0);
	CHECK(issuer_transport_public_read(dir, read_pub) == VEIL_OK);
	CHECK(memcmp(read_pub, pub, sizeof(pub)) == 0);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(text, sizeof(text));

	/* A keys-only handle has no transport key. */
	REQUIRE(issuer_open_keys(dir, &keys) == VEIL_OK);
	CHECK(issuer_transport_public(keys) == NULL && issuer_transport_secret(keys) == NULL);
	issuer_close(keys);
	CHECK(issuer_transport_public(NULL) == NULL);
	issuer_close(is);
	is = NULL;

	/* Open to others: refused, as a key file; missing: not found. */
	REQUIRE(chmod(path, 0640) == 0);
	CHECK(issuer_open(dir, NULL, &is) == VEIL_ERR_PERMISSION);
	CHECK(issuer_transport_public_read(dir, read_pub) == VEIL_ERR_PERMISSION);
	CHECK(sodium_is_zero(read_pub, sizeof(read_pub)));
	CHECK(is == NULL);
	REQUIRE(chmod(path, 0600) == 0);
	REQUIRE(rename(path, proc_path(dir, "moved.key")) == 0);
	CHECK(issuer_open(dir, NULL, &is) == VEIL_ERR_NOT_FOUND);
	CHECK(is == NULL);
	CHECK(issuer_transport_public_read(dir, read_pub) == VEIL_ERR_NOT_FOUND);
	/* The keys alone still open: a redeeming origin's copy has no transport key. */
	REQUIRE(issuer_open_keys(dir, &keys) == VEIL_OK);
	issuer_close(keys);
}

/* A bad name, or any one of the files there already: nothing made or touched. */
static void
case_create_refusals(void)
{
	const char *dir = test_case_path("refused");
	CHECK(issuer_create(dir, "two words") == VEIL_ERR_ARGUMENT);
	CHECK(issuer_create(dir, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(issuer_create(NULL, NAME) == VEIL_ERR_ARGUMENT);
	CHECK(access(dir, F_OK) != 0);

	static const char *const present[] = {"transport.key", ISSUER_NAME_FILE};
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++) {
		const char *state = proc_path(test_case_dir(), i == 0 ? "with-key" : "with-name");
		REQUIRE(mkdir(state, 0700) == 0);
		static const char text[] = "left alone\n";
		const char *file = proc_path(state, present[i]);
		proc_write_file(file, text, sizeof(text) - 1);
		CHECK(issuer_create(state, NAME) == VEIL_ERR_EXISTS);
		/* Nothing else made, the file as it was. */
		CHECK(access(proc_path(state, ISSUER_KEYS_FILE), F_OK) != 0);
		CHECK(access(proc_path(state, "issuer-00000001.key"), F_OK) != 0);
		CHECK(access(proc_path(state, CLIENTS_KEY_FILE), F_OK) != 0);
		CHECK(access(proc_path(state, i == 0 ? ISSUER_NAME_FILE : "transport.key"), F_OK) !=
		      0);
		CHECK(proc_tree_holds(state, text, sizeof(text) - 1));
	}
}

/* Whether the files dir_a/name and dir_b/name hold the same bytes. */
static int
same_file(const char *dir_a, const char *dir_b, const char *name)
{
	size_t len_a = 0, len_b = 0;
	char *a = test_read_file(proc_path(dir_a, name), &len_a);
	char *b = test_read_file(proc_path(dir_b, name), &len_b);
	const int same = len_a == len_b && memcmp(a, b, len_a) == 0;
	free(a);
	free(b);
	return same;
}

/* The copy of the keys valid at a time: the same files, a list that opens. */
static void
case_copy_live_keys(void)
{
	const char *dir = NULL;
	issuer *is = fresh(&dir, 4), *copy = NULL;
	issuer_key_info kept[ISSUER_MAX_KEYS], loaded[ISSUER_MAX_KEYS];
	size_t count = 0, n = 0;
	struct stat st;
	REQUIRE(is != NULL);
	issuer_close(is);
	REQUIRE(issuer_rotate(dir, NOW + 10, 24, NULL) == VEIL_OK);

	/* Within the grace: both keys, the current first, as the issuer lists them. */
	const char *to = test_case_path("copy");
	REQUIRE(mkdir(to, 0700) == 0);
	CHECK(issuer_copy_live_keys(dir, to, NOW + 20, kept, &count) == VEIL_OK);
	REQUIRE(count == 2);
	CHECK(kept[0].id == 2 && kept[0].not_after == 0);
	CHECK(kept[1].id == 1 && kept[1].not_after == (uint64_t)(NOW + 10 + DAY));
	CHECK(same_file(dir, to, "issuer-00000001.key"));
	CHECK(same_file(dir, to, "issuer-00000002.key"));
	CHECK(same_file(dir, to, ISSUER_KEYS_FILE));
	CHECK(stat(proc_path(to, "issuer-00000002.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(proc_path(to, ISSUER_KEYS_FILE), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(proc_path(to, ISSUER_KEYS_FILE ".tmp"), &st) != 0);
	REQUIRE(issuer_open_keys(to, &copy) == VEIL_OK);
	CHECK(issuer_keys(copy, loaded, &n) == VEIL_OK && n == 2);
	CHECK(memcmp(loaded, kept, sizeof(kept[0]) * 2) == 0);
	issuer_close(copy);

	/* Past the grace: the retiring key is left out. */
	const char *later = test_case_path("later");
	REQUIRE(mkdir(later, 0700) == 0);
	CHECK(issuer_copy_live_keys(dir, later, NOW + 10 + DAY, kept, &count) == VEIL_OK);
	CHECK(count == 1 && kept[0].id == 2);
	CHECK(stat(proc_path(later, "issuer-00000001.key"), &st) != 0);
	CHECK(same_file(dir, later, "issuer-00000002.key"));

	/* Refusals: count 0. */
	CHECK(issuer_copy_live_keys(dir, to, NOW + 20, kept, &count) == VEIL_ERR_EXISTS);
	CHECK(count == 0);
	count = 5;
	CHECK(issuer_copy_live_keys(test_case_path("none"), later, NOW, kept, &count) ==
	      VEIL_ERR_NOT_FOUND);
	CHECK(count == 0);
	CHECK(issuer_copy_live_keys(NULL, to, NOW, kept, &count) == VEIL_ERR_ARGUMENT);
	CHECK(issuer_copy_live_keys(dir, NULL, NOW, kept, &count) == VEIL_ERR_ARGUMENT);
	CHECK(issuer_copy_live_keys(dir, to, NOW, NULL, &count) == VEIL_ERR_ARGUMENT);
	CHECK(issuer_copy_live_keys(dir, to, NOW, kept, NULL) == VEIL_ERR_ARGUMENT);
}

static const test_case cases[] = {
        {"create and open", case_create_open},
        {"end to end: request, issue, finalize, verify", case_end_to_end},
        {"unenrolled account refused, nothing charged", case_unenrolled},
        {"daily ration, retry_after, midnight", case_ration},
        {"unknown key id or bad element refused, nothing charged", case_unknown_key},
        {"rotate: old tokens verify until retire; retire erases", case_rotate_retire},
        {"a killed rotation's orphan key file is erased", case_orphan},
        {"key files 0600, refused when open to others, damage detected", case_key_files},
        {"no client key, element or nonce in the files", case_files_hold_nothing},
        {"keys alone: verify, never issue", case_keys_only},
        {"the issuer's name file", case_name},
        {"create writes the name and a transport key; open loads it",
         case_create_writes_name_and_transport_key},
        {"create refuses a bad name or files already there", case_create_refusals},
        {"the live keys copied", case_copy_live_keys},
};

TEST_MAIN(cases)
