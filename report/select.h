/*
 * select.h -- selectors: the names thresholds, filters and baselines use
 * for a set of operations.
 *
 *   http METHOD ROUTE [cached|uncached]  served requests "http GET /fir/{id}";
 *                              cached: every cache read of the request hit,
 *                              uncached: one missed (requests.h)
 *   http_out METHOD HOST/ROUTE outbound requests     "http_out POST *:8001/asr"
 *   sql FINGERPRINT            one SQL fingerprint   "sql select * from t where
 * id = ?" sql:CLASS [FINGERPRINT]    an SQL class          "sql:point_select"
 *   redis CMD PATTERN [hit|miss]                     "redis GET fir:record:*
 * hit" cache PATTERN              cache reads by key pattern (hit_rate)
 *   get_or_fetch PATTERN [hit|miss]  cache-aside sequences
 *   process NAME|PID           processes' resources (cpu, cpu_max, rss),
 *                              by exe basename glob or pid; `*` for all
 *   concurrency:N              requests that started with N in flight
 *                              (levels 1, 5, 10, 15, ...; `*` for all)
 *
 * The text after the kind is a glob (fnmatch, `*` crosses `/`), except
 * that when it equals some operation's text exactly, only the exact
 * matches are taken (a fingerprint's own `*` and `?` are not wildcards
 * then).  Route placeholders match whatever their name: `{id}`,
 * `{fir_number}` and `{}` are the same.  An empty text means `*`.
 */
#ifndef PERFTAP_SELECT_H
#define PERFTAP_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum pt_sel_kind {
	PT_SEL_HTTP = 0,
	PT_SEL_HTTP_OUT,
	PT_SEL_SQL,
	PT_SEL_SQL_CLASS,
	PT_SEL_REDIS,
	PT_SEL_CACHE,
	PT_SEL_GET_OR_FETCH,
	PT_SEL_CONCURRENCY,
	PT_SEL_SQLITE,
	PT_SEL_PROCESS, /* resources of processes: "process NAME|PID" */
};

struct pt_selector {
	enum pt_sel_kind kind;
	int sql_class; /* PT_SEL_SQL_CLASS */
	int split;     /* enum pt_split, or -1 for every sample */
	int level;     /* PT_SEL_CONCURRENCY: level, 0 = all */
	char pattern[PT_TEXT_MAX + 1]; /* placeholders already folded */
};

/* Parse s.  Returns 0, or -1 with a one-line reason in err. */
int selector_parse(const char *s, struct pt_selector *out, char *err,
		   size_t errlen);

/* Does op belong to the selector?  exact: compare the text, not a glob. */
int selector_match_op(const struct pt_selector *sel, const struct pt_op *op,
		      int exact);

/* Does a process (pid, exe basename or "") belong to a process selector? */
int selector_match_process(const struct pt_selector *sel, int32_t pid,
			   const char *name);

/* Copy text with every `{...}` replaced by `{}`. */
void selector_fold_placeholders(const char *text, char *out, size_t outcap);

#endif /* PERFTAP_SELECT_H */
