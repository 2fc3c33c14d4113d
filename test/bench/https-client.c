/*
 * The HTTPS client of the proxy and peer benchmarks, built static like probe.c so the same
 * binary runs in a Leash session, in the peer's sandbox and on the host. A line server like the
 * probe: it prints `ready`, then answers each command with `ok MEAN_NS P99_NS` per request.
 *
 *   https-client ADDR PORT NAME CAFILE [proxy]
 *     ADDR PORT  where to connect (an IPv4 address, or localhost)
 *     NAME       the TLS server name, the name the certificate must carry and the Host header
 *     CAFILE     the trust anchors; `env` reads the path from $SSL_CERT_FILE
 *     proxy      tunnel with CONNECT through the HTTP proxy that sandbox-runtime names in
 *                $CLOUDSDK_PROXY_ADDRESS, _PORT, _USERNAME and _PASSWORD
 *
 *   fresh N      N requests, each on a new TCP connection and TLS session (Connection: close)
 *   keep N       N requests one after the other on one keep-alive connection
 *   quit
 *
 * Each request is `GET /bench`; only a `200` answer with its whole body counts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_OPS 100000

static long long lat[MAX_OPS];
static const char *target_addr, *server_name;
static int target_port, via_proxy;
static SSL_CTX *ctx;
static char why[512];

struct conn {
	int fd;
	SSL *ssl;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int failed(const char *what)
{
	unsigned long e = ERR_get_error();

	if (e)
		snprintf(why, sizeof(why), "%s: %s", what, ERR_error_string(e, NULL));
	else
		snprintf(why, sizeof(why), "%s: %s", what, errno ? strerror(errno) : "failed");
	return -1;
}

static int tcp_connect(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd;

	if (strcmp(ip, "localhost") == 0)
		ip = "127.0.0.1";
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		errno = EINVAL;
		return failed("the address is not an IPv4 address");
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return failed("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return failed("connect");
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w <= 0)
			return failed("write to the proxy");
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* CONNECT to the target through sandbox-runtime's proxy; 0 once the proxy answered 200. */
static int proxy_tunnel(int fd)
{
	const char *user = getenv("CLOUDSDK_PROXY_USERNAME");
	const char *pass = getenv("CLOUDSDK_PROXY_PASSWORD");
	char cred[1024], b64[1400], req[2048], resp[4096];
	size_t got = 0;

	if (!user || !pass) {
		errno = EINVAL;
		return failed("proxy: $CLOUDSDK_PROXY_USERNAME or _PASSWORD is not set");
	}
	snprintf(cred, sizeof(cred), "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)cred, (int)strlen(cred));
	int n = snprintf(req, sizeof(req),
			 "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n"
			 "Proxy-Authorization: Basic %s\r\n\r\n",
			 target_addr, target_port, target_addr, target_port, b64);
	if (write_all(fd, req, (size_t)n) < 0)
		return -1;
	/* One byte at a time, so nothing of the TLS stream behind the answer is read here. */
	while (got < sizeof(resp) - 1) {
		if (read(fd, resp + got, 1) != 1)
			return failed("proxy closed the connection before answering CONNECT");
		resp[++got] = 0;
		if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (got < 12 || strncmp(resp + 9, "200", 3) != 0) {
		resp[strcspn(resp, "\r\n")] = 0;
		errno = EACCES;
		snprintf(why, sizeof(why), "proxy refused CONNECT: %.200s", resp);
		return -1;
	}
	return 0;
}

static int open_conn(struct conn *c)
{
	const char *env = getenv("CLOUDSDK_PROXY_ADDRESS"), *port = getenv("CLOUDSDK_PROXY_PORT");

	c->ssl = NULL;
	if (via_proxy && (!env || !port)) {
		errno = EINVAL;
		return failed("proxy: $CLOUDSDK_PROXY_ADDRESS or _PORT is not set");
	}
	c->fd = via_proxy ? tcp_connect(env, atoi(port)) : tcp_connect(target_addr, target_port);
	if (c->fd < 0)
		return -1;
	if (via_proxy && proxy_tunnel(c->fd) < 0)
		goto fail;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, server_name) != 1 ||
	    SSL_set1_host(c->ssl, server_name) != 1) {
		failed("TLS set-up");
		goto fail;
	}
	if (SSL_connect(c->ssl) != 1) {
		failed("TLS handshake");
		goto fail;
	}
	return 0;
fail:
	SSL_free(c->ssl);
	close(c->fd);
	return -1;
}

