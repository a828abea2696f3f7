#!/usr/bin/env python3
"""The layout rules of DESIGN.md, checked from the sources of both crates.

- no Rust file under src/, actors/src/, tests/, benches/ or examples/ is over 500 lines;
- no function in src/ or actors/src/ is over 80 lines (from its `fn` line to its closing brace);
- no import cycle spans more than a parent module and its child: the files of each crate form a
  graph (file A -> file B when A names an item B defines, following `pub use` re-exports to the
  defining file; a module re-exporting its own children is not a dependency); once the edges
  between a module and its direct child are set aside, no cycle may remain.

Usage: python3 .ci/check_layout.py [--graph]   (from the repository root; exit 1 on a violation)
"""
import os
import re
import sys

MAX_FILE_LINES = 500
MAX_FN_LINES = 80
CRATES = {"weir": "src", "weir_actors": "actors/src"}


def rust_files(root):
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(re.sub(r"//.*$", "", line) for line in text.split("\n"))


def strip_strings(text):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def module_of(path, root):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def long_functions(path):
    """(name, first line, length) of every function longer than MAX_FN_LINES."""
    lines = strip_strings(strip_comments(open(path).read())).split("\n")
    found = []
    fn_re = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")
    i = 0
    while i < len(lines):
        m = fn_re.match(lines[i])
        if not m:
            i += 1
            continue
        depth, j, opened = 0, i, False
        while j < len(lines):
            for ch in lines[j]:
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
            if opened and depth <= 0:
                break
            if not opened and lines[j].rstrip().endswith(";"):
                break
            j += 1
        length = j - i + 1
        if opened and length > MAX_FN_LINES:
            found.append((m.group(6), i + 1, length))
        i = i + 1 if not opened else i + 1
    return found


DEF_RE = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:async\s+)?"
    r"(?:struct|enum|trait|fn|type|const|static|union)\s+(\w+)",
    re.M,
)
MACRO_RE = re.compile(r"^\s*macro_rules!\s*(\w+)", re.M)
USE_RE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
PATH_RE = re.compile(r"\b(crate|super|self)((?:::\w+)+)")


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (aliases and globs kept as names)."""
    tree = re.sub(r"\s+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def walk(prefix, s):
        if "{" in s and s.endswith("}"):
            head, body = s[: s.index("{")], s[s.index("{") + 1 : -1]
            head = [p for p in head.split("::") if p]
            out = []
            for part in split_top(body):
                out += walk(prefix + head, part)
            return out
        name = s.split("as")[0] if "as" in s and "::" not in s.split("as")[-1] else s
        return [prefix + [p for p in re.sub(r"\bas\b.*$", "", name).split("::") if p]]

    return walk([], tree)


class Crate:
    def __init__(self, root):
        self.root = root
        self.files = {}  # module path -> file
        self.text = {}
        for path in rust_files(root):
            mod = module_of(path, root)
            self.files[mod] = path
            self.text[mod] = strip_strings(strip_comments(open(path).read()))
        self.defs = {m: set(DEF_RE.findall(t)) | set(MACRO_RE.findall(t)) for m, t in self.text.items()}
        self.reexports = {m: self._reexports(m) for m in self.files}

    def absolute(self, mod, path):
        """A path as written in module `mod` ([crate|super|self, ...]) made absolute."""
        if not path:
            return None
        head, rest = path[0], path[1:]
        if head == "crate":
            return list(rest)
        if head == "self":
            return list(mod) + list(rest)
        if head == "super":
            base = list(mod)
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            return base[:-1] + list(rest)
        if (tuple(mod) + (head,)) in self.files:
            return list(mod) + list(path)
        return None

    def _reexports(self, mod):
        out = {}
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", self.text[mod], re.S):
            for path in expand_use(m.group(1)):
                target = self.absolute(mod, path)
                if target:
                    out[target[-1]] = target
        return out

    def resolve(self, path, seen=None):
        """The file (module path) that defines the item `path` names, or the module itself."""
        seen = seen or set()
        for cut in range(len(path), 0, -1):
            mod = tuple(path[:cut])
            if mod not in self.files:
                continue
            rest = path[cut:]
            if not rest:
                return mod
            name = rest[0]
            if name in self.defs[mod]:
                return mod
            if name in self.reexports[mod] and (mod, name) not in seen:
                seen.add((mod, name))
                return self.resolve(self.reexports[mod][name], seen)
            return mod
        return None

    def _is_descendant(self, mod, path):
        target = self.absolute(mod, path)
        return target is not None and len(target) > len(mod) and tuple(target[: len(mod)]) == tuple(mod)

    def edges(self):
        graph = {m: set() for m in self.files}
        for mod, text in self.text.items():
            paths = []
            for m in USE_RE.finditer(text):
                if re.match(r"pub(\([^)]*\))?\s", m.group(0)):
                    # A module's re-exports of its own children are its face, not a dependency.
                    face = [p for p in expand_use(m.group(1)) if self._is_descendant(mod, p)]
                    paths += [p for p in expand_use(m.group(1)) if p not in face]
                else:
                    paths += expand_use(m.group(1))
            for m in PATH_RE.finditer(text):
                paths.append([m.group(1)] + m.group(2).split("::")[1:])
            for path in paths:
                target = self.absolute(mod, path)
                if target is None:
                    continue
                dest = self.resolve(target)
                if dest is not None and dest != mod:
                    graph[mod].add(dest)
        return graph


def strongly_connected(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    problems = []
    for top in ("src", "actors/src", "tests", "benches", "examples"):
        for path in rust_files(top) if os.path.isdir(top) else []:
            n = sum(1 for _ in open(path))
            if n > MAX_FILE_LINES:
                problems.append(f"{path}: {n} lines (over {MAX_FILE_LINES})")
    for root in CRATES.values():
        for path in rust_files(root):
            for name, line, length in long_functions(path):
                problems.append(f"{path}:{line}: fn {name} is {length} lines (over {MAX_FN_LINES})")
    for crate, root in CRATES.items():
        c = Crate(root)
        graph = c.edges()
        if "--graph" in sys.argv:
            for m in sorted(graph):
                print(crate, "::".join(m) or "(root)", "->", sorted("::".join(d) for d in graph[m]))
        # A module and its direct child may use each other; set those edges aside, and what
        # still forms a cycle spans more than a parent and its child.
        beyond = {m: {d for d in ds if d[:-1] != m and m[:-1] != d} for m, ds in graph.items()}
        for comp in strongly_connected(beyond):
            if len(comp) == 1:
                continue
            names = ", ".join(c.files[m] for m in sorted(comp))
            problems.append(f"import cycle beyond a parent and its child: {names}")
    for p in problems:
        print(p)
    if problems:
        print(f"layout check: {len(problems)} problem(s)")
        return 1
    print("layout check: files <= 500 lines, functions <= 80 lines, no import cycle beyond parent/child")
    return 0


if __name__ == "__main__":
    sys.exit(main())
