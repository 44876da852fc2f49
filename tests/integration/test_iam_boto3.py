"""The IAM API through boto3: OIDC providers, roles, inline and managed
policies, tags, and the AWS error codes botocore raises (spec 7)."""

import datetime
import json
import re

import botocore.exceptions
import pytest

from conftest import (
    AUDIENCE,
    GITHUB_HOST,
    GITHUB_THUMBPRINT,
    GITHUB_URL,
    INLINE_POLICY,
    UUID_RE,
    seed_trust_policy,
)


def error_of(excinfo):
    """(code, HTTP status) of a botocore ClientError."""
    resp = excinfo.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


def assert_recent(when):
    now = datetime.datetime.now(datetime.timezone.utc)
    assert isinstance(when, datetime.datetime)
    assert abs((now - when).total_seconds()) < 300, when


@pytest.fixture(scope="module")
def iam(server):
    return server.iam()


@pytest.fixture(scope="module")
def github(iam):
    """The GitHub provider of this module's server and the account id read
    from its ARN."""
    resp = iam.create_open_id_connect_provider(
        Url=GITHUB_URL, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT]
    )
    arn = resp["OpenIDConnectProviderArn"]
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):oidc-provider/" + re.escape(GITHUB_HOST), arn)
    assert m, arn
    return arn, m.group(1)


def make_role(iam, account, name, **kw):
    return iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(seed_trust_policy(account)),
        **kw,
    )["Role"]


# ---- the round trip of the brief ------------------------------------------------


def test_provider_round_trip(iam, github):
    arn, account = github
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    # AWS returns the URL without its scheme (spec 7.1).
    assert got["Url"] == GITHUB_HOST
    assert got["ClientIDList"] == [AUDIENCE]
    assert got["ThumbprintList"] == [GITHUB_THUMBPRINT]
    assert_recent(got["CreateDate"])
    assert UUID_RE.fullmatch(got["ResponseMetadata"]["RequestId"])
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == got[
        "ResponseMetadata"
    ]["RequestId"]

    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arn in arns


def test_role_inline_policy_round_trip(iam, github):
    _, account = github
    trust = seed_trust_policy(account)
    role = iam.create_role(
        RoleName="gha-deploy",
        Path="/ci/",
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="GitHub Actions deploys of octo-org/octo-repo",
        MaxSessionDuration=7200,
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/ci/gha-deploy"
    assert role["RoleName"] == "gha-deploy"
    assert role["Path"] == "/ci/"
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", role["RoleId"]), role["RoleId"]
    assert role["AssumeRolePolicyDocument"] == trust
    assert role["MaxSessionDuration"] == 7200
    assert_recent(role["CreateDate"])

    got = iam.get_role(RoleName="gha-deploy")["Role"]
    assert got["AssumeRolePolicyDocument"] == trust
    assert got["Arn"] == role["Arn"]
    assert got["RoleId"] == role["RoleId"]
    assert got["Description"] == "GitHub Actions deploys of octo-org/octo-repo"
    assert got["MaxSessionDuration"] == 7200

    iam.put_role_policy(
        RoleName="gha-deploy", PolicyName="artifacts-read", PolicyDocument=json.dumps(INLINE_POLICY)
    )
    pol = iam.get_role_policy(RoleName="gha-deploy", PolicyName="artifacts-read")
    assert pol["RoleName"] == "gha-deploy"
    assert pol["PolicyName"] == "artifacts-read"
    assert pol["PolicyDocument"] == INLINE_POLICY
    assert iam.list_role_policies(RoleName="gha-deploy")["PolicyNames"] == ["artifacts-read"]

    listed = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    assert listed["gha-deploy"]["Arn"] == role["Arn"]
    assert listed["gha-deploy"]["AssumeRolePolicyDocument"] == trust
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/ci/")["Roles"]] == ["gha-deploy"]

    # Updates.
    iam.update_role(RoleName="gha-deploy", MaxSessionDuration=3600)
    iam.update_role_description(RoleName="gha-deploy", Description="deploys")
    trust2 = seed_trust_policy(account, repo="octo-org/other-repo")
    iam.update_assume_role_policy(RoleName="gha-deploy", PolicyDocument=json.dumps(trust2))
    got = iam.get_role(RoleName="gha-deploy")["Role"]
    assert got["MaxSessionDuration"] == 3600
    assert got["Description"] == "deploys"
    assert got["AssumeRolePolicyDocument"] == trust2

    # PutRolePolicy with the same name replaces the document.
    narrower = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName="gha-deploy", PolicyName="artifacts-read", PolicyDocument=json.dumps(narrower)
    )
    assert (
        iam.get_role_policy(RoleName="gha-deploy", PolicyName="artifacts-read")["PolicyDocument"]
        == narrower
    )

    # Delete: refused while the inline policy exists.
    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_role(RoleName="gha-deploy")
    assert error_of(e) == ("DeleteConflict", 409)
    assert iam.get_role(RoleName="gha-deploy")["Role"]["RoleId"] == role["RoleId"]

    iam.delete_role_policy(RoleName="gha-deploy", PolicyName="artifacts-read")
    assert iam.list_role_policies(RoleName="gha-deploy")["PolicyNames"] == []
    iam.delete_role(RoleName="gha-deploy")
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_role(RoleName="gha-deploy")
    assert error_of(e) == ("NoSuchEntity", 404)
    assert "gha-deploy" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_provider_client_ids_thumbprints_delete(server, iam):
    url = "https://gitlab.example.com"
    # ThumbprintList is optional on AWS now (spec 7.1), but botocore 1.29's
    # model still requires it: send the request without client-side checks.
    arn = server.iam(parameter_validation=False).create_open_id_connect_provider(
        Url=url, ClientIDList=["one"]
    )["OpenIDConnectProviderArn"]
    assert arn.endswith(":oidc-provider/gitlab.example.com")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    # ThumbprintList is optional (spec 7.1): stored as an empty list.
    assert got.get("ThumbprintList", []) == []

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="two")
    # Adding an existing client id is not an error (spec 7.1).
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="two")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert sorted(got["ClientIDList"]) == ["one", "two"]

    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="one")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["two"]

    t1, t2 = "a" * 40, "0123456789abcdef0123456789abcdef01234567"
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[t1])
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[t2])
    # Replaced, not merged.
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ThumbprintList"] == [t2]

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(e) == ("NoSuchEntity", 404)
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arn not in arns


