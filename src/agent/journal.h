/* journal.h — the results of MIG changes the agent applied but has not delivered yet (POST
 * /v1/mig-changes/{id}/result failed: the server was away). They are kept in memory and, when
 * the agent has a journal file (`allot agent --journal PATH`), in that file too, written before
 * the first delivery is tried, so that an agent restarted while the server is away still sends
 * them, first, when it returns: the work is neither lost nor done again (the server takes a
 * change's result once; the agent never applies a change whose result it holds).
 *
 * The file: {"results": [{"change": "mch_…", "body": {…the result…}}]}, at most
 * AL_JOURNAL_MAX entries and AL_JOURNAL_FILE_MAX bytes, replaced atomically (a temporary file
 * renamed over it). It is read back as untrusted input: a file that does not parse is refused
 * naming the member, and the agent does not start.
 */
#ifndef AL_AGENT_JOURNAL_H
#define AL_AGENT_JOURNAL_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AL_JOURNAL_MAX      64        /* results held (one open change per GPU: 64 GPUs) */
#define AL_JOURNAL_FILE_MAX (1 << 20) /* bytes of the file */
#define AL_JOURNAL_ID_MAX   64        /* a change id with its NUL */

struct al_journal;

/* A journal backed by the file `path` (read when it exists), or in memory only (path NULL).
 * *ret is the caller's (al_journal_free). `path` is borrowed for the journal's life. */
int al_journal_open(const char *path, struct al_journal **ret, struct al_err *reterr);
void al_journal_free(struct al_journal *j);

/* Keep `body` (a reference is taken) as change `change`'s result, replacing one held for it,
 * and write the file. AL_E_FULL when AL_JOURNAL_MAX are held; the file's write error
 * otherwise (the result is then held in memory all the same). */
int al_journal_add(struct al_journal *j, const char *change, json_t *body, struct al_err *reterr);

/* Forget change `change`'s result (delivered) and write the file. */
int al_journal_remove(struct al_journal *j, const char *change, struct al_err *reterr);

size_t al_journal_count(const struct al_journal *j);
/* The i-th result held (oldest first): its change id and body, both owned by the journal and
 * valid until the next add or remove. */
const char *al_journal_change(const struct al_journal *j, size_t i);
json_t *al_journal_body(const struct al_journal *j, size_t i);
/* Whether a result for change `change` is held. */
bool al_journal_has(const struct al_journal *j, const char *change);

#endif
