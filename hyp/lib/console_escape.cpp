#include "hyp/lib/console_escape.hpp"

namespace lamina {

namespace {

ConsoleEscape::Action deliver(uint8_t count, uint8_t first = 0, uint8_t second = 0) {
  ConsoleEscape::Action a;
  a.kind = ConsoleEscape::Kind::kDeliver;
  a.count = count;
  a.bytes[0] = first;
  a.bytes[1] = second;
  return a;
}

ConsoleEscape::Action with_vm(ConsoleEscape::Kind kind, uint32_t vm) {
  ConsoleEscape::Action a;
  a.kind = kind;
  a.vm = vm;
  return a;
}

}  // namespace

ConsoleEscape::Action ConsoleEscape::feed(uint8_t byte) {
  if (vm_count_ <= 1) return deliver(1, byte);
  if (!pending_) {
    if (byte == kEscapeKey) {
      pending_ = true;
      return deliver(0);
    }
    return deliver(1, byte);
  }
  pending_ = false;
  if (byte == kEscapeKey) return deliver(1, kEscapeKey);
  if (byte == kHelpKey) return with_vm(Kind::kHelp, 0);
  if (byte >= '1' && byte <= '9') {
    const uint32_t vm = static_cast<uint32_t>(byte - '1');
    return with_vm(vm < vm_count_ ? Kind::kSwitch : Kind::kNoSuchVm, vm);
  }
  return deliver(2, kEscapeKey, byte);
}

}  // namespace lamina
