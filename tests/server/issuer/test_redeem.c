/*
 * veild's redemption of tokens (server/issuer/redeem.h) on real key files
 * and LMDB stores in temporary directories: the link that copies an
 * issuer's live keys into a state directory, its relink after a rotation
 * and retirement (the keys that left and their spent sets forgotten), the
 * challenge file, every verdict, a redeemer that follows a relink, and
 * damaged copies refused.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "clock.h"
#include "harness.h"
#include "issuer.h"
#include "proc.h"
#include "redeem.h"

#define DAY    86400
#define NOW    ((int64_t)20000 * DAY + 12 * 3600)
#define ORIGIN "veil.test"
#define NAME   "issuer.test"

/*
 * A new issuer state in dir, named name (NULL: no name file). The one
 * call of issuer_create() in this file.
 */
static int
make_issuer(const char *dir, const char *name)
{
	if (issuer_create(dir, name != NULL ? name : "unnamed.example") != VEIL_OK)
		return 0;
	if (name != NULL)
		return 1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, ISSUER_NAME_FILE);
	return unlink(path) == 0;
}

/* A fresh issuer (NAME) and an empty state directory for the case. */
static int
fresh(const char **idir, const char **sdir)
{
	*idir = test_case_path("issuer");
	*sdir = test_case_path("state");
	return make_issuer(*idir, NAME) && mkdir(*sdir, 0700) == 0;
}

/* The encoded TokenChallenge of issuer name and origin into out. */
static void
challenge_of(const char *name, const char *origin, buf *out)
{
	const token_challenge c = {.issuer_name = (const uint8_t *)name,
	                           .issuer_name_len = strlen(name),
	                           .origin_info = (const uint8_t *)origin,
	                           .origin_info_len = strlen(origin)};
	buf_reset(out);
	if (token_challenge_encode(&c, out) != VEIL_OK)
		abort();
}

/* A token of the issuer in idir (its key key_index, in issuer_keys() order) for a challenge. */
static int
mint_with(const char *idir, size_t key_index, const char *name, const char *origin, token *out)
{
	issuer *is = NULL;
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t n = 0;
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
	token_request req;
	token_response resp;
	buf c;
	buf_init(&c);
	challenge_of(name, origin, &c);
	int ok = issuer_open_keys(idir, &is) == VEIL_OK && issuer_keys(is, keys, &n) == VEIL_OK &&
	         key_index < n &&
	         token_client_request(keys[key_index].public_key, (const uint8_t *)buf_data(&c),
	                              buf_len(&c), NULL, NULL, nonce, blind, &req) == VEIL_OK;
	/* Issue under the chosen key directly: issuer_issue() uses the current one only. */
	if (ok) {
		const oprf_key *key = issuer_key(is, keys[key_index].token_key_id, NOW - DAY);
		ok = key != NULL && token_issue(key, 1, &req, &resp) == VEIL_OK &&
		     token_client_finalize(keys[key_index].public_key,
		                           (const uint8_t *)buf_data(&c), buf_len(&c), nonce, blind,
		                           &resp, out) == VEIL_OK;
	}
	issuer_close(is);
	buf_free(&c);
	sodium_memzero(blind, sizeof(blind));
	return ok;
}

/* A token of the current key of idir for the challenge of NAME and ORIGIN. */
static int
mint(const char *idir, token *out)
{
	return mint_with(idir, 0, NAME, ORIGIN, out);
}

static redeemer *
open_redeemer(const char *sdir)
{
	redeemer *r = NULL;
	return redeemer_open(sdir, NULL, &r) == VEIL_OK ? r : NULL;
}

