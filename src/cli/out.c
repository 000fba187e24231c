/* out.c — output helpers of the CLI: JSON printing, aligned tables, subcommand dispatch. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

int al_out_parse(const char *s, enum al_out_format *ret)
{
    if (strcmp(s, "json") == 0) {
        *ret = AL_OUT_JSON;
    } else if (strcmp(s, "table") == 0) {
        *ret = AL_OUT_TABLE;
    } else {
        fprintf(stderr, "allot: unknown output format '%s' (table, json)\n", s);
        return -1;
    }
    return 0;
}

void al_out_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(j);
}

struct al_table {
    size_t ncols, nrows, cap;
    char **cells; /* nrows * ncols, row 0 = headers */
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("allot: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

struct al_table *al_table_new(size_t ncols, const char *const *headers)
{
    struct al_table *t = xrealloc(NULL, sizeof *t);
    *t = (struct al_table){.ncols = ncols};
    al_table_add(t, headers);
    return t;
}

void al_table_add(struct al_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "-");
    t->nrows++;
}

void al_table_print(const struct al_table *t, FILE *f)
{
    size_t *w = xrealloc(NULL, t->ncols * sizeof *w);
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            w[c] = n > w[c] ? n : w[c];
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(f, "%s\n", s);
            else
                fprintf(f, "%-*s  ", (int)w[c], s);
        }
    }
    free(w);
}

void al_table_free(struct al_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

static void dispatch_help(const char *group, const struct al_cmd *cmds, FILE *f)
{
    fprintf(f, "usage: %s <command> [options]\n\ncommands:\n", group);
    for (const struct al_cmd *c = cmds; c->name; c++)
        fprintf(f, "  %-18s %s\n", c->name, c->summary);
    fprintf(f, "\nRun '%s <command> --help' for a command's options.\n", group);
}

int al_cli_dispatch(const char *group, const struct al_cmd *cmds, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        dispatch_help(group, cmds, stdout);
        return argc < 2 ? AL_EXIT_USAGE : AL_EXIT_OK;
    }
    for (const struct al_cmd *c = cmds; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", group, argv[1]);
    dispatch_help(group, cmds, stderr);
    return AL_EXIT_USAGE;
}
