/*
 * fmt_junit.c -- JUnit XML for CI: one test case per threshold and per
 * regression check; a failure carries the measured value and the limit.
 */
#include <math.h>

#include "baseline.h"
#include "format.h"
#include "thresholds.h"

static void xml(FILE *out, const char *s)
{
	fmt_xml_escape(out, s, FMT_XML_APOS);
}

static void threshold_case(FILE *out, const struct pt_threshold_result *r)
{
	char v[32], lim[32];
	fputs("    <testcase classname=\"perftap.thresholds\" name=\"", out);
	xml(out, r->th->selector);
	fputs(": ", out);
	xml(out, r->th->expr);
	fputs("\">\n", out);
	fmt_threshold_value(r, r->th->e.limit, lim, sizeof(lim));
	if (r->status == PT_TH_FAIL) {
		fmt_threshold_value(r, r->measured, v, sizeof(v));
		fprintf(out,
			"      <failure type=\"threshold\" message=\"measured "
			"%s, limit ",
			v);
		xml(out, r->th->expr);
		fprintf(out, "\">measured %s; limit %s</failure>\n", v, lim);
	} else if (r->status != PT_TH_PASS) {
		fprintf(out, "      <failure type=\"%s\" message=\"%s\"/>\n",
			threshold_status_name(r->status),
			r->status == PT_TH_NO_MATCH
			    ? "selector matches no operation"
			    : "no samples to measure");
	} else {
		fmt_threshold_value(r, r->measured, v, sizeof(v));
		fprintf(
		    out,
		    "      <system-out>measured %s; limit %s</system-out>\n", v,
		    lim);
	}
	fputs("    </testcase>\n", out);
}

static void comparison_case(FILE *out, const struct pt_comparison *k)
{
	fputs("    <testcase classname=\"perftap.regressions\" name=\"", out);
	xml(out, k->key);
	fprintf(out, ": %s\">\n", baseline_agg_name(k->agg));
	if (k->verdict == PT_V_REGRESSION)
		fprintf(out,
			"      <failure type=\"regression\" message=\"%s "
			"%.3fms vs baseline %.3fms (%+.1f%%, limit %.1f%%, "
			"p=%.3g)\"/>\n",
			baseline_agg_name(k->agg), k->cur, k->base,
			k->change * 100, k->limit * 100, k->p_value);
	else if (k->verdict >= PT_V_INSUFFICIENT)
		fprintf(out, "      <skipped message=\"%s\"/>\n",
			verdict_name(k->verdict));
	else
		fprintf(out,
			"      <system-out>%s: %.3fms vs %.3fms "
			"(%+.1f%%)</system-out>\n",
			verdict_name(k->verdict), k->cur, k->base,
			isfinite(k->change) ? k->change * 100 : 0.0);
	fputs("    </testcase>\n", out);
}

int fmt_junit_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		   FILE *out)
{
	(void)o;
	size_t skipped = 0;
	for (size_t i = 0; i < a->ncomparisons; i++)
		skipped += a->comparisons[i].verdict >= PT_V_INSUFFICIENT;
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"perftap\" tests=\"%zu\" "
		"failures=\"%zu\">\n",
		a->nthresholds + a->ncomparisons,
		a->thresholds_failed + a->regressions);
	fprintf(out,
		"  <testsuite name=\"perftap.thresholds\" tests=\"%zu\" "
		"failures=\"%zu\">\n",
		a->nthresholds, a->thresholds_failed);
	for (size_t i = 0; i < a->nthresholds; i++)
		threshold_case(out, &a->thresholds[i]);
	fputs("  </testsuite>\n", out);
	fprintf(out,
		"  <testsuite name=\"perftap.regressions\" tests=\"%zu\" "
		"failures=\"%zu\" skipped=\"%zu\">\n",
		a->ncomparisons, a->regressions, skipped);
	for (size_t i = 0; i < a->ncomparisons; i++)
		comparison_case(out, &a->comparisons[i]);
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -1 : 0;
}
