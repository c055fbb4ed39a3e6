/*
 * veil-bench-chart: the series of a sweep of veil-bench runs, as one JSON
 * document and one self-contained SVG chart. Two sweeps:
 *
 *   veil-bench-chart [--by batch] --out-json FILE --out-svg FILE RUN.json...
 *   veil-bench-chart --by registry [--facts FILE] --out-json FILE --out-svg FILE RUN.json...
 *
 * Each RUN.json is what one `veil-bench --json` printed (one document per
 * file, any order; bench/veil-bench-sweep.sh and
 * bench/veil-bench-registry-sweep.sh make them).
 *
 * --by batch (the default): throughput against batch size. The series is
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
 * --by registry: latency against the number of handles registered, one
 * line per batch size. The series is sorted by batch size, then handles;
 * two runs of the same pair are an error. The JSON document is
 *   {"benchmark":"veil-bench-registry-sweep","suite":S,"auth":..,
 *    "connections":C,"floor_operation":OP,"floor_threads":T,
 *    "registry":[{"handles":N,"bytes":..,"bytes_per_handle":..,
 *                 "veild_peak_rss_kb":..,"rss_bytes_per_handle":..,
 *                 "import_handles_per_s":..},...],
 *    "series":[{"handles":N,"batch":B, the members above},...]}
 * where "registry" holds the lines of --facts FILE, each
 * "HANDLES BYTES RSS_KB IMPORT_RATE" ("null" for a figure not known):
 * the registry's data file size, veild's peak resident memory and the
 * import's handles/s at that size. The chart plots p50 (solid) and p99
 * (dashed) latency against handles on a log10 axis, each over its batch
 * size's mean across the sizes (flat is 1; a band marks 0.9 to 1.1),
 * each p50 point labelled with its milliseconds.
 *
 * Exit status: 0; 1 when a run or the facts cannot be read or a run is
 * not a veil-bench document, or an output cannot be written; 2 for a
 * usage error.
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
#define MAX_FACTS    32

/* One run: its parsed document and where its figures are. */
typedef struct run {
	json_value *doc;
	int64_t batch;
	int64_t handles;
} run;

/* What the chart is of: --by batch or --by registry. */
typedef enum sweep { BY_BATCH, BY_REGISTRY } sweep;

/* One line of --facts: the registry at one size; NaN for "null". */
typedef struct fact {
	double handles, bytes, rss_kb, import_rate;
} fact;

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

