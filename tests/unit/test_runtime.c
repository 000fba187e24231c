/* test_runtime.c — the agent's container runtimes (agent/runtime.h) where no service is
 * needed: the Docker log stream's demultiplexer (frames split anywhere, the last 64 KiB kept,
 * a stream that is not one refused), the tail cut to valid UTF-8 (against a naive model),
 * the state map, Docker's times, the validation of Docker's answers field by field, and the
 * refusal of a bad runtime spec. The runtimes themselves (Docker's API against a real Podman
 * service, the process runtime) and the agent's containers round:
 * tests/integration/runtime_podman.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the log stream */

/* A frame: header (stream, 0, 0, 0, big-endian length) and payload, appended to buf. */
static size_t frame(unsigned char *buf, size_t at, int stream, const char *payload, size_t n)
{
    buf[at] = (unsigned char)stream;
    buf[at + 1] = buf[at + 2] = buf[at + 3] = 0;
    buf[at + 4] = (unsigned char)(n >> 24);
    buf[at + 5] = (unsigned char)(n >> 16);
    buf[at + 6] = (unsigned char)(n >> 8);
    buf[at + 7] = (unsigned char)n;
    memcpy(buf + at + 8, payload, n);
    return at + 8 + n;
}

static char *demux_all(const unsigned char *b, size_t len, size_t step, int *rc)
{
    struct al_rt_demux d = {0};
    char *out = NULL;
    size_t n = 0;
    *rc = 0;
    for (size_t i = 0; i < len && *rc == 0; i += step)
        *rc = al_runtime_demux_feed(&d, b + i, len - i < step ? len - i : step, NULL);
    if (*rc == 0)
        *rc = al_runtime_demux_tail(&d, &out, &n, NULL);
    al_runtime_demux_free(&d);
    return out;
}

static void demux_frames_split_anywhere(void **state)
{
    unsigned char buf[256];
    size_t n = frame(buf, 0, 1, "hello ", 6);
    n = frame(buf, n, 2, "err\n", 4);
    n = frame(buf, n, 1, "", 0);
    n = frame(buf, n, 1, "bye\n", 4);
    (void)state;
    for (size_t step = 1; step <= n; step++) {
        int rc;
        char *out = demux_all(buf, n, step, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(out, "hello err\nbye\n");
        free(out);
    }
}

static void demux_refuses_what_is_not_a_stream(void **state)
{
    const char *raw = "{\"message\":\"x\"}"; /* a JSON error body, or a TTY's raw output */
    unsigned char buf[64];
    struct al_err e = {0};
    struct al_rt_demux d = {0};
    char *out = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(al_runtime_demux_feed(&d, raw, strlen(raw), &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "frame header"));
    assert_int_equal(al_runtime_demux_feed(&d, "", 0, NULL), AL_E_INVAL); /* stays refused */
    assert_int_equal(al_runtime_demux_tail(&d, &out, &n, NULL), AL_E_INVAL);
    assert_null(out);
    al_runtime_demux_free(&d);
    /* stream 1 with a non-zero padding byte */
    frame(buf, 0, 1, "x", 1);
    buf[2] = 1;
    assert_int_equal(al_runtime_demux_feed(&d, buf, 9, NULL), AL_E_INVAL);
    al_runtime_demux_free(&d);
}

/* 300 KiB of numbered lines in frames of odd sizes: the tail is exactly the last 64 KiB. */
static void demux_keeps_the_last_64k(void **state)
{
    size_t total = 300 * 1024, n = 0, at = 0;
    char *text = malloc(total), *out;
    unsigned char *buf = malloc(total + 8 * 1000);
    int rc;
    (void)state;
    assert_non_null(text);
    assert_non_null(buf);
    for (size_t i = 0; i < total; i++)
        text[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
    for (size_t sz = 1; at < total; sz = sz * 7 % 9973 + 1) {
        size_t k = total - at < sz ? total - at : sz;
        n = frame(buf, n, 1 + (int)(at % 2), text + at, k);
        at += k;
    }
    out = demux_all(buf, n, 4093, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(out), AL_RUNTIME_LOG_MAX);
    assert_memory_equal(out, text + total - AL_RUNTIME_LOG_MAX, AL_RUNTIME_LOG_MAX);
    free(out);
    /* one frame cut short at the end: what came is kept */
    n = frame(buf, 0, 1, "abcdef", 6) - 3;
    out = demux_all(buf, n, 5, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "abc");
    free(out);
    free(text);
    free(buf);
}

/* ---- the tail as text */

static void tail_text_replaces_invalid_utf8_and_nul(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"plain\n", 6, "plain\n"},
        {"a\0b", 3, "a?b"},
        {"\xc3\xa9t\xc3\xa9", 5, "\xc3\xa9t\xc3\xa9"}, /* été */
        {"\xf0\x9f\x98\x80!", 5, "\xf0\x9f\x98\x80!"}, /* U+1F600 */
        {"\xc0\x80", 2, "??"},                         /* overlong NUL */
        {"\xe0\x80\xaf", 3, "???"},                    /* overlong '/' */
        {"\xed\xa0\x80", 3, "???"},                    /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "????"},               /* over U+10FFFF */
        {"\xf5x\xff\xfe", 4, "?x??"},                  /* never valid */
        {"ab\xe2\x82", 4, "ab??"},                     /* cut at the end */
        {"\x80z", 2, "?z"},                            /* a stray continuation */
    };
    char buf[32];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 0, off;
        memcpy(buf, cases[i].in, cases[i].len);
        off = al_runtime_tail_text(buf, cases[i].len, 1000, &n);
        assert_int_equal(off, 0);
        assert_int_equal(n, strlen(cases[i].want));
        assert_memory_equal(buf, cases[i].want, n);
    }
}

