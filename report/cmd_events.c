/*
 * cmd_events.c -- PLACEHOLDER for `perftap events`, being written with the
 * dump reader; fails clearly until then.
 */
#include <stdio.h>

#include "commands.h"

int cmd_events(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "perftap: events: not available in this build\n");
	return 2;
}
