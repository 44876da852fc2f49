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

/* fdatasync at most this often (see the file comment). */
#define AUDIT_SYNC_INTERVAL_MS 1000

/* Room reserved at once: the values of an AssumeRoleWithWebIdentity event
 * take about 2 KiB, and the line adds the keys and punctuation. */
#define AUDIT_EVENT_HINT 3072
#define AUDIT_LINE_SLACK 512

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
        size_t n = tg_utf8_seq(s.ptr + i, s.len - i);
        if (n > 0) {
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

/* CloudTrail's field order; other fields (decision, ...) follow in the order
 * they were set. */
static const char *const field_order[] = {
    "eventVersion",      "userIdentity",     "eventTime",          "eventSource",   "eventName",
    "awsRegion",         "sourceIPAddress",  "userAgent",          "errorCode",     "errorMessage",
    "requestParameters", "responseElements", "requestID",          "eventID",       "readOnly",
    "eventType",         "managementEvent",  "recipientAccountId", "eventCategory",
};

/* The slot of key, appended if new; NULL if the event is full. */
static size_t *field_slot(struct tg_audit_event *ev, const char *key, size_t **len)
{
    size_t n = strlen(key);
    size_t i = 0;
    while (i < ev->n_fields &&
           (ev->fields[i].key_len != n || memcmp(ev->fields[i].key, key, n) != 0)) {
        i++;
    }
    if (i == ev->n_fields) {
        if (ev->n_fields >= TG_AUDIT_MAX_FIELDS) {
            return NULL;
        }
        ev->fields[i].key = key;
        ev->fields[i].key_len = n;
        ev->fields[i].rank = -1;
        for (size_t k = 0; k < TG_ARRAY_LEN(field_order); k++) {
            if (key[0] == field_order[k][0] && strcmp(key, field_order[k]) == 0) {
                ev->fields[i].rank = (int)k;
                break;
            }
        }
        ev->n_fields++;
    }
    *len = &ev->fields[i].len;
    return &ev->fields[i].off;
}

/* Sets key to the JSON text written to ev->values since start. */
static int field_done(struct tg_audit_event *ev, const char *key, size_t start, bool ok)
{
    size_t *len = NULL;
    size_t *off = ok ? field_slot(ev, key, &len) : NULL;
    if (off == NULL) {
        ev->values.len = start;
        ev->failed = true;
        return -1;
    }
    *off = start;
    *len = ev->values.len - start;
    return 0;
}

int tg_audit_set(struct tg_audit_event *ev, const char *key, json_t *value)
{
    if (ev == NULL || !ev->begun || key == NULL || value == NULL) {
        json_decref(value);
        return -1;
    }
    size_t start = ev->values.len;
    struct tg_json_w w;
    tg_json_w_init(&w, &ev->values);
    tg_json_w_jansson(&w, value);
    json_decref(value);
    return field_done(ev, key, start, tg_json_w_finish(&w) == 0);
}

int tg_audit_set_json(struct tg_audit_event *ev, const char *key, struct tg_cur json)
{
    if (ev == NULL || !ev->begun || key == NULL || json.len == 0) {
        return -1;
    }
    size_t start = ev->values.len;
    bool ok = tg_buf_append_cur(&ev->values, json) == 0;
    return field_done(ev, key, start, ok);
}

int tg_audit_set_string(struct tg_audit_event *ev, const char *key, const char *str)
{
    if (ev == NULL || !ev->begun || key == NULL) {
        return -1;
    }
    size_t start = ev->values.len;
    struct tg_json_w w;
    tg_json_w_init(&w, &ev->values);
    tg_json_w_string(&w, str);
    return field_done(ev, key, start, tg_json_w_finish(&w) == 0);
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
    /* No cap here (tg_audit_write checks the line's size, with its own
     * stub), so a large event can still be reported as too large. */
    tg_buf_init(&ev->values, SIZE_MAX - 1);
    /* Room for a usual event at once. */
    (void)tg_buf_reserve(&ev->values, AUDIT_EVENT_HINT);
    ev->begun = true;
    /* CloudTrail's eventTime has whole seconds: "2026-01-01T00:00:00Z". */
    int64_t t = now_ms / 1000 - (now_ms % 1000 < 0 ? 1 : 0);
    tg_time_iso8601(t, when);
    rnd(rnd_ctx, r, sizeof(r));
    tg_uuid_format(r, id);

    static const struct tg_cur null = {(const uint8_t *)"null", 4};
    if (tg_audit_set_string(ev, "eventVersion", AUDIT_EVENT_VERSION) < 0 ||
        tg_audit_set_string(ev, "eventTime", when) < 0 ||
        tg_audit_set_string(ev, "eventSource", source) < 0 ||
        tg_audit_set_string(ev, "eventName", name) < 0 ||
        tg_audit_set_string(ev, "awsRegion", region) < 0 ||
        tg_audit_set_string(ev, "sourceIPAddress", source_ip) < 0 ||
        tg_audit_set_string(ev, "userAgent", user_agent) < 0 ||
        tg_audit_set_json(ev, "requestParameters", null) < 0 ||
        tg_audit_set_json(ev, "responseElements", null) < 0 ||
        tg_audit_set_string(ev, "requestID", request_id) < 0 ||
        tg_audit_set_string(ev, "eventID", id) < 0 ||
        tg_audit_set_string(ev, "eventType", "AwsApiCall") < 0) {
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
    tg_buf_free(&ev->values);
    memset(ev, 0, sizeof(*ev));
}

/* ---- writing ---------------------------------------------------------------- */

static struct tg_cur field_value(const struct tg_audit_event *ev, size_t i)
{
    return tg_cur_make(ev->values.ptr + ev->fields[i].off, ev->fields[i].len);
}

/* The event as one JSON object: CloudTrail's fields in CloudTrail's order,
 * then the others in the order they were first set. */
static int put_event(struct tg_buf *b, const struct tg_audit_event *ev)
{
    struct tg_json_w w;
    tg_json_w_init(&w, b);
    tg_json_w_object(&w);
    for (int k = 0; k < (int)TG_ARRAY_LEN(field_order); k++) {
        for (size_t i = 0; i < ev->n_fields; i++) {
            if (ev->fields[i].rank == k) {
                tg_json_w_key(&w, ev->fields[i].key);
                tg_json_w_raw(&w, field_value(ev, i));
                break;
            }
        }
    }
    for (size_t i = 0; i < ev->n_fields; i++) {
        if (ev->fields[i].rank < 0) {
            tg_json_w_key(&w, ev->fields[i].key);
            tg_json_w_raw(&w, field_value(ev, i));
        }
    }
    tg_json_w_object_end(&w);
    return tg_json_w_finish(&w);
}

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
        struct tg_json_w w;
        tg_json_w_init(&w, &esc);
        tg_json_w_stringn(&w, s.ptr, s.len);
        /* Without the quotes the writer puts around it. */
        bool hit = tg_json_w_finish(&w) == 0 && memmem(line, len, esc.ptr + 1, esc.len - 2) != NULL;
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
static int serialize(const struct tg_audit_event *ev, struct tg_buf *out, size_t *json_len)
{
    tg_buf_reset(out);
    if (tg_buf_append_byte(out, '\n') < 0 || put_event(out, ev) < 0) {
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
    struct tg_audit_event stub;
    memset(&stub, 0, sizeof(stub));
    tg_buf_init(&stub.values, TG_AUDIT_MAX_LINE);
    stub.begun = true;
    for (size_t k = 0; k < TG_ARRAY_LEN(keep); k++) {
        for (size_t i = 0; i < ev->n_fields; i++) {
            struct tg_cur v = field_value(ev, i);
            if (strcmp(ev->fields[i].key, keep[k]) == 0 &&
                !holds_forbidden(ev, (const char *)v.ptr, v.len) &&
                tg_audit_set_json(&stub, keep[k], v) < 0) {
                goto out;
            }
        }
    }
    if (tg_audit_set_string(&stub, "errorCode", code) < 0 ||
        tg_audit_set_string(&stub, "errorMessage", message) < 0) {
        goto out;
    }
    size_t len = 0;
    if (serialize(&stub, &line, &len) < 0) {
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
    tg_audit_event_free(&stub);
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

    if (ev == NULL || !ev->begun) {
        goto out;
    }
    (void)tg_buf_reserve(&line, ev->values.len + AUDIT_LINE_SLACK);
    if (ev->failed || serialize(ev, &line, &len) < 0) {
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
