/*
 * veil: the command-line client. A flat table of subcommands over
 * libveil-client, each with its own options and --help.
 *
 *   veil keygen [--out FILE]
 *   veil lookup --server URL --server-info FILE [options] [FILE|-]
 *   veil tokens fetch --issuer URL --issuer-info FILE --server-info FILE
 *                     --tokens FILE [--key FILE] [--count N] [--at-random-time]
 *   veil tokens status --tokens FILE [--server-info FILE]
 *
 * Exit status: 0 done, 1 failed, 2 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "cli.h"
#include "contacts.h"
#include "json.h"
#include "keyfile.h"
#include "tokens.h"
#include "veil_client.h"

#define PROGRAM        "veil"
#define MAX_INPUT_SIZE ((size_t)64 << 20)

/*
 * The options of the commands. cli_parse() writes them through each
 * command's table (below the command table's types) before it runs;
 * veil runs one command, so they start at their defaults.
 */
static struct {
	const char *out;         /* keygen */
	const char *server;      /* lookup, and the rest */
	const char *server_info; /* veil-admin info's output */
	const char *client_key;
	const char *region;
	uint32_t prefix_bits; /* 0: the server's recommendation */
	uint32_t timeout;     /* seconds per request */
	uint64_t min_bucket;  /* the privacy floor; 0: the library's default */
	uint64_t universe;
	bool verifiable;
	bool json;
	const char *tokens;      /* the token file: lookup (tokens mode), tokens */
	const char *issuer;      /* tokens fetch */
	const char *issuer_info; /* veil-admin issuer info's output */
	uint32_t count;          /* tokens to fetch */
	bool at_random_time;
} opt = {.timeout = 10, .count = 64};

/* ---- key files ---- */

/* $XDG_CONFIG_HOME/veil/client.key, or ~/.config/veil/client.key; the
 * directories are made. 0 or -1. */
static int
default_key_path(char out[PATH_MAX])
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char dir[PATH_MAX];
	int n;
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/veil", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.config/veil", home);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -1;
	/* The parent of veil/ may be missing too (a fresh ~/.config). */
	char parent[PATH_MAX];
	memcpy(parent, dir, (size_t)n + 1);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) != 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	n = snprintf(out, PATH_MAX, "%s/client.key", dir);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* The key file given with option, or else the default one (written to path);
 * NULL after the message when there is no config directory. */
static const char *
key_path(const cli_command *cmd, const char *given, const char *option, char path[PATH_MAX])
{
	if (given != NULL)
		return given;
	if (default_key_path(path) != 0) {
		cli_error(cmd->name, "cannot find a config directory; use %s FILE", option);
		return NULL;
	}
	return path;
}

/* Makes a key pair, writes the secret to path, prints nothing. */
static veil_err
make_key(const char *path, uint8_t public_out[VEIL_KEY_SIZE])
{
	uint8_t *secret = sodium_malloc(VEIL_KEY_SIZE);
	if (secret == NULL)
		return VEIL_ERR_NOMEM;
	crypto_box_keypair(public_out, secret);
	veil_err err = keyfile_write(path, VEIL_CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
	sodium_free(secret);
	return err;
}

/* The public key as 64 hex digits, a line of its own. */
static void
print_public_key(FILE *to, const uint8_t public_key[VEIL_KEY_SIZE])
{
	char hex[2 * VEIL_KEY_SIZE + 1];
	sodium_bin2hex(hex, sizeof(hex), public_key, VEIL_KEY_SIZE);
	fprintf(to, "%s\n", hex);
}

static int
cmd_keygen(const cli_command *cmd, int argc, char **argv)
{
	char path[PATH_MAX];
	const char *out = key_path(cmd, opt.out, "--out", path);
	if (out == NULL)
		return 1;
	uint8_t public_key[VEIL_KEY_SIZE];
	veil_err err = make_key(out, public_key);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot write key %s: %s%s%s", out, veil_strerror(err),
		          err == VEIL_ERR_SYSTEM ? ": " : "",
		          err == VEIL_ERR_SYSTEM ? strerror(errno) : "");
		return 1;
	}
	print_public_key(stdout, public_key);
	return 0;
}

