/* journal.c — the undelivered results of MIG changes, in memory and in an optional file (see
 * journal.h). */
#include "agent/journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
    char change[AL_JOURNAL_ID_MAX];
    json_t *body;
};

struct al_journal {
    const char *path; /* NULL: memory only */
    size_t n;
    struct entry e[AL_JOURNAL_MAX];
};

/* A change id: 1..63 printable ASCII characters without space. */
static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= AL_JOURNAL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static int sys_err(struct al_err *reterr, const char *path, const char *what)
{
    int e = errno;
    char why[128] = "?";
    (void)strerror_r(e, why, sizeof why);
    return al_err_set(reterr, e ? -e : AL_E_IO, "journal %s: %s: %s", path, what, why);
}

/* The file's entries into j (untrusted: each member checked and named). */
static int parse(struct al_journal *j, const json_t *root, struct al_err *reterr)
{
    const json_t *arr = json_object_get(root, "results");
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_array(arr) ||
        json_array_size(arr) > AL_JOURNAL_MAX)
        return al_err_set(reterr, AL_E_INVAL,
                          "journal %s: results: an array of at most %d required (and nothing "
                          "else)",
                          j->path, AL_JOURNAL_MAX);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *id = json_string_value(json_object_get(o, "change"));
        json_t *body = json_object_get(o, "body");
        if (!json_is_object(o) || json_object_size(o) != 2 || !id_ok(id))
            return al_err_set(reterr, AL_E_INVAL,
                              "journal %s: results[%zu].change: a change id required", j->path, i);
        if (!json_is_object(body) || !json_is_boolean(json_object_get(body, "ok")))
            return al_err_set(reterr, AL_E_INVAL,
                              "journal %s: results[%zu].body: a result with \"ok\" required",
                              j->path, i);
        memcpy(j->e[j->n].change, id, strlen(id) + 1);
        j->e[j->n++].body = json_incref(body);
    }
    return 0;
}

static int load(struct al_journal *j, struct al_err *reterr)
{
    struct stat sb;
    json_error_t je;
    json_t *root = NULL;
    int rc;
    FILE *fp = fopen(j->path, "rb");
    if (!fp)
        return errno == ENOENT ? 0 : sys_err(reterr, j->path, "cannot open it");
    if (fstat(fileno(fp), &sb) < 0) {
        rc = sys_err(reterr, j->path, "cannot stat it");
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)AL_JOURNAL_FILE_MAX) {
        rc = al_err_set(reterr, AL_E_RANGE, "journal %s: not a regular file of at most %d bytes",
                        j->path, AL_JOURNAL_FILE_MAX);
        goto out;
    }
    if (!(root = json_loadf(fp, JSON_REJECT_DUPLICATES, &je))) {
        rc = al_err_set(reterr, AL_E_INVAL, "journal %s: line %d: %s", j->path, je.line, je.text);
        goto out;
    }
    rc = parse(j, root, reterr);
out:
    json_decref(root);
    (void)fclose(fp); /* read-only: nothing to lose */
    return rc;
}

/* Replace the file with what j holds: a reader sees the old or the new journal, never half. */
static int save(const struct al_journal *j, struct al_err *reterr)
{
    char tmp[4096];
    json_t *arr, *root;
    int rc = 0;
    if (!j->path)
        return 0;
    arr = json_array();
    root = json_pack("{s:o}", "results", arr);
    for (size_t i = 0; root && i < j->n; i++)
        if (json_array_append_new(
                arr, json_pack("{s:s,s:O}", "change", j->e[i].change, "body", j->e[i].body)) < 0)
            break;
    if (!root || json_array_size(arr) != j->n) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", j->path) >= (int)sizeof tmp) {
        rc = al_err_set(reterr, AL_E_RANGE, "journal %s: path too long", j->path);
        goto out;
    }
    if (json_dump_file(root, tmp, JSON_COMPACT) < 0 || rename(tmp, j->path) < 0) {
        rc = sys_err(reterr, j->path, "cannot write it");
        (void)unlink(tmp);
    }
out:
    json_decref(root);
    return rc;
}

int al_journal_open(const char *path, struct al_journal **ret, struct al_err *reterr)
{
    struct al_journal *j = calloc(1, sizeof *j);
    int rc = 0;
    *ret = NULL;
    if (!j)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    j->path = path;
    if (path && (rc = load(j, reterr)) < 0) {
        al_journal_free(j);
        return rc;
    }
    *ret = j;
    return 0;
}

void al_journal_free(struct al_journal *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        json_decref(j->e[i].body);
    free(j);
}

static long find(const struct al_journal *j, const char *change)
{
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->e[i].change, change) == 0)
            return (long)i;
    return -1;
}

int al_journal_add(struct al_journal *j, const char *change, json_t *body, struct al_err *reterr)
{
    long i = find(j, change);
    if (!id_ok(change) || !json_is_object(body))
        return al_err_set(reterr, AL_E_INVAL, "journal: a change id and a result object required");
    if (i < 0 && j->n == AL_JOURNAL_MAX)
        return al_err_set(reterr, AL_E_FULL, "journal: %d results held already", AL_JOURNAL_MAX);
    if (i < 0) {
        i = (long)j->n++;
        memcpy(j->e[i].change, change, strlen(change) + 1);
    } else
        json_decref(j->e[i].body);
    j->e[i].body = json_incref(body);
    return save(j, reterr);
}

int al_journal_remove(struct al_journal *j, const char *change, struct al_err *reterr)
{
    long i = find(j, change);
    if (i < 0)
        return 0;
    json_decref(j->e[i].body);
    memmove(&j->e[i], &j->e[i + 1], (j->n - (size_t)i - 1) * sizeof j->e[0]);
    j->n--;
    return save(j, reterr);
}

size_t al_journal_count(const struct al_journal *j)
{
    return j->n;
}

const char *al_journal_change(const struct al_journal *j, size_t i)
{
    return i < j->n ? j->e[i].change : NULL;
}

json_t *al_journal_body(const struct al_journal *j, size_t i)
{
    return i < j->n ? j->e[i].body : NULL;
}

bool al_journal_has(const struct al_journal *j, const char *change)
{
    return find(j, change) >= 0;
}
