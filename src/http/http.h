/*
 * http: libmicrohttpd glue. Reads requests within the limits of
 * util/limits.h, hands them to the server pipeline and writes the
 * responses. A worker pool sized to the cores; draining on shutdown.
 */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include "server/server.h"
#include "util/util.h"

struct tg_http;

/* Binds addr:port (IPv4 dotted quad, "[v6]" or "localhost"; port 0 picks a
 * free one) and starts serving with threads worker threads. Borrows srv,
 * which must outlive the returned handle (free with tg_http_stop). */
int tg_http_start(struct tg_server *srv, const char *addr, uint16_t port, unsigned threads,
                  struct tg_http **out, struct tg_error *err) TG_MUST_USE;
/* The port actually bound. */
uint16_t tg_http_port(const struct tg_http *h);
/* Stops accepting connections, waits up to timeout_ms for the requests in
 * flight to finish, then stops the daemon and frees h. Returns the number
 * of requests that were still running at the deadline (0 normally). */
unsigned tg_http_stop(struct tg_http *h, int64_t timeout_ms);

#endif
