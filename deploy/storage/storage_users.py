"""The object store's bucket, and each system's user and policy, from users.json and policies/
beside this file. Compose's storage-users one-shot runs it (deploy/storage/compose.s3.yml).

    python storage_users.py apply                 create the bucket, then each policy and user
                                                  through MinIO's admin API; idempotent
    python storage_users.py apply --bucket-only   create the bucket only: for an S3 server
                                                  without MinIO's admin API, whose users and
                                                  policies are made another way (or not at all)

The store and its admin: ``AWS_ENDPOINT_URL`` (http://host:port), ``MINIO_ROOT_USER`` and
``MINIO_ROOT_PASSWORD``; the bucket is the one ``CROSSLINK_STORAGE_ROOT`` (s3://bucket/prefix)
names, the same value both systems read. Each user's secret key comes from the variable its
``secret_env`` names; none has a default. Applying again updates a changed key or policy and
detaches any policy the file no longer gives a user.

MinIO's own client does the signing and the admin API's encryption:
https://min.io/docs/minio/linux/developers/python/API.html
"""

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from minio import Minio
from minio.credentials import StaticProvider
from minio.error import MinioAdminException, S3Error
from minio.minioadmin import MinioAdmin
from urllib3.exceptions import HTTPError

HERE = Path(__file__).resolve().parent
USERS_PATH = HERE / "users.json"
POLICIES_DIR = HERE / "policies"
# MinIO answers its healthcheck before its IAM subsystem has loaded: admin calls may fail for a
# few seconds after start.
ADMIN_READY_TIMEOUT_S = 60


@dataclass(frozen=True, kw_only=True)
class StorageUser:
    name: str
    secret_env: str
    policy: str


@dataclass(frozen=True, kw_only=True)
class Target:
    endpoint: str
    secure: bool
    region: str
    bucket: str
    prefix: str


def users_load() -> tuple[StorageUser, ...]:
    document = json.loads(USERS_PATH.read_text())
    return tuple(
        StorageUser(name=u["name"], secret_env=u["secret_env"], policy=u["policy"])
        for u in document["users"]
    )


def policy_load(name: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((POLICIES_DIR / f"{name}.json").read_text())
    return policy


def policy_resources(policy: dict[str, Any]) -> list[str]:
    resources: list[str] = []
    for statement in policy["Statement"]:
        value = statement["Resource"]
        resources += [value] if isinstance(value, str) else value
    return resources


def policy_problem(policy: dict[str, Any], *, bucket: str, prefix: str) -> str | None:
    """Why ``policy`` does not fit the store of CROSSLINK_STORAGE_ROOT, or None: each resource
    must lie inside the bucket and prefix both systems store under."""
    inside = f"arn:aws:s3:::{bucket}/" + (f"{prefix}/" if prefix else "")
    for resource in policy_resources(policy):
        if not resource.startswith(inside):
            return f"{resource} is outside {inside}*"
    return None


def target_from_env() -> Target:
    missing = [
        name for name in ("AWS_ENDPOINT_URL", "CROSSLINK_STORAGE_ROOT") if not os.environ.get(name)
    ]
    if missing:
        sys.exit(f"Set {', '.join(missing)}.")
    root = os.environ["CROSSLINK_STORAGE_ROOT"]
    if not root.startswith("s3://"):
        sys.exit(f"CROSSLINK_STORAGE_ROOT is {root!r}, not an s3://bucket/prefix URL.")
    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"])
    return Target(
        endpoint=endpoint.netloc,
        secure=endpoint.scheme == "https",
        region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        bucket=bucket,
        prefix=prefix.strip("/"),
    )


def admin_credentials() -> StaticProvider:
    missing = [n for n in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD") if not os.environ.get(n)]
    if missing:
        sys.exit(f"Set {', '.join(missing)} (in .env or the environment).")
    return StaticProvider(os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"])


def secrets_from_env(users: tuple[StorageUser, ...]) -> dict[str, str]:
    missing = [u.secret_env for u in users if not os.environ.get(u.secret_env)]
    if missing:
        sys.exit(f"Set {', '.join(missing)} (in .env or the environment).")
    return {u.name: os.environ[u.secret_env] for u in users}


def bucket_ensure(client: Minio, *, bucket: str) -> bool:
    """Create ``bucket`` unless it exists; True if it was created."""
    if client.bucket_exists(bucket):
        return False
    try:
        client.make_bucket(bucket)
    except S3Error as error:
        if error.code != "BucketAlreadyOwnedByYou":
            raise
        return False
    return True


def attached_policies(admin: MinioAdmin, *, user: str) -> set[str]:
    """The policies attached to ``user``; none for a user MinIO does not know yet."""
    try:
        info = json.loads(admin.user_info(user))
    except MinioAdminException as error:
        if "XMinioAdminNoSuchUser" in str(error):
            return set()
        raise
    return {name for name in str(info.get("policyName") or "").split(",") if name}


def users_apply(
    admin: MinioAdmin,
    users: tuple[StorageUser, ...],
    secrets: dict[str, str],
    *,
    bucket: str,
    prefix: str,
) -> None:
    for user in users:
        policy = policy_load(user.policy)
        problem = policy_problem(policy, bucket=bucket, prefix=prefix)
        if problem:
            sys.exit(
                f"policies/{user.policy}.json does not fit CROSSLINK_STORAGE_ROOT: {problem}. "
                "Edit the policy's resources or the storage root so that both name one place."
            )
        admin.policy_add(user.policy, policy=policy)
        # Adds the user, or sets a changed secret key of an existing one.
        admin.user_add(user.name, secrets[user.name])
        attached = attached_policies(admin, user=user.name)
        if extra := sorted(attached - {user.policy}):
            admin.detach_policy(extra, user=user.name)
        if user.policy not in attached:
            admin.attach_policy([user.policy], user=user.name)
        print(f"user {user.name}: policy {user.policy}")


def admin_wait(admin: MinioAdmin) -> None:
    deadline = time.monotonic() + ADMIN_READY_TIMEOUT_S
    while True:
        try:
            admin.info()
            return
        except (MinioAdminException, HTTPError) as error:  # IAM not loaded yet; no connection
            if time.monotonic() > deadline:
                raise SystemExit(f"MinIO's admin API did not answer: {error}") from error
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    apply = sub.add_parser("apply", help="create the bucket, the policies and the users")
    apply.add_argument(
        "--bucket-only",
        action="store_true",
        help="only the bucket: the server has no MinIO admin API",
    )
    args = parser.parse_args()
    target = target_from_env()
    credentials = admin_credentials()
    client = Minio(
        target.endpoint, credentials=credentials, secure=target.secure, region=target.region
    )
    created = bucket_ensure(client, bucket=target.bucket)
    print(f"bucket {target.bucket}: {'created' if created else 'exists'}")
    if args.bucket_only:
        print("users and policies left out (--bucket-only)")
        return
    users = users_load()
    secrets = secrets_from_env(users)
    admin = MinioAdmin(
        endpoint=target.endpoint,
        credentials=credentials,
        region=target.region,
        secure=target.secure,
    )
    admin_wait(admin)
    users_apply(admin, users, secrets, bucket=target.bucket, prefix=target.prefix)


if __name__ == "__main__":
    main()
