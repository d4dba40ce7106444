"""`firmware catalog import`: merge vendor releases into `firmware.yaml`.

Sources:

* endoflife.date-style JSON: a list of release cycles, each with `cycle`, `latest`,
  `releaseDate` / `latestReleaseDate` and `eol` (true/false or a date). Each cycle's
  `latest` becomes a release: `end-of-life` when `eol` is true or a date already past,
  else `supported`. The JSON names no platform, so `--platform` is required.
* CSV with a header `platform,version,date,status,advisories` (advisories separated by
  `;` or blanks; an empty platform takes `--platform`).

Every entry the importer does not understand is reported with its place, never dropped
silently. The catalogue is edited with ruamel.yaml's round trip (comments, order and
quoting kept), validated, and replaced atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.fileio import write_atomic
from opskit.firmware.catalog import STATUSES, validate_catalog
from opskit.firmware.versions import Version, family_of, parse_version

CSV_COLUMNS = ("platform", "version", "date", "status", "advisories")


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """One release read from the source."""

    where: str
    platform: str
    version: str
    date: dt.date | None
    status: str | None
    advisories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """An entry of the source that was not imported, and why."""

    where: str
    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.entry}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or would do, with --dry-run)."""

    catalog: Path
    source: Path
    added: tuple[str, ...]  # "platform version"
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    rejected: tuple[ImportIssue, ...]
    written: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "catalog": str(self.catalog),
            "source": str(self.source),
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "rejected": [
                {"where": i.where, "entry": i.entry, "reason": i.reason} for i in self.rejected
            ],
            "written": self.written,
        }


def _parse_date(value: Any) -> dt.date | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def read_eol_json(
    path: Path, platform: str | None, today: dt.date
) -> tuple[list[ImportEntry], list[ImportIssue]]:
    """Entries of an endoflife.date-style JSON file.

    Raises:
        InputError: not JSON, not a list, or no --platform.
    """
    if not platform:
        raise InputError(f"{path.name}: an endoflife.date JSON names no platform: give --platform")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path.name}: not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("releases"), list):
        data = data["releases"]  # the v1 API wraps cycles in {"result": ...}/{"releases"}
    if not isinstance(data, list):
        raise InputError(f"{path.name}: expected a list of release cycles")
    entries: list[ImportEntry] = []
    issues: list[ImportIssue] = []
    for i, item in enumerate(data):
        where = f"{path.name}: entry {i + 1}"
        if not isinstance(item, dict):
            issues.append(ImportIssue(where, json.dumps(item)[:60], "not an object"))
            continue
        label = str(item.get("cycle", "?"))
        latest = item.get("latest")
        if latest is None or isinstance(latest, bool):
            issues.append(ImportIssue(where, f"cycle {label}", "no 'latest' version"))
            continue
        if isinstance(latest, int | float):
            latest = str(latest)
        try:
            date = _parse_date(item.get("latestReleaseDate") or item.get("releaseDate"))
        except ValueError:
            issues.append(ImportIssue(where, f"cycle {label}", "release date is not YYYY-MM-DD"))
            continue
        eol = item.get("eol")
        if isinstance(eol, bool):
            status = "end-of-life" if eol else "supported"
        elif eol is None:
            status = "supported"
        else:
            try:
                eol_date = _parse_date(eol)
                status = "end-of-life" if eol_date and eol_date <= today else "supported"
            except ValueError:
                issues.append(ImportIssue(where, f"cycle {label}", f"eol '{eol}' is not a date"))
                continue
        entries.append(ImportEntry(where, platform, str(latest), date, status))
    return entries, issues


def read_csv(path: Path, platform: str | None) -> tuple[list[ImportEntry], list[ImportIssue]]:
    """Entries of a CSV file with the header `platform,version,date,status,advisories`.

    Raises:
        InputError: no or wrong header.
    """
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise InputError(f"{path.name}: empty CSV")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("platform", "version") if c not in header]
    if missing:
        raise InputError(
            f"{path.name}:1: CSV header must name {', '.join(CSV_COLUMNS)} (missing "
            f"{', '.join(missing)})"
        )
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise InputError(f"{path.name}:1: unknown CSV column(s) {', '.join(unknown)}")
    entries: list[ImportEntry] = []
    issues: list[ImportIssue] = []
    for n, row in enumerate(rows[1:], start=2):
        where = f"{path.name}:{n}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            issues.append(
                ImportIssue(where, ",".join(row), f"{len(row)} fields, header has {len(header)}")
            )
            continue
        rec = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        plat = rec.get("platform") or platform or ""
        version = rec.get("version", "")
        label = f"{plat} {version}".strip()
        if not plat:
            issues.append(ImportIssue(where, label, "no platform (column empty, no --platform)"))
            continue
        if platform and plat != platform:
            issues.append(ImportIssue(where, label, f"skipped: not platform '{platform}'"))
            continue
        if not version:
            issues.append(ImportIssue(where, label, "no version"))
            continue
        status = rec.get("status") or None
        if status is not None and status not in STATUSES:
            issues.append(
                ImportIssue(where, label, f"status '{status}' is not one of {', '.join(STATUSES)}")
            )
            continue
        try:
            date = _parse_date(rec.get("date"))
        except ValueError:
            issues.append(ImportIssue(where, label, f"date '{rec.get('date')}' is not YYYY-MM-DD"))
            continue
        advisories = tuple(a for a in rec.get("advisories", "").replace(";", " ").split() if a)
        entries.append(ImportEntry(where, plat, version, date, status, advisories))
    return entries, issues


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _known(platform: str, text: Any) -> Version | None:
    v = parse_version(platform, str(text))
    return v if isinstance(v, Version) else None


