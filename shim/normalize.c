/*
 * normalize.c -- PLACEHOLDER being replaced by the normalize work: copies
 * input through, truncated.  Exists only so that the decoders link.
 */
#include "normalize.h"

#include <string.h>

static size_t copy_cut(const char *in, size_t len, char *out, size_t outcap)
{
	if (outcap == 0)
		return 0;
	if (len > outcap - 1)
		len = outcap - 1;
	memcpy(out, in, len);
	out[len] = '\0';
	return len;
}

size_t pt_sql_fingerprint(const char *sql, size_t len, char *out, size_t outcap)
{
	return copy_cut(sql, len, out, outcap);
}

size_t pt_redis_key_pattern(const char *key, size_t len, char *out,
			    size_t outcap)
{
	return copy_cut(key, len, out, outcap);
}

size_t pt_http_route(const char *path, size_t len,
		     const struct pt_route_table *t, char *out, size_t outcap)
{
	(void)t;
	return copy_cut(path, len, out, outcap);
}
