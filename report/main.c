/*
 * main.c -- the perftap command: dispatch to one subcommand per file.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"record", cmd_record, "run a program with the shim preloaded"},
    {"events", cmd_events, "print every recorded event as JSON lines"},
    {"report", cmd_report, "statistics per operation from dumps"},
    {"check", cmd_check, "evaluate thresholds; exit 1 if one fails"},
    {"baseline", cmd_baseline, "baseline save: keep a run for compare"},
    {"compare", cmd_compare, "regressions against a saved baseline"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: perftap COMMAND [options] ...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\nRun 'perftap COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "perftap: unknown command '%s' (see perftap --help)\n",
		argv[1]);
	return 2;
}
