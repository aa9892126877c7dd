/*
 * spill.h -- the shim's struct pt_spill (proto.h): anonymous private mmap,
 * given to every decoder through struct pt_proto_options.
 */
#ifndef PERFTAP_SPILL_H
#define PERFTAP_SPILL_H

#include "proto.h"

extern const struct pt_spill pt_spill_mmap;

#endif /* PERFTAP_SPILL_H */
