"""The errors opskit raises on purpose, and the exit codes they map to.

Exit codes are the same for every command (see README, "Exit codes"):

* 0 ok
* 1 some checks or devices failed (the run went on for the others)
* 2 bad usage or bad input (inventory, catalogue, arguments)
* 3 unknown or internal error

Monitoring commands map Nagios' OK/WARNING/CRITICAL/UNKNOWN onto 0/1/2/3.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, one table for every command."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    INTERNAL = 3


class OpskitError(Exception):
    """Base for every error opskit raises on purpose.

    The message is one line that names the place (file:line, or the device), so the CLI
    can print it as is.
    """

    exit_code: ExitCode = ExitCode.INTERNAL


class InputError(OpskitError):
    """A bad inventory, catalogue, config file or argument."""

    exit_code = ExitCode.BAD_INPUT


class DeviceError(OpskitError):
    """One device failed; the others go on."""

    exit_code = ExitCode.FAILED


class DeviceTimeout(DeviceError, TimeoutError):
    """A device did not answer within its timeout."""


class MissingDependencyError(OpskitError):
    """An optional tool or package a command needs is not installed."""

    exit_code = ExitCode.BAD_INPUT
