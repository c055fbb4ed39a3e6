/*
 * Exposure analysis: what a query log export tells whoever holds it
 * (docs/DESIGN.md, "The query log" and "Threat model"), measured on real
 * data. Used by `veil-admin exposure analyze` and by the simulator in
 * bench/ (veil-exposure-sim), which drives a synthetic population through
 * the real client and veild and then measures its own export here.
 *
 * May use: common/, the query log's formats (store/qlog.h,
 * store/qlog_store.h), and the clients store (store/clients.h) to read an
 * issuer's records. Nothing here opens a socket or runs a program.
 *
 * Three parts:
 *
 *   1. Readers of what an adversary holds: a log export (JSON Lines,
 *      store/qlog.h), the salts export, a list of enrolled public keys,
 *      the Apple-style baseline log (requester, looked-up handle, IP,
 *      exact time: one line per looked-up handle), and, in tokens mode,
 *      the token issuer's clients database.
 *
 *   2. The analysis (exposure_analyze): for one adversary's holdings, the
 *      anonymity of each entry's requester (how many enrolled accounts
 *      have the entry's requester digest under that day's salt: every
 *      account's key is hashed) and of each looked-up handle (how many
 *      handles of the numbering space share the bucket digest: the p-bit
 *      prefixes whose digest matches, each standing for universe / 2^p
 *      handles), as median, 5th percentile and minimum; the suspected
 *      pair test "A looked up B" (an entry of a day whose salt is held,
 *      whose requester digest is A's and one of whose bucket digests is
 *      that of B's bucket), its true and false positive rates; bits per
 *      entry and bytes per lookup.
 *
 *      With a clients database's last charges (A4, a copy of the state
 *      directory) the requester candidates of a day narrow to the accounts
 *      charged on it or later. A wiretap on veild (A5,
 *      exposure_analyze_tap) needs no digest: it names the requester and
 *      sees each item's prefix.
 *
 *      Tokens mode (the export's header says "auth": "tokens"): veild
 *      learns no requester, its entries carry a requester digest of 0
 *      bits, it charges no account and a wiretap on it sees
 *      SEALED_ANONYMOUS requests that name no sender. Every adversary's
 *      requester figure is then every account, and the pair test "A
 *      looked up B" does not apply (exposure_figures.no_requester): it
 *      could only say that someone looked up B's bucket, the same answer
 *      for every A. The issuer's state (adversary I,
 *      exposure_analyze_issuer) names the accounts that fetched tokens
 *      and, per account, the day of its last fetch (exposure_issuer_load,
 *      exposure_issuer_summarize), and nothing of what was looked up:
 *      tokens are blinded at issuance, so no record links a token to a
 *      redemption, and I together with veild's log still fits every
 *      account.
 *
 *   3. The same figures as a table, JSON and an SVG chart.
 *
 * Digests are recomputed here from qlog.h's definitions, independently
 * of qlog.c: a mismatch would show as entries no account matches, so the
 * simulation checks the two against each other on every run.
 *
 *   requester lead = first 32 bits of HMAC-SHA256(salt, "veil-log-requester-v1" || key)
 *   bucket lead    = first 32 bits of HMAC-SHA256(salt, "veil-log-bucket-v1" || p || prefix)
 *
 * with p one byte and prefix the bucket's top p bits in place, 4 bytes
 * big-endian; the digest of width t is the lead's top t bits.
 *
 * An export's entries list as many bucket digests as their item count's
 * size class (store/qlog.h): the real ones and padding, the digests of
 * random prefixes, which nothing here can tell apart from the real ones
 * (nor could an adversary). So every digest is treated alike: "lookups"
 * and the handle figures count the padding too (at most twice the real
 * lookups), a padding digest matches a prefix as a real one does (the
 * unmatched-items check keeps its meaning), and in the pair test a
 * padding digest equal to B's bucket digest is a false positive, as it
 * would be to the adversary. Older exports (veil-log-v1: exact counts, a
 * "seq" member, no padding) are read too.
 *
 * Every adversary is assumed to know the prefix lengths clients send
 * (the server advertises them to anyone who asks): the conservative
 * choice. Salts are held in guarded memory and wiped; nothing here
 * prints a handle, a key or a salt.
 *
 * Thread safety: the objects are immutable once built and may be read
 * from any number of threads; nothing keeps global state.
 * veil_crypto_init() must have succeeded first.
 */
