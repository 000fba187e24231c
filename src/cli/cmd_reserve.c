/* cmd_reserve.c — `allot reserve`: a self-service reservation in one call (POST
 * /v1/reservations), of an offering listed by `allot offerings` or of a full ask, with an
 * Idempotency-Key (--idempotency-key, or random) so that a retry never reserves or charges
 * twice. */
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>

/* The flags, in this order: a.val[i] is flag i (OFFERING, DURATION below name two). */
static const struct al_opt reserve_opts[] = {
    {"offering", AL_ARG_STR, "offering", "an offering's id (allot offerings); or give an ask"},
    {"org", AL_ARG_STR, "org", "organization (operator: required; org admin: own)"},
    {"kind", AL_ARG_STR, "kind", "gpu (default) or mig"},
    {"model", AL_ARG_STR, "model", "GPU model, e.g. H100-80GB"},
    {"min-memory", AL_ARG_INT, "min_memory_gb", "at least this many GB per GPU / instance"},
    {"count", AL_ARG_INT, "count", "number of GPUs or instances"},
    {"profile", AL_ARG_STR, "profile", "MIG profile, e.g. 3g.40gb (kind mig)"},
    {"instance-memory", AL_ARG_INT, "instance_memory_gb", "GB per MIG instance (kind mig)"},
    {"duration", AL_ARG_STR, NULL, "length: hours (24, 24h) or days (2d)"},
    {"earliest", AL_ARG_TIME, "earliest_start", "earliest start (default now)"},
    {"latest", AL_ARG_TIME, "latest_start", "latest start (default: the earliest)"},
    {"min-tflops-bf16", AL_ARG_INT, "min_tflops_bf16", "at least N dense BF16 TFLOPS per GPU"},
    {"min-memory-bandwidth-gbs", AL_ARG_INT, "min_memory_bandwidth_gbs",
     "at least N GB/s of memory bandwidth per GPU / instance"},
    {"label", AL_ARG_PAIRS, "labels", "only nodes labelled k=v (repeatable: all must match)"},
    {"same-node", AL_ARG_BOOL, "same_node", "all GPUs on one node"},
    {"zone", AL_ARG_STR, "zone", "zone of the nodes"},
    {"notes", AL_ARG_STR, "notes", "notes for the provider"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};
enum { OFFERING = 0, ORG = 1, KIND = 2, COUNT = 5, DURATION = 8, EARLIEST = 9, IDEM = 17 };

/* What a person sees: the reservation and what it was charged. */
static const struct al_col reserved_cols[] = {
    {"reservation", "id"},      {"state", "state"},
    {"model", "model"},         {"count", "count"},
    {"start", "start"},         {"end", "end"},
    {"total", "total_micros"},  {"charged", "billing.charged_micros"},
    {"terms", "payment_terms"},
};

/* "24", "24h" or "2d" as whole hours (1 .. 5 years); -1 when it is none of these. */
static long long duration_hours(const char *s)
{
    char num[24];
    size_t n = strlen(s);
    long long v, mult = 1;
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n + 1);
    if (num[n - 1] == 'h' || num[n - 1] == 'd') {
        mult = num[n - 1] == 'd' ? 24 : 1;
        num[n - 1] = '\0';
    }
    if (al_args_int(num, &v) != 0 || v < 1 || v > 5LL * 366 * 24 / mult)
        return -1;
    return v * mult;
}

/* The ask's body from the flags: an offering alone (with --org), or the ask's members with
 * duration_hours and earliest_start (default now). Returns 0, or the exit status. */
static int reserve_body(struct al_args *a, json_t *body)
{
    if (a->val[OFFERING]) {
        for (int i = 0; reserve_opts[i].name; i++)
            if (a->val[i] && i != OFFERING && i != ORG && i != IDEM)
                return al_args_usage_error(a, "--offering takes no ask flags: not with",
                                           reserve_opts[i].name);
    } else {
        if (!a->val[COUNT] || !a->val[DURATION])
            return al_args_usage_error(a, "give --offering, or an ask with --count and --duration",
                                       NULL);
        if (!a->val[KIND])
            a->val[KIND] = "gpu";
        if (!a->val[EARLIEST])
            a->val[EARLIEST] = "now";
    }
    if (al_args_to_json(a, body) != 0)
        return AL_EXIT_USAGE;
    if (a->val[OFFERING])
        return 0;
    long long h = duration_hours(a->val[DURATION]);
    if (h < 0)
        return al_args_usage_error(a, "--duration: hours (24, 24h) or days (2d), at most 5 years",
                                   NULL);
    json_object_set_new(body, "duration_hours", json_integer(h));
    return 0;
}

int al_cmd_reserve(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot reserve --offering ID | --model M --count N --duration 24h [--earliest T "
        "--latest T …]",
        "Reserve self-service in one call: checked, charged per the contract and held, or "
        "refused with the reason.",
        0, 0, reserve_opts};
    struct al_args a;
    struct al_conn c = {0};
    json_t *body = NULL, *ans = NULL;
    char kbuf[48];
    const char *key;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!(body = json_object())) {
        fputs("allot: out of memory\n", stderr);
        return AL_EXIT_FAIL;
    }
    if ((rc = reserve_body(&a, body)) != 0)
        goto out;
    if (!(key = al_conn_idem_key(&a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK)
        goto out;
    if ((rc = al_conn_call(&c, "POST", "/v1/reservations", body, key, &ans)) == AL_EXIT_OK)
        al_conn_print(&c, ans, reserved_cols, sizeof reserved_cols / sizeof reserved_cols[0]);
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}
