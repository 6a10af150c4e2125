#!/usr/bin/env python3
"""Validates Jupyter notebooks against the nbformat 4 schema, and runs one of them.

    validate_notebooks.py FILE...                  validate each FILE
    validate_notebooks.py --execute FILE [FILE...]  validate every file, then run FILE with the python3
                                                    kernel in FILE's own folder (120 s per cell)

Exits 0 when every file is valid (and the executed one ran without a cell error), 1 otherwise,
naming the file and the error on standard error. The executed notebook is not written back.
Needs nbformat; --execute also needs nbconvert, nbclient and ipykernel (scripts/notebooks.sh
installs them into .venv-notebooks).
"""

import argparse
import os
import sys

try:
    import nbformat
except ImportError:
    sys.exit("validate_notebooks: nbformat is not installed for %s (run scripts/notebooks.sh, or pip install nbformat)"
             % sys.executable)


def fail(path, message):
    print("validate_notebooks: %s: %s" % (path, message), file=sys.stderr)


def validate(path):
    """The notebook read as nbformat 4 if it is valid, else None (the error printed)."""
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        fail(path, "invalid notebook: %s" % error.message)
        return None
    except Exception as error:  # unreadable file, not JSON, ...
        fail(path, "cannot read as a notebook: %s: %s" % (type(error).__name__, error))
        return None
    if notebook.nbformat != 4:
        fail(path, "nbformat %s, expected 4" % notebook.nbformat)
        return None
    return notebook


def execute(path, notebook):
    """True when every cell runs without an error."""
    try:
        from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor
    except ImportError as error:
        fail(path, "cannot execute: %s (install nbconvert, nbclient and ipykernel)" % error)
        return False
    folder = os.path.dirname(os.path.abspath(path))
    # The kernel talks to this process over the loopback interface only; its warning about that is noise here.
    preprocessor = ExecutePreprocessor(timeout=120, kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:
        preprocessor.preprocess(notebook, {"metadata": {"path": folder}})
    except CellExecutionError as error:
        fail(path, "a cell failed when run in %s:\n%s" % (folder, error))
        return False
    except Exception as error:  # no kernel, a timeout, ...
        fail(path, "cannot execute: %s: %s" % (type(error).__name__, error))
        return False
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if errors:
        fail(path, "a cell raised %s: %s" % (errors[0].get("ename"), errors[0].get("evalue")))
        return False
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        fail(path, "invalid after running: %s" % error.message)
        return False
    return True


def main(argv):
    parser = argparse.ArgumentParser(description="Validate Jupyter notebooks (nbformat 4) and optionally run one.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="notebooks to validate")
    parser.add_argument("--execute", metavar="FILE", help="also run this notebook, in its own folder, and fail on any cell error")
    args = parser.parse_args(argv)
    files = list(args.files)
    if args.execute and args.execute not in files:
        files.append(args.execute)
    if not files:
        parser.error("no notebook given")

    failed = 0
    for path in files:
        notebook = validate(path)
        if notebook is None:
            failed += 1
            continue
        if path == args.execute:
            if execute(path, notebook):
                print("validate_notebooks: %s: valid, and every cell ran" % path)
            else:
                failed += 1
        else:
            print("validate_notebooks: %s: valid (nbformat %d.%d)" % (path, notebook.nbformat, notebook.nbformat_minor))
    if failed:
        print("validate_notebooks: %d of %d notebooks failed" % (failed, len(files)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
