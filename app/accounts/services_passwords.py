"""Passwords: argon2id hashing with transparent upgrade, the strength rules (common ones refused), generated ones."""

from __future__ import annotations

import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

from app.accounts.common import N_
from app.accounts.models import User
from app.core.db import db
from app.core.errors import ValidationFailed

PASSWORD_MIN = 10
PASSWORD_MAX = 256

# argon2id; production uses the library defaults (RFC 9106 low-memory profile), tests a cheaper
# setting through ARGON2_PARAMS. Changing them makes every stored hash "need rehash", and the next
# successful sign-in upgrades it.
_hashers: dict[tuple[tuple[str, int], ...], PasswordHasher] = {}
_dummy: dict[str, str] = {}


def hasher() -> PasswordHasher:
    params: dict[str, int] = current_app.config.get("ARGON2_PARAMS") or {}
    key = tuple(sorted(params.items()))
    if key not in _hashers:
        defaults = PasswordHasher()
        _hashers[key] = PasswordHasher(
            time_cost=params.get("time_cost", defaults.time_cost),
            memory_cost=params.get("memory_cost", defaults.memory_cost),
            parallelism=params.get("parallelism", defaults.parallelism),
        )
    return _hashers[key]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_hash(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash; a malformed hash is simply no match."""
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend one verification's time when there is no account, so timing does not reveal names."""
    if "hash" not in _dummy:
        _dummy["hash"] = hasher().hash(secrets.token_urlsafe(16))
    verify_hash(_dummy["hash"], password)


def verify_password(user: User, password: str) -> bool:
    """Check `password`; upgrades the stored hash when the hashing parameters changed (flushes)."""
    if not verify_hash(user.password_hash, password):
        return False
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
        db.session.flush()
    return True


# Look-alike characters folded back to letters, so 'P@ssw0rd' is recognised as 'password'.
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
# Digits, symbols and spaces people wrap around a common word: 'Password1!', '!!dragon2024'.
_WRAPPING = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked password sets, lower-cased.

    Shipped by the pinned `zxcvbn` package (MIT licence, Dropbox's zxcvbn port): its 'passwords'
    frequency list, drawn from Mark Burnett's 10 million leaked passwords (xato.net)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Whether the password is a common (breached) one, ignoring case, look-alike characters and the
    digits or symbols around it: 'password123', 'Password1!', 'P@ssw0rd', '2024dragon!' are all common."""
    common = common_passwords()
    lowered = password.strip().lower()
    candidates = {lowered, lowered.translate(_LEET)}
    for text in list(candidates):
        candidates.add(_WRAPPING.sub("", text))
    candidates.add(_WRAPPING.sub("", lowered).translate(_LEET))
    return any(c in common for c in candidates if c)


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons the password is refused (empty when acceptable). Length over composition rules (NIST 800-63B)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(N_("at least 10 characters"))
    if len(password) > PASSWORD_MAX:
        problems.append(N_("at most 256 characters"))
    if username and username.lower() in password.lower():
        problems.append(N_("must not contain the user name"))
    if password and len(set(password)) < 4:
        problems.append(N_("too few different characters"))
    if password and is_common_password(password):
        problems.append(N_("a common password that attackers try first; choose a phrase of your own"))
    return problems


def check_password(password: str, username: str) -> None:
    """Raises ValidationFailed listing `password_problems` when there are any."""
    problems = password_problems(password, username=username)
    if problems:
        raise ValidationFailed(N_("The password is too weak."), errors={"password": problems})


def generate_password(username: str = "") -> str:
    """A random password the strength rules accept for `username` (a short name may turn up in random text)."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password_problems(password, username=username):
            return password
