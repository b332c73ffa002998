// Typed errors of crammer. `main` catches them once, prints the message and exits with
// exit_code(): 2 for anything the user can fix in the input (config, files), 1 otherwise.
#pragma once

#include <stdexcept>
#include <string>

namespace crammer {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const { return 1; }
};

// Bad user input: config file, override, command-line value.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// A checkpoint directory that cannot be read: config.json, safetensors, tensor names.
class ModelLoadError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// Tokenizer files that cannot be read or used.
class TokenizerError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// Corpus files that cannot be read or sampled.
class CorpusError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// The results file (HDF5, journal): carries the library's error text.
class StoreError : public Error {
 public:
  using Error::Error;
};

// A results file named by the user that is missing, not HDF5, damaged beyond what its journal
// repairs, or not a crammer results file: bad input (exit 2).
class ResultsFileError : public StoreError {
 public:
  using StoreError::StoreError;
  int exit_code() const override { return 2; }
};

// The results file is being written by another crammer run (its journal's lock is held): nothing
// was touched; wait for that run or choose another output.path. Its own exit code, so scripts
// (and a Slurm requeue on 75) tell it from a stopped run and from bad input.
class ResultsLockedError : public StoreError {
 public:
  using StoreError::StoreError;
  static constexpr int kExitCode = 73;  // sysexits' EX_CANTCREAT: the output cannot be opened
  int exit_code() const override { return kExitCode; }
};

// An error every remaining task of a model would hit (its checkpoint does not load, its weights
// are not finite): the run stops with exit 2, keeping what is stored, instead of storing a
// failed row per task. Never retried.
class StopRunError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// MPI / NCCL failures.
class DistError : public Error {
 public:
  using Error::Error;
};

}  // namespace crammer
