/*
 * iam_provider: the IAM actions that manage OpenID Connect identity
 * providers (spec 7.1). A provider is stored under its URL without the
 * scheme ("host/path"), which is also the suffix of its ARN
 * "arn:aws:iam::ACCT:oidc-provider/host/path" (store.h, snapshot.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"

#define BAD_URL "Invalid Open ID Connect Provider URL"

/* ---- the provider URL ------------------------------------------------------ */

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 127.0.0.0/8 written as four decimal octets. */
static bool is_ipv4_loopback(struct tg_cur h)
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        size_t start = i;
        unsigned v = 0;
        while (i < h.len && is_digit(h.ptr[i]) && i - start < 3) {
            v = v * 10 + (unsigned)(h.ptr[i] - '0');
            i++;
        }
        if (i == start || v > 255 || (octet == 0 && v != 127)) {
            return false;
        }
        if (octet < 3) {
            if (i >= h.len || h.ptr[i] != '.') {
                return false;
            }
            i++;
        }
    }
    return i == h.len;
}

static bool is_loopback(struct tg_cur host)
{
    return tg_cur_eq_nocase_str(host, "localhost") || tg_cur_eq_str(host, "[::1]") ||
           is_ipv4_loopback(host);
}

/* A DNS name or IPv4 address: labels of [A-Za-z0-9-], none empty; or an
 * IPv6 literal in brackets. */
static bool host_valid(struct tg_cur h)
{
    if (h.len == 0) {
        return false;
    }
    if (h.ptr[0] == '[') {
        if (h.len < 3 || h.ptr[h.len - 1] != ']') {
            return false;
        }
        for (size_t i = 1; i + 1 < h.len; i++) {
            if (!is_hex(h.ptr[i]) && h.ptr[i] != ':' && h.ptr[i] != '.') {
                return false;
            }
        }
        return true;
    }
    bool label_empty = true;
    for (size_t i = 0; i < h.len; i++) {
        uint8_t c = h.ptr[i];
        if (c == '.') {
            if (label_empty) {
                return false;
            }
            label_empty = true;
        } else if (is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '-') {
            label_empty = false;
        } else {
            return false;
        }
    }
    return !label_empty;
}

/*
 * Checks a provider Url (spec 7.1: 1..255, https://, a host, no query, no
 * port; we also refuse fragments and user information, which no issuer
 * has, OpenID Connect Discovery 1.0 §4 / RFC 8414 §2) and returns its key,
 * the URL without the scheme. In --dev mode a loopback host may use
 * http:// and a port, so that a local issuer can be registered.
 */
static int check_url(const struct tg_iam_ctx *ctx, struct tg_cur url, struct tg_cur *key,
                     struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(url, "url", 1, TG_IAM_MAX_URL, err));
    bool https = false;
    size_t skip = 0;
    if (url.len >= 8 && tg_cur_eq_nocase_str(tg_cur_make(url.ptr, 8), "https://")) {
        https = true;
        skip = 8;
    } else if (url.len >= 7 && tg_cur_eq_nocase_str(tg_cur_make(url.ptr, 7), "http://")) {
        skip = 7;
    } else {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            BAD_URL ". The URL must begin with https://.");
    }
    struct tg_cur rest = tg_cur_make(url.ptr + skip, url.len - skip);
    for (size_t i = 0; i < rest.len; i++) {
        uint8_t c = rest.ptr[i];
        if (c == '?') {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                BAD_URL ". The URL must not contain a query.");
        }
        if (c == '#') {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                BAD_URL ". The URL must not contain a fragment.");
        }
        if (c < 0x21 || c > 0x7E) {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                BAD_URL ". The URL must not contain spaces, control or "
                                        "non-ASCII characters.");
        }
    }
    long slash = tg_cur_find(rest, '/', 0);
    struct tg_cur authority = tg_cur_make(rest.ptr, slash < 0 ? rest.len : (size_t)slash);
    if (authority.len == 0) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR, BAD_URL ". The URL must contain a host.");
    }
    if (tg_cur_find(authority, '@', 0) >= 0) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            BAD_URL ". The URL must not contain user information.");
    }
    /* Host and optional ":port"; an IPv6 literal carries colons inside []. */
    struct tg_cur host = authority;
    struct tg_cur port = tg_cur_make("", 0);
    bool has_port = false;
    long colon = -1;
    if (authority.ptr[0] == '[') {
        long close = tg_cur_find(authority, ']', 0);
        if (close >= 0 && (size_t)close + 1 < authority.len) {
            colon = authority.ptr[close + 1] == ':' ? close + 1 : -2;
        }
    } else {
        colon = tg_cur_find(authority, ':', 0);
    }
    if (colon == -2) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            BAD_URL ". The host is not a valid host name.");
    }
    if (colon >= 0) {
        has_port = true;
        host = tg_cur_make(authority.ptr, (size_t)colon);
        port = tg_cur_make(authority.ptr + colon + 1, authority.len - (size_t)colon - 1);
    }
    if (!host_valid(host)) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            BAD_URL ". The host is not a valid host name.");
    }
    bool dev_ok = ctx->dev && is_loopback(host);
    if (!https && !dev_ok) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            BAD_URL ". The URL must begin with https://%s.",
                            ctx->dev ? " (http:// is allowed for loopback hosts only)" : "");
    }
    if (has_port) {
        if (!dev_ok) {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                BAD_URL ". The URL must not contain a port.");
        }
        int64_t p = 0;
        if (port.len == 0 || port.len > 5 || port.ptr[0] == '-' || tg_cur_to_i64(port, &p) < 0 ||
            p < 1 || p > 65535) {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                BAD_URL ". The port is not a number from 1 to 65535.");
        }
    }
    *key = rest;
    return 0;
}

