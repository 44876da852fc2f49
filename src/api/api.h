/*
 * api: the AWS Query protocol. Form decoding of the query string and the
 * form-encoded body into parameters, and the AWS XML responses and
 * ErrorResponse documents. Pure.
 */
#ifndef TG_API_H
#define TG_API_H

#include "util/util.h"

#define TG_NS_IAM "https://iam.amazonaws.com/doc/2010-05-08/"
#define TG_NS_STS "https://sts.amazonaws.com/doc/2011-06-15/"

/* ---- form ---------------------------------------------------------------- */

/* One decoded parameter. name and value point into memory owned by the form
 * (valid until tg_form_free). Neither is NUL-terminated. */
struct tg_param {
    struct tg_cur name;
    struct tg_cur value;
};

struct tg_form {
    struct tg_param params[TG_FORM_MAX_PARAMS];
    size_t n;
    uint8_t *chunks[TG_FORM_MAX_SOURCES]; /* decoded bytes, one chunk per parsed source */
    size_t n_chunks;
};

void tg_form_init(struct tg_form *f);
/*
 * Decodes "a=b&c=d" (application/x-www-form-urlencoded: '+' is a space,
 * %XX escapes) and appends the parameters to f. Borrows p only during the
 * call. Empty pairs ("a=1&&b=2") are skipped; a name without '=' has an
 * empty value. Fails with:
 *   MalformedQueryString  bad %-escape, a NUL byte, an empty name
 *   ValidationError       a name seen twice (in this or an earlier source),
 *                         more than TG_FORM_MAX_PARAMS, a name longer than
 *                         TG_FORM_MAX_NAME or a value longer than TG_FORM_MAX_VALUE
 * On failure f keeps the parameters of earlier successful calls only.
 */
int tg_form_parse(struct tg_form *f, const uint8_t *p, size_t n, struct tg_error *err) TG_MUST_USE;
void tg_form_free(struct tg_form *f);

/* The value of the parameter named exactly name (case-sensitive), or NULL. */
const struct tg_cur *tg_form_get(const struct tg_form *f, const char *name);

/*
 * Collects a Query list: prefix ".1", prefix ".2", ... (prefix is e.g.
 * "ClientIDList.member"). Members must be numbered 1..N without gaps;
 * otherwise InvalidParameterValue naming the missing member. More than max
 * members: ValidationError. Writes the values in order to out and their
 * count to n_out (0 when the list is absent).
 */
int tg_form_get_list(const struct tg_form *f, const char *prefix, struct tg_cur *out, size_t max,
                     size_t *n_out, struct tg_error *err) TG_MUST_USE;

/*
 * Collects a Query list of structures with one member field: prefix ".N."
 * field (e.g. "PolicyArns.member.1.arn"), N = 1..count without gaps
 * (InvalidParameterValue), at most max (ValidationError "... at '<list>'
 * ... Member must have length less than or equal to <max>"). A member with
 * other parameters but not field is refused with ValidationError "Value
 * null at '<list>.N.member.<field>' ... Member must not be null" rather than
 * ignored. Writes the values in order to out and their count to n_out.
 */
int tg_form_get_list_field(const struct tg_form *f, const char *prefix, const char *field,
                           struct tg_cur *out, size_t max, size_t *n_out,
                           struct tg_error *err) TG_MUST_USE;

/* A key/value pair of a Query list of structures ("Tags.member.N.Key",
 * "Tags.member.N.Value"). */
struct tg_kv {
    struct tg_cur key;
    struct tg_cur value;
};
/*
 * Collects prefix ".N." key_field / value_field pairs, N = 1..count without
 * gaps. A member with a key but no value gets an empty value
 * (present=false is not tracked); a member with a value but no key fails
 * with ValidationError. More than max: ValidationError.
 */
int tg_form_get_pairs(const struct tg_form *f, const char *prefix, const char *key_field,
                      const char *value_field, struct tg_kv *out, size_t max, size_t *n_out,
                      struct tg_error *err) TG_MUST_USE;

/* ---- XML ------------------------------------------------------------------ */

#define TG_XML_MAX_DEPTH 16

/*
 * Writes XML into a buffer. Calls never fail individually; the first failed
 * append (the buffer's maximum) is remembered and reported by
 * tg_xml_finish. Text and attribute values are escaped (& < > " ' and
 * every control character except TAB, LF, CR, which become &#9; &#10;
 * &#13;).
 */
struct tg_xml {
    struct tg_buf *out; /* borrowed */
    const char *stack[TG_XML_MAX_DEPTH];
    int depth;
    bool failed;
};

void tg_xml_init(struct tg_xml *x, struct tg_buf *out);
/* <tag> ; tag must be a literal or outlive the matching close. */
void tg_xml_open(struct tg_xml *x, const char *tag);
/* <tag xmlns="ns"> */
void tg_xml_open_ns(struct tg_xml *x, const char *tag, const char *ns);
void tg_xml_close(struct tg_xml *x);
/* <tag>escaped text</tag> */
void tg_xml_elem(struct tg_xml *x, const char *tag, struct tg_cur text);
void tg_xml_elem_str(struct tg_xml *x, const char *tag, const char *text);
void tg_xml_elemf(struct tg_xml *x, const char *tag, const char *fmt, ...) TG_PRINTF(3, 4);
void tg_xml_elem_bool(struct tg_xml *x, const char *tag, bool v); /* true / false */
void tg_xml_elem_i64(struct tg_xml *x, const char *tag, int64_t v);
/* <tag>ISO 8601 UTC with seconds, "2026-01-01T00:00:00Z"</tag> */
void tg_xml_elem_time(struct tg_xml *x, const char *tag, int64_t t);
/* <tag>RFC 3986 percent-encoded text</tag> (IAM policy documents). */
void tg_xml_elem_urlencoded(struct tg_xml *x, const char *tag, struct tg_cur text);
/* -1 if any append failed or elements are still open. */
int tg_xml_finish(struct tg_xml *x) TG_MUST_USE;

/*
 * The success envelope:
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <ActionResponse xmlns="ns"><ActionResult> ... </ActionResult>
 *   <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>
 * With has_result false there is no ActionResult element (actions without
 * output). action must outlive the writer (a literal from the action table).
 */
void tg_api_response_begin(struct tg_xml *x, const char *action, const char *ns, bool has_result);
void tg_api_response_end(struct tg_xml *x, const char *request_id);

/*
 * The error document (spec 1.4):
 *   <ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>..</Code>
 *   <Message>..</Message></Error><RequestId>id</RequestId></ErrorResponse>
 * Uses err->code and err->message (never err->detail). Writes into out,
 * which is reset first.
 */
int tg_api_error_xml(struct tg_buf *out, const char *ns, const struct tg_error *err,
                     const char *request_id) TG_MUST_USE;

#endif
