/*
 * config.c -- the shim's settings: PERFTAP_* environment variables, parsed
 * once by the constructor (malloc is allowed there, never in a hook).
 *
 * Settings (all optional):
 *
 *   PERFTAP_DIR          directory for dumps.  Created 0700 if missing; it
 *                        must be ours and not group/world writable.
 *                        Default /tmp/perftap-<uid> (`perftap record`
 *                        passes ./perftap-out, made absolute).
 *   PERFTAP_MAX_SIZE     size limit of one dump: bytes, or K/M/G suffix
 *                        (powers of 1024).  Default 256M.
 *   PERFTAP_MODE         wrap (default: keep the newest events, flight
 *                        recorder) or stop (keep the oldest).
 *   PERFTAP_CHUNK_SIZE   one thread's slab of the dump, K/M suffix, a
 *                        multiple of 4096, >= 4096.  Default 1M.
 *   PERFTAP_RAW          1: keep raw statement/key/path text instead of the
 *                        normalized (redacted) form.  Stamped in the dump.
 *   PERFTAP_RAW_MAX      bytes of raw text kept per event (default 1024,
 *                        at most 4096).
 *   PERFTAP_ROUTES       file of HTTP route templates (normalize.h).
 *   PERFTAP_MYSQL_PORTS  peer ports decoded as MySQL (default 3306)
 *   PERFTAP_REDIS_PORTS  peer ports decoded as Redis (default 6379)
 *   PERFTAP_HTTP_PORTS   peer ports decoded as HTTP client traffic
 *                        (default none).  Lists are comma or space
 *                        separated; an empty value empties the list.  Any
 *                        other connection (TCP or Unix socket) is decided
 *                        by its first bytes; accepted connections are
 *                        decoded as HTTP servers when their first bytes
 *                        are an HTTP request.
 *   PERFTAP_STACKS       off | slow (default) | all: record the calling
 *                        thread's stack (Python and native frames) with
 *                        events slower than PERFTAP_STACK_MIN, or with all.
 *   PERFTAP_STACK_MIN    slow threshold: a duration, ns/us/ms/s suffix
 *                        (default 1ms; a bare number is nanoseconds).
 *   PERFTAP_STACK_SAMPLE N: also a stack for 1 in N of the faster events
 *                        (default 0: none).
 *   PERFTAP_DISABLE      1: do nothing at all.
 *   PERFTAP_QUIET        1: never write to stderr.
 *
 * A bad value is reported once ("perftap: PERFTAP_X: why; tracing off")
 * and the program runs untraced.  In setuid/setgid programs (AT_SECURE)
 * the shim does nothing: secure_getenv() hides the settings and a default
 * directory chosen for another user would be wrong.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return s;
}

/* Strict: digits only, no sign, overflow checked. */
static int parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int pt_config_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v, mul = 1;

	if (!s || parse_u64(skip_space(s), &end, &v) < 0)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1024;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1024ull * 1024 * 1024;
		end++;
		break;
	default:
		break;
	}
	if ((*end == 'b' || *end == 'B') && mul > 1)
		end++; /* "64MB" */
	if (*skip_space(end) != '\0' || v == 0 || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int pt_config_parse_ports(const char *s, struct pt_port_list *out)
{
	const char *p = s;

	out->n = 0;
	for (;;) {
		uint64_t v;
		const char *end;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (parse_u64(p, &end, &v) < 0 || v == 0 || v > 65535)
			return -EINVAL;
		if (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')
			return -EINVAL;
		if (out->n == PT_CONFIG_PORTS_MAX)
			return -EINVAL;
		out->port[out->n++] = (uint16_t)v;
		p = end;
	}
}

int pt_port_list_has(const struct pt_port_list *l, uint16_t port)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->port[i] == port)
			return 1;
	return 0;
}

/* "1"/"0" (also yes/no, true/false, on/off); unset = 0. */
static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off", ""};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	return -EINVAL;
}

static int fail(char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "%s: %s", name, why);
	return -EINVAL;
}

int pt_config_parse_interval(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v, scale;

	s = skip_space(s);
	if (parse_u64(s, &end, &v) < 0)
		return -EINVAL;
	if (!*end || !strcmp(end, "s"))
		scale = 1000000000ull;
	else if (!strcmp(end, "ms"))
		scale = 1000000ull;
	else
		return -EINVAL;
	/* An hour at most: a longer interval is a typo, not a sampling rate. */
	if (v > (scale == 1000000ull ? 3600000ull : 3600ull) ||
	    (v && v * scale < PT_CONFIG_SAMPLE_MIN_NS))
		return -EINVAL;
	*out = v * scale;
	return 0;
}

