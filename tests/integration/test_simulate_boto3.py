"""IAM SimulateCustomPolicy and SimulatePrincipalPolicy through boto3's
simulate_custom_policy and simulate_principal_policy (issue 4 item 7): the
decision of each (action, resource) pair, the statements that decided it
with their positions, missing context keys, permission boundaries, trust
policies, a role's own policies, paging and errors."""

import json

import botocore.exceptions
import pytest

from conftest import AUDIENCE, GITHUB_HOST, GITHUB_THUMBPRINT, GITHUB_URL, seed_trust_policy

BUCKET = "arn:aws:s3:::octo-artifacts"

READ = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [BUCKET, BUCKET + "/*"]},
    ],
}

# Written on several lines: MatchedStatements gives lines and columns.
ALL_BUT_DELETE = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {
      "Sid": "NoDelete",
      "Effect": "Deny",
      "Action": "s3:Delete*",
      "Resource": "*"
    }
  ]
}"""


def error_of(excinfo):
    resp = excinfo.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def iam(server):
    return server.iam()


def results(resp):
    return {(r["EvalActionName"], r["EvalResourceName"]): r for r in resp["EvaluationResults"]}


def test_custom_allow_and_implicit_deny(iam):
    resp = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(READ)],
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=[BUCKET + "/build.tar"],
    )
    assert resp["IsTruncated"] is False
    got = results(resp)
    get = got[("s3:GetObject", BUCKET + "/build.tar")]
    assert get["EvalDecision"] == "allowed"
    [m] = get["MatchedStatements"]
    assert m["SourcePolicyId"] == "PolicyInputList.1"
    # One line of JSON: the statement starts at its '{'.
    text = json.dumps(READ)
    col = text.index('{"Sid"') + 1
    assert m["StartPosition"] == {"Line": 1, "Column": col}
    assert m["EndPosition"]["Line"] == 1
    assert m["EndPosition"]["Column"] > col
    [rs] = get["ResourceSpecificResults"]
    assert rs["EvalResourceName"] == BUCKET + "/build.tar"
    assert rs["EvalResourceDecision"] == "allowed"
    put = got[("s3:PutObject", BUCKET + "/build.tar")]
    assert put["EvalDecision"] == "implicitDeny"
    assert put.get("MatchedStatements", []) == []
    # Resources are case-sensitive, actions are not (spec 4.3).
    resp = iam.simulate_custom_policy(PolicyInputList=[json.dumps(READ)],
                                      ActionNames=["S3:GETOBJECT"],
                                      ResourceArns=[BUCKET.upper() + "/x"])
    assert resp["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_custom_explicit_deny_and_positions(iam):
    resp = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(READ), ALL_BUT_DELETE],
        ActionNames=["s3:DeleteObject", "s3:PutObject"],
    )
    got = results(resp)
    dele = got[("s3:DeleteObject", "*")]
    assert dele["EvalDecision"] == "explicitDeny"
    # Only the Deny statement decides an explicit deny.
    [m] = dele["MatchedStatements"]
    assert m["SourcePolicyId"] == "PolicyInputList.2"
    assert m["StartPosition"] == {"Line": 5, "Column": 5}
    assert m["EndPosition"] == {"Line": 10, "Column": 6}
    put = got[("s3:PutObject", "*")]
    assert put["EvalDecision"] == "allowed"
    [m] = put["MatchedStatements"]
    assert m["StartPosition"] == {"Line": 4, "Column": 5}


def test_custom_context_and_missing_values(iam):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                      "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]}
    doc = json.dumps(policy)
    resp = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject"])
    [r] = resp["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    assert sorted(r["MissingContextValues"]) == ["aws:CurrentTime", "aws:SourceIp"]
    ctx = [
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["203.0.113.7"],
         "ContextKeyType": "ip"},
        {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2026-12-04T00:00:00Z"],
         "ContextKeyType": "date"},
    ]
    resp = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject"],
                                      ContextEntries=ctx)
    [r] = resp["EvaluationResults"]
    assert r["EvalDecision"] == "allowed"
    assert r.get("MissingContextValues", []) == []
    ctx[0]["ContextKeyValues"] = ["198.51.100.1"]
    resp = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject"],
                                      ContextEntries=ctx)
    assert resp["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_custom_permissions_boundary(iam):
    boundary = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    resp = iam.simulate_custom_policy(
        PolicyInputList=[ALL_BUT_DELETE],
        PermissionsBoundaryPolicyInputList=[json.dumps(boundary)],
        ActionNames=["s3:GetObject", "s3:PutObject"],
    )
    got = results(resp)
    assert got[("s3:GetObject", "*")]["EvalDecision"] == "allowed"
    assert got[("s3:GetObject", "*")]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": True}
    put = got[("s3:PutObject", "*")]
    assert put["EvalDecision"] == "implicitDeny"
    assert put["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_custom_trust_policy(iam):
    """A document with a Principal is a trust policy: for
    sts:AssumeRoleWithWebIdentity the principal is aws:FederatedProvider and
    the claims are <provider>:<claim> keys, as the server builds them."""
    account = "123456789012"
    provider = f"arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"
    trust = json.dumps(seed_trust_policy(account, repo="acme/app"))

    def simulate(sub):
        ctx = [{"ContextKeyName": "aws:FederatedProvider", "ContextKeyValues": [provider],
                "ContextKeyType": "string"},
               {"ContextKeyName": f"{GITHUB_HOST}:aud", "ContextKeyValues": [AUDIENCE],
                "ContextKeyType": "string"},
               {"ContextKeyName": f"{GITHUB_HOST}:sub", "ContextKeyValues": [sub],
                "ContextKeyType": "string"}]
        return iam.simulate_custom_policy(PolicyInputList=[trust],
                                          ActionNames=["sts:AssumeRoleWithWebIdentity"],
                                          ContextEntries=ctx)["EvaluationResults"][0]

    ok = simulate("repo:acme/app:ref:refs/heads/main")
    assert ok["EvalDecision"] == "allowed"
    assert ok["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert simulate("repo:acme/app-evil:ref:refs/heads/main")["EvalDecision"] == "implicitDeny"


def test_principal_policy_of_a_role(iam):
    arn = iam.create_open_id_connect_provider(
        Url=GITHUB_URL, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    account = arn.split(":")[4]
    role = iam.create_role(RoleName="sim-deploy",
                           AssumeRolePolicyDocument=json.dumps(seed_trust_policy(account)))["Role"]
    iam.put_role_policy(RoleName="sim-deploy", PolicyName="read", PolicyDocument=json.dumps(READ))
    managed = iam.create_policy(PolicyName="sim-no-delete", PolicyDocument=ALL_BUT_DELETE)[
        "Policy"]["Arn"]
    iam.attach_role_policy(RoleName="sim-deploy", PolicyArn=managed)

    resp = iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"],
        ActionNames=["s3:ListBucket", "s3:DeleteBucket"],
        ResourceArns=[BUCKET],
    )
    got = results(resp)
    listing = got[("s3:ListBucket", BUCKET)]
    assert listing["EvalDecision"] == "allowed"
    sources = {(m["SourcePolicyId"], m.get("SourcePolicyType")) for m in listing["MatchedStatements"]}
    assert sources == {("read", "role"), (managed, "user-managed")}
    delete = got[("s3:DeleteBucket", BUCKET)]
    assert delete["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in delete["MatchedStatements"]] == [managed]

    # The role's trust policy for its assume action (beyond AWS).
    ctx = [{"ContextKeyName": "aws:FederatedProvider", "ContextKeyValues": [arn],
            "ContextKeyType": "string"},
           {"ContextKeyName": f"{GITHUB_HOST}:aud", "ContextKeyValues": [AUDIENCE],
            "ContextKeyType": "string"},
           {"ContextKeyName": f"{GITHUB_HOST}:sub",
            "ContextKeyValues": ["repo:octo-org/octo-repo:pull_request"],
            "ContextKeyType": "string"}]
    [r] = iam.simulate_principal_policy(PolicySourceArn=role["Arn"],
                                        ActionNames=["sts:AssumeRoleWithWebIdentity"],
                                        ContextEntries=ctx)["EvaluationResults"]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "AssumeRolePolicyDocument"
    assert r["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    ctx[2]["ContextKeyValues"] = ["repo:someone/else:pull_request"]
    [r] = iam.simulate_principal_policy(PolicySourceArn=role["Arn"],
                                        ActionNames=["sts:AssumeRoleWithWebIdentity"],
                                        ContextEntries=ctx)["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"

    # An added input policy takes part too.
    extra = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}
    [r] = iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=["dynamodb:GetItem"],
                                        PolicyInputList=[json.dumps(extra)])["EvaluationResults"]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"

    iam.detach_role_policy(RoleName="sim-deploy", PolicyArn=managed)
    iam.delete_policy(PolicyArn=managed)
    iam.delete_role_policy(RoleName="sim-deploy", PolicyName="read")
    iam.delete_role(RoleName="sim-deploy")
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_paging(iam):
    actions = [f"s3:Action{i}" for i in range(5)]
    pages = iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[json.dumps(READ)], ActionNames=actions,
        ResourceArns=[BUCKET, BUCKET + "/k"], PaginationConfig={"PageSize": 3})
    seen = [(r["EvalActionName"], r["EvalResourceName"]) for p in pages
            for r in p["EvaluationResults"]]
    assert len(seen) == 10
    assert len(set(seen)) == 10
    first = iam.simulate_custom_policy(PolicyInputList=[json.dumps(READ)], ActionNames=actions,
                                       MaxItems=3)
    assert first["IsTruncated"] is True
    assert len(first["EvaluationResults"]) == 3


def test_errors(iam):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/nope",
                                      ActionNames=["s3:GetObject"])
    assert error_of(e) == ("NoSuchEntity", 404)
    assert e.value.response["Error"]["Message"] == "The role with name nope cannot be found."
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:user/david",
                                      ActionNames=["s3:GetObject"])
    assert error_of(e) == ("NoSuchEntity", 404)
    assert "user with name david" in e.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=['{"Version": "2012-10-17"'],
                                   ActionNames=["s3:GetObject"])
    assert error_of(e) == ("InvalidInput", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_custom_policy(
            PolicyInputList=[json.dumps(READ)], ActionNames=["s3:GetObject"],
            ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["1.2.3.4"],
                             "ContextKeyType": "ip"}] * 101)
    assert error_of(e) == ("InvalidInput", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=[json.dumps(READ)], ActionNames=["s3:GetObject"],
                                   ResourcePolicy=json.dumps(READ))
    assert error_of(e) == ("InvalidInput", 400)
