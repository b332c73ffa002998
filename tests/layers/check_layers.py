"""Fails when a layer includes a header of a layer it does not link (an upward or sideways
include). The link graph is read from src/*/CMakeLists.txt (crammer_layer(NAME DEPS ...)); a
layer may include its own headers and those of every layer it links, directly or not.

    check_layers.py SOURCE_ROOT        check the tree
    check_layers.py --self-test        prove the check fails on a planted upward include
"""
import os
import re
import sys
import tempfile

LAYER_RE = re.compile(r"crammer_layer\(\s*(\w+)\s+DEPS([^)]*)\)")
INCLUDE_RE = re.compile(r'#include\s+"crammer/(\w+)/')


def link_graph(root):
    graph = {"util": set()}
    src = os.path.join(root, "src")
    for layer in sorted(os.listdir(src)):
        cmake = os.path.join(src, layer, "CMakeLists.txt")
        if not os.path.isfile(cmake):
            continue
        for name, deps in LAYER_RE.findall(open(cmake).read()):
            graph[name] = {d[len("crammer_"):] for d in deps.split() if d.startswith("crammer_")}
    return graph


def closure(graph, layer, seen=None):
    seen = set() if seen is None else seen
    for dep in graph.get(layer, ()):
        if dep not in seen:
            seen.add(dep)
            closure(graph, dep, seen)
    return seen


def files_of(root, layer):
    for base in (os.path.join(root, "src", layer), os.path.join(root, "include", "crammer", layer)):
        for dirpath, _, names in os.walk(base):
            for n in names:
                if n.endswith((".cpp", ".hpp", ".h")):
                    yield os.path.join(dirpath, n)


def check(root):
    graph = link_graph(root)
    problems = []
    for layer in sorted(graph):
        allowed = closure(graph, layer) | {layer}
        for path in files_of(root, layer):
            for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
                m = INCLUDE_RE.search(line)
                if m and m.group(1) not in allowed:
                    problems.append(f"{os.path.relpath(path, root)}:{lineno}: layer '{layer}' includes "
                                    f"crammer/{m.group(1)}/ but links only {sorted(allowed - {layer})}")
    return graph, problems


def self_test():
    with tempfile.TemporaryDirectory() as d:
        for layer, deps in (("core", "crammer_util"), ("store", "crammer_core")):
            os.makedirs(os.path.join(d, "src", layer))
            with open(os.path.join(d, "src", layer, "CMakeLists.txt"), "w") as f:
                f.write(f"crammer_layer({layer} DEPS {deps} hdf5::hdf5)\n")
        with open(os.path.join(d, "src", "store", "ok.cpp"), "w") as f:
            f.write('#include "crammer/core/task.hpp"\n#include "crammer/util/log.hpp"\n')
        _, problems = check(d)
        assert not problems, problems
        with open(os.path.join(d, "src", "core", "bad.cpp"), "w") as f:
            f.write('#include "crammer/store/results_file.hpp"\n')
        _, problems = check(d)
        assert len(problems) == 1 and "layer 'core' includes crammer/store/" in problems[0], problems
    print("self-test OK: a planted upward include is reported")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    graph, problems = check(root)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{len(graph)} layers, every include points down the link graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