/* "on"/"off" (or 1/0). */
static int parse_onoff(const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int load_flags(struct pt_config *cfg, pt_getenv_fn env, char *err,
		      size_t errlen)
{
	const char *v;

	if ((v = env("PERFTAP_DISABLE")) && parse_bool(v, &cfg->disabled) < 0)
		return fail(err, errlen, "PERFTAP_DISABLE", "expected 0 or 1");
	if ((v = env("PERFTAP_QUIET")) && parse_bool(v, &cfg->quiet) < 0)
		return fail(err, errlen, "PERFTAP_QUIET", "expected 0 or 1");
	if ((v = env("PERFTAP_RAW")) && parse_bool(v, &cfg->raw) < 0)
		return fail(err, errlen, "PERFTAP_RAW", "expected 0 or 1");
	if ((v = env("PERFTAP_REQUESTS")) && parse_onoff(v, &cfg->requests) < 0)
		return fail(err, errlen, "PERFTAP_REQUESTS",
			    "expected on or off");
	return 0;
}

/* "1ms", "250us", "2s", "1500" (ns) -> nanoseconds.  Returns 0 or -1. */
int pt_config_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		const char *sfx;
		uint64_t mul;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000ull},
		     {"", 1}};
	const char *end;
	uint64_t v;

	if (parse_u64(s, &end, &v) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(skip_space(end), units[i].sfx))
			continue;
		if (v > UINT64_MAX / units[i].mul)
			return -1;
		*out = v * units[i].mul;
		return 0;
	}
	return -1;
}

static int load_stacks(struct pt_config *cfg, pt_getenv_fn env, char *err,
		       size_t errlen)
{
	const char *v, *end;
	uint64_t n;

	if ((v = env("PERFTAP_STACKS"))) {
		if (!strcmp(v, "off"))
			cfg->stacks = PT_STACKS_OFF;
		else if (!strcmp(v, "slow"))
			cfg->stacks = PT_STACKS_SLOW;
		else if (!strcmp(v, "all"))
			cfg->stacks = PT_STACKS_ALL;
		else
			return fail(err, errlen, "PERFTAP_STACKS",
				    "expected off, slow or all");
	}
	if ((v = env("PERFTAP_STACK_MIN")) &&
	    pt_config_parse_duration(v, &cfg->stack_min_ns) < 0)
		return fail(err, errlen, "PERFTAP_STACK_MIN",
			    "expected a duration (e.g. 1ms, 500us)");
	if ((v = env("PERFTAP_STACK_SAMPLE"))) {
		if (parse_u64(v, &end, &n) < 0 || *skip_space(end) ||
		    n > UINT32_MAX)
			return fail(err, errlen, "PERFTAP_STACK_SAMPLE",
				    "expected a count (0 = none)");
		cfg->stack_sample = (uint32_t)n;
	}
	return 0;
}

static int load_sizes(struct pt_config *cfg, pt_getenv_fn env, char *err,
		      size_t errlen)
{
	const char *v;
	uint64_t n;

	if ((v = env("PERFTAP_MAX_SIZE"))) {
		if (pt_config_parse_size(v, &n) < 0)
			return fail(err, errlen, "PERFTAP_MAX_SIZE",
				    "expected a size such as 256M");
		cfg->max_size = n;
	}
	if ((v = env("PERFTAP_CHUNK_SIZE"))) {
		if (pt_config_parse_size(v, &n) < 0 || n % 4096 ||
		    n < PT_CHUNK_MIN_SIZE || n > (1u << 30))
			return fail(err, errlen, "PERFTAP_CHUNK_SIZE",
				    "expected a multiple of 4096 such as 1M");
		cfg->chunk_size = (uint32_t)n;
	}
	/* The file holds a header and at least one chunk. */
	if (cfg->max_size < (uint64_t)PT_HEADER_SIZE_DEFAULT + cfg->chunk_size)
		return fail(err, errlen, "PERFTAP_MAX_SIZE",
			    "smaller than the header plus one chunk");
	if ((v = env("PERFTAP_RAW_MAX"))) {
		if (pt_config_parse_size(v, &n) < 0 || n > PT_TEXT_MAX)
			return fail(err, errlen, "PERFTAP_RAW_MAX",
				    "expected 1 to 4096");
		cfg->raw_max = (uint32_t)n;
	}
	if ((v = env("PERFTAP_SAMPLE_INTERVAL")) &&
	    pt_config_parse_interval(v, &cfg->sample_interval_ns) < 0)
		return fail(err, errlen, "PERFTAP_SAMPLE_INTERVAL",
			    "expected 0 (off) or 10ms to 3600s, such as 1s");
	if ((v = env("PERFTAP_MODE"))) {
		if (!strcmp(v, "wrap"))
			cfg->mode = PT_MODE_WRAP;
		else if (!strcmp(v, "stop"))
			cfg->mode = PT_MODE_STOP;
		else
			return fail(err, errlen, "PERFTAP_MODE",
				    "expected wrap or stop");
	}
	return 0;
}

static int load_paths(struct pt_config *cfg, pt_getenv_fn env, unsigned uid,
		      char *err, size_t errlen)
{
	const char *v;

	if ((v = env("PERFTAP_DIR")) && *v) {
		if (strlen(v) >= sizeof(cfg->dir) - 256)
			return fail(err, errlen, "PERFTAP_DIR",
				    "path too long");
		strcpy(cfg->dir, v);
	} else {
		snprintf(cfg->dir, sizeof(cfg->dir), "/tmp/perftap-%u", uid);
	}
	if ((v = env("PERFTAP_ROUTES")) && *v) {
		if (strlen(v) >= sizeof(cfg->routes))
			return fail(err, errlen, "PERFTAP_ROUTES",
				    "path too long");
		strcpy(cfg->routes, v);
	}
	return 0;
}

