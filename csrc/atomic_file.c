/* atomic_file.c: temporary file, fsync, rename (see atomic_file.h). Where the file system allows,
 * the temporary is unnamed (O_TMPFILE): a writer killed mid-save leaves nothing behind. It gets
 * the name <target>.tmp-XXXXXX only for the instant between linkat and rename. Elsewhere the
 * temporary is a named <target>.tmp-XXXXXX from the start. A writer holds an flock on its
 * temporary, so the next save of the same target removes the temporaries that are no longer
 * locked (their writer died) and leaves a live writer's alone.
 * Test hooks (environment): CNN_TEST_FAIL_WRITE_AFTER=N makes writes past N bytes fail with
 * ENOSPC (a full disk); CNN_TEST_NO_TMPFILE=1 forces the named temporary.
 * Spec: spec/atomic_spec.lua. */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_TAG ".tmp-"
#define TMP_RAND 6

/* the folder of path ("." when it has none) */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int is_tmp_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* removes <base>.tmp-XXXXXX files in dir whose writer is gone (no flock held on them) */
static void remove_stale(const char *dir, const char *base) {
    DIR *d = opendir(dir);
    if (d == NULL) return;
    size_t bl = strlen(base), tl = strlen(TMP_TAG);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strlen(nm) != bl + tl + TMP_RAND || strncmp(nm, base, bl) != 0 || strncmp(nm + bl, TMP_TAG, tl) != 0) continue;
        int ok = 1;
        for (int k = 0; k < TMP_RAND; k++) ok = ok && is_tmp_char(nm[bl + tl + k]);
        if (!ok) continue;
        int fd = openat(dirfd(d), nm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
            (void)unlinkat(dirfd(d), nm, 0);
        close(fd);
    }
    closedir(d);
}

static int64_t env_int(const char *name, int64_t dflt) {
    const char *v = getenv(name);
    if (v == NULL || *v == 0) return dflt;
    return strtoll(v, NULL, 10);
}

/* a fresh <target>.tmp-XXXXXX name (random letters; the caller retries on EEXIST) */
static void random_name(char *buf, size_t n, const char *target) {
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)buf;
    char r[TMP_RAND + 1];
    for (int k = 0; k < TMP_RAND; k++) {
        x ^= x >> 29; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 32;
        r[k] = al[x % (sizeof al - 1)];
    }
    r[TMP_RAND] = 0;
    snprintf(buf, n, "%s" TMP_TAG "%s", target, r);
}

int cnn_afile_open(cnn_ctx *c, cnn_afile *a, const char *target) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    if (target == NULL) {
        a->in_memory = 1;
        a->target = strdup("(memory)");
        return a->target ? 0 : cnn_seterr(c, "out of memory");
    }
    char *dir = dir_of(target);
    size_t tl = strlen(target) + sizeof TMP_TAG + TMP_RAND + 1;
    a->target = strdup(target);
    a->tmp = malloc(tl);
    if (dir == NULL || a->target == NULL || a->tmp == NULL) {
        free(dir);
        cnn_afile_abort(a);
        return cnn_seterr(c, "out of memory");
    }
    const char *slash = strrchr(target, '/');
    remove_stale(dir, slash ? slash + 1 : target);
    a->fail_after = env_int("CNN_TEST_FAIL_WRITE_AFTER", -1);
    /* an unnamed temporary is named at commit through /proc/self/fd: without /proc, a named one */
    if (env_int("CNN_TEST_NO_TMPFILE", 0) == 0 && access("/proc/self/fd", X_OK) == 0) {
        /* O_TMPFILE gets the mode any new file would have (0666 & ~umask) */
        a->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
        a->unnamed = a->fd >= 0;
    }
    free(dir);
    if (a->fd < 0) {
        /* the file system has no O_TMPFILE (or the test forces this path): a named temporary */
        snprintf(a->tmp, tl, "%s" TMP_TAG "XXXXXX", target);
        a->fd = mkostemp(a->tmp, O_CLOEXEC);
        if (a->fd < 0) {
            int err = errno;
            cnn_afile_abort(a);
            return cnn_seterr(c, "cannot open for writing (the folder must exist and be writable): %s", strerror(err));
        }
        /* mkstemp makes the file 0600; umask can only be read by setting it: set and restore */
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(a->fd, 0666 & ~mask);
    } else {
        a->tmp[0] = 0;
    }
    /* held until close: tells remove_stale that this writer lives (the lock stays with the
     * inode when an unnamed temporary gets its name) */
    (void)flock(a->fd, LOCK_EX | LOCK_NB);
    return 0;
}