static void tail_text_cuts_at_a_character(void **state)
{
    char buf[16];
    size_t n = 0, off;
    (void)state;
    /* "x€€": the last 4 bytes start inside the first € → that € is left out, not '?' */
    memcpy(buf, "x\xe2\x82\xac\xe2\x82\xac", 7);
    off = al_runtime_tail_text(buf, 7, 4, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(buf + off, "\xe2\x82\xac", 3);
    /* a cut on a character's first byte keeps it */
    memcpy(buf, "ab\xc3\xa9", 4);
    off = al_runtime_tail_text(buf, 4, 2, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(buf + off, "\xc3\xa9", 2);
    /* nothing to cut: the whole, even when it starts with continuation bytes */
    memcpy(buf, "\x82\xac", 2);
    off = al_runtime_tail_text(buf, 2, 10, &n);
    assert_int_equal(off, 0);
    assert_memory_equal(buf, "??", 2);
}

/* Random bytes: the result is accepted by jansson as a string (valid UTF-8), has no NUL, and
 * keeps every valid ASCII byte where it was. */
static void tail_text_output_is_valid_utf8(void **state)
{
    unsigned seed = 12345;
    char buf[512], orig[512];
    (void)state;
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(round % 500) + 1, n = 0, off;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
        }
        memcpy(orig, buf, len);
        off = al_runtime_tail_text(buf, len, 300, &n);
        json_t *s = json_stringn(buf + off, n);
        assert_non_null(s);
        json_decref(s);
        assert_null(memchr(buf + off, '\0', n));
        for (size_t i = off; i < len; i++)
            if (orig[i] > 0 && (unsigned char)orig[i] < 0x80)
                assert_int_equal(buf[i], orig[i]);
    }
}

/* ---- states and times */

static void states_map(void **state)
{
    (void)state;
    assert_int_equal(al_runtime_state_of("created"), AL_RT_CREATED);
    assert_int_equal(al_runtime_state_of("configured"), AL_RT_CREATED); /* Podman */
    assert_int_equal(al_runtime_state_of("running"), AL_RT_RUNNING);
    assert_int_equal(al_runtime_state_of("paused"), AL_RT_RUNNING);
    assert_int_equal(al_runtime_state_of("exited"), AL_RT_EXITED);
    assert_int_equal(al_runtime_state_of("stopped"), AL_RT_EXITED); /* Podman */
    assert_int_equal(al_runtime_state_of("dead"), AL_RT_EXITED);
    assert_int_equal(al_runtime_state_of("Running"), AL_RT_UNKNOWN);
    assert_int_equal(al_runtime_state_of(""), AL_RT_UNKNOWN);
    assert_int_equal(al_runtime_state_of(NULL), AL_RT_UNKNOWN);
}

static void docker_times(void **state)
{
    char out[24];
    (void)state;
    al_runtime_time("2026-12-07T04:49:19.57091897Z", out);
    assert_string_equal(out, "2026-12-07T04:49:19Z");
    al_runtime_time("2026-12-07T04:49:19Z", out);
    assert_string_equal(out, "2026-12-07T04:49:19Z");
    al_runtime_time("2026-12-07T04:49:19.5+00:00", out);
    assert_string_equal(out, "2026-12-07T04:49:19Z");
    al_runtime_time("0001-01-01T00:00:00Z", out); /* never */
    assert_string_equal(out, "");
    al_runtime_time("2026-12-07T04:49:19+02:00", out); /* not UTC: not taken */
    assert_string_equal(out, "");
    al_runtime_time("2026-12-07 04:49:19Z", out);
    assert_string_equal(out, "");
    al_runtime_time("2026-12-07T04:49:19.Zjunk", out);
    assert_string_equal(out, "");
    al_runtime_time(NULL, out);
    assert_string_equal(out, "");
}

