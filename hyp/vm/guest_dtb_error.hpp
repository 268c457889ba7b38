// GuestDtbError construction shared by the guest DT's files
// (hyp/vm/guest_dtb.cpp, guest_dtb_passthrough.cpp, guest_dtb_user.cpp).
// Architecture-neutral.
#pragma once

#include <libfdt.h>

#include "hyp/vm/guest_dtb.hpp"

namespace lamina::hyp::guest_dtb_detail {

[[nodiscard]] inline GuestDtbError error(GuestDtbErrorCode code, const char* what, const char* detail,
                                         int libfdt_error = 0) {
  GuestDtbError e;
  e.code = code;
  e.what = what;
  e.detail = detail;
  e.libfdt_error = libfdt_error;
  return e;
}

// libfdt said no while changing `what`: out of room is the caller's buffer;
// anything else is reported as `otherwise`.
[[nodiscard]] inline GuestDtbError libfdt_error(int err, const char* what, GuestDtbErrorCode otherwise) {
  if (err == -FDT_ERR_NOSPACE) {
    return error(GuestDtbErrorCode::kBufferTooSmall, what, "the output buffer is too small", err);
  }
  return error(otherwise, what, "libfdt refused to change it", err);
}

}  // namespace lamina::hyp::guest_dtb_detail