/* By batch, then by handles. */
static int
compare_runs(const void *a, const void *b)
{
	const run *x = a, *y = b;
	if (x->batch != y->batch)
		return (x->batch > y->batch) - (x->batch < y->batch);
	return (x->handles > y->handles) - (x->handles < y->handles);
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
	    json_integer(json_object_get(out->doc, "batch"), &out->batch) != 0 || out->batch < 1 ||
	    json_integer(json_object_get(out->doc, "handles"), &out->handles) != 0 ||
	    out->handles < 1) {
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

/* "keys" or "tokens": whether the run carried a token report. */
static const char *
run_auth(const run *r)
{
	const json_value *tokens = json_object_get(r->doc, "tokens");
	return tokens != NULL && json_type_of(tokens) == JSON_OBJECT ? "tokens" : "keys";
}

/* A figure of --facts, or null. */
static void
put_number(buf *out, const char *name, double v, int decimals, bool last)
{
	buf_printf(out, "\"%s\":", name);
	if (isfinite(v))
		buf_printf(out, "%.*f", decimals, v);
	else
		buf_append_str(out, "null");
	if (!last)
		buf_append_byte(out, ',');
}

static void
write_facts_json(const fact *facts, size_t n_facts, buf *out)
{
	buf_append_str(out, "\"registry\":[");
	for (size_t i = 0; i < n_facts; i++) {
		const fact *f = &facts[i];
		buf_append_str(out, i == 0 ? "\n{" : ",\n{");
		put_number(out, "handles", f->handles, 0, false);
		put_number(out, "bytes", f->bytes, 0, false);
		put_number(out, "bytes_per_handle", f->bytes / f->handles, 1, false);
		put_number(out, "veild_peak_rss_kb", f->rss_kb, 0, false);
		put_number(out, "rss_bytes_per_handle", f->rss_kb * 1024 / f->handles, 1, false);
		put_number(out, "import_handles_per_s", f->import_rate, 0, true);
		buf_append_byte(out, '}');
	}
	buf_append_str(out, "],");
}

static void
write_series_json(sweep by, const run *runs, size_t n, const fact *facts, size_t n_facts, buf *out)
{
	const json_value *first = runs[0].doc, *floor = json_object_get(first, "floor");
	buf_printf(out, "{\"benchmark\":\"%s\",",
	           by == BY_BATCH ? "veil-bench-sweep" : "veil-bench-registry-sweep");
	copy_member(out, "suite", json_object_get(first, "suite"), false);
	buf_printf(out, "\"auth\":\"%s\",", run_auth(&runs[0]));
	if (by == BY_BATCH)
		copy_member(out, "handles", json_object_get(first, "handles"), false);
	copy_member(out, "connections", json_object_get(first, "connections"), false);
	copy_member(out, "floor_operation", json_object_get(floor, "operation"), false);
	copy_member(out, "floor_threads", json_object_get(floor, "threads"), false);
	if (by == BY_REGISTRY)
		write_facts_json(facts, n_facts, out);
	buf_append_str(out, "\"series\":[");
	for (size_t i = 0; i < n; i++) {
		buf_append_str(out, i == 0 ? "\n{" : ",\n{");
		if (by == BY_REGISTRY)
			buf_printf(out, "\"handles\":%lld,", (long long)runs[i].handles);
		buf_printf(out, "\"batch\":%lld,", (long long)runs[i].batch);
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
	sweep by;             /* x is the batch size (log2) or the handles (log10) */
	double x_low, x_high; /* the log of x at the plot's edges */
	double left_top, right_top;
} frame;

static double
x_log(const frame *f, double x)
{
	return f->by == BY_BATCH ? log2(x) : log10(x);
}

static double
at_x(const frame *f, double x)
{
	return LEFT + (x_log(f, x) - f->x_low) / (f->x_high - f->x_low) * PLOT_W;
}

/* A run's place on the x axis. */
static double
run_x(const frame *f, const run *r)
{
	return (double)(f->by == BY_BATCH ? r->batch : r->handles);
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

/* A line through the points that have a value (divided by scale), with a marker on each. */
static void
polyline(buf *out, const frame *f, const run *runs, size_t n, size_t field, double scale,
         double top, const char *color, bool dashed)
{
	buf_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
	           color, dashed ? " stroke-dasharray=\"6,3\"" : "");
	for (size_t i = 0; i < n; i++) {
		const double v = run_number(&runs[i], field) / scale;
		if (isfinite(v))
			buf_printf(out, "%.1f,%.1f ", at_x(f, run_x(f, &runs[i])), at_y(v, top));
	}
	buf_append_str(out, "\"/>\n");
	for (size_t i = 0; i < n; i++) {
		const double v = run_number(&runs[i], field) / scale;
		if (isfinite(v))
			buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
			           at_x(f, run_x(f, &runs[i])), at_y(v, top), color);
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

enum { ITEMS, REQUESTS, RATIO, RATIO_CPU, P50, P99 }; /* series_fields indices used below */

/* The SVG's head: its size, a white ground, the title and a subtitle
 * naming the first run's suite and mode plus what follows it. */
static void
chart_head(buf *out, const run *first, const char *title, const char *subtitle)
{
	const char *suite = json_string(json_object_get(first->doc, "suite"), NULL);
	buf_printf(out,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\">\n"
	           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	           "<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" %s "
	           "font-weight=\"bold\">%s</text>\n",
	           WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH / 2, FONT, title);
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" %s>"
	           "%s, %s mode; %s</text>\n",
	           WIDTH / 2, FONT, suite != NULL && strchr(suite, '<') == NULL ? suite : "?",
	           run_auth(first), subtitle);
}

/* The x axis: a tick at every power of the axis's base in the range. */
static void
x_axis(buf *out, const frame *f, const char *label)
{
	const double base = f->by == BY_BATCH ? 2 : 10;
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
	           LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H);
	for (int k = (int)ceil(f->x_low); k <= (int)floor(f->x_high); k++) {
		const double value = pow(base, k), x = at_x(f, value);
		char number[24];
		if (f->by == BY_BATCH)
			snprintf(number, sizeof(number), "%.0f", value);
		else
			snprintf(number, sizeof(number), "10^%d", k);
		buf_printf(out,
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		           "stroke=\"#333333\"/>\n",
		           x, TOP + PLOT_H, x, TOP + PLOT_H + 4);
		text(out, x, TOP + PLOT_H + 16, "middle", "", number);
	}
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" %s>"
	           "%s</text>\n",
	           LEFT + PLOT_W / 2, TOP + PLOT_H + 34, FONT, label);
}

