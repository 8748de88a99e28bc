/* The libcurl wrapper against a canned HTTP server in a thread: bodies into
 * buffers, header capture, redirects, Expect suppression, error mapping and
 * messages without query strings, the stall timeout. */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "test.h"
#include "util/err.h"

/* ---- a canned server: answers the i-th request of a case with reply[i] --- */

static int listen_fd, port;
static const char *replies[4];   /* NULL reply = accept, read, never answer */
static int nreplies, served;
static char last_request[4096];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void read_request(int fd, char *out, size_t cap)
{
    size_t n = 0, want = 0;
    char *end = NULL;
    while (n + 1 < cap) {
        ssize_t r = read(fd, out + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = '\0';
        if (!end && (end = strstr(out, "\r\n\r\n"))) {
            const char *cl = strcasestr(out, "\r\nContent-Length:");
            want = (size_t)(end + 4 - out) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (end && n >= want)
            break;
    }
    out[n] = '\0';
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        char req[4096];
        const char *reply;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        read_request(fd, req, sizeof req);
        pthread_mutex_lock(&lock);
        memcpy(last_request, req, sizeof req);
        reply = served < nreplies ? replies[served] : NULL;
        served++;
        pthread_mutex_unlock(&lock);
        if (reply) {
            if (write(fd, reply, strlen(reply)) < 0)
                perror("write");
        } else {
            sleep(5); /* a stalled server */
        }
        close(fd);
    }
}

static void expect_replies(const char *a, const char *b)
{
    pthread_mutex_lock(&lock);
    replies[0] = a;
    replies[1] = b;
    nreplies = b ? 2 : 1;
    served = 0;
    last_request[0] = '\0';
    pthread_mutex_unlock(&lock);
}

static int start_server(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    pthread_t t;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listen_fd, 16) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    port = ntohs(a.sin_port);
    return pthread_create(&t, NULL, serve, NULL) == 0 ? 0 : -1;
}

static kv_http *client;

static const char *url(const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", port, path);
    return buf;
}

#define OK_HELLO                                                                   \
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test-Header:  Value  \r\n"        \
    "Connection: close\r\n\r\nhello"

/* ---- cases -------------------------------------------------------------- */

static void body_and_headers(void)
{
    kv_http_req req = {"GET", url("/a?b=c"), NULL, 0, NULL, 0, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    expect_replies(OK_HELLO, NULL);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.status, 200);
    CHECK_EQ_U64(resp.received, 5);
    CHECK_STR(resp.body.data, "hello");
    CHECK_STR(kv_http_resp_header(&resp, "x-test-header"), "Value");
    CHECK(kv_http_resp_header(&resp, "X-Missing") == NULL);
    CHECK(strncmp(last_request, "GET /a?b=c HTTP/1.1\r\n", 21) == 0);
    kv_http_resp_free(&resp);
}

static void fixed_buffer(void)
{
    char dst[16];
    kv_http_req req = {"GET", url("/f"), NULL, 0, NULL, 0, dst, sizeof dst, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    expect_replies(OK_HELLO, NULL);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.received, 5);
    CHECK(memcmp(dst, "hello", 5) == 0);
    CHECK_EQ_U64(resp.body.len, 0);
    /* an error body goes to resp.body, never into the caller's buffer */
    expect_replies("HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                   "missing", NULL);
    memset(dst, 0, sizeof dst);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.status, 404);
    CHECK_STR(resp.body.data, "missing");
    CHECK(dst[0] == 0);
    kv_http_resp_free(&resp);
}

static void fixed_buffer_overflow(void)
{
    char dst[3];
    kv_http_req req = {"GET", url("/o?sig=SECRET"), NULL, 0, NULL, 0, dst, sizeof dst, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    int rc;
    expect_replies(OK_HELLO, NULL);
    rc = kv_http_do(client, &req, &resp);
    kv_http_resp_free(&resp);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(rc == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), "more than the 3 bytes"));
    CHECK(!strstr(kv_errmsg(), "SECRET"));
}

