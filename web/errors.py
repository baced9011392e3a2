"""The web face's user-facing conditions, S650-S669 (see docs/errors.md)."""

from __future__ import annotations

from engine.errors import JoistError


class WebError(JoistError):
    """Base of the dashboard's errors; `status` is the HTTP status a page answers with."""

    code = "S650"
    status = 400


class UserExists(WebError):
    """`joist user add` (or the first-start form) named a user that exists already."""

    code = "S651"
    status = 409


class BadUser(WebError):
    """A user name, role or password the dashboard does not accept (empty, too short, unknown role)."""

    code = "S652"


class UnknownUser(WebError):
    """`joist user` named a user the project does not have."""

    code = "S653"
    status = 404


class BadSignIn(WebError):
    """A sign-in with a wrong name or password (which of the two is not said)."""

    code = "S654"
    status = 401


class TooManySignIns(WebError):
    """Too many failed sign-ins from one address: further tries wait."""

    code = "S655"
    status = 429


class CsrfRefused(WebError):
    """A POST without the form's CSRF token, or with a wrong one."""

    code = "S656"
    status = 403


class NotAllowed(WebError):
    """A viewer asked for a change only an admin may make."""

    code = "S657"
    status = 403


class BadLayout(WebError):
    """A dashboard layout that names an unknown widget or size."""

    code = "S658"


class BadParamValue(WebError):
    """A Settings form value that is not valid YAML for its parameter."""

    code = "S659"


class SecretUnreadable(WebError):
    """The dashboard's cookie secret file (.joist/web-secret) cannot be read or made."""

    code = "S660"
    status = 500


class SignInRefused(WebError):
    """A Connections sign-in came back with a state this dashboard did not start for this admin,
    too late, or without the system's approval."""

    code = "S662"
