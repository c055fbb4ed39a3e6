/*
 * veil-bench-chart: the series of a batch-size sweep of veil-bench, as
 * one JSON document and one self-contained SVG chart.
 *
 *   veil-bench-chart --out-json FILE --out-svg FILE RUN.json...
 *
 * Each RUN.json is what one `veil-bench --json` printed (one document per
 * file, any order; bench/veil-bench-sweep.sh makes them). The series is
 * sorted by batch size; two runs of the same batch size are an error.
 *
 * The JSON document:
 *   {"benchmark":"veil-bench-sweep","suite":S,"auth":"keys"|"tokens",
 *    "handles":N,"connections":C,"floor_operation":OP,"floor_threads":T,
 *    "series":[{"batch":B,"items_per_s":..,"requests_per_s":..,
 *               "ratio":..,"ratio_per_server_core":..,"p50_ms":..,
 *               "p99_ms":..,"floor_ops_per_s":..,"floor_per_core":..,
 *               "ok":true|false},...]}
 * Numbers are copied as veil-bench wrote them (null where it had none).
 * suite, handles, connections and the floor are those of the first run
 * in batch order; auth is "tokens" when that run carried a token report.
 *
 * The chart: throughput against batch size on a log2 x axis; on the left
 * axis the ratio to the floor (wall) and per veild CPU-second, with the
 * floor as a line at 1; on the right axis items/s, each point labelled
 * with its value.
 *
 * Exit status: 0; 1 when a run cannot be read or is not a veil-bench
 * document, or an output cannot be written; 2 for a usage error.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chart.h"
#include "cli.h"
#include "file.h"
#include "json.h"

#define PROGRAM      "veil-bench-chart"
#define MAX_RUN_SIZE ((size_t)1 << 20)
#define MAX_RUNS     64

/* One run: its parsed document and where its figures are. */
typedef struct run {
	json_value *doc;
	int64_t batch;
} run;

static const char *const series_fields[][3] = {
        /* name in the series, object in the run (NULL: top level), member */
        {"items_per_s", NULL, "items_per_s"},
        {"requests_per_s", NULL, "requests_per_s"},
        {"ratio", NULL, "ratio"},
        {"ratio_per_server_core", "cpu", "ratio_per_server_core"},
        {"p50_ms", "latency_ms", "p50"},
        {"p99_ms", "latency_ms", "p99"},
        {"floor_ops_per_s", "floor", "ops_per_s"},
        {"floor_per_core", "floor", "per_core"},
};
#define SERIES_FIELDS (sizeof(series_fields) / sizeof(series_fields[0]))

static const json_value *
run_field(const run *r, size_t field)
{
	const json_value *in = r->doc;
	if (series_fields[field][1] != NULL)
		in = json_object_get(in, series_fields[field][1]);
	return json_object_get(in, series_fields[field][2]);
}

/* A field as a double; NaN when veil-bench had none (null). */
static double
run_number(const run *r, size_t field)
{
	const char *text = json_number_text(run_field(r, field), NULL);
	return text != NULL ? strtod(text, NULL) : NAN;
}

static int
compare_runs(const void *a, const void *b)
{
	const run *x = a, *y = b;
	return (x->batch > y->batch) - (x->batch < y->batch);
}

/* Reads and checks one run file; returns false after saying why. */
static bool
read_run(const char *path, run *out)
{
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(path, MAX_RUN_SIZE, &text, &len) != 0) {
		cli_error(PROGRAM, "cannot read %s", path);
		return false;
	}
	const veil_err err = json_parse(text, len, &out->doc);
	free(text);
	if (err != VEIL_OK) {
		cli_error(PROGRAM, "%s: not one JSON document: %s", path, veil_strerror(err));
		return false;
	}
	const char *name = json_string(json_object_get(out->doc, "benchmark"), NULL);
	if (name == NULL || strcmp(name, "veil-bench") != 0 ||
	    json_integer(json_object_get(out->doc, "batch"), &out->batch) != 0 || out->batch < 1) {
		cli_error(PROGRAM, "%s: not the output of veil-bench --json", path);
		return false;
	}
	for (size_t f = 0; f < SERIES_FIELDS; f++) {
		const json_value *v = run_field(out, f);
		if (v == NULL || (json_type_of(v) != JSON_NUMBER && json_type_of(v) != JSON_NULL)) {
			cli_error(PROGRAM, "%s: no number %s%s%s", path,
			          series_fields[f][1] != NULL ? series_fields[f][1] : "",
			          series_fields[f][1] != NULL ? "." : "", series_fields[f][2]);
			return false;
		}
	}
	return true;
}

