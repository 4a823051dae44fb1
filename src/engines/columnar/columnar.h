/*
 * The columnar engine: a call runs node by node over morsels of rows on a
 * pool of worker threads (batch functions get whole columns, row functions
 * are looped tightly over a morsel), nested pipelines translated into
 * offsets. Not installed; symbols use hn__.
 */
#ifndef HN_ENGINES_COLUMNAR_H
#define HN_ENGINES_COLUMNAR_H

#include "../../exec/exec_internal.h"

extern const hn__engine_ops hn__columnar_ops;

#endif /* HN_ENGINES_COLUMNAR_H */
