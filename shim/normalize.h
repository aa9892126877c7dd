/*
 * normalize.h -- turn text that may hold personal data into text that does
 * not: SQL fingerprints, Redis key patterns, HTTP route templates.
 *
 * normalize_sql.c (fingerprints), normalize.c (id-like segments, keys),
 * normalize_route.c (routes and route tables); each file's header gives
 * its rules in full.
 *
 * Pure functions, no allocation, no globals (the route table is built once
 * at start-up, outside any hook).  Each writes at most outcap bytes
 * including a terminating NUL and returns the length written (NUL
 * excluded); input may be cut short (a truncated statement) and must still
 * normalize without reading past len.
 */
#ifndef PERFTAP_NORMALIZE_H
#define PERFTAP_NORMALIZE_H

#include <stddef.h>

/* pt-query-digest style: comments stripped, literals (strings, numbers,
 * hex, NULL, TRUE/FALSE) to ?, IN (...) and VALUES (...),(...) lists folded,
 * whitespace collapsed, lower-cased keywords and identifiers, numbered
 * table suffixes folded (t_2024 -> t_?). */
size_t pt_sql_fingerprint(const char *sql, size_t len, char *out,
			  size_t outcap);

/* fir:record:FIR-1a2b-2026 -> fir:record:*; id-like segments (numbers,
 * UUIDs, hex, hashes, long tokens, FIR-style ids) become *. */
size_t pt_redis_key_pattern(const char *key, size_t len, char *out,
			    size_t outcap);

/* Route templates, e.g. from PERFTAP_ROUTES (one template per line, or an
 * OpenAPI JSON document's "paths").  A path matching a template is
 * reported as the template. */
struct pt_route_table;

struct pt_route_table *pt_route_table_load(const char *path, char *err,
					   size_t errlen);
struct pt_route_table *pt_route_table_parse(const char *text, size_t len,
					    char *err, size_t errlen);
void pt_route_table_free(struct pt_route_table *t);

/* Number of templates in t (0 for NULL). */
size_t pt_route_table_count(const struct pt_route_table *t);

/* /fir/FIR-1a2b3c4d-20260115093000/content?x=1 -> /fir/{id}/content;
 * query string and fragment dropped; a template from t wins when one
 * matches. */
size_t pt_http_route(const char *path, size_t len,
		     const struct pt_route_table *t, char *out, size_t outcap);

/* 1 when s[0..n) looks like a value rather than a namespace word: numbers,
 * UUIDs, hashes, long tokens, FIR numbers, emails, percent-encoded or
 * non-ASCII text, word_42 (rules in normalize.c).  Shared by keys and
 * routes, and usable by the report to re-normalize. */
int pt_segment_is_id(const char *s, size_t n);

/* 1 when s[0..n) is a word whose next segment is an id whatever it looks
 * like (user, session, record, ...): fir:user:alice -> fir:user:*. */
int pt_segment_takes_id(const char *s, size_t n);

#endif /* PERFTAP_NORMALIZE_H */
