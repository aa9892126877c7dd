/*
 * commands.h -- one entry point per perftap subcommand (one file each).
 * Each takes argv with argv[0] = the subcommand's name and returns the
 * process exit status: 0 ok, 1 a check failed, 2 bad input or usage.
 */
#ifndef PERFTAP_COMMANDS_H
#define PERFTAP_COMMANDS_H

int cmd_events(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stacks(int argc, char **argv);
int cmd_history(int argc, char **argv);

#endif /* PERFTAP_COMMANDS_H */