/* ---- lists in the request --------------------------------------------------- */

/* Keeps the first of equal values (IAM keeps a set). Returns the new count. */
static size_t dedup(struct tg_cur *v, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < out && !seen; j++) {
            seen = tg_cur_eq(v[i], v[j]);
        }
        if (!seen) {
            v[out++] = v[i];
        }
    }
    return out;
}

static int check_client_id(struct tg_cur id, const char *field, struct tg_error *err)
{
    /* bc-iam clientIDType: 1..255 */
    return tg_iam_check_length(id, field, 1, TG_IAM_MAX_CLIENT_ID, err);
}

/* ClientIDList.member.N; out holds TG_IAM_MAX_CLIENT_IDS. */
static int param_client_ids(const struct tg_form *in, struct tg_cur *out, size_t *n,
                            struct tg_error *err)
{
    *n = 0;
    /* Members are numbered without gaps: a 101st means more than 100. */
    if (tg_iam_has_member(in, "ClientIDList.member", TG_IAM_MAX_CLIENT_IDS + 1, "")) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d",
                            TG_IAM_MAX_CLIENT_IDS);
    }
    size_t count = 0;
    TG_GUARD(tg_form_get_list(in, "ClientIDList.member", out, TG_IAM_MAX_CLIENT_IDS, &count, err));
    for (size_t i = 0; i < count; i++) {
        char field[64];
        snprintf(field, sizeof(field), "clientIDList.%zu.member", i + 1);
        TG_GUARD(check_client_id(out[i], field, err));
    }
    *n = dedup(out, count);
    return 0;
}

/* ThumbprintList.member.N; out holds TG_IAM_MAX_THUMBPRINTS. */
static int param_thumbprints(const struct tg_form *in, struct tg_cur *out, size_t *n,
                             struct tg_error *err)
{
    *n = 0;
    if (tg_iam_has_member(in, "ThumbprintList.member", TG_IAM_MAX_THUMBPRINTS + 1, "")) {
        /* moto's text for AWS's refusal of a sixth thumbprint (spec 7.1). */
        return tg_error_set(err, TG_E_INVALID_INPUT,
                            "Thumbprint list must contain fewer than 5 entries.");
    }
    size_t count = 0;
    TG_GUARD(
        tg_form_get_list(in, "ThumbprintList.member", out, TG_IAM_MAX_THUMBPRINTS, &count, err));
    for (size_t i = 0; i < count; i++) {
        char field[64];
        snprintf(field, sizeof(field), "thumbprintList.%zu.member", i + 1);
        /* bc-iam thumbprintType: exactly 40 characters, the hex SHA-1 of
         * a certificate. */
        TG_GUARD(tg_iam_check_length(out[i], field, 40, 40, err));
        for (size_t j = 0; j < out[i].len; j++) {
            if (!is_hex(out[i].ptr[j])) {
                return tg_iam_pattern_error(err, out[i], field, "[0-9A-Fa-f]{40}");
            }
        }
    }
    *n = dedup(out, count);
    return 0;
}

