"""Certificates, keys and kubeconfigs of one cluster, made with the openssl command.

One CA signs the apiserver's serving certificate and every client certificate; the
apiserver trusts it through ``--client-ca-file`` and maps a certificate's CN to the user
and each O to a group (Kubernetes "X509 client certificates" authentication).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ComponentFailedError, ToolMissingError
from .layout import KUBERNETES_SERVICE_IP, LOOPBACK, ClusterPaths

log = logging.getLogger(__name__)

CA_DAYS = 3650
LEAF_DAYS = 825


@dataclass(frozen=True)
class Identity:
    """A certificate to issue: file stem, subject and what it is used for."""

    stem: str
    common_name: str
    group: str = ""
    server_names: tuple[str, ...] = ()

    @property
    def is_server(self) -> bool:
        return bool(self.server_names)


APISERVER_NAMES = (
    f"IP:{LOOPBACK}",
    f"IP:{KUBERNETES_SERVICE_IP}",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)

# The controller-manager and scheduler users are bound to their roles by the RBAC bootstrap
# policy (system:kube-controller-manager, system:kube-scheduler), as on a kubeadm cluster.
# KWOK plays kubelet for every node at once, which the Node authorizer would refuse to a
# single system:node identity, so it gets system:masters like the admin.
IDENTITIES = (
    Identity("apiserver", "kube-apiserver", server_names=APISERVER_NAMES),
    Identity("admin", "steward-admin", group="system:masters"),
    Identity("kube-controller-manager", "system:kube-controller-manager"),
    Identity("kube-scheduler", "system:kube-scheduler"),
    Identity("kwok", "kwok-controller", group="system:masters"),
)
CLIENT_COMPONENTS = ("kube-controller-manager", "kube-scheduler", "kwok")


def ensure_pki(paths: ClusterPaths) -> None:
    """Create the CA, the service-account key and all certificates that are missing."""
    if shutil.which("openssl") is None:
        raise ToolMissingError("openssl not found on PATH; install it (Debian: apt-get install openssl)")
    paths.pki.mkdir(parents=True, exist_ok=True)
    if not (paths.pki / "ca.crt").is_file():
        _issue_ca(paths.pki)
    if not (paths.pki / "service-account.key").is_file():
        _issue_service_account_key(paths.pki)
    for identity in IDENTITIES:
        if not (paths.pki / f"{identity.stem}.crt").is_file():
            _issue_leaf(paths.pki, identity)


def write_kubeconfigs(paths: ClusterPaths, server_url: str) -> None:
    """Write one kubeconfig per client component, plus the admin's used while starting."""
    for stem in (*CLIENT_COMPONENTS, "admin"):
        write_kubeconfig(paths, stem, server_url, paths.component_kubeconfig(stem))


def write_kubeconfig(paths: ClusterPaths, stem: str, server_url: str, target: Path) -> None:
    """Write a kubeconfig with the CA and the ``stem`` client certificate embedded."""
    context = paths.name if stem == "admin" else f"{paths.name}-{stem}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": paths.name, "cluster": {"server": server_url, **_embedded_ca(paths)}}],
        "users": [{"name": context, "user": _embedded_client_cert(paths, stem)}],
        "contexts": [{"name": context, "context": {"cluster": paths.name, "user": context}}],
        "current-context": context,
    }
    # JSON is valid YAML, and kubectl reads kubeconfigs as YAML.
    target.write_text(json.dumps(config, indent=2) + "\n")
    target.chmod(0o600)


def _embedded_ca(paths: ClusterPaths) -> dict[str, str]:
    return {"certificate-authority-data": _base64_file(paths.pki / "ca.crt")}


def _embedded_client_cert(paths: ClusterPaths, stem: str) -> dict[str, str]:
    return {
        "client-certificate-data": _base64_file(paths.pki / f"{stem}.crt"),
        "client-key-data": _base64_file(paths.pki / f"{stem}.key"),
    }


def _base64_file(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _issue_ca(pki: Path) -> None:
    log.info("creating certificate authority in %s", pki)
    _new_key(pki / "ca.key")
    extensions = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
        "subjectKeyIdentifier=hash",
    ]
    with _extension_file(extensions) as extension_file:
        csr = _signing_request(pki / "ca.key", "/CN=steward-local-cluster-ca")
        _openssl(
            "x509", "-req", "-in", str(csr), "-signkey", str(pki / "ca.key"), "-days", str(CA_DAYS),
            "-extfile", extension_file, "-extensions", "v3", "-out", str(pki / "ca.crt"),
        )  # fmt: skip


def _issue_service_account_key(pki: Path) -> None:
    # kube-apiserver signs ServiceAccount tokens with the private key and verifies them with
    # the public one; kube-controller-manager signs legacy token Secrets with the private key.
    _new_key(pki / "service-account.key")
    _openssl(
        "pkey", "-in", str(pki / "service-account.key"), "-pubout", "-out", str(pki / "service-account.pub")
    )


def _issue_leaf(pki: Path, identity: Identity) -> None:
    key = pki / f"{identity.stem}.key"
    _new_key(key)
    subject = (f"/O={identity.group}" if identity.group else "") + f"/CN={identity.common_name}"
    extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
    if identity.is_server:
        extensions += ["extendedKeyUsage=serverAuth", "subjectAltName=" + ",".join(identity.server_names)]
    else:
        extensions += ["extendedKeyUsage=clientAuth"]
    with _extension_file(extensions) as extension_file:
        _openssl(
            "x509", "-req", "-in", str(_signing_request(key, subject)), "-CA", str(pki / "ca.crt"),
            "-CAkey", str(pki / "ca.key"), "-set_serial", f"0x{secrets.token_hex(16)}",
            "-days", str(LEAF_DAYS), "-extfile", extension_file, "-extensions", "v3",
            "-out", str(pki / f"{identity.stem}.crt"),
        )  # fmt: skip


def _new_key(path: Path) -> None:
    # P-256 keys take milliseconds where RSA 2048 takes a noticeable part of a second each.
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


def _signing_request(key: Path, subject: str) -> Path:
    csr = key.with_suffix(".csr")
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    return csr


@contextmanager
def _extension_file(extensions: list[str]) -> Iterator[str]:
    """Yield the path of a temporary openssl config holding one ``[v3]`` section."""
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as config:
        config.write("[v3]\n" + "\n".join(extensions) + "\n")
        config.flush()
        yield config.name


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ComponentFailedError(f"openssl {args[0]} failed: {result.stderr.strip()}")
