#!/usr/bin/env python3
"""Checks that doc/kvault.1 documents the kvault binary as it is.

    man_check.py KVAULT MANPAGE VERSION

Fails when groff warns about the page, when its .TH version is not VERSION,
or when a command, an option or an exit status that the program's --help
output lists is missing from the page, or the page documents one the program
no longer has. Commands are the page's .SS headings under COMMANDS; a
command's options are the .TP items of its .SS section; the options every
command takes are the .TP items of OPTIONS OF EVERY COMMAND.
"""
import re
import shutil
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][a-zA-Z0-9-]*)")
HELP_OPTION_LINE = re.compile(r"^\s+((?:-[a-zA-Z], )?--[a-z][a-z0-9-]*)")

failures = []


def fail(msg):
    failures.append(msg)


def run_help(kvault, *args):
    p = subprocess.run([kvault, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: kvault {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def help_options(text):
    """The options a help text lists, split at 'Options of every command:'."""
    own, _, common = text.partition("Options of every command:")
    if not common:
        return None, None

    def opts(part):
        found = set()
        for line in part.splitlines():
            m = HELP_OPTION_LINE.match(line)
            if m:
                found.update(OPTION.findall(m.group(1)))
        return found

    return opts(own), opts(common)


def plain(line):
    """A roff line without font escapes and with \\- as -."""
    return re.sub(r"\\f[BIRP]", "", line.replace("\\-", "-"))


def parse_man(path):
    """{section: {subsection or None: [lines]}} and the .TH line."""
    sections, th = {}, None
    sec = sub = None
    for raw in open(path, encoding="utf-8"):
        line = plain(raw.rstrip("\n"))
        if line.startswith('.\\"'):
            continue
        if line.startswith(".TH "):
            th = line
        elif line.startswith(".SH "):
            sec, sub = line[4:].strip().strip('"'), None
            sections.setdefault(sec, {})
        elif line.startswith(".SS "):
            sub = line[4:].strip().strip('"')
            sections[sec].setdefault(sub, [])
        elif sec is not None:
            sections[sec].setdefault(sub, []).append(line)
    return sections, th


def tp_options(lines):
    """Options named in the tag lines of .TP items."""
    found = set()
    for prev, line in zip(lines, lines[1:]):
        if prev.strip() == ".TP":
            found.update(OPTION.findall(line))
    return found


def compare(what, in_help, in_man):
    for o in sorted(in_help - in_man):
        fail(f"{what}: {o} is in --help but not in the man page")
    for o in sorted(in_man - in_help):
        fail(f"{what}: the man page documents {o}, which --help does not list")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: man_check.py KVAULT MANPAGE VERSION")
    kvault, manpage, version = sys.argv[1:]

    groff = shutil.which("groff")
    if not groff:
        sys.exit("FAIL: groff not found (Debian: groff-base; scripts/deps.sh test installs it)")
    p = subprocess.run([groff, "-man", "-ww", "-z", manpage], capture_output=True, text=True)
    if p.returncode != 0 or p.stderr:
        fail(f"groff -man -ww reports problems in {manpage}:\n{p.stderr}")

    sections, th = parse_man(manpage)
    if not th or f'"kvault {version}"' not in th:
        fail(f".TH should name \"kvault {version}\": {th}")

    top = run_help(kvault, "--help")
    m = re.search(r"^Commands:\n((?:  \S.*\n)+)", top, re.M)
    if not m:
        sys.exit("FAIL: no 'Commands:' list in kvault --help")
    commands = [line.split()[0] for line in m.group(1).splitlines()]

    man_commands = set(sections.get("COMMANDS", {})) - {None}
    compare("commands", set(commands), man_commands)

    # The other invocations --help names ("Also: kvault --version, ...").
    also = re.search(r"^Also: (.*)$", top, re.M)
    synopsis = " ".join(sum(sections.get("SYNOPSIS", {}).values(), []))
    for o in OPTION.findall(also.group(1) if also else ""):
        if o not in OPTION.findall(synopsis):
            fail(f"SYNOPSIS lacks kvault {o}")

    common_man = tp_options(sections.get("OPTIONS OF EVERY COMMAND", {}).get(None, []))
    common_seen = None
    for c in commands:
        own, common = help_options(run_help(kvault, c, "--help"))
        if own is None:
            fail(f"kvault {c} --help has no 'Options of every command:' part")
            continue
        if c in man_commands:
            compare(f"kvault {c}", own, tp_options(sections["COMMANDS"][c]))
        if common_seen is None:
            common_seen = common
            compare("options of every command", common, common_man)
        elif common != common_seen:
            fail(f"kvault {c} --help lists other common options: {sorted(common ^ common_seen)}")

    # "Exit status: 0 success, 1 failure, 2 usage error."
    status = re.search(r"^Exit status: (.*)$", top, re.M)
    help_codes = set(re.findall(r"\b(\d+) ", status.group(1))) if status else set()
    man_codes = set()
    lines = sections.get("EXIT STATUS", {}).get(None, [])
    for prev, line in zip(lines, lines[1:]):
        if prev.strip() == ".TP":
            man_codes.update(re.findall(r"\d+", line))
    if not help_codes:
        fail("kvault --help states no exit statuses")
    compare("exit statuses", help_codes, man_codes)

    if failures:
        for f in failures:
            print("FAIL:", f)
        print(f"0 passed, {len(failures)} failed")
        return 1
    print(f"man page matches kvault --help: {len(commands)} commands, "
          f"{len(common_seen or ())} common options, exit statuses {sorted(help_codes)}")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