def test_managed_policy_attach_detach(iam, github):
    _, account = github
    make_role(iam, account, "gha-managed")
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}],
    }
    pol = iam.create_policy(
        PolicyName="ecr-login", Path="/team/", PolicyDocument=json.dumps(doc),
        Description="log in to ECR",
    )["Policy"]
    arn = f"arn:aws:iam::{account}:policy/team/ecr-login"
    assert pol["Arn"] == arn
    assert pol["PolicyName"] == "ecr-login"
    assert pol["DefaultVersionId"] == "v1"
    assert pol["AttachmentCount"] == 0
    assert re.fullmatch(r"ANPA[A-Z2-7]{17}", pol["PolicyId"]), pol["PolicyId"]

    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["PolicyId"] == pol["PolicyId"]
    assert got["Description"] == "log in to ECR"
    ver = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert ver["Document"] == doc
    assert ver["IsDefaultVersion"] is True
    assert arn in [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")

    iam.attach_role_policy(RoleName="gha-managed", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="gha-managed")["AttachedPolicies"]
    assert attached == [{"PolicyName": "ecr-login", "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert arn in [p["Arn"] for p in iam.list_policies(OnlyAttached=True)["Policies"]]

    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(e) == ("DeleteConflict", 409)
    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_role(RoleName="gha-managed")
    assert error_of(e) == ("DeleteConflict", 409)

    iam.detach_role_policy(RoleName="gha-managed", PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName="gha-managed")["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.detach_role_policy(RoleName="gha-managed", PolicyArn=arn)

    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=arn)
    # An AWS-managed policy does not exist here.
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(
            RoleName="gha-managed", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
        )
    iam.delete_role(RoleName="gha-managed")



def test_managed_policy_versions_and_tags(iam, github):
    _, account = github
    arn = f"arn:aws:iam::{account}:policy/versioned"

    def doc(action):
        return {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}

    iam.create_policy(PolicyName="versioned", PolicyDocument=json.dumps(doc("s3:GetObject")),
                      Tags=[{"Key": "team", "Value": "a"}])
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc("s3:PutObject")),
                                   SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2"
    assert v2["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v2", True), ("v1", False)]
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"][
        "Document"] == doc("s3:GetObject")
    # The default version cannot be deleted on its own.
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    # Roll back, then drop v2.
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    # A policy with more than one version cannot be deleted.
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    # Five versions at most.
    for i in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc(f"s3:Get{i}")))
    with pytest.raises(iam.exceptions.LimitExceededException):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc("s3:Get9")))

    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "env", "Value": "prod"},
                                        {"Key": "team", "Value": "b"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [
        {"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "b"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["team"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]

    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=arn)

def test_tags_on_provider_and_role(iam, github):
    arn, account = github
    iam.tag_open_id_connect_provider(
        OpenIDConnectProviderArn=arn,
        Tags=[{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}],
    )
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"]
    # Sorted by key (spec 7.1).
    assert tags == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Tags"] == tags
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["env"])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "team", "Value": "platform"}
    ]

    make_role(iam, account, "gha-tagged", Tags=[{"Key": "owner", "Value": "alice"}])
    iam.tag_role(
        RoleName="gha-tagged",
        Tags=[{"Key": "owner", "Value": "bob"}, {"Key": "cost-center", "Value": "42"}],
    )
    want = [{"Key": "cost-center", "Value": "42"}, {"Key": "owner", "Value": "bob"}]
    assert iam.list_role_tags(RoleName="gha-tagged")["Tags"] == want
    assert iam.get_role(RoleName="gha-tagged")["Role"]["Tags"] == want
    iam.untag_role(RoleName="gha-tagged", TagKeys=["owner", "absent"])
    assert iam.list_role_tags(RoleName="gha-tagged")["Tags"] == [
        {"Key": "cost-center", "Value": "42"}
    ]
    iam.delete_role(RoleName="gha-tagged")


