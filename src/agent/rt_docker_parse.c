/* rt_docker_parse.c — the validation of the Docker Engine API's answers (runtime.h): create's
 * Id, inspect's State, the list of containers. Every byte is untrusted: the JSON must parse
 * without duplicate keys, each member used has its type and bounds, and a refusal names it. */
#include "agent/runtime.h"

#include <stdlib.h>
#include <string.h>

/* A runtime id: [A-Za-z0-9_.-]{1,128}. */
static bool id_chars(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= AL_RUNTIME_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]))
            return false;
    return true;
}

static json_t *load(const char *body, size_t len, const char *what, struct al_err *reterr)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        al_err_set(reterr, AL_E_INVAL, "docker-api: %s: not JSON (%.80s)", what, je.text);
    return j;
}

/* The allot.container label of `labels` (an object or null) into ret->ctr: "" when absent or
 * not a plausible id ([A-Za-z0-9_-]{1,63}), which the agent then leaves alone. */
static void label_of(const json_t *labels, struct al_rt_ctr *ret)
{
    const char *v = json_string_value(json_object_get(labels, AL_RUNTIME_LABEL));
    size_t n = v ? strlen(v) : 0;
    ret->ctr[0] = '\0';
    if (n == 0 || n >= AL_RUNTIME_CTR_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", v[i]))
            return;
    memcpy(ret->ctr, v, n + 1);
}

int al_runtime_parse_created(const char *body, size_t len, char *id, struct al_err *reterr)
{
    json_t *j = load(body, len, "create", reterr);
    const char *v = json_string_value(json_object_get(j, "Id"));
    int rc = 0;
    id[0] = '\0';
    if (!j)
        return AL_E_INVAL;
    if (!id_chars(v))
        rc = al_err_set(reterr, AL_E_INVAL,
                        "docker-api: create: Id: [A-Za-z0-9_.-]{1,%d} "
                        "required",
                        AL_RUNTIME_ID_MAX - 1);
    else
        memcpy(id, v, strlen(v) + 1);
    json_decref(j);
    return rc;
}

/* The runtime's words (untrusted) as printable ASCII into out. */
static void words(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && s[n] && n + 1 < cap; n++) {
        out[n] = s[n];
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f)
            out[n] = '?';
    }
    out[n] = '\0';
}

/* State of an inspect answer: Status known, ExitCode an integer in -1..255 (-1: unknown). */
static int state_of(const json_t *st, struct al_rt_ctr *ret, struct al_err *reterr)
{
    const char *status = json_string_value(json_object_get(st, "Status"));
    const json_t *code = json_object_get(st, "ExitCode");
    if (!json_is_object(st))
        return al_err_set(reterr, AL_E_INVAL, "docker-api: inspect: State: an object required");
    if ((ret->state = al_runtime_state_of(status)) == AL_RT_UNKNOWN)
        return al_err_set(reterr, AL_E_INVAL, "docker-api: inspect: State.Status: '%.40s' unknown",
                          status ? status : "(not a string)");
    if (!json_is_integer(code) || json_integer_value(code) < -1 || json_integer_value(code) > 255)
        return al_err_set(reterr, AL_E_INVAL,
                          "docker-api: inspect: State.ExitCode: an integer "
                          "in -1..255 required");
    ret->has_exit = ret->state == AL_RT_EXITED && json_integer_value(code) >= 0;
    ret->exit_code = ret->has_exit ? (int)json_integer_value(code) : 0;
    al_runtime_time(json_string_value(json_object_get(st, "StartedAt")), ret->started_at);
    if (ret->state == AL_RT_EXITED)
        al_runtime_time(json_string_value(json_object_get(st, "FinishedAt")), ret->finished_at);
    words(json_string_value(json_object_get(st, "Error")), ret->error, sizeof ret->error);
    if (!ret->error[0] && json_is_true(json_object_get(st, "OOMKilled")))
        words("killed: out of memory", ret->error, sizeof ret->error);
    return 0;
}

int al_runtime_parse_inspect(const char *body, size_t len, struct al_rt_ctr *ret,
                             struct al_err *reterr)
{
    json_t *j = load(body, len, "inspect", reterr);
    const char *id = json_string_value(json_object_get(j, "Id"));
    int rc;
    *ret = (struct al_rt_ctr){.state = AL_RT_UNKNOWN};
    if (!j)
        return AL_E_INVAL;
    if (!id_chars(id)) {
        rc = al_err_set(reterr, AL_E_INVAL,
                        "docker-api: inspect: Id: [A-Za-z0-9_.-]{1,%d} "
                        "required",
                        AL_RUNTIME_ID_MAX - 1);
        goto out;
    }
    memcpy(ret->id, id, strlen(id) + 1);
    if ((rc = state_of(json_object_get(j, "State"), ret, reterr)) < 0)
        goto out;
    label_of(json_object_get(json_object_get(j, "Config"), "Labels"), ret);
out:
    json_decref(j);
    return rc;
}

/* One entry of GET /containers/json. */
static int entry_of(const json_t *e, size_t i, struct al_rt_ctr *ret, struct al_err *reterr)
{
    const char *id = json_string_value(json_object_get(e, "Id"));
    const char *state = json_string_value(json_object_get(e, "State"));
    const json_t *labels = json_object_get(e, "Labels");
    *ret = (struct al_rt_ctr){.state = AL_RT_UNKNOWN};
    if (!json_is_object(e) || !id_chars(id))
        return al_err_set(reterr, AL_E_INVAL,
                          "docker-api: list: [%zu].Id: [A-Za-z0-9_.-]{1,%d} "
                          "required",
                          i, AL_RUNTIME_ID_MAX - 1);
    if (labels && !json_is_object(labels) && !json_is_null(labels))
        return al_err_set(reterr, AL_E_INVAL,
                          "docker-api: list: [%zu].Labels: an object "
                          "required",
                          i);
    memcpy(ret->id, id, strlen(id) + 1);
    ret->state = al_runtime_state_of(state);
    label_of(labels, ret);
    return 0;
}

int al_runtime_parse_list(const char *body, size_t len, struct al_rt_ctr **ret, size_t *n,
                          struct al_err *reterr)
{
    json_t *j = load(body, len, "list", reterr), *e;
    struct al_rt_ctr *out = NULL;
    size_t i;
    int rc = 0;
    *ret = NULL;
    *n = 0;
    if (!j)
        return AL_E_INVAL;
    if (!json_is_array(j) || json_array_size(j) > AL_RUNTIME_LIST_MAX) {
        rc = al_err_set(reterr, AL_E_INVAL, "docker-api: list: an array of at most %d required",
                        AL_RUNTIME_LIST_MAX);
        goto out;
    }
    if (!(out = calloc(json_array_size(j) + 1, sizeof *out))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(j, i, e) if ((rc = entry_of(e, i, &out[i], reterr)) < 0) break;
out:
    if (rc == 0 && json_array_size(j) > 0) {
        *ret = out;
        *n = json_array_size(j);
    } else {
        free(out);
    }
    json_decref(j);
    return rc;
}
