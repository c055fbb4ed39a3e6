/*
 * A small SVG chart writer: plot panels with linear or log10 axes, lines,
 * points with whiskers, reference lines, grouped bars and notes. Enough
 * for the exposure figures (exposure.h); no dependency but buf.h.
 *
 *   chart *c;
 *   if (chart_new(800, 400, "Title", &c) == VEIL_OK) {
 *           chart_axis x = {"width (bits)", 0, 16, CHART_LINEAR};
 *           chart_axis y = {"set size", 1, 1e6, CHART_LOG10};
 *           int p = chart_panel(c, 60, 40, 300, 300, "Requester", &x, &y);
 *           chart_line(c, p, xs, ys, n, CHART_BLUE, 1, "expected");
 *           buf out;
 *           buf_init(&out);
 *           if (chart_write(c, &out) == VEIL_OK) ... buf_data(&out) ...
 *           buf_free(&out);
 *           chart_free(c);
 *   }
 *
 * Coordinates of panels are SVG user units (pixels) from the top left;
 * data go through the panel's axes. Data outside an axis range are
 * clipped to the panel; on a log axis, values <= 0 are skipped. Texts are
 * escaped. Drawing calls cannot fail one by one: the first allocation
 * failure is kept and chart_write() returns it.
 *
 * A chart is not thread safe. Strings passed in are copied or written at
 * once; the caller keeps ownership.
 *
 * May use: common/ (buf.h, error.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_CHART_H
#define VEIL_SERVER_CHART_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define CHART_MAX_PANELS 8
#define CHART_MAX_LEGEND 8 /* legend entries per panel; more are dropped */

/* A palette that stays readable in grey (print) and for colour blindness. */
#define CHART_BLUE   "#0072b2"
#define CHART_ORANGE "#e69f00"
#define CHART_GREEN  "#009e73"
#define CHART_RED    "#d55e00"
#define CHART_PURPLE "#cc79a7"
#define CHART_GREY   "#777777"
#define CHART_BLACK  "#000000"

typedef enum chart_scale {
	CHART_LINEAR,
	CHART_LOG10,
} chart_scale;

typedef struct chart_axis {
	const char *label;
	double min, max; /* min < max; both > 0 on a log axis */
	chart_scale scale;
} chart_axis;

typedef struct chart chart;

/*
 * A chart of width x height units with a title (may be NULL).
 * Errors: VEIL_ERR_ARGUMENT (a size not positive, out NULL),
 * VEIL_ERR_NOMEM. *out is NULL on error.
 */
veil_err chart_new(double width, double height, const char *title, chart **out)
        __attribute__((warn_unused_result));

/* NULL is a no-op. */
void chart_free(chart *c);

/*
 * Adds a plot area with its axes, ticks and title; returns its index for
 * the calls below, or -1 when the axes are invalid (min >= max, or not
 * positive on a log axis) or CHART_MAX_PANELS are in use.
 */
int chart_panel(chart *c, double x, double y, double width, double height, const char *title,
                const chart_axis *x_axis, const chart_axis *y_axis);

/* A polyline through n points; a NaN ends a segment. legend may be NULL. */
void chart_line(chart *c, int panel, const double *xs, const double *ys, size_t n,
                const char *color, int dashed, const char *legend);

/*
 * n markers at (xs[i], ys[i]) with a whisker from lo[i] to hi[i] (lo, hi
 * may be NULL; a NaN skips that whisker; a NaN y skips the point).
 */
void chart_points(chart *c, int panel, const double *xs, const double *ys, const double *lo,
                  const double *hi, size_t n, const char *color, const char *legend);

/* A horizontal (vline: vertical) reference line across the panel, labelled. */
void chart_hline(chart *c, int panel, double y, const char *color, const char *label);
void chart_vline(chart *c, int panel, double x, const char *color, const char *label);

/*
 * Grouped bars on a panel whose x axis is ignored (groups are spread
 * evenly): values[g * series_count + s] is bar s of group g, drawn from
 * the y axis minimum; NaN draws no bar. When notes is not NULL and
 * notes[g] is not NULL, that text (one line per '\n') stands in the
 * group instead of bars.
 * Every bar carries its value as a label.
 */
void chart_bars(chart *c, int panel, size_t group_count, const char *const *groups,
                size_t series_count, const char *const *series, const char *const *colors,
                const double *values, const char *const *notes);

/* Where a panel's legend goes: inside its top right corner (the
 * default), or under the panel, below its axis labels. */
typedef enum chart_legend_place {
	CHART_LEGEND_INSIDE,
	CHART_LEGEND_BELOW,
} chart_legend_place;

void chart_legend_place_set(chart *c, int panel, chart_legend_place place);

/* A line of text at chart coordinates (x, y), left aligned. */
void chart_note(chart *c, double x, double y, const char *text);

/*
 * Appends the whole SVG document to out. Returns VEIL_OK, or the first
 * error met while drawing or appending (VEIL_ERR_NOMEM, VEIL_ERR_LIMIT).
 */
veil_err chart_write(const chart *c, buf *out) __attribute__((warn_unused_result));

#endif
