"""Password hashing: a fast digest (md5, sha1, unsalted sha2) applied to a password is found in the AST."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HashUse", "scan_password_hashing"]

_WEAK = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b", "blake2s"})
_ALWAYS_WEAK = frozenset({"md5", "sha1"})
_STRONG = {
    "scrypt": "scrypt",
    "pbkdf2_hmac": "pbkdf2",
    "hashpw": "bcrypt",
    "PasswordHasher": "argon2",
    "CryptContext": "passlib",
    "generate_password_hash": "werkzeug (pbkdf2/scrypt)",
    "make_password": "django hashers",
}
_PASSWORD = re.compile(r"password|passwd|passphrase|(^|_)pwd(_|$)|(^|_)pw(_|$)", re.IGNORECASE)


@dataclass(frozen=True)
class HashUse:
    """A weak hash applied to a password, at file:line."""

    file: Path
    line: int
    algorithm: str
    salted: bool
    code: str


def _names(node: ast.AST) -> list[str]:
    names = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.append(sub.attr)
        elif isinstance(sub, ast.arg):
            names.append(sub.arg)
    return names


def _mentions_password(nodes: list[ast.expr]) -> bool:
    return any(_PASSWORD.search(name) for node in nodes for name in _names(node))


def _mentions_salt(nodes: list[ast.expr]) -> bool:
    return any("salt" in name.lower() for node in nodes for name in _names(node))


def _hashlib_aliases(tree: ast.Module) -> tuple[set[str], dict[str, str]]:
    """Names bound to the hashlib module, and bare names bound to its functions (``from hashlib import md5``)."""
    modules = {"hashlib"}
    functions: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hashlib":
                    modules.add(alias.asname or "hashlib")
        elif isinstance(node, ast.ImportFrom) and node.module == "hashlib":
            for alias in node.names:
                functions[alias.asname or alias.name] = alias.name
    return modules, functions


def _algorithm(call: ast.Call, modules: set[str], functions: dict[str, str]) -> str | None:
    """The digest name when ``call`` constructs a hashlib digest (``hashlib.md5(...)``, ``hashlib.new('md5')``)."""
    func = call.func
    name = None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
        name = func.attr
    elif isinstance(func, ast.Name) and func.id in functions:
        name = functions[func.id]
    if name == "new" and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        name = call.args[0].value.lower().replace("-", "")
    return name if name in _WEAK else None


def scan_password_hashing(files: list[Path]) -> tuple[list[HashUse], set[str]]:
    """Weak hashes of passwords in ``files``, and the strong password hashers seen (for the evidence)."""
    uses: list[HashUse] = []
    strong: set[str] = set()
    for path in files:
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
            tree = ast.parse(source, filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        lines = source.splitlines()
        modules, functions = _hashlib_aliases(tree)
        hashers: dict[str, str] = {}  # variable -> algorithm, for h = hashlib.sha1(); h.update(password)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                algorithm = _algorithm(node.value, modules, functions)
                if algorithm:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            hashers[target.id] = algorithm
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in _STRONG:
                strong.add(_STRONG[called])
            algorithm = _algorithm(node, modules, functions)
            arguments: list[ast.expr] = [*node.args, *(k.value for k in node.keywords)]
            if algorithm is None and called == "update" and isinstance(func, ast.Attribute):
                receiver = func.value
                if isinstance(receiver, ast.Name) and receiver.id in hashers:
                    algorithm = hashers[receiver.id]
            if algorithm is None or not _mentions_password(arguments):
                continue
            salted = _mentions_salt(arguments)
            if salted and algorithm not in _ALWAYS_WEAK:
                continue  # a salted sha2 is outside what this check judges (the issue: unsalted sha256 fails)
            code = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
            uses.append(HashUse(path, node.lineno, algorithm, salted, code))
    return uses, strong
