/*
 * veil-bench-oprf: what each RFC 9497 operation costs for a suite
 * (--suite, ristretto255-SHA512 by default), as a ratio to the floor
 * measured in the same run on one core: for ristretto255-SHA512 one raw
 * libsodium crypto_scalarmult_ristretto255 (decoding and encoding
 * included); for the NIST suites one raw OpenSSL EC_POINT_mul of a random
 * point by a random scalar on the same curve (points already decoded, no
 * encoding, so the OPRF's SEC1 decompression and compression count against
 * the suite).
 *
 * Every figure is per element: a call on a batch of n elements counts n.
 * ratio = elements/s of the operation / scalar multiplications/s, so an
 * OPRF BlindEvaluate that costs one scalar multiplication per element and
 * nothing else scores 1. See timing.h for how drift is kept out.
 *
 * Inputs are phone-number handles blinded by real oprf_blind() calls under
 * each mode's context, distinct within every batch; every call's result is
 * checked and any error ends the run with status 1. Targets are reported,
 * not enforced: a miss still exits 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "oprf.h"
#include "suite_floor.h"
#include "timing.h"

#define PROGRAM       "veil-bench-oprf"
#define DEFAULT_SUITE "ristretto255-SHA512"

/* Handles "tel:+14155550000" to "tel:+14155551023": the largest batch. */
#define HANDLE_COUNT 1024
#define HANDLE_SIZE  24
/* Batch answered per proof, as the VOPRF Finalize row verifies them. */
#define PROOF_BATCH  64

#define DEFAULT_SECONDS 0.5
#define DEFAULT_ROUNDS  5
#define QUICK_SECONDS   0.01

static const uint8_t poprf_info[] = "veil epoch 1";

/* What to prepare per mode: blinded inputs, and how many get answered. */
static const struct mode_plan {
	oprf_mode mode;
	const char *name;
	size_t blinded;  /* handles blinded under this mode's context */
	size_t answered; /* of those, evaluated (and proven) for Finalize */
} mode_plans[] = {
        {OPRF_MODE_OPRF, "OPRF", 256, 256},
        {OPRF_MODE_VOPRF, "VOPRF", HANDLE_COUNT, 256},
        {OPRF_MODE_POPRF, "POPRF", 256, 0},
};
#define MODE_COUNT (sizeof(mode_plans) / sizeof(mode_plans[0]))

struct mode_fixture {
	const struct mode_plan *plan;
	oprf_ctx *ctx;
	uint8_t *blinds;    /* plan->blinded * Ns */
	uint8_t *blinded;   /* plan->blinded * Ne */
	uint8_t *evaluated; /* plan->answered * Ne */
	uint8_t *proofs;    /* one per PROOF_BATCH answered, in VOPRF and POPRF */
};

struct fixture {
	const oprf_suite *suite;
	size_t ne, ns, nh, proof_size;
	oprf_key *key;
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
	char handles[HANDLE_COUNT][HANDLE_SIZE];
	const uint8_t *inputs[HANDLE_COUNT];
	size_t input_lens[HANDLE_COUNT];
	struct mode_fixture modes[MODE_COUNT]; /* indexed by oprf_mode */
	/* Where the call being timed writes. */
	uint8_t *out_blind;
	uint8_t *out_elements; /* HANDLE_COUNT * Ne */
	uint8_t *out_proof;
	uint8_t *out_outputs; /* HANDLE_COUNT * Nh */
};

struct row {
	const char *operation;
	bench_fn *run;
	oprf_mode mode;
	size_t batch;
	double target; /* minimum ratio asked for; 0 when none */
};

struct row_state {
	struct fixture *fx;
	const struct row *row;
	size_t next; /* counts calls, to pick the next batch of inputs */
};

struct row_result {
	const struct row *row;
	bench_comparison cmp;
};

struct options {
	double seconds;
	bool seconds_given;
	bool quick;
	bool json;
	const char *suite;
};