/* ---- input ---- */

static int
read_all(FILE *f, buf *out)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_len(out) + n > MAX_INPUT_SIZE || buf_append(out, chunk, n) != VEIL_OK)
			return -1;
	}
	return ferror(f) ? -1 : 0;
}

/* Plain output: control characters in the contact's text become '?'. */
static void
print_plain_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putchar((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
}

static void
print_result(const contact_entry *entry, const veil_lookup_result *r, int as_json)
{
	if (as_json) {
		buf line;
		buf_init(&line);
		buf_append_str(&line, "{\"input\": ");
		json_write_string(&line, entry->input, entry->input_len);
		if (r->status == VEIL_LOOKUP_INVALID) {
			buf_append_str(&line, ", \"error\": ");
			json_write_string(&line, r->error, strlen(r->error));
		} else {
			buf_append_str(&line, ", \"handle\": ");
			json_write_string(&line, r->handle, strlen(r->handle));
			buf_append_str(&line, r->status == VEIL_LOOKUP_REGISTERED
			                              ? ", \"registered\": true"
			                              : ", \"registered\": false");
			if (r->has_payload) {
				buf_append_str(&line, ", \"payload\": ");
				json_write_string(&line, (const char *)r->payload, r->payload_len);
			}
		}
		buf_append_str(&line, "}\n");
		if (buf_error(&line) == VEIL_OK)
			fwrite(buf_data(&line), 1, buf_len(&line), stdout);
		buf_free(&line);
		return;
	}
	print_plain_text(entry->input, entry->input_len);
	if (r->status == VEIL_LOOKUP_INVALID) {
		printf("\t-\terror: %s\n", r->error);
		return;
	}
	printf("\t%s\t%s", r->handle,
	       r->status == VEIL_LOOKUP_REGISTERED ? "registered" : "not registered");
	if (r->has_payload) {
		putchar('\t');
		print_plain_text((const char *)r->payload, r->payload_len);
	}
	putchar('\n');
}

static int
load_or_create_client_key(const char *name, const char *path, int may_create, uint8_t *secret)
{
	veil_err err = keyfile_read(path, VEIL_CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
	if (err == VEIL_ERR_NOT_FOUND && may_create) {
		uint8_t public_key[VEIL_KEY_SIZE];
		err = make_key(path, public_key);
		if (err == VEIL_OK) {
			cli_error(name, "created client key %s; public key:", path);
			print_public_key(stderr, public_key);
			err = keyfile_read(path, VEIL_CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
		}
	}
	if (err != VEIL_OK) {
		cli_error(name, "client key %s: %s", path, veil_strerror(err));
		return -1;
	}
	return 0;
}

/* Reads --server-info into *options: 0, or the exit status of a usage
 * error after its message. */
static int
read_server_info(const cli_command *cmd, veil_client_options *options)
{
	const veil_err err = veil_server_info_read(opt.server_info, options);
	if (err == VEIL_ERR_SYSTEM)
		return cli_usage_error(cmd, "--server-info: cannot read %s: %s", opt.server_info,
		                       strerror(errno));
	if (err != VEIL_OK)
		return cli_usage_error(cmd,
		                       "--server-info: %s is not what veil-admin info prints (%s: "
		                       "it needs its server-key, mode and oprf-key lines)",
		                       opt.server_info, veil_strerror(err));
	return 0;
}

/* The most fallback URLs --server takes after the first. */
#define VEIL_CLI_MAX_SERVERS 15

static int
cmd_lookup(const cli_command *cmd, int argc, char **argv)
{
	veil_client_options options;
	const char *input_path = argc > 0 ? argv[0] : NULL;
	memset(&options, 0, sizeof(options));
	options.server_url = opt.server;
	options.region = opt.region;
	options.prefix_bits = opt.prefix_bits;
	options.min_bucket = opt.min_bucket;
	options.universe = opt.universe;
	options.require_verifiable = opt.verifiable;
	options.timeout_ms = (int)opt.timeout * 1000;

	if (opt.server == NULL || opt.server_info == NULL)
		return cli_usage_error(cmd, "--server and --server-info are required");
	const int info_rc = read_server_info(cmd, &options);
	if (info_rc != 0)
		return info_rc;
	if (opt.verifiable && options.mode != VEIL_MODE_VOPRF)
		return cli_usage_error(cmd, "--verifiable: %s pins mode oprf, not voprf",
		                       opt.server_info);
	const bool tokens = options.auth == VEIL_AUTH_TOKENS;
	if (tokens && opt.tokens == NULL)
		return cli_usage_error(cmd,
		                       "--server-info: %s pins auth tokens: give --tokens FILE "
		                       "(filled by veil tokens fetch)",
		                       opt.server_info);
	if (!tokens && opt.tokens != NULL)
		return cli_usage_error(cmd,
		                       "--tokens: %s pins auth keys: that server takes no tokens",
		                       opt.server_info);
	options.token_file = opt.tokens;

	/* Tokens mode needs no client key: nothing sent names this client. */
	char default_path[PATH_MAX];
	const char *client_key =
	        tokens ? NULL : key_path(cmd, opt.client_key, "--client-key", default_path);
	if (!tokens && client_key == NULL)
		return 1;

	/* --server URL[,URL...]: the first asked first, the others replicas
	 * to fail over to when one does not reply. */
	const char *fallbacks[VEIL_CLI_MAX_SERVERS];
	char *server_list = strdup(opt.server);
	if (server_list == NULL)
		return 1;
	options.server_url = server_list;
	for (char *comma = strchr(server_list, ','); comma != NULL; comma = strchr(comma, ',')) {
		*comma++ = '\0';
		if (options.fallback_url_count == VEIL_CLI_MAX_SERVERS) {
			free(server_list);
			return cli_usage_error(cmd, "--server: at most %d URLs",
			                       VEIL_CLI_MAX_SERVERS + 1);
		}
		fallbacks[options.fallback_url_count++] = comma;
	}
	for (size_t i = 0; i < options.fallback_url_count; i++)
		if (*fallbacks[i] == '\0' || *options.server_url == '\0') {
			free(server_list);
			return cli_usage_error(cmd, "--server: an empty URL in the list");
		}
	options.fallback_urls = fallbacks;

	int rc = 1;
	uint8_t *secret = sodium_malloc(VEIL_KEY_SIZE);
	contact_list *contacts = NULL;
	veil_client *client = NULL;
	const char **texts = NULL;
	veil_lookup_result *results = NULL;
	size_t result_count = 0;
	buf input;
	buf_init(&input);
	if (secret == NULL)
		goto out;
	if (!tokens &&
	    load_or_create_client_key(cmd->name, client_key, opt.client_key == NULL, secret) != 0)
		goto out;

	FILE *in = stdin;
	if (input_path != NULL && strcmp(input_path, "-") != 0 &&
	    (in = fopen(input_path, "rb")) == NULL) {
		cli_error(cmd->name, "cannot open %s: %s", input_path, strerror(errno));
		goto out;
	}
	const int read_failed = read_all(in, &input);
	if (in != stdin)
		fclose(in);
	if (read_failed) {
		cli_error(cmd->name, "cannot read the contacts (larger than %zu MiB?)",
		          MAX_INPUT_SIZE >> 20);
		goto out;
	}
	unsigned error_line = 0;
	veil_err err = contacts_parse(buf_data(&input), buf_len(&input), &contacts, &error_line);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "contacts, line %u: %s", error_line, veil_strerror(err));
		goto out;
	}
	const size_t n = contacts_count(contacts);
	texts = calloc(n ? n : 1, sizeof(*texts));
	results = calloc(n ? n : 1, sizeof(*results));
	if (texts == NULL || results == NULL)
		goto out;
	result_count = n ? n : 1;
	for (size_t i = 0; i < n; i++)
		texts[i] = contacts_get(contacts, i)->input;

	options.client_secret = tokens ? NULL : secret;
	err = veil_client_new(&options, &client);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "%s%s", veil_strerror(err),
		          err == VEIL_ERR_ARGUMENT
		                  ? " (check --server, --region, --min-bucket and --universe)"
		                  : "");
		goto out;
	}
	err = veil_client_lookup(client, texts, n, results);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "lookup failed: %s; %s", veil_strerror(err),
		          veil_client_last_error(client));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		print_result(contacts_get(contacts, i), &results[i], opt.json);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	veil_client_free(client);
	free(server_list);
	contacts_free(contacts);
	free(texts);
	if (results != NULL) {
		sodium_memzero(results, result_count * sizeof(*results));
		free(results);
	}
	if (secret != NULL)
		sodium_free(secret);
	buf_free(&input);
	return rc;
}

