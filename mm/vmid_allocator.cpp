#include "mm/vmid_allocator.hpp"

namespace lamina::mm {

Status<Error> VmidAllocator::init(unsigned vmid_bits) {
  if (vmid_bits != 8 && vmid_bits != 16) return Err{Error::kOutOfRange};
  for (uint64_t& word : bits_) word = 0;
  limit_ = uint32_t{1} << vmid_bits;
  bits_[0] = 1;  // VMID 0 is reserved, permanently "allocated"
  in_use_ = 0;
  next_ = 1;
  return Ok{};
}

bool VmidAllocator::is_allocated(Vmid vmid) const {
  return vmid.value() != kReserved.value() && vmid.value() < limit_ && test(vmid.value());
}

uint32_t VmidAllocator::find_free(uint32_t from, uint32_t to) const {
  uint32_t id = from;
  while (id < to) {
    const uint64_t word = bits_[id / 64] >> (id % 64);
    // A word whose remaining bits are all set: skip to the next word.
    if (word == (~uint64_t{0} >> (id % 64))) {
      id = (id / 64 + 1) * 64;
      continue;
    }
    const uint32_t free_here = static_cast<uint32_t>(__builtin_ctzll(~word));
    id += free_here;
    break;
  }
  return id < to ? id : to;
}

Result<Vmid, Error> VmidAllocator::alloc() {
  if (in_use_ >= capacity()) return Err{Error::kVmidsExhausted};
  uint32_t id = find_free(next_, limit_);
  if (id == limit_) id = find_free(1, next_);
  // in_use_ < capacity() guarantees a free VMID other than 0.
  if (id == 0 || id >= limit_) return Err{Error::kVmidsExhausted};
  bits_[id / 64] |= uint64_t{1} << (id % 64);
  ++in_use_;
  next_ = id + 1 < limit_ ? id + 1 : 1;
  return Vmid(static_cast<uint16_t>(id));
}

Status<Error> VmidAllocator::free(Vmid vmid) {
  const uint32_t id = vmid.value();
  if (id == kReserved.value() || id >= limit_) return Err{Error::kOutOfRange};
  if (!test(id)) return Err{Error::kNotAllocated};
  bits_[id / 64] &= ~(uint64_t{1} << (id % 64));
  --in_use_;
  return Ok{};
}

}  // namespace lamina::mm
