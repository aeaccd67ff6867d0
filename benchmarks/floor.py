"""The parser floors leaklint is measured against: read every .py file under a folder
and parse it with `ast` (the floor for any Python tool) or with libcst (leaklint's own
parser, before any analysis). Usage: python floor.py ast|libcst FOLDER"""
import ast
import os
import sys


def files(root):
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def main():
    mode, root = sys.argv[1], sys.argv[2]
    if mode == "libcst":
        import libcst

        parse = libcst.parse_module
        errors = (libcst.ParserSyntaxError, RecursionError, ValueError)
    else:
        parse = ast.parse
        errors = (SyntaxError, RecursionError, ValueError)
    parsed = failed = 0
    for path in files(root):
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            parse(data)
            parsed += 1
        except errors:
            failed += 1
    print(f"{mode}: {parsed} parsed, {failed} failed", file=sys.stderr)


if __name__ == "__main__":
    main()
