"""The agency's public keys as the keyring lists them: the root key (which signs the
keyring), the export key the root certifies, and the agency DPO key (format 3).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from securexchange import sshsig, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import BadSignature, Malformed
from securexchange.fingerprint import Fingerprint
from securexchange.i18n import _
from securexchange.keys.card import identity_from_fields, identity_to_json
from securexchange.keys.identity import (
    ORGANISATION_AGENCY,
    ROLE_AGENCY_DPO,
    ROLE_EXPORT,
    Identity,
    PublicIdentity,
)

_EXPORT_CERT_TAG = "securexchange-export-key-certification/1"


def export_certification_message(root_key: bytes, export_key: bytes, valid_from: datetime) -> bytes:
    """The exact bytes the root key signs (keyring namespace) to certify the export key."""
    return (
        f"{_EXPORT_CERT_TAG}\n"
        f"root {Fingerprint.of_public_key(root_key).digest.hex()}\n"
        f"export {Fingerprint.of_public_key(export_key).digest.hex()}\n"
        f"valid-from {format_instant(valid_from)}\n"
    ).encode("ascii")


def certify_export_key(root: Identity, export_key: bytes, valid_from: datetime) -> str:
    return root.sign(
        export_certification_message(root.signing_key, export_key, valid_from),
        sshsig.NAMESPACE_KEYRING,
    )


@dataclass(frozen=True)
class AgencyKeys:
    """The agency's public keys as the keyring lists them."""

    name: str
    root_key: bytes
    export: PublicIdentity
    export_certification: str
    export_certified_from: datetime
    # The agency's DPO key (format 3): listed in the root-signed keyring, which is its
    # certification; its subkeys receive the municipalities' incident notices.
    dpo: PublicIdentity | None = None

    def __post_init__(self) -> None:
        if len(self.root_key) != sshsig.PUBLIC_KEY_SIZE:
            raise ValueError("the root key is 32 bytes")
        if self.export.owner.organisation != ORGANISATION_AGENCY:
            raise ValueError("the export key belongs to the agency")
        if self.export.owner.role != ROLE_EXPORT:
            raise ValueError("the export key has the export role")
        if self.export.signing_key == self.root_key:
            raise ValueError("the root and export keys are different keys")
        if self.dpo is not None:
            if self.dpo.owner.organisation != ORGANISATION_AGENCY:
                raise ValueError("the agency's DPO key belongs to the agency")
            if self.dpo.owner.role != ROLE_AGENCY_DPO:
                raise ValueError("the agency's DPO key has the agency DPO role")
            if self.dpo.signing_key in (self.root_key, self.export.signing_key):
                raise ValueError("the DPO key is a key of its own")

    @property
    def root_fingerprint(self) -> Fingerprint:
        return Fingerprint.of_public_key(self.root_key)

    def verify(self) -> None:
        """Raise BadSignature unless the root certified the export key and the export
        key certified its subkeys."""
        message = export_certification_message(
            self.root_key, self.export.signing_key, self.export_certified_from
        )
        try:
            sshsig.verify(
                self.export_certification, message, sshsig.NAMESPACE_KEYRING, self.root_key
            )
        except (BadSignature, Malformed):
            raise BadSignature(
                _("the root key's certification of the export key does not verify")
            ) from None
        self.export.verify_subkeys()
        if self.dpo is not None:
            self.dpo.verify_subkeys()

    def with_live_subkeys(self, now: datetime) -> AgencyKeys:
        """The same keys, each listing the subkeys whose validity has not ended."""
        dpo = None if self.dpo is None else self.dpo.with_live_subkeys(now)
        return replace(self, export=self.export.with_live_subkeys(now), dpo=dpo)

    def to_json(self) -> dict[str, object]:
        dpo = {} if self.dpo is None else {"dpo": identity_to_json(self.dpo)}
        return {
            **dpo,
            "name": self.name,
            "root": {
                "signing_key": sshsig.ssh_public_key_line(self.root_key),
                "fingerprint": self.root_fingerprint.display,
            },
            "export": {
                **identity_to_json(self.export),
                "certification": self.export_certification,
                "certified_from": format_instant(self.export_certified_from),
            },
        }

    @classmethod
    def from_json(cls, value: object) -> AgencyKeys:
        # TRANSLATORS: the part of a keyring that lists the agency's keys; fills {what}.
        with strictjson.Fields(value, _("the keyring's agency")) as f:
            name = f.text("name")
            with strictjson.Fields(f.object("root"), _("the keyring's root key")) as r:
                root_key = sshsig.parse_ssh_public_key_line(r.text("signing_key"))
                if r.text("fingerprint") != Fingerprint.of_public_key(root_key).display:
                    raise Malformed(
                        _("the keyring states a root fingerprint that is not its key's")
                    )
            export_what = _("the keyring's export key")
            with strictjson.Fields(f.object("export"), export_what) as e:
                certification = e.text("certification")
                certified_from = read_instant(e.text("certified_from"), export_what)
                export = identity_from_fields(e, export_what)
            dpo = None
            dpo_fields = f.opt_object("dpo")
            if dpo_fields is not None:
                dpo_what = _("the keyring's DPO key")
                with strictjson.Fields(dpo_fields, dpo_what) as d:
                    dpo = identity_from_fields(d, dpo_what)
        try:
            return cls(name, root_key, export, certification, certified_from, dpo)
        except ValueError:
            raise Malformed(_("the keyring's agency keys are not valid")) from None