/* ---- Docker's answers */

#define PARSE_INSPECT(body, c, e) al_runtime_parse_inspect(body, strlen(body), c, e)

static void inspect_answers(void **state)
{
    struct al_rt_ctr c;
    struct al_err e = {0};
    (void)state;
    assert_int_equal(
        PARSE_INSPECT("{\"Id\":\"abc123\",\"State\":{\"Status\":\"exited\",\"ExitCode\":"
                      "3,\"StartedAt\":\"2026-01-02T03:04:05.1Z\",\"FinishedAt\":"
                      "\"2026-01-02T03:04:06Z\",\"Error\":\"\"},\"Config\":{\"Labels\""
                      ":{\"allot.container\":\"ctr_0123456789abcdef\"}}}",
                      &c, &e),
        0);
    assert_string_equal(c.id, "abc123");
    assert_string_equal(c.ctr, "ctr_0123456789abcdef");
    assert_int_equal(c.state, AL_RT_EXITED);
    assert_true(c.has_exit);
    assert_int_equal(c.exit_code, 3);
    assert_string_equal(c.started_at, "2026-01-02T03:04:05Z");
    assert_string_equal(c.finished_at, "2026-01-02T03:04:06Z");
    /* running: no exit code, no end; the error and OOM words kept as printable ASCII */
    assert_int_equal(
        PARSE_INSPECT("{\"Id\":\"a\",\"State\":{\"Status\":\"running\",\"ExitCode\":0,"
                      "\"FinishedAt\":\"2026-01-02T03:04:06Z\",\"Error\":\"bad\\n\\u00e9"
                      "\"}}",
                      &c, &e),
        0);
    assert_false(c.has_exit);
    assert_string_equal(c.finished_at, "");
    assert_string_equal(c.ctr, "");
    assert_string_equal(c.error, "bad???");
}

static void inspect_refusals_name_the_field(void **state)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"not json", "not JSON"},
        {"{\"Id\":\"a\",\"Id\":\"b\",\"State\":{}}", "not JSON"}, /* duplicate keys */
        {"[]", "Id"},
        {"{\"Id\":\"a/../b\",\"State\":{\"Status\":\"running\",\"ExitCode\":0}}", "Id"},
        {"{\"Id\":\"\",\"State\":{\"Status\":\"running\",\"ExitCode\":0}}", "Id"},
        {"{\"Id\":\"a\"}", "State"},
        {"{\"Id\":\"a\",\"State\":{\"Status\":\"zombie\",\"ExitCode\":0}}", "State.Status"},
        {"{\"Id\":\"a\",\"State\":{\"Status\":7,\"ExitCode\":0}}", "State.Status"},
        {"{\"Id\":\"a\",\"State\":{\"Status\":\"exited\",\"ExitCode\":256}}", "State.ExitCode"},
        {"{\"Id\":\"a\",\"State\":{\"Status\":\"exited\",\"ExitCode\":\"0\"}}", "State.ExitCode"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct al_rt_ctr c;
        struct al_err e = {0};
        assert_int_equal(PARSE_INSPECT(cases[i].body, &c, &e), AL_E_INVAL);
        if (!strstr(e.msg, cases[i].field))
            fail_msg("case %zu: '%s' does not name %s", i, e.msg, cases[i].field);
    }
}

#define CREATED_OK "{\"Id\":\"f00\",\"Warnings\":[]}"

