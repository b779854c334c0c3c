"""An address or a name given on the command line, checked as the subscriber list checks them (shared by the
commands that take one, without loading the list's own commands)."""

from __future__ import annotations

import click


def valid_address(address: str) -> str:
    from ..service.subscriber_csv import validate_address
    try:
        return validate_address(address)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def valid_name(name: str) -> str:
    from ..service.subscriber_csv import validate_name
    try:
        return validate_name(name)
    except ValueError as exc:
        raise click.ClickException(f"--name: {exc}") from None