/* A member copied from the run as it is, or null when absent. */
static void
copy_member(buf *out, const char *name, const json_value *v, bool last)
{
	buf_printf(out, "\"%s\":", name);
	if (v == NULL || json_write_value(out, v) != VEIL_OK)
		buf_append_str(out, "null");
	if (!last)
		buf_append_byte(out, ',');
}

static void
write_series_json(const run *runs, size_t n, buf *out)
{
	const json_value *first = runs[0].doc, *floor = json_object_get(first, "floor");
	const json_value *tokens = json_object_get(first, "tokens");
	buf_append_str(out, "{\"benchmark\":\"veil-bench-sweep\",");
	copy_member(out, "suite", json_object_get(first, "suite"), false);
	buf_printf(out, "\"auth\":\"%s\",",
	           tokens != NULL && json_type_of(tokens) == JSON_OBJECT ? "tokens" : "keys");
	copy_member(out, "handles", json_object_get(first, "handles"), false);
	copy_member(out, "connections", json_object_get(first, "connections"), false);
	copy_member(out, "floor_operation", json_object_get(floor, "operation"), false);
	copy_member(out, "floor_threads", json_object_get(floor, "threads"), false);
	buf_append_str(out, "\"series\":[");
	for (size_t i = 0; i < n; i++) {
		buf_printf(out, "%s\n{\"batch\":%lld,", i == 0 ? "" : ",",
		           (long long)runs[i].batch);
		for (size_t f = 0; f < SERIES_FIELDS; f++)
			copy_member(out, series_fields[f][0], run_field(&runs[i], f), false);
		copy_member(out, "ok", json_object_get(runs[i].doc, "ok"), true);
		buf_append_byte(out, '}');
	}
	buf_append_str(out, "]}\n");
}

/* ------------------------------------------------------------------ */
/* The chart */

#define WIDTH   780.0
#define HEIGHT  460.0
#define LEFT    80.0
#define TOP     50.0
#define PLOT_W  600.0
#define PLOT_H  320.0
#define FONT    "font-family=\"Helvetica, Arial, sans-serif\""
#define Y_TICKS 5.0

/* A tick step of 1, 2 or 5 times a power of ten, about range / Y_TICKS. */
static double
nice_step(double range)
{
	const double raw = range / Y_TICKS, magnitude = pow(10.0, floor(log10(raw)));
	const double fraction = raw / magnitude;
	return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
}

/* The top of an axis from 0 that holds max with some room, on a tick. */
static double
nice_top(double max, double *step)
{
	if (!(max > 0) || !isfinite(max))
		max = 1;
	*step = nice_step(max * 1.1);
	return ceil(max * 1.1 / *step) * *step;
}

typedef struct frame {
	double x_low, x_high; /* log2 of batch at the plot's edges */
	double left_top, right_top;
} frame;

static double
at_x(const frame *f, double batch)
{
	return LEFT + (log2(batch) - f->x_low) / (f->x_high - f->x_low) * PLOT_W;
}

static double
at_y(double v, double top)
{
	return TOP + PLOT_H - v / top * PLOT_H;
}

static void
text(buf *out, double x, double y, const char *anchor, const char *extra, const char *s)
{
	/* Every text here is the program's own or a number: nothing to escape. */
	buf_printf(
	        out,
	        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"10\" %s%s>%s</text>\n",
	        x, y, anchor, FONT, extra, s);
}

/* A line through the points that have a value, with a marker on each. */
static void
polyline(buf *out, const frame *f, const run *runs, size_t n, size_t field, double top,
         const char *color, bool dashed)
{
	buf_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
	           color, dashed ? " stroke-dasharray=\"6,3\"" : "");
	for (size_t i = 0; i < n; i++) {
		const double v = run_number(&runs[i], field);
		if (isfinite(v))
			buf_printf(out, "%.1f,%.1f ", at_x(f, (double)runs[i].batch), at_y(v, top));
	}
	buf_append_str(out, "\"/>\n");
	for (size_t i = 0; i < n; i++) {
		const double v = run_number(&runs[i], field);
		if (isfinite(v))
			buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
			           at_x(f, (double)runs[i].batch), at_y(v, top), color);
	}
}

