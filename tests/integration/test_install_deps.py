"""test_install_deps.py -- every external command and Python module the
tests and scripts use comes from a package that `make test` installs.

A fresh Debian machine gets exactly the non-bench lists of
scripts/install-deps.sh (plus what those packages depend on, plus the base
system).  A tool that a test calls but whose package is only in the bench
list, or in no list, passes CI on a machine where someone installed it by
hand and fails everywhere else (issue 9: pt-fingerprint from
percona-toolkit).  This file finds the commands by scanning the sources --
argv lists and shutil.which() in Python, command positions in shell
scripts -- maps each one found on this machine to its package with
`dpkg-query -S`, and checks that package is installed by the lists.

Needs no server.  Commands named in the sources but absent here are not
judged (a word in an argv-shaped list need not be a command); the tests
that call them fail on their own.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL_DEPS = os.path.join(REPO, "scripts", "install-deps.sh")

# Files whose commands may come from the bench list too (`make bench`
# installs it with --bench).
BENCH_FILES = ("scripts/bench.sh", "scripts/bench/", "bench/")

# Python: the first literal of a list ("[" not preceded by a name, a
# closing bracket or a quote: a list display, not a subscript), or the
# argument of which().
PY_ARGV = re.compile(r"""(?:^|[^\w\])'"])\[\s*["']([A-Za-z][\w.+-]*)["']""",
                     re.M)
PY_WHICH = re.compile(r"""which\(\s*["']([A-Za-z][\w.+-]*)["']""")
PY_DASH_M = re.compile(r"""["']-m["']\s*,\s*["']([A-Za-z_][\w.]*)["']""")
PY_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)

# Shell: the first word after a command separator, or after a prefix
# command that runs its argument.
SH_START = r"(?:^|[;&|`{]|(?<![=\w$])\(|\$\(|\bthen\b|\bdo\b|\belse\b|\bexec\b|!)"
SH_PREFIX = (r"(?:\s*(?:command\s+-v|command|exec|nice(?:\s+-n\s*\d+)?|"
             r"timeout(?:\s+--?[\w=-]+)*\s+\S+|sudo|env(?:\s+\w+=\S*)*)\s+)*")
SH_CMD = re.compile(SH_START + SH_PREFIX + r"\s*([a-z][\w.+-]*)(?=\s|$|;|\))",
                    re.M)
SH_ASSIGN_PREFIX = re.compile(r"^\s*(?:\w+=\S*\s+)+([a-z][\w.+-]*)", re.M)


def source_files():
    """(relative path, kind) of every Python and shell source to scan."""
    out = []
    for top in ("tests", "scripts", "bench", ".ci"):
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in files:
                path = os.path.join(root, f)
                rel = os.path.relpath(path, REPO)
                if rel == "scripts/install-deps.sh":
                    continue  # names packages, not commands
                if f.endswith(".py"):
                    out.append((rel, "py"))
                elif f.endswith(".sh") or _shebang_is_shell(path):
                    out.append((rel, "sh"))
    return sorted(out)


def _shebang_is_shell(path):
    try:
        with open(path, "rb") as fh:
            first = fh.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and (b"bash" in first or b"/sh" in first)


def _strip_sh_comments(text):
    return "\n".join(re.sub(r"(^|\s)#.*$", r"\1", line)
                     for line in text.splitlines())


def scan():
    """{command: set(files)} and {module: set(files)} named in the sources."""
    cmds, mods = {}, {}
    local = {os.path.splitext(f)[0]
             for root, _, files in os.walk(os.path.join(REPO, "tests"))
             for f in files if f.endswith(".py")}
    for rel, kind in source_files():
        with open(os.path.join(REPO, rel), encoding="utf-8",
                  errors="replace") as fh:
            text = fh.read()
        found = set()
        if kind == "py":
            for rx in (PY_ARGV, PY_WHICH):
                found.update(rx.findall(text))
            for m in PY_DASH_M.findall(text) + PY_IMPORT.findall(text):
                if m.split(".")[0] not in local:
                    mods.setdefault(m.split(".")[0], set()).add(rel)
        else:
            body = _strip_sh_comments(text)
            found.update(SH_CMD.findall(body))
            found.update(SH_ASSIGN_PREFIX.findall(body))
        for c in found:
            cmds.setdefault(c, set()).add(rel)
    return cmds, mods


def listed_packages():
    """(non-bench packages, bench packages) of install-deps.sh."""
    with open(INSTALL_DEPS, encoding="utf-8") as fh:
        text = fh.read()
    lists = {}
    for name, body in re.findall(r"^(\w+_PKGS)=\(([^)]*)\)", text, re.M | re.S):
        body = "\n".join(l.split("#")[0] for l in body.splitlines())
        lists[name] = set(body.split())
    assert "BENCH_PKGS" in lists and len(lists) > 1, lists.keys()
    main = set().union(*(v for k, v in lists.items() if k != "BENCH_PKGS"))
    return main, lists["BENCH_PKGS"]