static void
die(const char *what, const char *why)
{
	cli_error(PROGRAM, "%s: %s", what, why);
	exit(1);
}

static void
require(veil_err err, const char *what)
{
	if (err != VEIL_OK)
		die(what, veil_strerror(err));
}

static void *
xcalloc(size_t count, size_t size)
{
	void *p = calloc(count == 0 ? 1 : count, size);

	if (p == NULL)
		die("calloc", "out of memory");
	return p;
}

static const uint8_t *
info_for(oprf_mode mode, size_t *len)
{
	if (mode != OPRF_MODE_POPRF) {
		*len = 0;
		return NULL;
	}
	*len = sizeof(poprf_info) - 1;
	return poprf_info;
}

static void
mode_fixture_init(struct fixture *fx, struct mode_fixture *m, const struct mode_plan *plan)
{
	bool proven = plan->mode != OPRF_MODE_OPRF;
	size_t info_len;
	const uint8_t *info = info_for(plan->mode, &info_len);

	m->plan = plan;
	require(oprf_ctx_new(fx->suite, plan->mode, &m->ctx), "oprf_ctx_new");
	m->blinds = xcalloc(plan->blinded, fx->ns);
	m->blinded = xcalloc(plan->blinded, fx->ne);
	m->evaluated = xcalloc(plan->answered, fx->ne);
	m->proofs = xcalloc(plan->answered / PROOF_BATCH, fx->proof_size);

	for (size_t i = 0; i < plan->blinded; i++)
		require(oprf_blind(m->ctx, fx->inputs[i], fx->input_lens[i], NULL,
		                   m->blinds + i * fx->ns, m->blinded + i * fx->ne),
		        "setup: oprf_blind");
	for (size_t at = 0; at < plan->answered; at += PROOF_BATCH)
		require(oprf_blind_evaluate(
		                m->ctx, fx->key, info, info_len, PROOF_BATCH,
		                m->blinded + at * fx->ne, m->evaluated + at * fx->ne, NULL,
		                proven ? m->proofs + at / PROOF_BATCH * fx->proof_size : NULL),
		        "setup: oprf_blind_evaluate");
}

/*
 * Finalize on the first answered batch must give what Evaluate gives for
 * the first handle: otherwise the rows would time something other than
 * the protocol.
 */
static void
mode_fixture_check(struct fixture *fx, const struct mode_fixture *m)
{
	bool proven = m->plan->mode != OPRF_MODE_OPRF;
	size_t info_len;
	const uint8_t *info = info_for(m->plan->mode, &info_len);
	uint8_t direct[OPRF_MAX_HASH_SIZE];

	if (m->plan->answered == 0)
		return;
	require(oprf_finalize(m->ctx, proven ? fx->pk : NULL, info, info_len, PROOF_BATCH,
	                      fx->inputs, fx->input_lens, m->blinds, m->blinded, m->evaluated,
	                      proven ? m->proofs : NULL, fx->out_outputs),
	        "setup: oprf_finalize");
	require(oprf_evaluate(m->ctx, fx->key, info, info_len, fx->inputs[0], fx->input_lens[0],
	                      direct),
	        "setup: oprf_evaluate");
	if (memcmp(direct, fx->out_outputs, fx->nh) != 0)
		die(m->plan->name, "Finalize and Evaluate disagree");
}

