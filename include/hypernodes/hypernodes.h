/**
 * @file hypernodes.h
 * Umbrella header of the hypernodes library.
 *
 * Conventions: every fallible call returns hn_status (HN_OK == 0) and takes
 * an optional trailing hn_error *. Handles are opaque; objects are not
 * thread-safe unless their header says so (types, buffers, arrays and tables
 * are immutable and may be shared). Getters, retain, release and destroy
 * accept NULL handles (the rule is written once, in common.h).
 *
 * Names: functions are hn_<noun>_<verb> (hn_pipeline_add, hn_array_slice).
 * Accessors are hn_<object>_<property> and never say "get"
 * (hn_array_length, hn_engine_workers, hn_result_table); collections are
 * hn_<object>_num_<items> with hn_<object>_<item>(object, i); where the
 * accessor's name is already a type's, it ends in _of (hn_type_id_of,
 * hn_engine_kind_of). "get" names the functions that read a value out:
 * at a position (hn_array_get, hn_list_view_get, hn_rows_get) or into the
 * caller's struct (hn_result_get_stats).
 *
 * After a failed call the objects it was given are left as they were and
 * remain usable (a refused node adds nothing, a failed setter changes
 * nothing, a failed run leaves the pipeline, inputs and engine usable);
 * output parameters hold nothing to free. Functions that say otherwise:
 * hn_builder_finish on HN_ENOMEM (the builder is reset to empty).
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
#include "cache.h"
#include "pipeline.h"
#include "engine.h"
#include "observe.h"

#endif /* HYPERNODES_H */