int cnn_afile_write(cnn_ctx *c, cnn_afile *a, const void *p, size_t n) {
    if (a->target == NULL) return cnn_seterr(c, "write failed: the file is closed");
    if (a->in_memory) {
        if (n > a->mem_cap - a->mem_len) {
            size_t cap = a->mem_cap ? a->mem_cap : 4096;
            while (cap - a->mem_len < n) {
                if (cap > SIZE_MAX / 2) { cnn_afile_abort(a); return cnn_seterr(c, "out of memory"); }
                cap *= 2;
            }
            unsigned char *m = realloc(a->mem, cap);
            if (m == NULL) { cnn_afile_abort(a); return cnn_seterr(c, "out of memory"); }
            a->mem = m;
            a->mem_cap = cap;
        }
        memcpy(a->mem + a->mem_len, p, n);
        a->mem_len += n;
        a->written += (int64_t)n;
        return 0;
    }
    const char *q = p;
    while (n > 0) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        if (a->fail_after >= 0 && a->written + (int64_t)k > a->fail_after) {
            k = a->written < a->fail_after ? (size_t)(a->fail_after - a->written) : 0;
            if (k == 0) {
                cnn_afile_abort(a);
                return cnn_seterr(c, "write failed: %s", strerror(ENOSPC));
            }
        }
        ssize_t w = write(a->fd, q, k);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : ENOSPC;
            cnn_afile_abort(a);
            return cnn_seterr(c, "write failed: %s", strerror(err));
        }
        q += w;
        n -= (size_t)w;
        a->written += w;
    }
    return 0;
}

/* makes the directory entry durable too (a crash right after must not lose the rename) */
static void sync_dir(const char *target) {
    char *dir = dir_of(target);
    if (dir == NULL) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd >= 0) { (void)fsync(fd); close(fd); }
}

int cnn_afile_commit(cnn_ctx *c, cnn_afile *a) {
    if (a->target == NULL) return cnn_seterr(c, "write failed: the file is closed");
    if (a->in_memory) {                            /* the bytes stay in a->mem for the caller */
        free(a->target);
        a->target = NULL;
        return 0;
    }
    if (!cnn_get_defer_sync(c) && fsync(a->fd) != 0) {
        int err = errno;
        cnn_afile_abort(a);
        return cnn_seterr(c, "write failed (fsync): %s", strerror(err));
    }
    if (a->unnamed) {
        /* give the data a temporary name (linkat cannot replace), then rename it over the target */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", a->fd);
        size_t tl = strlen(a->target) + sizeof TMP_TAG + TMP_RAND + 1;
        int rc = -1, err = 0;
        for (int tries = 0; tries < 100; tries++) {
            random_name(a->tmp, tl, a->target);
            rc = linkat(AT_FDCWD, proc, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW);
            if (rc != 0 && errno == ENOENT) rc = linkat(a->fd, "", AT_FDCWD, a->tmp, AT_EMPTY_PATH);
            if (rc == 0 || errno != EEXIST) break;
        }
        if (rc != 0) {
            err = errno;
            a->tmp[0] = 0;
            cnn_afile_abort(a);
            return cnn_seterr(c, "cannot name the written file: %s", strerror(err));
        }
    }
    /* close (and check) before the rename, but keep the lock through it on a duplicate */
    int lk = dup(a->fd);
    if (close(a->fd) != 0) {
        int err = errno;
        a->fd = lk;
        cnn_afile_abort(a);
        return cnn_seterr(c, "write failed (close): %s", strerror(err));
    }
    a->fd = lk;
    if (rename(a->tmp, a->target) != 0) {
        int err = errno;
        cnn_afile_abort(a);
        return cnn_seterr(c, "cannot replace the file: %s", strerror(err));
    }
    if (lk >= 0) close(lk);
    a->fd = -1;
    if (!cnn_get_defer_sync(c)) sync_dir(a->target);
    a->tmp[0] = 0;
    cnn_afile_abort(a);          /* frees the names; nothing is left to remove */
    return 0;
}

void cnn_afile_abort(cnn_afile *a) {
    if (a->in_memory && a->target != NULL) {      /* an encoding that failed: nothing to keep */
        free(a->mem);
        a->mem = NULL;
        a->mem_len = a->mem_cap = 0;
    }
    if (a->target == NULL && a->tmp == NULL) return;
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    if (a->tmp && a->tmp[0]) unlink(a->tmp);
    free(a->tmp);
    free(a->target);
    a->tmp = NULL;
    a->target = NULL;
}
