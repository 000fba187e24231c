/* migchange.h — a MIG change: the plan that turns one GPU's layout into the one its
 * reservations need, the safety check that decides whether it may be applied now, the rule for
 * forcing it, and the order of operations the agent follows, with the rollback of a change that
 * failed part-way.
 *
 * Pure: every fact (the layouts, the reservations, what the agent last saw, the
 * acknowledgements, the time) comes in as an argument; nothing is read from a clock, a file or
 * the network, nothing is allocated. docs/migchange.md explains the checks and their order.
 * migchange.c: plan, operations, rollback, the GPU state they act on; migchange_check.c: the
 * safety check and the force rule.
 */
#ifndef AL_CORE_MIGCHANGE_H
#define AL_CORE_MIGCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/layout.h"
#include "core/window.h"

#define AL_MIGCHANGE_ID_MAX     64  /* ids (GPU, reservation, org, container) with their NUL */
#define AL_MIGCHANGE_UUID_MAX   96  /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */
#define AL_MIGCHANGE_RSV_MAX    16  /* reservations a change serves, or that hold its GPU now */
#define AL_MIGCHANGE_PROC_MAX   64  /* processes the agent reports on one GPU */
#define AL_MIGCHANGE_CONT_MAX   32  /* containers on one GPU */
#define AL_MIGCHANGE_ACK_MAX    16  /* acknowledgements (one per org) */
#define AL_MIGCHANGE_REASON_MAX 500 /* characters of a force reason */
/* An agent whose last heartbeat is older than this is not "online" for a change. */
#define AL_MIGCHANGE_HEARTBEAT_MAX_S 90
/* A late change for a node without change windows may run during this long from now. */
#define AL_MIGCHANGE_LATE_S 86400

/* A reservation with an instance on the GPU: one the change serves (its instance in `to`), or
 * one that holds an instance of the current layout (in `from`). */
struct al_migchange_rsv {
    char id[AL_MIGCHANGE_ID_MAX];
    char org[AL_MIGCHANGE_ID_MAX];
    int64_t start; /* when it begins (Unix seconds): a served one needs its layout by then */
    bool whole;    /* holds the whole GPU (MIG off); p is then unused */
    struct al_placement p; /* its instance (fixed start) */
};

/* What the planner is given. Every pointer is borrowed for the call only. */
struct al_migchange_input {
    const char *gpu;              /* the GPU's id */
    const struct al_layout *from; /* the layout on the GPU now (empty when MIG is off) */
    bool from_mig;                /* MIG mode is on now */
    const struct al_layout *to;   /* the layout the served reservations need */
    bool to_mig;                  /* MIG mode wanted (false: the empty layout, whole GPU) */
    const struct al_migchange_rsv *serves; /* the reservations that need `to`, at least one */
    unsigned nserves;
    const struct al_migchange_rsv *holders; /* the reservations holding instances of `from` */
    unsigned nholders;
    const struct al_windows *windows; /* the node's change windows */
    int64_t now;
};

/* A planned change. A plain value: copy it, store it; nothing in it is owned. */
struct al_migchange {
    char gpu[AL_MIGCHANGE_ID_MAX];
    struct al_layout from, to; /* sorted; the same model */
    bool from_mig, to_mig;
    bool mode_switch; /* from_mig != to_mig: allowed only while the GPU is wholly idle */
    unsigned nsteps;
    struct al_mig_step steps[AL_DIFF_MAX]; /* al_layout_diff(from, to): destroys, then creates */
    unsigned nserves;
    struct al_migchange_rsv serves[AL_MIGCHANGE_RSV_MAX];
    unsigned nholders;
    struct al_migchange_rsv holders[AL_MIGCHANGE_RSV_MAX];
    int64_t run_after, run_before; /* the change window chosen: [run_after, run_before) */
    bool late; /* no window closes before the first served reservation starts: it runs after */
};

