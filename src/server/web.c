/* web.c — the dashboard's static files: a directory walked once at start (regular files with
 * a known type, names of [A-Za-z0-9._-], no dot files, no node_modules or package*.json), the
 * one npm file the pages import (Preact + htm, web/README.md) mapped to /vendor/, each file
 * read whole into memory with its type and a content hash for ETag, and a table sorted by path
 * for the lookup. */
#include "server/web.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AL_WEB_DIR
#define AL_WEB_DIR "web" /* CMakeLists.txt names the source tree's */
#endif

struct al_web {
    char *dir;
    struct al_web_file *files; /* sorted by path */
    size_t n;
    size_t total; /* bytes read */
};

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

/* npm files served under /vendor/: the URL, and where `npm ci` put it in the source tree (an
 * install copies it to vendor/ itself, where the walk finds it). */
static const struct {
    const char *url, *npm;
} vendored[] = {
    {"/vendor/htm-preact.js", "node_modules/htm/preact/standalone.module.js"},
};

static const char *type_of(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

/* A directory entry's name the walk takes: no dot files (".git", editors' swap files), no
 * npm's folder and files, only plain characters. */
static bool name_ok(const char *name)
{
    if (name[0] == '.' || strcmp(name, "node_modules") == 0 || strncmp(name, "package", 7) == 0)
        return false;
    for (const char *p = name; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
            *p != '.' && *p != '_' && *p != '-')
            return false;
    return true;
}

/* Read `fs` (a file path) whole into a new file entry at URL path `url`. */
static int add_file(struct al_web *w, const char *fs, const char *url, const char *type,
                    struct al_err *reterr)
{
    struct stat st;
    FILE *f = NULL;
    unsigned char *data = NULL, hash[8];
    int rc = 0;
    if (w->n == AL_WEB_MAX_FILES)
        return al_err_set(reterr, AL_E_INVAL, "%s: more than %d files", w->dir, AL_WEB_MAX_FILES);
    if (!(f = fopen(fs, "rb")) || fstat(fileno(f), &st) != 0) {
        rc = al_err_set(reterr, AL_E_IO, "%s: %s", fs, al_strerror(-errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)AL_WEB_MAX_FILE ||
        w->total + (size_t)st.st_size > AL_WEB_MAX_TOTAL) {
        rc = al_err_set(reterr, AL_E_INVAL, "%s: not a regular file, or over the size bounds", fs);
        goto out;
    }
    if (!(data = malloc((size_t)st.st_size + 1)) || !(url = strdup(url))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        rc = al_err_set(reterr, AL_E_IO, "%s: short read", fs);
        free((char *)url);
        goto out;
    }
    crypto_generichash(hash, sizeof hash, data, (size_t)st.st_size, NULL, 0);
    struct al_web_file *e = &w->files[w->n++];
    *e = (struct al_web_file){.path = url, .type = type, .data = data, .len = (size_t)st.st_size};
    e->etag[0] = '"';
    sodium_bin2hex(e->etag + 1, 2 * sizeof hash + 1, hash, sizeof hash);
    e->etag[1 + 2 * sizeof hash] = '"';
    e->etag[2 + 2 * sizeof hash] = '\0';
    w->total += (size_t)st.st_size;
    data = NULL;
out:
    free(data);
    if (f)
        (void)fclose(f); /* read only: nothing to lose */
    return rc;
}

/* Walk `rel` (a path under w->dir: "" for the top, else "/sub") depth first, adding every file it
 * takes; 4 levels at most. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by `depth` */
static int walk(struct al_web *w, const char *rel, int depth, struct al_err *reterr)
{
    char fs[4096], url[AL_WEB_MAX_PATH + 2];
    struct dirent *de;
    struct stat st;
    int rc = 0;
    snprintf(fs, sizeof fs, "%s%s", w->dir, rel);
    DIR *d = opendir(fs);
    if (!d)
        return al_err_set(reterr, AL_E_IO, "%s: %s", fs, al_strerror(-errno));
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): the DIR stream is this call's alone */
    while (rc == 0 && (de = readdir(d))) { /* cppcheck-suppress readdirCalled */
        if (!name_ok(de->d_name))
            continue;
        int n = snprintf(url, sizeof url, "%s/%s", rel, de->d_name);
        snprintf(fs, sizeof fs, "%s%s", w->dir, url);
        if (n < 0 || (size_t)n > AL_WEB_MAX_PATH || lstat(fs, &st) != 0)
            rc = al_err_set(reterr, AL_E_INVAL, "%s%s: path too long or unreadable", w->dir, url);
        else if (S_ISDIR(st.st_mode) && depth < 4)
            rc = walk(w, url, depth + 1, reterr);
        else if (S_ISREG(st.st_mode) && type_of(de->d_name))
            rc = add_file(w, fs, strcmp(url, "/index.html") == 0 ? "/" : url, type_of(de->d_name),
                          reterr);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct al_web_file *)a)->path, ((const struct al_web_file *)b)->path);
}

