/*
 * audit: CloudTrail-shaped events, one JSON object per line (JSON Lines).
 *
 * Shell module: it does file I/O, reads the clock and draws randomness.
 *
 * The file is opened O_APPEND, so every write(2) lands at the end of the
 * file whatever other writers did, and each line goes out in one write(2)
 * under a mutex, so lines from concurrent requests never interleave. There
 * is no user-space buffer: once tg_audit_write returns, the line is in the
 * kernel and survives a crash of the process. Surviving a crash of the
 * machine needs the page cache on disk: the writer that finds the last
 * fdatasync(2) older than a second starts one (outside the mutex), so a
 * power loss costs at most about a second of events without an fsync per
 * line.
 *
 * A line is compact JSON, as json_dumps(JSON_COMPACT) writes it, but made by
 * a writer of our own (put_event: one pass, no copy of the event, plain runs
 * copied at once; jansson's dumper costs more than the RSA verification of
 * the token). JSON escapes every control character
 * (RFC 8259 §7), so a value with a newline in it cannot split a line or
 * forge one.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A line longer than this is replaced by a stub: the largest real event (an
 * IAM call echoing a 131,072-char policy, JSON-escaped) stays far below it,
 * and nothing else may make one request write megabytes. Local until the
 * lead moves it to util/limits.h. */
#ifndef TG_AUDIT_MAX_LINE
#define TG_AUDIT_MAX_LINE 4194304
#endif

/* fdatasync at most this often (see the file comment). */
#define AUDIT_SYNC_INTERVAL_MS 1000

/* The CloudTrail record format version whose field set we follow. */
#define AUDIT_EVENT_VERSION "1.08"

struct tg_audit {
    int fd; /* -1: events are dropped (no audit file configured) */
    pthread_mutex_t mu;
    bool torn;            /* under mu: the last write stopped mid-line */
    bool failing;         /* under mu: the last write failed (reported once) */
    int64_t last_sync_ms; /* under mu: monotonic time of the last fdatasync */
};

/* ---- opening ---------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tg_audit_open(const char *path, struct tg_audit **out, struct tg_error *err)
{
    int rc = -1;
    int fd = -1;
    struct tg_audit *a = NULL;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    a->fd = -1;
    if (path != NULL) {
        /* O_NOFOLLOW: a symlink planted at the audit path must not redirect
         * our appends to another file. 0600: the trail names every caller
         * and role; only the server's user reads it. */
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            int e = errno;
            tg_error_set(err, TG_E_INTERNAL_FAILURE, "cannot open the audit file %s", path);
            tg_error_detail(err, "%s",
                            e == ELOOP ? "it is a symbolic link, which is refused" : strerror(e));
            goto out;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
            int e = errno;
            tg_error_set(err, TG_E_INTERNAL_FAILURE, "cannot open the audit file %s", path);
            tg_error_detail(err, "fstat: %s", strerror(e));
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            tg_error_set(err, TG_E_INTERNAL_FAILURE, "cannot open the audit file %s", path);
            tg_error_detail(err, "it is not a regular file");
            goto out;
        }
        /* An existing file with broader rights is refused rather than
         * silently tightened: whoever could read it may already have a copy,
         * and the operator should know (docs/audit.md). */
        if ((st.st_mode & 077) != 0) {
            tg_error_set(err, TG_E_INTERNAL_FAILURE, "cannot open the audit file %s", path);
            tg_error_detail(err,
                            "its mode %04o lets group or others access it; run chmod 600 on it "
                            "(the audit trail must be readable by its owner only)",
                            (unsigned)(st.st_mode & 07777));
            goto out;
        }
        if (st.st_uid != geteuid()) {
            tg_error_set(err, TG_E_INTERNAL_FAILURE, "cannot open the audit file %s", path);
            tg_error_detail(err, "it belongs to uid %u, not to the server's uid %u",
                            (unsigned)st.st_uid, (unsigned)geteuid());
            goto out;
        }
    }
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    a->fd = fd;
    fd = -1;
    a->last_sync_ms = mono_ms();
    *out = a;
    a = NULL;
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(a);
    return rc;
}