#ifndef VEIL_SERVER_EXPOSURE_H
#define VEIL_SERVER_EXPOSURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "error.h"

#define EXPOSURE_KEY_SIZE        32
#define EXPOSURE_SALT_SIZE       32
#define EXPOSURE_MAX_WIDTH       32
/* The longest prefix the handle figures are computed for: 2^24 digests per day. */
#define EXPOSURE_MAX_PREFIX_BITS 24
/* The NANP numbering space: 275 area codes of 792 exchanges of 10^4 lines. */
#define EXPOSURE_NANP_UNIVERSE   (275ULL * 792ULL * 10000ULL)
#define EXPOSURE_MAX_DAYS        366u

/* ------------------------------------------------------------------ */
/* Digests (qlog.h) */

uint32_t exposure_requester_lead(const uint8_t salt[static EXPOSURE_SALT_SIZE],
                                 const uint8_t key[static EXPOSURE_KEY_SIZE]);

/* prefix: the bucket's top prefix_bits (0..32) bits in place, the rest zero. */
uint32_t exposure_bucket_lead(const uint8_t salt[static EXPOSURE_SALT_SIZE], unsigned prefix_bits,
                              uint32_t prefix);

/* The top width (0..32) bits of lead, as an integer below 2^width. */
uint32_t exposure_truncate(uint32_t lead, unsigned width);

/* ------------------------------------------------------------------ */
/* Who asked for what: the truth a simulation knows */

typedef struct exposure_population_config {
	uint32_t users;    /* 1..EXPOSURE_MAX_USERS accounts */
	uint32_t contacts; /* address book size on day 0, 1..EXPOSURE_MAX_CONTACTS */
	double registered; /* share of the population's handles registered, 0..1 */
	uint32_t days;     /* 1..EXPOSURE_MAX_DAYS */
	uint64_t seed;
	uint32_t registry_padding; /* registered numbers of people outside the population */
} exposure_population_config;

/* A suspected pair: "account looked up handle". */
typedef struct exposure_pair {
	uint32_t account;   /* index into the accounts list */
	uint32_t bucket;    /* the handle's public bucket */
	const char *handle; /* normalized; lives as long as its source */
	int looked_up;      /* the truth */
	uint32_t last_day;  /* looked up: the last epoch day it was; else UINT32_MAX */
} exposure_pair;

/* ------------------------------------------------------------------ */
/* What an adversary holds */

typedef struct exposure_log exposure_log;

typedef struct exposure_log_header {
	uint32_t t_r, t_b;
	uint32_t k_r, k_b;
	uint64_t accounts, universe;
	uint32_t entry_retention_days, salt_retention_days;
	uint64_t entries, items;      /* items: bucket digests, padding included */
	uint32_t first_day, last_day; /* 0 when there is no entry */
	/* 1: the header's "auth" is "tokens" (veild learns no requester);
	 * 0: "keys", or no "auth" member (exports made before tokens mode). */
	int tokens;
	/* An export of several replicas (below): the section read, and how
	 * many the export holds; both 0 for a single state's export. */
	uint32_t replica, replicas;
} exposure_log_header;

/*
 * Several replicas' logs in one file (veil-admin log export with several
 * state directories): a section per replica, each a header line with
 * "replica": i (from 0) and "replicas": n, then its entries; the salts
 * likewise, each section after a line {"replica": i, "replicas": n}.
 * Each replica has its own salt chain, so its digests cannot be joined
 * with another's: the analysis reads one replica at a time, its entries
 * with its salts (exposure_log_parse_replica(),
 * exposure_salts_parse_replica()), and what an adversary holding every
 * section learns is what each section tells, taken together, never more.
 * The parsers without a replica refuse such a file rather than mix the
 * sections.
 */
#define EXPOSURE_NO_REPLICA UINT32_MAX

