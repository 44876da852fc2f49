/*
 * AWS Query protocol responses: a small XML writer, the success envelope
 * and the ErrorResponse document (spec aws-sts.md §1.3, §1.4, §7).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* Envelope levels on the stack carry these markers so tg_xml_close cannot
 * close them and tg_api_response_end can check the nesting. The action name
 * sits in the slot below the response marker. */
static const char mark_response[] = "(response)";
static const char mark_result[] = "(result)";

static const char xml_decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

void tg_xml_init(struct tg_xml *x, struct tg_buf *out)
{
    x->out = out;
    x->depth = 0;
    x->failed = false;
}

static void put(struct tg_xml *x, const void *p, size_t n)
{
    if (!x->failed && tg_buf_append(x->out, p, n) < 0) {
        x->failed = true;
    }
}

static void put_str(struct tg_xml *x, const char *s)
{
    put(x, s, strlen(s));
}

static void push(struct tg_xml *x, const char *tag)
{
    if (x->depth >= TG_XML_MAX_DEPTH) {
        x->failed = true;
        return;
    }
    x->stack[x->depth++] = tag;
}

/*
 * Escapes text for element content and attribute values (XML 1.0 §2.4,
 * §3.3.3). TAB, LF and CR become character references so a parser's
 * end-of-line and attribute normalisation cannot change them. Other C0
 * controls, U+FFFE/U+FFFF and bytes that are not UTF-8 cannot appear in an
 * XML 1.0 document at all (§2.2 Char), even as references, so each becomes
 * U+FFFD: a response must always parse.
 */
static void put_escaped(struct tg_xml *x, struct tg_cur t)
{
    static const char replacement[] = "\xef\xbf\xbd";
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    /* Fast path: most text (tokens, keys, ARNs) is printable ASCII without
     * markup characters and is copied as it is. */
    static const uint8_t specials[] = {'&', '<', '>', '"', '\'', 0x7f};
    while (i < t.len) {
        i += tg_span_text(t.ptr + i, t.len - i, specials, sizeof(specials));
        if (i >= t.len) {
            break;
        }
        uint8_t c = t.ptr[i];
        const char *rep = NULL;
        size_t adv = 1;
        if (c < 0x80) {
            switch (c) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&apos;";
                break;
            case '\t':
                rep = "&#9;";
                break;
            case '\n':
                rep = "&#10;";
                break;
            case '\r':
                rep = "&#13;";
                break;
            default:
                if (c < 0x20) {
                    rep = replacement;
                }
                break;
            }
        } else {
            size_t n = tg_utf8_seq(t.ptr + i, t.len - i);
            if (n > 0 && !(n == 3 && c == 0xef && t.ptr[i + 1] == 0xbf && t.ptr[i + 2] >= 0xbe)) {
                adv = n;
            } else {
                rep = replacement;
            }
        }
        if (rep != NULL) {
            put(x, t.ptr + run, i - run);
            put_str(x, rep);
            run = i + adv;
        }
        i += adv;
    }
    put(x, t.ptr + run, t.len - run);
}

void tg_xml_open(struct tg_xml *x, const char *tag)
{
    put_str(x, "<");
    put_str(x, tag);
    put_str(x, ">");
    push(x, tag);
}

void tg_xml_open_ns(struct tg_xml *x, const char *tag, const char *ns)
{
    put_str(x, "<");
    put_str(x, tag);
    put_str(x, " xmlns=\"");
    put_escaped(x, tg_cur_str(ns));
    put_str(x, "\">");
    push(x, tag);
}

void tg_xml_close(struct tg_xml *x)
{
    if (x->depth == 0) {
        x->failed = true;
        return;
    }
    const char *tag = x->stack[x->depth - 1];
    if (tag == mark_response || tag == mark_result) {
        /* The envelope is closed by tg_api_response_end only. */
        x->failed = true;
        return;
    }
    x->depth--;
    put_str(x, "</");
    put_str(x, tag);
    put_str(x, ">");
}

void tg_xml_elem(struct tg_xml *x, const char *tag, struct tg_cur text)
{
    put_str(x, "<");
    put_str(x, tag);
    put_str(x, ">");
    put_escaped(x, text);
    put_str(x, "</");
    put_str(x, tag);
    put_str(x, ">");
}

void tg_xml_elem_str(struct tg_xml *x, const char *tag, const char *text)
{
    tg_xml_elem(x, tag, tg_cur_str(text));
}

