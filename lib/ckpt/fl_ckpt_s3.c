/* fl_ckpt_s3: committed rounds copied to an S3 store and back, verified both ways. */
#include "fl_ckpt_s3.h"
#include "fl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void note(const char *msg)
{
	fl_info("%s", msg);
}

static int connect_store(const struct fl_ckpt_s3 *o, struct fl_s3 *s, struct fl_err *e)
{
	struct fl_s3_target t;
	struct fl_s3_cred c;
	if (!o->url || !*o->url)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "no S3 target: give --url s3://BUCKET[/PREFIX] or set "
		                  "FL_CHECKPOINT_S3_URL");
	const char *region = o->region && *o->region ? o->region : getenv("AWS_DEFAULT_REGION");
	if (fl_s3_target_parse(&t, o->url, o->endpoint, region, o->virtual_host, e) < 0)
		return -1;
	if (fl_s3_cred_load(&c, e) < 0) {
		fl_s3_target_free(&t);
		return -1;
	}
	struct fl_s3_opts so = o->s3;
	if (!so.note)
		so.note = note;
	if (fl_s3_open(s, &t, &c, &so, e) < 0) {
		fl_s3_target_free(&t);
		fl_s3_cred_wipe(&c);
		return -1;
	}
	return 0;
}

/* The manifest entry as the JSON object stored beside the round file. */
static char *entry_json(const struct fl_manifest_entry *en, const char *file)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b,
	            "{\n  \"round\": %ld,\n  \"file\": \"%s\",\n  \"size\": %lld,\n  \"sha256\": \"%s\",\n"
	            "  \"num_arrays\": %ld,\n  \"time\": \"%s\"\n}\n",
	            en->round, file, en->size, en->sha256, en->arrays, en->time);
	return b.data;
}

/* The committed round's file, opened under the directory without following links, of the
 * manifest's size. */
static int open_round(const struct fl_ckpt *ck, const struct fl_manifest_entry *en, const char *file,
                      struct fl_err *e)
{
	int fd = openat(ck->dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fl_err_sys(e, errno, "%s/%s cannot be opened", ck->dir, file);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != en->size) {
		close(fd);
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s is not the regular file of %lld bytes its manifest entry records: run "
		    "fl-ckpt verify --round %ld",
		    ck->dir, file, en->size, en->round);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int upload_round(const struct fl_ckpt_s3 *o, struct fl_ckpt *ck, long round, struct fl_buf *out,
                        struct fl_err *e)
{
	const struct fl_manifest_entry *en = fl_manifest_find(&ck->m, round);
	char file[FL_MANIFEST_FILE_LEN], json_name[48], state[4200];
	if (!en)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "round %ld of %s is not committed (no manifest entry): only committed rounds are "
		    "uploaded; commit it with fl-ckpt save",
		    round, ck->dir);
	fl_manifest_file(round, file);
	snprintf(json_name, sizeof json_name, "checkpoint_round_%ld.json", round);
	snprintf(state, sizeof state, "%s/" FL_CKPT_S3_STATE_FMT, ck->dir, round);
	int fd = open_round(ck, en, file, e);
	if (fd < 0)
		return -1;
	struct fl_s3 s;
	if (connect_store(o, &s, e) < 0) {
		close(fd);
		return -1;
	}
	struct fl_buf key = FL_BUF_INIT, jkey = FL_BUF_INIT;
	struct fl_s3_put_result r;
	fl_s3_key(&s.t, file, &key);
	fl_s3_key(&s.t, json_name, &jkey);
	int rc = fl_s3_put_fd(&s, key.data, fd, en->size, en->sha256, state, &r, e);
	close(fd);
	if (rc == 0) {
		fl_info("uploaded round %ld to s3://%s/%s (%lld bytes, SHA-256 %.12s..., %s%d part(s), %d "
		        "resumed)",
		        round, s.t.bucket, key.data, en->size, en->sha256, r.parts ? "" : "single PUT, ",
		        r.parts, r.parts_skipped);
		char *j = entry_json(en, file);
		rc = fl_s3_put_mem(&s, jkey.data, j, strlen(j), "application/json", e);
		free(j);
	}
	if (rc == 0)
		fl_buf_addf(out, "s3://%s/%s\ns3://%s/%s\n", s.t.bucket, key.data, s.t.bucket, jkey.data);
	fl_buf_free(&key);
	fl_buf_free(&jkey);
	fl_s3_close(&s);
	return rc;
}

