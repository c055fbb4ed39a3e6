/*
 * veil-oprf: serves RFC 9497 transcript requests, one JSON object per line
 * on stdin, with one JSON answer per line on stdout, in order, flushed
 * after each so that another program can drive it line by line. The
 * request and answer formats are in oprf_transcript.h.
 *
 * Exit status: 0 at the end of input, 1 when stdin or stdout fails, 2 for
 * bad arguments. A bad request is answered, never fatal.
 */
#include <stdio.h>

#include "cli.h"
#include "oprf.h"
#include "oprf_transcript.h"

#define PROGRAM "veil-oprf"

/* A failed answer that could not even be built (out of memory). */
static const char answer_no_memory[] = "{\"id\":null,\"ok\":false,\"error\":\"out of memory\"}\n";

/* --help, after the usage line. */
static void
print_help(void)
{
	fputs("Reads RFC 9497 requests as JSON Lines on stdin and writes one answer line\n"
	      "per request to stdout, for interoperability tests. A request:\n"
	      "\n"
	      "  {\"id\":1,\"suite\":\"ristretto255-SHA512\",\"mode\":1,\n"
	      "   \"seed\":hex,\"keyInfo\":hex,           (or \"skSm\":hex)\n"
	      "   \"input\":[hex,...],\"blind\":[hex,...],  (blind optional: random)\n"
	      "   \"info\":hex,                         (mode 2 only)\n"
	      "   \"proofRandomScalar\":hex}            (modes 1 and 2; optional: random)\n"
	      "\n"
	      "An answer: "
	      "{\"id\":1,\"ok\":true,\"skSm\":...,\"pkSm\":...,\"blindedElement\":[...],\n"
	      "\"evaluationElement\":[...],\"proof\":...,\"output\":[...]}, or\n"
	      "{\"id\":1,\"ok\":false,\"error\":\"...\"}. Blank lines are skipped.\n",
	      stdout);
}

/*
 * Reads one line, without its newline, into line. Bytes past
 * OPRF_TRANSCRIPT_MAX_LINE are read and dropped, and *too_long is set, so a
 * huge line costs no more memory than the cap. Returns 1 for a line, 0 at
 * the end of input, -1 on a read error or when line cannot grow.
 */
static int
read_line(FILE *in, buf *line, int *too_long)
{
	char chunk[4096];
	size_t n = 0;
	int c, any = 0;

	buf_reset(line);
	*too_long = 0;
	while ((c = getc_unlocked(in)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (buf_len(line) + n >= OPRF_TRANSCRIPT_MAX_LINE) {
			*too_long = 1;
			continue;
		}
		chunk[n++] = (char)c;
		if (n == sizeof(chunk)) {
			if (buf_append(line, chunk, n) != VEIL_OK)
				return -1;
			n = 0;
		}
	}
	if (ferror(in))
		return -1;
	if (buf_append(line, chunk, n) != VEIL_OK)
		return -1;
	return any;
}

int
main(int argc, char **argv)
{
	static const cli_command command = {PROGRAM, "[--help | --version] < REQUESTS", NULL};
	buf line, answer;
	int first = 0, too_long, got, status = 0;

	const cli_result parsed = cli_parse(&command, argc, argv, &first);
	if (parsed == CLI_HELP) {
		cli_print_usage(&command, stdout);
		fputc('\n', stdout);
		print_help();
		return 0;
	}
	if (parsed != CLI_RUN)
		return parsed == CLI_USAGE ? CLI_EXIT_USAGE : 0; /* explained, or --version */
	/* A word, not an option: perhaps a file meant as the input. */
	if (first < argc)
		return cli_usage_error(&command,
		                       "unknown argument %s: the requests come on standard input",
		                       argv[first]);
	if (veil_crypto_init() != VEIL_OK) {
		cli_error(PROGRAM, "cannot initialize the crypto library");
		return 1;
	}

	buf_init(&line);
	buf_init(&answer);
	while ((got = read_line(stdin, &line, &too_long)) == 1) {
		veil_err err;
		buf_reset(&answer);
		if (too_long)
			err = oprf_transcript_refuse(&answer, "line too long");
		else
			err = oprf_transcript_line(buf_data(&line), buf_len(&line), &answer);
		if (err != VEIL_OK) {
			buf_reset(&answer);
			buf_append_str(&answer, answer_no_memory);
		}
		if (buf_len(&answer) == 0)
			continue; /* a blank line */
		if (fwrite(buf_data(&answer), 1, buf_len(&answer), stdout) != buf_len(&answer) ||
		    fflush(stdout) != 0) {
			cli_error(PROGRAM, "cannot write to stdout");
			status = 1;
			goto out;
		}
	}
	if (got < 0) {
		cli_error(PROGRAM, "cannot read a line from stdin");
		status = 1;
	}
out:
	buf_free(&line);
	buf_free(&answer);
	return status;
}
