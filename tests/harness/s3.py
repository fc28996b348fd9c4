"""S3-compatible object storage for the tests: moto's standalone server, a real HTTP server in a
process of its own on a spare port (never a mock inside the test process), behind a TCP proxy
(harness.proxy) that a test takes down to make the store unreachable without losing what it
keeps: moto holds objects in memory, so it is never stopped while a session needs them.

The server enforces IAM policies on S3 requests once its "IAM-like access control" is switched
on (moto's ``/moto-api/reset-auth``, the server side of ``INITIAL_NO_AUTH_ACTION_COUNT``:
http://docs.getmoto.org/en/latest/docs/iam.html). So every system gets its own user, with the
policy compose gives it (deploy/storage/policies/): System A writes uploads and reads outputs,
System B reads uploads and writes outputs, and each is refused the other's part. Only the
harness's own admin user may do anything (create the bucket, look at what was stored, put a
test's large file in place).

What moto checks, seen with moto 5.2: a request's signature and access key (an unknown key is
``InvalidAccessKeyId``), and the policy's actions on the object's ARN (``GetObject`` for GET and
HEAD, ``PutObject`` for PUT and every step of a multipart upload, ``AbortMultipartUpload``,
``DeleteObject``), with wildcards. What it does not: read access to a copy's source (AWS needs
``GetObject`` on it), and conditions.
"""

import json
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.processes import REPO, TESTS_BIN
from harness.proxy import TcpProxy
from harness.services import Service, workdir

MOTO_SERVER = TESTS_BIN / "moto_server"
REGION = "us-east-1"
UPLOADS = "uploads"
OUTPUTS = "outputs"
"""The two key prefixes of the contract: A's uploads, B's normalized outputs."""

ADMIN = "crosslink-test-admin"
SYSTEMS = ("system_a", "system_b")

POLICIES = REPO / "deploy" / "storage" / "policies"
"""The per-system IAM policies compose gives each system's user (deploy/storage/users.json),
written for the bucket ``crosslink`` without a prefix."""
POLICY_BUCKET = "arn:aws:s3:::crosslink/"


def policy_document(system: str, *, bucket: str, prefix: str) -> dict[str, Any]:
    """``system``'s policy from deploy/storage/policies/, for ``bucket`` and ``prefix``: the
    same statements as in compose, on the test's bucket. (A writes and deletes uploads, reads
    and deletes outputs; B reads uploads and writes outputs, and deletes nothing.)"""
    text = (POLICIES / f"{system.replace('_', '-')}.json").read_text()
    place = f"arn:aws:s3:::{bucket}/{prefix}/" if prefix else f"arn:aws:s3:::{bucket}/"
    assert POLICY_BUCKET in text, f"{system}'s policy no longer names {POLICY_BUCKET}"
    document: dict[str, Any] = json.loads(text.replace(POLICY_BUCKET, place))
    return document


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


ANYONE = Credentials("testing", "testing")
"""Before access control is on, moto accepts any keys."""


class S3Server(Service):
    """moto's server (``moto_server``) on a spare port of the loopback."""

    def argv(self) -> list[str]:
        return [str(MOTO_SERVER), "--host", "127.0.0.1", "--port", str(self.port)]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(
        self, service: str = "s3", *, credentials: Credentials = ANYONE, endpoint: str = ""
    ) -> Any:
        import boto3
        import botocore.config

        return boto3.session.Session().client(
            service,
            endpoint_url=endpoint or self.endpoint,
            region_name=REGION,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            config=botocore.config.Config(
                s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 2}
            ),
        )

    def enforce_access_control(self) -> None:
        """From now on every request must be signed by a known user and allowed by its policy."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0",  # authenticate every request after none more
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@dataclass
class ObjectStorage:
    """A bucket on the test server, the proxy in front of it, and each system's user."""

    server: S3Server
    proxy: TcpProxy
    bucket: str
    prefix: str
    admin: Credentials
    users: dict[str, Credentials]

    @property
    def location(self) -> str:
        """``CROSSLINK_STORAGE_ROOT`` for this bucket and prefix."""
        return f"s3://{self.bucket}/{self.prefix}"

    def env(self, system: str) -> dict[str, str]:
        """The variables that point ``system``'s processes at the store (through the proxy),
        as that system's user."""
        return {
            "CROSSLINK_STORAGE_ROOT": self.location,
            "AWS_ENDPOINT_URL": self.proxy.url,
            "AWS_DEFAULT_REGION": REGION,
            **self.users[system].env(),
        }

    def admin_client(self) -> Any:
        """An S3 client that may do anything, straight to the server (never through the
        proxy, so a test can look while the store is 'down')."""
        return self.server.client(credentials=self.admin)

    def name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key


def _user(iam: Any, name: str, policy: dict[str, Any]) -> Credentials:
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName=f"{name}-storage", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


@contextmanager
def object_storage(*, prefix: str = "crosslink") -> Iterator[ObjectStorage]:
    """A running test server with a fresh bucket, per-system users and access control on;
    stopped (and its data dropped) afterwards, whatever happened."""
    from harness.ports import free_port

    server = S3Server(name="s3", port=free_port(), workdir=workdir("s3"))
    proxy = TcpProxy(target=("127.0.0.1", server.port))
    try:
        server.start()
        bucket = f"crosslink-test-{uuid.uuid4().hex[:8]}"
        server.client().create_bucket(Bucket=bucket)
        iam = server.client("iam")
        admin = _user(
            iam,
            ADMIN,
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            },
        )
        users = {
            system: _user(iam, system, policy_document(system, bucket=bucket, prefix=prefix))
            for system in SYSTEMS
        }
        server.enforce_access_control()
        proxy.accept()
        yield ObjectStorage(
            server=server, proxy=proxy, bucket=bucket, prefix=prefix, admin=admin, users=users
        )
    finally:
        proxy.close()
        server.remove()
