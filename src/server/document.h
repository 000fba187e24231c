/* document.h — a resource as a printable HTML page (a contract, a quote): the org it is for,
 * then the resource's fields, each array of objects (price lines, allocations, rates) as a
 * table. Every value is HTML-escaped; the page has no scripts and loads nothing. Money fields
 * (`*_micros`) are shown in currency units, exactly to the micro-unit (core/money.h's
 * al_money_fmt), under headings that say so ("total_micros" is headed "total", `_` is a space);
 * an object (a quote's contract) as its scalar members in a line. Internal to src/server. */
#ifndef AL_SERVER_DOCUMENT_H
#define AL_SERVER_DOCUMENT_H

#include <jansson.h>
#include <stddef.h>

/* `s` with & < > " ' as HTML entities: a malloc'd string (free()), or NULL when out of
 * memory. */
char *al_doc_escape(const char *s);

/* The page: title `title` (e.g. "Contract 7"), the org `org` ({name, customer_code|null,
 * display_name|null}, may be NULL) and the fields of `res`. Returns a malloc'd NUL-terminated
 * string (free()), or NULL when out of memory. */
char *al_doc_render(const char *title, const json_t *org, const json_t *res);

#endif