static void
fixture_init(struct fixture *fx, const char *suite_name)
{
	fx->suite = oprf_suite_by_name(suite_name);
	if (fx->suite == NULL)
		die(suite_name, "suite not served by this build");
	fx->ne = oprf_suite_element_size(fx->suite);
	fx->ns = oprf_suite_scalar_size(fx->suite);
	fx->nh = oprf_suite_output_size(fx->suite);
	fx->proof_size = oprf_suite_proof_size(fx->suite);

	require(oprf_key_generate(fx->suite, &fx->key), "oprf_key_generate");
	oprf_key_public(fx->key, fx->pk);

	for (size_t i = 0; i < HANDLE_COUNT; i++) {
		int n = snprintf(fx->handles[i], HANDLE_SIZE, "tel:+1415555%04zu", i);

		if (n < 0 || n >= HANDLE_SIZE)
			abort();
		fx->inputs[i] = (const uint8_t *)fx->handles[i];
		fx->input_lens[i] = (size_t)n;
	}

	fx->out_blind = xcalloc(1, fx->ns);
	fx->out_elements = xcalloc(HANDLE_COUNT, fx->ne);
	fx->out_proof = xcalloc(1, fx->proof_size);
	fx->out_outputs = xcalloc(HANDLE_COUNT, fx->nh);

	for (size_t k = 0; k < MODE_COUNT; k++) {
		/* modes[] is indexed by the mode's value. */
		if ((size_t)mode_plans[k].mode != k)
			abort();
		mode_fixture_init(fx, &fx->modes[k], &mode_plans[k]);
		mode_fixture_check(fx, &fx->modes[k]);
	}
}

static void
fixture_free(struct fixture *fx)
{
	for (size_t k = 0; k < MODE_COUNT; k++) {
		struct mode_fixture *m = &fx->modes[k];

		sodium_memzero(m->blinds, m->plan->blinded * fx->ns);
		free(m->blinds);
		free(m->blinded);
		free(m->evaluated);
		free(m->proofs);
		oprf_ctx_free(m->ctx);
	}
	sodium_memzero(fx->out_blind, fx->ns);
	free(fx->out_blind);
	free(fx->out_elements);
	free(fx->out_proof);
	free(fx->out_outputs);
	oprf_key_free(fx->key);
}

/* Which inputs a row's calls cycle through. */
enum pool {
	POOL_HANDLES,  /* every handle */
	POOL_BLINDED,  /* those blinded under the row's mode */
	POOL_ANSWERED, /* those evaluated (and proven) for Finalize */
};

/* What one timed call needs. */
struct call {
	const struct row_state *st;
	struct fixture *fx;
	const struct mode_fixture *m;
	bool proven; /* VOPRF and POPRF: a proof made and verified */
	const uint8_t *info;
	size_t info_len;
	size_t at; /* the offset of this call's batch in the pool */
};

/* The next call of the row st: its batch the next of the pool's. */
static struct call
call_next(struct row_state *st, enum pool pool)
{
	struct call c = {.st = st, .fx = st->fx};
	c.m = &c.fx->modes[st->row->mode];
	c.proven = st->row->mode != OPRF_MODE_OPRF;
	c.info = info_for(st->row->mode, &c.info_len);
	const size_t size = pool == POOL_BLINDED    ? c.m->plan->blinded
	                    : pool == POOL_ANSWERED ? c.m->plan->answered
	                                            : HANDLE_COUNT;
	c.at = (st->next++ % (size / st->row->batch)) * st->row->batch;
	return c;
}

static void
check(const struct call *c, veil_err err)
{
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "%s (%s, batch %zu): %s", c->st->row->operation,
		          c->m->plan->name, c->st->row->batch, veil_strerror(err));
		exit(1);
	}
}

static void
time_blind(void *arg)
{
	const struct call c = call_next(arg, POOL_HANDLES);

	check(&c, oprf_blind(c.m->ctx, c.fx->inputs[c.at], c.fx->input_lens[c.at], NULL,
	                     c.fx->out_blind, c.fx->out_elements));
	bench_consume(c.fx->out_elements, c.fx->ne);
}

static void
time_blind_evaluate(void *arg)
{
	const struct call c = call_next(arg, POOL_BLINDED);
	const size_t batch = c.st->row->batch;

	check(&c, oprf_blind_evaluate(c.m->ctx, c.fx->key, c.info, c.info_len, batch,
	                              c.m->blinded + c.at * c.fx->ne, c.fx->out_elements, NULL,
	                              c.proven ? c.fx->out_proof : NULL));
	bench_consume(c.fx->out_elements, batch * c.fx->ne);
}