/* Plan the change of in->from into in->to. The window is the latest of the node's windows that
 * closes before the earliest served reservation starts (al_window_before from in->now). When
 * none closes between now and that start (it is too near, or past), the change is planned late:
 * into the next occurrence open at or after now (al_window_next, its start moved up to now when
 * it is open), with ret->late set. A node without windows (in->windows->n == 0) may change at
 * any time: [now, start), or late [now, now + AL_MIGCHANGE_LATE_S) when the start is not after
 * now. Returns 0 with *ret filled, or AL_E_INVAL for bad input (the field named: an invalid
 * layout, layouts of two models, nothing to change, a served reservation whose instance is not
 * in `to`, a holder whose instance is not in `from`, a bad id, a time out of range). */
int al_migchange_plan(const struct al_migchange_input *in, struct al_migchange *ret,
                      struct al_err *reterr);

/* True when the change destroys instance p (p is in `from` and not in `to`). */
bool al_migchange_destroys(const struct al_migchange *c, struct al_placement p);

/* ---- what the agent does ------------------------------------------------------------------- */

/* One driver operation. A layout step is two of them: a create is the GPU instance and then its
 * one compute instance spanning it (as `nvidia-smi mig -cgi P -C` does); a destroy is the compute
 * instance and then its GPU instance (NVML refuses to destroy a GPU instance with a compute
 * instance on it). */
enum al_migop_kind {
    AL_MIGOP_MIG_ON,     /* enable MIG mode */
    AL_MIGOP_DESTROY_CI, /* destroy the compute instance of the GPU instance at p */
    AL_MIGOP_DESTROY_GI, /* destroy the GPU instance at p */
    AL_MIGOP_CREATE_GI,  /* create the GPU instance p at its start */
    AL_MIGOP_CREATE_CI,  /* create the compute instance spanning the GPU instance at p */
    AL_MIGOP_MIG_OFF,    /* disable MIG mode */
};

struct al_migop {
    enum al_migop_kind kind;
    struct al_placement p; /* unused by MIG_ON / MIG_OFF */
};

#define AL_MIGOP_MAX (2 * AL_DIFF_MAX + 2)

/* Stable names: "mig_on", "destroy_ci", "destroy_gi", "create_gi", "create_ci", "mig_off". */
const char *al_migop_name(enum al_migop_kind k);

/* The operations of change c in the order the agent applies them: MIG on when switching it on;
 * each destroy step as DESTROY_CI, DESTROY_GI; each create step as CREATE_GI, CREATE_CI; MIG off
 * when switching it off. Returns their number (at most AL_MIGOP_MAX). */
unsigned al_migchange_ops(const struct al_migchange *c, struct al_migop ops[AL_MIGOP_MAX]);

/* The rollback of a change that failed after the first `ndone` of its operations succeeded
 * (the failed one had no effect: NVML's calls either do what they say or nothing): the inverse
 * of each done operation, last first. Applied to the state after the done ones it gives the
 * state before the change. Returns their number (ndone), or AL_E_INVAL when ndone is over
 * AL_MIGOP_MAX. */
int al_migchange_rollback(const struct al_migop *done, unsigned ndone,
                          struct al_migop ret[AL_MIGOP_MAX], struct al_err *reterr);

/* The MIG state of one GPU as the operations see it: the mode, the GPU instances (a layout),
 * and which of them has its compute instance. */
struct al_mig_gpu {
    bool mig;
    struct al_layout gi;
    bool ci[AL_LAYOUT_MAX]; /* ci[i]: gi.p[i] has its compute instance */
};

/* The GPU state a change starts from: c's `from`, every instance with its compute instance. */
void al_migchange_start(const struct al_migchange *c, struct al_mig_gpu *ret);

/* Apply one operation to g under NVML's rules: MIG mode changes only with no instance; a GPU
 * instance is created only in MIG mode, at a placement the layout rules accept beside the ones
 * there (al_layout_can_add), and destroyed only without its compute instance; a compute
 * instance needs its GPU instance, and one only. Returns 0, or AL_E_STATE with the operation and
 * the reason named (g unchanged). */
int al_mig_gpu_apply(struct al_mig_gpu *g, struct al_migop op, struct al_err *reterr);

/* True when g is the layout l (as a set of placements), every instance with its compute
 * instance, in MIG mode `mig`. */
bool al_mig_gpu_is(const struct al_mig_gpu *g, const struct al_layout *l, bool mig);

/* ---- the safety check ---------------------------------------------------------------------- */

