/*
 * normalize_route.c -- HTTP paths to route templates.
 *
 * Sections: the route table (load and parse at start-up, one allocation);
 * matching a path against it; the heuristic for paths no template matches.
 *
 * A path loses its query string and fragment first.  Then, if a table is
 * given and one of its templates matches, the output is that template's
 * text.  Matching is segment-wise (split on `/`, the leading empty segment
 * included, so segment counts must agree and `/a/` is not `/a`); a
 * template segment `{name}` matches any one non-empty segment, and
 * `pre{name}suf` any segment with that prefix and suffix (OpenAPI's
 * `/report.{format}`); other segments match exactly (case-sensitive).
 * The most specific template wins: fewest parameters, then the longest
 * text, then the first listed (the table is sorted once, at load).
 *
 * Otherwise each segment that pt_segment_is_id() calls id-like (or that
 * follows an id-taking word such as `session` or `users`) becomes `{id}`;
 * other segments stay as written: /fir/FIR-1a2b3c4d-20260115093000/content
 * -> /fir/{id}/content, /api/v1/health stays.  An absolute URL
 * (http://host:port/path) loses its scheme and authority first.
 *
 * Table sources (pt_route_table_parse): either an OpenAPI JSON document
 * (first non-blank byte `{`; the keys of its "paths" object), or text with
 * one template per line; blank lines and lines starting with `#` are
 * skipped, and a line may carry a method first ("GET /fir/{id}"): the
 * template is the first word starting with `/`.
 *
 * Contract: matching allocates nothing and reads only path[0..len); its
 * work is O(len x templates).  Loading may allocate (start-up only).
 */
#include "normalize.h"
#include "sys.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A larger routes file is surely a mistake (AFIRGen has ten routes). */
#define ROUTE_FILE_MAX (4u << 20)
/* A template's segment count and parameters fit in 16 bits. */
#define ROUTE_SEG_MAX 1024
/* What a route's id segment becomes without a table. */
#define ROUTE_ID "{id}"

struct route_tpl {
	uint32_t off; /* into the table's text */
	uint32_t len;
	uint16_t nseg;
	uint16_t nparam;
};

/* One allocation: this header, then n templates, then their texts (each
 * NUL-terminated). */
struct pt_route_table {
	size_t n;
	struct route_tpl *tpl;
	char *text;
};

/* ---- helpers ------------------------------------------------------------- */

static void route_err(char *err, size_t errlen, const char *msg, size_t line)
{
	if (!err || errlen == 0)
		return;
	if (line)
		snprintf(err, errlen, "line %zu: %s", line, msg);
	else
		snprintf(err, errlen, "%s", msg);
}

/* Length of the path proper: up to `?` or `#`. */
static size_t route_path_len(const char *p, size_t len)
{
	const char *q = memchr(p, '?', len);
	size_t n = q ? (size_t)(q - p) : len;
	const char *f = memchr(p, '#', n);
	return f ? (size_t)(f - p) : n;
}

/* Offset of the path in an absolute URL ("http://h:1/x" -> "/x"), or 0. */
static size_t route_skip_authority(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len &&
	       ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
		i++;
	if (i == 0 || len - i < 3 || memcmp(p + i, "://", 3) != 0)
		return 0;
	i += 3;
	while (i < len && p[i] != '/')
		i++;
	return i;
}

/* The `{` of a `{name}` in s[0..n), or n when there is none. */
static size_t param_open(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != '{')
		i++;
	if (i == n)
		return n;
	for (size_t j = i + 1; j < n; j++)
		if (s[j] == '}')
			return i;
	return n;
}

/* ---- the table ------------------------------------------------------------
 */

/* Count segments and parameters of one template; 0 when unusable. */
static int tpl_measure(const char *s, size_t n, struct route_tpl *t)
{
	size_t nseg = 1, nparam = 0, i = 0;
	if (n == 0 || s[0] != '/' || n > UINT32_MAX)
		return 0;
	for (i = 0; i < n; i++) /* a template is printable text */
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return 0;
	i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		if (param_open(s + i, j - i) != j - i)
			nparam++;
		if (j < n)
			nseg++;
		i = j + 1;
	}
	if (nseg > ROUTE_SEG_MAX)
		return 0;
	t->len = (uint32_t)n;
	t->nseg = (uint16_t)nseg;
	t->nparam = (uint16_t)nparam;
	return 1;
}

/* Template i of a line-based text: find the next template from *pos.
 * Returns 1 with [*start, *start + *n), 0 at the end, -1 on a bad line. */
