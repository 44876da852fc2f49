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
extern const struct tg_iam_action tg_iam_simulate_actions[]; /* iam_simulate.c */
extern const size_t tg_iam_simulate_actions_n;

/* Store keys and ARNs. */
#define TG_IAM_ROLE_KEY_CAP (TG_IAM_MAX_ROLE_NAME + 1) /* the lower-case role name and its NUL */
#define TG_IAM_ARN_MIN 20                              /* arnType (bc-iam): 20..2048 */

/* How many bytes of a caller's value an error message echoes: enough to
 * recognise it, short enough that the constraint text that follows it
 * still fits in TG_ERROR_MESSAGE_MAX (a 131,072-char policy would not). */
#define TG_IAM_ECHO_MAX 384

/* ---- errors ---- */

/* Copies at most TG_IAM_ECHO_MAX bytes of v (borrowed) into out
 * (NUL-terminated), cut on a UTF-8 character boundary and marked "..." when
 * cut. Invalid UTF-8 is not echoed at all but written "(invalid UTF-8)": it
 * could not be written into a well-formed XML error. */
void tg_iam_echo(struct tg_cur v, char out[TG_IAM_ECHO_MAX + 4]);
/* ValidationError "1 validation error detected: Value 'v' at 'field' failed
 * to satisfy constraint: <constraint>", v echoed by tg_iam_echo. Returns -1. */
int tg_iam_value_error(struct tg_error *err, struct tg_cur v, const char *field,
                       const char *constraint);
/* The same with the constraint "Member must satisfy regular expression
 * pattern: <pattern>". Returns -1. */
int tg_iam_pattern_error(struct tg_error *err, struct tg_cur v, const char *field,
                         const char *pattern);
/* ValidationError "1 validation error detected: Value null at 'field'
 * failed to satisfy constraint: Member must not be null". Returns -1. */
int tg_iam_null_error(struct tg_error *err, const char *field);
/* ServiceFailure with what (a static string) as the operator's detail,
 * "iam: <what>". Returns -1. */
int tg_iam_service_failure(struct tg_error *err, const char *what);

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
int tg_iam_check_chars(struct tg_cur v, const char *field, const char *extra, const char *pattern,
                       struct tg_error *err) TG_MUST_USE;
/* An IAM path: "/" or "/a/b/" with [\x21-\x7E] inside, 1..512. */
int tg_iam_check_path(struct tg_cur v, const char *field, struct tg_error *err) TG_MUST_USE;
/* Integer parameter in [min, max]; not a number: ValidationError. */
int tg_iam_param_int(const struct tg_form *in, const char *name, const char *field, int64_t min,
                     int64_t max, int64_t dflt, int64_t *out, struct tg_error *err) TG_MUST_USE;
/* A policy document parameter: 1..131072 chars of TAB/LF/CR/U+0020..U+00FF
 * (ValidationError otherwise); then the grammar (MalformedPolicyDocument)
 * and, if max_size > 0, IAM's size quota: LimitExceeded "Cannot exceed
 * quota for <quota_name>: <max_size>". Returns the compiled policy (owned)
 * when compiled != NULL. */
int tg_iam_check_policy(struct tg_cur doc, const char *field, enum tg_policy_kind kind,
                        size_t max_size, const char *quota_name, struct tg_policy **compiled,
                        struct tg_error *err) TG_MUST_USE;

/* A required roleNameType or policyNameType parameter (bc-iam): 1..max
 * characters of [\w+=,.@-]. out borrows from in. */
int tg_iam_param_name(const struct tg_form *in, const char *name, const char *field, size_t max,
                      struct tg_cur *out, struct tg_error *err) TG_MUST_USE;

/* The parts of a managed policy ARN, arn:aws:iam::<account>:policy<path><name>;
 * every member borrows from the ARN that was parsed. */
struct tg_iam_policy_arn {
    struct tg_cur arn;     /* the whole ARN */
    struct tg_cur account; /* 12 digits, or "aws" for AWS managed policies */
    struct tg_cur path;    /* "/" or "/a/b/" */
    struct tg_cur name;
};
/* Splits a managed policy ARN; false for anything else (another service, a
 * role ARN, no name, characters outside printable ASCII). */
bool tg_iam_parse_policy_arn(struct tg_cur arn, struct tg_iam_policy_arn *out);
/* arnType length (TG_IAM_ARN_MIN..TG_IAM_MAX_ARN, ValidationError) and a
 * managed policy ARN: InvalidInput "ARN x is not valid." otherwise, while a
 * well-formed ARN that names no policy is the caller's NoSuchEntity. */