static int load_ports(struct pt_config *cfg, pt_getenv_fn env, char *err,
		      size_t errlen)
{
	static const char *const names[] = {
	    "PERFTAP_MYSQL_PORTS", "PERFTAP_REDIS_PORTS", "PERFTAP_HTTP_PORTS"};
	struct pt_port_list *lists[] = {&cfg->mysql_ports, &cfg->redis_ports,
					&cfg->http_ports};

	for (int i = 0; i < 3; i++) {
		const char *v = env(names[i]);
		if (v && pt_config_parse_ports(v, lists[i]) < 0)
			return fail(err, errlen, names[i],
				    "expected ports such as 3306,3307");
	}
	return 0;
}

static void append_ports(char *buf, size_t cap, size_t *len, const char *name,
			 const struct pt_port_list *l)
{
	int n = snprintf(buf + *len, cap - *len, "%s=", name);
	if (n < 0 || (size_t)n >= cap - *len)
		return;
	*len += (size_t)n;
	for (uint32_t i = 0; i < l->n; i++) {
		n = snprintf(buf + *len, cap - *len, "%s%u", i ? "," : "",
			     l->port[i]);
		if (n < 0 || (size_t)n >= cap - *len)
			return;
		*len += (size_t)n;
	}
	if (*len + 1 < cap) {
		buf[(*len)++] = '\n';
		buf[*len] = '\0';
	}
}

/* The effective settings, as the dump header records them. */
static void format_settings(struct pt_config *cfg)
{
	char *b = cfg->settings;
	size_t cap = sizeof(cfg->settings), len;
	int n = snprintf(
	    b, cap,
	    "PERFTAP_DIR=%s\nPERFTAP_MAX_SIZE=%llu\n"
	    "PERFTAP_CHUNK_SIZE=%u\nPERFTAP_MODE=%s\n"
	    "PERFTAP_RAW=%d\nPERFTAP_RAW_MAX=%u\n"
	    "PERFTAP_ROUTES=%s\nPERFTAP_REQUESTS=%s\n"
	    "PERFTAP_STACKS=%s\nPERFTAP_STACK_MIN=%lluns\n"
	    "PERFTAP_STACK_SAMPLE=%u\n",
	    cfg->dir, (unsigned long long)cfg->max_size, cfg->chunk_size,
	    cfg->mode == PT_MODE_STOP ? "stop" : "wrap", cfg->raw, cfg->raw_max,
	    cfg->routes, cfg->requests ? "on" : "off",
	    cfg->stacks == PT_STACKS_OFF   ? "off"
	    : cfg->stacks == PT_STACKS_ALL ? "all"
					   : "slow",
	    (unsigned long long)cfg->stack_min_ns, cfg->stack_sample);
	len = n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
	append_ports(b, cap, &len, "PERFTAP_MYSQL_PORTS", &cfg->mysql_ports);
	append_ports(b, cap, &len, "PERFTAP_REDIS_PORTS", &cfg->redis_ports);
	append_ports(b, cap, &len, "PERFTAP_HTTP_PORTS", &cfg->http_ports);
	n = snprintf(b + len, cap - len, "PERFTAP_SAMPLE_INTERVAL=%llums\n",
		     (unsigned long long)(cfg->sample_interval_ns / 1000000));
	if (n > 0 && (size_t)n < cap - len)
		len += (size_t)n;
}

int pt_config_load(struct pt_config *cfg, pt_getenv_fn env, unsigned uid,
		   char *err, size_t errlen)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_size = PT_MAX_SIZE_DEFAULT;
	cfg->chunk_size = PT_CHUNK_SIZE_DEFAULT;
	cfg->mode = PT_MODE_WRAP;
	cfg->raw_max = PT_CONFIG_RAW_MAX_DEFAULT;
	cfg->requests = 1;
	cfg->sample_interval_ns = PT_CONFIG_SAMPLE_DEFAULT_NS;
	cfg->stacks = PT_STACKS_SLOW;
	cfg->stack_min_ns = PT_CONFIG_STACK_MIN_DEFAULT;
	cfg->mysql_ports.port[cfg->mysql_ports.n++] = 3306;
	cfg->redis_ports.port[cfg->redis_ports.n++] = 6379;
	if (err && errlen)
		err[0] = '\0';

	if ((rc = load_flags(cfg, env, err, errlen)) < 0 || cfg->disabled)
		return rc;
	if ((rc = load_sizes(cfg, env, err, errlen)) < 0 ||
	    (rc = load_paths(cfg, env, uid, err, errlen)) < 0 ||
	    (rc = load_ports(cfg, env, err, errlen)) < 0 ||
	    (rc = load_stacks(cfg, env, err, errlen)) < 0)
		return rc;
	format_settings(cfg);
	return 0;
}