/* ---- tokens ---- */

static int
cmd_tokens_fetch(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (opt.issuer == NULL || opt.issuer_info == NULL || opt.server_info == NULL ||
	    opt.tokens == NULL)
		return cli_usage_error(
		        cmd, "--issuer, --issuer-info, --server-info and --tokens are required");
	veil_issuer_options issuer;
	veil_client_options server;
	memset(&issuer, 0, sizeof(issuer));
	memset(&server, 0, sizeof(server));
	veil_err err = veil_issuer_info_read(opt.issuer_info, &issuer);
	if (err == VEIL_ERR_SYSTEM)
		return cli_usage_error(cmd, "--issuer-info: cannot read %s: %s", opt.issuer_info,
		                       strerror(errno));
	if (err != VEIL_OK)
		return cli_usage_error(
		        cmd,
		        "--issuer-info: %s is not what veil-admin issuer info prints "
		        "(%s: it needs its issuer-key, issuer-name and token-key lines)",
		        opt.issuer_info, veil_strerror(err));
	const int info_rc = read_server_info(cmd, &server);
	if (info_rc != 0)
		return info_rc;
	if (server.auth != VEIL_AUTH_TOKENS)
		return cli_usage_error(cmd,
		                       "--server-info: %s pins auth keys: that server takes no "
		                       "tokens",
		                       opt.server_info);
	if (strcmp(server.token_issuer, issuer.issuer_name) != 0)
		return cli_usage_error(cmd,
		                       "the server takes tokens of issuer %s (token-issuer in %s), "
		                       "not of %s (issuer-name in %s)",
		                       server.token_issuer, opt.server_info, issuer.issuer_name,
		                       opt.issuer_info);

	char default_path[PATH_MAX];
	const char *client_key = key_path(cmd, opt.client_key, "--key", default_path);
	if (client_key == NULL)
		return 1;
	uint8_t *secret = sodium_malloc(VEIL_KEY_SIZE);
	if (secret == NULL || load_or_create_client_key(cmd->name, client_key, 0, secret) != 0) {
		if (secret != NULL)
			sodium_free(secret);
		return 1;
	}
	if (opt.at_random_time) {
		const uint32_t delay = veil_tokens_fetch_delay();
		cli_error(cmd->name, "waiting %u s (a random time within the day) before fetching",
		          (unsigned)delay);
		sleep(delay);
	}
	issuer.issuer_url = opt.issuer;
	issuer.client_secret = secret;
	issuer.timeout_ms = (int)opt.timeout * 1000;
	size_t fetched = 0;
	uint32_t retry_after = 0;
	err = veil_tokens_fetch(&issuer, server.token_origin, opt.tokens, opt.count, &fetched,
	                        &retry_after);
	sodium_free(secret);
	if (fetched > 0)
		printf("fetched %zu tokens into %s\n", fetched, opt.tokens);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "fetch failed%s: %s; %s",
		          fetched > 0 ? " after the tokens above" : "", veil_strerror(err),
		          veil_tokens_last_error());
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The bytes as hex on stdout. */
static void
print_hex(const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", bytes[i]);
}

