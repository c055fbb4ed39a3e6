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

#include "jsonl.h"
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
	return jsonl_tool_main(PROGRAM, print_help, token_transcript_line, argc, argv);
}
