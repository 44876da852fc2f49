/*
 * The error type and the one table that maps each tg_code to AWS's wire
 * code, HTTP status, Sender/Receiver type and default message
 * (spec aws-sts.md §1.4 common errors, §7 IAM errors, §9 STS errors).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

struct code_entry {
    const char *name;
    int status;
    const char *message;
};

/* Indexed by enum tg_code. Type (Sender/Receiver) follows from the status:
 * AWS reports 5xx errors as Receiver and everything else as Sender. */
static const struct code_entry code_table[TG_CODE_COUNT] = {
    [TG_OK] = {"OK", 200, ""},
    [TG_E_INTERNAL_FAILURE] = {"InternalFailure", 500,
                               "The request processing has failed because of an unknown error, "
                               "exception or failure."},
    [TG_E_SERVICE_UNAVAILABLE] = {"ServiceUnavailable", 503, ""},
    [TG_E_INVALID_ACTION] = {"InvalidAction", 400,
                             "The action or operation requested is invalid. Verify that the "
                             "action is typed correctly."},
    [TG_E_MISSING_ACTION] = {"MissingAction", 400, "Missing Action"},
    [TG_E_MISSING_PARAMETER] = {"MissingParameter", 400, ""},
    [TG_E_INVALID_PARAMETER_VALUE] = {"InvalidParameterValue", 400, ""},
    [TG_E_INVALID_PARAMETER_COMBINATION] = {"InvalidParameterCombination", 400, ""},
    [TG_E_INVALID_QUERY_PARAMETER] = {"InvalidQueryParameter", 400, ""},
    [TG_E_MALFORMED_QUERY_STRING] = {"MalformedQueryString", 404, ""},
    [TG_E_VALIDATION_ERROR] = {"ValidationError", 400, ""},
    [TG_E_REQUEST_TOO_LARGE] = {"RequestEntityTooLarge", 413, "Request body too large"},
    [TG_E_THROTTLING] = {"Throttling", 400, "Rate exceeded"},
    [TG_E_MISSING_AUTHENTICATION_TOKEN] = {"MissingAuthenticationToken", 403,
                                           "Request is missing Authentication Token"},
    [TG_E_INCOMPLETE_SIGNATURE] = {"IncompleteSignature", 400, ""},
    [TG_E_INVALID_CLIENT_TOKEN_ID] = {"InvalidClientTokenId", 403,
                                      "The security token included in the request is invalid."},
    [TG_E_SIGNATURE_DOES_NOT_MATCH] =
        {"SignatureDoesNotMatch", 403,
         "The request signature we calculated does not match the signature you provided. Check "
         "your AWS Secret Access Key and signing method. Consult the service documentation for "
         "details."},
    [TG_E_REQUEST_EXPIRED] = {"RequestExpired", 400, ""},
    [TG_E_EXPIRED_TOKEN] = {"ExpiredToken", 403,
                            "The security token included in the request is expired"},
    [TG_E_ACCESS_DENIED] = {"AccessDenied", 403, ""},
    [TG_E_NO_SUCH_ENTITY] = {"NoSuchEntity", 404, ""},
    [TG_E_ENTITY_ALREADY_EXISTS] = {"EntityAlreadyExists", 409, ""},
    [TG_E_LIMIT_EXCEEDED] = {"LimitExceeded", 409, ""},
    [TG_E_MALFORMED_POLICY_DOCUMENT] = {"MalformedPolicyDocument", 400, ""},
    [TG_E_INVALID_INPUT] = {"InvalidInput", 400, ""},
    [TG_E_CONCURRENT_MODIFICATION] = {"ConcurrentModification", 409, ""},
    [TG_E_DELETE_CONFLICT] = {"DeleteConflict", 409, ""},
    [TG_E_UNMODIFIABLE_ENTITY] = {"UnmodifiableEntity", 400, ""},
    [TG_E_POLICY_NOT_ATTACHABLE] = {"PolicyNotAttachable", 400, ""},
    [TG_E_OPENID_IDP_COMMUNICATION] = {"OpenIdIdpCommunicationError", 400, ""},
    [TG_E_SERVICE_FAILURE] = {"ServiceFailure", 500,
                              "The request processing has failed because of an unknown error, "
                              "exception or failure."},
    [TG_E_INVALID_IDENTITY_TOKEN] = {"InvalidIdentityToken", 400, ""},
    [TG_E_EXPIRED_TOKEN_EXCEPTION] = {"ExpiredTokenException", 400, ""},
    [TG_E_IDP_REJECTED_CLAIM] = {"IDPRejectedClaim", 403, ""},
    [TG_E_IDP_COMMUNICATION_ERROR] = {"IDPCommunicationError", 400, ""},
    [TG_E_PACKED_POLICY_TOO_LARGE] = {"PackedPolicyTooLarge", 400, ""},
    [TG_E_REGION_DISABLED] = {"RegionDisabledException", 403, ""},
};

/* An out-of-range code is a programming error; report it as the internal
 * failure rather than reading past the table. */
static const struct code_entry *entry(enum tg_code code)
{
    if ((unsigned)code >= TG_CODE_COUNT || code_table[code].name == NULL) {
        return &code_table[TG_E_INTERNAL_FAILURE];
    }
    return &code_table[code];
}

const char *tg_code_name(enum tg_code code)
{
    return entry(code)->name;
}

int tg_code_http_status(enum tg_code code)
{
    return entry(code)->status;
}

bool tg_code_is_sender(enum tg_code code)
{
    return entry(code)->status < 500;
}

const char *tg_code_message(enum tg_code code)
{
    return entry(code)->message;
}

int tg_error_set(struct tg_error *err, enum tg_code code, const char *fmt, ...)
{
    if (err == NULL) {
        return -1;
    }
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    /* vsnprintf truncates to fit and always NUL-terminates. */
    int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->message[0] = '\0';
    }
    return -1;
}

int tg_error_code(struct tg_error *err, enum tg_code code)
{
    return tg_error_set(err, code, "%s", tg_code_message(code));
}

int tg_error_detail(struct tg_error *err, const char *fmt, ...)
{
    if (err == NULL) {
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->detail[0] = '\0';
    }
    return -1;
}

void tg_error_clear(struct tg_error *err)
{
    if (err == NULL) {
        return;
    }
    err->code = TG_OK;
    err->message[0] = '\0';
    err->detail[0] = '\0';
}