static int
mode_of(const char *dir, const char *name)
{
	struct stat st;
	return lstat(proc_path(dir, name), &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void
case_link_makes_the_copy(void)
{
	const char *idir, *sdir;
	redeem_link_result res;
	char name[ISSUER_NAME_MAX + 1], origin[REDEEM_ORIGIN_MAX + 1];
	REQUIRE(fresh(&idir, &sdir));
	/* The first link needs an origin. */
	CHECK(redeem_link(idir, sdir, NULL, NOW, &res) == VEIL_ERR_ARGUMENT);
	CHECK(redeem_link(idir, sdir, "bad origin", NOW, &res) == VEIL_ERR_ARGUMENT);
	CHECK(redeem_challenge_read(sdir, name, origin) == VEIL_ERR_NOT_FOUND);
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, &res) == VEIL_OK);
	CHECK(res.keys == 1 && res.keys_removed == 0 && res.tokens_forgotten == 0);
	CHECK(redeem_challenge_read(sdir, name, origin) == VEIL_OK);
	CHECK(strcmp(name, NAME) == 0 && strcmp(origin, ORIGIN) == 0);
	const char *copy = proc_path(sdir, REDEEM_DIR);
	CHECK(mode_of(sdir, REDEEM_DIR) == 0700);
	CHECK(mode_of(copy, "issuer-00000001.key") == 0600);
	CHECK(mode_of(copy, ISSUER_KEYS_FILE) == 0600);
	CHECK(mode_of(copy, REDEEM_CHALLENGE_FILE) == 0644);
	CHECK(mode_of(sdir, REDEEM_DIR ".new") == -1);
	size_t len = 0;
	char *text = test_read_file(proc_path(copy, REDEEM_CHALLENGE_FILE), &len);
	CHECK(strcmp(text, "veil-token-challenge-v1\nissuer " NAME "\norigin " ORIGIN "\n") == 0);
	free(text);
	/* The copy's key is the issuer's: the same file. */
	char *a = test_read_file(proc_path(idir, "issuer-00000001.key"), &len);
	size_t len_b = 0;
	char *b = test_read_file(proc_path(copy, "issuer-00000001.key"), &len_b);
	CHECK(len == len_b && memcmp(a, b, len) == 0);
	free(a);
	free(b);
	/* A relink without an origin keeps the copy's. */
	CHECK(redeem_link(idir, sdir, NULL, NOW, &res) == VEIL_OK && res.keys == 1);
	CHECK(redeem_challenge_read(sdir, name, origin) == VEIL_OK && strcmp(origin, ORIGIN) == 0);
}

static void
case_every_verdict(void)
{
	const char *idir, *sdir;
	const char *other = test_case_path("other");
	token t, forged, wrong_challenge, wrong_issuer, wrong_origin, foreign;
	REQUIRE(fresh(&idir, &sdir) && make_issuer(other, NAME));
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	REQUIRE(mint(idir, &t));
	REQUIRE(mint_with(idir, 0, NAME, "another.origin", &wrong_origin));
	REQUIRE(mint_with(idir, 0, "another.issuer", ORIGIN, &wrong_issuer));
	/* Another issuer of the same name: its key is none of the copy's. */
	REQUIRE(mint(other, &foreign));
	forged = t;
	forged.authenticator[0] ^= 1;
	wrong_challenge = t;
	wrong_challenge.challenge_digest[31] ^= 1;
	redeemer *r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &forged, NOW) == REDEEM_INVALID);
	CHECK(redeemer_redeem(r, &wrong_challenge, NOW) == REDEEM_INVALID);
	CHECK(redeemer_redeem(r, &wrong_origin, NOW) == REDEEM_INVALID);
	CHECK(redeemer_redeem(r, &wrong_issuer, NOW) == REDEEM_INVALID);
	CHECK(redeemer_redeem(r, &foreign, NOW) == REDEEM_INVALID);
	CHECK(redeemer_redeem(NULL, &t, NOW) == REDEEM_ERROR);
	CHECK(redeemer_redeem(r, NULL, NOW) == REDEEM_ERROR);
	/* The invalid ones spent nothing: the good token redeems once. */
	CHECK(redeemer_redeem(r, &t, NOW) == REDEEM_OK);
	CHECK(redeemer_redeem(r, &t, NOW) == REDEEM_SPENT);
	redeemer_close(r);
	/* Spent for good: after a reopen too. */
	r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &t, NOW) == REDEEM_SPENT);
	redeemer_close(r);
	redeemer_close(NULL);
}

static void
case_relink_after_rotation_and_retirement(void)
{
	const char *idir, *sdir;
	redeem_link_result res;
	issuer_rotation rot;
	token old_key, old_key_2, new_key;
	REQUIRE(fresh(&idir, &sdir));
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	REQUIRE(mint(idir, &old_key) && mint(idir, &old_key_2));
	redeemer *r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &old_key, NOW) == REDEEM_OK);
	redeemer_close(r);

	/* Rotated with a grace of an hour: both keys in the copy. */
	REQUIRE(issuer_rotate(idir, NOW, 1, &rot) == VEIL_OK);
	REQUIRE(mint(idir, &new_key));
	CHECK(redeem_link(idir, sdir, NULL, NOW, &res) == VEIL_OK);
	CHECK(res.keys == 2 && res.keys_removed == 0);
	r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &old_key, NOW) == REDEEM_SPENT);
	CHECK(redeemer_redeem(r, &new_key, NOW) == REDEEM_OK);
	/* Past the grace the retiring key is refused, though still in the copy. */
	CHECK(redeemer_redeem(r, &old_key_2, NOW + 3600) == REDEEM_INVALID);
	redeemer_close(r);

	/* Retired: the relink drops it, erases its file and forgets its set. */
	REQUIRE(issuer_retire(idir, NOW + 3600, &rot) == VEIL_OK && rot.removed_count == 1);
	CHECK(redeem_link(idir, sdir, NULL, NOW + 3600, &res) == VEIL_OK);
	CHECK(res.keys == 1 && res.keys_removed == 1 && res.tokens_forgotten == 1);
	CHECK(mode_of(proc_path(sdir, REDEEM_DIR), "issuer-00000001.key") == -1);
	CHECK(mode_of(proc_path(sdir, REDEEM_DIR), "issuer-00000002.key") == 0600);
	spent *sp = NULL;
	uint64_t n = 99;
	REQUIRE(spent_open(sdir, NULL, &sp) == VEIL_OK);
	CHECK(spent_count(sp, old_key.token_key_id, &n) == VEIL_OK && n == 0);
	CHECK(spent_count(sp, new_key.token_key_id, &n) == VEIL_OK && n == 1);
	spent_close(sp);
	r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &old_key_2, NOW + 3600) == REDEEM_INVALID);
	CHECK(redeemer_redeem(r, &old_key, NOW) == REDEEM_INVALID); /* unknown now */
	CHECK(redeemer_redeem(r, &new_key, NOW + 3600) == REDEEM_SPENT);
	redeemer_close(r);
}

