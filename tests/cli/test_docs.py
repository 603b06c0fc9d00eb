"""The documentation keeps up with the binary.

`evtool --dump-cli` prints the interface evtool declares: its global long
options and its commands, each with aliases, long options and subcommands
(which recurse). Every name in it must appear in man/evtool.1 (a command's
options inside that command's block, the global options under GLOBAL OPTIONS)
and in the bash, zsh and fish completions; and each completion, run in its
shell, must offer exactly the declared commands and long options at every
level of the command tree. So no command or option can ship undocumented.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from dataclasses import dataclass
from pathlib import Path

import evtool_test as et

MAN_PAGE = et.SOURCE_DIR / "man" / "evtool.1"
README = et.SOURCE_DIR / "README.md"
COMPLETIONS = et.SOURCE_DIR / "completions"
BASH_COMPLETION = COMPLETIONS / "evtool.bash"
ZSH_COMPLETION = COMPLETIONS / "_evtool"
FISH_COMPLETION = COMPLETIONS / "evtool.fish"

# Declared but deliberately undocumented: the flag this test reads.
HIDDEN_OPTIONS = {"--dump-cli"}

# Fixed by CLI.md.
FEATURES = {"ET", "O1", "FDS"}
EXIT_CODES = ["0", "1", "2", "3", "4", "5", "6", "130"]
ENVIRONMENT = ["EVENT_NOEPOLL", "EVENT_NOPOLL", "EVENT_NOSELECT", "EVENT_SHOW_METHOD"]


# -- the declared interface ---------------------------------------------------

@dataclass
class Command:
    path: tuple[str, ...]   # ("timer",); a subcommand: ("NAME", "SUB")
    aliases: list[str]
    options: list[str]      # long options, "--name"
    subcommands: list[str]  # names and aliases of its children

    @property
    def title(self) -> str:
        return " ".join(("evtool",) + self.path)


@dataclass
class Interface:
    global_options: list[str]
    commands: list[str]       # names and aliases of the top-level commands
    all_commands: list[Command]  # at every depth, parents first


def _children(node: dict, parent: tuple[str, ...], into: list[Command]) -> list[str]:
    """Appends node's subcommands (recursively) to `into`; returns their
    names and aliases."""
    names = []
    for sub in node.get("subcommands", []):
        path = parent + (sub["name"],)
        command = Command(path, list(sub.get("aliases", [])),
                          [o for o in sub.get("options", []) if o not in HIDDEN_OPTIONS], [])
        into.append(command)
        command.subcommands = _children(sub, path, into)
        names += [sub["name"]] + command.aliases
    return names


def load_interface() -> Interface:
    result = et.run(["--dump-cli"])
    if result.returncode != 0:
        raise AssertionError(f"`{et.EVTOOL} --dump-cli` exited {result.returncode}: "
                             f"{result.stderr.strip()!r}")
    try:
        doc = json.loads(result.stdout)
        commands: list[Command] = []
        top_level = _children(doc, (), commands)
        options = [o for o in doc["options"] if o not in HIDDEN_OPTIONS]
    except (ValueError, KeyError, TypeError) as error:
        raise AssertionError(
            "`evtool --dump-cli` must print one JSON document "
            '{"name","options":[...],"subcommands":[{"name","aliases","options",'
            f'"subcommands"}},...]}}; got {result.stdout[:300]!r} ({error!r})') from None
    if not top_level or not options:
        raise AssertionError(f"`evtool --dump-cli` declares no commands or options: {doc!r}")
    return Interface(options, top_level, commands)


INTERFACE: Interface


def setUpModule() -> None:
    global INTERFACE
    if not os.access(et.EVTOOL, os.X_OK):
        raise AssertionError(f"no evtool binary at {et.EVTOOL} (set EVTOOL or build first)")
    INTERFACE = load_interface()


def mentions(text: str, word: str) -> bool:
    """`word` appears in `text` as a whole word (options: not as a prefix of
    a longer option)."""
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def without_comment_lines(text: str, comment: str) -> str:
    """A mention in a comment documents nothing."""
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith(comment))


# -- the man page ---------------------------------------------------------------

def roff_to_text(line: str) -> str:
    """Enough of roff's escapes undone for the names to be searched."""
    line = line.replace("\\-", "-").replace("\\(aq", "'").replace("\\(em", "-")
    line = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)  # font changes
    return re.sub(r"\\[&%:]", "", line)