int tg_iam_check_policy_arn(struct tg_cur arn, const char *field, struct tg_iam_policy_arn *parts,
                            struct tg_error *err) TG_MUST_USE;

/* ---- state ---- */

/* The role named name (case-insensitively) in snap: *out borrows from snap
 * (valid until the snapshot is released) and key receives its store key;
 * NoSuchEntity "The role with name x cannot be found." otherwise. */
int tg_iam_find_role(const struct tg_snapshot *snap, struct tg_cur name,
                     char key[TG_IAM_ROLE_KEY_CAP], const struct tg_snap_role **out,
                     struct tg_error *err) TG_MUST_USE;
/* A deep copy of doc (borrowed; the snapshot's documents are read-only and
 * shared between threads) to modify for the next version. Returns owned
 * (free with json_decref), or NULL with ServiceFailure. */
json_t *tg_iam_doc_copy(const json_t *doc, struct tg_error *err);
/* The array member name of doc, created empty if absent; borrows from doc
 * (valid while doc holds it), NULL when out of memory. */
json_t *tg_iam_doc_array(json_t *doc, const char *name);
/* Queues the write of doc (borrowed) as the version after version of
 * kind/key; ServiceFailure when it cannot be queued. */
int tg_iam_put(struct tg_iam_out *out, enum tg_entity_kind kind, const char *key, const json_t *doc,
               int64_t version, struct tg_error *err) TG_MUST_USE;

/* Whether the form has the list member "<prefix>.<i><suffix>" (e.g.
 * "Tags.member.51.Key"). Members are numbered without gaps, so the member
 * one past a list's cap says the list is too long. */
bool tg_iam_has_member(const struct tg_form *in, const char *prefix, size_t i, const char *suffix);

/* ---- tags (Tags.member.N.Key / .Value): 0..50, key 1..128, value 0..256,
 * characters [\p{L}\p{Z}\p{N}_.:/=+\-@]*, keys not starting "aws:"
 * (InvalidInput), no duplicate keys (InvalidInput). out holds at least
 * TG_IAM_MAX_TAGS entries. ---- */
int tg_iam_param_tags(const struct tg_form *in, struct tg_kv *out, size_t *n_out,
                      struct tg_error *err) TG_MUST_USE;
/* TagKeys.member.N for Untag* */
int tg_iam_param_tag_keys(const struct tg_form *in, struct tg_cur *out, size_t *n_out,
                          struct tg_error *err) TG_MUST_USE;
/* The same for Tag* and Untag*, where the list is required: none is
 * ValidationError "Value null at 'tags'" ('tagKeys'). */
int tg_iam_param_tags_required(const struct tg_form *in, struct tg_kv *out, size_t *n_out,
                               struct tg_error *err) TG_MUST_USE;
int tg_iam_param_tag_keys_required(const struct tg_form *in, struct tg_cur *out, size_t *n_out,
                                   struct tg_error *err) TG_MUST_USE;
/* A JSON array [{"Key","Value"}] from parsed tags. Returns new reference. */
json_t *tg_iam_tags_json(const struct tg_kv *tags, size_t n);
/* Merges tags into the doc's "tags" array (replacing values of existing
 * keys); LimitExceeded if the result has more than 50. Modifies doc. */
int tg_iam_tags_merge(json_t *doc, const struct tg_kv *tags, size_t n,
                      struct tg_error *err) TG_MUST_USE;
/* Removes the given keys from the doc's "tags" (absent keys are fine). */
void tg_iam_tags_remove(json_t *doc, const struct tg_cur *keys, size_t n);
/* Tag* and Untag*: queue e's document (borrowed) with the tags merged in
 * (tg_iam_tags_merge) or the keys removed as e's next version. Untag*
 * writes nothing when none of the keys was there. */
int tg_iam_tag_entity(struct tg_iam_out *out, enum tg_entity_kind kind, const struct tg_entity *e,
                      const struct tg_kv *tags, size_t n, struct tg_error *err) TG_MUST_USE;
int tg_iam_untag_entity(struct tg_iam_out *out, enum tg_entity_kind kind, const struct tg_entity *e,
                        const struct tg_cur *keys, size_t n, struct tg_error *err) TG_MUST_USE;
/* List*Tags: the page (Marker/MaxItems) of tags (borrowed), cut from the
 * list sorted by key (the order AWS returns, so markers stay stable):
 * <Tags>..</Tags> (always, empty too), <IsTruncated> and <Marker>. */
int tg_iam_xml_tags_page(struct tg_xml *x, const struct tg_form *in, const json_t *tags,
                         struct tg_error *err) TG_MUST_USE;
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
