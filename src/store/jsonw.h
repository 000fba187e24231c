/* jsonw.h — the compact text of a document: byte for byte what json_dumps(j, JSON_COMPACT)
 * gives, at a fraction of its cost, for the rows the store writes (requests, quotes,
 * reservations) and the answers the server gives (the same documents). jansson's dump goes
 * through a callback per piece of text, a loop check per container (a pointer printed into a
 * hash table) and a UTF-8 decode per character; on the write path it cost more than the
 * statements that wrote the rows (docs/e2e-bench.md, bench/callgrind_flow.sh). */
#ifndef AL_STORE_JSONW_H
#define AL_STORE_JSONW_H

#include <jansson.h>

/* The compact text of j, an object or an array (anything else: NULL, as json_dumps without
 * JSON_ENCODE_ANY). A new string, the caller frees it; NULL when out of memory, when a string
 * is not UTF-8 or when j holds itself (as json_dumps). */
char *al_jsonw_compact(const json_t *j);

#endif