static void
time_finalize(void *arg)
{
	const struct call c = call_next(arg, POOL_ANSWERED);
	const struct fixture *fx = c.fx;
	const size_t batch = c.st->row->batch, at = c.at;

	check(&c, oprf_finalize(c.m->ctx, c.proven ? fx->pk : NULL, c.info, c.info_len, batch,
	                        fx->inputs + at, fx->input_lens + at, c.m->blinds + at * fx->ns,
	                        c.m->blinded + at * fx->ne, c.m->evaluated + at * fx->ne,
	                        c.proven ? c.m->proofs + at / PROOF_BATCH * fx->proof_size : NULL,
	                        fx->out_outputs));
	bench_consume(fx->out_outputs, batch * fx->nh);
}

static void
time_evaluate(void *arg)
{
	const struct call c = call_next(arg, POOL_HANDLES);

	check(&c, oprf_evaluate(c.m->ctx, c.fx->key, c.info, c.info_len, c.fx->inputs[c.at],
	                        c.fx->input_lens[c.at], c.fx->out_outputs));
	bench_consume(c.fx->out_outputs, c.fx->nh);
}

/*
 * The rows, in the order printed. The targets the project set, for
 * ristretto255-SHA512 only: OPRF BlindEvaluate within 5% of a raw scalar
 * multiplication, and VOPRF at 1024 per batch at least 0.75 of one per
 * element (the proof's composite a multi-scalar multiplication, common/msm.h).
 * The NIST suites are reported without targets.
 */
static const struct row rows[] = {
        {"Blind", time_blind, OPRF_MODE_OPRF, 1, 0},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_OPRF, 1, 0.95},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_OPRF, 64, 0.95},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_VOPRF, 1, 0},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_VOPRF, 64, 0},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_VOPRF, 1024, 0.75},
        {"BlindEvaluate", time_blind_evaluate, OPRF_MODE_POPRF, 64, 0},
        {"Finalize", time_finalize, OPRF_MODE_OPRF, 1, 0},
        {"Finalize", time_finalize, OPRF_MODE_VOPRF, PROOF_BATCH, 0},
        {"Evaluate", time_evaluate, OPRF_MODE_OPRF, 1, 0},
};
#define ROW_COUNT (sizeof(rows) / sizeof(rows[0]))

/* The rows of a run: rows[], without targets for the NIST suites. */
static struct row run_rows[ROW_COUNT];

static bool
target_met(const struct row_result *r)
{
	return r->cmp.ratio >= r->row->target;
}

/* What the floor of this run is, as printed. */
static const char *floor_operation = "crypto_scalarmult_ristretto255";

/* The floor over the whole run: the median of every round's floor rate. */
struct floor_summary {
	double median, min, max;
	size_t rounds;
};

static void
floor_summarize(const struct row_result *results, size_t count, struct floor_summary *out)
{
	double all[ROW_COUNT * BENCH_MAX_ROUNDS];
	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		for (unsigned r = 0; r < results[i].cmp.rounds; r++)
			all[n++] = results[i].cmp.floor_rates[r];
	out->median = bench_median(all, n);
	out->min = all[0];
	out->max = all[n - 1];
	out->rounds = n;
}

static const char ratio_method[] =
        "median over rounds of (operation elements/s) / (floor scalar mults/s), "
        "their calls interleaved within each round";

