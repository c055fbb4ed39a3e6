/*
 * SVG chart writer (chart.h). Elements are appended to the body as they
 * are drawn; legends, which may grow until the end, are written by
 * chart_write().
 */
#include "chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT          "font-family=\"Helvetica, Arial, sans-serif\""
#define TICK_LENGTH   4.0
#define LEGEND_LINE   14.0
#define LINEAR_TICKS  6.0 /* about this many ticks on a linear axis */
#define MAX_LOG_TICKS 8   /* decade labels on a log axis, at most */
#define COLOR_SIZE    16

typedef struct legend_item {
	char color[COLOR_SIZE];
	int style; /* LEGEND_* */
	char *text;
} legend_item;

enum { LEGEND_LINE_SOLID, LEGEND_LINE_DASHED, LEGEND_POINT, LEGEND_BAR };

typedef struct panel {
	double x, y, width, height;
	chart_axis x_axis, y_axis;
	int has_x_axis;
	chart_legend_place legend_place;
	size_t legend_count;
	legend_item legend[CHART_MAX_LEGEND];
} panel;

struct chart {
	double width, height;
	buf body;
	veil_err error;
	int panel_count;
	panel panels[CHART_MAX_PANELS];
};

static void
note_error(chart *c, veil_err err)
{
	if (c->error == VEIL_OK && err != VEIL_OK)
		c->error = err;
}

/* Appends text with the five XML specials escaped. */
static void
append_escaped(chart *c, const char *text)
{
	static const char specials[] = "&<>\"'";
	static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	for (const char *s = text; s != NULL && *s != '\0'; s++) {
		const char *special = strchr(specials, *s);
		if (special != NULL)
			buf_append_str(&c->body, entities[special - specials]);
		else
			buf_append_byte(&c->body, *s);
	}
}

