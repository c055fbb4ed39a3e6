/*
 * veil-admin exposure analyze (commands.h): what a log export
 * someone hands over reveals, measured with the exposure analysis
 * (server/exposure/exposure.h).
 *
 * May use: common/, the stores (store/), the daemon's prefix rule
 * (daemon/service.h) and the exposure analysis.
 */
#include "commands.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clients.h"
#include "clock.h"
#include "exposure.h"
#include "service.h"
#include "store_file.h"

#define PROGRAM "veil-admin exposure analyze"

const char admin_exposure_analyze_synopsis[] =
        "--export FILE [--salts FILE] [--replica N] [--universe SPEC] [--accounts FILE] "
        "[--issuer-state IDIR] [OPTIONS]";

const char admin_exposure_analyze_details[] =
        "What an export someone hands over reveals: adversary A0 (the export), A1\n"
        "(also the salts) when they are given, A4 (a copy of the whole state directory:\n"
        "also the clients database's day of each account's last charge) with --state,\n"
        "--salts and --accounts, and A5 (a wiretap on veild: each entry a request whose\n"
        "sender is named) when the prefix length is known. No ground truth: the pair\n"
        "test is not scored (bench/veil-exposure-sim measures it on a synthetic\n"
        "population).\n"
        "\n"
        "An export of a veild in tokens mode (its header says \"auth\": \"tokens\") names\n"
        "no requester: every adversary's requester figure is every account and the pair\n"
        "test does not apply; A4 then needs --state and --salts only (veild's state holds\n"
        "no clients database), and --issuer-state adds adversary I (a copy of the token\n"
        "issuer's state directory) and its fetch records.\n"
        "\n"
        "  --export FILE    a log export (`veil-admin log export`), JSON Lines\n"
        "  --salts FILE     the salts (`veil-admin log salts`): adds adversary A1\n"
        "  --replica N      an export (and salts) of several replicas (`log export\n"
        "                   --state A B ...`): analyze section N (0, 1, ...); each\n"
        "                   replica's digests are under its own salts, so one\n"
        "                   replica is analyzed at a time\n"
        "  --accounts FILE  enrolled public keys, 64 hex digits a line; without it the\n"
        "                   requester figures are the expected ones for the header's\n"
        "                   accounts\n"
        "  --universe SPEC  handles of the numbering space: nanp (the simulator's plan,\n"
        "                   2178000000) or a number; default: the export's header\n"
        "  --prefix-bits L  prefix lengths clients sent: P, P,Q or P-Q (0..24)\n"
        "  --state DIR      take the prefix length veild recommends for DIR's registry;\n"
        "                   with --salts and --accounts, read each account's last charge\n"
        "                   in DIR's clients database (nothing is written): adds A4\n"
        "  --issuer-state IDIR  tokens mode: the token issuer's state directory; reads\n"
        "                   its clients database (as `client list` does): adds I and\n"
        "                   the accounts by day of their last fetch; without\n"
        "                   --accounts its enrolled accounts are the population\n"
        "  --json           print JSON (schema veil-exposure-v1) instead of the table\n"
        "  --chart FILE     write the SVG chart to FILE\n"
        "\n"
        "With neither --prefix-bits nor --state, the lengths are those (0..20) under\n"
        "which every salted entry's bucket digests match some prefix.\n";

/* ------------------------------------------------------------------ */
/* analyze */

/*
 * A4's view of the clients database of dir: for each of the count
 * accounts, the day of its last charge, into *out (malloc'd), or *out
 * NULL when dir has no clients database. Opened as `veil-admin client
 * list` opens it, after checking it exists, so nothing is created; the
 * open's sweep deletes only what veild's own sweep would. 0, or -1 after
 * saying why.
 */
static int
state_last_use(const char *dir, const uint8_t *accounts, size_t count, uint32_t **out)
{
	*out = NULL;
	char *data = store_file_join(CLIENTS_DIR, "data.mdb");
	const bool present = data != NULL && store_file_exists(dir, CLIENTS_KEY_FILE) &&
	                     store_file_exists(dir, data);
	free(data);
	if (!present)
		return 0;
	clients *c = NULL;
	veil_err err = clients_open(dir, NULL, &c);
	uint32_t *days = err == VEIL_OK ? calloc(count + 1, sizeof(uint32_t)) : NULL;
	if (err == VEIL_OK && days == NULL)
		err = VEIL_ERR_NOMEM;
	for (size_t i = 0; err == VEIL_OK && i < count; i++)
		err = clients_last_use(c, accounts + i * EXPOSURE_KEY_SIZE, &days[i]);
	clients_close(c);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "cannot read the clients database of %s: %s", dir,
		          veil_strerror(err));
		free(days);
		return -1;
	}
	*out = days;
	return 0;
}

