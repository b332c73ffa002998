// Anchors the error vtables in one translation unit.
#include "crammer/util/error.hpp"
