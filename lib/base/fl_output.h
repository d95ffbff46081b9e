/* fl_output: files the tools write for other programs to read (fl-context render, fl-onegate
 * discover -o): whole or not at all, never mixed with a concurrent writer's. */
#ifndef FL_OUTPUT_H
#define FL_OUTPUT_H

#include "fl_buf.h"
#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write data to path atomically with mode, under the lock of its directory, after removing
 * what a run killed mid-write left beside it (its temp file may hold a key). mkdir_parent:
 * create the directory first (0700). -1 with e on failure. */
int fl_output_write(const char *path, const void *data, size_t len, mode_t mode, bool mkdir_parent,
                    struct fl_err *e);

/* What a verb prints: b on stdout, flushed (before anything a later step logs), then freed. */
void fl_output_stdout(struct fl_buf *b);

#endif
