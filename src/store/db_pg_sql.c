/* db_pg_sql.c — the store's SQL, written with SQLite's placeholders, in PostgreSQL's: the one
 * text rewrite the PostgreSQL driver (db_pg.c) makes to a statement before it prepares it.
 * Apart from db_pg.c so that the driver stays about connections, results and errors, and so
 * that the rule (SQLite's own, below) reads on its own. */
#include "store/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bare ? takes the index one more than the largest so far, as in SQLite; quoted literals
 * and identifiers are copied as they are. */
char *al_db_pg_placeholders(const char *sql, int *nph)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1), *o = out; /* "?" becomes at most "$" and 3 digits */
    int max = 0;
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            *o++ = *p++;
            while (*p && *p != q)
                *o++ = *p++;
            if (*p)
                *o++ = *p++;
            continue;
        }
        if (*p != '?') {
            *o++ = *p++;
            continue;
        }
        p++;
        int k = 0;
        if (*p >= '0' && *p <= '9')
            for (; *p >= '0' && *p <= '9' && k < 1000; p++)
                k = k * 10 + (*p - '0');
        else
            k = max + 1;
        max = k > max ? k : max;
        o += snprintf(o, 5, "$%d", k);
    }
    *o = '\0';
    *nph = max;
    return out;
}