/* ---- the provider named by OpenIDConnectProviderArn ------------------------- */

/* arn:aws:iam::<12 digits>:oidc-provider/<key> (any partition). */
static bool arn_valid(struct tg_cur a)
{
    if (!tg_cur_starts_with(a, "arn:")) {
        return false;
    }
    size_t i = 4;
    size_t part_start = i;
    while (i < a.len && a.ptr[i] != ':') {
        i++;
    }
    if (i == part_start || i >= a.len) {
        return false;
    }
    struct tg_cur tail = tg_cur_make(a.ptr + i, a.len - i);
    const char *svc = ":iam::";
    if (!tg_cur_starts_with(tail, svc)) {
        return false;
    }
    tail.ptr += strlen(svc);
    tail.len -= strlen(svc);
    if (tail.len < 13) {
        return false;
    }
    for (size_t j = 0; j < 12; j++) {
        if (!is_digit(tail.ptr[j])) {
            return false;
        }
    }
    tail.ptr += 12;
    tail.len -= 12;
    const char *res = ":oidc-provider/";
    return tg_cur_starts_with(tail, res) && tail.len > strlen(res);
}

static int param_arn(const struct tg_form *in, struct tg_cur *arn, struct tg_error *err)
{
    TG_GUARD(tg_iam_param_required(in, "OpenIDConnectProviderArn", "openIDConnectProviderArn", arn,
                                   err));
    TG_GUARD(
        tg_iam_check_length(*arn, "openIDConnectProviderArn", TG_IAM_ARN_MIN, TG_IAM_MAX_ARN, err));
    if (!arn_valid(*arn)) {
        return tg_error_set(err, TG_E_INVALID_INPUT, "ARN %.*s is not valid.", (int)arn->len,
                            (const char *)arn->ptr);
    }
    return 0;
}

static int find(const struct tg_iam_ctx *ctx, struct tg_cur arn,
                const struct tg_snap_provider **out, struct tg_error *err)
{
    *out = tg_snapshot_provider_by_arn(ctx->snap, arn);
    if (*out == NULL) {
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY,
                            "OpenIDConnect Provider not found for arn %.*s", (int)arn.len,
                            (const char *)arn.ptr);
    }
    return 0;
}

/* ---- documents ------------------------------------------------------------- */

static json_t *str_array(const struct tg_cur *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_stringn((const char *)v[i].ptr, v[i].len)) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static void xml_str_list(struct tg_xml *x, const char *tag, const json_t *arr)
{
    tg_xml_open(x, tag);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        tg_xml_elem_str(x, "member", s != NULL ? s : "");
    }
    tg_xml_close(x);
}

static int oom(struct tg_error *err)
{
    return tg_iam_service_failure(err, "out of memory building a provider document");
}

/* Writes doc (a modified copy of p's) as p's next version; takes ownership
 * of doc. */
static int put_copy(const struct tg_snap_provider *p, json_t *doc, struct tg_iam_out *out,
                    struct tg_error *err)
{
    int rc = tg_iam_put(out, TG_ENTITY_PROVIDER, p->e.key, doc, p->e.version, err);
    json_decref(doc);
    return rc;
}

static json_t *copy_doc(const struct tg_snap_provider *p)
{
    return json_deep_copy(p->e.doc);
}

static long find_str(const json_t *arr, struct tg_cur v)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *s = json_array_get(arr, i);
        if (json_is_string(s) &&
            tg_cur_eq(tg_cur_make(json_string_value(s), json_string_length(s)), v)) {
            return (long)i;
        }
    }
    return -1;
}

/* ---- actions --------------------------------------------------------------- */