/* The highest width of mask. */
static unsigned
longest_width(uint64_t mask)
{
	unsigned p = 0;
	for (unsigned w = 0; w < 64; w++)
		if ((mask >> w) & 1)
			p = w;
	return p;
}

/* The options, as cli_parse() leaves them (veil-admin parses them). */
static struct {
	const char *export_path, *salts, *accounts, *universe, *prefix_bits, *state, *chart,
	        *issuer_state, *replica;
	bool json;
} o;

const cli_option admin_exposure_analyze_options[] = {
        CLI_TEXT_OPTION("export", &o.export_path),
        CLI_TEXT_OPTION("salts", &o.salts),
        CLI_TEXT_OPTION("replica", &o.replica),
        CLI_TEXT_OPTION("accounts", &o.accounts),
        CLI_TEXT_OPTION("universe", &o.universe),
        CLI_TEXT_OPTION("prefix-bits", &o.prefix_bits),
        CLI_TEXT_OPTION("state", &o.state),
        CLI_TEXT_OPTION("issuer-state", &o.issuer_state),
        CLI_FLAG_OPTION("json", &o.json),
        CLI_TEXT_OPTION("chart", &o.chart),
        CLI_END,
};

/* P, P,Q,... or P-Q into a mask of widths 0..24; -1 when malformed. */
static int
parse_widths(const char *text, uint64_t *mask)
{
	*mask = 0;
	const char *s = text;
	while (*s != '\0') {
		char *end;
		errno = 0;
		const unsigned long a = strtoul(s, &end, 10);
		unsigned long b = a;
		if (errno != 0 || end == s || *s == '-' || *s == '+')
			return -1;
		s = end;
		if (*s == '-') {
			s++;
			b = strtoul(s, &end, 10);
			if (errno != 0 || end == s || *s == '+')
				return -1;
			s = end;
		}
		if (a > b || b > EXPOSURE_MAX_PREFIX_BITS)
			return -1;
		for (unsigned long p = a; p <= b; p++)
			*mask |= (uint64_t)1 << p;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return *mask != 0 ? 0 : -1;
}

static int
parse_universe(const char *text, uint64_t *out)
{
	if (strcmp(text, "nanp") == 0) {
		*out = EXPOSURE_NANP_UNIVERSE;
		return 0;
	}
	return cli_parse_u64(text, 1, UINT64_MAX, out);
}

/* The recommended prefix length of the registry in dir, as veild advertises it. */
static int
state_prefix_bits(const char *dir, uint64_t *mask)
{
	const char *why = NULL;
	uint8_t p_rec = 0;
	veil_err err = service_state_prefix_bits(dir, &p_rec, &why);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "cannot read the registry of %s: %s%s%s", dir,
		          veil_strerror(err), why ? ": " : "", why ? why : "");
		return -1;
	}
	if (p_rec > EXPOSURE_MAX_PREFIX_BITS) {
		cli_error(PROGRAM, "the registry's prefix length %u is beyond the analysis", p_rec);
		return -1;
	}
	*mask = (uint64_t)1 << p_rec;
	return 0;
}

