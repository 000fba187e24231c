/* whsend.c — a webhook delivery's HTTP POST (libcurl): http and https only, redirects not
 * followed (a 3xx is an answer, and not a 2xx: the attempt failed), a 10 s bound on the whole
 * attempt, the answer's body dropped after a bounded read, an org's hook kept to public
 * addresses (checked on the address libcurl is about to connect to, so that a name resolving
 * to a private address is caught), and an early end when the server stops. */
#include "server/whsend.h"

#include "core/webhook.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_MAX ((size_t)64 * 1024) /* answer bytes read before the attempt is cut */

/* One transfer's state, shared by its callbacks. */
struct xfer {
    const atomic_bool *stop; /* the server stops: end the transfer */
    size_t seen;             /* answer bytes read */
    bool public_only;        /* refuse addresses that are not public */
    bool refused;            /* a connection was refused: the address is not public */
};

int al_whsend_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* The answer's body: counted and dropped; a longer one than BODY_MAX ends the transfer
 * (its status is known by then). */
/* NOLINTNEXTLINE(readability-non-const-parameter): libcurl's write callback type */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    (void)p;
    x->seen += size * nmemb;
    return x->seen > BODY_MAX ? 0 : size * nmemb;
}

/* libcurl's progress callback: non-zero aborts the transfer when the server stops. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct xfer *x = arg;
    return atomic_load(x->stop) ? 1 : 0;
}

/* libcurl's socket opener: the address checked before the socket is made. */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct xfer *x = arg;
    const unsigned char *ip = NULL;
    size_t len = 0;
    (void)purpose;
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        ip = (const unsigned char *)&((const struct sockaddr_in *)(void *)&a->addr)->sin_addr;
        len = 4;
    } else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        ip = (const unsigned char *)&((const struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
        len = 16;
    }
    if (x->public_only && (!ip || !al_webhook_addr_public(ip, len))) {
        x->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* The options of one attempt on `h`. */
static CURLcode post_setup(CURL *h, const char *url, struct curl_slist *hdrs, const char *body,
                           size_t n, struct xfer *x)
{
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)AL_WHSEND_TIMEOUT_S);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
    return rc;
}

/* Append header `h` to *list; false when out of memory (*list unchanged). */
static bool header_add(struct curl_slist **list, const char *h)
{
    struct curl_slist *n = curl_slist_append(*list, h);
    if (n)
        *list = n;
    return n != NULL;
}

int al_whsend_post(const char *url, const char *const *headers, const char *body, size_t n,
                   bool public_only, const atomic_bool *stop, struct al_whsend_result *res)
{
    struct xfer x = {stop, 0, public_only, false};
    struct curl_slist *hdrs = NULL;
    long status = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    CURL *h = curl_easy_init();
    res->http_status = -1;
    res->error[0] = '\0';
    if (!h)
        goto out;
    /* no "Expect: 100-continue" round trip: the body is small */
    if (!header_add(&hdrs, "Content-Type: application/json") || !header_add(&hdrs, "Expect:"))
        goto out;
    for (size_t i = 0; headers && headers[i]; i++)
        if (!header_add(&hdrs, headers[i]))
            goto out;
    if ((rc = post_setup(h, url, hdrs, body, n, &x)) == CURLE_OK)
        rc = curl_easy_perform(h);
    /* a long answer cut after its head is still an answer */
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0)
        res->http_status = (int)status;
out:
    if (res->http_status < 0)
        snprintf(res->error, sizeof res->error, "%s",
                 x.refused ? "refused: the address is not public (an org's webhook may reach "
                             "public addresses only: --webhook-targets)"
                 : rc == CURLE_ABORTED_BY_CALLBACK ? "the server stopped during the attempt"
                                                   : curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return res->http_status < 0 ? -1 : 0;
}