static void
y_axis(buf *out, double top, double step, bool right, const char *label)
{
	const double x = right ? LEFT + PLOT_W : LEFT, mark = right ? 4 : -4;
	char number[32];
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
	           x, TOP, x, TOP + PLOT_H);
	for (double v = 0; v <= top + step / 2; v += step) {
		const double y = at_y(v, top);
		if (!right)
			buf_printf(out,
			           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			           "stroke=\"#e5e5e5\"/>\n",
			           LEFT, y, LEFT + PLOT_W, y);
		buf_printf(out,
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		           "stroke=\"#333333\"/>\n",
		           x, y, x + mark, y);
		/* Whole numbers in full (25000, not 2.5e+04); ratios as they are. */
		snprintf(number, sizeof(number), v >= 1000 ? "%.0f" : "%.4g", v);
		text(out, x + mark * 1.5, y + 3.5, right ? "start" : "end", "", number);
	}
	const double lx = right ? LEFT + PLOT_W + 58 : LEFT - 48, ly = TOP + PLOT_H / 2;
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" %s "
	           "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
	           lx, ly, FONT, lx, ly, label);
}

static void
legend(buf *out, double x, double y, const char *color, bool dashed, const char *label)
{
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
	           "stroke-width=\"2\"%s/>\n",
	           x, y - 3.5, x + 24, y - 3.5, color, dashed ? " stroke-dasharray=\"6,3\"" : "");
	text(out, x + 30, y, "start", "", label);
}

enum { ITEMS, REQUESTS, RATIO, RATIO_CPU }; /* series_fields indices used below */

static void
write_chart(const run *runs, size_t n, buf *out)
{
	frame f = {log2((double)runs[0].batch) - 0.5, log2((double)runs[n - 1].batch) + 0.5, 0, 0};
	double ratio_max = 1, items_max = 0, left_step, right_step;
	for (size_t i = 0; i < n; i++) {
		const double r = run_number(&runs[i], RATIO), c = run_number(&runs[i], RATIO_CPU);
		const double items = run_number(&runs[i], ITEMS);
		ratio_max = fmax(ratio_max, isfinite(r) ? r : 0);
		ratio_max = fmax(ratio_max, isfinite(c) ? c : 0);
		items_max = fmax(items_max, isfinite(items) ? items : 0);
	}
	f.left_top = nice_top(ratio_max, &left_step);
	f.right_top = nice_top(items_max, &right_step);

	const char *suite = json_string(json_object_get(runs[0].doc, "suite"), NULL);
	const json_value *tokens = json_object_get(runs[0].doc, "tokens");
	const char *auth =
	        tokens != NULL && json_type_of(tokens) == JSON_OBJECT ? "tokens" : "keys";
	buf_printf(out,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\">\n"
	           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	           "<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" %s "
	           "font-weight=\"bold\">veil-bench: throughput against batch size</text>\n",
	           WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH / 2, FONT);
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" %s>"
	           "%s, %s mode; ratio to the floor measured in each run</text>\n",
	           WIDTH / 2, FONT, suite != NULL && strchr(suite, '<') == NULL ? suite : "?",
	           auth);

	y_axis(out, f.left_top, left_step, false, "ratio to the floor");
	y_axis(out, f.right_top, right_step, true, "items/s");
	/* The x axis: a tick at every power of two in the range. */
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
	           LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H);
	for (int k = (int)ceil(f.x_low); k <= (int)floor(f.x_high); k++) {
		const double x = at_x(&f, ldexp(1, k));
		char number[24];
		snprintf(number, sizeof(number), "%.0f", ldexp(1, k));
		buf_printf(out,
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		           "stroke=\"#333333\"/>\n",
		           x, TOP + PLOT_H, x, TOP + PLOT_H + 4);
		text(out, x, TOP + PLOT_H + 16, "middle", "", number);
	}
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" %s>"
	           "batch size (items per request, log2 scale)</text>\n",
	           LEFT + PLOT_W / 2, TOP + PLOT_H + 34, FONT);

	/* The floor, at ratio 1. */
	const double floor_y = at_y(1, f.left_top);
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
	           "stroke-width=\"1.5\" stroke-dasharray=\"2,2\"/>\n",
	           LEFT, floor_y, LEFT + PLOT_W, floor_y, CHART_GREY);
	text(out, LEFT + 4, floor_y - 4, "start", " fill=\"" CHART_GREY "\"", "floor");

	polyline(out, &f, runs, n, ITEMS, f.right_top, CHART_GREEN, false);
	polyline(out, &f, runs, n, RATIO, f.left_top, CHART_BLUE, false);
	polyline(out, &f, runs, n, RATIO_CPU, f.left_top, CHART_ORANGE, true);
	for (size_t i = 0; i < n; i++) {
		const double items = run_number(&runs[i], ITEMS);
		char label[32];
		if (!isfinite(items))
			continue;
		snprintf(label, sizeof(label), "%.0f/s", items);
		text(out, at_x(&f, (double)runs[i].batch), at_y(items, f.right_top) - 7, "middle",
		     " fill=\"" CHART_GREEN "\"", label);
	}

	const double ly = TOP + PLOT_H + 56;
	legend(out, LEFT, ly, CHART_BLUE, false, "ratio to the floor (wall)");
	legend(out, LEFT + 200, ly, CHART_ORANGE, true, "ratio per veild CPU-second");
	legend(out, LEFT + 420, ly, CHART_GREEN, false, "items/s (right axis)");
	buf_append_str(out, "</svg>\n");
}

