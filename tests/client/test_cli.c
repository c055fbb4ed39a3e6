/*
 * The veil command line against a real veild: keygen writes 0600 keys
 * and never overwrites; lookup reads plain, CSV and vCard input, prints
 * one line per contact in order (plain and --json), reports unparseable
 * contacts without dropping them, refuses a key file readable by others,
 * and exits non-zero with a clear message when no server answers.
 *
 * Arguments: veil veil-admin veild address-book.vcf
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "harness.h"
#include "json.h"
#include "proc.h"

static const char *veil_path, *admin_path, *veild_path, *sample_path;
static char *work_dir, *state_dir, *url, *info_path, *key_path;
static proc_daemon daemon_proc;

static char *
path_in(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", work_dir, name) < 0)
		abort();
	return p;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Runs veil lookup with extra arguments on input_path; returns the status. */
static int
lookup(const char *input_path, const char *extra, char **out, char **err)
{
	const char *argv[] = {veil_path, "lookup", "--server", url, "--server-key", info_path,
			      "--client-key", key_path, "--region", "US", extra, input_path, NULL};
	if (extra == NULL) {
		argv[10] = input_path;
		argv[11] = NULL;
	}
	return proc_run(argv, NULL, out, err);
}

static void
case_keygen_writes_0600_and_never_overwrites(void)
{
	char *path = path_in("k1.key");
	const char *argv[] = {veil_path, "keygen", "--out", path, NULL};
	char *out = NULL, *err = NULL;
	CHECK(proc_run(argv, NULL, &out, &err) == 0);
	CHECK(strlen(out) == 65 && out[64] == '\n');
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(out);
	free(err);

	char *again = NULL;
	CHECK(proc_run(argv, NULL, NULL, &again) == 1);
	CHECK(strstr(again, "already exists") != NULL);
	free(again);
	free(path);
}

static void
case_plain_input_one_line_per_contact(void)
{
	char *input = path_in("plain.txt");
	const char text[] = "(415) 555-0100\ncall me maybe\n  Ann@Example.ORG \n+1 415 555 0199\n";
	proc_write_file(input, text, sizeof(text) - 1);
	char *out = NULL, *err = NULL;
	CHECK(lookup(input, NULL, &out, &err) == 0);
	CHECK(count_lines(out) == 4);
	const char *lines[] = {"(415) 555-0100\ttel:+14155550100\tregistered\tfriend\n",
			       "call me maybe\t-\terror: not a phone number\n",
			       "Ann@Example.ORG\tmailto:ann@example.org\tregistered\n", /* lines are trimmed */
			       "+1 415 555 0199\ttel:+14155550199\tnot registered\n"};
	const char *at = out;
	for (size_t i = 0; i < 4; i++) {
		const char *found = strstr(at, lines[i]);
		CHECK(found == at); /* in input order, nothing in between */
		if (found != at) {
			printf("# line %zu: got: %s", i, at);
			break;
		}
		at += strlen(lines[i]);
	}
	free(out);
	free(err);
	free(input);
}

static void
case_json_output_parses(void)
{
	char *input = path_in("contacts.csv");
	const char text[] = "name,Phone,Email\nAnn,(415) 555-0100,ann@example.org\nBob,,bob@example.net\n";
	proc_write_file(input, text, sizeof(text) - 1);
	char *out = NULL, *err = NULL;
	CHECK(lookup(input, "--json", &out, &err) == 0);
	CHECK(count_lines(out) == 3);
	const char *want_handles[] = {"tel:+14155550100", "mailto:ann@example.org",
				      "mailto:bob@example.net"};
	const int want_registered[] = {1, 1, 0};
	char *line = out;
	for (size_t i = 0; i < 3 && line != NULL; i++) {
		char *end = strchr(line, '\n');
		json_value *v = NULL;
		REQUIRE(end != NULL);
		CHECK(json_parse(line, (size_t)(end - line), &v) == VEIL_OK);
		if (v != NULL) {
			const char *handle = json_string(json_object_get(v, "handle"), NULL);
			CHECK(handle != NULL && strcmp(handle, want_handles[i]) == 0);
			CHECK(json_type_of(json_object_get(v, "registered")) ==
			      (want_registered[i] ? JSON_TRUE : JSON_FALSE));
			json_free(v);
		}
		line = end + 1;
	}
	free(out);
	free(err);
	free(input);
}

static void
case_vcard_sample(void)
{
	char *out = NULL, *err = NULL;
	CHECK(lookup(sample_path, "--json", &out, &err) == 0);
	/* 31 contact values in the sample, two of them unparseable. */
	CHECK(count_lines(out) == 31);
	int errors = 0;
	for (const char *p = out; (p = strstr(p, "\"error\"")) != NULL; p++)
		errors++;
	CHECK(errors == 2);
	CHECK(strstr(out, "{\"input\": \"(415) 555-0100\", \"handle\": \"tel:+14155550100\", "
			  "\"registered\": true, \"payload\": \"friend\"}") != NULL);
	free(out);
	free(err);
}