@dataclass
class ManSection:
    macro: str   # "SH" or "SS"
    title: str   # "GLOBAL OPTIONS", "evtool timer"
    parent: str  # for an SS, the title of its SH
    text: str    # the title and the body, roff escapes undone


def man_sections(source: str) -> list[ManSection]:
    sections: list[ManSection] = []
    lines = [line for line in source.splitlines() if not re.match(r"^['.]\s*\\\"", line)]
    current_sh = ""
    i = 0
    while i < len(lines):
        match = re.match(r"^\.(SH|SS)\b\s*(.*)$", lines[i])
        if match:
            title = match[2].strip()
            if not title and i + 1 < len(lines):  # title on the next line
                i += 1
                title = lines[i]
            title = roff_to_text(title).strip().strip('"')
            if match[1] == "SH":
                current_sh = title
            sections.append(ManSection(match[1], title, current_sh, roff_to_text(title) + "\n"))
        elif sections:
            sections[-1].text += roff_to_text(lines[i]) + "\n"
        i += 1
    return sections


class ManPageTest(unittest.TestCase):
    """man/evtool.1 documents every declared command and option."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.sections = man_sections(MAN_PAGE.read_text(encoding="utf-8"))
        # Top-level command name -> the text of its block(s) under COMMANDS.
        cls.blocks: dict[str, str] = {}
        for section in cls.sections:
            if section.macro == "SS" and section.parent == "COMMANDS":
                words = section.title.split()
                if words and words[0] == "evtool":
                    words = words[1:]
                if words:
                    cls.blocks[words[0]] = cls.blocks.get(words[0], "") + section.text

    def section(self, title: str) -> str:
        text = "".join(s.text for s in self.sections if s.macro == "SH" and s.title == title)
        self.assertTrue(text, f"man/evtool.1 has no .SH {title!r} section")
        return text

    def test_has_the_usual_sections(self) -> None:
        for title in ["NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS",
                      "ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]:
            with self.subTest(section=title):
                self.section(title)

    def test_global_options_are_under_global_options(self) -> None:
        text = self.section("GLOBAL OPTIONS")
        for option in INTERFACE.global_options:
            with self.subTest(option=option):
                self.assertTrue(mentions(text, option),
                                f"man/evtool.1: GLOBAL OPTIONS does not document {option}")

    def test_every_command_has_a_block(self) -> None:
        for command in INTERFACE.all_commands:
            if len(command.path) == 1:
                with self.subTest(command=command.title):
                    self.assertIn(command.path[0], self.blocks,
                                  f'man/evtool.1 has no `.SS "{command.title}"` under COMMANDS')

    def test_no_block_for_an_undeclared_command(self) -> None:
        for name in self.blocks:
            with self.subTest(block=name):
                self.assertIn(name, INTERFACE.commands,
                              f"man/evtool.1 documents `evtool {name}`, which evtool does not declare")

    def test_every_command_documents_its_names_and_options(self) -> None:
        for command in INTERFACE.all_commands:
            block = self.blocks.get(command.path[0], "")
            for item in [command.path[-1]] + command.aliases + command.subcommands + command.options:
                with self.subTest(command=command.title, item=item):
                    self.assertTrue(
                        mentions(block, item),
                        f'man/evtool.1: the `.SS "evtool {command.path[0]}"` block does not '
                        f"mention {item} (of `{command.title}`)")

    def test_environment_and_exit_status(self) -> None:
        environment = self.section("ENVIRONMENT")
        for name in ENVIRONMENT:
            with self.subTest(variable=name):
                self.assertTrue(mentions(environment, name), f"man/evtool.1: ENVIRONMENT lacks {name}")
        exit_status = self.section("EXIT STATUS")
        for code in EXIT_CODES:
            with self.subTest(code=code):
                self.assertTrue(re.search(rf"(?m)^\.B {code}$", exit_status),
                                f"man/evtool.1: EXIT STATUS lacks code {code} (as `.B {code}`)")

    @unittest.skipUnless(shutil.which("man"), "man is not installed")
    def test_renders_without_warnings(self) -> None:
        result = subprocess.run(
            ["man", "--warnings=w", "-l", str(MAN_PAGE)], capture_output=True, text=True,
            timeout=60, env=et.environment({"LC_ALL": "C.UTF-8", "MANWIDTH": "80",
                                            "MANPAGER": "cat", "PAGER": "cat"}))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.strip(), "", "man -l man/evtool.1 warns")
        self.assertIn("GLOBAL OPTIONS", result.stdout)


# -- the README -----------------------------------------------------------------

class ReadmeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.readme = README.read_text(encoding="utf-8")

    def test_an_example_per_command(self) -> None:
        for command in INTERFACE.all_commands:
            if len(command.path) == 1:
                with self.subTest(command=command.title):
                    example = rf"(?m)^\$ .*\bevtool\b.* {command.path[0]}\b"
                    self.assertTrue(re.search(example, self.readme),
                                    f"README.md has no `$ evtool ... {command.path[0]}` example")

    def test_exit_code_table(self) -> None:
        for code in EXIT_CODES:
            with self.subTest(code=code):
                self.assertTrue(re.search(rf"(?m)^\| {code} \|", self.readme),
                                f"README.md: the exit-code table lacks {code}")


# -- the completion files, as text ------------------------------------------------

def fish_mentions_option(text: str, option: str) -> bool:
    name = re.escape(option[2:])
    return re.search(rf"(?:\s-l|\s--long(?:-option)?)[ =]['\"]?{name}['\"]?(?![\w-])", text) is not None


class CompletionFilesTest(unittest.TestCase):
    """Each completion file names every declared command, alias and option."""

    FILES = [BASH_COMPLETION, ZSH_COMPLETION, FISH_COMPLETION]

    def declared(self) -> list[tuple[str, str]]:
        """(item, where it is declared) for everything the files must name."""
        items = [(o, "a global option") for o in INTERFACE.global_options]
        for command in INTERFACE.all_commands:
            items += [(n, "a command") for n in [command.path[-1]] + command.aliases]
            items += [(o, f"an option of `{command.title}`") for o in command.options]
        return items

    def test_every_name_and_option_appears(self) -> None:
        for path in self.FILES:
            text = without_comment_lines(path.read_text(encoding="utf-8"), "#")
            is_fish = path == FISH_COMPLETION
            for item, what in self.declared():
                with self.subTest(file=path.name, item=item):
                    found = (fish_mentions_option(text, item) if is_fish and item.startswith("--")
                             else mentions(text, item))
                    self.assertTrue(found, f"completions/{path.name} does not mention {item} ({what})")


# -- the completions, run in their shells ---------------------------------------------

_compiled_backends: list[str] = []


def compiled_backends() -> list[str]:
    """The backends evtool was built with, from `evtool --json backends`."""
    if not _compiled_backends:
        result = et.run(["--json", "backends"])
        assert result.returncode == 0, f"evtool --json backends: {result.stderr!r}"
        _compiled_backends.extend(m["name"] for m in json.loads(result.stdout)["methods"])
    return _compiled_backends


class CompletionChecks:
    """Checks run in each shell. complete(words) returns what the shell offers
    for the command line `words` with the cursor at the end of the last word
    (an empty last word: after a space)."""

    def complete(self, words: list[str]) -> list[str]:
        raise NotImplementedError

    def offered(self, words: list[str]) -> set[str]:
        return {w.rstrip("=") for w in self.complete(["evtool"] + words)}

    def assertOffers(self, words: list[str], expected: set[str], prefix: str = "") -> None:
        offered = {w for w in self.offered(words) if w.startswith(prefix)}
        line = " ".join(["evtool"] + words)
        self.assertEqual(offered, expected,
                         f"{self.shell} completes `{line}<TAB>` to {sorted(offered)}; "
                         f"missing {sorted(expected - offered)}, undeclared {sorted(offered - expected)}")

    def test_b_completes_to_backends(self) -> None:
        expected = {c for c in INTERFACE.commands if c.startswith("b")}
        self.assertIn("backends", expected)
        self.assertOffers(["b"], expected)

    def test_timer_dash_e_completes_to_every_and_exec(self) -> None:
        timer = next(c for c in INTERFACE.all_commands if c.path == ("timer",))
        expected = {o for o in timer.options + INTERFACE.global_options if o.startswith("--e")}
        self.assertTrue({"--every", "--exec"} <= expected)
        self.assertOffers(["timer", "--e"], expected)

    def test_commands_at_every_level(self) -> None:
        self.assertOffers([""], set(INTERFACE.commands))
        for command in INTERFACE.all_commands:
            if command.subcommands:
                with self.subTest(command=command.title):
                    self.assertOffers(list(command.path) + [""], set(command.subcommands))

    def test_long_options_of_every_command(self) -> None:
        globals_ = set(INTERFACE.global_options)
        self.assertOffers(["--"], globals_, prefix="--")
        for command in INTERFACE.all_commands:
            for path in [command.path] + [command.path[:-1] + (a,) for a in command.aliases]:
                with self.subTest(command=" ".join(path)):
                    self.assertOffers(list(path) + ["--"], set(command.options) | globals_,
                                      prefix="--")

    def test_short_options_take_their_values(self) -> None:
        types = {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA", "ANY"}
        for words in (["dns", "resolve", "-t", ""], ["dns", "lookup", "-t", ""], ["dns", "resolve", "--type", ""]):
            with self.subTest(line=" ".join(words)):
                self.assertOffers(words, types)
        # After -f FILE the names and options go on: the file is not a subcommand path.
        self.assertOffers(["dns", "resolve", "-f", "names.txt", "--ty"], {"--type"})

    def test_global_options_and_their_values_are_skipped(self) -> None:
        self.assertOffers(["--backend", "poll", "--require", "ET", "--json", ""],
                          set(INTERFACE.commands))

    def test_backend_and_feature_values(self) -> None:
        for option in ["--backend", "--avoid"]:
            with self.subTest(option=option):
                self.assertOffers([option, ""], set(compiled_backends()))
        self.assertOffers(["--require", ""], FEATURES)


class BashCompletionTest(CompletionChecks, unittest.TestCase):
    shell = "bash"
    # Sources the file, finds the function `complete -p evtool` names, and
    # calls it as bash would: $1 command, $2 word, $3 previous word.
    DRIVER = r"""
