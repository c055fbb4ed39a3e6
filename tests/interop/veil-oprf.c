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

#include "jsonl.h"
#include "oprf_transcript.h"

#define PROGRAM "veil-oprf"

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

int
main(int argc, char **argv)
{
	return jsonl_tool_main(PROGRAM, print_help, oprf_transcript_line, argc, argv);
}
