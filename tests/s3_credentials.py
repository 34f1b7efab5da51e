"""The AWS credential chain against moto's S3 and STS on 127.0.0.1, behind a proxy that records who
signed each request (the access key id in its SigV4 `Authorization` header, and whether a session
token came with it), so each case checks which credentials the chain actually chose:
- keys in the environment sign every request;
- `--profile` (and `AWS_PROFILE`) naming an assume-role profile (`role_arn` + `source_profile`)
  whose source is a `credential_process` script: the script's keys sign one STS AssumeRole, and
  the role's temporary keys (with their session token) sign every S3 request, for a query and for
  a conversion written to S3;
- static keys with `aws_session_token` in the shared credentials file;
- web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`): one unsigned STS
  AssumeRoleWithWebIdentity, then the role's temporary keys;
- the ECS container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) and the EC2
  instance metadata service (IMDSv2: token, role name, credentials), each served here on
  127.0.0.1 with keys of its own that then sign every S3 request;
- an unknown profile, and a credential_process that fails: clear errors, no request to S3;
- a user without S3 permissions (moto with authentication on): writing a file or a dataset,
  and listing, end in AccessDenied, said in one line.

  python tests/s3_credentials.py target/release/vpcflow
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import http.server
import json
import os
import stat
import threading
import subprocess
import sys
import tempfile
import urllib.parse

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moto_s3 import check, moto_server, proxy, summary  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "123456789012"


def main():
    exe = os.path.abspath(sys.argv[1])
    with moto_server() as endpoint:
        run_checks(exe, endpoint)
    summary()


def run_checks(exe, upstream):
    endpoint, server, _, log = proxy(urllib.parse.urlparse(upstream).port)
    root = dict(endpoint_url=upstream, region_name="us-east-1",
                aws_access_key_id="setup", aws_secret_access_key="setup")
    s3 = boto3.client("s3", **root)
    s3.create_bucket(Bucket="creds")
    sample = open(os.path.join(REPO, "testdata", "sample-default.log"), "rb").read()
    s3.put_object(Bucket="creds", Key="in/sample.log", Body=sample)
    source_key = "AKIASOURCEPROCESS001"

    tmp = tempfile.mkdtemp(prefix="vpcflow-creds-")
    process = os.path.join(tmp, "creds.sh")
    open(process, "w").write("#!/bin/sh\necho '" + json.dumps({
        "Version": 1, "AccessKeyId": source_key, "SecretAccessKey": "from-the-process"}) + "'\n")
    os.chmod(process, stat.S_IRWXU)
    failing = os.path.join(tmp, "fail.sh")
    open(failing, "w").write("#!/bin/sh\necho 'token expired, run login' >&2\nexit 3\n")
    os.chmod(failing, stat.S_IRWXU)
    config = os.path.join(tmp, "config")
    open(config, "w").write(
        "[profile source]\n"
        f"credential_process = {process}\n"
        "[profile flows]\n"
        f"role_arn = arn:aws:iam::{ACCOUNT}:role/flows\n"
        "source_profile = source\n"
        "region = us-east-1\n"
        "[profile broken]\n"
        f"credential_process = {failing}\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "none"),
                AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true", AWS_REGION="us-east-1")

    def vpcflow(args, env):
        return subprocess.run([exe] + args, capture_output=True, text=True, env=env, timeout=120)

    def count(r):
        return json.loads(r.stdout)[0]["n"] if r.returncode == 0 else None

    def signed(run):
        """The requests a run made, as (service, key id, session token?), and its result."""
        del log[:]
        r = run()
        return r, [(svc, key, token) for _, _, key, svc, token in log]

    query = ["query", "s3://creds/in/", "--sql", "SELECT count(*) AS n FROM flows", "--format", "json"]

    r, reqs = signed(lambda: vpcflow(query, dict(base, AWS_ACCESS_KEY_ID="AKIAENVIRONMENT00001",
                                                 AWS_SECRET_ACCESS_KEY="s")))
    check("keys in the environment sign every request",
          count(r) == 40 and reqs and all(x == ("s3", "AKIAENVIRONMENT00001", False) for x in reqs),
          (r.stderr, reqs))

    def role_chain(reqs):
        sts = [x for x in reqs if x[0] == "sts"]
        s3r = [x for x in reqs if x[0] == "s3"]
        role_keys = {k for _, k, _ in s3r}
        return (sts == [("sts", source_key, False)] and s3r and len(role_keys) == 1
                and source_key not in role_keys and all(t for _, _, t in s3r))

    r, reqs = signed(lambda: vpcflow(["--profile", "flows"] + query, base))
    check("--profile: credential_process keys assume the role once; its temporary keys sign S3",
          count(r) == 40 and role_chain(reqs), (r.stderr, reqs))
    r, reqs = signed(lambda: vpcflow(query, dict(base, AWS_PROFILE="flows")))
    check("AWS_PROFILE: the same chain", count(r) == 40 and role_chain(reqs), (r.stderr, reqs))
    r, reqs = signed(lambda: vpcflow(["convert", "s3://creds/in/", "-o", "s3://creds/out/flows.parquet",
                                      "--profile", "flows", "-q"], base))
    names = [o["Key"] for o in s3.list_objects_v2(Bucket="creds", Prefix="out/").get("Contents", [])]
    check("--profile on convert: the object written with the role's credentials",
          r.returncode == 0 and names == ["out/flows.parquet"] and role_chain(reqs), (r.stderr, reqs))

    open(os.path.join(tmp, "credentials"), "w").write(
        "[temp]\naws_access_key_id = ASIATEMPORARYKEY0001\n"
        "aws_secret_access_key = s\naws_session_token = token\n")
    r, reqs = signed(lambda: vpcflow(["--profile", "temp"] + query,
                                     dict(base, AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "credentials"))))
    check("static keys with a session token from the credentials file",
          count(r) == 40 and reqs and all(x == ("s3", "ASIATEMPORARYKEY0001", True) for x in reqs),
          (r.stderr, reqs))

    r, reqs = signed(lambda: vpcflow(["--profile", "nobody"] + query, base))
    check("an unknown profile: a clear error naming it, no request",
          r.returncode != 0 and "nobody" in r.stderr and not [x for x in reqs if x[0] == "s3"], (r.stderr, reqs))
    r, reqs = signed(lambda: vpcflow(["convert", "s3://creds/in/", "-o", "s3://creds/broken/x.parquet",
                                      "--profile", "broken"], base))
    check("a failing credential_process: a clear error with its message, nothing written",
          r.returncode != 0 and "token expired" in r.stderr
          and not s3.list_objects_v2(Bucket="creds", Prefix="broken/").get("Contents"), r.stderr)
    # Web identity: the token file and role from the environment, STS at moto.
    token = os.path.join(tmp, "token")
    open(token, "w").write("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2cGNmbG93In0.")
    r, reqs = signed(lambda: vpcflow(query, dict(base, AWS_WEB_IDENTITY_TOKEN_FILE=token,
                                                 AWS_ROLE_ARN=f"arn:aws:iam::{ACCOUNT}:role/flows",
                                                 AWS_ROLE_SESSION_NAME="vpcflow-test")))
    sts = [x for x in reqs if x[0] != "s3"]
    s3r = [x for x in reqs if x[0] == "s3"]
    check("web identity: one unsigned AssumeRoleWithWebIdentity, then the role's keys",
          count(r) == 40 and len(sts) == 1 and sts[0][1] is None and s3r
          and len({k for _, k, _ in s3r}) == 1 and all(t for _, _, t in s3r), (r.stderr, reqs))

    # The ECS container endpoint and the instance metadata service, served here.
    creds = {"AccessKeyId": "ASIACONTAINER0000001", "SecretAccessKey": "s", "Token": "container-token",
             "Expiration": "2099-01-01T00:00:00Z"}
    imds = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAINSTANCEROLE0001",
            "SecretAccessKey": "s", "Token": "instance-token", "Expiration": "2099-01-01T00:00:00Z",
            "LastUpdated": "2026-12-01T00:00:00Z"}

    class Metadata(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, body, status=200, headers=()):
            data = body.encode()
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):  # IMDSv2: a session token and how long it lives
            if self.path == "/latest/api/token":
                self.reply("imds-session", headers=[("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            else:
                self.reply("", 404)

        def do_GET(self):
            base_path = "/latest/meta-data/iam/security-credentials/"
            if self.path == "/ecs-creds":
                self.reply(json.dumps(creds))
            elif self.headers.get("X-aws-ec2-metadata-token") != "imds-session":
                self.reply("", 401)
            elif self.path == base_path:
                self.reply("flows-instance-role")
            elif self.path == base_path + "flows-instance-role":
                self.reply(json.dumps(imds))
            else:
                self.reply("", 404)

    meta = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    threading.Thread(target=meta.serve_forever, daemon=True).start()
    murl = f"http://127.0.0.1:{meta.server_address[1]}"
    no_imds = {k: v for k, v in base.items() if k != "AWS_EC2_METADATA_DISABLED"}
    r, reqs = signed(lambda: vpcflow(query, dict(base, AWS_CONTAINER_CREDENTIALS_FULL_URI=murl + "/ecs-creds")))
    check("the ECS container credentials endpoint",
          count(r) == 40 and reqs and all(x == ("s3", "ASIACONTAINER0000001", True) for x in reqs),
          (r.stderr, reqs))
    r, reqs = signed(lambda: vpcflow(query, dict(no_imds, AWS_EC2_METADATA_SERVICE_ENDPOINT=murl)))
    check("the EC2 instance role (IMDSv2)",
          count(r) == 40 and reqs and all(x == ("s3", "ASIAINSTANCEROLE0001", True) for x in reqs),
          (r.stderr, reqs))
    meta.shutdown()
    server.shutdown()
    permission_checks(exe)


def permission_checks(exe):
    """A user whose keys are real but whose IAM policy allows no S3 action, on a moto server with
    authentication on (after the setup's requests)."""
    with moto_server(env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"}) as endpoint:
        root = dict(endpoint_url=endpoint, region_name="us-east-1",
                    aws_access_key_id="setup", aws_secret_access_key="setup")
        boto3.client("s3", **root).create_bucket(Bucket="guarded")
        iam = boto3.client("iam", **root)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
        sample = os.path.join(REPO, "testdata", "sample-default.log")
        for target in ["s3://guarded/x.parquet", "s3://guarded/ds/"]:
            r = subprocess.run([exe, "convert", sample, "-o", target, "-q"], capture_output=True, text=True,
                               env=env, timeout=120)
            check(f"no permission ({target}): AccessDenied, clearly",
                  r.returncode == 1 and "AccessDenied" in r.stderr and "<Error>" not in r.stderr, r.stderr)
        r = subprocess.run([exe, "query", "s3://guarded/", "--sql", "SELECT 1"], capture_output=True,
                           text=True, env=env, timeout=120)
        check("no permission to list either: AccessDenied", r.returncode != 0 and "AccessDenied" in r.stderr,
              r.stderr)


if __name__ == "__main__":
    main()
