/*
 * veil: the command-line client. A flat table of subcommands over
 * libveil-client.
 *
 *   veil keygen [--out FILE]
 *   veil lookup --server URL --server-key HEX|FILE [options] [FILE|-]
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "contacts.h"
#include "json.h"
#include "keyfile.h"
#include "veil_client.h"

#define CLIENT_KEY_KIND "veil-client-key-v1"
#define MAX_INPUT_SIZE ((size_t)64 << 20)

static const char *program = "veil";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error; returns the exit status for one. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

/* ---- key files ---- */

/* $XDG_CONFIG_HOME/veil/client.key, or ~/.config/veil/client.key. */
static int
default_key_path(char *out, size_t cap, int create_dirs)
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
	if (create_dirs) {
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
	}
	n = snprintf(out, cap, "%s/client.key", dir);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Makes a key pair, writes the secret to path, prints nothing. */
static veil_err
make_key(const char *path, uint8_t public_out[VEIL_KEY_SIZE])
{
	uint8_t *secret = sodium_malloc(VEIL_KEY_SIZE);
	if (secret == NULL)
		return VEIL_ERR_NOMEM;
	crypto_box_keypair(public_out, secret);
	veil_err err = keyfile_write(path, CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
	sodium_free(secret);
	return err;
}

static void
print_hex_line(FILE *to, const char *label, const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 1];
	sodium_bin2hex(hex, sizeof(hex), b, n);
	if (label != NULL)
		fprintf(to, "%s %s\n", label, hex);
	else
		fprintf(to, "%s\n", hex);
}

static int
cmd_keygen(int argc, char **argv)
{
	const char *out = NULL;
	char path[PATH_MAX];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: veil keygen [--out FILE]\n\n"
			       "Makes a client key (X25519), writes the secret to FILE (mode 0600;\n"
			       "default $XDG_CONFIG_HOME/veil/client.key), and prints the public key\n"
			       "as 64 hex digits: that is what a server operator enrols.\n"
			       "Never overwrites an existing key file.\n");
			return 0;
		}
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else
			return usage_error("keygen: unknown argument %s; see veil keygen --help",
					   argv[i]);
	}
	if (out == NULL) {
		if (default_key_path(path, sizeof(path), 1) != 0) {
			fprintf(stderr, "veil: cannot find a config directory; use --out FILE\n");
			return 1;
		}
		out = path;
	}
	uint8_t public_key[VEIL_KEY_SIZE];
	veil_err err = make_key(out, public_key);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil: cannot write key %s: %s%s%s\n", out, veil_strerror(err),
			err == VEIL_ERR_SYSTEM ? ": " : "", err == VEIL_ERR_SYSTEM ? strerror(errno) : "");
		return 1;
	}
	print_hex_line(stdout, NULL, public_key, VEIL_KEY_SIZE);
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

/* A server key given as 64 hex digits, or a file holding them (alone, or
 * as the "server-key <hex>" line that veil-admin info prints). */
