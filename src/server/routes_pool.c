/* routes_pool.c — GET /v1/pool: the general pool's GPUs free for a pool container now, by
 * model, each with the time it stays free until, and the free MIG instances of its GPUs in MIG
 * mode (server/poolgpu.h builds the answer; docs/api.md, "Pool"). Any signed-in user may read
 * it: it names GPUs and nodes (a GPU id names its node already) and times, never who holds
 * what. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/poolgpu.h"
#include "server/routes.h"

static int get_pool(struct al_ctx *c)
{
    const char *name = al_http_query(c, "model");
    const struct al_gpu_model *m = NULL;
    json_t *doc = NULL;
    if (name && !(m = al_catalog_find(name)))
        return al_http_fail(c, AL_E_INVAL, "model",
                            "model must be a catalog model (GET /v1/models)");
    int rc = al_poolgpu_list(c, m, &doc);
    return rc ? rc : al_http_reply(c, 200, doc);
}

const struct al_route al_routes_pool[] = {
    {"GET", "/v1/pool", get_pool, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER, false,
     false},
    {NULL, NULL, NULL, 0, false, false},
};
