"""The same IAM flow through the AWS CLI (/usr/bin/aws, Debian's awscli 2),
configured only by AWS_SHARED_CREDENTIALS_FILE=DIR/admin.credentials and
--endpoint-url, as the README tells users."""

import json
import re

import pytest

from conftest import (
    AUDIENCE,
    GITHUB_HOST,
    GITHUB_THUMBPRINT,
    GITHUB_URL,
    INLINE_POLICY,
    cli_error_code,
    seed_trust_policy,
)


def aws_fails(server, *args):
    """Runs a command that must fail; returns the AWS error code."""
    proc = server.aws(*args, check=False)
    assert proc.returncode != 0, proc.stdout
    code = cli_error_code(proc)
    assert code, proc.stderr
    return code


@pytest.fixture(scope="module")
def account(server):
    out = server.aws(
        "iam", "create-open-id-connect-provider",
        "--url", GITHUB_URL,
        "--client-id-list", AUDIENCE,
        "--thumbprint-list", GITHUB_THUMBPRINT,
    )
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):oidc-provider/" + re.escape(GITHUB_HOST),
                     out["OpenIDConnectProviderArn"])
    assert m, out
    return m.group(1)


def test_cli_provider(server, account):
    arn = f"arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"
    got = server.aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    assert got["Url"] == GITHUB_HOST
    assert got["ClientIDList"] == [AUDIENCE]
    assert got["ThumbprintList"] == [GITHUB_THUMBPRINT]
    listed = server.aws("iam", "list-open-id-connect-providers")
    assert {"Arn": arn} in listed["OpenIDConnectProviderList"]

    server.aws("iam", "tag-open-id-connect-provider", "--open-id-connect-provider-arn", arn,
               "--tags", "Key=team,Value=platform")
    tags = server.aws("iam", "list-open-id-connect-provider-tags",
                      "--open-id-connect-provider-arn", arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "platform"}]

    assert aws_fails(server, "iam", "create-open-id-connect-provider", "--url", GITHUB_URL,
                     "--client-id-list", AUDIENCE,
                     "--thumbprint-list", GITHUB_THUMBPRINT) == "EntityAlreadyExists"
    assert aws_fails(server, "iam", "create-open-id-connect-provider",
                     "--url", "https://example.com/x?y=1",
                     "--client-id-list", AUDIENCE,
                     "--thumbprint-list", GITHUB_THUMBPRINT) == "ValidationError"


def test_cli_role_flow(server, account, tmp_path):
    trust = seed_trust_policy(account)
    (tmp_path / "trust.json").write_text(json.dumps(trust, indent=2))
    (tmp_path / "inline.json").write_text(json.dumps(INLINE_POLICY, indent=2))
    (tmp_path / "managed.json").write_text(json.dumps(INLINE_POLICY))

    role = server.aws("iam", "create-role", "--role-name", "cli-deploy",
                      "--assume-role-policy-document", f"file://{tmp_path}/trust.json",
                      "--tags", "Key=owner,Value=cli")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/cli-deploy"
    assert role["AssumeRolePolicyDocument"] == trust

    got = server.aws("iam", "get-role", "--role-name", "cli-deploy")["Role"]
    assert got["AssumeRolePolicyDocument"] == trust
    assert got["RoleId"] == role["RoleId"]
    assert got["Tags"] == [{"Key": "owner", "Value": "cli"}]

    server.aws("iam", "put-role-policy", "--role-name", "cli-deploy",
               "--policy-name", "artifacts-read",
               "--policy-document", f"file://{tmp_path}/inline.json")
    pol = server.aws("iam", "get-role-policy", "--role-name", "cli-deploy",
                     "--policy-name", "artifacts-read")
    assert pol["PolicyDocument"] == INLINE_POLICY
    roles = server.aws("iam", "list-roles")["Roles"]
    assert [r["RoleName"] for r in roles] == ["cli-deploy"]

    parn = server.aws("iam", "create-policy", "--policy-name", "cli-managed",
                      "--policy-document", f"file://{tmp_path}/managed.json")["Policy"]["Arn"]
    assert parn == f"arn:aws:iam::{account}:policy/cli-managed"
    server.aws("iam", "attach-role-policy", "--role-name", "cli-deploy", "--policy-arn", parn)
    attached = server.aws("iam", "list-attached-role-policies", "--role-name", "cli-deploy")
    assert attached["AttachedPolicies"] == [{"PolicyName": "cli-managed", "PolicyArn": parn}]

    assert aws_fails(server, "iam", "create-role", "--role-name", "cli-deploy",
                     "--assume-role-policy-document",
                     f"file://{tmp_path}/trust.json") == "EntityAlreadyExists"
    assert aws_fails(server, "iam", "delete-role", "--role-name", "cli-deploy") == "DeleteConflict"

    server.aws("iam", "detach-role-policy", "--role-name", "cli-deploy", "--policy-arn", parn)
    server.aws("iam", "delete-policy", "--policy-arn", parn)
    server.aws("iam", "delete-role-policy", "--role-name", "cli-deploy",
               "--policy-name", "artifacts-read")
    server.aws("iam", "delete-role", "--role-name", "cli-deploy")
    assert aws_fails(server, "iam", "get-role", "--role-name", "cli-deploy") == "NoSuchEntity"
    assert server.aws("iam", "list-roles")["Roles"] == []


def test_cli_wrong_credentials(server, tmp_path):
    """The CLI reads only the file it is given: a file with a wrong secret fails."""
    akid, secret = server.credentials()
    bad = tmp_path / "bad.credentials"
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    bad.write_text(f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {wrong}\n")
    good = server.creds_file
    server.creds_file = bad
    try:
        code = aws_fails(server, "iam", "list-roles")
    finally:
        server.creds_file = good
    assert code == "SignatureDoesNotMatch"
