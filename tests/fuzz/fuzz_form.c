/*
 * Fuzz target for the Query protocol form decoder (src/api/form.c) and the
 * util decoders it relies on. The first byte chooses where the rest of the
 * input is split into the two sources (query string, body).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static void check_cursor_inside(const struct tg_cur *c, const struct tg_form *f)
{
    /* Every value lies in one of the form's chunks: touch each byte so ASan
     * sees a read out of bounds. */
    volatile uint8_t sink = 0;
    (void)f;
    for (size_t i = 0; i < c->len; i++) {
        sink ^= c->ptr[i];
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tg_form form; /* large: keep it off the stack */
    static struct tg_cur list[TG_FORM_MAX_LIST];
    static struct tg_kv pairs[TG_FORM_MAX_LIST];
    struct tg_error err;
    size_t n = 0;

    if (size == 0) {
        return 0;
    }
    size_t split = (size_t)data[0] * (size - 1) / 255;
    const uint8_t *p = data + 1;
    size_t len = size - 1;

    tg_error_clear(&err);
    tg_form_init(&form);
    if (tg_form_parse(&form, p, split, &err) < 0) {
        if (form.n != 0 || err.code == TG_OK || err.message[0] == '\0') {
            abort();
        }
    }
    size_t before = form.n;
    if (tg_form_parse(&form, p + split, len - split, &err) < 0) {
        /* A failed source adds nothing. */
        if (form.n != before || err.code == TG_OK) {
            abort();
        }
    }
    if (form.n > TG_FORM_MAX_PARAMS) {
        abort();
    }
    for (size_t i = 0; i < form.n; i++) {
        const struct tg_param *pa = &form.params[i];
        if (pa->name.len == 0 || pa->name.len > TG_FORM_MAX_NAME ||
            pa->value.len > TG_FORM_MAX_VALUE || memchr(pa->name.ptr, 0, pa->name.len) != NULL) {
            abort();
        }
        /* Names are unique (and NUL-free), so tg_form_get finds this very
         * parameter by its name. */
        char *name = tg_cur_strdup(pa->name);
        if (name == NULL) {
            abort();
        }
        if (tg_form_get(&form, name) != &pa->value) {
            abort();
        }
        free(name);
        check_cursor_inside(&pa->value, &form);
    }
    const char *names[] = {"Action", "Version", "RoleName", "Url"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct tg_cur *v = tg_form_get(&form, names[i]);
        if (v != NULL) {
            check_cursor_inside(v, &form);
        }
    }
    const char *lists[] = {"ClientIDList.member", "ThumbprintList.member", "a", ""};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        size_t max = i == 0 ? TG_FORM_MAX_LIST : 5;
        if (tg_form_get_list(&form, lists[i], list, max, &n, &err) == 0) {
            if (n > max) {
                abort();
            }
            for (size_t k = 0; k < n; k++) {
                check_cursor_inside(&list[k], &form);
            }
        }
    }
    const char *pair_lists[] = {"Tags.member", "a", "PolicyArns.member"};
    for (size_t i = 0; i < sizeof(pair_lists) / sizeof(pair_lists[0]); i++) {
        size_t max = i == 0 ? 50 : TG_FORM_MAX_LIST;
        if (tg_form_get_pairs(&form, pair_lists[i], "Key", "Value", pairs, max, &n, &err) == 0) {
            if (n > max) {
                abort();
            }
            for (size_t k = 0; k < n; k++) {
                check_cursor_inside(&pairs[k].key, &form);
                check_cursor_inside(&pairs[k].value, &form);
            }
        }
    }
    tg_form_free(&form);

    /* The util decoders on the whole input, and round trips where defined. */
    struct tg_buf out, back;
    struct tg_cur in = tg_cur_make(p, len);
    tg_buf_init(&out, TG_HTTP_MAX_BODY);
    tg_buf_init(&back, TG_HTTP_MAX_BODY * 2);
    if (tg_url_decode(&out, in, data[0] & 1) == 0) {
        if (out.len > len) {
            abort();
        }
        /* Encoding what was decoded and decoding again is the identity. */
        if (tg_url_encode(&back, tg_buf_cur(&out)) == 0) {
            struct tg_buf again;
            tg_buf_init(&again, TG_HTTP_MAX_BODY);
            if (tg_url_decode(&again, tg_buf_cur(&back), false) < 0 ||
                !tg_cur_eq(tg_buf_cur(&again), tg_buf_cur(&out))) {
                abort();
            }
            tg_buf_free(&again);
        }
    }
    tg_buf_reset(&out);
    tg_buf_reset(&back);
    if (tg_base64_decode(&out, in) == 0) {
        /* Strict decoding means one encoding per byte string. */
        if (tg_base64_encode(&back, out.ptr, out.len) < 0 || !tg_cur_eq(tg_buf_cur(&back), in)) {
            abort();
        }
    } else if (out.len != 0) {
        abort();
    }
    tg_buf_reset(&out);
    tg_buf_reset(&back);
    if (tg_base64url_decode(&out, in) == 0) {
        if (tg_base64url_encode(&back, out.ptr, out.len) < 0 || !tg_cur_eq(tg_buf_cur(&back), in)) {
            abort();
        }
    } else if (out.len != 0) {
        abort();
    }
    tg_buf_free(&out);
    tg_buf_free(&back);

    /* The XML escaper must produce valid UTF-8 for any bytes. */
    struct tg_buf xb;
    struct tg_xml x;
    tg_buf_init(&xb, TG_HTTP_MAX_RESPONSE);
    tg_xml_init(&x, &xb);
    tg_xml_elem(&x, "V", in);
    if (tg_xml_finish(&x) < 0 || !tg_utf8_valid(tg_buf_cur(&xb))) {
        abort();
    }
    tg_buf_free(&xb);
    return 0;
}