static int
parse_server_key(const char *arg, uint8_t key[VEIL_KEY_SIZE])
{
	size_t bin_len;
	const char *end;
	if (strlen(arg) == 2 * VEIL_KEY_SIZE &&
	    sodium_hex2bin(key, VEIL_KEY_SIZE, arg, strlen(arg), NULL, &bin_len, &end) == 0 &&
	    bin_len == VEIL_KEY_SIZE && *end == '\0')
		return 0;
	FILE *f = fopen(arg, "r");
	if (f == NULL)
		return -1;
	char line[256];
	int found = -1;
	while (found != 0 && fgets(line, sizeof(line), f) != NULL) {
		char *hex = line;
		if (strncmp(hex, "server-key ", 11) == 0)
			hex += 11;
		hex[strcspn(hex, "\r\n")] = '\0';
		if (strlen(hex) == 2 * VEIL_KEY_SIZE &&
		    sodium_hex2bin(key, VEIL_KEY_SIZE, hex, strlen(hex), NULL, &bin_len, &end) ==
			    0 &&
		    bin_len == VEIL_KEY_SIZE && *end == '\0')
			found = 0;
	}
	fclose(f);
	return found;
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

static void
lookup_usage(FILE *to)
{
	fprintf(to,
		"usage: veil lookup --server URL --server-key HEX|FILE [options] [FILE|-]\n"
		"\n"
		"Asks the server which contacts are registered, without revealing them.\n"
		"Contacts come from FILE (default: standard input) as plain lines, CSV\n"
		"(a phone/tel/email column, else the first) or vCard 3/4, detected by content.\n"
		"Prints one line per contact: the text as given, the normalized handle, and\n"
		"registered / not registered (and the payload), tab-separated; or an error\n"
		"for a contact that cannot be normalized.\n"
		"\n"
		"  --server URL         tcp://HOST:PORT or ipc:///PATH\n"
		"  --server-key K       the server's key: 64 hex digits, or a file holding\n"
		"                       them (e.g. the output of veil-admin info)\n"
		"  --client-key FILE    this client's key (default $XDG_CONFIG_HOME/veil/\n"
		"                       client.key, created on first use)\n"
		"  --region CC          default region for national phone numbers (e.g. US)\n"
		"  --prefix-bits N      bucket prefix bits to reveal (default: the server's\n"
		"                       recommendation; fewer is more private)\n"
		"  --timeout SECONDS    per request (default 10)\n"
		"  --json               one JSON object per line\n"
		"\n"
		"Exit status 0 when every batch was answered, 1 otherwise, 2 on usage errors.\n");
}

static int
load_or_create_client_key(const char *path, int may_create, uint8_t *secret)
{
	veil_err err = keyfile_read(path, CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
	if (err == VEIL_ERR_NOT_FOUND && may_create) {
		uint8_t public_key[VEIL_KEY_SIZE];
		err = make_key(path, public_key);
		if (err == VEIL_OK) {
			fprintf(stderr, "veil: created client key %s; public key:\n", path);
			print_hex_line(stderr, NULL, public_key, VEIL_KEY_SIZE);
			err = keyfile_read(path, CLIENT_KEY_KIND, secret, VEIL_KEY_SIZE);
		}
	}
	if (err != VEIL_OK) {
		fprintf(stderr, "veil: client key %s: %s\n", path, veil_strerror(err));
		return -1;
	}
	return 0;
}

static int
cmd_lookup(int argc, char **argv)
{
	veil_client_options opt;
	const char *server_key = NULL, *client_key = NULL, *input_path = NULL;
	unsigned timeout_s = 10;
	int as_json = 0;
	memset(&opt, 0, sizeof(opt));

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			lookup_usage(stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			as_json = 1;
		} else if (a[0] == '-' && a[1] == '-' && i + 1 < argc) {
			const char *v = argv[++i];
			char *end;
			if (strcmp(a, "--server") == 0) {
				opt.server_url = v;
			} else if (strcmp(a, "--server-key") == 0) {
				server_key = v;
			} else if (strcmp(a, "--client-key") == 0) {
				client_key = v;
			} else if (strcmp(a, "--region") == 0) {
				opt.region = v;
			} else if (strcmp(a, "--prefix-bits") == 0) {
				unsigned long n = strtoul(v, &end, 10);
				if (*end != '\0' || n < 1 || n > 32)
					return usage_error("--prefix-bits takes 1..32, not %s", v);
				opt.prefix_bits = (unsigned)n;
			} else if (strcmp(a, "--timeout") == 0) {
				unsigned long n = strtoul(v, &end, 10);
				if (*end != '\0' || n < 1 || n > 3600)
					return usage_error("--timeout takes 1..3600 seconds, not %s", v);
				timeout_s = (unsigned)n;
			} else {
				return usage_error("lookup: unknown option %s; see veil lookup --help",
						   a);
			}
		} else if (strcmp(a, "-") == 0 || a[0] != '-') {
			if (input_path != NULL)
				return usage_error("lookup: one input file only (%s)", a);
			input_path = a;
		} else {
			return usage_error("lookup: unknown option %s; see veil lookup --help", a);
		}
	}
	if (opt.server_url == NULL || server_key == NULL)
		return usage_error("%s", "lookup: --server and --server-key are required");
	if (parse_server_key(server_key, opt.server_key) != 0)
		return usage_error("--server-key: %s is neither 64 hex digits nor a file holding "
				   "them",
				   server_key);
	opt.timeout_ms = (int)timeout_s * 1000;

	char default_path[PATH_MAX];
	if (client_key == NULL) {
		if (default_key_path(default_path, sizeof(default_path), 1) != 0) {
			fprintf(stderr, "veil: cannot find a config directory; use --client-key\n");
			return 1;
		}
		client_key = default_path;
	}

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
	if (load_or_create_client_key(client_key, client_key == default_path, secret) != 0)
		goto out;

	FILE *in = stdin;
	if (input_path != NULL && strcmp(input_path, "-") != 0 &&
	    (in = fopen(input_path, "rb")) == NULL) {
		fprintf(stderr, "veil: cannot open %s: %s\n", input_path, strerror(errno));
		goto out;
	}
	const int read_failed = read_all(in, &input);
	if (in != stdin)
		fclose(in);
	if (read_failed) {
		fprintf(stderr, "veil: cannot read the contacts (larger than %zu MiB?)\n",
			MAX_INPUT_SIZE >> 20);
		goto out;
	}
	unsigned error_line = 0;
	veil_err err = contacts_parse(buf_data(&input), buf_len(&input), &contacts, &error_line);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil: contacts, line %u: %s\n", error_line, veil_strerror(err));
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

	opt.client_secret = secret;
	err = veil_client_new(&opt, &client);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil: %s%s\n", veil_strerror(err),
			err == VEIL_ERR_ARGUMENT ? " (check --server and --region)" : "");
		goto out;
	}
	err = veil_client_lookup(client, texts, n, results);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil: lookup failed: %s; %s\n", veil_strerror(err),
			veil_client_last_error(client));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		print_result(contacts_get(contacts, i), &results[i], as_json);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	veil_client_free(client);
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

/* ---- dispatch ---- */

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{"keygen", cmd_keygen, "make a client key and print its public key"},
	{"lookup", cmd_lookup, "find out which contacts are registered"},
};

static void
usage(FILE *to)
{
	fprintf(to, "usage: veil COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(to, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(to, "\n`veil COMMAND --help` describes each.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "veil: crypto library failed to start\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "veil: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
