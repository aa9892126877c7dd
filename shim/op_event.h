/*
 * op_event.h -- the one conversion from a decoder's operation (proto.h)
 * to the writer's event (writer.h), shared by the shim and the per-event
 * benchmark so that both write exactly the same record.
 */
#ifndef PERFTAP_OP_EVENT_H
#define PERFTAP_OP_EVENT_H

#include "proto.h"
#include "writer.h"

static inline struct pt_event pt_op_to_event(const struct pt_op *op,
					     uint32_t conn_id)
{
	struct pt_event ev = {
	    .kind = op->kind,
	    .outcome = op->outcome,
	    .start_ns = op->start_ns,
	    /* A clock read on another CPU may be a hair behind: never wrap. */
	    .duration_ns =
		op->end_ns > op->start_ns ? op->end_ns - op->start_ns : 0,
	    .conn_id = conn_id,
	    .status = op->status,
	    .rows = op->rows,
	    .bytes_out = op->bytes_out,
	    .bytes_in = op->bytes_in,
	    .cache_hits = op->cache_hits,
	    .cache_misses = op->cache_misses,
	    .flags = op->flags,
	    .server_status = op->server_status,
	    .warnings = op->warnings,
	    .text = op->text,
	    .text_len = op->text ? op->text_len : 0,
	};
	return ev;
}

#endif /* PERFTAP_OP_EVENT_H */
