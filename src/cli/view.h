/* view.h — readable output of the server's JSON objects: lists as aligned tables with chosen
 * columns, one object as "key: value" lines with its arrays of objects as sub-tables. Money
 * fields (ending "_micros") print as decimal currency; everything else as the server sent it. */
#ifndef AL_CLI_VIEW_H
#define AL_CLI_VIEW_H

#include <jansson.h>
#include <stdio.h>

struct al_col {
    const char *header;
    const char *path; /* dotted field path: "quote.total_micros"; "#gpus": an array's length */
};

/* The value at dotted `path` under `obj` (borrowed), or NULL. */
json_t *al_view_get(json_t *obj, const char *path);

/* `v` as a table cell in `buf`: strings as is, integers, money for *_micros keys (`key` may be
 * NULL), true/false, arrays and objects as compact JSON cut to fit. Returns buf. */
const char *al_view_cell(json_t *v, const char *key, char *buf, size_t cap);

/* A table of `items` (a JSON array of objects) with `ncols` columns. */
void al_view_list(json_t *items, const struct al_col *cols, size_t ncols, FILE *f);

/* One object: scalars and nested objects as "key: value", arrays of objects as tables. */
void al_view_object(json_t *obj, FILE *f);

/* A short summary of one object, for the commands that change it (the id and state stay in
 * sight; `show` and -o json have the rest): one "header: value" line per column whose value
 * is present and not null. A money column is followed by the currency next to it
 * ("total: 3360.00 USD"); a "#path" column prints the array's length. */
void al_view_brief(json_t *obj, const struct al_col *cols, size_t ncols, FILE *f);

#endif
