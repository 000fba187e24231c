/* test_err.c — unit tests of core/err: codes, names, messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/err.h"

static void test_set_returns_code_and_formats(void **state)
{
    (void)state;
    struct al_err e = {0};
    assert_int_equal(al_err_set(&e, AL_E_INVAL, "bad start %u for %s", 3u, "3g.40gb"), AL_E_INVAL);
    assert_int_equal(e.code, AL_E_INVAL);
    assert_string_equal(e.msg, "bad start 3 for 3g.40gb");
    assert_int_equal(al_err_set(NULL, AL_E_NOFIT, "ignored"), AL_E_NOFIT);
}

static void test_set_truncates_long_messages(void **state)
{
    (void)state;
    struct al_err e;
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    al_err_set(&e, AL_E_RANGE, "%s", big);
    assert_int_equal(strlen(e.msg), AL_ERR_MSG_MAX - 1);
}

static void test_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(al_code_name(AL_E_NOFIT), "no_capacity");
    assert_string_equal(al_code_name(AL_E_PAYMENT), "insufficient_balance");
    assert_string_equal(al_code_name(AL_E_FULL), "storage_full");
    assert_string_equal(al_code_name(AL_E_UNAVAILABLE), "unavailable");
    assert_string_equal(al_code_name(-EIO), "system_error");
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): one thread; libc's text is what must match */
    assert_string_equal(al_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(al_strerror(12345), "unknown error");
}

/* al_strerror's own errno table must say what the C library says (single-threaded here). */
static void test_errno_texts_match_libc(void **state)
{
    (void)state;
    static const int errs[] = {
        EPERM,        ENOENT,        ESRCH,       EINTR,      EIO,      ENXIO,        E2BIG,
        EBADF,        ECHILD,        EAGAIN,      ENOMEM,     EACCES,   EBUSY,        EEXIST,
        EXDEV,        ENODEV,        ENOTDIR,     EISDIR,     EINVAL,   EMFILE,       EFBIG,
        ENOSPC,       EROFS,         EPIPE,       ERANGE,     EDEADLK,  ENAMETOOLONG, ENOSYS,
        ENOTEMPTY,    EOVERFLOW,     EILSEQ,      EPROTO,     ENOTSOCK, EMSGSIZE,     ENOTSUP,
        EADDRINUSE,   EADDRNOTAVAIL, ENETUNREACH, ECONNRESET, ENOTCONN, ETIMEDOUT,    ECONNREFUSED,
        EHOSTUNREACH, EINPROGRESS,   ECANCELED,   EDQUOT,
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        /* NOLINTNEXTLINE(concurrency-mt-unsafe): one thread; libc's text is what must match */
        assert_string_equal(al_strerror(-errs[i]), strerror(errs[i]));
    assert_string_equal(al_strerror(-4000), "system error");
    assert_string_equal(al_code_name(-4000), "system_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_code_and_formats),
        cmocka_unit_test(test_set_truncates_long_messages),
        cmocka_unit_test(test_names_are_stable),
        cmocka_unit_test(test_errno_texts_match_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