static void
case_a_running_redeemer_follows_a_relink(void)
{
	const char *idir, *sdir;
	issuer_rotation rot;
	token new_key;
	REQUIRE(fresh(&idir, &sdir));
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	redeemer *r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	REQUIRE(issuer_rotate(idir, NOW, 24, &rot) == VEIL_OK);
	REQUIRE(mint(idir, &new_key));
	CHECK(redeemer_redeem(r, &new_key, NOW) == REDEEM_INVALID); /* not linked yet */
	REQUIRE(redeem_link(idir, sdir, NULL, NOW, NULL) == VEIL_OK);
	/* Redemption alone never reloads: the new key is unknown until a
	 * refresh looks at the copy. */
	CHECK(redeemer_redeem(r, &new_key, NOW) == REDEEM_INVALID);
	/* A refresh looks at the copy at most once a second: within a few the
	 * new key is known. (A wait for a state to be reached, not a measured
	 * time.) */
	redeem_verdict v = REDEEM_INVALID;
	for (int i = 0; i < 100 * (int)TEST_PATIENCE_SECONDS && v == REDEEM_INVALID; i++) {
		redeemer_refresh(r);
		v = redeemer_redeem(r, &new_key, NOW);
		if (v == REDEEM_INVALID)
			clock_sleep_seconds(0.01);
	}
	CHECK(v == REDEEM_OK);
	redeemer_refresh(NULL);
	redeemer_close(r);
}

static void
case_damage_is_refused(void)
{
	const char *idir, *sdir;
	redeemer *r = NULL;
	REQUIRE(fresh(&idir, &sdir));
	CHECK(redeemer_open(sdir, NULL, &r) == VEIL_ERR_NOT_FOUND && r == NULL);
	CHECK(redeemer_open(NULL, NULL, &r) == VEIL_ERR_ARGUMENT);
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	const char *copy = proc_path(sdir, REDEEM_DIR);
	char name[ISSUER_NAME_MAX + 1], origin[REDEEM_ORIGIN_MAX + 1];

	/* A challenge file of another form. */
	const char *challenge = proc_path(copy, REDEEM_CHALLENGE_FILE);
	static const char two_lines[] = "veil-token-challenge-v1\nissuer " NAME "\n";
	proc_write_file(challenge, two_lines, strlen(two_lines));
	CHECK(redeem_challenge_read(sdir, name, origin) == VEIL_ERR_CORRUPT && name[0] == '\0');
	CHECK(redeemer_open(sdir, NULL, &r) == VEIL_ERR_CORRUPT && r == NULL);
	/* Without an origin a relink cannot repair it; with one it does. */
	CHECK(redeem_link(idir, sdir, NULL, NOW, NULL) == VEIL_ERR_CORRUPT);
	CHECK(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	r = open_redeemer(sdir);
	CHECK(r != NULL);
	redeemer_close(r);

	/* A key file the group may read. */
	const char *key = proc_path(copy, "issuer-00000001.key");
	REQUIRE(chmod(key, 0640) == 0);
	CHECK(redeemer_open(sdir, NULL, &r) == VEIL_ERR_PERMISSION);
	REQUIRE(chmod(key, 0600) == 0);
	/* A damaged key list. */
	const char *list = proc_path(copy, ISSUER_KEYS_FILE);
	proc_write_file(list, "veil-issuer-keys-v1\nxyz\n", 24);
	REQUIRE(chmod(list, 0600) == 0);
	CHECK(redeemer_open(sdir, NULL, &r) == VEIL_ERR_CORRUPT && r == NULL);
	/* An issuer without a name is not linked: the copy stays as it was. */
	const char *unnamed = test_case_path("unnamed");
	REQUIRE(make_issuer(unnamed, NULL));
	CHECK(redeem_link(unnamed, sdir, ORIGIN, NOW, NULL) == VEIL_ERR_NOT_FOUND);
	CHECK(redeemer_open(sdir, NULL, &r) == VEIL_ERR_CORRUPT);
	CHECK(mode_of(sdir, REDEEM_DIR ".new") == -1);
}

static void
case_a_leftover_new_copy_is_erased(void)
{
	const char *idir, *sdir;
	redeem_link_result res;
	REQUIRE(fresh(&idir, &sdir));
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	/* What a link killed after its exchange leaves: the old copy as tokens.new. */
	const char *left = proc_path(sdir, REDEEM_DIR ".new");
	REQUIRE(mkdir(left, 0700) == 0);
	proc_write_file(proc_path(left, "issuer-00000009.key"), "x", 1);
	CHECK(redeem_link(idir, sdir, NULL, NOW, &res) == VEIL_OK && res.keys == 1);
	CHECK(mode_of(sdir, REDEEM_DIR ".new") == -1);
}

static void
case_copy_holds_no_token(void)
{
	const char *idir, *sdir;
	token t;
	REQUIRE(fresh(&idir, &sdir));
	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, NULL) == VEIL_OK);
	REQUIRE(mint(idir, &t));
	redeemer *r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(redeemer_redeem(r, &t, NOW) == REDEEM_OK);
	redeemer_close(r);
	uint8_t encoded[TOKEN_SIZE];
	token_encode(&t, encoded);
	CHECK(!proc_tree_holds(sdir, t.nonce, sizeof(t.nonce)));
	CHECK(!proc_tree_holds(sdir, t.authenticator, sizeof(t.authenticator)));
	CHECK(!proc_tree_holds(sdir, encoded, sizeof(encoded)));
}