/* The frame's x range: half a step of the log axis beyond the runs'. */
static void
frame_x_range(frame *f, const run *runs, size_t n)
{
	double low = INFINITY, high = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		low = fmin(low, x_log(f, run_x(f, &runs[i])));
		high = fmax(high, x_log(f, run_x(f, &runs[i])));
	}
	f->x_low = low - 0.5;
	f->x_high = high + 0.5;
}

static void
write_batch_chart(const run *runs, size_t n, buf *out)
{
	frame f = {.by = BY_BATCH};
	frame_x_range(&f, runs, n);
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

	chart_head(out, &runs[0], "veil-bench: throughput against batch size",
	           "ratio to the floor measured in each run");
	y_axis(out, f.left_top, left_step, false, "ratio to the floor");
	y_axis(out, f.right_top, right_step, true, "items/s");
	x_axis(out, &f, "batch size (items per request, log2 scale)");

	/* The floor, at ratio 1. */
	const double floor_y = at_y(1, f.left_top);
	buf_printf(out,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
	           "stroke-width=\"1.5\" stroke-dasharray=\"2,2\"/>\n",
	           LEFT, floor_y, LEFT + PLOT_W, floor_y, CHART_GREY);
	text(out, LEFT + 4, floor_y - 4, "start", " fill=\"" CHART_GREY "\"", "floor");

	polyline(out, &f, runs, n, ITEMS, 1, f.right_top, CHART_GREEN, false);
	polyline(out, &f, runs, n, RATIO, 1, f.left_top, CHART_BLUE, false);
	polyline(out, &f, runs, n, RATIO_CPU, 1, f.left_top, CHART_ORANGE, true);
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

/* One color per batch size, in the series' order (runs sorted by batch). */
static const char *const batch_colors[] = {CHART_BLUE,   CHART_ORANGE, CHART_GREEN, CHART_RED,
                                           CHART_PURPLE, CHART_BLACK,  CHART_GREY};
#define BATCH_COLORS (sizeof(batch_colors) / sizeof(batch_colors[0]))

/* The mean of field over runs that have it; NaN when none has. */
static double
mean_of(const run *runs, size_t n, size_t field)
{
	double sum = 0;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		const double v = run_number(&runs[i], field);
		if (isfinite(v)) {
			sum += v;
			count++;
		}
	}
	return count > 0 ? sum / (double)count : NAN;
}

/*
 * Latency against registry size, as flatness: each batch size's p50
 * (solid) and p99 (dashed) divided by that batch size's mean over the
 * sizes, so that batch sizes whose latencies differ a hundredfold share
 * one axis; a band marks 0.9 to 1.1, and each p50 point is labelled with
 * its milliseconds.
 */
