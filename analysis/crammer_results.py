"""Reads crammer results files (HDF5, docs/results-file.md) into pandas and computes the
per-(model, text kind, k) aggregates of DESIGN §2: capacity, theoretical capacity, utilisation,
token and information gain. Formulas and columns: docs/analysis.md.

One import for scripts and notebooks (`import crammer_results as cr`): the names of the modules
that hold each concept, reading (results_read), the capacity table (capacity), the paper's own
conventions (paper_conventions), the protocol measures (protocol) and the solutions of restarts
(solutions). Not for plotting (figures.py, report.py) and not for writing results files (the
crammer binary does that). Runs under /usr/bin/python3 with Debian's h5py, numpy and pandas.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capacity import (ACC_THRESHOLD, BITS_PER_VALUE, GROUP, SAMPLE, TABLE_COLUMNS, capacity_table,  # noqa: E402,F401
                      grid_capacity, sample_summary, theoretical_capacity)
from paper_conventions import PAPER_COLUMNS, PAPER_GROUP, paper_rows, paper_table  # noqa: E402,F401
from protocol import (IN_CONTEXT_COLUMNS, PROTOCOL_COLUMNS, PROTOCOL_GROUP, in_context_table,  # noqa: E402,F401
                      protocol_table)
from results_read import (LATER_FORMAT_DEFAULTS, LN2, SCHEMA_VERSION, STATUS_NAMES, ResultsFileError,  # noqa: E402,F401
                          _require, _status_text, _text, add_derived, isolated, load_many, load_models, load_results,
                          load_samples, metric_columns, open_results, read_run_info, reading, reads_file,
                          result_columns, run_variant, variant_label)
from solutions import (DIVERSITY_COLUMNS, DIVERSITY_GROUP, load_solutions, solution_diversity,  # noqa: E402,F401
                       solution_pca)

__all__ = ["ACC_THRESHOLD", "BITS_PER_VALUE", "GROUP", "SAMPLE", "TABLE_COLUMNS", "capacity_table",
           "grid_capacity", "sample_summary", "theoretical_capacity", "PAPER_COLUMNS",
           "PAPER_GROUP", "paper_rows", "paper_table", "IN_CONTEXT_COLUMNS", "PROTOCOL_COLUMNS",
           "PROTOCOL_GROUP", "in_context_table", "protocol_table", "LATER_FORMAT_DEFAULTS", "LN2",
           "SCHEMA_VERSION", "STATUS_NAMES", "ResultsFileError", "_require", "_status_text",
           "_text", "add_derived", "isolated", "load_many", "load_models", "load_results",
           "load_samples", "metric_columns", "open_results", "read_run_info", "reading",
           "reads_file", "result_columns", "run_variant", "variant_label", "DIVERSITY_COLUMNS",
           "DIVERSITY_GROUP", "load_solutions", "solution_diversity", "solution_pca"]