source "$1" || exit 3
shift
spec=$(complete -p evtool) || { echo 'no `complete ... evtool`' >&2; exit 4; }
[[ $spec == *' -F '* ]] || { echo "not a -F completion: $spec" >&2; exit 5; }
function=${spec##* -F }; function=${function%% *}
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
"$function" evtool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""

    def complete(self, words: list[str]) -> list[str]:
        result = subprocess.run(["bash", "--norc", "--noprofile", "-c", self.DRIVER, "bash",
                                 str(BASH_COMPLETION)] + words,
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, f"bash completion failed: {result.stderr}")
        return [w for w in result.stdout.splitlines() if w]

    def test_syntax(self) -> None:
        result = subprocess.run(["bash", "-n", str(BASH_COMPLETION)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_sourcing_prints_nothing(self) -> None:
        result = subprocess.run(["bash", "--norc", "-c", 'source "$1"', "bash", str(BASH_COMPLETION)],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "", ""))


@unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
class ZshCompletionTest(CompletionChecks, unittest.TestCase):
    shell = "zsh"
    # An interactive zsh in a pseudo-terminal loads _evtool through compinit;
    # as its line editor starts, it puts $EVTOOL_LINE in the buffer and
    # completes it, with compadd wrapped to print each match it adds. (Nothing
    # is typed into the terminal, so nothing races with the line editor.)
    ZSHRC = r"""
PS1=''
fpath=($EVTOOL_COMPLETIONS $fpath)
autoload -U compinit && compinit -u -D
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"
  local hit; for hit in $hits; do print -r -- "<M>$hit</M>"; done
  builtin compadd "$@"
}
zstyle ':completion:*' menu no
zle-line-init() {
  BUFFER=$EVTOOL_LINE; CURSOR=$#BUFFER
  zle complete-word
  print -r -- '<DONE>'
}
zle -N zle-line-init
"""
    DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty z 'zsh -d -i'
local line
while zpty -r z line; do
  [[ $line == *'<DONE>'* ]] && break
  [[ $line == *'<M>'* ]] && { line=${line#*<M>}; print -r -- ${line%%</M>*}; }
done
zpty -d z
"""

    @classmethod
    def setUpClass(cls) -> None:
        cls.zdotdir = tempfile.TemporaryDirectory(prefix="evtool-zsh-")
        Path(cls.zdotdir.name, ".zshrc").write_text(cls.ZSHRC, encoding="utf-8")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.zdotdir.cleanup()

    def complete(self, words: list[str]) -> list[str]:
        env = et.environment({"ZDOTDIR": self.zdotdir.name, "TERM": "dumb",
                              "EVTOOL_COMPLETIONS": str(COMPLETIONS),
                              "EVTOOL_LINE": " ".join(words)})
        result = subprocess.run(["zsh", "-f", "-c", self.DRIVER], capture_output=True,
                                text=True, timeout=30, env=env)
        self.assertEqual(result.returncode, 0, f"zsh completion failed: {result.stderr}")
        return [w for w in result.stdout.splitlines() if w]

    def test_syntax(self) -> None:
        result = subprocess.run(["zsh", "-n", str(ZSH_COMPLETION)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_compdef_line(self) -> None:
        first = ZSH_COMPLETION.read_text(encoding="utf-8").splitlines()[0]
        self.assertEqual(first, "#compdef evtool")


@unittest.skipUnless(shutil.which("fish"), "fish is not installed")
class FishCompletionTest(CompletionChecks, unittest.TestCase):
    shell = "fish"

    @classmethod
    def setUpClass(cls) -> None:
        cls.home = tempfile.TemporaryDirectory(prefix="evtool-fish-")  # fish writes its state there

    @classmethod
    def tearDownClass(cls) -> None:
        cls.home.cleanup()

    def complete(self, words: list[str]) -> list[str]:
        result = subprocess.run(
            ["fish", "--no-config", "-c", "source $argv[1]; and complete -C $argv[2]",
             str(FISH_COMPLETION), " ".join(words)],
            capture_output=True, text=True, timeout=30,
            env=et.environment({"HOME": self.home.name, "XDG_CONFIG_HOME": None,
                                "XDG_DATA_HOME": None, "XDG_CACHE_HOME": None}))
        self.assertEqual(result.returncode, 0, f"fish completion failed: {result.stderr}")
        return [line.split("\t")[0] for line in result.stdout.splitlines() if line]

    def test_syntax(self) -> None:
        result = subprocess.run(["fish", "-n", str(FISH_COMPLETION)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