static int
cmd_tokens_status(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (opt.tokens == NULL)
		return cli_usage_error(cmd, "--tokens is required");
	veil_client_options server;
	memset(&server, 0, sizeof(server));
	uint8_t digest[32];
	if (opt.server_info != NULL) {
		const int info_rc = read_server_info(cmd, &server);
		if (info_rc != 0)
			return info_rc;
		if (server.auth != VEIL_AUTH_TOKENS)
			return cli_usage_error(
			        cmd,
			        "--server-info: %s pins auth keys: that server takes no "
			        "tokens",
			        opt.server_info);
		const veil_err err = veil_tokens_challenge_digest(server.token_issuer,
		                                                  server.token_origin, digest);
		if (err != VEIL_OK) {
			cli_error(cmd->name, "%s", veil_strerror(err));
			return 1;
		}
	}
	/* One reading of the file into room for its groups: a fetch between
	 * two readings could add groups, so a reading that finds more than
	 * there is room for is done again with more, a few times at most. */
	size_t count = 0, group_count = 0, room = 0;
	veil_token_group *groups = NULL;
	veil_err err = VEIL_OK;
	for (int reading = 0; err == VEIL_OK && reading < 4 && (reading == 0 || group_count > room);
	     reading++) {
		room = 2 * group_count + 16;
		free(groups);
		if ((groups = calloc(room, sizeof(*groups))) == NULL)
			err = VEIL_ERR_NOMEM;
		else
			err = veil_tokens_status(opt.tokens, &count, groups, room, &group_count);
	}
	if (err != VEIL_OK) {
		char message[PATH_MAX + 128];
		tokens_file_describe(opt.tokens, err, message, sizeof(message));
		cli_error(cmd->name, "%s", message);
		free(groups);
		return 1;
	}
	if (group_count > room)
		group_count = room; /* still growing: the groups read */
	size_t usable = 0;
	printf("tokens %zu\n", count);
	for (size_t g = 0; g < group_count; g++) {
		printf("group %zu token-key-id ", groups[g].count);
		print_hex(groups[g].token_key_id, sizeof(groups[g].token_key_id));
		printf(" challenge ");
		print_hex(groups[g].challenge_digest, sizeof(groups[g].challenge_digest));
		printf("\n");
		if (opt.server_info != NULL &&
		    memcmp(groups[g].challenge_digest, digest, sizeof(digest)) == 0)
			usable += groups[g].count;
	}
	if (opt.server_info != NULL)
		printf("usable %zu\n", usable);
	free(groups);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- dispatch ---- */

static const cli_option keygen_options[] = {CLI_TEXT_OPTION("out", &opt.out), CLI_END};
static const cli_option lookup_options[] = {
        CLI_TEXT_OPTION("server", &opt.server),
        CLI_TEXT_OPTION("server-info", &opt.server_info),
        CLI_TEXT_OPTION("client-key", &opt.client_key),
        CLI_TEXT_OPTION("region", &opt.region),
        CLI_U32_OPTION("prefix-bits", &opt.prefix_bits, 1, 32),
        CLI_U32_OPTION("timeout", &opt.timeout, 1, 3600),
        CLI_U64_OPTION("min-bucket", &opt.min_bucket, 1, UINT64_MAX),
        CLI_U64_OPTION("universe", &opt.universe, 1, UINT64_MAX),
        CLI_FLAG_OPTION("verifiable", &opt.verifiable),
        CLI_FLAG_OPTION("json", &opt.json),
        CLI_TEXT_OPTION("tokens", &opt.tokens),
        CLI_END,
};
static const cli_option tokens_fetch_options[] = {
        CLI_TEXT_OPTION("issuer", &opt.issuer),
        CLI_TEXT_OPTION("issuer-info", &opt.issuer_info),
        CLI_TEXT_OPTION("server-info", &opt.server_info),
        CLI_TEXT_OPTION("key", &opt.client_key),
        CLI_TEXT_OPTION("tokens", &opt.tokens),
        CLI_U32_OPTION("count", &opt.count, 1, VEIL_MAX_TOKENS),
        CLI_U32_OPTION("timeout", &opt.timeout, 1, 3600),
        CLI_FLAG_OPTION("at-random-time", &opt.at_random_time),
        CLI_END,
};
static const cli_option tokens_status_options[] = {
        CLI_TEXT_OPTION("tokens", &opt.tokens),
        CLI_TEXT_OPTION("server-info", &opt.server_info),
        CLI_END,
};

static const struct subcommand {
	const char *name;
	const char *synopsis; /* after "veil NAME " */
	const char *summary;
	const char *details; /* --help: after the usage line */
	const cli_option *options;
	int max_args; /* after the options */
	int (*run)(const cli_command *cmd, int argc, char **argv);
} subcommands[] = {
        {"keygen", "[--out FILE]", "make a client key and print its public key",
         "Makes a client key (X25519), writes the secret to FILE (mode 0600;\n"
         "default $XDG_CONFIG_HOME/veil/client.key), and prints the public key\n"
         "as 64 hex digits: that is what a server operator enrols.\n"
         "Never overwrites an existing key file.\n",
         keygen_options, 0, cmd_keygen},
        {"lookup", "--server URL --server-info FILE [options] [FILE|-]",
         "find out which contacts are registered",
         "Asks the server which contacts are registered, without revealing them.\n"
         "Contacts come from FILE (default: standard input) as plain lines, CSV\n"
         "(a phone/tel/email column, else the first) or vCard 3/4, detected by content.\n"
         "Prints one line per contact: the text as given, the normalized handle, and\n"
         "registered / not registered (and the payload), tab-separated; or an error\n"
         "for a contact that cannot be normalized.\n"
         "\n"
         "  --server URL[,URL...] tcp://HOST:PORT or ipc:///PATH; several: replicas\n"
         "                       of one state, the next asked when one does not reply\n"
         "  --server-info FILE   what the client pins, as veil-admin info prints it:\n"
         "                       the server's key, its mode and its OPRF keys; a\n"
         "                       server that shows another mode or key is refused\n"
         "  --client-key FILE    this client's key (default $XDG_CONFIG_HOME/veil/\n"
         "                       client.key, created on first use)\n"
         "  --region CC          default region for national phone numbers (e.g. US)\n"
         "  --prefix-bits N      bucket prefix bits to reveal, 1..32 (default and\n"
         "                       most: the server's recommendation; fewer is more\n"
         "                       private)\n"
         "  --min-bucket N       privacy floor: never reveal a prefix whose bucket\n"
         "                       holds fewer than N handles of the numbering space\n"
         "                       (default 10000), whatever the server advises\n"
         "  --universe N         handles in the numbering space (default 10^10);\n"
         "                       at most log2(universe / min-bucket) bits are revealed,\n"
         "                       and a server that needs more is refused\n"
         "  --verifiable         require VOPRF: refuse pins of mode oprf, and any\n"
         "                       answer without a proof it came from a pinned key\n"
         "  --timeout SECONDS    per request, 1..3600 (default 10)\n"
         "  --json               one JSON object per line\n"
         "  --tokens FILE        the token file, for a server whose --server-info pins\n"
         "                       auth tokens (required then): each request spends one\n"
         "                       token and names no client; no client key is used\n"
         "\n"
         "Exit status 0 when every batch was answered, 1 otherwise, 2 on usage errors.\n",
         lookup_options, 1, cmd_lookup},
        {"tokens fetch",
         "--issuer URL --issuer-info FILE --server-info FILE --tokens FILE [options]",
         "get tokens from an issuer for a tokens-mode server",
         "Asks the issuer for tokens (Privacy Pass, RFC 9578 type 0x0001) for the\n"
         "server of --server-info, under this client's enrolled key, checks the\n"
         "issuer's proof of each against its pinned token key, and appends them to\n"
         "the token file (made 0600; refused when others may read it).\n"
         "\n"
         "  --issuer URL         the issuer, tcp://HOST:PORT or ipc:///PATH\n"
         "  --issuer-info FILE   what the client pins of the issuer, as veil-admin\n"
         "                       issuer info prints it; its issuer-name must be the\n"
         "                       server's token-issuer\n"
         "  --server-info FILE   the server's pins (veil-admin info): auth tokens\n"
         "  --tokens FILE        the token file\n"
         "  --key FILE           this client's key, enrolled at the issuer (default\n"
         "                       $XDG_CONFIG_HOME/veil/client.key)\n"
         "  --count N            tokens to fetch, 1..65536 (default 64)\n"
         "  --at-random-time     first wait a uniformly random time within the day\n"
         "                       (said on standard error), so that the issuer cannot\n"
         "                       tell this client by the hour of its fetches\n"
         "  --timeout SECONDS    per request, 1..3600 (default 10)\n"
         "\n"
         "Exit status 0 when all were fetched, 1 otherwise (the tokens fetched before a\n"
         "failure are kept), 2 on usage errors.\n",
         tokens_fetch_options, 0, cmd_tokens_fetch},
        {"tokens status", "--tokens FILE [--server-info FILE]", "count the tokens held",
         "Prints \"tokens N\", then one line per issuer key and challenge of the tokens:\n"
         "\"group N token-key-id HEX challenge HEX\"; with --server-info, then \"usable N\",\n"
         "the tokens that server takes.\n",
         tokens_status_options, 0, cmd_tokens_status},
};
#define SUBCOMMAND_COUNT (sizeof(subcommands) / sizeof(subcommands[0]))

static void
list_commands(void)
{
	printf("commands:\n");
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		printf("  %-14s %s\n", subcommands[i].name, subcommands[i].summary);
	printf("\n`veil COMMAND --help` or `veil help COMMAND` describes each; `veil --version`\n"
	       "says which veil.\n");
}

/* Runs c with argv[0] its name and its options and arguments after it. */
static int
run_subcommand(const struct subcommand *c, int argc, char **argv)
{
	char name[32];
	snprintf(name, sizeof(name), "%s %s", PROGRAM, c->name);
	const cli_command cmd = {name, c->synopsis, c->options};
	int first = 0;
	switch (cli_parse(&cmd, argc, argv, &first)) {
	case CLI_RUN:
		break;
	case CLI_HELP:
		cli_print_usage(&cmd, stdout);
		printf("\n%s", c->details);
		return 0;
	case CLI_VERSION:
		return 0;
	case CLI_USAGE:
		return CLI_EXIT_USAGE;
	}
	if (argc - first > c->max_args)
		return cli_usage_error(&cmd, "unexpected argument %s", argv[first + c->max_args]);
	if (sodium_init() < 0) {
		cli_error(name, "crypto library failed to start");
		return 1;
	}
	return c->run(&cmd, argc - first, argv + first);
}

int
main(int argc, char **argv)
{
	static const cli_command program = {PROGRAM, "COMMAND [OPTIONS] [ARGS]", NULL};
	const int rc = cli_parse_program(&program, argc, argv, list_commands);
	if (rc >= 0)
		return rc;
	/* "veil help COMMAND" is "veil COMMAND --help". A command of two
	 * words ("tokens fetch") is found by both. */
	const bool help = strcmp(argv[1], "help") == 0;
	const int at = help ? 2 : 1; /* the command's first word */
	if (at >= argc)
		return cli_usage_error(&program, "help on which command?");
	char name[32];
	const bool two = strcmp(argv[at], "tokens") == 0;
	if (two && at + 1 >= argc)
		return cli_usage_error(&program, "tokens: which? fetch or status");
	snprintf(name, sizeof(name), "%s%s%s", argv[at], two ? " " : "", two ? argv[at + 1] : "");
	const int words = two ? 2 : 1;
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++) {
		if (strcmp(name, subcommands[i].name) != 0)
			continue;
		char *help_words[] = {argv[at + words - 1], (char[]){"--help"}, NULL};
		return help ? run_subcommand(&subcommands[i], 2, help_words)
		            : run_subcommand(&subcommands[i], argc - words, argv + words);
	}
	return cli_usage_error(&program, "unknown command '%s'", name);
}