static void
print_table(const struct options *opt, const bench_plan *plan, const struct row_result *results,
            const struct floor_summary *floor)
{
	printf("veil-bench-oprf: %s, %.2f s per row in %u round%s\n", opt->suite, opt->seconds,
	       plan->rounds, plan->rounds == 1 ? "" : "s");
	printf("floor: %s, one core: %.0f ops/s (%.2f µs/op),\n"
	       "       median of %zu rounds interleaved with the rows; min %.0f, max %.0f\n\n",
	       floor_operation, floor->median, 1e6 / floor->median, floor->rounds, floor->min,
	       floor->max);
	printf("operation      mode   batch  µs/element  elements/s   ratio  rounds' range  "
	       "target\n");
	for (size_t i = 0; i < ROW_COUNT; i++) {
		const struct row_result *r = &results[i];
		char target[32] = "";

		if (r->row->target > 0)
			snprintf(target, sizeof(target), ">= %.2f %s", r->row->target,
			         target_met(r) ? "pass" : "MISS");
		printf("%-14s %-5s %6zu %11.2f %11.0f %7.3f  %.3f-%.3f    %s\n", r->row->operation,
		       mode_plans[r->row->mode].name, r->row->batch, 1e6 / r->cmp.rate, r->cmp.rate,
		       r->cmp.ratio, r->cmp.ratio_min, r->cmp.ratio_max, target);
	}
	printf("\nratio: %s.\n", ratio_method);
}

static void
print_json(const struct options *opt, const bench_plan *plan, const struct row_result *results,
           const struct floor_summary *floor)
{
	bool all_met = true;

	printf("{\"benchmark\":\"veil-bench-oprf\",\"suite\":\"%s\",\"seconds_per_row\":%g,"
	       "\"rounds\":%u,\"quick\":%s,",
	       opt->suite, opt->seconds, plan->rounds, opt->quick ? "true" : "false");
	printf("\"floor\":{\"operation\":\"%s\",\"threads\":1,"
	       "\"ops_per_s\":%.1f,\"us_per_op\":%.3f,\"figure\":\"median of all rounds\","
	       "\"rounds\":%zu,\"min_ops_per_s\":%.1f,\"max_ops_per_s\":%.1f},",
	       floor_operation, floor->median, 1e6 / floor->median, floor->rounds, floor->min,
	       floor->max);
	printf("\"ratio_method\":\"%s\",\"rows\":[", ratio_method);
	for (size_t i = 0; i < ROW_COUNT; i++) {
		const struct row_result *r = &results[i];

		printf("%s{\"operation\":\"%s\",\"mode\":\"%s\",\"batch\":%zu,"
		       "\"us_per_element\":%.3f,\"elements_per_s\":%.1f,\"ratio\":%.4f,"
		       "\"ratio_min\":%.4f,\"ratio_max\":%.4f,\"floor_ops_per_s\":%.1f,"
		       "\"calls\":%llu,\"floor_calls\":%llu,",
		       i == 0 ? "" : ",", r->row->operation, mode_plans[r->row->mode].name,
		       r->row->batch, 1e6 / r->cmp.rate, r->cmp.rate, r->cmp.ratio,
		       r->cmp.ratio_min, r->cmp.ratio_max, r->cmp.floor_rate,
		       (unsigned long long)r->cmp.calls, (unsigned long long)r->cmp.floor_calls);
		if (r->row->target > 0) {
			printf("\"target\":%.2f,\"target_met\":%s}", r->row->target,
			       target_met(r) ? "true" : "false");
			all_met = all_met && target_met(r);
		} else {
			printf("\"target\":null,\"target_met\":null}");
		}
	}
	printf("],\"targets_met\":%s}\n", all_met ? "true" : "false");
}