/*
 * Parses a log export (qlog.h's JSON Lines): the header line, then one
 * entry per line. Refuses anything that does not follow the format: a
 * digest at or above 2^width, an item count that is not the number of
 * bucket digests, a schema other than veil-log-v2 or veil-log-v1, an
 * "auth" member other than "keys" or "tokens". On error, why (when not NULL) gets
 * the line number and what is wrong with it (never its content).
 * Errors: VEIL_ERR_PARSE, VEIL_ERR_LIMIT, VEIL_ERR_NOMEM.
 */
veil_err exposure_log_parse(const char *text, size_t len, exposure_log **out, char *why,
                            size_t why_len) __attribute__((warn_unused_result));
/*
 * As exposure_log_parse(), reading only the section of replica (0..) of
 * an export of several replicas; EXPOSURE_NO_REPLICA is
 * exposure_log_parse(), which refuses such an export (VEIL_ERR_PARSE:
 * why says to choose a replica). Also VEIL_ERR_PARSE: a replica
 * chosen in an export of one state, a replica the export does not
 * hold, or two sections of one replica. The header is the section's,
 * with replica and replicas set.
 */
veil_err exposure_log_parse_replica(const char *text, size_t len, uint32_t replica,
                                    exposure_log **out, char *why, size_t why_len)
        __attribute__((warn_unused_result));
void exposure_log_free(exposure_log *log);
void exposure_log_header_get(const exposure_log *log, exposure_log_header *out);

typedef struct exposure_salts exposure_salts;

/*
 * Parses a salts export: lines {"day": D, "salt": "<64 hex>"}; other lines
 * holding neither member (a header) are skipped. The salts go to guarded
 * memory; the text is not wiped (the caller owns it).
 * Errors: VEIL_ERR_PARSE (why says which line), VEIL_ERR_NOMEM.
 */
veil_err exposure_salts_parse(const char *text, size_t len, exposure_salts **out, char *why,
                              size_t why_len) __attribute__((warn_unused_result));
/*
 * As exposure_salts_parse(), keeping only the salts of replica's section
 * of a salts export of several replicas (above); EXPOSURE_NO_REPLICA is
 * exposure_salts_parse(), which refuses such a file (VEIL_ERR_PARSE).
 * Also VEIL_ERR_PARSE when the file holds no section of replica.
 */
veil_err exposure_salts_parse_replica(const char *text, size_t len, uint32_t replica,
                                      exposure_salts **out, char *why, size_t why_len)
        __attribute__((warn_unused_result));
/* Wipes and frees. NULL is a no-op. */
void exposure_salts_free(exposure_salts *salts);
size_t exposure_salts_count(const exposure_salts *salts);
/* The salt of day, or NULL when not held. */
const uint8_t *exposure_salts_get(const exposure_salts *salts, uint32_t day);

/*
 * Parses public keys, 64 hex digits a line (blank lines and # comments
 * skipped), into *keys (malloc'd, 32 bytes each; free() it).
 * Errors: VEIL_ERR_PARSE (why says which line), VEIL_ERR_NOMEM.
 */
veil_err exposure_accounts_parse(const char *text, size_t len, uint8_t **keys, size_t *count,
                                 char *why, size_t why_len) __attribute__((warn_unused_result));

/* Appends one baseline line: exact time, requester key, IP, handle. */
void exposure_baseline_append(buf *out, double time, const uint8_t key[static EXPOSURE_KEY_SIZE],
                              uint32_t address, const char *handle);

typedef struct exposure_baseline exposure_baseline;
veil_err exposure_baseline_parse(const char *text, size_t len, exposure_baseline **out, char *why,
                                 size_t why_len) __attribute__((warn_unused_result));
void exposure_baseline_free(exposure_baseline *b);

/* ------------------------------------------------------------------ */
/* The analysis */

