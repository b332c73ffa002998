"""Opening a crammer results file for reading, bounded in time on a damaged one, and turning
whatever a damaged file makes h5py or numpy raise into one ResultsFileError line that names the
file and says what `crammer status` says: where the rows can be recovered from.

Not for interpreting the tables: crammer_results reads them.
"""
import contextlib
import ctypes
import ctypes.util
import functools
import os
import pickle
import re
import select
import signal
import time

# A running crammer holds the journal lock, not HDF5's file lock (which it disables); a reader
# that asks for HDF5's lock could be refused by a file that a crashed writer left marked.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

SCHEMA_VERSION = 1          # the newest schema this reader knows
# As crammer's readers (src/store/schema.hpp): enough for a SWMR reader to wait out a writer's
# flush. HDF5's default of 100 tries with growing sleeps kept a damaged file's reader busy for
# minutes.
METADATA_READ_ATTEMPTS = 12
JOURNAL_HEADER_BYTES = 16   # a journal this long holds no record
REASON_CHARS = 160
ISOLATED_SECONDS = 60       # a forked reader that takes longer is stopped


class ResultsFileError(Exception):
    """A file that is not a readable crammer results file; the message names file and field, on
    one line (a library's multi-line text, such as a YAML parser's, is joined)."""

    def __init__(self, message=""):
        super().__init__(re.sub(r"\s*\n\s*", " ", str(message)))


class ForeignFileError(ResultsFileError):
    """A file that is not a crammer results file at all (or of a newer schema): no journal helps."""


def _hdf5_library():
    """The HDF5 library h5py is linked against, for the one call h5py does not wrap."""
    for name in ("hdf5_serial", "hdf5"):
        found = ctypes.util.find_library(name)
        if found:
            try:
                lib = ctypes.CDLL(found)
                lib.H5Pset_metadata_read_attempts.argtypes = [ctypes.c_int64, ctypes.c_uint]
                lib.H5Pset_metadata_read_attempts.restype = ctypes.c_int
                return lib
            except (OSError, AttributeError):
                continue
    return None


_HDF5 = _hdf5_library()


def _open_swmr(path):
    """SWMR read mode, for a file a run is writing (or a crashed run left marked as such), with
    crammer's bounded metadata retries."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    if _HDF5 is not None:
        _HDF5.H5Pset_metadata_read_attempts(fapl.id, METADATA_READ_ATTEMPTS)
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


def journal_advice(path):
    """What crammer's own `status` advises for a damaged file, by whether its journal holds rows."""
    journal = path + ".journal"
    try:
        has_rows = os.path.getsize(journal) > JOURNAL_HEADER_BYTES
    except OSError:
        has_rows = False
    if has_rows:
        return (f"move it away and run its sweep again with the same config: crammer rebuilds it from "
                f"its journal {journal} (`crammer status {path}` says the same)")
    return (f"there is no journal {journal} to rebuild it from: move it away and rerun its sweep "
            f"(`crammer status {path}` says the same)")


def damaged(path, error):
    """One line: the file, what the reader hit, and where the rows can come back from."""
    reason = " ".join(str(error).split()) or type(error).__name__
    if len(reason) > REASON_CHARS:
        reason = reason[:REASON_CHARS - 3] + "..."
    return f"{path}: damaged results file ({reason}); {journal_advice(path)}"


# What h5py, numpy and the decoders raise on bytes that are not what the file says they are.
READ_ERRORS = (OSError, KeyError, ValueError, IndexError, TypeError, RuntimeError, OverflowError,
               MemoryError, UnicodeError, AttributeError)


@contextlib.contextmanager
def reading(path):
    """Inside it, an error that a damaged file raises becomes ResultsFileError(damaged(...)); a
    table that does not hold what crammer writes (a check of this reader) gets the same advice."""
    try:
        yield
    except ForeignFileError:
        raise
    except ResultsFileError as e:
        if "crammer status" in str(e):
            raise
        raise ResultsFileError(f"{e}; {journal_advice(path)}") from None
    except READ_ERRORS as e:
        raise ResultsFileError(damaged(path, e)) from None


def reads_file(fn):
    """Decorates a reader whose first argument is a results file's path with `reading`."""
    @functools.wraps(fn)
    def guarded(path, *args, **kwargs):
        with reading(path):
            return fn(path, *args, **kwargs)
    return guarded


def _open(path):
    if not os.path.exists(path):
        raise ForeignFileError(f"{path}: no such results file")
    if os.path.isdir(path):
        raise ForeignFileError(f"{path}: a directory, not a results file")
    if not h5py.is_hdf5(path):
        raise ResultsFileError(f"{path}: not an HDF5 file (no HDF5 signature: damaged, or not a results file)")
    # Plain read-only first: a cleanly closed file opens so without HDF5's SWMR retries. A file
    # marked open for writing (a run writing it, or one that crashed) is refused plainly and
    # opens in SWMR read mode.
    try:
        return h5py.File(path, "r")
    except OSError as plain:
        try:
            return _open_swmr(path)
        except OSError:
            raise ResultsFileError(damaged(path, plain)) from None


@contextlib.contextmanager
def open_results(path):
    """Opens `path` read-only as a crammer results file of a known schema with /results,
    /models and /samples; closed on leaving. Errors of a damaged file, on opening or inside the
    block, are ResultsFileError naming the file."""
    with reading(path):
        f = _open(path)
        try:
            if "schema_version" not in f.attrs:
                raise ForeignFileError(f"{path}: an HDF5 file but not a crammer results file (no root "
                                       f"attribute schema_version; `crammer status {path}` says the same)")
            version = int(np.asarray(f.attrs["schema_version"]).reshape(-1)[0])
            if version > SCHEMA_VERSION:
                raise ForeignFileError(f"{path}: schema_version {version}; this analysis reads up to "
                                       f"{SCHEMA_VERSION} (`crammer status {path}` reads what its crammer wrote)")
            for name in ("results", "models", "samples"):
                if name not in f:
                    raise ResultsFileError(f"{path}: dataset /{name} is missing")
            yield f
        finally:
            f.close()


def isolated(path, fn, *args, seconds=ISOLATED_SECONDS):
    """fn(*args), run in a forked child, for readers of files that may be damaged: HDF5 1.10
    crashes on some damaged files (an unchecked size in its global heap), which no Python code can
    catch. The child's result comes back pickled; a child that crashes or runs past `seconds`
    becomes ResultsFileError naming `path`. The parent opens no HDF5 file itself."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave without running the parent's cleanup
        os.close(read_end)
        try:
            answer = ("ok", fn(*args))
        except ResultsFileError as e:
            answer = ("error", str(e))
        except BaseException as e:  # noqa: B902 - anything else the reader raised, as a message
            answer = ("error", damaged(path, e))
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001
            data = pickle.dumps(("error", damaged(path, e)))
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + seconds
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ResultsFileError(damaged(path, f"no answer within {seconds} s"))
            chunk = os.read(pipe.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise ResultsFileError(damaged(path, f"the HDF5 library crashed reading it (signal "
                                             f"{signal.Signals(os.WTERMSIG(status)).name})"))
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise ResultsFileError(value)
    return value
