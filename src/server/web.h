/* web.h — the dashboard's static files (web/ in the source tree, share/allot/web when
 * installed), read into memory when the server starts and answered from there: a lookup in a
 * sorted table by the exact path, so no request can name a file outside the set (no "..", no
 * symbolic link followed at request time, no file changed under a running server). Internal
 * to src/server. */
#ifndef AL_SERVER_WEB_H
#define AL_SERVER_WEB_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Bounds on what a web directory may hold: more is refused at start, naming the file. */
#define AL_WEB_MAX_FILES 512
#define AL_WEB_MAX_FILE  (4u << 20)  /* bytes, one file */
#define AL_WEB_MAX_TOTAL (32u << 20) /* bytes, all files */
#define AL_WEB_MAX_PATH  200         /* a file's path under the directory */

/* The headers every dashboard answer carries: scripts and styles only from files of this
 * origin (no inline script, no inline style element or attribute), calls only to this origin,
 * the page never framed. */
#define AL_WEB_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'none'; frame-ancestors 'none'"

struct al_web_file {
    const char *path; /* the URL path, "/app.js" ("/" is index.html) */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    char etag[24]; /* "\"" 16 hex digits of a hash of the content "\"" */
};

struct al_web;

/* Read the web directory `dir` into memory. dir NULL: the default (share/allot/web beside an
 * installed binary, else the source tree's web/; none found, or its npm file missing:
 * *out = NULL and 0, and `note` (may be NULL) says why: the server then answers no
 * dashboard); dir "off": *out = NULL and 0. A named directory that is missing, holds no
 * index.html or its npm file, or breaks a bound is refused with reterr. The caller owns *out
 * (free it with al_web_free). */
int al_web_open(const char *dir, struct al_web **out, char *note, size_t note_cap,
                struct al_err *reterr);
void al_web_free(struct al_web *w);

/* Where the files were read from (for the start-up line); owned by w. */
const char *al_web_dir(const struct al_web *w);

/* The file for URL path `path` (no query), or NULL. Owned by w, valid until al_web_free. */
const struct al_web_file *al_web_find(const struct al_web *w, const char *path);

/* Is `path` one the dashboard may answer (a GET/HEAD not meant for the API)? */
bool al_web_claims(const char *path);

#endif