typedef struct exposure_view {
	const exposure_log *log;
	const exposure_salts *salts; /* NULL: none held */
	/* Enrolled public keys (32 bytes each); NULL: requester figures are
	 * the expected ones for the header's accounts. */
	const uint8_t *accounts;
	size_t account_count;
	uint64_t universe;      /* handles of the numbering space */
	uint64_t prefix_widths; /* bit p: clients may send p-bit prefixes (p <= 24) */
	/* A2: the registry's buckets, sorted; NULL otherwise. */
	const uint32_t *registered_buckets;
	size_t registered_count;
	uint64_t export_bytes; /* size of the export file */
	/* A4 (a copy of the state directory): per account, the day of its
	 * last charge in the clients database (store/clients.h), 0 for none
	 * or never; NULL otherwise. When set, an entry of day d fits only the
	 * accounts whose digest matches AND whose last charge was on day d or
	 * later, and the pair test counts "A looked up B" on day d only when
	 * A's last charge is on day d or later. Needs accounts. Ignored for a
	 * tokens-mode log: veild charges no account, and no charge (of veild
	 * or of the token issuer) is tied to an entry. */
	const uint32_t *last_use;
} exposure_view;

typedef struct exposure_stat {
	double median, p5, p95, min;
	uint64_t count; /* values the figures are over; 0: none */
} exposure_stat;

typedef struct exposure_figures {
	int baseline;
	uint64_t entries, entries_salted, lookups; /* lookups: bucket digests, padding included */
	exposure_stat requester, handle;
	int requester_measured; /* 0: the expected figure (no account list) */
	double requester_expected, handle_expected;
	int pair_test_possible; /* 0: no salt held, or no requester: no test can be run */
	/* 1: tokens mode: nothing held names or digests a requester, so the
	 * pair test does not apply (pair_test_possible 0, rates NaN) and the
	 * requester figure is every account. */
	int no_requester;
	double tpr, fpr;
	double tpr_salted; /* among true pairs looked up on a day whose salt is held */
	uint64_t true_pairs, false_pairs, true_pairs_salted;
	double bits_per_entry, bits_per_lookup;
	/* Stored: the log's LMDB key and value (qlog_store.h), without page
	 * overhead; the baseline's own line. Export: the file handed over. */
	double bytes_per_lookup, export_bytes_per_lookup;
	/* Salted entries no account matches, bucket digests no prefix matches:
	 * nonzero means the digests do not follow qlog.h (or the account list
	 * or prefix widths are incomplete). */
	uint64_t unmatched_requesters, unmatched_items;
	int has_registered;       /* A2 */
	exposure_stat registered; /* registered handles among the candidates */
	/* Measured over the entries at their digests cut to width w (w at most
	 * the entry's width): index w; count 0 where not measured. */
	exposure_stat requester_by_width[EXPOSURE_MAX_WIDTH + 1];
	exposure_stat handle_by_width[EXPOSURE_MAX_WIDTH + 1];
} exposure_figures;

/*
 * The figures for one adversary's holdings; pairs (may be NULL when
 * pair_count is 0) are the suspected pairs to test, their account an
 * index into view->accounts. out is cleared first.
 *
 * A tokens-mode log (header.tokens): an entry with a requester digest of
 * 0 bits fits every account, however many salts are held, and is left
 * out of the pair test, which would otherwise show "A looked up B" for
 * every A at once; when no salted entry carries a wider requester
 * digest, the pair test does not apply (no_requester 1,
 * pair_test_possible 0, the rates NaN; pairs are checked but not
 * scored). The handle figures are computed as in keys mode.
 * Errors: VEIL_ERR_ARGUMENT (no log, no prefix width, a width above
 * EXPOSURE_MAX_PREFIX_BITS with salts held, a pair's account out of
 * range), VEIL_ERR_NOMEM.
 */
veil_err exposure_analyze(const exposure_view *view, const exposure_pair *pairs, size_t pair_count,
                          exposure_figures *out) __attribute__((warn_unused_result));

/*
 * The same figures for the baseline log, computed from its lines:
 * requesters are matched against accounts, pairs against the lines.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM.
 */
veil_err exposure_analyze_baseline(const exposure_baseline *b, const uint8_t *accounts,
                                   size_t account_count, uint64_t universe, uint64_t bytes,
                                   const exposure_pair *pairs, size_t pair_count,
                                   exposure_figures *out) __attribute__((warn_unused_result));