static void upload_without_expect(void)
{
    static char big[2 << 20]; /* large enough that curl would otherwise ask to continue */
    const kv_http_header hs[] = {{"X-Custom", "1"}, {"X-Empty", ""}};
    kv_http_req req = {"PUT", url("/up"), hs, 2, big, sizeof big, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    memset(big, 'b', sizeof big);
    expect_replies("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", NULL);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.status, 200);
    CHECK(strncmp(last_request, "PUT /up HTTP/1.1\r\n", 18) == 0);
    CHECK(strcasestr(last_request, "\r\nContent-Length: 2097152\r\n"));
    CHECK(strcasestr(last_request, "\r\nX-Custom: 1\r\n"));
    CHECK(strcasestr(last_request, "\r\nX-Empty:\r\n"));
    CHECK(!strcasestr(last_request, "\r\nExpect:"));
    kv_http_resp_free(&resp);
}

static void post_with_empty_body(void)
{
    kv_http_req req = {"POST", url("/p?uploads="), NULL, 0, NULL, 0, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    expect_replies(OK_HELLO, NULL);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK(strncmp(last_request, "POST /p?uploads= HTTP/1.1\r\n", 27) == 0);
    CHECK(strcasestr(last_request, "\r\nContent-Length: 0\r\n"));
    kv_http_resp_free(&resp);
}

#define REDIRECT                                                                   \
    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n" \
    "Connection: close\r\n\r\n"

static void redirects(void)
{
    kv_http_req req = {"PUT", url("/r"), NULL, 0, "data", 4, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    expect_replies(REDIRECT, NULL);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.status, 307);
    CHECK_STR(kv_http_resp_header(&resp, "location"), "/elsewhere");
    /* followed on request, the body sent again; headers are the last reply's */
    req.follow_redirects = 1;
    expect_replies(REDIRECT, OK_HELLO);
    CHECK_OK(kv_http_do(client, &req, &resp));
    CHECK_EQ_U64(resp.status, 200);
    CHECK(kv_http_resp_header(&resp, "Location") == NULL);
    CHECK(strncmp(last_request, "PUT /elsewhere HTTP/1.1\r\n", 25) == 0);
    CHECK(strstr(last_request, "\r\n\r\ndata"));
    kv_http_resp_free(&resp);
}

static void refused_is_transient(void)
{
    char u[128];
    kv_http_req req = {"GET", u, NULL, 0, NULL, 0, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    int rc, fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd); /* nothing listens there now */
    snprintf(u, sizeof u, "http://127.0.0.1:%d/k?X-Amz-Signature=SECRET#frag", ntohs(a.sin_port));
    rc = kv_http_do(client, &req, &resp);
    kv_http_resp_free(&resp);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(rc == KV_ETRANSIENT);
    CHECK(strstr(kv_errmsg(), "GET http://127.0.0.1:"));
    CHECK(strstr(kv_errmsg(), "/k: "));
    CHECK(!strstr(kv_errmsg(), "SECRET"));
}

static void stall_is_transient(void)
{
    kv_http_opts o = {5, 1};
    kv_http *quick = NULL;
    kv_http_req req = {"GET", url("/s"), NULL, 0, NULL, 0, NULL, 0, 0, 0};
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    struct timespec t0, t1;
    int rc;
    CHECK_OK(kv_http_new(&o, &quick));
    expect_replies(NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = kv_http_do(quick, &req, &resp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kv_http_resp_free(&resp);
    kv_http_free(quick);
    fprintf(stderr, "  after %ld s: %s\n", (long)(t1.tv_sec - t0.tv_sec), kv_errmsg());
    CHECK(rc == KV_ETRANSIENT);
    CHECK(t1.tv_sec - t0.tv_sec < 4);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"body_and_headers", body_and_headers},
        {"fixed_buffer", fixed_buffer},
        {"fixed_buffer_overflow", fixed_buffer_overflow},
        {"upload_without_expect", upload_without_expect},
        {"post_with_empty_body", post_with_empty_body},
        {"redirects", redirects},
        {"refused_is_transient", refused_is_transient},
        {"stall_is_transient", stall_is_transient},
        {NULL, NULL},
    };
    int rc;
    if (start_server() != 0 || kv_http_new(NULL, &client) != KV_OK) {
        fprintf(stderr, "cannot start: %s\n", kv_errmsg());
        return 2;
    }
    rc = kvt_run(cases, argc, argv);
    kv_http_free(client);
    return rc;
}
