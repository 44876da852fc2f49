/*
 * Shared by the iam_*.c files only: the per-file action tables and the
 * validation and XML helpers every action uses (iam_common.c).
 */
#ifndef TG_IAM_INTERNAL_H
#define TG_IAM_INTERNAL_H

#include "iam/iam.h"

/* Each file exports its actions; iam.c searches them. */
extern const struct tg_iam_action tg_iam_provider_actions[]; /* iam_provider.c */
extern const size_t tg_iam_provider_actions_n;
extern const struct tg_iam_action tg_iam_role_actions[]; /* iam_role.c */
extern const size_t tg_iam_role_actions_n;
extern const struct tg_iam_action tg_iam_policy_actions[]; /* iam_policy.c */
extern const size_t tg_iam_policy_actions_n;

/* ---- parameter validation (messages are AWS's "N validation error(s)
 * detected: Value 'v' at 'field' failed to satisfy constraint: ..." form;
 * field is the lowerCamel member name AWS uses, e.g. "roleName") ---- */

/* Required parameter name; absent: ValidationError "1 validation error
 * detected: Value null at 'field' failed to satisfy constraint: Member must
 * not be null". */
int tg_iam_param_required(const struct tg_form *in, const char *name, const char *field,
                          struct tg_cur *out, struct tg_error *err) TG_MUST_USE;
/* Optional parameter; *present says whether it was given. */
void tg_iam_param_optional(const struct tg_form *in, const char *name, struct tg_cur *out,
                           bool *present);
/* Length in characters (UTF-8 code points) within [min, max]; invalid
 * UTF-8 is a ValidationError too. */
int tg_iam_check_length(struct tg_cur v, const char *field, size_t min, size_t max,
                        struct tg_error *err) TG_MUST_USE;
/* Every character is a word character [A-Za-z0-9_] or one of extra; the
 * message shows pattern (e.g. "[\\w+=,.@-]+"). */
int tg_iam_check_chars(struct tg_cur v, const char *field, const char *extra,
                       const char *pattern, struct tg_error *err) TG_MUST_USE;
/* An IAM path: "/" or "/a/b/" with [\x21-\x7E] inside, 1..512. */
int tg_iam_check_path(struct tg_cur v, const char *field, struct tg_error *err) TG_MUST_USE;
/* Integer parameter in [min, max]; not a number: ValidationError. */
int tg_iam_param_int(const struct tg_form *in, const char *name, const char *field,
                     int64_t min, int64_t max, int64_t dflt, int64_t *out,
                     struct tg_error *err) TG_MUST_USE;
/* A policy document parameter: 1..131072 chars of TAB/LF/CR/U+0020..U+00FF
 * (ValidationError otherwise); then the grammar (MalformedPolicyDocument)
 * and, if max_size > 0, IAM's size quota: LimitExceeded "Cannot exceed
 * quota for <quota_name>: <max_size>". Returns the compiled policy (owned)
 * when compiled != NULL. */
int tg_iam_check_policy(struct tg_cur doc, const char *field, enum tg_policy_kind kind,
                        size_t max_size, const char *quota_name, struct tg_policy **compiled,
                        struct tg_error *err) TG_MUST_USE;

/* ---- tags (Tags.member.N.Key / .Value): 0..50, key 1..128, value 0..256,
 * characters [\p{L}\p{Z}\p{N}_.:/=+\-@]*, keys not starting "aws:"
 * (InvalidInput), no duplicate keys (InvalidInput). out holds at least
 * TG_IAM_MAX_TAGS entries. ---- */
int tg_iam_param_tags(const struct tg_form *in, struct tg_kv *out, size_t *n_out,
                      struct tg_error *err) TG_MUST_USE;
/* TagKeys.member.N for Untag* */
int tg_iam_param_tag_keys(const struct tg_form *in, struct tg_cur *out, size_t *n_out,
                          struct tg_error *err) TG_MUST_USE;
/* A JSON array [{"Key","Value"}] from parsed tags. Returns new reference. */
json_t *tg_iam_tags_json(const struct tg_kv *tags, size_t n);
/* Merges tags into the doc's "tags" array (replacing values of existing
 * keys); LimitExceeded if the result has more than 50. Modifies doc. */
int tg_iam_tags_merge(json_t *doc, const struct tg_kv *tags, size_t n, struct tg_error *err) TG_MUST_USE;
/* Removes the given keys from the doc's "tags" (absent keys are fine). */
void tg_iam_tags_remove(json_t *doc, const struct tg_cur *keys, size_t n);
/* <Tags><member><Key/><Value/></member>...</Tags>, sorted by key; writes
 * nothing when there are no tags unless always is true. */
void tg_iam_xml_tags(struct tg_xml *x, const json_t *tags, bool always);

/* ---- lists: Marker / MaxItems (1..1000, default 100). Marker is opaque
 * to clients; ours is the decimal index of the next item. A bad marker:
 * ValidationError "Invalid Marker". ---- */
int tg_iam_page(const struct tg_form *in, size_t total, size_t *start, size_t *count,
                bool *truncated, struct tg_error *err) TG_MUST_USE;
/* <IsTruncated>..</IsTruncated> and, if truncated, <Marker>next</Marker>. */
void tg_iam_xml_page_end(struct tg_xml *x, size_t start, size_t count, bool truncated);

/* ---- documents ---- */
/* json_string_value of member name of obj, or NULL. */
const char *tg_iam_doc_str(const json_t *obj, const char *name);
int64_t tg_iam_doc_int(const json_t *obj, const char *name, int64_t dflt);
/* <tag>ISO 8601 of the doc's epoch-milliseconds member</tag> */
void tg_iam_xml_doc_time(struct tg_xml *x, const char *tag, const json_t *obj, const char *name);

#endif