/*
 * A5, a wiretap order: what a live veild sees of each request. The seal
 * names the enrolled client; the time and the peer address are exact;
 * every item's bucket prefix is on the wire, the client's padding (items
 * up to the size class, qlog_size_class(), with random prefixes) among
 * them, indistinguishable.
 */
typedef struct exposure_tap_request {
	uint32_t account;    /* index into the accounts */
	uint32_t day;        /* epoch day */
	uint32_t item_count; /* on the wire: the real items and the padding */
	size_t first_prefix; /* its item_count prefixes in exposure_tap.prefixes */
} exposure_tap_request;

typedef struct exposure_tap {
	const exposure_tap_request *requests;
	size_t request_count;
	/* Per item, its prefix (top prefix_bits bits in place, the rest zero);
	 * NULL when not known (a tap derived from an export): then neither
	 * the registered figure nor the pair test is computed. */
	const uint32_t *prefixes;
	unsigned prefix_bits; /* 0..32 */
	uint64_t accounts;    /* enrolled accounts (for bits/entry) */
	uint64_t universe;
	/* The registry's buckets, sorted (veild holds it); NULL: none. */
	const uint32_t *registered_buckets;
	size_t registered_count;
} exposure_tap;

/*
 * The figures for a wiretap: requester anonymity 1 (named) for every
 * request; handle anonymity universe / 2^p for every item, and, with
 * registered buckets and prefixes, the registered handles in the item's
 * prefix beside it; the pair test "A looked up B" is positive when one
 * of A's requests, on any day, carries B's bucket prefix (true pairs:
 * TPR; a padding item or another contact sharing B's prefix: FPR); with
 * prefixes NULL no pair is scored (the rates are NaN). bits/entry is
 * log2(accounts) plus p per item. Nothing is stored: bytes/lookup is NaN.
 * prefix_count is the length of tap->prefixes (ignored when NULL).
 * out is cleared first. Errors: VEIL_ERR_ARGUMENT (tap or out NULL,
 * prefix_bits above 32, a request's prefixes out of range, pairs without
 * prefixes, a pair's account at or above accounts), VEIL_ERR_NOMEM.
 */
veil_err exposure_analyze_tap(const exposure_tap *tap, size_t prefix_count,
                              const exposure_pair *pairs, size_t pair_count, exposure_figures *out)
        __attribute__((warn_unused_result));

/*
 * A5 in tokens mode: the requests come in SEALED_ANONYMOUS frames under
 * a fresh key and a token, and name no sender, so each request's account
 * is not seen (ignored here). The figures are exposure_analyze_tap()'s
 * but: requester anonymity is every account (tap->accounts) for every
 * request, bits/entry p per item only, and the pair test does not apply
 * (no_requester 1, pair_test_possible 0, the rates NaN). The peer
 * address and the exact time are outside this model. Errors: as
 * exposure_analyze_tap() without pairs.
 */
veil_err exposure_analyze_tap_anonymous(const exposure_tap *tap, size_t prefix_count,
                                        exposure_figures *out) __attribute__((warn_unused_result));

/*
 * Sets the accounts log's header counts (exposure_log_header.accounts):
 * the requester figures' population when no account list is given. For
 * a tokens-mode export, whose header holds veild's configured figure
 * (veild enrols nobody then), the token issuer's enrolled accounts.
 */
void exposure_log_set_accounts(exposure_log *log, uint64_t accounts);

/*
 * The requests a wiretap on veild saw, as far as an export tells them:
 * one per entry of log, with its day and item count (the size class, as
 * on the wire), account 0 and first_prefix 0 (who and which prefixes are
 * not in an export): for exposure_analyze_tap() with prefixes NULL.
 * *requests is malloc'd (free() it); NULL when the log has no entry.
 * Errors: VEIL_ERR_ARGUMENT (an argument NULL), VEIL_ERR_NOMEM.
 */
veil_err exposure_log_tap(const exposure_log *log, exposure_tap_request **requests, size_t *count)
        __attribute__((warn_unused_result));

