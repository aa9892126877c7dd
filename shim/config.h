/*
 * config.h -- the shim's settings, read once from PERFTAP_* variables.
 *
 * Parsing is pure (the environment is passed in as a lookup function) so
 * that unit tests and `perftap record` use the same rules as the shim.
 */
#ifndef PERFTAP_CONFIG_H
#define PERFTAP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "perftap/dump_format.h"

#define PT_CONFIG_PATH_MAX 4096
/* Ports per protocol list: a handful in practice; 32 is ample. */
#define PT_CONFIG_PORTS_MAX 32
/* Default raw text kept with PERFTAP_RAW=1 (bytes, <= PT_TEXT_MAX). */
#define PT_CONFIG_RAW_MAX_DEFAULT 1024u
/* Resource samples (PERFTAP_SAMPLE_INTERVAL): every second by default;
 * under 10 ms the sampler would cost more than it tells. */
#define PT_CONFIG_SAMPLE_DEFAULT_NS 1000000000ull
#define PT_CONFIG_SAMPLE_MIN_NS	    10000000ull
/* Settings text stored in the dump header. */
#define PT_CONFIG_SETTINGS_MAX 2048

/* PERFTAP_STACK_MIN default: 1 ms. */
#define PT_CONFIG_STACK_MIN_DEFAULT 1000000ull

enum pt_stacks_mode {
	PT_STACKS_OFF = 0,
	PT_STACKS_SLOW = 1, /* default: events >= stack_min_ns (+ samples) */
	PT_STACKS_ALL = 2,
};

struct pt_port_list {
	uint16_t port[PT_CONFIG_PORTS_MAX];
	uint32_t n;
};

struct pt_config {
	int disabled; /* PERFTAP_DISABLE=1 */
	int quiet;    /* PERFTAP_QUIET=1: never print */
	char dir[PT_CONFIG_PATH_MAX];
	uint64_t max_size;
	uint32_t chunk_size;
	enum pt_limit_mode mode;
	int raw;
	int requests; /* PERFTAP_REQUESTS=on: attribute ops to requests */
	uint32_t raw_max;
	char routes[PT_CONFIG_PATH_MAX]; /* "" = none */
	struct pt_port_list mysql_ports, redis_ports, http_ports;
	uint64_t sample_interval_ns; /* PERFTAP_SAMPLE_INTERVAL; 0 = off */
	enum pt_stacks_mode stacks; /* PERFTAP_STACKS */
	uint64_t stack_min_ns;	    /* PERFTAP_STACK_MIN */
	uint32_t stack_sample;	    /* PERFTAP_STACK_SAMPLE: 1 in N, 0 = none */
	char settings[PT_CONFIG_SETTINGS_MAX]; /* "KEY=value\n" for the dump */
};

typedef const char *(*pt_getenv_fn)(const char *name);

/* Fill cfg from the variables env() returns (NULL = unset), defaults for
 * the rest.  uid names the default directory.  Returns 0, or -EINVAL with
 * "PERFTAP_X: why" in err. */
int pt_config_load(struct pt_config *cfg, pt_getenv_fn env, unsigned uid,
		   char *err, size_t errlen);

/* "64M", "1g", "4096", "512k" -> bytes.  Returns 0 or -EINVAL (garbage,
 * zero, overflow). */
int pt_config_parse_size(const char *s, uint64_t *out);

/* "1ms", "250us", "2s", "1500" (ns) -> nanoseconds.  Returns 0 or -1. */
int pt_config_parse_duration(const char *s, uint64_t *out);

/* "3306, 3307" -> list; "" -> empty list.  Returns 0 or -EINVAL. */
int pt_config_parse_ports(const char *s, struct pt_port_list *out);

/* "1s", "500ms", "2" (seconds), "0" (off) -> ns.  Returns 0 or -EINVAL
 * (garbage, under 10 ms, over an hour). */
int pt_config_parse_interval(const char *s, uint64_t *out);

/* 1 if port is in the list. */
int pt_port_list_has(const struct pt_port_list *l, uint16_t port);

#endif /* PERFTAP_CONFIG_H */