static void
case_key_readable_by_others_is_refused(void)
{
	char *loose = path_in("loose.key");
	const char *argv[] = {veil_path, "keygen", "--out", loose, NULL};
	REQUIRE(proc_run(argv, NULL, NULL, NULL) == 0);
	REQUIRE(chmod(loose, 0644) == 0);
	char *input = path_in("one.txt");
	proc_write_file(input, "+1 415 555 0100\n", 16);
	const char *lookup_argv[] = {veil_path, "lookup", "--server", url, "--server-key",
				     info_path, "--client-key", loose, input, NULL};
	char *out = NULL, *err = NULL;
	CHECK(proc_run(lookup_argv, NULL, &out, &err) == 1);
	CHECK(strstr(err, "readable by others") != NULL);
	CHECK(out[0] == '\0');
	free(out);
	free(err);
	free(input);
	free(loose);
}

static void
case_usage_errors_and_help(void)
{
	const char *no_server[] = {veil_path, "lookup", "--server-key", info_path, NULL};
	const char *bad_key[] = {veil_path, "lookup", "--server", url, "--server-key", "abcd", NULL};
	const char *unknown[] = {veil_path, "frobnicate", NULL};
	const char *help[] = {veil_path, "lookup", "--help", NULL};
	char *out = NULL, *err = NULL;
	CHECK(proc_run(no_server, NULL, NULL, &err) == 2);
	CHECK(strstr(err, "--server") != NULL);
	free(err);
	CHECK(proc_run(bad_key, NULL, NULL, &err) == 2);
	CHECK(strstr(err, "--server-key") != NULL);
	free(err);
	CHECK(proc_run(unknown, NULL, NULL, &err) == 2);
	free(err);
	CHECK(proc_run(help, NULL, &out, NULL) == 0);
	CHECK(strstr(out, "usage: veil lookup") != NULL);
	free(out);
}

static void
case_no_server_is_a_clear_failure(void)
{
	char *input = path_in("one.txt");
	proc_write_file(input, "+1 415 555 0100\n", 16);
	char *dead;
	if (asprintf(&dead, "tcp://127.0.0.1:%d", proc_free_port()) < 0)
		abort();
	const char *argv[] = {veil_path, "lookup", "--server", dead, "--server-key", info_path,
			      "--client-key", key_path, "--timeout", "1", input, NULL};
	char *out = NULL, *err = NULL;
	CHECK(proc_run(argv, NULL, &out, &err) == 1);
	CHECK(strstr(err, "lookup failed") != NULL && strstr(err, "no reply") != NULL);
	CHECK(out[0] == '\0'); /* no half answer */
	free(out);
	free(err);
	free(dead);
	free(input);
}

static const test_case cases[] = {
	{"keygen writes 0600 and never overwrites", case_keygen_writes_0600_and_never_overwrites},
	{"plain input: one line per contact, in order", case_plain_input_one_line_per_contact},
	{"CSV input, --json output parses", case_json_output_parses},
	{"the sample vCard address book", case_vcard_sample},
	{"a key readable by others is refused", case_key_readable_by_others_is_refused},
	{"usage errors and --help", case_usage_errors_and_help},
	{"no server is a clear failure", case_no_server_is_a_clear_failure},
};

static void
setup(void)
{
	work_dir = proc_temp_dir("cli");
	state_dir = path_in("state");
	info_path = path_in("server.info");
	key_path = path_in("client.key");
	if (asprintf(&url, "tcp://127.0.0.1:%d", proc_free_port()) < 0)
		abort();
	char *import = path_in("import.txt");
	const char registered[] = "(415) 555-0100,friend\nann@example.org\n+1 212 555 0104\n";
	proc_write_file(import, registered, sizeof(registered) - 1);
	const char *keygen[] = {admin_path, "keygen", "--state", state_dir, NULL};
	const char *imp[] = {admin_path, "import", "--state", state_dir, "--region", "US",
			     import, NULL};
	const char *info[] = {admin_path, "info", "--state", state_dir, NULL};
	const char *client_keygen[] = {veil_path, "keygen", "--out", key_path, NULL};
	char *out = NULL;
	if (proc_run(keygen, NULL, NULL, NULL) != 0 || proc_run(imp, NULL, NULL, NULL) != 0 ||
	    proc_run(info, NULL, &out, NULL) != 0 || proc_run(client_keygen, NULL, NULL, NULL) != 0)
		abort();
	proc_write_file(info_path, out, strlen(out));
	free(out);
	free(import);
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url, "--enrolment", "open", "--threads", "1",
			      NULL};
	if (proc_start(&daemon_proc, argv, "ready", 20000) != 0)
		abort();
}

int
main(int argc, char **argv)
{
	if (argc != 5 || sodium_init() < 0)
		return 2;
	veil_path = argv[1];
	admin_path = argv[2];
	veild_path = argv[3];
	sample_path = argv[4];
	setup();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	if (proc_stop(&daemon_proc) != 0)
		rc = 1;
	proc_release(&daemon_proc);
	proc_remove_tree(work_dir);
	return rc;
}
