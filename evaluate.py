"""Evaluate a text classifier (or a BERT4Rec recommender) on a dataset: metrics, baselines, latency, plots.

    python evaluate.py --model PATH_OR_HUB_ID --dataset PATH_OR_HUB_ID [--config all] [--split test]
    accelerate launch evaluate.py --model ... --dataset ...
    python evaluate.py --help

Writes `results.json` (CONTRIBUTING.md's schema) and PNG plots to `--output-dir` and prints the tables.
The work is done by `mbert_tiny_hub.evaluation` (command line: `mbert_tiny_hub.evaluation_cli`); this file
only starts it.

This file shares its name with the Hugging Face `evaluate` library. Any process started from the repository
root (`python -c "import evaluate"`, pytest, `train.py`) finds this file first when it imports `evaluate`, so
when it is imported under that name instead of being run, it loads the real library in its place.
"""

import sys

if __name__ == "evaluate":
    import importlib.machinery
    import importlib.util
    import os

    _script_dir = os.path.dirname(os.path.realpath(__file__))
    # Search every sys.path entry except the one(s) that resolve to this folder ("" and "." mean the cwd).
    _search_path = [p for p in sys.path if os.path.realpath(p or os.curdir) != _script_dir]
    _spec = importlib.machinery.PathFinder.find_spec("evaluate", _search_path)
    if _spec is None:
        raise ImportError(
            f"`import evaluate` found the project's script {__file__} and the Hugging Face `evaluate` library is "
            "not installed: pip install -r requirements.txt"
        )
    _library = importlib.util.module_from_spec(_spec)
    # The import system returns whatever sys.modules holds once this file has run: the library, not this script.
    sys.modules["evaluate"] = _library
    try:
        _spec.loader.exec_module(_library)
    except BaseException:
        del sys.modules["evaluate"]
        raise
elif __name__ == "__main__":
    from mbert_tiny_hub.evaluation_cli import main

    sys.exit(main())
