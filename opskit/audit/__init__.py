"""Hardening audit of the stored configs: rules as data per OS family, findings with
evidence (file:line in the stored config), waivers from the inventory.

The public API:

* `run_audit(inventory, devices, rev=None) -> AuditReport` (what `opskit audit` does);
* `audit_changes(inventory, devices, commit) -> FindingsDiff`, and `diff_findings(old, new)`:
  new and fixed findings, for the `changes` notification after a backup run;
* `check_secret_values(platform, text, scrub) -> (ValueFinding, ...)`: the rules that need a
  secret's value, run by `backup run` on the fetched text before scrubbing, and
  `record_value_findings(state_dir, entries)` which keeps their result beside the backup;
  `VALUE_INSPECTOR` holds the two for `opskit.backup` (`ValueInspector`), which the
  commands hand it (backup imports no other capability);
* `load_ruleset(family)`, `family_for(platform)`: the rules.
"""

from opskit.audit.model import AuditReport, DeviceAudit, Finding, FindingsDiff, diff_findings
from opskit.audit.rules import RuleSet, family_for, load_ruleset
from opskit.audit.service import audit_changes, run_audit
from opskit.audit.store import record_value_findings
from opskit.audit.values import ValueFinding, check_secret_values


class _ValueInspector:
    """`opskit.backup.ValueInspector`: audit's value rules, and where their results go."""

    check = staticmethod(check_secret_values)
    record = staticmethod(record_value_findings)


VALUE_INSPECTOR = _ValueInspector()

__all__ = [
    "VALUE_INSPECTOR",
    "AuditReport",
    "DeviceAudit",
    "Finding",
    "FindingsDiff",
    "RuleSet",
    "ValueFinding",
    "audit_changes",
    "check_secret_values",
    "diff_findings",
    "family_for",
    "load_ruleset",
    "record_value_findings",
    "run_audit",
]