static int create_provider(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                           struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur url, key;
    struct tg_cur ids[TG_IAM_MAX_CLIENT_IDS];
    struct tg_cur tps[TG_IAM_MAX_THUMBPRINTS];
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    size_t n_ids = 0, n_tps = 0, n_tags = 0;
    json_t *doc = NULL;
    char *key_str = NULL;
    int rc = -1;

    TG_GUARD(tg_iam_param_required(in, "Url", "url", &url, err));
    TG_GUARD(check_url(ctx, url, &key, err));
    TG_GUARD(param_client_ids(in, ids, &n_ids, err));
    TG_GUARD(param_thumbprints(in, tps, &n_tps, err));
    TG_GUARD(tg_iam_param_tags(in, tags, &n_tags, err));

    if (tg_snapshot_provider_by_key(ctx->snap, key) != NULL) {
        return tg_error_set(err, TG_E_ENTITY_ALREADY_EXISTS,
                            "Provider with url %.*s already exists.", (int)url.len,
                            (const char *)url.ptr);
    }
    if (ctx->snap->n_providers >= TG_IAM_MAX_PROVIDERS) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "Cannot exceed quota for OpenIdConnectProvidersPerAccount: %d",
                            TG_IAM_MAX_PROVIDERS);
    }

    /* The document shape of snapshot.h. */
    doc = json_object();
    key_str = tg_cur_strdup(key);
    if (doc == NULL || key_str == NULL ||
        json_object_set_new(doc, "url", json_stringn((const char *)url.ptr, url.len)) < 0 ||
        json_object_set_new(doc, "client_ids", str_array(ids, n_ids)) < 0 ||
        json_object_set_new(doc, "thumbprints", str_array(tps, n_tps)) < 0 ||
        json_object_set_new(doc, "tags", tg_iam_tags_json(tags, n_tags)) < 0 ||
        json_object_set_new(doc, "create_date", json_integer(ctx->now_ms)) < 0 ||
        tg_iam_out_put(out, TG_ENTITY_PROVIDER, key_str, doc, 0) < 0) {
        oom(err);
        goto out;
    }

    tg_xml_elemf(out->xml, "OpenIDConnectProviderArn", "arn:aws:iam::%s:oidc-provider/%s",
                 ctx->snap->account_id, key_str);
    tg_iam_xml_tags(out->xml, json_object_get(doc, "tags"), false);

    /* An issuer's iss is compared byte for byte with the provider URL
     * (spec 2, 10), and no major CI issuer ends in '/'. */
    if (url.ptr[url.len - 1] == '/') {
        tg_iam_out_warn(out,
                        "provider %s ends with '/': tokens must carry exactly this iss; GitHub, "
                        "GitLab, CircleCI and Azure DevOps issuers have no trailing slash",
                        json_string_value(json_object_get(doc, "url")));
    }
    rc = 0;
out:
    json_decref(doc);
    free(key_str);
    return rc;
}

static int get_provider(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                        struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(find(ctx, arn, &p, err));
    /* Element order of AWS's sample response (apiref-GetOIDC, spec 7.1). */
    xml_str_list(out->xml, "ThumbprintList", json_object_get(p->e.doc, "thumbprints"));
    tg_iam_xml_doc_time(out->xml, "CreateDate", p->e.doc, "create_date");
    xml_str_list(out->xml, "ClientIDList", json_object_get(p->e.doc, "client_ids"));
    tg_xml_elem_str(out->xml, "Url", p->e.key);
    tg_iam_xml_tags(out->xml, json_object_get(p->e.doc, "tags"), false);
    return 0;
}

static int list_providers(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                          struct tg_iam_out *out, struct tg_error *err)
{
    (void)in;
    (void)err;
    tg_xml_open(out->xml, "OpenIDConnectProviderList");
    for (size_t i = 0; i < ctx->snap->n_providers; i++) {
        tg_xml_open(out->xml, "member");
        tg_xml_elem_str(out->xml, "Arn", ctx->snap->providers[i].arn);
        tg_xml_close(out->xml);
    }
    tg_xml_close(out->xml);
    return 0;
}

static int delete_provider(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                           struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(find(ctx, arn, &p, err));
    if (tg_iam_out_delete(out, TG_ENTITY_PROVIDER, p->e.key, p->e.version) < 0) {
        return oom(err);
    }
    return 0;
}

static int add_client_id(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                         struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn, id;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(tg_iam_param_required(in, "ClientID", "clientID", &id, err));
    TG_GUARD(check_client_id(id, "clientID", err));
    TG_GUARD(find(ctx, arn, &p, err));
    const json_t *cur = json_object_get(p->e.doc, "client_ids");
    /* Adding a client id the provider already has is not an error (spec 7.1). */
    if (find_str(cur, id) >= 0) {
        return 0;
    }
    if (json_array_size(cur) >= TG_IAM_MAX_CLIENT_IDS) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d",
                            TG_IAM_MAX_CLIENT_IDS);
    }
    json_t *doc = copy_doc(p);
    json_t *ids = doc != NULL ? tg_iam_doc_array(doc, "client_ids") : NULL;
    if (ids == NULL || json_array_append_new(ids, json_stringn((const char *)id.ptr, id.len)) < 0) {
        json_decref(doc);
        return oom(err);
    }
    return put_copy(p, doc, out, err);
}