/*
 * I, the token issuer's state (tokens mode): a copy of its state
 * directory, whose clients database (store/clients.h, the same store
 * veild keeps in keys mode) holds per account its enrolment, the day of
 * its last charge (its last fetch of tokens) and the tokens it had left
 * that day; with the clients.key beside it and candidate public keys,
 * each record is named. No record holds a handle, a digest, a time of
 * day, a token or a blinded element.
 */
typedef struct exposure_issuer_record {
	int enrolled;
	uint32_t last_fetch_day; /* epoch day of its last charge; 0: never fetched */
	uint32_t tokens_left;    /* on the day the record is as of */
} exposure_issuer_record;

/* The accounts whose last fetch was on one day. */
typedef struct exposure_issuer_day {
	uint32_t day;
	uint64_t accounts;
	uint64_t tokens_left; /* theirs that day, summed */
} exposure_issuer_day;

/* What I's records say, summed up: the fetch-records figure. */
typedef struct exposure_issuer {
	uint64_t records;          /* accounts with a record */
	uint64_t enrolled;         /* of them enrolled */
	uint64_t fetched;          /* of them with a fetch on record */
	exposure_issuer_day *days; /* by day of last fetch, ascending; malloc'd */
	size_t day_count;
} exposure_issuer;

/*
 * Reads the clients database of the issuer's state directory dir (its
 * clients.key and clients/), as `veil-admin client list` reads it: after
 * checking it exists, so nothing is created; the open's sweep deletes
 * only what the issuer's own would (store/clients.h). *records is
 * malloc'd (free() it), NULL when there is none; tokens_left is as of
 * each record's own day (no refill counted). On error *records is NULL
 * and why says what failed (never a key or a digest). Errors:
 * VEIL_ERR_ARGUMENT (an argument NULL), VEIL_ERR_NOT_FOUND (dir holds no
 * clients database), VEIL_ERR_NOMEM, those of clients_open() and
 * clients_list().
 */
veil_err exposure_issuer_load(const char *dir, exposure_issuer_record **records, size_t *count,
                              char *why, size_t why_len) __attribute__((warn_unused_result));

/*
 * Sums count records (records may be NULL when count is 0) up into *out
 * (cleared first; free its days with exposure_issuer_free()).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM.
 */
veil_err exposure_issuer_summarize(const exposure_issuer_record *records, size_t count,
                                   exposure_issuer *out) __attribute__((warn_unused_result));
/* Frees out's days and clears it. NULL is a no-op. */
void exposure_issuer_free(exposure_issuer *out);

/*
 * I's figures against log (a tokens-mode export, or the log the issuer's
 * records are set beside): the records hold no handle and no digest, so
 * every entry fits all accounts (requester) and every item the whole
 * universe (handle); the pair test does not apply (no_requester 1);
 * bits/entry 0; bytes/lookup NaN (nothing of the log is stored by the
 * issuer). The fetch records are exposure_issuer_summarize()'s. out is
 * cleared first. Errors: VEIL_ERR_ARGUMENT (log or out NULL).
 */
veil_err exposure_analyze_issuer(const exposure_log *log, uint64_t accounts, uint64_t universe,
                                 exposure_figures *out) __attribute__((warn_unused_result));

/*
 * The prefix lengths 0..max_bits (at most EXPOSURE_MAX_PREFIX_BITS) under
 * which every bucket digest of every entry whose day's salt is held
 * matches some prefix, as a mask (bit p); 0 when none does or no entry
 * is salted, or memory ran out. Takes 2^(max_bits + 1) HMACs per day.
 */
uint64_t exposure_infer_prefix_widths(const exposure_log *log, const exposure_salts *salts,
                                      unsigned max_bits);

/* The closed forms the measurements are shown beside. */
double exposure_expected_requester(uint64_t accounts, unsigned width);
double exposure_expected_handle(uint64_t universe, unsigned prefix_bits, unsigned width);

/* ------------------------------------------------------------------ */
/* Figures out */

typedef struct exposure_row {
	const char *name;  /* "A1" */
	const char *holds; /* "export + salts" */
	exposure_figures figures;
} exposure_row;

