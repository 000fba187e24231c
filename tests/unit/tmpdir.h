/* tmpdir.h — a unit test's temporary files: one written whole (a sim driver's state file), and
 * the directory removed with the files in it (the SQLite tests keep a database and its
 * -wal/-shm files there), without a shell. Header-only and
 * static: each unit test is one program from one file. */
#ifndef AL_TESTS_TMPDIR_H
#define AL_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Write `text` as the whole of file `path`. Returns 0, or -1 when it could not be written. */
static inline int tmpdir_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) >= 0 ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Remove `dir`, which holds plain files only, and its files. Returns 0, or -1 when anything
 * could not be removed. */
static inline int tmpdir_remove(const char *dir)
{
    char path[512];
    int rc = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): one thread, and the DIR stream is private */
    for (const struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path || unlink(path) != 0)
            rc = -1;
    }
    if (closedir(d) != 0 || rmdir(dir) != 0)
        rc = -1;
    return rc;
}

#endif