def _insert_at(releases: Any, platform: str, new: Version) -> int:
    """Where a new release goes: right after the newest older release of its train (or
    before the oldest newer one); at the end when its train is not listed yet."""
    known = [(i, _known(platform, r.get("version"))) for i, r in enumerate(releases)]
    same = [(i, v) for i, v in known if v is not None and v.train == new.train]
    older = [(i, v) for i, v in same if v < new]
    if older:
        return max(older, key=lambda t: t[1])[0] + 1
    newer = [(i, v) for i, v in same if v > new]
    if newer:
        return min(newer, key=lambda t: t[1])[0]
    return len(releases)


def import_releases(
    catalog_path: Path,
    source: Path,
    *,
    platform: str | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> ImportReport:
    """Merge releases from a JSON or CSV file into the catalogue.

    New versions are added (in version order when the list is ordered); a version already
    listed gets the date when it had none, the new status (a `vulnerable` entry stays
    vulnerable: a release does not stop being vulnerable) and the union of advisories.

    Args:
        catalog_path: the catalogue (created when missing).
        source: the file to import (`.json` or `.csv`).
        platform: the platform of a JSON file; a filter/default for a CSV file.
        dry_run: report only, write nothing.
        today: for `eol` dates (tests).

    Returns:
        The report, with every entry that was not imported and why.

    Raises:
        InputError: unreadable source, bad header, or a catalogue that would not validate.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    today = today or dt.date.today()
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if source.suffix.lower() == ".json":
        entries, issues = read_eol_json(source, platform, today)
    elif source.suffix.lower() == ".csv":
        entries, issues = read_csv(source, platform)
    else:
        raise InputError(f"{source.name}: import reads .json (endoflife.date) or .csv files")

    yaml = _yaml()
    if catalog_path.exists():
        if validate_catalog(catalog_path)[0] is None:
            raise InputError(
                f"{catalog_path.name}: fix the catalogue first ('opskit firmware catalog validate')"
            )
        with open(catalog_path, encoding="utf-8") as fh:
            doc = yaml.load(fh)
        if doc is None:
            doc = CommentedMap()
    else:
        doc = CommentedMap()
    platforms = doc.setdefault("platforms", CommentedMap())
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for e in entries:
        label = f"{e.platform} {e.version}"
        v = parse_version(e.platform, e.version)
        if not isinstance(v, Version):
            issues.append(ImportIssue(e.where, label, f"not a {family_of(e.platform)} version"))
            continue
        plat = platforms.get(e.platform)
        if plat is None:
            plat = platforms[e.platform] = CommentedMap()
        releases = plat.get("releases")
        if releases is None:
            releases = plat["releases"] = CommentedSeq()
        existing = next(
            (
                r
                for r in releases
                if not r.get("models") and _known(e.platform, r.get("version")) == v
            ),
            None,
        )
        if existing is None:
            item = CommentedMap()
            item["version"] = DoubleQuotedScalarString(e.version)
            if e.date:
                item["date"] = e.date
            item["status"] = e.status or "supported"
            if e.advisories:
                adv = CommentedSeq(e.advisories)
                adv.fa.set_flow_style()
                item["advisories"] = adv
            releases.insert(_insert_at(releases, e.platform, v), item)
            added.append(label)
            continue
        changed = False
        if e.date and not existing.get("date"):
            existing["date"] = e.date
            changed = True
        old_status = existing.get("status", "supported")
        if e.status and old_status != e.status and old_status != "vulnerable":
            existing["status"] = e.status
            changed = True
        have = [str(a) for a in existing.get("advisories", [])]
        more = [a for a in e.advisories if a not in have]
        if more:
            adv = CommentedSeq([*have, *more])
            adv.fa.set_flow_style()
            existing["advisories"] = adv
            changed = True
        (updated if changed else unchanged).append(label)

    written = False
    if (added or updated) and not dry_run:
        _write_checked(catalog_path, doc, yaml)
        written = True
    return ImportReport(
        catalog=catalog_path,
        source=source,
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        rejected=tuple(issues),
        written=written,
    )


def _write_checked(path: Path, doc: Any, yaml: Any) -> None:
    """Dump to a temp file beside the catalogue, validate it, then replace atomically."""
    buf = io.StringIO()
    yaml.dump(doc, buf)
    path.parent.mkdir(parents=True, exist_ok=True)

    def check(tmp: Path) -> None:
        catalog, problems = validate_catalog(tmp)
        if catalog is None:
            first = problems[0].message if problems else "invalid"
            raise InputError(f"{path.name}: the merged catalogue would not validate: {first}")

    write_atomic(path, buf.getvalue(), keep_mode=True, check=check, suffix=".yaml")
