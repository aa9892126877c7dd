/*
 * api_redis.h -- hiredis connects as events: the logic behind
 * hooks_redis.c (testable without hiredis).
 *
 * hiredis's commands are counted from the socket bytes (the RESP decoder
 * sees every one: pipelines, MULTI/EXEC, keyspace hits); what only the API
 * shows is the connect, one "CONNECT" event (PT_KIND_REDIS, PT_EV_API) per
 * redisConnect*, timed around the call, on the socket's own connection id
 * so that reports tie it to the connection's commands.
 */
#ifndef PERFTAP_API_REDIS_H
#define PERFTAP_API_REDIS_H

#include <stdint.h>

#include "api_sqlite.h" /* struct pt_api_out */

void api_redis_init(const struct pt_api_out *out);

/* A redisConnect* call ran from t0 to t1; err: the context's err (0 ok);
 * conn_id: the socket's connection (0 when unknown or failed). */
void api_redis_connect(uint32_t conn_id, int err, uint64_t t0, uint64_t t1);

#endif /* PERFTAP_API_REDIS_H */
