/* fuzz_archive: libFuzzer target for the checkpoint archive extractor
 * (fl_ckpt_archive_extract_buf), fed mutated archives that fl-ckpt archive wrote (plain, gzip,
 * zstd). Whatever the bytes: a refusal leaves the stage directory empty; an acceptance writes
 * exactly the files it reports, each a regular file with an accepted name; nothing is ever
 * written beside the stage directory. */
#include "fuzz.h"
#include "fl_ckpt_archive.h"
#include "fl_manifest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64]; /* holds only "stage" */
static int stagefd = -1, topfd = -1;

static void cleanup(void)
{
	if (stagefd >= 0)
		close(stagefd);
	if (topfd >= 0) {
		unlinkat(topfd, "stage", AT_REMOVEDIR);
		close(topfd);
	}
	rmdir(top);
}

/* Per process, a directory in memory when /dev/shm exists, with the stage directory in it. */
static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(top, sizeof top, "%s/fuzz-archive-XXXXXX", base);
	REQUIRE(mkdtemp(top) != NULL);
	topfd = open(top, O_RDONLY | O_DIRECTORY);
	REQUIRE(topfd >= 0 && mkdirat(topfd, "stage", 0700) == 0);
	stagefd = openat(topfd, "stage", O_RDONLY | O_DIRECTORY);
	REQUIRE(stagefd >= 0);
	atexit(cleanup);
}

/* The names in dirfd (not "." or ".."), each checked and, with rm, removed; their count. */
static size_t scan(int dirfd, bool rm)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	REQUIRE(fd >= 0);
	DIR *d = fdopendir(fd);
	REQUIRE(d != NULL);
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (!rm)
			continue;
		struct stat st;
		REQUIRE(fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
		REQUIRE(fl_manifest_round_of(de->d_name) > 0 || strcmp(de->d_name, FL_MANIFEST_NAME) == 0 ||
		        strcmp(de->d_name, "checkpoint_latest.json") == 0);
		REQUIRE(unlinkat(dirfd, de->d_name, 0) == 0);
	}
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (stagefd < 0)
		setup();
	struct fl_err e;
	fl_err_clear(&e);
	struct fl_ckpt_archive_list l;
	int r = fl_ckpt_archive_extract_buf(data, size, "fuzz.tar", stagefd, &l, &e);
	REQUIRE(scan(topfd, false) == 1); /* only the stage directory beside it */
	if (r < 0) {
		REQUIRE(r == -1 && e.code == FL_EXIT_FAIL && e.msg[0]);
		REQUIRE(scan(stagefd, false) == 0);
		return 0;
	}
	REQUIRE(l.n >= 1);
	for (size_t i = 1; i < l.n; i++)
		REQUIRE(l.rounds[i - 1] < l.rounds[i]);
	bool held = l.latest == 0;
	for (size_t i = 0; i < l.n; i++)
		held |= l.rounds[i] == l.latest;
	REQUIRE(held);
	REQUIRE(scan(stagefd, true) == l.n + 1 + (l.meta ? 1 : 0));
	fl_ckpt_archive_list_free(&l);
	return 0;
}