/* What the link reports and the redeemer announces: the challenge's names. */
static void
case_the_challenge_is_named(void)
{
	const char *idir, *sdir;
	redeem_link_result res;
	REQUIRE(fresh(&idir, &sdir));
	/* The first link without an origin, or a bad one: refused before IDIR is read. */
	memset(&res, 0xff, sizeof(res));
	CHECK(redeem_link(test_case_path("no-issuer"), sdir, NULL, NOW, &res) == VEIL_ERR_ARGUMENT);
	CHECK(res.keys == 0 && res.issuer_name[0] == '\0' && res.origin[0] == '\0');
	CHECK(redeem_link(test_case_path("no-issuer"), sdir, "bad origin", NOW, &res) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(redeem_link(test_case_path("no-issuer"), sdir, ORIGIN, NOW, &res) ==
	      VEIL_ERR_NOT_FOUND);

	REQUIRE(redeem_link(idir, sdir, ORIGIN, NOW, &res) == VEIL_OK);
	CHECK(strcmp(res.issuer_name, NAME) == 0 && strcmp(res.origin, ORIGIN) == 0);
	const char *copy = proc_path(sdir, REDEEM_DIR);
	CHECK(mode_of(copy, ISSUER_KEYS_FILE ".tmp") == -1);
	CHECK(mode_of(copy, REDEEM_CHALLENGE_FILE ".tmp") == -1);
	redeemer *r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(strcmp(redeemer_issuer_name(r), NAME) == 0);
	CHECK(strcmp(redeemer_origin(r), ORIGIN) == 0);
	redeemer_close(r);
	CHECK(redeemer_issuer_name(NULL) == NULL && redeemer_origin(NULL) == NULL);

	/* A relink without an origin reports the copy's; with one, the new one. */
	memset(&res, 0, sizeof(res));
	REQUIRE(redeem_link(idir, sdir, NULL, NOW, &res) == VEIL_OK);
	CHECK(strcmp(res.issuer_name, NAME) == 0 && strcmp(res.origin, ORIGIN) == 0);
	REQUIRE(redeem_link(idir, sdir, "other.test", NOW, &res) == VEIL_OK);
	CHECK(strcmp(res.origin, "other.test") == 0);
	r = open_redeemer(sdir);
	REQUIRE(r != NULL);
	CHECK(strcmp(redeemer_origin(r), "other.test") == 0);
	redeemer_close(r);
}

static const test_case cases[] = {
        {"link makes the copy", case_link_makes_the_copy},
        {"every verdict", case_every_verdict},
        {"relink after rotation and retirement", case_relink_after_rotation_and_retirement},
        {"a running redeemer follows a relink", case_a_running_redeemer_follows_a_relink},
        {"damage is refused", case_damage_is_refused},
        {"a leftover new copy is erased", case_a_leftover_new_copy_is_erased},
        {"the state holds no token", case_copy_holds_no_token},
        {"the challenge is named", case_the_challenge_is_named},
};

TEST_MAIN(cases)