/* The npm files, from where an install or `npm ci` put them; a missing one is refused. */
static int add_vendored(struct al_web *w, struct al_err *reterr)
{
    char fs[4096];
    struct stat st;
    for (size_t i = 0; i < sizeof vendored / sizeof vendored[0]; i++) {
        if (al_web_find(w, vendored[i].url))
            continue; /* vendor/ walked already: an installed tree */
        snprintf(fs, sizeof fs, "%s/%s", w->dir, vendored[i].npm);
        if (stat(fs, &st) != 0)
            return al_err_set(reterr, AL_E_NOTFOUND,
                              "%s: missing (scripts/deps.sh run installs it: npm ci in %s)", fs,
                              w->dir);
        int rc = add_file(w, fs, vendored[i].url, type_of(fs), reterr);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The default directory: share/allot/web beside an installed binary (/usr/bin/allot →
 * /usr/share/allot/web), else the source tree's, which a binary in build/ serves. */
static bool default_dir(char *out, size_t cap)
{
    char exe[4096];
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        int m = snprintf(out, cap, "%s/../share/allot/web", exe);
        if (m > 0 && (size_t)m < cap && stat(out, &st) == 0)
            return true;
    }
    snprintf(out, cap, "%s", AL_WEB_DIR);
    return stat(AL_WEB_DIR "/index.html", &st) == 0;
}

int al_web_open(const char *dir, struct al_web **out, char *note, size_t note_cap,
                struct al_err *reterr)
{
    char def[4096];
    struct al_web *w = NULL;
    int rc = 0;
    *out = NULL;
    if (dir && strcmp(dir, "off") == 0)
        return 0;
    if (!dir && !default_dir(def, sizeof def)) {
        if (note)
            snprintf(note, note_cap, "no dashboard: no web files at %s (--web DIR)", AL_WEB_DIR);
        return 0;
    }
    if (!(w = calloc(1, sizeof *w)) || !(w->dir = strdup(dir ? dir : def)) ||
        !(w->files = calloc(AL_WEB_MAX_FILES, sizeof *w->files))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = walk(w, "", 0, reterr)) != 0)
        goto out;
    qsort(w->files, w->n, sizeof *w->files, by_path);
    if (!al_web_find(w, "/")) {
        rc = al_err_set(reterr, AL_E_NOTFOUND, "%s: no index.html", w->dir);
        goto out;
    }
    if ((rc = add_vendored(w, reterr)) != 0) {
        if (!dir && note) { /* the default directory: the server runs, without a dashboard */
            snprintf(note, note_cap, "no dashboard: %s", reterr->msg);
            rc = 0;
        }
        goto out;
    }
    qsort(w->files, w->n, sizeof *w->files, by_path);
    *out = w;
    w = NULL;
out:
    al_web_free(w);
    return rc;
}

void al_web_free(struct al_web *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->files && i < w->n; i++) {
        free((char *)w->files[i].path);
        free((unsigned char *)w->files[i].data);
    }
    free(w->files);
    free(w->dir);
    free(w);
}

const char *al_web_dir(const struct al_web *w)
{
    return w->dir;
}

const struct al_web_file *al_web_find(const struct al_web *w, const char *path)
{
    struct al_web_file key = {.path = path};
    if (!w)
        return NULL;
    return bsearch(&key, w->files, w->n, sizeof *w->files, by_path);
}

bool al_web_claims(const char *path)
{
    return strncmp(path, "/v1/", 4) != 0 && strcmp(path, "/v1") != 0 &&
           strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0;
}