/* A colour is copied into attributes as it is: only #hex and letters pass. */
static const char *
safe_color(const char *color)
{
	if (color == NULL || strlen(color) >= COLOR_SIZE)
		return CHART_BLACK;
	for (const char *s = color; *s != '\0'; s++)
		if (!(*s == '#' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return CHART_BLACK;
	return color;
}

static void
text_at(chart *c, double x, double y, const char *anchor, double size, const char *extra,
        const char *text)
{
	buf_printf(&c->body,
	           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.0f\" %s%s>", x, y,
	           anchor, size, FONT, extra != NULL ? extra : "");
	append_escaped(c, text);
	buf_append_str(&c->body, "</text>\n");
}

void
chart_free(chart *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->panel_count; i++)
		for (size_t k = 0; k < c->panels[i].legend_count; k++)
			free(c->panels[i].legend[k].text);
	buf_free(&c->body);
	free(c);
}

veil_err
chart_new(double width, double height, const char *title, chart **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (!(width > 0) || !(height > 0) || !isfinite(width) || !isfinite(height))
		return VEIL_ERR_ARGUMENT;
	chart *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return VEIL_ERR_NOMEM;
	c->width = width;
	c->height = height;
	buf_init(&c->body);
	if (title != NULL)
		text_at(c, width / 2, 24, "middle", 16, " font-weight=\"bold\"", title);
	*out = c;
	return VEIL_OK;
}

static int
axis_valid(const chart_axis *a)
{
	if (!isfinite(a->min) || !isfinite(a->max) || !(a->min < a->max))
		return 0;
	return a->scale != CHART_LOG10 || a->min > 0;
}

/* Where v falls on the axis, 0 at min and 1 at max; NaN when it cannot be shown. */
static double
axis_fraction(const chart_axis *a, double v)
{
	if (!isfinite(v))
		return NAN;
	if (a->scale == CHART_LOG10) {
		if (v <= 0)
			return NAN;
		return (log10(v) - log10(a->min)) / (log10(a->max) - log10(a->min));
	}
	return (v - a->min) / (a->max - a->min);
}

static double
panel_x(const panel *p, double v)
{
	return p->x + axis_fraction(&p->x_axis, v) * p->width;
}

static double
panel_y(const panel *p, double v)
{
	return p->y + p->height - axis_fraction(&p->y_axis, v) * p->height;
}

/* Formats a tick value compactly: 0.25, 8, 1e+06 becomes "1e6". */
static void
format_number(char *out, size_t cap, double v)
{
	snprintf(out, cap, "%.3g", v);
	char *e = strstr(out, "e+");
	if (e != NULL)
		memmove(e + 1, e + 2, strlen(e + 2) + 1);
}

static void
tick_label(chart *c, double x, double y, const char *anchor, double v, int log_axis)
{
	char label[32];
	if (log_axis && (v < 0.5 || v > 999)) {
		/* 10 with the exponent raised */
		const int exponent = (int)lround(log10(v));
		buf_printf(&c->body,
		           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"10\" %s>10"
		           "<tspan dy=\"-5\" font-size=\"8\">%d</tspan></text>\n",
		           x, y, anchor, FONT, exponent);
		return;
	}
	format_number(label, sizeof(label), v);
	text_at(c, x, y, anchor, 10, NULL, label);
}

/* The tick values of an axis into ticks (at most cap); returns their count. */
static size_t
axis_ticks(const chart_axis *a, double *ticks, size_t cap)
{
	size_t n = 0;
	if (a->scale == CHART_LOG10) {
		const int low = (int)ceil(log10(a->min) - 1e-9);
		const int high = (int)floor(log10(a->max) + 1e-9);
		const int step = (high - low) / MAX_LOG_TICKS + 1;
		for (int k = low; k <= high && n < cap; k += step)
			ticks[n++] = pow(10.0, k);
		return n;
	}
	const double raw = (a->max - a->min) / LINEAR_TICKS;
	const double magnitude = pow(10.0, floor(log10(raw)));
	double step = magnitude;
	if (raw > 5 * magnitude)
		step = 10 * magnitude;
	else if (raw > 2 * magnitude)
		step = 5 * magnitude;
	else if (raw > magnitude)
		step = 2 * magnitude;
	for (double v = ceil(a->min / step - 1e-9) * step; v <= a->max + step * 1e-9 && n < cap;
	     v += step)
		ticks[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
	return n;
}

/* A line segment, (x1, y1) to (x2, y2). */
typedef struct segment {
	double x1, y1, x2, y2;
} segment;

/*
 * The ticks of p's x axis (along its bottom) or y axis (along its left
 * edge): for each, a grid line across the panel, a tick mark outside it,
 * and the label.
 */
static void
draw_ticks(chart *c, const panel *p, int x_axis)
{
	const chart_axis *a = x_axis ? &p->x_axis : &p->y_axis;
	const double bottom = p->y + p->height;
	double ticks[64];
	const size_t n = axis_ticks(a, ticks, sizeof(ticks) / sizeof(ticks[0]));
	for (size_t i = 0; i < n; i++) {
		segment grid, mark;
		double label_x, label_y;
		if (x_axis) {
			const double tx = panel_x(p, ticks[i]);
			grid = (segment){tx, p->y, tx, bottom};
			mark = (segment){tx, bottom, tx, bottom + TICK_LENGTH};
			label_x = tx;
			label_y = bottom + TICK_LENGTH + 11;
		} else {
			const double ty = panel_y(p, ticks[i]);
			grid = (segment){p->x, ty, p->x + p->width, ty};
			mark = (segment){p->x - TICK_LENGTH, ty, p->x, ty};
			label_x = p->x - TICK_LENGTH - 2;
			label_y = ty + 3.5;
		}
		buf_printf(&c->body,
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		           "stroke=\"#e5e5e5\"/>\n"
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		           "stroke=\"#333333\"/>\n",
		           grid.x1, grid.y1, grid.x2, grid.y2, mark.x1, mark.y1, mark.x2, mark.y2);
		tick_label(c, label_x, label_y, x_axis ? "middle" : "end", ticks[i],
		           a->scale == CHART_LOG10);
	}
}

int
chart_panel(chart *c, double x, double y, double width, double height, const char *title,
            const chart_axis *x_axis, const chart_axis *y_axis)
{
	if (c->panel_count >= CHART_MAX_PANELS || y_axis == NULL || !axis_valid(y_axis) ||
	    (x_axis != NULL && !axis_valid(x_axis)))
		return -1;
	const int index = c->panel_count++;
	panel *p = &c->panels[index];
	memset(p, 0, sizeof(*p));
	p->x = x;
	p->y = y;
	p->width = width;
	p->height = height;
	p->y_axis = *y_axis;
	p->y_axis.label = NULL; /* not kept: written now */
	p->has_x_axis = x_axis != NULL;
	if (x_axis != NULL) {
		p->x_axis = *x_axis;
		p->x_axis.label = NULL;
	} else {
		p->x_axis = (chart_axis){NULL, 0, 1, CHART_LINEAR};
	}

	buf_printf(&c->body,
	           "<clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	           "height=\"%.1f\"/></clipPath>\n",
	           index, x, y, width, height);
	buf_printf(&c->body,
	           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
	           "stroke=\"#333333\"/>\n",
	           x, y, width, height);
	draw_ticks(c, p, 0);
	if (x_axis != NULL) {
		draw_ticks(c, p, 1);
		if (x_axis->label != NULL)
			text_at(c, x + width / 2, y + height + 36, "middle", 11, NULL,
			        x_axis->label);
	}
	if (y_axis->label != NULL) {
		char rotate[96];
		const double lx = x - 46, ly = y + height / 2;
		snprintf(rotate, sizeof(rotate), " transform=\"rotate(-90 %.1f %.1f)\"", lx, ly);
		text_at(c, lx, ly, "middle", 11, rotate, y_axis->label);
	}
	if (title != NULL)
		text_at(c, x + width / 2, y - 8, "middle", 12, " font-weight=\"bold\"", title);
	return index;
}

static panel *
panel_get(chart *c, int index)
{
	return index >= 0 && index < c->panel_count ? &c->panels[index] : NULL;
}

static void
legend_add(chart *c, panel *p, const char *color, int style, const char *text)
{
	if (text == NULL || p->legend_count >= CHART_MAX_LEGEND)
		return;
	legend_item *item = &p->legend[p->legend_count];
	if ((item->text = strdup(text)) == NULL) {
		note_error(c, VEIL_ERR_NOMEM);
		return;
	}
	snprintf(item->color, sizeof(item->color), "%s", safe_color(color));
	item->style = style;
	p->legend_count++;
}

void
chart_line(chart *c, int index, const double *xs, const double *ys, size_t n, const char *color,
           int dashed, const char *legend)
{
	panel *p = panel_get(c, index);
	if (p == NULL || xs == NULL || ys == NULL)
		return;
	color = safe_color(color);
	buf_printf(&c->body,
	           "<g clip-path=\"url(#clip%d)\" fill=\"none\" stroke=\"%s\" "
	           "stroke-width=\"1.5\"%s>\n",
	           index, color, dashed ? " stroke-dasharray=\"5,3\"" : "");
	int open = 0;
	for (size_t i = 0; i < n; i++) {
		const double px = panel_x(p, xs[i]), py = panel_y(p, ys[i]);
		if (isnan(px) || isnan(py)) {
			if (open)
				buf_append_str(&c->body, "\"/>\n");
			open = 0;
			continue;
		}
		if (!open)
			buf_append_str(&c->body, "<polyline points=\"");
		buf_printf(&c->body, "%s%.1f,%.1f", open ? " " : "", px, py);
		open = 1;
	}
	if (open)
		buf_append_str(&c->body, "\"/>\n");
	buf_append_str(&c->body, "</g>\n");
	legend_add(c, p, color, dashed ? LEGEND_LINE_DASHED : LEGEND_LINE_SOLID, legend);
}

void
chart_points(chart *c, int index, const double *xs, const double *ys, const double *lo,
             const double *hi, size_t n, const char *color, const char *legend)
{
	panel *p = panel_get(c, index);
	if (p == NULL || xs == NULL || ys == NULL)
		return;
	color = safe_color(color);
	buf_printf(&c->body, "<g clip-path=\"url(#clip%d)\" stroke=\"%s\" fill=\"%s\">\n", index,
	           color, color);
	for (size_t i = 0; i < n; i++) {
		const double px = panel_x(p, xs[i]), py = panel_y(p, ys[i]);
		if (isnan(px) || isnan(py))
			continue;
		if (lo != NULL && hi != NULL) {
			double y0 = panel_y(p, lo[i]), y1 = panel_y(p, hi[i]);
			/* A whisker reaching below a log axis ends at its bottom. */
			if (isnan(y0) && isfinite(lo[i]))
				y0 = p->y + p->height;
			if (!isnan(y0) && !isnan(y1))
				buf_printf(
				        &c->body,
				        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
				        px, y0, px, y1);
		}
		buf_printf(&c->body, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", px, py);
	}
	buf_append_str(&c->body, "</g>\n");
	legend_add(c, p, color, LEGEND_POINT, legend);
}

static void
reference_line(chart *c, double x1, double y1, double x2, double y2, const char *color,
               const char *label, double lx, double ly, const char *anchor)
{
	color = safe_color(color);
	buf_printf(&c->body,
	           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
	           "stroke-width=\"1.5\" stroke-dasharray=\"2,2\"/>\n",
	           x1, y1, x2, y2, color);
	if (label != NULL) {
		char fill[40];
		snprintf(fill, sizeof(fill), " fill=\"%s\"", color);
		text_at(c, lx, ly, anchor, 10, fill, label);
	}
}

/*
 * The panel index and where v falls on its x axis (vertical) or y axis,
 * in *at; NULL when there is no such panel or v falls outside it.
 */
static const panel *
panel_position(chart *c, int index, double v, int vertical, double *at)
{
	const panel *p = panel_get(c, index);
	if (p == NULL)
		return NULL;
	const double start = vertical ? p->x : p->y, size = vertical ? p->width : p->height;
	*at = vertical ? panel_x(p, v) : panel_y(p, v);
	if (isnan(*at) || *at < start - 0.5 || *at > start + size + 0.5)
		return NULL;
	return p;
}

void
chart_hline(chart *c, int index, double y, const char *color, const char *label)
{
	double at;
	const panel *p = panel_position(c, index, y, 0, &at);
	if (p == NULL)
		return;
	/* The label sits above the line, or below it at the top of the panel. */
	const double ly = at - 4 < p->y + 10 ? at + 12 : at - 4;
	reference_line(c, p->x, at, p->x + p->width, at, color, label, p->x + p->width - 4, ly,
	               "end");
}

void
chart_vline(chart *c, int index, double x, const char *color, const char *label)
{
	double at;
	const panel *p = panel_position(c, index, x, 1, &at);
	if (p == NULL)
		return;
	reference_line(c, at, p->y, at, p->y + p->height, color, NULL, 0, 0, NULL);
	if (label != NULL) {
		/* Along the line, reading upwards, clear of the bottom reference. */
		char extra[120];
		const double lx = at - 4, ly = p->y + p->height - 32;
		snprintf(extra, sizeof(extra), " fill=\"%s\" transform=\"rotate(-90 %.1f %.1f)\"",
		         safe_color(color), lx, ly);
		text_at(c, lx, ly, "start", 10, extra, label);
	}
}

void
chart_bars(chart *c, int index, size_t group_count, const char *const *groups, size_t series_count,
           const char *const *series, const char *const *colors, const double *values,
           const char *const *notes)
{
	panel *p = panel_get(c, index);
	if (p == NULL || group_count == 0 || series_count == 0 || values == NULL)
		return;
	const double group_width = p->width / (double)group_count;
	const double bar_width = group_width * 0.7 / (double)series_count;
	const double base = p->y + p->height;
	for (size_t g = 0; g < group_count; g++) {
		const double gx = p->x + group_width * (double)g;
		if (groups != NULL && groups[g] != NULL)
			text_at(c, gx + group_width / 2, base + 16, "middle", 11, NULL, groups[g]);
		if (notes != NULL && notes[g] != NULL) {
			/* One line per '\n' of the note. */
			const char *line = notes[g];
			double ly = p->y + p->height / 2;
			while (line != NULL && *line != '\0') {
				const char *nl = strchr(line, '\n');
				char part[64];
				snprintf(part, sizeof(part), "%.*s",
				         (int)(nl != NULL ? (size_t)(nl - line) : strlen(line)),
				         line);
				text_at(c, gx + group_width / 2, ly, "middle", 10,
				        " fill=\"#555555\" font-style=\"italic\"", part);
				ly += 13;
				line = nl != NULL ? nl + 1 : NULL;
			}
			continue;
		}
		for (size_t s = 0; s < series_count; s++) {
			const double v = values[g * series_count + s];
			double top = panel_y(p, v);
			if (isnan(top))
				continue;
			top = top < p->y ? p->y : top > base ? base : top;
			const double bx = gx + group_width * 0.15 + bar_width * (double)s;
			buf_printf(&c->body,
			           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			           "fill=\"%s\"/>\n",
			           bx, top, bar_width * 0.9, base - top,
			           safe_color(colors != NULL ? colors[s] : NULL));
			char label[32];
			format_number(label, sizeof(label), v);
			text_at(c, bx + bar_width * 0.45, top - 3, "middle", 9, NULL, label);
		}
	}
	for (size_t s = 0; s < series_count && series != NULL; s++)
		legend_add(c, p, colors != NULL ? colors[s] : NULL, LEGEND_BAR, series[s]);
}

void
chart_legend_place_set(chart *c, int index, chart_legend_place place)
{
	panel *p = panel_get(c, index);
	if (p != NULL)
		p->legend_place = place;
}

void
chart_note(chart *c, double x, double y, const char *text)
{
	if (text != NULL)
		text_at(c, x, y, "start", 10, NULL, text);
}

/* The legend box in the top right corner of a panel. */
static void
write_legend(const panel *p, buf *out)
{
	if (p->legend_count == 0)
		return;
	size_t longest = 0;
	for (size_t i = 0; i < p->legend_count; i++)
		if (strlen(p->legend[i].text) > longest)
			longest = strlen(p->legend[i].text);
	const double w = 30 + 5.6 * (double)longest, h = 6 + LEGEND_LINE * (double)p->legend_count;
	const int below = p->legend_place == CHART_LEGEND_BELOW;
	const double x = below ? p->x : p->x + p->width - w - 6;
	const double y = below ? p->y + p->height + 24 : p->y + 6;
	buf_printf(out,
	           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
	           "fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n",
	           x, y, w, h);
	for (size_t i = 0; i < p->legend_count; i++) {
		const legend_item *item = &p->legend[i];
		const double ly = y + 4 + LEGEND_LINE * (double)i + LEGEND_LINE / 2;
		switch (item->style) {
		case LEGEND_POINT:
			buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
			           x + 13, ly, item->color);
			break;
		case LEGEND_BAR:
			buf_printf(out,
			           "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"8\" "
			           "fill=\"%s\"/>\n",
			           x + 7, ly - 4, item->color);
			break;
		default:
			buf_printf(out,
			           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			           "stroke=\"%s\" stroke-width=\"1.5\"%s/>\n",
			           x + 5, ly, x + 21, ly, item->color,
			           item->style == LEGEND_LINE_DASHED ? " stroke-dasharray=\"5,3\""
			                                             : "");
		}
		buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" %s>", x + 26,
		           ly + 3.5, FONT);
		for (const char *s = item->text; *s != '\0'; s++) {
			switch (*s) {
			case '&':
				buf_append_str(out, "&amp;");
				break;
			case '<':
				buf_append_str(out, "&lt;");
				break;
			case '>':
				buf_append_str(out, "&gt;");
				break;
			default:
				buf_append_byte(out, *s);
			}
		}
		buf_append_str(out, "</text>\n");
	}
}

veil_err
chart_write(const chart *c, buf *out)
{
	if (c == NULL || out == NULL)
		return VEIL_ERR_ARGUMENT;
	if (c->error != VEIL_OK)
		return c->error;
	if (buf_error(&c->body) != VEIL_OK)
		return buf_error(&c->body);
	const size_t start = buf_len(out);
	buf_printf(out,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\">\n"
	           "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n",
	           c->width, c->height, c->width, c->height);
	buf_append(out, buf_data(&c->body), buf_len(&c->body));
	for (int i = 0; i < c->panel_count; i++)
		write_legend(&c->panels[i], out);
	buf_append_str(out, "</svg>\n");
	veil_err err = buf_error(out);
	if (err != VEIL_OK)
		buf_truncate(out, start <= buf_len(out) ? start : buf_len(out));
	return err;
}