static int remove_client_id(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                            struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn, id;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(tg_iam_param_required(in, "ClientID", "clientID", &id, err));
    TG_GUARD(check_client_id(id, "clientID", err));
    TG_GUARD(find(ctx, arn, &p, err));
    /* Removing an id the provider does not have succeeds and changes
     * nothing, as adding one it has (spec 7.1; AWS's behaviour here is
     * UNCONFIRMED, spec 11). */
    long at = find_str(json_object_get(p->e.doc, "client_ids"), id);
    if (at < 0) {
        return 0;
    }
    json_t *doc = copy_doc(p);
    json_t *ids = doc != NULL ? tg_iam_doc_array(doc, "client_ids") : NULL;
    if (ids == NULL || json_array_remove(ids, (size_t)at) < 0) {
        json_decref(doc);
        return oom(err);
    }
    return put_copy(p, doc, out, err);
}

static int update_thumbprints(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    struct tg_cur tps[TG_IAM_MAX_THUMBPRINTS];
    size_t n_tps = 0;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    /* Required, but may be empty: an SDK sends an empty list as
     * "ThumbprintList=" (Query protocol), which we take as "no pinned
     * thumbprints", as CreateOpenIDConnectProvider without the list. */
    if (!tg_iam_has_member(in, "ThumbprintList.member", 1, "") &&
        tg_form_get(in, "ThumbprintList") == NULL) {
        return tg_iam_null_error(err, "thumbprintList");
    }
    TG_GUARD(param_thumbprints(in, tps, &n_tps, err));
    TG_GUARD(find(ctx, arn, &p, err));
    json_t *doc = copy_doc(p);
    /* The new list replaces the old one (spec 7.1). */
    if (doc == NULL || json_object_set_new(doc, "thumbprints", str_array(tps, n_tps)) < 0) {
        json_decref(doc);
        return oom(err);
    }
    return put_copy(p, doc, out, err);
}

static int tag_provider(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                        struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    size_t n_tags = 0;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(tg_iam_param_tags_required(in, tags, &n_tags, err));
    TG_GUARD(find(ctx, arn, &p, err));
    return tg_iam_tag_entity(out, TG_ENTITY_PROVIDER, &p->e, tags, n_tags, err);
}

static int untag_provider(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                          struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    struct tg_cur keys[TG_IAM_MAX_TAGS];
    size_t n_keys = 0;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    TG_GUARD(tg_iam_param_tag_keys_required(in, keys, &n_keys, err));
    TG_GUARD(find(ctx, arn, &p, err));
    return tg_iam_untag_entity(out, TG_ENTITY_PROVIDER, &p->e, keys, n_keys, err);
}

static int list_tags(const struct tg_iam_ctx *ctx, const struct tg_form *in, struct tg_iam_out *out,
                     struct tg_error *err)
{
    struct tg_cur arn;
    const struct tg_snap_provider *p = NULL;
    TG_GUARD(param_arn(in, &arn, err));
    /* Paging parameters are checked before the look-up, as the model's
     * constraints are. */
    size_t start, count;
    bool truncated;
    TG_GUARD(tg_iam_page(in, 0, &start, &count, &truncated, err));
    TG_GUARD(find(ctx, arn, &p, err));
    return tg_iam_xml_tags_page(out->xml, in, json_object_get(p->e.doc, "tags"), err);
}

const struct tg_iam_action tg_iam_provider_actions[] = {
    {"CreateOpenIDConnectProvider", create_provider, true, true},
    {"GetOpenIDConnectProvider", get_provider, true, false},
    {"ListOpenIDConnectProviders", list_providers, true, false},
    {"DeleteOpenIDConnectProvider", delete_provider, false, true},
    {"AddClientIDToOpenIDConnectProvider", add_client_id, false, true},
    {"RemoveClientIDFromOpenIDConnectProvider", remove_client_id, false, true},
    {"UpdateOpenIDConnectProviderThumbprint", update_thumbprints, false, true},
    {"TagOpenIDConnectProvider", tag_provider, false, true},
    {"UntagOpenIDConnectProvider", untag_provider, false, true},
    {"ListOpenIDConnectProviderTags", list_tags, true, false},
};
const size_t tg_iam_provider_actions_n = TG_ARRAY_LEN(tg_iam_provider_actions);
