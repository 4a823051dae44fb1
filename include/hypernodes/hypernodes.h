/**
 * @file hypernodes.h
 * Umbrella header of the hypernodes library.
 *
 * Conventions: every fallible call returns hn_status (HN_OK == 0) and takes
 * an optional trailing hn_error *. Handles are opaque; objects are not
 * thread-safe unless their header says so (types, buffers, arrays and tables
 * are immutable and may be shared). Getters, retain, release and destroy
 * accept NULL handles (the rule is written once, in common.h).
 */
#ifndef HYPERNODES_H
#define HYPERNODES_H

#include "common.h"
#include "bits.h"
#include "arena.h"
#include "type.h"
#include "buffer.h"
#include "array.h"
#include "builder.h"
#include "table.h"
#include "arrow_abi.h"
#include "arrow.h"
#include "serialize.h"
#include "pipeline.h"
#include "engine.h"
#include "observe.h"

#endif /* HYPERNODES_H */
