/*
 * veil-token: serves Privacy Pass type 0x0001 token requests (RFC 9578),
 * one JSON object per line on stdin, with one JSON answer per line on
 * stdout, in order, flushed after each so that another program can drive
 * it line by line. The request and answer formats are in
 * token_transcript.h.
 *
 * Exit status: 0 at the end of input, 1 when stdin or stdout fails, 2 for
 * bad arguments. A bad request is answered, never fatal.
 */
#include <stdio.h>

#include "cli.h"
#include "jsonl.h"
#include "oprf.h"
#include "token_transcript.h"

#define PROGRAM "veil-token"

/* --help, after the usage line. */
static void
print_help(void)
{
	fputs("Reads Privacy Pass type 0x0001 (RFC 9578) requests as JSON Lines on stdin and\n"
	      "writes one answer line per request to stdout, for interoperability tests.\n"
	      "A request is {\"id\":any,\"op\":OP,...} with these members per OP (bytes as hex):\n"
	      "\n"
	      "  key       skI                            -> pkI, token_key_id\n"
	      "  issue     skI, request                   -> response\n"
	      "  request   pkI, challenge, nonce, blind   -> request\n"
	      "  finalize  pkI, challenge, nonce, blind,\n"
	      "            response                       -> token\n"
	      "  verify    skI, token                     -> valid (true or false)\n"
	      "\n"
	      "An answer: {\"id\":...,\"ok\":true,...}, or "
	      "{\"id\":...,\"ok\":false,\"error\":\"...\"}.\n"
	      "Blank lines are skipped.\n",
	      stdout);
}

int
main(int argc, char **argv)
{
	static const cli_command command = {PROGRAM, "[--help | --version] < REQUESTS", NULL};
	int first = 0;

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
	return jsonl_serve_stream(PROGRAM, stdin, stdout, token_transcript_line);
}
