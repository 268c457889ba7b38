// Crash reports for exceptions lamina itself takes unexpectedly, and panics.
#pragma once

#include <cstdint>

#include "hyp/exception_frame.hpp"

namespace lamina::hyp {

// Called by boot/vectors.S with the saved frame; prints the report and stops
// this CPU.
// `vector` is a VectorKind, or-ed with kVectorStackOverflow when the
// exception was moved to the emergency stack.
extern "C" [[noreturn]] void el2_unexpected_exception(ExceptionFrame* frame, uint64_t vector);

// The image's load base (run-time address of link address 0), for turning
// run-time addresses into lamina.elf addresses that addr2line resolves.
void set_load_base(uint64_t base);
[[nodiscard]] uint64_t load_base();

}  // namespace lamina::hyp
