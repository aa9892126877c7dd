/*
 * test_config.c -- PERFTAP_* parsing: defaults, sizes, ports, bad values.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* A fake environment: NAME=value pairs. */
static const char *const *fake;

static const char *fake_env(const char *name)
{
	for (size_t i = 0; fake && fake[i]; i += 2)
		if (!strcmp(fake[i], name))
			return fake[i + 1];
	return NULL;
}

static int load(const char *const *env, struct pt_config *cfg, char *err)
{
	fake = env;
	return pt_config_load(cfg, fake_env, 1000, err, 256);
}

Test(config, defaults_without_any_variable)
{
	struct pt_config cfg;
	char err[256];
	cr_assert_eq(load(NULL, &cfg, err), 0);
	cr_assert_str_eq(cfg.dir, "/tmp/perftap-1000");
	cr_assert_eq(cfg.max_size, PT_MAX_SIZE_DEFAULT);
	cr_assert_eq(cfg.chunk_size, PT_CHUNK_SIZE_DEFAULT);
	cr_assert_eq(cfg.mode, PT_MODE_WRAP);
	cr_assert_eq(cfg.raw, 0);
	cr_assert_eq(cfg.disabled, 0);
	cr_assert(pt_port_list_has(&cfg.mysql_ports, 3306));
	cr_assert(pt_port_list_has(&cfg.redis_ports, 6379));
	cr_assert_eq(cfg.http_ports.n, 0);
	cr_assert_str_eq(cfg.routes, "");
	cr_assert_not_null(strstr(cfg.settings, "PERFTAP_MODE=wrap\n"));
}

Test(config, every_setting_is_read)
{
	static const char *const env[] = {"PERFTAP_DIR",
					  "/var/tmp/x",
					  "PERFTAP_MAX_SIZE",
					  "64M",
					  "PERFTAP_MODE",
					  "stop",
					  "PERFTAP_CHUNK_SIZE",
					  "256K",
					  "PERFTAP_RAW",
					  "1",
					  "PERFTAP_RAW_MAX",
					  "200",
					  "PERFTAP_ROUTES",
					  "/etc/routes.txt",
					  "PERFTAP_MYSQL_PORTS",
					  "13306, 3307",
					  "PERFTAP_REDIS_PORTS",
					  "",
					  "PERFTAP_HTTP_PORTS",
					  "8000,8001",
					  "PERFTAP_QUIET",
					  "1",
					  NULL};
	struct pt_config cfg;
	char err[256];
	cr_assert_eq(load(env, &cfg, err), 0, "%s", err);
	cr_assert_str_eq(cfg.dir, "/var/tmp/x");
	cr_assert_eq(cfg.max_size, 64ull << 20);
	cr_assert_eq(cfg.mode, PT_MODE_STOP);
	cr_assert_eq(cfg.chunk_size, 256u << 10);
	cr_assert_eq(cfg.raw, 1);
	cr_assert_eq(cfg.raw_max, 200);
	cr_assert_str_eq(cfg.routes, "/etc/routes.txt");
	cr_assert_eq(cfg.mysql_ports.n, 2);
	cr_assert(pt_port_list_has(&cfg.mysql_ports, 13306));
	cr_assert(pt_port_list_has(&cfg.mysql_ports, 3307));
	cr_assert(!pt_port_list_has(&cfg.mysql_ports, 3306));
	cr_assert_eq(cfg.redis_ports.n, 0, "empty value empties the list");
	cr_assert(pt_port_list_has(&cfg.http_ports, 8001));
	cr_assert_eq(cfg.quiet, 1);
	cr_assert_not_null(
	    strstr(cfg.settings, "PERFTAP_HTTP_PORTS=8000,8001"));
}

Test(config, disable_short_circuits_even_bad_values)
{
	static const char *const env[] = {"PERFTAP_DISABLE", "1",
					  "PERFTAP_MAX_SIZE", "lots", NULL};
	struct pt_config cfg;
	char err[256];
	cr_assert_eq(load(env, &cfg, err), 0);
	cr_assert_eq(cfg.disabled, 1);
}

