/*
 * cmd_stacks.c -- `perftap stacks`: the recorded call stacks in Brendan
 * Gregg's folded format, one line per distinct stack and operation,
 *
 *   <module> (app.py:40);main (app.py:31);fetch (repo.py:12);sql select ...
 * 1234
 *
 * root first, the operation as the leaf, weighted by time (ns, default)
 * or count, for flamegraph.pl, inferno or speedscope.  Python frames only
 * where there are some (the interpreter's native frames folded away);
 * --native adds the native frames below them.  The usual selectors
 * (--filter, --since, --until) choose the events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsites.h"
#include "cli.h"
#include "commands.h"
#include "dump_reader.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: perftap stacks [options] DUMP|DIR...\n\n"
		"The call stacks recorded with events (PERFTAP_STACKS), "
		"folded:\n\"frame;frame;...;operation weight\", root first, "
		"for flamegraph.pl,\ninferno or speedscope.\n\noptions:\n"
		"      --weight W       time (ns, default) or count\n"
		"      --native         native frames too (below Python's)\n");
	cli_common_usage(out);
}

static const char *op_label(uint32_t op, void *arg)
{
	static char buf[PT_TEXT_MAX + 32];
	const struct pt_model *m = arg;
	if (op >= m->nops)
		return "op";
	int k = m->ops[op].kind;
	snprintf(buf, sizeof(buf), "%s %s",
		 k < PT_KIND_COUNT ? pt_kind_name(k) : "op", m->ops[op].text);
	return buf;
}

static int emit(const struct pt_cli *c, const struct pt_callsites *cs)
{
	FILE *out = stdout;
	if (c->output && !(out = fopen(c->output, "w"))) {
		fprintf(stderr, "perftap: %s: cannot write\n", c->output);
		return 2;
	}
	for (size_t i = 0; i < cs->nfv; i++)
		fprintf(out, "%s %llu\n", cs->fv[i].line,
			(unsigned long long)(c->weight_count
						 ? cs->fv[i].count
						 : cs->fv[i].total_ns));
	int bad = ferror(out) != 0;
	if (out != stdout)
		bad |= fclose(out) != 0;
	if (bad)
		fprintf(stderr, "perftap: stacks: write error\n");
	return bad ? 2 : 0;
}

int cmd_stacks(int argc, char **argv)
{
	struct pt_cli c;
	struct pt_model m;
	struct pt_analysis a;
	int rc = cli_parse(&c, argc, argv, CLI_STACKS | CLI_NO_FORMAT, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	model_init(&m);
	m.callsites = malloc(sizeof(*m.callsites));
	char err[256];
	if (!m.callsites || callsites_init(m.callsites, c.callsite_skip, err,
					   sizeof(err)) < 0) {
		fprintf(stderr, "perftap: %s\n",
			m.callsites ? err : "stacks: out of memory");
		free(m.callsites);
		m.callsites = NULL;
		cli_free(&c);
		return 2;
	}
	callsites_fold_labels(m.callsites, op_label, &m);
	rc = cli_analyse(&c, &m, &a);
	if (rc == 0)
		rc = emit(&c, m.callsites);
	analysis_free(&a);
	model_free(&m);
	cli_free(&c);
	return rc;
}