void tg_audit_close(struct tg_audit *a)
{
    if (a == NULL) {
        return;
    }
    if (a->fd >= 0) {
        (void)fdatasync(a->fd);
        close(a->fd);
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ---- building events ---------------------------------------------------------- */

json_t *tg_audit_str(struct tg_cur s)
{
    if (tg_utf8_valid(s)) {
        /* json_stringn keeps embedded NULs; the serializer writes \u0000. */
        return json_stringn(s.len > 0 ? (const char *)s.ptr : "", s.len);
    }
    /* Invalid UTF-8 from outside (a User-Agent header, say) must not lose
     * the event: each byte that does not start a valid sequence becomes one
     * U+FFFD (simpler than WHATWG's one per maximal subpart; the reader sees
     * that bytes were replaced either way). */
    if (s.len > SIZE_MAX / 3) {
        return NULL;
    }
    json_t *j = NULL;
    struct tg_buf b;
    tg_buf_init(&b, s.len * 3);
    size_t i = 0;
    while (i < s.len) {
        uint8_t c = s.ptr[i];
        size_t n = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (n > 0 && n <= s.len - i && tg_utf8_valid(tg_cur_make(s.ptr + i, n))) {
            TG_GUARD_GOTO(tg_buf_append(&b, s.ptr + i, n), out);
            i += n;
        } else {
            TG_GUARD_GOTO(tg_buf_append(&b, "\xef\xbf\xbd", 3), out);
            i++;
        }
    }
    j = json_stringn(b.len > 0 ? (const char *)b.ptr : "", b.len);
out:
    tg_buf_free(&b);
    return j;
}

int tg_audit_set(struct tg_audit_event *ev, const char *key, json_t *value)
{
    if (ev == NULL || ev->obj == NULL || key == NULL || value == NULL) {
        json_decref(value);
        return -1;
    }
    /* json_object_set_new takes the reference even when it fails. */
    return json_object_set_new(ev->obj, key, value) == 0 ? 0 : -1;
}

/* A field from our own code or from outside; NULL is written as null. */
static json_t *str_or_null(const char *s)
{
    return s == NULL ? json_null() : tg_audit_str(tg_cur_str(s));
}

int tg_audit_event_begin(struct tg_audit_event *ev, int64_t now_ms, const char *source,
                         const char *name, const char *region, const char *source_ip,
                         const char *user_agent, const char *request_id, tg_random_fn rnd,
                         void *rnd_ctx)
{
    char when[TG_ISO8601_LEN];
    uint8_t r[16];
    char id[TG_UUID_LEN];

    memset(ev, 0, sizeof(*ev));
    ev->obj = json_object();
    if (ev->obj == NULL) {
        return -1;
    }
    /* CloudTrail's eventTime has whole seconds: "2026-01-01T00:00:00Z". */
    int64_t t = now_ms / 1000 - (now_ms % 1000 < 0 ? 1 : 0);
    tg_time_iso8601(t, when);
    rnd(rnd_ctx, r, sizeof(r));
    tg_uuid_format(r, id);

    /* Order of a CloudTrail record; tg_audit_write restores it for fields
     * set later (userIdentity, errorCode, ...). requestParameters and
     * responseElements are null until set, as in CloudTrail. */
    if (tg_audit_set(ev, "eventVersion", json_string(AUDIT_EVENT_VERSION)) < 0 ||
        tg_audit_set(ev, "eventTime", json_string(when)) < 0 ||
        tg_audit_set(ev, "eventSource", str_or_null(source)) < 0 ||
        tg_audit_set(ev, "eventName", str_or_null(name)) < 0 ||
        tg_audit_set(ev, "awsRegion", str_or_null(region)) < 0 ||
        tg_audit_set(ev, "sourceIPAddress", str_or_null(source_ip)) < 0 ||
        tg_audit_set(ev, "userAgent", str_or_null(user_agent)) < 0 ||
        tg_audit_set(ev, "requestParameters", json_null()) < 0 ||
        tg_audit_set(ev, "responseElements", json_null()) < 0 ||
        tg_audit_set(ev, "requestID", str_or_null(request_id)) < 0 ||
        tg_audit_set(ev, "eventID", json_string(id)) < 0 ||
        tg_audit_set(ev, "eventType", json_string("AwsApiCall")) < 0) {
        tg_audit_event_free(ev);
        return -1;
    }
    return 0;
}

void tg_audit_event_forbid(struct tg_audit_event *ev, struct tg_cur secret)
{
    /* An empty value cannot leak and would match every line. */
    if (secret.len == 0) {
        return;
    }
    if (ev->n_forbidden >= TG_AUDIT_MAX_FORBIDDEN) {
        /* More forbidden values than slots is a caller's bug; dropping one
         * would turn the guard off for it, so the event is poisoned instead:
         * n_forbidden above the maximum makes tg_audit_write write the
         * redaction stub. */
        ev->n_forbidden = TG_AUDIT_MAX_FORBIDDEN + 1;
        return;
    }
    ev->forbidden[ev->n_forbidden++] = secret;
}

void tg_audit_event_free(struct tg_audit_event *ev)
{
    if (ev == NULL) {
        return;
    }
    json_decref(ev->obj);
    memset(ev, 0, sizeof(*ev));
}

/* ---- writing ---------------------------------------------------------------- */

/* CloudTrail's field order; other fields (decision, ...) follow in the order
 * they were set. */
static const char *const field_order[] = {
    "eventVersion",      "userIdentity",     "eventTime",          "eventSource",   "eventName",
    "awsRegion",         "sourceIPAddress",  "userAgent",          "errorCode",     "errorMessage",
    "requestParameters", "responseElements", "requestID",          "eventID",       "readOnly",
    "eventType",         "managementEvent",  "recipientAccountId", "eventCategory",
};

static bool is_ordered_field(const char *key)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(field_order); i++) {
        if (strcmp(key, field_order[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Events are built by our own code: deeper is a bug, not an attack, but the
 * writer is recursive and must stop somewhere. */
#define AUDIT_MAX_DEPTH 64

/* RFC 8259 §7, written as jansson writes it (so a line reads the same as
 * json_dumps(JSON_COMPACT) would have made it): the two-character escapes,
 * \u00XX for the other control characters, everything else as it is (the
 * string is UTF-8: jansson checked it when the value was made). Runs of
 * plain bytes are copied at once. */
static int put_string(struct tg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    TG_GUARD(tg_buf_append_byte(b, '"'));
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        TG_GUARD(tg_buf_append(b, s + run, i - run));
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        TG_GUARD(tg_buf_append(b, esc, en));
    }
    TG_GUARD(tg_buf_append(b, s + run, n - run));
    return tg_buf_append_byte(b, '"');
}

static int put_value(struct tg_buf *b, const json_t *v, int depth);

static int put_member(struct tg_buf *b, bool *first, const char *key, const json_t *v, int depth)
{
    if (!*first) {
        TG_GUARD(tg_buf_append_byte(b, ','));
    }
    *first = false;
    TG_GUARD(put_string(b, key, strlen(key)));
    TG_GUARD(tg_buf_append_byte(b, ':'));
    return put_value(b, v, depth);
}

static int put_value(struct tg_buf *b, const json_t *v, int depth)
{
    if (depth > AUDIT_MAX_DEPTH) {
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        TG_GUARD(tg_buf_append_byte(b, '{'));
        bool first = true;
        const char *key;
        json_t *m;
        /* jansson 2.14 iterates in insertion order. */
        json_object_foreach((json_t *)v, key, m)
        {
            TG_GUARD(put_member(b, &first, key, m, depth + 1));
        }
        return tg_buf_append_byte(b, '}');
    }
    case JSON_ARRAY: {
        TG_GUARD(tg_buf_append_byte(b, '['));
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            if (i > 0) {
                TG_GUARD(tg_buf_append_byte(b, ','));
            }
            TG_GUARD(put_value(b, m, depth + 1));
        }
        return tg_buf_append_byte(b, ']');
    }
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return tg_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: {
        /* jansson's form: 17 significant digits, ".0" when that looks like
         * an integer, and the exponent without '+' or leading zeros. */
        char t[40];
        int n = snprintf(t, sizeof(t), "%.17g", json_real_value(v));
        if (n < 0 || (size_t)n >= sizeof(t) - 2) {
            return -1;
        }
        char *e = strchr(t, 'e');
        if (e == NULL && strchr(t, '.') == NULL) {
            memcpy(t + n, ".0", 3);
            n += 2;
        } else if (e != NULL) {
            char *d = e + 1;
            char *q = e + 1;
            if (*q == '+') {
                q++;
            } else if (*q == '-') {
                d++;
                q++;
            }
            while (*q == '0' && q[1] != '\0') {
                q++;
            }
            memmove(d, q, strlen(q) + 1);
            n = (int)strlen(t);
        }
        return tg_buf_append(b, t, (size_t)n);
    }
    case JSON_TRUE:
        return tg_buf_append(b, "true", 4);
    case JSON_FALSE:
        return tg_buf_append(b, "false", 5);
    case JSON_NULL:
        return tg_buf_append(b, "null", 4);
    }
    return -1;
}

/* The event as compact JSON: CloudTrail's fields in CloudTrail's order,
 * then the others in the order they were set. */
static int put_event(struct tg_buf *b, const json_t *obj)
{
    if (!json_is_object(obj)) {
        return -1;
    }
    TG_GUARD(tg_buf_append_byte(b, '{'));
    bool first = true;
    for (size_t i = 0; i < TG_ARRAY_LEN(field_order); i++) {
        const json_t *v = json_object_get(obj, field_order[i]);
        if (v != NULL) {
            TG_GUARD(put_member(b, &first, field_order[i], v, 1));
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!is_ordered_field(key)) {
            TG_GUARD(put_member(b, &first, key, v, 1));
        }
    }
    return tg_buf_append_byte(b, '}');
}

/* The initial size of a line buffer: an AssumeRoleWithWebIdentity event
 * takes about AUDIT_LINE_HINT / 2 bytes. */
#define AUDIT_LINE_HINT 4096

/* glibc's memmem switches to its slower long-needle algorithm at 32 bytes. */
#define GUARD_WINDOW 31

/* Does the serialized line hold a forbidden value? Secrets are searched as
 * they are and as JSON would escape them: tokens, secret keys and session
 * tokens are base64, base64url or alphanumeric, which JSON writes unchanged
 * ('/' is not escaped without JSON_ESCAPE_SLASH), so the raw search is the
 * one that matters; the escaped search covers a secret with '"', '\\' or a
 * control character. */
static bool holds_forbidden(const struct tg_audit_event *ev, const char *line, size_t len)
{
    size_t n_forbidden =
        ev->n_forbidden < TG_AUDIT_MAX_FORBIDDEN ? ev->n_forbidden : TG_AUDIT_MAX_FORBIDDEN;
    for (size_t i = 0; i < n_forbidden; i++) {
        struct tg_cur s = ev->forbidden[i];
        /* Search for the last GUARD_WINDOW bytes only: that catches the
         * whole value and any piece ending like it, and a short needle is
         * much cheaper on the hot path. Our secrets are random at the end
         * (a JWS signature, a GCM tag, a random key), so a window that long
         * does not match anything else. */
        if (s.len > GUARD_WINDOW) {
            s = tg_cur_make(s.ptr + s.len - GUARD_WINDOW, GUARD_WINDOW);
        }
        if (memmem(line, len, s.ptr, s.len) != NULL) {
            return true;
        }
        bool plain = true;
        for (size_t k = 0; k < s.len && plain; k++) {
            plain = s.ptr[k] >= 0x20 && s.ptr[k] < 0x7f && s.ptr[k] != '"' && s.ptr[k] != '\\';
        }
        if (plain) {
            continue; /* JSON writes it unchanged: the raw search was enough */
        }
        struct tg_buf esc;
        tg_buf_init_secret(&esc, GUARD_WINDOW * 6 + 2);
        /* Without the quotes put_string puts around it. */
        bool hit = put_string(&esc, (const char *)s.ptr, s.len) == 0 &&
                   memmem(line, len, esc.ptr + 1, esc.len - 2) != NULL;
        tg_buf_free(&esc);
        if (hit) {
            return true;
        }
    }
    return false;
}

/* A poisoned event (more forbidden values than slots) counts as leaking. */
static bool line_leaks(const struct tg_audit_event *ev, const char *line, size_t len)
{
    return ev->n_forbidden > TG_AUDIT_MAX_FORBIDDEN || holds_forbidden(ev, line, len);
}

/* Serializes obj into out as "\n" + JSON + "\n": the leading newline is
 * written only after a torn write (so the fragment ends its own line), and
 * having both in the buffer lets append_line write the line in one write(2)
 * without another copy. The JSON itself is out->ptr + 1, json_len bytes. */
static int serialize(const json_t *obj, struct tg_buf *out, size_t *json_len)
{
    tg_buf_reset(out);
    if (tg_buf_append_byte(out, '\n') < 0 || put_event(out, obj) < 0) {
        return -1;
    }
    *json_len = out->len - 1;
    return tg_buf_append_byte(out, '\n');
}

/* Writes the line serialize() built (json_len bytes of JSON in line). */
static int append_line(struct tg_audit *a, const struct tg_buf *line, size_t json_len)
{
    int rc = -1;
    const char *buf = (const char *)line->ptr;
    bool sync = false;
    pthread_mutex_lock(&a->mu);
    const char *p = a->torn ? buf : buf + 1;
    size_t n = a->torn ? json_len + 2 : json_len + 1;
    size_t off = 0;
    int e = 0;
    while (off < n) {
        ssize_t w = write(a->fd, p + off, n - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    if (off == n) {
        a->torn = false;
        a->failing = false;
        rc = 0;
        int64_t now = mono_ms();
        if (now - a->last_sync_ms >= AUDIT_SYNC_INTERVAL_MS) {
            a->last_sync_ms = now;
            sync = true;
        }
    } else {
        a->torn = a->torn || off > 0;
        if (!a->failing) {
            /* Once per outage, not per request: the operator's log must see
             * it, and a full disk must not flood that log too. */
            fprintf(stderr, "tegata: audit: write failed: %s; events are being lost\n",
                    strerror(e));
            a->failing = true;
        }
    }
    pthread_mutex_unlock(&a->mu);
    if (sync) {
        /* Outside the mutex: other writers go on while the disk works. */
        (void)fdatasync(a->fd);
    }
    return rc;
}

/* The stub written instead of an event that cannot be written: the event's
 * identifying fields, each kept only if it holds no forbidden value. */
static int write_stub(struct tg_audit *a, const struct tg_audit_event *ev, const char *code,
                      const char *message)
{
    static const char *const keep[] = {"eventVersion", "eventTime", "eventSource",
                                       "eventName",    "awsRegion", "sourceIPAddress",
                                       "requestID",    "eventID",   "eventType"};
    int rc = -1;
    struct tg_buf line;
    tg_buf_init(&line, TG_AUDIT_MAX_LINE + 2);
    json_t *stub = json_object();
    if (stub == NULL) {
        goto out;
    }
    for (size_t i = 0; i < TG_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(ev->obj, keep[i]);
        struct tg_buf one;
        tg_buf_init(&one, TG_AUDIT_MAX_LINE);
        bool ok = v != NULL && put_value(&one, v, 1) == 0 &&
                  !holds_forbidden(ev, (const char *)one.ptr, one.len);
        tg_buf_free(&one);
        if (ok && json_object_set(stub, keep[i], v) < 0) {
            goto out;
        }
    }
    if (json_object_set_new(stub, "errorCode", json_string(code)) < 0 ||
        json_object_set_new(stub, "errorMessage", json_string(message)) < 0) {
        goto out;
    }
    size_t len = 0;
    if (serialize(stub, &line, &len) < 0) {
        goto out;
    }
    /* Belt and braces: the stub is checked like any line. */
    if (holds_forbidden(ev, (const char *)line.ptr + 1, len)) {
        goto out;
    }
    if (a == NULL || a->fd < 0) {
        rc = 0;
        goto out;
    }
    rc = append_line(a, &line, len);
out:
    tg_buf_free(&line);
    json_decref(stub);
    return rc;
}

int tg_audit_write(struct tg_audit *a, struct tg_audit_event *ev)
{
    int rc = -1;
    struct tg_buf line;
    size_t len = 0;
    /* No cap here (the limit is checked below, with its own stub), so a
     * large event is still serialized and can be reported as too large. */
    tg_buf_init(&line, SIZE_MAX - 1);
    /* Room for a usual line at once: jansson writes it token by token, and
     * growing from nothing would take several reallocations. */
    (void)tg_buf_reserve(&line, AUDIT_LINE_HINT);

    if (ev == NULL || ev->obj == NULL) {
        goto out;
    }
    if (serialize(ev->obj, &line, &len) < 0) {
        (void)write_stub(a, ev, "AuditSerializationFailure",
                         "The event could not be serialized and was not written.");
        goto out;
    }
    const char *json = (const char *)line.ptr + 1;
    /* The guard runs even when events are dropped, so that a leak shows up
     * as -1 in every configuration (tests run without an audit file too). */
    if (line_leaks(ev, json, len)) {
        tg_wipe(line.ptr, line.len);
        (void)write_stub(a, ev, "AuditRedactionFailure",
                         "The event contained a value that must never be logged (a token, "
                         "a secret or a session token) and was not written.");
        goto out;
    }
    if (len > TG_AUDIT_MAX_LINE) {
        (void)write_stub(a, ev, "AuditEventTooLarge",
                         "The event was larger than the audit line limit and was not written.");
        goto out;
    }
    if (a == NULL || a->fd < 0) {
        rc = 0;
        goto out;
    }
    rc = append_line(a, &line, len);
out:
    tg_buf_free(&line);
    tg_audit_event_free(ev);
    return rc;
}
