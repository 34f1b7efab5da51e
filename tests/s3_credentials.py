"""The AWS credential chain against moto's S3 and STS on 127.0.0.1, behind a proxy that records who
signed each request (the access key id in its SigV4 `Authorization` header, and whether a session
token came with it), so each case checks which credentials the chain actually chose:
- keys in the environment sign every request;
- `--profile` (and `AWS_PROFILE`) naming an assume-role profile (`role_arn` + `source_profile`)
  whose source is a `credential_process` script: the script's keys sign one STS AssumeRole, and
  the role's temporary keys (with their session token) sign every S3 request, for a query and for
  a conversion written to S3;
- static keys with `aws_session_token` in the shared credentials file;
- an unknown profile, and a credential_process that fails: clear errors, no request to S3.

  python tests/s3_credentials.py target/release/vpcflow
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import json
import os
import stat
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
    server.shutdown()


if __name__ == "__main__":
    main()
