/*
 * audit: the audit trail, one JSON object per line (JSON Lines), shaped like
 * a CloudTrail event (eventVersion, eventTime, eventSource, eventName,
 * awsRegion, sourceIPAddress, userAgent, userIdentity, requestParameters,
 * responseElements, errorCode, errorMessage, requestID, eventID, eventType)
 * plus tegata's "decision" object with the full trace. Appended with
 * O_APPEND to a 0600 file and flushed per event, so a crash loses at most
 * the event being written.
 *
 * Callers never put a token, a secret or a session token into an event;
 * tg_audit_write refuses, as a last guard, an event that contains any of
 * the forbidden strings registered for the request (tg_audit_event_forbid).
 */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include <jansson.h>

#include "json/json.h"
#include "util/util.h"

struct tg_audit;

/* Opens (creating 0600) path for appending. NULL path: events are dropped.
 * Returns owned (tg_audit_close). */
int tg_audit_open(const char *path, struct tg_audit **out, struct tg_error *err) TG_MUST_USE;
/* Syncs and closes; only once no thread can still be in tg_audit_write. */
void tg_audit_close(struct tg_audit *a);

#define TG_AUDIT_MAX_FORBIDDEN 4
#define TG_AUDIT_MAX_FIELDS 32 /* CloudTrail's 19 and ours, with room */

/* One event under construction: each field's value is serialized JSON text
 * as soon as it is set (nothing is built twice), and tg_audit_write puts the
 * fields in CloudTrail's order. */
struct tg_audit_event {
    struct tg_buf values; /* owned: the values' JSON text, one after another */
    struct {
        const char *key; /* a literal */
        size_t key_len;
        size_t off, len; /* the value in values */
        int rank;        /* its place in CloudTrail's order, -1 for ours */
    } fields[TG_AUDIT_MAX_FIELDS];
    size_t n_fields;
    bool begun;
    bool failed; /* a field could not be set: the event is written as a stub */
    struct tg_cur forbidden[TG_AUDIT_MAX_FORBIDDEN]; /* borrowed until written */
    size_t n_forbidden;
};

/* Starts an event with eventVersion, eventTime (from now_ms), eventSource
 * ("sts.amazonaws.com" / "iam.amazonaws.com"), eventName, awsRegion,
 * sourceIPAddress, userAgent, requestID, eventID (a UUID from rnd),
 * eventType "AwsApiCall"; requestParameters and responseElements are null
 * until set. NULL strings are written as null; bytes from outside that are
 * not UTF-8 become U+FFFD. */
int tg_audit_event_begin(struct tg_audit_event *ev, int64_t now_ms, const char *source,
                         const char *name, const char *region, const char *source_ip,
                         const char *user_agent, const char *request_id, tg_random_fn rnd,
                         void *rnd_ctx) TG_MUST_USE;
/* Registers a value that must never appear in the written line (a token, a
 * secret, a session token). Borrowed until tg_audit_write returns. */
void tg_audit_event_forbid(struct tg_audit_event *ev, struct tg_cur secret);
/* Sets key (a literal) to value, replacing an existing key in its place;
 * takes ownership of value, also on failure. tg_audit_write puts
 * CloudTrail's fields in CloudTrail's order, the others after them in the
 * order they were first set. A failure also marks the event failed. */
int tg_audit_set(struct tg_audit_event *ev, const char *key, json_t *value) TG_MUST_USE;
/* The same with a value that is already JSON text (a tg_json_w's output),
 * copied. */
int tg_audit_set_json(struct tg_audit_event *ev, const char *key, struct tg_cur json) TG_MUST_USE;
/* The same with a string (NULL: null), written as tg_json_w_string does. */
int tg_audit_set_string(struct tg_audit_event *ev, const char *key, const char *s) TG_MUST_USE;
/* A JSON string of the bytes of s, for values from outside (User-Agent,
 * claims, parameters): json_string refuses invalid UTF-8, this replaces each
 * bad byte with U+FFFD so the event is still written. Returns owned
 * (json_decref), NULL on OOM. */
json_t *tg_audit_str(struct tg_cur s);
/* Writes the event as one line and frees it. If a forbidden value occurs in
 * the serialized line, the line is not written; a redacted stub event with
 * "errorCode": "AuditRedactionFailure" is written instead and -1 returned.
 * With no audit file (NULL path) the event is checked, then dropped: 0, or
 * -1 if it held a forbidden value. -1 also when the write failed (the first
 * failure of an outage is reported on stderr). Thread-safe; a's lines never
 * interleave. */
int tg_audit_write(struct tg_audit *a, struct tg_audit_event *ev);
void tg_audit_event_free(struct tg_audit_event *ev);

#endif