static int text_next(const char *s, size_t len, size_t *pos, size_t *line,
		     size_t *start, size_t *n)
{
	while (*pos < len) {
		size_t a = *pos, e = a;
		while (e < len && s[e] != '\n')
			e++;
		*pos = e < len ? e + 1 : len;
		(*line)++;
		while (a < e && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
			a++;
		if (a == e || s[a] == '#')
			continue;
		while (a < e && s[a] != '/') { /* a method first: skip it */
			while (a < e && s[a] != ' ' && s[a] != '\t')
				a++;
			while (a < e && (s[a] == ' ' || s[a] == '\t'))
				a++;
		}
		size_t b = a;
		while (b < e && s[b] != ' ' && s[b] != '\t' && s[b] != '\r')
			b++;
		if (a == b)
			return -1;
		*start = a;
		*n = b - a;
		return 1;
	}
	return 0;
}

static int tpl_cmp(const void *a, const void *b)
{
	const struct route_tpl *x = a, *y = b;
	if (x->nparam != y->nparam)
		return x->nparam < y->nparam ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->off < y->off ? -1 : (x->off > y->off);
}

static struct pt_route_table *table_alloc(size_t n, size_t bytes)
{
	size_t head = sizeof(struct pt_route_table);
	struct pt_route_table *t;
	if (n > (SIZE_MAX - head - bytes) / sizeof(struct route_tpl))
		return NULL;
	t = malloc(head + n * sizeof(struct route_tpl) + bytes);
	if (!t)
		return NULL;
	t->n = 0;
	t->tpl = (struct route_tpl *)(t + 1);
	t->text = (char *)(t->tpl + n);
	return t;
}

/* Append template s[0..n) to t (room reserved by table_alloc). */
static int table_add(struct pt_route_table *t, size_t *used, const char *s,
		     size_t n)
{
	struct route_tpl tpl;
	if (!tpl_measure(s, n, &tpl))
		return 0;
	tpl.off = (uint32_t)*used;
	memcpy(t->text + *used, s, n);
	t->text[*used + n] = '\0';
	*used += n + 1;
	t->tpl[t->n++] = tpl;
	return 1;
}

static struct pt_route_table *parse_lines(const char *s, size_t len, char *err,
					  size_t errlen)
{
	size_t pos = 0, line = 0, a, n, count = 0, bytes = 0, used = 0;
	int r;
	struct route_tpl probe;

	while ((r = text_next(s, len, &pos, &line, &a, &n)) == 1) {
		if (!tpl_measure(s + a, n, &probe)) {
			route_err(err, errlen,
				  "not a template (/..., printable)", line);
			return NULL;
		}
		count++;
		bytes += n + 1;
	}
	if (r < 0) {
		route_err(err, errlen, "no template on the line", line);
		return NULL;
	}
	if (count == 0) {
		route_err(err, errlen, "no route templates", 0);
		return NULL;
	}
	struct pt_route_table *t = table_alloc(count, bytes);
	if (!t) {
		route_err(err, errlen, "out of memory", 0);
		return NULL;
	}
	pos = line = 0;
	while (text_next(s, len, &pos, &line, &a, &n) == 1)
		table_add(t, &used, s + a, n);
	qsort(t->tpl, t->n, sizeof(t->tpl[0]), tpl_cmp);
	return t;
}

static struct pt_route_table *parse_openapi(const char *s, size_t len,
					    char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(s, len);
	const cJSON *paths, *p;
	size_t count = 0, bytes = 0, used = 0;
	struct route_tpl probe;
	struct pt_route_table *t = NULL;

	if (!root) {
		route_err(err, errlen, "not valid JSON", 0);
		return NULL;
	}
	paths = cJSON_GetObjectItemCaseSensitive(root, "paths");
	if (!cJSON_IsObject(paths)) {
		route_err(err, errlen, "JSON has no \"paths\" object", 0);
		goto out;
	}
	cJSON_ArrayForEach(p, paths)
	{
		size_t n = p->string ? strlen(p->string) : 0;
		if (!tpl_measure(p->string, n, &probe)) {
			route_err(err, errlen,
				  "a key of \"paths\" is not a template", 0);
			goto out;
		}
		count++;
		bytes += n + 1;
	}
	if (count == 0) {
		route_err(err, errlen, "no route templates", 0);
		goto out;
	}
	t = table_alloc(count, bytes);
	if (!t) {
		route_err(err, errlen, "out of memory", 0);
		goto out;
	}
	cJSON_ArrayForEach(p, paths)
	{
		table_add(t, &used, p->string, strlen(p->string));
	}
	qsort(t->tpl, t->n, sizeof(t->tpl[0]), tpl_cmp);
out:
	cJSON_Delete(root);
	return t;
}

/* ---- matching -------------------------------------------------------------
 */

static int seg_match(const char *t, size_t tn, const char *p, size_t pn)
{
	size_t b = param_open(t, tn), e;
	if (b == tn)
		return tn == pn && memcmp(t, p, tn) == 0;
	e = b + 1;
	while (t[e] != '}')
		e++;
	size_t suf = tn - e - 1;
	if (pn < b + suf + 1)
		return 0;
	return memcmp(t, p, b) == 0 &&
	       memcmp(t + e + 1, p + pn - suf, suf) == 0;
}

static int tpl_match(const char *t, size_t tn, const char *p, size_t pn)
{
	size_t i = 0, j = 0;
	for (;;) {
		size_t ie = i, je = j;
		while (ie < tn && t[ie] != '/')
			ie++;
		while (je < pn && p[je] != '/')
			je++;
		if (!seg_match(t + i, ie - i, p + j, je - j))
			return 0;
		if (ie == tn || je == pn)
			return ie == tn && je == pn;
		i = ie + 1;
		j = je + 1;
	}
}

static const char *table_match(const struct pt_route_table *t, const char *p,
			       size_t pn, size_t *n)
{
	for (size_t k = 0; k < t->n; k++) {
		const struct route_tpl *tp = &t->tpl[k];
		if (tpl_match(t->text + tp->off, tp->len, p, pn)) {
			*n = tp->len;
			return t->text + tp->off;
		}
	}
	return NULL;
}

/* ---- public ---------------------------------------------------------------
 */

struct pt_route_table *pt_route_table_parse(const char *text, size_t len,
					    char *err, size_t errlen)
{
	size_t i = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!text) {
		text = "";
		len = 0;
	}
	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
			   text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i < len && text[i] == '{')
		return parse_openapi(text, len, err, errlen);
	return parse_lines(text, len, err, errlen);
}