Test(config, bad_values_name_the_variable)
{
	static const char *const cases[][2] = {
	    {"PERFTAP_MAX_SIZE", "12X"},      {"PERFTAP_MAX_SIZE", "-1"},
	    {"PERFTAP_MAX_SIZE", "0"},	      {"PERFTAP_MAX_SIZE", "4K"},
	    {"PERFTAP_MODE", "ring"},	      {"PERFTAP_CHUNK_SIZE", "1000"},
	    {"PERFTAP_RAW", "maybe"},	      {"PERFTAP_RAW_MAX", "5000"},
	    {"PERFTAP_MYSQL_PORTS", "70000"}, {"PERFTAP_REDIS_PORTS", "6379x"},
	    {"PERFTAP_HTTP_PORTS", "0"},      {"PERFTAP_DISABLE", "2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = {cases[i][0], cases[i][1], NULL};
		struct pt_config cfg;
		char err[256];
		cr_assert_lt(load(env, &cfg, err), 0, "%s=%s accepted",
			     cases[i][0], cases[i][1]);
		cr_assert_not_null(strstr(err, cases[i][0]), "%s", err);
	}
}

Test(config_size, suffixes_and_limits)
{
	uint64_t v;
	cr_assert_eq(pt_config_parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(pt_config_parse_size("512k", &v), 0);
	cr_assert_eq(v, 512u << 10);
	cr_assert_eq(pt_config_parse_size("64MB", &v), 0);
	cr_assert_eq(v, 64u << 20);
	cr_assert_eq(pt_config_parse_size("2G", &v), 0);
	cr_assert_eq(v, 2ull << 30);
	cr_assert_lt(pt_config_parse_size("", &v), 0);
	cr_assert_lt(pt_config_parse_size("M", &v), 0);
	cr_assert_lt(pt_config_parse_size("1.5M", &v), 0);
	cr_assert_lt(pt_config_parse_size("99999999999999999999", &v), 0);
	cr_assert_lt(pt_config_parse_size("17179869184G", &v), 0);
}

Test(config_ports, lists_and_errors)
{
	struct pt_port_list l;
	cr_assert_eq(pt_config_parse_ports("1,2 3,,65535", &l), 0);
	cr_assert_eq(l.n, 4);
	cr_assert_eq(l.port[3], 65535);
	cr_assert_eq(pt_config_parse_ports("  ", &l), 0);
	cr_assert_eq(l.n, 0);
	cr_assert_lt(pt_config_parse_ports("65536", &l), 0);
	cr_assert_lt(pt_config_parse_ports("80;81", &l), 0);
	char many[512] = "";
	for (int i = 1; i <= PT_CONFIG_PORTS_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%d,", i);
	cr_assert_lt(pt_config_parse_ports(many, &l), 0);
}

Test(config, stacks_default_slow_at_one_millisecond)
{
	struct pt_config cfg;
	char err[256];
	cr_assert_eq(load(NULL, &cfg, err), 0);
	cr_assert_eq(cfg.stacks, PT_STACKS_SLOW);
	cr_assert_eq(cfg.stack_min_ns, 1000000u);
	cr_assert_eq(cfg.stack_sample, 0);
	cr_assert_not_null(strstr(cfg.settings, "PERFTAP_STACKS=slow\n"));
}

Test(config, stacks_settings_are_read)
{
	static const char *const env[] = {"PERFTAP_STACKS",
					  "all",
					  "PERFTAP_STACK_MIN",
					  "250us",
					  "PERFTAP_STACK_SAMPLE",
					  "100",
					  NULL};
	struct pt_config cfg;
	char err[256];
	cr_assert_eq(load(env, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg.stacks, PT_STACKS_ALL);
	cr_assert_eq(cfg.stack_min_ns, 250000u);
	cr_assert_eq(cfg.stack_sample, 100);
	cr_assert_not_null(
	    strstr(cfg.settings, "PERFTAP_STACK_MIN=250000ns\n"));
}

Test(config, bad_stack_settings_say_which)
{
	static const char *const bad[][2] = {
	    {"PERFTAP_STACKS", "some"},
	    {"PERFTAP_STACK_MIN", "1 hour"},
	    {"PERFTAP_STACK_MIN", "-1ms"},
	    {"PERFTAP_STACK_SAMPLE", "x"},
	    {"PERFTAP_STACK_SAMPLE", "99999999999"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = {bad[i][0], bad[i][1], NULL};
		struct pt_config cfg;
		char err[256];
		cr_assert_eq(load(env, &cfg, err), -EINVAL, "%s", bad[i][1]);
		cr_assert_not_null(strstr(err, bad[i][0]), "%s", err);
	}
}

Test(config, durations_parse_with_units)
{
	uint64_t ns;
	cr_assert_eq(pt_config_parse_duration("1500", &ns), 0);
	cr_assert_eq(ns, 1500);
	cr_assert_eq(pt_config_parse_duration("2s", &ns), 0);
	cr_assert_eq(ns, 2000000000ull);
	cr_assert_eq(pt_config_parse_duration("7ns", &ns), 0);
	cr_assert_eq(ns, 7);
	cr_assert_eq(pt_config_parse_duration("18446744073709551615s", &ns),
		     -1);
	cr_assert_eq(pt_config_parse_duration("1m", &ns), -1);
}