static bool
write_file(const char *path, const buf *b)
{
	if (buf_error(b) != VEIL_OK) {
		cli_error(PROGRAM, "out of memory");
		return false;
	}
	if (file_write_all(path, buf_data(b), buf_len(b), 0644) != 0) {
		cli_error(PROGRAM, "cannot write %s", path);
		return false;
	}
	return true;
}

static void
print_help(void)
{
	printf("The series of a veil-bench batch-size sweep (one --json output per RUN file)\n"
	       "as one JSON document and an SVG chart of throughput against batch size.\n\n"
	       "  --out-json FILE   the series, sorted by batch size\n"
	       "  --out-svg FILE    the chart\n");
}

int
main(int argc, char **argv)
{
	const char *out_json = NULL, *out_svg = NULL;
	const cli_option table[] = {
	        CLI_TEXT_OPTION("out-json", &out_json),
	        CLI_TEXT_OPTION("out-svg", &out_svg),
	        CLI_END,
	};
	const cli_command command = {PROGRAM, "--out-json FILE --out-svg FILE RUN.json...", table};
	int first = 0;
	switch (cli_parse(&command, argc, argv, &first)) {
	case CLI_RUN:
		break;
	case CLI_HELP:
		cli_print_usage(&command, stdout);
		printf("\n");
		print_help();
		return 0;
	case CLI_VERSION:
		return 0;
	case CLI_USAGE:
		return CLI_EXIT_USAGE;
	}
	if (out_json == NULL || out_svg == NULL)
		return cli_usage_error(&command, "--out-json and --out-svg are required");
	const size_t n = (size_t)(argc - first);
	if (n == 0)
		return cli_usage_error(&command, "no RUN.json given");
	if (n > MAX_RUNS)
		return cli_usage_error(&command, "at most %d runs", MAX_RUNS);

	run runs[MAX_RUNS] = {0};
	int status = 0;
	for (size_t i = 0; i < n && status == 0; i++)
		if (!read_run(argv[first + (int)i], &runs[i]))
			status = 1;
	if (status == 0) {
		qsort(runs, n, sizeof(runs[0]), compare_runs);
		for (size_t i = 1; i < n && status == 0; i++)
			if (runs[i].batch == runs[i - 1].batch) {
				cli_error(PROGRAM, "two runs of batch %lld",
				          (long long)runs[i].batch);
				status = 1;
			}
	}
	if (status == 0) {
		buf json, svg;
		buf_init(&json);
		buf_init(&svg);
		write_series_json(runs, n, &json);
		write_chart(runs, n, &svg);
		if (!write_file(out_json, &json) || !write_file(out_svg, &svg))
			status = 1;
		buf_free(&json);
		buf_free(&svg);
	}
	for (size_t i = 0; i < n; i++)
		json_free(runs[i].doc);
	return status;
}
