/*
 * api_redis.c -- hiredis connects as events (api_redis.h).
 */
#include "api_redis.h"

static struct pt_api_out out;

void api_redis_init(const struct pt_api_out *o)
{
	out = *o;
}

void api_redis_connect(uint32_t conn_id, int err, uint64_t t0, uint64_t t1)
{
	static const char text[] = "CONNECT";
	struct pt_event ev = {
	    .kind = PT_KIND_REDIS,
	    .outcome = err ? PT_OUT_ERROR : PT_OUT_OK,
	    .start_ns = t0,
	    .duration_ns = t1 > t0 ? t1 - t0 : 0,
	    .conn_id = conn_id,
	    .status = err ? PT_REDIS_ERR_OTHER : 0,
	    .flags = PT_EV_API,
	    .text = text,
	    .text_len = sizeof(text) - 1,
	};
	if (out.event)
		out.event(&ev);
}