static void
write_registry_chart(const run *runs, size_t n, buf *out)
{
	frame f = {.by = BY_REGISTRY};
	frame_x_range(&f, runs, n);
	/* Runs are sorted by batch: each batch size is one slice, its
	 * bounds and means found once. */
	struct slice {
		size_t start, end;
		double m50, m99;
	} slices[MAX_RUNS];
	size_t count = 0;
	double rel_max = 1.2, step, unused;
	for (size_t start = 0; start < n; count++) {
		size_t end = start + 1;
		while (end < n && runs[end].batch == runs[start].batch)
			end++;
		struct slice *sl = &slices[count];
		*sl = (struct slice){start, end, mean_of(runs + start, end - start, P50),
		                     mean_of(runs + start, end - start, P99)};
		for (size_t i = start; i < end; i++) {
			const double a = run_number(&runs[i], P50) / sl->m50;
			const double b = run_number(&runs[i], P99) / sl->m99;
			rel_max = fmax(rel_max, isfinite(a) ? a : 0);
			rel_max = fmax(rel_max, isfinite(b) ? b : 0);
		}
		start = end;
	}
	f.left_top = nice_top(rel_max, &step);
	f.right_top = nice_top(1, &unused);

	chart_head(out, &runs[0], "veil-bench: latency against registry size",
	           "p50 (solid) and p99 (dashed) over each batch size's mean; band: 0.9 to 1.1");
	y_axis(out, f.left_top, step, false, "latency / the batch size's mean");
	x_axis(out, &f, "handles registered (log10 scale)");
	const double band_top = at_y(1.1, f.left_top), band_bottom = at_y(0.9, f.left_top);
	buf_printf(out,
	           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
	           "fill-opacity=\"0.15\"/>\n",
	           LEFT, band_top, PLOT_W, band_bottom - band_top, CHART_GREY);

	double lx = LEFT;
	const double ly = TOP + PLOT_H + 56;
	for (size_t line = 0; line < count; line++) {
		const size_t start = slices[line].start, end = slices[line].end;
		const double m50 = slices[line].m50, m99 = slices[line].m99;
		const char *color = batch_colors[line % BATCH_COLORS];
		polyline(out, &f, runs + start, end - start, P50, m50, f.left_top, color, false);
		polyline(out, &f, runs + start, end - start, P99, m99, f.left_top, color, true);
		for (size_t i = start; i < end; i++) {
			const double ms = run_number(&runs[i], P50);
			char label[32];
			if (!isfinite(ms))
				continue;
			snprintf(label, sizeof(label), "%.3g ms", ms);
			text(out, at_x(&f, run_x(&f, &runs[i])) + 5,
			     at_y(ms / m50, f.left_top) - 6 - 10.0 * (double)line, "start", "",
			     label);
		}
		char label[48];
		snprintf(label, sizeof(label), "batch %lld", (long long)runs[start].batch);
		legend(out, lx, ly, color, false, label);
		lx += 110;
	}
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

/* One figure of a --facts line: a number, or "null" (NaN). */
static bool
fact_number(const char *word, double *out)
{
	char *end = NULL;
	if (strcmp(word, "null") == 0) {
		*out = NAN;
		return true;
	}
	*out = strtod(word, &end);
	return end != word && *end == '\0' && isfinite(*out) && *out >= 0;
}

/*
 * Reads --facts FILE: lines "HANDLES BYTES RSS_KB IMPORT_RATE", HANDLES a
 * number above 0, the others numbers or null. False after saying why.
 */
static bool
read_facts(const char *path, fact *facts, size_t *count)
{
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(path, MAX_RUN_SIZE, &text, &len) != 0) {
		cli_error(PROGRAM, "cannot read %s", path);
		return false;
	}
	bool ok = true;
	size_t line_no = 0;
	*count = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL && ok;
	     line = strtok_r(NULL, "\n", &save)) {
		char words[4][32];
		char extra;
		line_no++;
		fact *f = &facts[*count];
		ok = *count < MAX_FACTS &&
		     sscanf(line, "%31s %31s %31s %31s %c", words[0], words[1], words[2], words[3],
		            &extra) == 4 &&
		     fact_number(words[0], &f->handles) && f->handles >= 1 &&
		     fact_number(words[1], &f->bytes) && fact_number(words[2], &f->rss_kb) &&
		     fact_number(words[3], &f->import_rate);
		if (!ok)
			cli_error(PROGRAM,
			          "%s line %zu: not \"HANDLES BYTES RSS_KB IMPORT_RATE\" (at most "
			          "%d lines)",
			          path, line_no, MAX_FACTS);
		else
			(*count)++;
	}
	free(text);
	return ok;
}