struct pt_route_table *pt_route_table_load(const char *path, char *err,
					   size_t errlen)
{
	FILE *f = pt_sys.fopen(path, "rb");
	char *buf;
	size_t n;
	struct pt_route_table *t;

	if (!f) {
		route_err(err, errlen, strerror(errno), 0);
		return NULL;
	}
	buf = malloc(ROUTE_FILE_MAX + 1);
	if (!buf) {
		pt_sys.fclose(f);
		route_err(err, errlen, "out of memory", 0);
		return NULL;
	}
	n = fread(buf, 1, ROUTE_FILE_MAX + 1, f);
	if (ferror(f) || n > ROUTE_FILE_MAX) {
		route_err(err, errlen,
			  ferror(f) ? "read error" : "file too large", 0);
		pt_sys.fclose(f);
		free(buf);
		return NULL;
	}
	pt_sys.fclose(f);
	t = pt_route_table_parse(buf, n, err, errlen);
	free(buf);
	return t;
}

void pt_route_table_free(struct pt_route_table *t)
{
	free(t);
}

size_t pt_route_table_count(const struct pt_route_table *t)
{
	return t ? t->n : 0;
}

size_t pt_http_route(const char *path, size_t len,
		     const struct pt_route_table *t, char *out, size_t outcap)
{
	size_t cap, n = 0, i, plen;
	int prev_takes = 0;

	if (outcap == 0)
		return 0;
	if (!path) {
		path = "";
		len = 0;
	}
	cap = outcap - 1;
	plen = route_path_len(path, len);
	/* within plen: a `?` inside the authority ends the path there */
	i = route_skip_authority(path, plen);
	if (t) {
		size_t tn;
		const char *m = table_match(t, path + i, plen - i, &tn);
		if (m) {
			n = tn < cap ? tn : cap;
			memcpy(out, m, n);
			out[n] = '\0';
			return n;
		}
	}
	if (i == plen && i > 0) { /* "http://host": the root */
		if (cap > 0)
			out[n++] = '/';
		out[n] = '\0';
		return n;
	}
	while (i <= plen) {
		const char *slash = memchr(path + i, '/', plen - i);
		size_t j = slash ? (size_t)(slash - path) : plen, k;
		const char *s = path + i;
		size_t sn = j - i;
		int id = pt_segment_is_id(s, sn) || (prev_takes && sn > 0);
		if (id) {
			s = ROUTE_ID;
			sn = sizeof(ROUTE_ID) - 1;
		}
		prev_takes = !id && pt_segment_takes_id(path + i, j - i);
		k = sn < cap - n ? sn : cap - n;
		memcpy(out + n, s, k);
		n += k;
		if (j < plen && n < cap)
			out[n++] = '/';
		i = j + 1;
	}
	out[n] = '\0';
	return n;
}