def installed_db():
    """{package: (depends, essential)} and {virtual: providers}."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f",
         "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t"
         "${Pre-Depends}, ${Depends}\t${Provides}\n"],
        capture_output=True, text=True, check=True).stdout
    db, provides = {}, {}
    for line in out.splitlines():
        status, pkg, ess, prio, deps, prov = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        names = set()
        for alt in deps.split(","):
            for d in alt.split("|"):
                d = d.strip().split(" ")[0].split(":")[0]
                if d:
                    names.add(d)
        db[pkg] = (names, ess == "yes" or prio == "required")
        for p in prov.split(","):
            p = p.strip().split(" ")[0]
            if p:
                provides.setdefault(p, set()).add(pkg)
    return db, provides


def closure(roots, db, provides):
    """Installed packages that installing roots brings (Depends only: the
    script installs with --no-install-recommends), plus the base system."""
    seen = {p for p, (_, base) in db.items() if base}
    todo = list(roots)
    while todo:
        p = todo.pop()
        for q in ({p} if p in db else set()) | provides.get(p, set()):
            if q in seen and q != p:
                continue
            seen.add(q)
            todo.extend(d for d in db[q][0] if d not in seen)
    return seen


def owners(paths):
    """{path: set(packages)} by dpkg-query -S (merged /usr: try both)."""
    want = set()
    for p in paths:
        want.add(p)
        for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/")):
            if p.startswith(a):
                want.add(b + p[len(a):])
            elif p.startswith(b):
                want.add(a + p[len(b):])
    r = subprocess.run(["dpkg-query", "-S", *sorted(want)],
                       capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion "):
            continue
        pkgs, _, path = line.rpartition(": ")
        found.setdefault(path.strip(), set()).update(
            x.strip().split(":")[0] for x in pkgs.split(","))
    out = {}
    for p in paths:
        alts = [p, re.sub(r"^/usr/(s?bin)/", r"/\1/", p),
                re.sub(r"^/(s?bin)/", r"/usr/\1/", p)]
        out[p] = set().union(*(found.get(a, set()) for a in alts))
    return out


# The system's own directories: the tests run /usr/bin/python3, not a
# user's first python3 on PATH, and /usr/local holds no package's files.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def command_paths(cmds):
    """{command: real path} of the commands found on this machine."""
    out = {}
    for c in cmds:
        p = shutil.which(c, path=SYSTEM_PATH)
        if p:
            out[c] = os.path.realpath(p)
    return out


def module_paths(mods):
    """{module: file} of the Python modules installed by a package."""
    out = {}
    for m in mods:
        if m in sys.stdlib_module_names:
            continue
        try:
            spec = importlib.util.find_spec(m)
        except (ImportError, ValueError):
            continue
        origin = spec and (spec.origin if spec.origin not in (None, "namespace")
                           else next(iter(spec.submodule_search_locations or []),
                                     None))
        if origin and origin.startswith("/usr/"):
            out[m] = os.path.realpath(origin)
    return out


def unlisted(main, bench, cmds, mods):
    """Lines naming each command or module whose package is not installed
    by the lists that cover the file using it."""
    db, provides = installed_db()
    ok_main = closure(main, db, provides)
    ok_bench = closure(main | bench, db, provides)
    cpaths, mpaths = command_paths(cmds), module_paths(mods)
    own = owners(list(cpaths.values()) + list(mpaths.values()))
    bad = []
    for what, paths, users in (("command", cpaths, cmds),
                               ("module", mpaths, mods)):
        for name, path in sorted(paths.items()):
            if path.startswith(REPO):
                continue
            pkgs = own.get(path, set())
            files = users[name]
            need = ok_main if any(not f.startswith(BENCH_FILES)
                                  for f in files) else ok_bench
            if not pkgs:
                bad.append(f"{what} {name} ({path}): no package owns it; "
                           f"used by {', '.join(sorted(files))}")
            elif not pkgs & need:
                bad.append(f"{what} {name}: package {'/'.join(sorted(pkgs))} "
                           f"is not in install-deps.sh's non-bench lists; "
                           f"used by {', '.join(sorted(files))}")
    return bad


@pytest.fixture(scope="module")
def scanned():
    return scan()


def test_scan_finds_the_known_tools(scanned):
    """The scanner sees the tools issue 9 names (it would pass vacuously
    if it found nothing)."""
    cmds, mods = scanned
    for c in ("pt-fingerprint", "redis-benchmark", "redis-cli", "curl",
              "openssl", "mariadb-install-db", "gcc", "xmllint"):
        assert c in cmds, f"scanner missed {c}"
    for c in ("redis", "pymysql"):
        assert c in mods, f"scanner missed module {c}"


def test_every_tool_comes_from_a_listed_package(scanned):
    cmds, mods = scanned
    main, bench = listed_packages()
    bad = unlisted(main, bench, cmds, mods)
    assert not bad, "\n".join(bad)


def test_check_fails_without_percona_toolkit(scanned):
    """The bug of issue 9, replayed: with percona-toolkit in the bench list
    only, the check names pt-fingerprint."""
    cmds, mods = scanned
    main, bench = listed_packages()
    if not shutil.which("pt-fingerprint"):
        pytest.fail("pt-fingerprint not installed: run scripts/install-deps.sh")
    bad = unlisted(main - {"percona-toolkit"}, bench | {"percona-toolkit"},
                   cmds, mods)
    assert any(b.startswith("command pt-fingerprint:") for b in bad), bad
