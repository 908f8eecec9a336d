"""Keyring and package-body sizes at scale, with pre-issued hybrid subkeys (issue 19).

Run: ``python benchmarks/keyring_size.py [--municipalities 300] [--people 10]
[--horizons 2,8]``.

For each horizon H it builds a full keyring of ``--municipalities`` x ``--people``
recipients, each listing (H + 1) periods of subkeys (a hybrid post-quantum one, ~2 KB
with its certification, and its classic companion: what an enrolment card holds), and
prints the bytes of the full keyring and of one municipality's view against the cap
(``MAX_KEYRING_BYTES``), and the seconds to serialise and parse the full one. Then the
largest package manifest the design allows: 64 recipients each named with a vouched
hybrid subkey and the export key's live return subkeys for ``AGENCY_HORIZON``, against
``MAX_MANIFEST_SIZE``. Baseline for the ratios: the same keyring with the current
period only (H = 0), measured in the same run.

The subkeys of one real identity are reused for every recipient (each with its own
signing key and name): sizes are exact, signatures are not checked here.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, date, datetime
from typing import Any


def _keyring(municipalities: int, people: int, horizon: int, now: datetime) -> Any:
    from securexchange.artifacts.agency_keys import AgencyKeys
    from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
    from securexchange.ids import ArtifactKind, new_artifact_id
    from securexchange.keys.identity import (
        AGENCY_HORIZON,
        Owner,
        PublicIdentity,
        generate_identity,
    )

    template = generate_identity(Owner("Template", "staff", "11002"), now=now, horizon=horizon)
    export = generate_identity(
        Owner("Agentschap", "agency-export", "agency"), now=now, horizon=AGENCY_HORIZON
    )
    root = generate_identity(Owner("Agentschap", "agency-root", "agency"), now=now, subkeys=False)
    agency = AgencyKeys("Agentschap", root.signing_key, export.public, "cert", now)
    entries = []
    for m in range(municipalities):
        nis = f"{10000 + m:05d}"
        recipients = sorted(
            (
                PublicIdentity(
                    Owner(f"Person {p:02d} of {nis}", "staff", nis),
                    os.urandom(32),
                    template.public.subkeys,
                )
                for p in range(people)
            ),
            key=lambda r: r.fingerprint.digest,
        )
        entries.append(
            MunicipalityEntry(
                nis=nis,
                name=f"Gemeente {nis}",
                party_id="party-"
                + f"{m:026d}".translate(str.maketrans("0123456789", "abcdefghij")),
                protocol_id="protocol-"
                + f"{m:026d}".translate(str.maketrans("0123456789", "abcdefghij")),
                protocol_from=date(2026, 1, 1),
                protocol_until=date(2030, 12, 31),
                retention_months=12,
                profiles=(),
                recipients=tuple(recipients),
            )
        )
    return Keyring(
        id=new_artifact_id(ArtifactKind.KEYRING),
        version=1,
        issued_at=now,
        scope="full",
        demo=True,
        agency=agency,
        municipalities=tuple(entries),
    )


def _manifest_bytes(now: datetime) -> int:
    """The largest package manifest: 64 vouched hybrid recipients and the agency's
    live return subkeys."""
    from securexchange.artifacts.manifest import ArtifactType, Manifest, MemberDigest
    from securexchange.artifacts.package import PackageBody, PackageRecipient
    from securexchange.keys.identity import AGENCY_HORIZON, Owner, generate_identity
    from securexchange.schema import SCHEMA_VERSION

    person = generate_identity(Owner("P", "staff", "11002"), now=now)
    hybrid = next(s for s in person.public.subkeys if s.post_quantum)
    export = generate_identity(
        Owner("A", "agency-export", "agency"), now=now, horizon=AGENCY_HORIZON
    )
    recipients = tuple(
        sorted(
            (
                PackageRecipient.of(
                    generate_identity(
                        Owner(f"P{i}", "staff", "11002"), now=now, subkeys=False
                    ).fingerprint.display,
                    "staff",
                    hybrid,
                )
                for i in range(64)
            ),
            key=lambda r: r.fingerprint,
        )
    )
    body = PackageBody(
        schema_version=SCHEMA_VERSION,
        nis="11002",
        municipality_name="Antwerpen",
        party_id="party-" + "a" * 26,
        protocol_id="protocol-" + "a" * 26,
        protocol_until=date(2030, 12, 31),
        sequence=1,
        import_deadline=now,
        valid_until=now,
        keyring_version=1,
        recipients=recipients,
        recipient_stanzas=64,
        records=0,
        earliest_retention=None,
        latest_retention=None,
        supersedes=None,
        demo=True,
        agency_subkeys=export.public.live_subkeys(now),
    )
    manifest = Manifest(
        artifact_type=ArtifactType.PACKAGE,
        artifact_id="pkg-" + "a" * 26,
        created_at=now,
        municipality="11002",
        signer=person.fingerprint.display,
        body=body,
        payload=MemberDigest(0, "0" * 64),
        attachments=(
            ("keyring.json", MemberDigest(0, "0" * 64)),
            ("keyring.sig", MemberDigest(0, "0" * 64)),
        ),
    )
    return len(manifest.to_json_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=300)
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--horizons", default="2,8")
    args = parser.parse_args()
    from securexchange.artifacts.keyring import MAX_KEYRING_BYTES, Keyring
    from securexchange.artifacts.manifest import MAX_MANIFEST_SIZE

    now = datetime.now(UTC).replace(microsecond=0)
    horizons = [0, *(int(h) for h in args.horizons.split(","))]
    print(
        f"{args.municipalities} municipalities x {args.people} people; cap "
        f"{MAX_KEYRING_BYTES / (1 << 20):.0f} MiB"
    )
    print(
        f"{'H':>3} {'subkeys':>8} {'full MiB':>9} {'x H=0':>6} {'of cap':>7} {'view KiB':>9} "
        f"{'write s':>8} {'parse s':>8}"
    )
    base = 0
    for horizon in horizons:
        keyring = _keyring(args.municipalities, args.people, horizon, now)
        started = time.perf_counter()
        data = keyring.to_bytes()
        written = time.perf_counter() - started
        started = time.perf_counter()
        Keyring.from_bytes(data) if len(data) <= MAX_KEYRING_BYTES else None
        parsed = time.perf_counter() - started
        view = keyring.view(keyring.municipalities[0].party_id, view_id=keyring.id).to_bytes()
        base = base or len(data)
        subkeys = (
            args.municipalities * args.people * len(keyring.municipalities[0].recipients[0].subkeys)
        )
        print(
            f"{horizon:>3} {subkeys:>8} {len(data) / (1 << 20):>9.1f} {len(data) / base:>6.2f} "
            f"{len(data) / MAX_KEYRING_BYTES:>7.0%} {len(view) / 1024:>9.0f} {written:>8.2f} "
            f"{parsed if len(data) <= MAX_KEYRING_BYTES else float('nan'):>8.2f}"
        )
    size = _manifest_bytes(now)
    print(
        f"largest package manifest (64 vouched hybrid recipients, agency subkeys for the "
        f"agency horizon): {size / 1024:.0f} KiB of {MAX_MANIFEST_SIZE / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
