/*
 * cmd_record.c -- PLACEHOLDER for `perftap record`, being written with the
 * shim; fails clearly until then.
 */
#include <stdio.h>

#include "commands.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "perftap: record: not available in this build\n");
	return 2;
}