static void
print_help(void)
{
	printf("The series of a sweep of veil-bench runs (one --json output per RUN file)\n"
	       "as one JSON document and an SVG chart.\n\n"
	       "  --by S            batch (default): throughput against batch size, runs\n"
	       "                    sorted by batch size; registry: p50 and p99 latency\n"
	       "                    against the handles registered, one line per batch\n"
	       "                    size, runs sorted by batch size then handles\n"
	       "  --facts FILE      with --by registry: lines \"HANDLES BYTES RSS_KB\n"
	       "                    IMPORT_RATE\" (\"null\" for a figure not known): the\n"
	       "                    registry's data file size, veild's peak resident\n"
	       "                    memory and the import's handles/s at each size\n"
	       "  --out-json FILE   the series\n"
	       "  --out-svg FILE    the chart\n");
}

int
main(int argc, char **argv)
{
	const char *out_json = NULL, *out_svg = NULL, *by_name = "batch", *facts_path = NULL;
	const cli_option table[] = {
	        CLI_TEXT_OPTION("by", &by_name),
	        CLI_TEXT_OPTION("facts", &facts_path),
	        CLI_TEXT_OPTION("out-json", &out_json),
	        CLI_TEXT_OPTION("out-svg", &out_svg),
	        CLI_END,
	};
	const cli_command command = {
	        PROGRAM,
	        "[--by batch|registry] [--facts FILE] --out-json FILE --out-svg FILE RUN.json...",
	        table};
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
	sweep by;
	if (strcmp(by_name, "batch") == 0)
		by = BY_BATCH;
	else if (strcmp(by_name, "registry") == 0)
		by = BY_REGISTRY;
	else
		return cli_usage_error(&command, "--by takes batch or registry, not '%s'", by_name);
	if (facts_path != NULL && by != BY_REGISTRY)
		return cli_usage_error(&command, "--facts goes with --by registry");

	run runs[MAX_RUNS] = {0};
	fact facts[MAX_FACTS];
	size_t n_facts = 0;
	int status = facts_path != NULL && !read_facts(facts_path, facts, &n_facts) ? 1 : 0;
	for (size_t i = 0; i < n && status == 0; i++)
		if (!read_run(argv[first + (int)i], &runs[i]))
			status = 1;
	if (status == 0) {
		/* By batch, one run per batch size; by registry, per pair. */
		qsort(runs, n, sizeof(runs[0]), compare_runs);
		for (size_t i = 1; i < n && status == 0; i++)
			if (runs[i].batch == runs[i - 1].batch &&
			    (by == BY_BATCH || runs[i].handles == runs[i - 1].handles)) {
				cli_error(PROGRAM, "two runs of batch %lld%s",
				          (long long)runs[i].batch,
				          by == BY_BATCH ? "" : " at one registry size");
				status = 1;
			}
	}
	if (status == 0) {
		buf json, svg;
		buf_init(&json);
		buf_init(&svg);
		write_series_json(by, runs, n, facts, n_facts, &json);
		if (by == BY_BATCH)
			write_batch_chart(runs, n, &svg);
		else
			write_registry_chart(runs, n, &svg);
		if (!write_file(out_json, &json) || !write_file(out_svg, &svg))
			status = 1;
		buf_free(&json);
		buf_free(&svg);
	}
	for (size_t i = 0; i < n; i++)
		json_free(runs[i].doc);
	return status;
}
