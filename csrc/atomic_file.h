/* atomic_file.h: the one way cnn writes a file a user keeps (checkpoints, PNG images, plots):
 * into a temporary beside the target, then fsync and rename over it, so that a full disk, an
 * error or a kill -9 leaves the old file whole and no partial file under the target's name.
 * Core (no Lua); used by lua_serialize.c (cnn.save, cnn._file.write) and image.c (PNG). */
#ifndef CNN_ATOMIC_FILE_H
#define CNN_ATOMIC_FILE_H

#include "cnn.h"

#include <stddef.h>

typedef struct cnn_afile {
    int fd;               /* -1 when closed */
    int unnamed;          /* O_TMPFILE: the data have no name until commit */
    char *target;         /* the final name */
    char *tmp;            /* named fallback: the temporary's name (removed on abort) */
    int64_t written;
    int64_t fail_after;   /* CNN_TEST_FAIL_WRITE_AFTER: writes past this many bytes fail (ENOSPC); -1 off */
    int in_memory;        /* opened with target NULL: the bytes go to mem (an encoder's output in memory) */
    unsigned char *mem;   /* in memory: the bytes written, kept by commit for the caller (who frees them) */
    size_t mem_len, mem_cap;
} cnn_afile;

/* opens a temporary for `target` (removing stale ones a killed writer left); target NULL: the
 * bytes are collected in memory instead (a->mem after commit, the caller's to free) */
int cnn_afile_open(cnn_ctx *c, cnn_afile *a, const char *target);
/* writes all n bytes or fails (the file is then aborted) */
int cnn_afile_write(cnn_ctx *c, cnn_afile *a, const void *p, size_t n);
/* fsync, then the temporary becomes the target; on failure the target is untouched and the
 * temporary gone. The afile is closed either way. */
int cnn_afile_commit(cnn_ctx *c, cnn_afile *a);
/* drops the temporary; safe to call on a closed or zeroed afile, and more than once */
void cnn_afile_abort(cnn_afile *a);

#endif