void tg_xml_elemf(struct tg_xml *x, const char *tag, const char *fmt, ...)
{
    char small[256];
    char *big = NULL;
    const char *text = small;
    va_list ap;
    va_list ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > x->out->max) {
        x->failed = true;
        goto out;
    }
    if ((size_t)n >= sizeof(small)) {
        big = malloc((size_t)n + 1);
        if (big == NULL) {
            x->failed = true;
            goto out;
        }
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        text = big;
    }
    tg_xml_elem(x, tag, tg_cur_make(text, (size_t)n));
out:
    va_end(ap2);
    free(big);
}

void tg_xml_elem_bool(struct tg_xml *x, const char *tag, bool v)
{
    tg_xml_elem_str(x, tag, v ? "true" : "false");
}

void tg_xml_elem_i64(struct tg_xml *x, const char *tag, int64_t v)
{
    char s[TG_I64_LEN];
    size_t n = tg_fmt_i64(v, s);
    tg_xml_elem(x, tag, tg_cur_make(s, n));
}

void tg_xml_elem_time(struct tg_xml *x, const char *tag, int64_t t)
{
    char s[TG_ISO8601_LEN];
    tg_time_iso8601(t, s);
    tg_xml_elem_str(x, tag, s);
}

void tg_xml_elem_urlencoded(struct tg_xml *x, const char *tag, struct tg_cur text)
{
    put_str(x, "<");
    put_str(x, tag);
    put_str(x, ">");
    /* The percent-encoding (spec §7) contains only unreserved characters
     * and "%XX", none of which XML needs escaped. */
    if (!x->failed && tg_url_encode(x->out, text) < 0) {
        x->failed = true;
    }
    put_str(x, "</");
    put_str(x, tag);
    put_str(x, ">");
}

int tg_xml_finish(struct tg_xml *x)
{
    if (x->failed || x->depth != 0) {
        return -1;
    }
    return 0;
}

void tg_api_response_begin(struct tg_xml *x, const char *action, const char *ns, bool has_result)
{
    put_str(x, xml_decl);
    put_str(x, "<");
    put_str(x, action);
    put_str(x, "Response xmlns=\"");
    put_escaped(x, tg_cur_str(ns));
    put_str(x, "\">");
    push(x, action);
    push(x, mark_response);
    if (has_result) {
        put_str(x, "<");
        put_str(x, action);
        put_str(x, "Result>");
        push(x, mark_result);
    }
}

void tg_api_response_end(struct tg_xml *x, const char *request_id)
{
    if (x->depth == 3 && x->stack[2] == mark_result) {
        put_str(x, "</");
        put_str(x, x->stack[0]);
        put_str(x, "Result>");
        x->depth = 2;
    }
    if (x->depth != 2 || x->stack[1] != mark_response) {
        /* An element of the result was left open. */
        x->failed = true;
        return;
    }
    put_str(x, "<ResponseMetadata><RequestId>");
    put_escaped(x, tg_cur_str(request_id));
    put_str(x, "</RequestId></ResponseMetadata></");
    put_str(x, x->stack[0]);
    put_str(x, "Response>");
    x->depth = 0;
}

int tg_api_error_xml(struct tg_buf *out, const char *ns, const struct tg_error *err,
                     const char *request_id)
{
    struct tg_xml x;
    tg_buf_reset(out);
    tg_xml_init(&x, out);
    enum tg_code code = err->code == TG_OK ? TG_E_INTERNAL_FAILURE : err->code;
    /* err->message is NUL-terminated by tg_error_set; memchr keeps the
     * read inside the array even if a caller filled it by hand. */
    const char *nul = memchr(err->message, 0, sizeof(err->message));
    struct tg_cur message = tg_cur_make(err->message, nul != NULL ? (size_t)(nul - err->message)
                                                                  : sizeof(err->message));
    if (message.len == 0) {
        message = tg_cur_str(tg_code_message(code));
    }

    put_str(&x, xml_decl);
    tg_xml_open_ns(&x, "ErrorResponse", ns);
    tg_xml_open(&x, "Error");
    /* Sender for client faults, Receiver for 5xx (spec §1.4). */
    tg_xml_elem_str(&x, "Type", tg_code_is_sender(code) ? "Sender" : "Receiver");
    tg_xml_elem_str(&x, "Code", tg_code_name(code));
    tg_xml_elem(&x, "Message", message);
    tg_xml_close(&x);
    /* RequestId is a child of ErrorResponse, not of ResponseMetadata. */
    tg_xml_elem_str(&x, "RequestId", request_id);
    tg_xml_close(&x);
    return tg_xml_finish(&x);
}
