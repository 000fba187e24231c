/* tmpdir.h — removal of a unit test's temporary directory and the files in it (the SQLite
 * tests keep a database and its -wal/-shm files there), without a shell. Header-only and
 * static: each unit test is one program from one file. */
#ifndef AL_TESTS_TMPDIR_H
#define AL_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
