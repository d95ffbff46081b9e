/* fl_output: files the tools write for other programs to read. */
#include "fl_output.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fl_output_write(const char *path, const void *data, size_t len, mode_t mode, bool mkdir_parent,
                    struct fl_err *e)
{
	if (mkdir_parent) {
		char *dir = fl_xstrdup(path);
		char *slash = strrchr(dir, '/');
		int r = 0;
		if (slash && slash != dir) {
			*slash = '\0';
			r = fl_fs_mkdir_p(dir, 0700, FL_OWNER_KEEP, (gid_t)-1, e);
		}
		free(dir);
		if (r < 0)
			return -1;
	}
	/* A write killed between its temp file and the rename leaves the temp file behind: the
	 * next one removes it, under a lock so that a concurrent writer's is left alone. */
	int lock = fl_fs_lock_dir(path, e);
	if (lock < 0)
		return -1;
	fl_fs_clean_temps(path);
	int r = fl_fs_write_atomic(path, data, len, mode, FL_OWNER_KEEP, (gid_t)-1, e);
	close(lock);
	return r < 0 ? -1 : 0;
}

void fl_output_stdout(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fflush(stdout);
	fl_buf_free(b);
}