int fl_ckpt_s3_upload(const struct fl_ckpt_s3 *o, long round, struct fl_buf *out, struct fl_err *e)
{
	struct fl_ckpt ck;
	if (fl_ckpt_open(&ck, o->dir, false, o->lock_timeout_ms, o->uid, o->gid, e) < 0)
		return -1;
	int rc = 0;
	if (round == 0 && fl_ckpt_latest(&ck, &round, e) < 0)
		rc = -1;
	if (rc == 0)
		rc = upload_round(o, &ck, round, out, e);
	fl_ckpt_close(&ck);
	return rc;
}

/* GET the round file into an unnamed temp file in the directory; its SHA-256 must be the one
 * stored with it. The descriptor, at offset 0, or -1. */
static int fetch(const struct fl_ckpt_s3 *o, struct fl_ckpt *ck, long round, char sha[65], struct fl_err *e)
{
	char file[FL_MANIFEST_FILE_LEN];
	fl_manifest_file(round, file);
	int fd = openat(ck->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return fl_err_sys(e, errno, "%s: no temp file for the download", ck->dir);
	struct fl_s3 s;
	if (connect_store(o, &s, e) < 0) {
		close(fd);
		return -1;
	}
	struct fl_buf key = FL_BUF_INIT;
	struct fl_s3_obj obj;
	fl_s3_key(&s.t, file, &key);
	int rc = fl_s3_get_fd(&s, key.data, fd, FL_MANIFEST_SIZE_MAX, &obj, sha, e);
	if (rc == 0 && !obj.sha256[0])
		rc = fl_err_set(
		    e, FL_EXIT_FAIL,
		    "s3://%s/%s has no x-amz-meta-sha256: upload it with fl-ckpt upload (or aws s3 cp "
		    "--metadata sha256=<its sha256sum>)",
		    s.t.bucket, key.data);
	else if (rc == 0 && strcmp(obj.sha256, sha) != 0)
		rc = fl_err_set(
		    e, FL_EXIT_FAIL,
		    "s3://%s/%s: the bytes received have SHA-256 %s, the store records %s: the remote "
		    "copy is corrupt; nothing was committed",
		    s.t.bucket, key.data, sha, obj.sha256);
	if (rc == 0)
		fl_info("downloaded s3://%s/%s (%lld bytes, SHA-256 %.12s...)", s.t.bucket, key.data,
		        obj.size, sha);
	fl_buf_free(&key);
	fl_s3_close(&s);
	if (rc == 0 && lseek(fd, 0, SEEK_SET) == 0)
		return fd;
	close(fd);
	return -1;
}

int fl_ckpt_s3_download(const struct fl_ckpt_s3 *o, long round, bool make_latest, struct fl_buf *out,
                        struct fl_err *e)
{
	struct fl_ckpt ck;
	char sha[65];
	if (round < 1 || round > FL_MANIFEST_ROUND_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "download needs --round N (1-%ld)",
		                  FL_MANIFEST_ROUND_MAX);
	/* The download runs without the lock (savers are not held up by the network); the
	 * commit takes it. */
	if (fl_ckpt_open(&ck, o->dir, false, o->lock_timeout_ms, o->uid, o->gid, e) < 0)
		return -1;
	int fd = fetch(o, &ck, round, sha, e);
	fl_ckpt_close(&ck);
	if (fd < 0)
		return -1;
	if (fl_ckpt_open(&ck, o->dir, true, o->lock_timeout_ms, o->uid, o->gid, e) < 0) {
		close(fd);
		return -1;
	}
	int rc = fl_ckpt_commit_fd(&ck, round, fd, make_latest, e);
	close(fd);
	const struct fl_manifest_entry *en = rc == 0 ? fl_manifest_find(&ck.m, round) : NULL;
	if (rc == 0 && en && strcmp(en->sha256, sha) != 0)
		rc = fl_err_set(e, FL_EXIT_FAIL, "round %ld: committed with SHA-256 %s, downloaded %s", round,
		                en->sha256, sha);
	if (rc == 0) {
		char file[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(round, file);
		fl_buf_addf(out, "%s/%s\n", ck.dir, file);
	}
	fl_ckpt_close(&ck);
	return rc;
}

int fl_ckpt_s3_object(const char *object_url, char **url, long *round, struct fl_err *e)
{
	const char *slash = object_url ? strrchr(object_url, '/') : NULL;
	*url = NULL;
	if (!object_url || strncmp(object_url, "s3://", 5) != 0 || !slash || slash < object_url + 5 ||
	    (*round = fl_manifest_round_of(slash + 1)) < 0)
		return fl_err_set(
		    e, FL_EXIT_USAGE,
		    "--from-s3 '%s' is not s3://BUCKET[/PREFIX]/checkpoint_round_N.npz: name the "
		    "round file's object",
		    object_url ? object_url : "");
	*url = fl_xstrndup(object_url, (size_t)(slash - object_url));
	return 0;
}