def test_list_roles_paging(iam, github):
    _, account = github
    names = [f"gha-page-{i:02d}" for i in range(5)]
    for n in names:
        make_role(iam, account, n, Path="/paging/")
    first = iam.list_roles(PathPrefix="/paging/", MaxItems=2)
    assert first["IsTruncated"] is True
    assert len(first["Roles"]) == 2
    seen = [r["RoleName"] for r in first["Roles"]]
    marker = first["Marker"]
    while marker:
        page = iam.list_roles(PathPrefix="/paging/", MaxItems=2, Marker=marker)
        seen += [r["RoleName"] for r in page["Roles"]]
        marker = page.get("Marker") if page["IsTruncated"] else None
    assert seen == names
    for n in names:
        iam.delete_role(RoleName=n)


# ---- errors ---------------------------------------------------------------------


def test_entity_already_exists(iam, github):
    _, account = github
    make_role(iam, account, "gha-dup")
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        make_role(iam, account, "gha-dup")
    assert error_of(e) == ("EntityAlreadyExists", 409)
    # Role names are unique case-insensitively (spec 7.2).
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        make_role(iam, account, "GHA-Dup")
    iam.delete_role(RoleName="gha-dup")

    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        iam.create_open_id_connect_provider(Url=GITHUB_URL, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])
    assert error_of(e) == ("EntityAlreadyExists", 409)

    doc = json.dumps(INLINE_POLICY)
    arn = iam.create_policy(PolicyName="dup-policy", PolicyDocument=doc)["Policy"]["Arn"]
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(PolicyName="dup-policy", PolicyDocument=doc)
    iam.delete_policy(PolicyArn=arn)


def test_no_such_entity(iam, github):
    _, account = github
    for call in (
        lambda: iam.get_role(RoleName="absent-role"),
        lambda: iam.delete_role(RoleName="absent-role"),
        lambda: iam.put_role_policy(
            RoleName="absent-role", PolicyName="p", PolicyDocument=json.dumps(INLINE_POLICY)
        ),
        lambda: iam.get_open_id_connect_provider(
            OpenIDConnectProviderArn=f"arn:aws:iam::{account}:oidc-provider/absent.example.com"
        ),
        lambda: iam.get_policy(PolicyArn=f"arn:aws:iam::{account}:policy/absent"),
    ):
        with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
            call()
        assert error_of(e) == ("NoSuchEntity", 404)
        assert e.value.response["Error"]["Message"]

    make_role(iam, account, "gha-nopolicy")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role_policy(RoleName="gha-nopolicy", PolicyName="absent")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.delete_role_policy(RoleName="gha-nopolicy", PolicyName="absent")
    iam.delete_role(RoleName="gha-nopolicy")