/* What the agent last reported about the GPU. Counts beyond the arrays are refused. */
struct al_mig_obs_instance {
    struct al_placement p;
    char uuid[AL_MIGCHANGE_UUID_MAX]; /* "MIG-…" */
};

struct al_mig_obs_process {
    uint32_t pid;
    uint64_t used_bytes;
    int instance; /* index into instances, or -1: on the GPU outside any instance (MIG off) */
};

struct al_mig_obs_container {
    char id[AL_MIGCHANGE_ID_MAX];
    char org[AL_MIGCHANGE_ID_MAX];
    int instance; /* index into instances, or -1: the whole GPU */
};

struct al_mig_observed {
    bool mig_current, mig_pending; /* MIG mode now, and after the next GPU reset */
    unsigned ninstances;
    struct al_mig_obs_instance instances[AL_LAYOUT_MAX];
    unsigned nprocesses;
    struct al_mig_obs_process processes[AL_MIGCHANGE_PROC_MAX];
    unsigned ncontainers;
    struct al_mig_obs_container containers[AL_MIGCHANGE_CONT_MAX];
    bool agent_online;
    int64_t heartbeat_age_s; /* seconds since the agent's last heartbeat */
    bool gpu_healthy;
};

/* An org admin's acknowledgement: their jobs there may be shut down, their data is backed up. */
struct al_migchange_ack {
    char org[AL_MIGCHANGE_ID_MAX];
    bool job_shutdown;
    bool data_backup;
};

/* The checks, in the order they are reported. */
enum al_migcheck_id {
    AL_MIGCHECK_LAYOUT_VALID,
    AL_MIGCHECK_MIG_MODE,
    AL_MIGCHECK_IDLE_FOR_MODE_SWITCH,
    AL_MIGCHECK_NO_PROCESS_ON_DESTROYED,
    AL_MIGCHECK_NO_CONTAINER_ON_DESTROYED,
    AL_MIGCHECK_IN_WINDOW,
    AL_MIGCHECK_ACKNOWLEDGED,
    AL_MIGCHECK_AGENT_ONLINE,
    AL_MIGCHECK_GPU_HEALTHY,
    AL_MIGCHECK_CURRENT_MATCHES_OBSERVED,
    AL_MIGCHECK_COUNT
};

#define AL_MIGCHECK_FOUND_MAX 640

struct al_migcheck {
    enum al_migcheck_id id;
    bool pass;
    char found[AL_MIGCHECK_FOUND_MAX]; /* a sentence: what was found (truncated with "...") */
};

struct al_migcheck_report {
    bool pass;                                    /* every check passed */
    unsigned nfailed;                             /* checks that failed */
    struct al_migcheck checks[AL_MIGCHECK_COUNT]; /* indexed by enum al_migcheck_id */
};

/* Stable snake_case name of a check ("layout_valid" …); "unknown" out of range. */
const char *al_migcheck_name(enum al_migcheck_id id);

/* Run every check of change c against what the agent observed, the acknowledgements and the
 * time; each check is computed even when an earlier one failed, so that an operator sees all.
 * The orgs that must acknowledge ("affected") are those with a process, a container or a held
 * reservation on an instance the change destroys (with a mode switch: anywhere on the GPU).
 * Returns 0 with *ret filled, or AL_E_INVAL when the observation itself is malformed (a count
 * over its array, a profile the model lacks, an instance index out of range: named). */
int al_migchange_check(const struct al_migchange *c, const struct al_mig_observed *obs,
                       const struct al_migchange_ack *acks, unsigned nacks, int64_t now,
                       struct al_migcheck_report *ret, struct al_err *reterr);

/* Whether the failed checks of r may be overridden: only with force and a reason (1 to
 * AL_MIGCHANGE_REASON_MAX printable characters, not all spaces), and never when layout_valid or
 * current_matches_observed failed (applying a layout that is invalid, or that does not match
 * what is on the GPU, is unsafe whatever the reason). Returns 0 when the change may be applied
 * (all checks pass, or force allowed), AL_E_STATE when checks fail and force is not given,
 * AL_E_INVAL for a missing or bad reason, AL_E_FORBIDDEN naming the check that cannot be
 * forced. */
int al_migchange_may_force(const struct al_migcheck_report *r, bool force, const char *reason,
                           struct al_err *reterr);

#endif