/* What the figures are about, for the table, the JSON and the chart. */
typedef struct exposure_report {
	const char *source;      /* "simulate" or "analyze" */
	const char *prefix_note; /* how the prefix widths were found; NULL: known */
	int prefix_unknown;      /* prefix_widths is a placeholder (nothing salted) */
	exposure_log_header header;
	uint64_t universe;
	uint64_t accounts;
	uint64_t prefix_widths;
	const exposure_population_config *population; /* NULL for analyze */
	uint64_t population_handles, population_lookups;
	double unregistered_share;
	const uint32_t *salted_days; /* days whose salt the richest adversary held */
	size_t salted_day_count;
	double seconds; /* wall time of the run; 0: not shown */
	const exposure_row *rows;
	size_t row_count;
	/* More notes (one sentence each, e.g. why an adversary is not
	 * computed), printed under the table and listed in the JSON. */
	const char *const *notes;
	size_t note_count;
	/* Tokens mode: the issuer's records summed up (row I), shown under
	 * the table and in the JSON; NULL: not held. The mode itself is
	 * header.tokens. */
	const exposure_issuer *issuer;
} exposure_report;

/* Notes on what A4 and A5 hold and how they are measured, for a report's notes. */
extern const char exposure_note_a4[];
extern const char exposure_note_a5[];
/* The same in tokens mode, and on the issuer's records (I, and I with veild's log). */
extern const char exposure_note_tokens[];
extern const char exposure_note_a4_tokens[];
extern const char exposure_note_a5_tokens[];
extern const char exposure_note_issuer[];

/* The readable table, with notes under it. */
void exposure_report_table(const exposure_report *r, buf *out);

/* The JSON document (schema "veil-exposure-v1"), one line. */
void exposure_report_json(const exposure_report *r, buf *out);

/*
 * The SVG chart: anonymity set size (log scale) against digest width for
 * requesters and handles, measured points beside the expected curves,
 * the baseline and the targets marked; and the pair test per adversary.
 * Errors: those of chart_write().
 */
veil_err exposure_report_chart(const exposure_report *r, buf *out)
        __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Files (exposure_files.c; exposure_salted_days in exposure.c) */

/* The largest export, salts, accounts or baseline file read: 4 GiB. */
#define EXPOSURE_MAX_FILE ((size_t)1 << 32)

/*
 * Read path and parse it as the matching exposure_*_parse() does. On
 * error *out is NULL and why holds the file's name and the reason.
 * Errors: VEIL_ERR_SYSTEM (the file cannot be read), those of the parser.
 * exposure_log_load() also gives the file's size in *bytes;
 * exposure_salts_load() wipes the text it read.
 */
veil_err exposure_log_load(const char *path, exposure_log **out, uint64_t *bytes, char *why,
                           size_t why_len) __attribute__((warn_unused_result));
veil_err exposure_salts_load(const char *path, exposure_salts **out, char *why, size_t why_len)
        __attribute__((warn_unused_result));
/* The same, of one replica's section (exposure_log_parse_replica()). */
veil_err exposure_log_load_replica(const char *path, uint32_t replica, exposure_log **out,
                                   uint64_t *bytes, char *why, size_t why_len)
        __attribute__((warn_unused_result));
veil_err exposure_salts_load_replica(const char *path, uint32_t replica, exposure_salts **out,
                                     char *why, size_t why_len) __attribute__((warn_unused_result));
veil_err exposure_accounts_load(const char *path, uint8_t **keys, size_t *count, char *why,
                                size_t why_len) __attribute__((warn_unused_result));
veil_err exposure_baseline_load(const char *path, exposure_baseline **out, char *why,
                                size_t why_len) __attribute__((warn_unused_result));

/* The days of log that have entries and a salt in salts, at most cap of them. */
size_t exposure_salted_days(const exposure_log *log, const exposure_salts *salts, uint32_t *days,
                            size_t cap);

/*
 * Writes r's table (json 0) or JSON document (json 1) to out, then, when
 * chart_path is not NULL, its chart to that file (mode 0644). Errors:
 * VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM (a write failed), those of
 * exposure_report_chart(); why says which.
 */
veil_err exposure_report_write(const exposure_report *r, int json, FILE *out,
                               const char *chart_path, char *why, size_t why_len)
        __attribute__((warn_unused_result));

#endif