def test_malformed_policy_document(iam, github):
    _, account = github
    for doc in (
        '{"Version":"2012-10-17","Statement":[',  # not JSON
        "[]",
        # A trust policy names no Resource.
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {
                            "Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"
                        },
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Resource": "*",
                    }
                ],
            }
        ),
    ):
        with pytest.raises(iam.exceptions.MalformedPolicyDocumentException) as e:
            iam.create_role(RoleName="gha-malformed", AssumeRolePolicyDocument=doc)
        assert error_of(e) == ("MalformedPolicyDocument", 400)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="gha-malformed")

    make_role(iam, account, "gha-inline-bad")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.put_role_policy(RoleName="gha-inline-bad", PolicyName="p", PolicyDocument="{nope")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.update_assume_role_policy(RoleName="gha-inline-bad", PolicyDocument='{"Version":1}')
    # The failed update left the trust policy alone.
    assert iam.get_role(RoleName="gha-inline-bad")["Role"][
        "AssumeRolePolicyDocument"
    ] == seed_trust_policy(account)
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_policy(PolicyName="bad-managed", PolicyDocument="not json")
    iam.delete_role(RoleName="gha-inline-bad")


def test_trust_policy_size_quota(iam, github):
    """ACLSizePerRole defaults to 2048 characters (spec 4.6)."""
    _, account = github
    trust = seed_trust_policy(account)
    subs = [f"repo:octo-org/repository-number-{i:04d}:*" for i in range(60)]
    trust["Statement"][0]["Condition"]["StringLike"][f"{GITHUB_HOST}:sub"] = subs
    assert len(json.dumps(trust, separators=(",", ":"))) > 2048
    with pytest.raises(iam.exceptions.LimitExceededException) as e:
        iam.create_role(RoleName="gha-big-trust", AssumeRolePolicyDocument=json.dumps(trust))
    assert error_of(e) == ("LimitExceeded", 409)
    assert "ACLSizePerRole" in e.value.response["Error"]["Message"]


def test_validation_errors(server, iam, github):
    _, account = github
    trust = json.dumps(seed_trust_policy(account))

    # A provider URL with a query is refused (spec 7.1).
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_open_id_connect_provider(
            Url="https://token.actions.githubusercontent.com/x?a=b", ClientIDList=[AUDIENCE],
            ThumbprintList=[GITHUB_THUMBPRINT],
        )
    assert error_of(e) == ("ValidationError", 400)

    # Names botocore lets through (it does not check patterns) but IAM refuses.
    for name in ("a b", "bad!name", "x" * 65):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        assert error_of(e) == ("ValidationError", 400), name

    # botocore checks only the minimum of integers client-side
    # (botocore/validate.py range_check), so 43201 reaches the server ...
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName="gha-long", AssumeRolePolicyDocument=trust,
                        MaxSessionDuration=43201)
    assert error_of(e) == ("ValidationError", 400)
    assert "43201" in e.value.response["Error"]["Message"] or "43200" in e.value.response[
        "Error"
    ]["Message"]
    # ... and 3599 only with client-side validation turned off.
    with pytest.raises(botocore.exceptions.ParamValidationError):
        iam.create_role(RoleName="gha-short", AssumeRolePolicyDocument=trust,
                        MaxSessionDuration=3599)
    raw = server.iam(parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        raw.create_role(RoleName="gha-short", AssumeRolePolicyDocument=trust,
                        MaxSessionDuration=3599)
    assert error_of(e) == ("ValidationError", 400)
    # A missing required parameter.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        raw.create_role(RoleName="gha-notrust")
    assert error_of(e)[0] in ("ValidationError", "MissingParameter")
    # The boundaries themselves are fine.
    for n, d in (("gha-min", 3600), ("gha-max", 43200)):
        assert iam.create_role(RoleName=n, AssumeRolePolicyDocument=trust,
                               MaxSessionDuration=d)["Role"]["MaxSessionDuration"] == d
        iam.delete_role(RoleName=n)
    for n in ("gha-long", "gha-short", "gha-notrust"):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=n)