/* --help, after the usage line. */
static void
print_help(void)
{
	printf("Times the RFC 9497 operations of a suite against a floor measured in the\n"
	       "same run: a raw crypto_scalarmult_ristretto255 for ristretto255-SHA512, a raw\n"
	       "OpenSSL EC_POINT_mul on the same curve for the NIST suites.\n"
	       "\n"
	       "  --suite NAME one of ristretto255-SHA512 (default), P256-SHA256,\n"
	       "               P384-SHA384, P521-SHA512; targets apply to the first only\n"
	       "  --seconds S  time each row's operation for at least S seconds in all,\n"
	       "               and the floor as long (default %.1f, in %d rounds)\n"
	       "  --quick      a very short run in one round without warm-up, for smoke\n"
	       "               tests; figures are not meaningful (default S %.2f)\n"
	       "  --json       one JSON object instead of the table\n"
	       "  --version    print the version\n"
	       "  --help       this text\n"
	       "\n"
	       "Exit status: 0 when every call succeeded, whether or not a row met its\n"
	       "target; 1 when one failed; 2 for a usage error.\n",
	       DEFAULT_SECONDS, DEFAULT_ROUNDS, QUICK_SECONDS);
}

/* Returns -1 to run, else the exit status (the help, the version, a usage error). */
static int
parse_options(int argc, char **argv, struct options *opt)
{
	memset(opt, 0, sizeof(*opt));
	const cli_option table[] = {
	        {.name = "seconds",
	         .kind = CLI_DOUBLE,
	         .target = &opt->seconds,
	         .low = 0.001,
	         .high = 600,
	         .given = &opt->seconds_given},
	        CLI_FLAG_OPTION("quick", &opt->quick),
	        CLI_FLAG_OPTION("json", &opt->json),
	        CLI_TEXT_OPTION("suite", &opt->suite),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, "[--suite NAME] [--seconds S] [--quick] [--json]", table};
	const int status = cli_parse_options(&cmd, argc, argv, print_help);
	if (status >= 0)
		return status;
	if (!opt->seconds_given)
		opt->seconds = opt->quick ? QUICK_SECONDS : DEFAULT_SECONDS;
	if (opt->suite == NULL)
		opt->suite = DEFAULT_SUITE;
	return -1;
}

int
main(int argc, char **argv)
{
	struct options opt;
	static struct fixture fx;
	struct row_state states[ROW_COUNT];
	struct row_result results[ROW_COUNT];
	struct floor_summary floor;

	const int status = parse_options(argc, argv, &opt);
	if (status >= 0)
		return status;

	bench_plan plan = {
	        .rounds = opt.quick ? 1 : DEFAULT_ROUNDS,
	};
	plan.round_seconds = opt.seconds / plan.rounds;
	plan.warmup_seconds = opt.quick ? 0 : plan.round_seconds;

	require(veil_crypto_init(), "veil_crypto_init");
	fixture_init(&fx, opt.suite);
	bench_suite_floor *suite_floor = bench_suite_floor_new(opt.suite);
	if (suite_floor == NULL)
		die("floor", "no floor for this suite");
	floor_operation = bench_suite_floor_operation(suite_floor);
	const bench_work floor_work = bench_suite_floor_work(suite_floor);
	const int nist = strcmp(opt.suite, "ristretto255-SHA512") != 0;
	for (size_t i = 0; i < ROW_COUNT; i++) {
		run_rows[i] = rows[i];
		if (nist)
			run_rows[i].target = 0;
	}
	if (!opt.quick)
		(void)bench_rate(&floor_work, BENCH_FLOOR_WARMUP_SECONDS, NULL);

	for (size_t i = 0; i < ROW_COUNT; i++) {
		states[i] = (struct row_state){&fx, &run_rows[i], 0};
		bench_work work = {run_rows[i].run, &states[i], run_rows[i].batch};

		results[i].row = &run_rows[i];
		bench_compare(&work, &floor_work, &plan, &results[i].cmp);
	}

	floor_summarize(results, ROW_COUNT, &floor);
	if (opt.json)
		print_json(&opt, &plan, results, &floor);
	else
		print_table(&opt, &plan, results, &floor);

	fixture_free(&fx);
	bench_suite_floor_free(suite_floor);
	return fflush(stdout) == 0 ? 0 : 1;
}