int
admin_exposure_analyze(const cli_command *cmd, int argc, char **argv)
{
	(void)argc; /* veil-admin's table allows none */
	(void)argv;
	if (o.export_path == NULL)
		return cli_usage_error(cmd, "--export FILE is required");
	uint64_t universe = 0, widths = 0;
	if (o.universe != NULL && parse_universe(o.universe, &universe) != 0)
		return cli_usage_error(cmd, "--universe takes nanp or a whole number");
	if (o.prefix_bits != NULL && o.state != NULL)
		return cli_usage_error(cmd, "--prefix-bits and --state say the same thing: one");
	if (o.prefix_bits != NULL && parse_widths(o.prefix_bits, &widths) != 0)
		return cli_usage_error(cmd, "--prefix-bits takes P, P,Q or P-Q, each 0..%d",
		                       EXPOSURE_MAX_PREFIX_BITS);
	uint32_t replica = EXPOSURE_NO_REPLICA;
	if (o.replica != NULL) {
		char *end = NULL;
		errno = 0;
		const unsigned long long n = strtoull(o.replica, &end, 10);
		if (o.replica[0] < '0' || o.replica[0] > '9' || *end != '\0' || errno != 0 ||
		    n >= EXPOSURE_NO_REPLICA)
			return cli_usage_error(cmd, "--replica takes a section number: 0, 1, ...");
		replica = (uint32_t)n;
	}

	const double started = clock_monotonic_seconds();
	exposure_log *log = NULL;
	exposure_salts *salts = NULL;
	uint8_t *accounts = NULL;
	size_t account_count = 0;
	uint64_t bytes = 0;
	exposure_row rows[5];
	size_t row_count = 0;
	const char *notes[8];
	size_t note_count = 0;
	uint32_t *last_use = NULL;
	exposure_tap_request *requests = NULL;
	size_t request_count = 0;
	exposure_issuer_record *issuer_records = NULL;
	size_t issuer_count = 0;
	exposure_issuer fetches = {0};
	char why[320], a4_why[200];
	int rc = 1;
	if (exposure_log_load_replica(o.export_path, replica, &log, &bytes, why, sizeof(why)) !=
	            VEIL_OK ||
	    (o.salts != NULL &&
	     exposure_salts_load_replica(o.salts, replica, &salts, why, sizeof(why)) != VEIL_OK) ||
	    (o.accounts != NULL && exposure_accounts_load(o.accounts, &accounts, &account_count,
	                                                  why, sizeof(why)) != VEIL_OK)) {
		cli_error(PROGRAM, "%s", why);
		goto out;
	}
	if (o.accounts != NULL && account_count == 0) {
		cli_error(PROGRAM, "%s holds no public key", o.accounts);
		goto out;
	}
	exposure_log_header h;
	exposure_log_header_get(log, &h);
	if (o.issuer_state != NULL && !h.tokens) {
		cli_error(PROGRAM,
		          "--issuer-state goes with an export of a veild in tokens mode; %s says "
		          "\"auth\": \"keys\"",
		          o.export_path);
		goto out;
	}
	if (o.issuer_state != NULL) {
		veil_err ierr = exposure_issuer_load(o.issuer_state, &issuer_records, &issuer_count,
		                                     why, sizeof(why));
		if (ierr == VEIL_OK)
			ierr = exposure_issuer_summarize(issuer_records, issuer_count, &fetches);
		if (ierr != VEIL_OK) {
			cli_error(PROGRAM, "%s",
			          ierr == VEIL_ERR_NOMEM ? veil_strerror(ierr) : why);
			goto out;
		}
		/* veild enrols nobody in tokens mode: the issuer's accounts are the population. */
		if (accounts == NULL && fetches.enrolled > 0) {
			exposure_log_set_accounts(log, fetches.enrolled);
			exposure_log_header_get(log, &h);
		}
	}
	if (universe == 0)
		universe = h.universe;
	if (o.state != NULL && state_prefix_bits(o.state, &widths) != 0)
		goto out;
	const char *prefix_note = o.state != NULL
	                                  ? "the length veild recommends for --state's registry"
	                          : o.prefix_bits != NULL ? "as given"
	                                                  : NULL;
	int prefix_unknown = 0;
	uint32_t days[EXPOSURE_MAX_DAYS];
	const size_t salted_day_count = exposure_salted_days(log, salts, days, EXPOSURE_MAX_DAYS);
	if (widths == 0 && salted_day_count > 0) {
		prefix_note = "inferred: every length 0..20 under which all salted digests fit a "
		              "prefix; --prefix-bits or --state give the one clients used";
		widths = exposure_infer_prefix_widths(log, salts, 20);
		if (widths == 0) {
			cli_error(
			        PROGRAM,
			        "no prefix length 0..20 fits the salted entries (salts of another "
			        "log?); "
			        "give --prefix-bits");
			goto out;
		}
	}
	if (widths == 0) {
		/* Without salts no digest is computed: any width does. */
		prefix_note = "unknown; without a salted entry not needed";
		prefix_unknown = 1;
		widths = (uint64_t)1
		         << (h.t_b < EXPOSURE_MAX_PREFIX_BITS ? h.t_b : EXPOSURE_MAX_PREFIX_BITS);
	}

	/* Tokens mode: veild charges no account; its state's charges say nothing. */
	if (!h.tokens && o.state != NULL && salts != NULL && accounts != NULL &&
	    state_last_use(o.state, accounts, account_count, &last_use) != 0)
		goto out;
	if (h.tokens)
		notes[note_count++] = exposure_note_tokens;

	exposure_view view = {.log = log,
	                      .accounts = accounts,
	                      .account_count = account_count,
	                      .universe = universe,
	                      .prefix_widths = widths,
	                      .export_bytes = bytes};
	rows[row_count] = (exposure_row){"A0", "export", {0}};
	veil_err err = exposure_analyze(&view, NULL, 0, &rows[row_count++].figures);
	view.salts = salts;
	if (err == VEIL_OK && salts != NULL) {
		rows[row_count] = (exposure_row){"A1", "export + salts", {0}};
		err = exposure_analyze(&view, NULL, 0, &rows[row_count++].figures);
	}
	if (err == VEIL_OK && h.tokens && o.state != NULL && salts != NULL) {
		/* No clients database in veild's state: A1's figures (the registry's
		 * buckets are not read here either). */
		rows[row_count] = (exposure_row){"A4", "state directory copy", {0}};
		err = exposure_analyze(&view, NULL, 0, &rows[row_count++].figures);
		notes[note_count++] = exposure_note_a4_tokens;
	} else if (err == VEIL_OK && h.tokens) {
		notes[note_count++] =
		        "A4 (a copy of the state directory) is not computed: it needs "
		        "--state and --salts (the state directory holds the salts).";
	} else if (err == VEIL_OK && last_use != NULL) {
		/* The registry is in the copy too, but its buckets are not read
		 * here: A4's handle figures are A1's, without the registered count. */
		view.last_use = last_use;
		rows[row_count] = (exposure_row){"A4", "state directory copy", {0}};
		err = exposure_analyze(&view, NULL, 0, &rows[row_count++].figures);
		notes[note_count++] = exposure_note_a4;
	} else if (err == VEIL_OK) {
		snprintf(a4_why, sizeof(a4_why),
		         "A4 (a copy of the state directory) is not computed: %s",
		         o.state == NULL || salts == NULL || accounts == NULL
		                 ? "it needs --state, --salts and --accounts (the state directory "
		                   "holds the salts; the candidate keys come from --accounts)."
		                 : "--state holds no clients database.");
		notes[note_count++] = a4_why;
	}
	if (err == VEIL_OK && !prefix_unknown) {
		err = exposure_log_tap(log, &requests, &request_count);
		const exposure_tap tap = {.requests = requests,
		                          .request_count = request_count,
		                          .prefix_bits = longest_width(widths),
		                          .accounts = accounts != NULL ? account_count : h.accounts,
		                          .universe = universe};
		if (err == VEIL_OK) {
			rows[row_count] = (exposure_row){"A5", "wiretap, 30 days", {0}};
			exposure_figures *f = &rows[row_count++].figures;
			err = h.tokens ? exposure_analyze_tap_anonymous(&tap, 0, f)
			               : exposure_analyze_tap(&tap, 0, NULL, 0, f);
			notes[note_count++] = h.tokens ? exposure_note_a5_tokens : exposure_note_a5;
			if ((widths & (widths - 1)) != 0)
				notes[note_count++] =
				        "A5 takes the longest prefix length inferred; a "
				        "wiretap reads the one each request carries.";
		}
	} else if (err == VEIL_OK) {
		notes[note_count++] = "A5 (a wiretap on veild) is not computed: its handle figure "
		                      "needs the prefix length (--state or --prefix-bits).";
	}
	if (err == VEIL_OK && o.issuer_state != NULL) {
		rows[row_count] = (exposure_row){"I", "issuer's state copy", {0}};
		err = exposure_analyze_issuer(log, accounts != NULL ? account_count : h.accounts,
		                              universe, &rows[row_count++].figures);
		notes[note_count++] = exposure_note_issuer;
	} else if (err == VEIL_OK && h.tokens) {
		notes[note_count++] = "I (a copy of the token issuer's state directory) is not "
		                      "computed: it needs --issuer-state.";
	}
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "analysis failed: %s", veil_strerror(err));
		goto out;
	}
	if (row_count > 1 && accounts != NULL && rows[1].figures.unmatched_requesters > 0)
		fprintf(stderr,
		        "%s: note: %llu salted entries match none of the accounts given (not every "
		        "enrolled key is in the list?)\n",
		        PROGRAM, (unsigned long long)rows[1].figures.unmatched_requesters);

	const exposure_report report = {
	        .source = "analyze",
	        .prefix_note = prefix_note,
	        .prefix_unknown = prefix_unknown,
	        .header = h,
	        .universe = universe,
	        .accounts = accounts != NULL ? account_count : h.accounts,
	        .prefix_widths = widths,
	        .salted_days = days,
	        .salted_day_count = salted_day_count,
	        .seconds = clock_monotonic_seconds() - started,
	        .rows = rows,
	        .row_count = row_count,
	        .notes = notes,
	        .note_count = note_count,
	        .issuer = o.issuer_state != NULL ? &fetches : NULL,
	};
	if (exposure_report_write(&report, o.json, stdout, o.chart, why, sizeof(why)) != VEIL_OK) {
		cli_error(PROGRAM, "%s", why);
		goto out;
	}
	rc = 0;
out:
	exposure_log_free(log);
	exposure_salts_free(salts);
	free(accounts);
	free(last_use);
	free(requests);
	free(issuer_records);
	exposure_issuer_free(&fetches);
	return rc;
}