def test_wrong_secret_and_unknown_key(server):
    akid, secret = server.credentials()
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.iam(secret=wrong).list_roles()
    assert error_of(e) == ("SignatureDoesNotMatch", 403)

    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.iam(access_key_id="AKIAIOSFODNN7EXAMPLE").list_roles()
    assert error_of(e) == ("InvalidClientTokenId", 403)



# ---- the identity-provider guard (issue 4 item 8, spec 3.3) -------------------------


def github_trust(account, condition):
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def guard_message(account):
    return (f"Trust policy with trusted principal arn:aws:iam::{account}:oidc-provider/"
            f"{GITHUB_HOST} must evaluate, using StringEquals, StringLike or "
            f"StringEqualsIgnoreCase, {GITHUB_HOST}:sub which is not scoped to all.")


@pytest.mark.parametrize("condition", [
    None,
    {"StringEquals": {f"{GITHUB_HOST}:aud": AUDIENCE}},
    {"StringLike": {f"{GITHUB_HOST}:sub": "*"}},
    {"StringLike": {f"{GITHUB_HOST}:sub": "repo:*"}},
    {"StringNotLike": {f"{GITHUB_HOST}:sub": "repo:evil/*"}},
    {"ForAllValues:StringLike": {f"{GITHUB_HOST}:sub": "repo:acme/app:*"}},
], ids=["none", "aud-only", "star", "every-repo", "negated", "for-all-values"])
def test_guard_create_role(iam, github, condition):
    """CreateRole refuses a trust policy that lets any GitHub repository in,
    with AWS's code, status and message."""
    _, account = github
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName="guarded", AssumeRolePolicyDocument=github_trust(account, condition))
    assert error_of(e) == ("MalformedPolicyDocument", 400)
    assert e.value.response["Error"]["Message"] == guard_message(account)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_role(RoleName="guarded")
    assert error_of(e) == ("NoSuchEntity", 404)


def test_guard_update_assume_role_policy(iam, github):
    _, account = github
    scoped = {"StringEquals": {f"{GITHUB_HOST}:aud": AUDIENCE},
              "StringLike": {f"{GITHUB_HOST}:sub": "repo:acme/app:*"}}
    iam.create_role(RoleName="guard-update", AssumeRolePolicyDocument=github_trust(account, scoped))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_assume_role_policy(
            RoleName="guard-update",
            PolicyDocument=github_trust(account, {"StringEquals": {f"{GITHUB_HOST}:aud": AUDIENCE}}))
    assert error_of(e) == ("MalformedPolicyDocument", 400)
    assert e.value.response["Error"]["Message"] == guard_message(account)
    # The role keeps its scoped trust policy.
    doc = iam.get_role(RoleName="guard-update")["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Condition"]["StringLike"] == {f"{GITHUB_HOST}:sub": "repo:acme/app:*"}
    # A scoped update goes through.
    narrower = {"StringEquals": {f"{GITHUB_HOST}:sub": "repo:acme/app:ref:refs/heads/main"}}
    iam.update_assume_role_policy(RoleName="guard-update",
                                  PolicyDocument=github_trust(account, narrower))
    doc = iam.get_role(RoleName="guard-update")["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Condition"] == narrower
    iam.delete_role(RoleName="guard-update")


def test_guard_operator_marked_issuer(iam, github):
    """A provider tagged tegata:shared-issuer=true is guarded as GitHub is;
    the same trust policy passes before the tag is set."""
    _, account = github
    url = "https://ci.shared.example.com"
    arn = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])["OpenIDConnectProviderArn"]
    key = "ci.shared.example.com"
    open_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{key}:aud": AUDIENCE}}}]})
    iam.create_role(RoleName="guard-unmarked", AssumeRolePolicyDocument=open_trust)
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                     Tags=[{"Key": "tegata:shared-issuer", "Value": "true"}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName="guard-marked", AssumeRolePolicyDocument=open_trust)
    assert error_of(e) == ("MalformedPolicyDocument", 400)
    assert f"{key}:sub which is not scoped to all" in e.value.response["Error"]["Message"]
    iam.delete_role(RoleName="guard-unmarked")
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
