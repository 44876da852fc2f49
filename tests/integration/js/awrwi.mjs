// AssumeRoleWithWebIdentity then GetCallerIdentity with the AWS SDK for
// JavaScript v3, against tegata at process.env.ENDPOINT. Inputs (environment):
// ENDPOINT, ROLE_ARN, ROLE_SESSION_NAME, WEB_IDENTITY_TOKEN_FILE (the token is
// read from a file so it never appears in a process listing). Prints one JSON
// object: the assumed-role user, the provider, the audience, the access key
// id and the caller identity. The secret and the session token are not
// printed. Exit status 1 with {"error": {name, code, status, message}} when a
// call fails. Used by tests/integration/test_sts_js.py.
import { readFileSync } from "node:fs";
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set`);
  }
  return v;
};

const endpoint = env("ENDPOINT");
const region = "us-east-1";

try {
  // No credentials: the action is unsigned (smithy.api#noAuth), as in a CI job
  // before the exchange.
  const anon = new STSClient({ region, endpoint, maxAttempts: 1 });
  const out = await anon.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: env("ROLE_ARN"),
      RoleSessionName: env("ROLE_SESSION_NAME"),
      WebIdentityToken: readFileSync(env("WEB_IDENTITY_TOKEN_FILE"), "utf8").trim(),
      DurationSeconds: 900,
    }),
  );
  const c = out.Credentials;
  const signed = new STSClient({
    region,
    endpoint,
    maxAttempts: 1,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    },
  });
  const who = await signed.send(new GetCallerIdentityCommand({}));
  console.log(
    JSON.stringify({
      assumedRoleUser: out.AssumedRoleUser,
      provider: out.Provider,
      audience: out.Audience,
      subject: out.SubjectFromWebIdentityToken,
      accessKeyId: c.AccessKeyId,
      expiration: c.Expiration.toISOString(),
      callerIdentity: { Arn: who.Arn, UserId: who.UserId, Account: who.Account },
    }),
  );
} catch (e) {
  console.log(
    JSON.stringify({
      error: {
        name: e.name,
        code: e.Code ?? e.name,
        status: e.$metadata?.httpStatusCode ?? null,
        message: e.message,
      },
    }),
  );
  process.exit(1);
}