static void created_and_list_answers(void **state)
{
    char id[AL_RUNTIME_ID_MAX], big[200];
    struct al_rt_ctr *cs = NULL;
    struct al_err e = {0};
    size_t n = 0;
    const char *list = "[{\"Id\":\"a1\",\"State\":\"running\",\"Labels\":{\"allot.container\":"
                       "\"ctr_1\"}},{\"Id\":\"b2\",\"State\":\"exited\",\"Labels\":null},"
                       "{\"Id\":\"c3\",\"State\":\"exited\",\"Labels\":{\"allot.container\":"
                       "\"../x\"}}]";
    (void)state;
    assert_int_equal(al_runtime_parse_created(CREATED_OK, strlen(CREATED_OK), id, &e), 0);
    assert_string_equal(id, "f00");
    assert_int_equal(al_runtime_parse_created("{\"Id\":5}", 8, id, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "Id"));
    memset(big, 'a', sizeof big);
    snprintf(big, sizeof big, "{\"Id\":\"%0150d\"}", 0);
    assert_int_equal(al_runtime_parse_created(big, strlen(big), id, &e), AL_E_INVAL);

    assert_int_equal(al_runtime_parse_list(list, strlen(list), &cs, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(cs[0].ctr, "ctr_1");
    assert_int_equal(cs[0].state, AL_RT_RUNNING);
    assert_string_equal(cs[1].ctr, "");
    assert_string_equal(cs[2].ctr, ""); /* not a plausible id: left alone */
    free(cs);
    assert_int_equal(al_runtime_parse_list("[]", 2, &cs, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(al_runtime_parse_list("{}", 2, &cs, &n, &e), AL_E_INVAL);
    assert_int_equal(al_runtime_parse_list("[{\"State\":\"x\"}]", 15, &cs, &n, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "[0].Id"));
    assert_int_equal(al_runtime_parse_list("[{\"Id\":\"a\",\"Labels\":[]}]", 24, &cs, &n, &e),
                     AL_E_INVAL);
    assert_non_null(strstr(e.msg, "Labels"));
    assert_null(cs);
}

static void list_over_its_bound_is_refused(void **state)
{
    size_t cap = (AL_RUNTIME_LIST_MAX + 1) * 12 + 8, len = 0, n = 0;
    char *body = malloc(cap);
    struct al_rt_ctr *cs = NULL;
    struct al_err e = {0};
    (void)state;
    assert_non_null(body);
    body[len++] = '[';
    for (int i = 0; i <= AL_RUNTIME_LIST_MAX; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"Id\":\"x\"}", i ? "," : "");
    body[len++] = ']';
    assert_int_equal(al_runtime_parse_list(body, len, &cs, &n, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "at most"));
    free(body);
}

static void open_refuses_a_bad_spec(void **state)
{
    struct al_runtime *rt = NULL;
    struct al_err e = {0};
    (void)state;
    assert_int_equal(al_runtime_open("docker", false, &rt, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "docker-api:SOCKET or process"));
    assert_int_equal(al_runtime_open("docker-api:relative.sock", false, &rt, &e), AL_E_INVAL);
    assert_int_equal(al_runtime_open("docker-api:", false, &rt, &e), AL_E_INVAL);
    char longer[160] = "docker-api:/"; /* a unix socket's path holds 107 bytes */
    memset(longer + 12, 's', 107);
    assert_int_equal(al_runtime_open(longer, false, &rt, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "at most 107 bytes"));
    assert_null(rt);
}

/* A runtime several agents share is scoped to one node: a name of the API's characters only. */
static void scope_takes_a_node_name(void **state)
{
    (void)state;
    struct al_runtime *rt = NULL;
    struct al_err e = {0};
    char longname[AL_RUNTIME_NODE_MAX + 1];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(al_runtime_open("docker-api:/nonexistent/podman.sock", false, &rt, &e), 0);
    assert_int_equal(al_runtime_scope(rt, "", &e), AL_E_INVAL);
    assert_int_equal(al_runtime_scope(rt, "a b", &e), AL_E_INVAL);
    assert_int_equal(al_runtime_scope(rt, "n1\",\"x", &e), AL_E_INVAL); /* no filter injection */
    assert_int_equal(al_runtime_scope(rt, longname, &e), AL_E_INVAL);
    assert_int_equal(al_runtime_scope(rt, "pool-h100.1_a", &e), 0);
    al_runtime_close(rt);
    char dir[] = "/tmp/al_rtscope_XXXXXX", sub[64];
    struct stat st;
    assert_non_null(mkdtemp(dir));
    char spec[64];
    snprintf(spec, sizeof spec, "process:%s", dir);
    assert_int_equal(al_runtime_open(spec, false, &rt, &e), 0);
    assert_int_equal(al_runtime_scope(rt, "n1", &e), 0); /* node n1's containers in DIR/n1 */
    snprintf(sub, sizeof sub, "%s/n1", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(al_runtime_ping(rt, &e), 0);
    al_runtime_close(rt);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demux_frames_split_anywhere),
        cmocka_unit_test(demux_refuses_what_is_not_a_stream),
        cmocka_unit_test(demux_keeps_the_last_64k),
        cmocka_unit_test(tail_text_replaces_invalid_utf8_and_nul),
        cmocka_unit_test(tail_text_cuts_at_a_character),
        cmocka_unit_test(tail_text_output_is_valid_utf8),
        cmocka_unit_test(states_map),
        cmocka_unit_test(docker_times),
        cmocka_unit_test(inspect_answers),
        cmocka_unit_test(inspect_refusals_name_the_field),
        cmocka_unit_test(created_and_list_answers),
        cmocka_unit_test(list_over_its_bound_is_refused),
        cmocka_unit_test(open_refuses_a_bad_spec),
        cmocka_unit_test(scope_takes_a_node_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