static void close_conn(struct conn *c)
{
	SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	close(c->fd);
}

/* One GET /bench on `c`, read to the end of its body; 0 if the answer was 200. */
static int request(struct conn *c, int keep)
{
	char req[512], buf[65536];
	int n = snprintf(req, sizeof(req), "GET /bench HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n",
			 server_name, keep ? "keep-alive" : "close");
	size_t got = 0;
	char *end = NULL;

	if (SSL_write(c->ssl, req, n) != n)
		return failed("TLS write");
	while (!end) {
		int r = SSL_read(c->ssl, buf + got, (int)(sizeof(buf) - 1 - got));

		if (r <= 0)
			return failed("the answer ended before its headers");
		got += (size_t)r;
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (!end && got >= sizeof(buf) - 1)
			return failed("the answer's headers are too long");
	}
	if (got < 12 || strncmp(buf + 9, "200", 3) != 0) {
		buf[strcspn(buf, "\r\n")] = 0;
		errno = EPROTO;
		snprintf(why, sizeof(why), "answer was not 200: %.200s", buf);
		return -1;
	}
	char *cl = strcasestr(buf, "\r\ncontent-length:");

	if (!cl || cl > end) {
		errno = EPROTO;
		return failed("the answer has no Content-Length");
	}
	size_t want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);

	while (got < want) {
		int r = SSL_read(c->ssl, buf, (int)(sizeof(buf) - 1 < want - got ? sizeof(buf) - 1
									 : want - got));

		if (r <= 0)
			return failed("the answer ended before its body");
		got += (size_t)r;
	}
	return 0;
}

static int run(int keep, long n)
{
	struct conn c;
	long long start = now_ns(), t = start;

	if (keep && open_conn(&c) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		if (!keep && open_conn(&c) < 0)
			return -1;
		if (request(&c, keep) < 0) {
			close_conn(&c);
			return -1;
		}
		if (!keep)
			close_conn(&c);
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	if (keep)
		close_conn(&c);
	qsort(lat, n, sizeof(lat[0]), cmp_ll);
	printf("ok %lld %lld\n", (t - start) / n, lat[(n * 99) / 100]);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	char line[256];
	long n;

	if (argc < 5 || (argc == 6 && strcmp(argv[5], "proxy") != 0) || argc > 6) {
		fprintf(stderr, "usage: %s ADDR PORT NAME CAFILE|env [proxy]\n", argv[0]);
		return 2;
	}
	target_addr = argv[1];
	target_port = atoi(argv[2]);
	server_name = argv[3];
	via_proxy = argc == 6;
	const char *cafile = strcmp(argv[4], "env") == 0 ? getenv("SSL_CERT_FILE") : argv[4];

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !cafile || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		fprintf(stderr, "cannot load the trust anchors from %s\n", cafile ? cafile : "(unset)");
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int rc;

		if (strncmp(line, "quit", 4) == 0)
			break;
		why[0] = 0;
		errno = 0;
		if (sscanf(line, "fresh %ld", &n) == 1 && n > 0 && n <= MAX_OPS)
			rc = run(0, n);
		else if (sscanf(line, "keep %ld", &n) == 1 && n > 0 && n <= MAX_OPS)
			rc = run(1, n);
		else {
			snprintf(why, sizeof(why), "unknown command (fresh N, keep N, quit)");
			rc = -1;
		}
		if (rc < 0) {
			line[strcspn(line, "\n")] = 0;
			printf("err %s: %s\n", line, why);
			fflush(stdout);
			ERR_clear_error();
		}
	}
	return 0;
}
